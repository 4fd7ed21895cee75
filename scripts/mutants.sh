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
# RIPTIDE_MUTANT_JOBS (default: the number of cores) copies work side by side, each
# taking every Nth mutant: most of a mutant's time is a link or a test waiting on a
# timeout, so two copies on two cores take little more than half the time of one.
# Run scripts/setup.sh --test-tools first (scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${RIPTIDE_MUTANTS_DIR:-${TMPDIR:-/tmp}/riptide-mutants}
jobs=${RIPTIDE_MUTANT_JOBS:-$(nproc)}

mapfile -t entries < <(grep -v '^\s*\(#\|$\)' scripts/mutants/list)
if [ $# -gt 0 ]; then
  wanted=" $* "
  picked=()
  for e in "${entries[@]}"; do [[ "$wanted" == *" ${e%% *} "* ]] && picked+=("$e"); done
  entries=("${picked[@]}")
fi
[ ${#entries[@]} -gt 0 ] || { echo "mutants: no mutant named $*" >&2; exit 2; }
[ "$jobs" -ge 1 ] || jobs=1
[ "$jobs" -le ${#entries[@]} ] || jobs=${#entries[@]}

rm -rf "$work"
mkdir -p "$work"
started=$SECONDS
# The tree as it is: tracked and new files, those deleted in the working tree left out.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf "$work/tree.tar"
for ((w = 0; w < jobs; w++)); do
  mkdir -p "$work/src$w"
  tar -xf "$work/tree.tar" -C "$work/src$w"
  # shellcheck disable=SC2086
  cmake -S "$work/src$w" -B "$work/src$w/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    ${RIPTIDE_CMAKE_ARGS:-} >/dev/null
  cmake --build "$work/src$w/build" --target riptide unit_tests >/dev/null
done
echo "mutants: $jobs unmutated copies built in $((SECONDS - started)) s"

# The durability mutants are caught through strace; where it may not trace (a container
# without CAP_SYS_PTRACE) their tests skip, so those mutants are reported as not tried.
can_trace=1
strace -f -o /dev/null true >/dev/null 2>&1 || can_trace=0

run_test() {  # SRC LOG unit:FILTER|moto:module.Class.test; returns the test's status
  local src=$1 log=$2 kind=${3%%:*} what=${3#*:}
  if [ "$kind" = unit ]; then
    timeout 60 "$src/build/tests/unit_tests" --gtest_brief=1 --gtest_filter="$what" >>"$log" 2>&1
  else
    (cd "$root/tests/integration" && RIPTIDE_BIN="$src/build/riptide" RIPTIDE_TEST_SERVER="$kind" \
      RIPTIDE_ROOT="$root" timeout 300 python3 -m unittest -q "$what") >>"$log" 2>&1
  fi
}

# One mutant in the copy SRC: prints what became of it and records it in OUTCOMES as
# "killed|survived|stale|untried NAME".
try_mutant() {  # SRC LOG OUTCOMES ENTRY
  local src=$1 log=$2 outcomes=$3 name tests needs="" kept="" t
  read -r name tests <<<"$4"
  # cpu:FLAG: the mutated code runs only on CPUs with FLAG (the AVX-512 MD5 lanes); on one
  # without it no test can reach the mutation, so it is reported as not tried.
  for t in $tests; do
    if [[ "$t" == cpu:* ]]; then needs=${t#cpu:}; else kept+="$t "; fi
  done
  tests=$kept
  if [ -n "$needs" ] && ! grep -qw "$needs" /proc/cpuinfo; then
    echo "mutants: $name NOT TRIED: the code it mutates runs only on CPUs with $needs, which this one lacks"
    echo "untried $name" >>"$outcomes"
    return
  fi
  if [ "$can_trace" = 0 ] && [[ "$tests" == *test_durability* ]]; then
    echo "mutants: $name NOT TRIED: its test needs strace, which cannot trace on this machine"
    echo "untried $name" >>"$outcomes"
    return
  fi
  local patch_file="$root/scripts/mutants/$name.patch" t0=$SECONDS
  if ! (cd "$src" && patch -p1 --forward --silent <"$patch_file" >>"$log" 2>&1); then
    echo "mutants: $name no longer applies to the code: update scripts/mutants/$name.patch"
    echo "stale $name" >>"$outcomes"
    return
  fi
  # Only the binaries its tests run: a unit-tested mutant need not relink riptide.
  local targets=() caught=""
  [[ " $tests" == *" unit:"* ]] && targets+=(unit_tests)
  [[ " $tests" == *" moto:"* ]] && targets+=(riptide)
  if ! cmake --build "$src/build" --target "${targets[@]}" >>"$log" 2>&1; then
    echo "mutants: $name does not build"
    echo "stale $name" >>"$outcomes"
  else
    for t in $tests; do
      if ! run_test "$src" "$log" "$t"; then caught=$t; break; fi
    done
    if [ -n "$caught" ]; then
      echo "mutants: $name killed by $caught ($((SECONDS - t0)) s)"
      echo "killed $name" >>"$outcomes"
    else
      echo "mutants: $name SURVIVED: $tests all pass with it ($((SECONDS - t0)) s)"
      echo "survived $name" >>"$outcomes"
    fi
  fi
  (cd "$src" && patch -p1 -R --silent <"$patch_file")
}

worker() {  # W: takes entries W, W + jobs, W + 2 jobs, ...
  local w=$1 i
  : >"$work/log$w"
  for ((i = w; i < ${#entries[@]}; i += jobs)); do
    try_mutant "$work/src$w" "$work/log$w" "$work/outcomes" "${entries[$i]}"
  done
}

: >"$work/outcomes"
pids=()
for ((w = 0; w < jobs; w++)); do
  worker "$w" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
count() { grep -c "^$1 " "$work/outcomes" || true; }
untried=$(count untried)
survived=$(count survived)
stale=$(count stale)
echo "mutants: $((${#entries[@]} - untried)) tried, $survived survived, $stale stale," \
  "$untried not tried, in $((SECONDS - started)) s" \
  "(logs: $work/log*)"
[ "$(wc -l <"$work/outcomes")" -eq ${#entries[@]} ] || { echo "mutants: a worker died" >&2; exit 1; }
[ "$survived" -eq 0 ] && [ "$stale" -eq 0 ]
