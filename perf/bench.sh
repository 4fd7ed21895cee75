#!/usr/bin/env bash
# perf/bench.sh WORKLOAD [CLIENT…] [--scale F]: see perf/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
exec python3 perf/bench.py "$@"
