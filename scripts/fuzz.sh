#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz and runs each
# for a bounded time, starting from the corpus kept in tests/fuzz/corpus. New inputs go
# to a scratch directory; a crash leaves its input in build-fuzz/artifacts and fails.
#   scripts/fuzz.sh [SECONDS]     per target, default 30
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
if ! command -v clang++ >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq -o DPkg::Lock::Timeout=300
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends clang >/dev/null
fi
# shellcheck disable=SC2086
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRIPTIDE_FUZZ=ON \
  -DRIPTIDE_TESTS=OFF ${RIPTIDE_CMAKE_ARGS:-} >/dev/null
cmake --build build-fuzz --target fuzz_xml fuzz_key_mapping fuzz_config fuzz_notifications fuzz_crc fuzz_md5
mkdir -p build-fuzz/artifacts
for target in xml key_mapping config notifications crc md5; do
  scratch="$(mktemp -d)"
  echo "fuzz: $target for ${seconds}s"
  build-fuzz/fuzz_$target -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/artifacts/"$target"- "$scratch" tests/fuzz/corpus/"$target" 2>&1 |
    grep -E "^stat::number_of_executed_units|ERROR|SUMMARY|Done" || true
  rm -rf "$scratch"
  if ls build-fuzz/artifacts/"$target"-* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: $(ls build-fuzz/artifacts/"$target"-*)" >&2
    exit 1
  fi
done
