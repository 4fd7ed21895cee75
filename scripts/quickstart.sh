#!/usr/bin/env bash
# Sets up riptide and runs its main job: a verified mirror of a bucket into ./dataset.
#   scripts/quickstart.sh                      starts a local S3 server (s3rver) on 127.0.0.1
#                                              with a sample bucket, mirrors it, stops it
#   scripts/quickstart.sh s3://BUCKET/PREFIX   mirrors your own bucket (AWS_* credentials,
#                                              AWS_ENDPOINT_URL / --endpoint for non-AWS)
#   DATASET_DIR=/data scripts/quickstart.sh    mirrors into another directory
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
dataset=${DATASET_DIR:-./dataset}

if [ $# -gt 0 ]; then
  exec build/riptide sync "$1" "$dataset" "${@:2}"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
store=$(mktemp -d)
NODE_OPTIONS=--openssl-legacy-provider scripts/s3rver/node_modules/.bin/s3rver \
  -d "$store" -a 127.0.0.1 -p "$port" -s >"$store.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$store" "$store.log"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port" && break
  sleep 0.1
done
echo "quickstart: local S3 server (s3rver) on http://127.0.0.1:$port"
python3 scripts/seed_sample.py "http://127.0.0.1:$port" sample
echo "quickstart: riptide sync s3://sample/datasets $dataset"
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
  build/riptide sync s3://sample/datasets "$dataset" --endpoint "http://127.0.0.1:$port"
echo "quickstart: again, nothing changed:"
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
  build/riptide sync s3://sample/datasets "$dataset" --endpoint "http://127.0.0.1:$port"
echo "quickstart: riptide verify $dataset (every file re-hashed against the manifest):"
build/riptide verify "$dataset"
echo "quickstart: riptide status $dataset:"
build/riptide status "$dataset"
