#!/usr/bin/env bash
# Prints the size of every shipped binary (one per Alpine architecture) and fails when one is
# over the 320 KiB budget, is not static, or is not built for the architecture it is named for.
set -euo pipefail
out=${1:?usage: size.sh OUT_DIR}
budget=327680   # 320 KiB, for every architecture
nightly=$(grep -oE 'nightly-[0-9-]+' "$(dirname "$0")/../Makefile" | head -1)
fail=0
printf '%-16s %9s %7s %7s %10s  %s\n' binary bytes KiB budget 'bytes left' machine
for arch in x86_64 x86 aarch64 armhf armv7 ppc64le riscv64 s390x; do
  p=$out/strip-$arch
  [ -f "$p" ] || { echo "size: $p is missing (make build)"; fail=1; continue; }
  bytes=$(stat -c %s "$p")
  machine=$(readelf -hW "$p" | sed -n 's/^ *Machine: *//p')
  case $arch in
    x86_64) want='X86-64';; x86) want='80386';; aarch64) want='AArch64';;
    armhf|armv7) want='ARM';; ppc64le) want='PowerPC64';; riscv64) want='RISC-V';;
    s390x) want='S/390';;
  esac
  printf '%-16s %9d %7.1f %6d%% %10d  %s\n' "strip-$arch" "$bytes" "$(awk "BEGIN{print $bytes/1024}")" \
    "$((bytes * 100 / budget))" "$((budget - bytes))" "$machine"
  case $machine in *"$want"*) ;; *) echo "size: strip-$arch is built for $machine"; fail=1;; esac
  if readelf -lW "$p" | grep -q 'Requesting program interpreter'; then
    echo "size: strip-$arch is not static"; fail=1
  fi
  if [ "$bytes" -gt "$budget" ]; then
    echo "size: FAIL strip-$arch is $bytes bytes, over the $budget-byte budget"; fail=1
  fi
done
[ $fail = 0 ] && echo "size: ok, every binary within the $budget-byte budget ($nightly, build-std, immediate-abort, zig)"
exit $fail
