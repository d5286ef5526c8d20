#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (libFuzzer, one process, debug assertions on), one
# after the other, and prints per target the inputs tried and whether any crashed.
#   tests/fuzz/run.sh SECONDS [TARGET...]
# Each target starts from the committed corpus (tests/fuzz/corpus/TARGET, read only) and from
# what earlier runs found (tests/fuzz/target/corpus/TARGET, not committed). A crash (a panic,
# a failed check, a hang over 10 s, ASan) stops the run: its input is in
# tests/fuzz/artifacts/TARGET/, its output in tests/fuzz/target/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?seconds per target}
shift
nightly=$(sed -n 's/^NIGHTLY *?= *//p' ../../Makefile)
fuzz=(cargo "+$nightly" fuzz)
targets=("$@")
# Every target of Cargo.toml: a new one is run without being named here.
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${fuzz[@]}" list --fuzz-dir .)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no target found" >&2; exit 1; }

"${fuzz[@]}" build --fuzz-dir . -a
echo "fuzz: ${targets[*]}, $seconds s each, one process ($nightly, libFuzzer, ASan, debug assertions)"
# libFuzzer exits without cleaning up: the scratch of a target no longer running goes.
clean() {
  local d
  for d in /dev/shm/alpine-strip-fuzz-* "${TMPDIR:-/tmp}"/alpine-strip-fuzz-*; do
    [ -e "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf -- "$d"
  done
  return 0
}
trap clean EXIT
total=0
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t"
  log="target/$t.log"
  if "${fuzz[@]}" run --fuzz-dir . -a "$t" "target/corpus/$t" "corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    corpus=$(find "target/corpus/$t" "corpus/$t" -type f | wc -l)
    printf 'fuzz: %-9s %12d inputs in %d s, %d in the corpus: no crash\n' "$t" "$runs" "$seconds" "$corpus"
    total=$((total + runs))
  else
    echo "fuzz: $t CRASHED; the input is in tests/fuzz/artifacts/$t/:" >&2
    grep -E 'panicked|says|ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
    exit 1
  fi
done
printf 'fuzz: %d inputs tried over %d targets, none crashed\n' "$total" "${#targets[@]}"
