#!/usr/bin/env bash
# Mutation testing: breaks riptide on purpose, one named mutation at a time, and fails
# when the tests that should catch a mutation still pass (the mutant "survived").
#   scripts/mutants.sh            every mutant in scripts/mutants/list
#   scripts/mutants.sh NAME...    only these
# Each mutant is scripts/mutants/NAME.patch, applied to a copy of the tree (the tracked
# and new files as they are in the working tree) in $RIPTIDE_MUTANTS_DIR (default
# /tmp/riptide-mutants), built there with ccache, its tests run against moto_server;
# the copy is restored before the next mutant. A patch that no longer applies fails the
# run: update it with the code. A new promise adds a line to the list and its patch.
# A test word cpu:FLAG marks a mutant of code that runs only on CPUs with that flag.
# Run scripts/setup.sh --test-tools first (scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${RIPTIDE_MUTANTS_DIR:-${TMPDIR:-/tmp}/riptide-mutants}
src=$work/src

mapfile -t entries < <(grep -v '^\s*\(#\|$\)' scripts/mutants/list)
if [ $# -gt 0 ]; then
  wanted=" $* "
  picked=()
  for e in "${entries[@]}"; do [[ "$wanted" == *" ${e%% *} "* ]] && picked+=("$e"); done
  entries=("${picked[@]}")
fi
[ ${#entries[@]} -gt 0 ] || { echo "mutants: no mutant named $*" >&2; exit 2; }

rm -rf "$src"
mkdir -p "$src"
# The tree as it is: tracked and new files, those deleted in the working tree left out.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$src"
started=$SECONDS
# shellcheck disable=SC2086
cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${RIPTIDE_CMAKE_ARGS:-} >/dev/null
cmake --build "$src/build" --target riptide unit_tests >/dev/null
echo "mutants: the unmutated copy built in $((SECONDS - started)) s"

run_test() {  # unit:FILTER or moto:module.Class.test; returns the test's status
  local kind=${1%%:*} what=${1#*:}
  if [ "$kind" = unit ]; then
    timeout 60 "$src/build/tests/unit_tests" --gtest_brief=1 --gtest_filter="$what" >>"$work/log" 2>&1
  else
    (cd "$root/tests/integration" && RIPTIDE_BIN="$src/build/riptide" RIPTIDE_TEST_SERVER="$kind" \
      RIPTIDE_ROOT="$root" timeout 300 python3 -m unittest -q "$what") >>"$work/log" 2>&1
  fi
}

# The durability mutants are caught through strace; where it may not trace (a container
# without CAP_SYS_PTRACE) their tests skip, so those mutants are reported as not tried.
can_trace=1
strace -f -o /dev/null true >/dev/null 2>&1 || can_trace=0

survived=()
broken=()
untried=()
: >"$work/log"
for entry in "${entries[@]}"; do
  read -r name tests <<<"$entry"
  # cpu:FLAG: the mutated code runs only on CPUs with FLAG (the AVX-512 MD5 lanes); on one
  # without it no test can reach the mutation, so it is reported as not tried.
  needs=""
  kept=""
  for t in $tests; do
    if [[ "$t" == cpu:* ]]; then needs=${t#cpu:}; else kept+="$t "; fi
  done
  tests=$kept
  if [ -n "$needs" ] && ! grep -qw "$needs" /proc/cpuinfo; then
    echo "mutants: $name NOT TRIED: the code it mutates runs only on CPUs with $needs, which this one lacks"
    untried+=("$name")
    continue
  fi
  if [ "$can_trace" = 0 ] && [[ "$tests" == *test_durability* ]]; then
    echo "mutants: $name NOT TRIED: its test needs strace, which cannot trace on this machine"
    untried+=("$name")
    continue
  fi
  patch_file="$root/scripts/mutants/$name.patch"
  t0=$SECONDS
  if ! (cd "$src" && patch -p1 --forward --silent <"$patch_file" >>"$work/log" 2>&1); then
    echo "mutants: $name no longer applies to the code: update scripts/mutants/$name.patch"
    broken+=("$name")
    continue
  fi
  if ! cmake --build "$src/build" --target riptide unit_tests >>"$work/log" 2>&1; then
    echo "mutants: $name does not build"
    broken+=("$name")
  else
    caught=""
    for t in $tests; do
      if ! run_test "$t"; then caught=$t; break; fi
    done
    if [ -n "$caught" ]; then
      echo "mutants: $name killed by $caught ($((SECONDS - t0)) s)"
    else
      echo "mutants: $name SURVIVED: $tests all pass with it ($((SECONDS - t0)) s)"
      survived+=("$name")
    fi
  fi
  (cd "$src" && patch -p1 -R --silent <"$patch_file")
done
echo "mutants: $((${#entries[@]} - ${#untried[@]})) tried, ${#survived[@]} survived, ${#broken[@]} stale," \
  "${#untried[@]} not tried, in $((SECONDS - started)) s" \
  "(log: $work/log)"
[ ${#survived[@]} -eq 0 ] && [ ${#broken[@]} -eq 0 ]
