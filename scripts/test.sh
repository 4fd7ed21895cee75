#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests, then integration tests against
# moto_server and s3rver, which the tests start on 127.0.0.1 themselves.
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only one label (extra arguments go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test-tools
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
