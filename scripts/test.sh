#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests, then integration tests against
# moto_server and s3rver, which the tests start on 127.0.0.1 themselves.
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only one label (extra arguments go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test-tools
rm -rf build/test-counts
status=0
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@" || status=$?
# What ran and what was skipped (with why), per server: a skip is never a silent pass.
python3 scripts/test_counts.py build/test-counts
exit "$status"
