#!/usr/bin/env bash
# Sets up riptide and runs its main job: a verified mirror of a bucket into ./dataset.
#   scripts/quickstart.sh                      starts a local S3 server (s3rver) on 127.0.0.1
#                                              with a sample bucket, mirrors it, changes the
#                                              bucket, mirrors again (only the changes move),
#                                              verifies, and stops the server
#   scripts/quickstart.sh s3://BUCKET/PREFIX   mirrors your own bucket (AWS_* credentials,
#                                              AWS_ENDPOINT_URL / --endpoint for non-AWS)
#   DATASET_DIR=/data scripts/quickstart.sh    mirrors into another directory
# Exits 0 when the demo worked, non-zero when anything failed; leaves nothing in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "quickstart: setting up (installs what is missing, then builds; the first time takes ~10 minutes)"
scripts/setup.sh
dataset=${DATASET_DIR:-./dataset}

if [ $# -gt 0 ]; then
  exec build/riptide sync "$1" "$dataset" "${@:2}"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
store=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$store" "$store.log"
}
trap cleanup EXIT
NODE_OPTIONS=--openssl-legacy-provider scripts/s3rver/node_modules/.bin/s3rver \
  -d "$store" -a 127.0.0.1 -p "$port" -s >"$store.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port" && break
  sleep 0.1
done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
endpoint="http://127.0.0.1:$port"
echo "quickstart: local S3 server (s3rver) on $endpoint"
python3 scripts/seed_sample.py "$endpoint" sample
echo "quickstart: riptide sync s3://sample/datasets $dataset"
build/riptide sync s3://sample/datasets "$dataset" --endpoint "$endpoint" --delete
echo "quickstart: the bucket changes:"
python3 scripts/seed_sample.py "$endpoint" sample --change
echo "quickstart: riptide sync again: only those move (-v names them)"
build/riptide sync s3://sample/datasets "$dataset" --endpoint "$endpoint" --delete -v 2>&1 |
  grep -E "^(info: (fetched|deleted)|listed)" || true
echo "quickstart: riptide verify $dataset (every file re-hashed against the manifest):"
build/riptide verify "$dataset"
echo "quickstart: riptide status $dataset:"
build/riptide status "$dataset"
