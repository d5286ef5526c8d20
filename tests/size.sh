#!/usr/bin/env bash
# Prints the size of every binary we ship and fails when the shipped x86_64 one is over budget
# or any of them is not static.
set -euo pipefail
out=${1:?usage: size.sh OUT_DIR}
budget=131072   # 128 KiB: the shipped x86_64 binary
fail=0
printf '%-22s %9s %9s  %s\n' binary bytes KiB route
for f in strip-x86_64 strip-x86_64-stable strip-aarch64; do
  p=$out/$f
  [ -f "$p" ] || { echo "size: $p is missing (make build)"; fail=1; continue; }
  bytes=$(stat -c %s "$p")
  case $f in
    strip-x86_64) route="nightly $(grep -oE 'nightly-[0-9-]+' Makefile | head -1), build-std, immediate-abort (shipped)";;
    *) route="stable $(rustc --version | cut -d' ' -f2), opt-level=z, lto, panic=abort, strip";;
  esac
  printf '%-22s %9d %9.1f  %s\n' "$f" "$bytes" "$(awk "BEGIN{print $bytes/1024}")" "$route"
  if readelf -lW "$p" | grep -q 'Requesting program interpreter'; then
    echo "size: $f is not static"; fail=1
  fi
done
shipped=$(stat -c %s "$out/strip-x86_64")
if [ "$shipped" -gt "$budget" ]; then
  echo "size: FAIL strip-x86_64 is $shipped bytes, over the $budget-byte budget"; fail=1
else
  echo "size: ok, strip-x86_64 is $shipped bytes, within the $budget-byte budget"
fi
exit $fail
