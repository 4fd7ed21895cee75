#!/usr/bin/env bash
# Builds riptide under the sanitizers and runs the tests against those builds:
#   build-asan  AddressSanitizer + UndefinedBehaviorSanitizer: unit tests and the
#               integration suites on moto
#   build-tsan  ThreadSanitizer, against a oneTBB built from Debian's source package with
#               -fsanitize=thread (scripts/tsan-onetbb.sh, cached): the unit tests (among
#               them the download and copy graphs on the in-memory store, and the curl
#               transport against an in-process server), the browse commands on moto and
#               s3rver, and the sync and service suites on moto through the real graph.
# Any report fails the run (the sanitizers exit with their own codes, which no test
# expects). Run scripts/setup.sh first (scripts/test.sh does).
#   scripts/sanitize.sh [asan|tsan]...    default: both
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(asan tsan)

export ASAN_OPTIONS="exitcode=86:detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=87:print_stacktrace=1"
export TSAN_OPTIONS="exitcode=88:halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"

for kind in "${kinds[@]}"; do
  case "$kind" in
    asan) flags="address,undefined"; suites="integration\.moto\." ;;
    tsan) flags="thread"; suites="" ;;
    *) echo "sanitize: unknown kind $kind (asan or tsan)" >&2; exit 2 ;;
  esac
  dir="build-$kind"
  extra=()
  if [ "$kind" = tsan ]; then
    # An uninstrumented libtbb makes TSan report every hand-off between graph tasks.
    extra=(-DCMAKE_PREFIX_PATH="$(scripts/tsan-onetbb.sh)")
  fi
  echo "sanitize: building $dir (-fsanitize=$flags)"
  # shellcheck disable=SC2086
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRIPTIDE_SANITIZE="$flags" \
    "${extra[@]}" ${RIPTIDE_CMAKE_ARGS:-} >/dev/null
  # Only what the tests run: the perf tools add nothing a sanitizer would look at.
  cmake --build "$dir" --target riptide unit_tests
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -L unit
  if [ -n "$suites" ]; then
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -R "$suites"
  else
    for server in moto s3rver; do
      (cd tests/integration && RIPTIDE_BIN="$PWD/../../$dir/riptide" RIPTIDE_TEST_SERVER=$server \
        RIPTIDE_ROOT="$PWD/../.." python3 -m unittest test_commands.BrowseTest)
    done
    (cd tests/integration && RIPTIDE_BIN="$PWD/../../$dir/riptide" RIPTIDE_TEST_SERVER=moto \
      RIPTIDE_ROOT="$PWD/../.." python3 -m unittest test_sync test_serve test_serve_faults test_events test_ranges test_concurrency)
  fi
done
