#!/usr/bin/env bash
# Benchmarks, printed, not asserted. On fresh copies of both real trees (the 3.20.3 minirootfs
# and the 3.23.3 root), through chroot, side by side and interleaved: the floor (one process
# unlinking the same paths), /strip in three modes (whose differences say where the time goes,
# by phase) and the seed one-liner; syscalls per removed entry (strace -c); the audit at
# application scale beside a `find` that stats every entry; how the time grows with the size
# of a bin folder.
#
# The timer is bash's own clock (EPOCHREALTIME, read without a fork): the only process started
# between its two readings is the one measured (chroot, which execs the command). Every copy
# is made before its round and outside the timer.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-21}
bin=${ALPINE_STRIP_BIN:-$here/out/strip-x86_64}
for var in ALPINE_MINIROOTFS ALPINE_ROOTFS_3_23; do
  [ -f "${!var:-}" ] || { echo "bench: $var is unset" >&2; exit 1; }
done
[ -f "$bin" ] || { echo "bench: $bin is missing (make build)" >&2; exit 1; }

work=$(mktemp -d /tmp/alpine-strip-bench.XXXXXX); trap 'rm -rf "$work"' EXIT
# The strip refuses a root that does not look like a container; $container says it is one.
# Exported once, so that every command below is started the same way (no extra `env` exec).
export container=bench

# Microseconds the command took; its output is discarded and its status left to the checks
# that follow (a strip that failed leaves busybox behind).
time_us() {
  local t0 t1
  t0=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || true
  t1=$EPOCHREALTIME
  echo $((${t1/[.,]/} - ${t0/[.,]/}))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk -v us="$1" 'BEGIN{printf "%.2f", us/1e3}'; }
# The median of the run-by-run ratios of $1 to the floor (each against the floor measured in
# the same round, on the same machine state): steadier than a ratio of medians here.
ratio() { paste "$1" "$2" | awk '{print $1 / $2}' | sort -n |
  awk '{a[NR]=$1} END {printf "%.2f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

trees=(minirootfs rootfs323)
declare -A tarball=([minirootfs]=$ALPINE_MINIROOTFS [rootfs323]=$ALPINE_ROOTFS_3_23)
declare -A title=([minirootfs]="3.20.3 minirootfs" [rootfs323]="3.23.3 root")
modes=(floor keep noaudit full seed)
declare -A label=(
  [floor]="floor: busybox rm -f of the same paths"
  [keep]="/strip --no-audit --keep-apk-db"
  [noaudit]="/strip --no-audit (goal <= 1.5x)"
  [full]="/strip, the default (goal <= 2x)"
  [seed]="seed one-liner (find -exec busybox rm)"
)
declare -A npaths
for tree in "${trees[@]}"; do
  mkdir -p "$work/$tree/pristine"
  tar xzf "${tarball[$tree]}" -C "$work/$tree/pristine"
  cp "$bin" "$work/$tree/pristine/strip"
  # The paths the strip removes, for the floor: the same unlinks, nothing else.
  "$bin" --root "$work/$tree/pristine" --dry-run -v 2>&1 | awk '/would remove /{print $NF}' >"$work/$tree/paths"
  echo /strip >>"$work/$tree/paths"
  npaths[$tree]=$(wc -l <"$work/$tree/paths")
  for mode in "${modes[@]}"; do : >"$work/$tree/$mode"; done
done

# Each run gets a copy made for its round, and no copy is deleted until the end: ext4 without
# a journal passes over every inode freed in the last minute when it allocates one
# (`recently_deleted`), so deleting a tree before each run made each file the strip creates
# (apk's state files) scan thousands of them, a cost of the bench's own churn.
run() {
  local tree=$1 mode=$2 r=$3/$2
  case $mode in
    floor) mapfile -t paths <"$work/$tree/paths"
      time_us chroot "$r" /bin/busybox rm -f "${paths[@]}" ;;
    keep) time_us chroot "$r" /strip -q --no-audit --keep-apk-db ;;
    noaudit) time_us chroot "$r" /strip -q --no-audit ;;
    full) time_us chroot "$r" /strip -q ;;
    seed) time_us chroot "$r" /bin/busybox sh -c \
      'find /sbin /bin /usr/bin /usr/local/bin/ -type l -exec busybox rm -rf {} \;; busybox rm /sbin/apk /bin/busybox' ;;
  esac
}
# The machine settles first: writeback and discards left by what ran before (a test suite
# that made and deleted thousands of trees) would be timed as part of the first rounds. Measured:
# right after the fault-injection test, --no-audit read 1.57x; settled, 1.47x.
sync; sleep "${SETTLE:-15}"
for i in $(seq "$runs"); do
  for tree in "${trees[@]}"; do
    round="$work/$tree/round$i"; mkdir "$round"
    for mode in "${modes[@]}"; do cp -a "$work/$tree/pristine" "$round/$mode"; done
  done
  sync
  for tree in "${trees[@]}"; do
    round="$work/$tree/round$i"
    for mode in "${modes[@]}"; do run "$tree" "$mode" "$round" >>"$work/$tree/$mode"; done
    for mode in floor keep noaudit full; do
      [ -e "$round/$mode/bin/busybox" ] && { echo "bench: $mode did not strip ${title[$tree]}" >&2; exit 1; }
    done
  done
done

declare -A med
for tree in "${trees[@]}"; do
  for mode in "${modes[@]}"; do med[$tree.$mode]=$(median <"$work/$tree/$mode"); done
done
echo "bench: medians of $runs interleaved rounds through chroot, bash's EPOCHREALTIME around each run" \
  "(no fork inside the timer); $(nproc) cores, $(uname -r)"
printf '  %-44s %23s %23s\n' "" "${title[minirootfs]}" "${title[rootfs323]}"
printf '  %-44s %23s %23s\n' "paths the strip removes (the floor's too)" "${npaths[minirootfs]}" "${npaths[rootfs323]}"
printf '  %-44s %11s %11s %11s %11s\n' "" ms "/ floor" ms "/ floor"
for mode in "${modes[@]}"; do
  row=()
  for tree in "${trees[@]}"; do
    row+=("$(ms "${med[$tree.$mode]}")" "$(ratio "$work/$tree/$mode" "$work/$tree/floor")")
  done
  printf '  %-44s %11s %11s %11s %11s\n' "${label[$mode]}" "${row[@]}"
done
# Where the time goes: each mode does what the one above it does, and one phase more.
echo "  where the time goes (differences of the medians, ms):"
phase() {
  local name=$1 hi=$2 lo=$3 row=()
  for tree in "${trees[@]}"; do
    row+=("$(awk -v a="${med[$tree.$hi]}" -v b="${med[$tree.$lo]}" 'BEGIN{printf "%.2f", (a-b)/1e3}')")
  done
  printf '    %-42s %11s %23s\n' "$name" "${row[@]}"
}
printf '    %-42s %11s %23s\n' "exec + unlinks (the floor)" "$(ms "${med[minirootfs.floor]}")" "$(ms "${med[rootfs323.floor]}")"
phase "scan, discover, plan, checks (keep - floor)" keep floor
phase "apk database: parse, stage, commit" noaudit keep
phase "audit and start checks (default - no-audit)" full noaudit

if command -v strace >/dev/null; then
  echo "  syscalls (strace -c, --root, no chroot):"
  for tree in "${trees[@]}"; do
    for mode in "--no-audit" ""; do
      rm -rf "$work/t"; cp -a "$work/$tree/pristine" "$work/t"
      strace -f -c -o "$work/strace" "$bin" --root "$work/t" -q $mode
      calls=$(awk '$NF=="total"{print $(NF-2)}' "$work/strace")
      [ -n "$calls" ] || calls=$(awk '/total/{print $3}' "$work/strace")
      removed=$(( ${npaths[$tree]} - 1 ))
      awk -v c="$calls" -v r="$removed" -v m="${mode:-default}" -v t="${title[$tree]}" \
        'BEGIN{printf "    %-18s %-12s %5d for %d removed entries = %.2f per entry\n", t, m, c, r, c/r}'
    done
  done
fi

# An application image at scale: the 3.20.3 tree plus a node_modules-like folder of 50,300
# files (250 ELF `.node` addons, copies of the tree's libz; 50 `#!/usr/bin/env node` scripts;
# the rest small .js files in 2,500 folders), through chroot. The audit's cost (default -
# --no-audit) is put beside a `find` that stats every entry of the same tree (-printf of the
# inode, size and mode): the goal is <= 2x.
scale_runs=${SCALE_RUNS:-5}
echo "bench: application scale (3.20.3 + node_modules-like tree of 50,300 files), median of $scale_runs"
app="$work/app"; cp -a "$work/minirootfs/pristine" "$app"
python3 - "$app/usr/local/lib/node_modules" "$app/lib/libz.so.1.3.1" <<'PY'
import os, shutil, sys
top, elf = sys.argv[1], sys.argv[2]
n = 0
for d in range(2500):
    folder = os.path.join(top, f"pkg{d // 50}", "node_modules", f"dep{d}", "lib")
    os.makedirs(folder, exist_ok=True)
    for f in range(20):
        path = os.path.join(folder, f"f{f}.js")
        if d % 10 == 0 and f == 0:
            shutil.copyfile(elf, path[:-3] + ".node"); os.chmod(path[:-3] + ".node", 0o755)
        elif d % 50 == 1 and f == 1:
            open(path, "w").write("#!/usr/bin/env node\nconsole.log(1)\n"); os.chmod(path, 0o755)
        else:
            open(path, "w").write("module.exports = 1;\n")
        n += 1
for i in range(n, 50300):
    open(os.path.join(top, f"extra{i}.js"), "w").write("\n")
PY
for name in full noaudit check find; do : >"$work/a-$name"; done
for i in $(seq "$scale_runs"); do
  mkdir "$work/app$i"
  for name in full noaudit; do cp -a "$app" "$work/app$i/$name"; done
  sync
  t="$work/app$i"
  time_us chroot "$t/full" /strip -q >>"$work/a-full"
  time_us chroot "$t/noaudit" /strip -q --no-audit >>"$work/a-noaudit"
  cp "$bin" "$t/full/strip"; time_us chroot "$t/full" /strip --check >>"$work/a-check"
  time_us find "$t/noaudit" -xdev -printf '%i %s %m\n' >>"$work/a-find"
  for name in full noaudit; do
    [ -e "$t/$name/bin/busybox" ] && { echo "bench: app $name did not strip" >&2; exit 1; }
  done
done
a_full=$(median <"$work/a-full"); a_no=$(median <"$work/a-noaudit")
a_check=$(median <"$work/a-check"); a_find=$(median <"$work/a-find")
printf '  %-52s %8s ms\n' "/strip (default: strip + audit + start checks)" "$(ms "$a_full")"
printf '  %-52s %8s ms\n' "/strip --no-audit" "$(ms "$a_no")"
printf '  %-52s %8s ms\n' "/strip --check (of the stripped tree)" "$(ms "$a_check")"
printf '  %-52s %8s ms\n' "find -xdev -printf '%i %s %m' (stats every entry)" "$(ms "$a_find")"
awk -v f="$a_full" -v n="$a_no" -v x="$a_find" \
  'BEGIN{printf "  audit cost (default - --no-audit) / find = %.2f (goal <= 2)\n", (f-n)/x}'

echo "bench: scaling, one bin folder of N applet links (+ busybox), strip --root, median of 3"
printf '  %8s %10s %12s\n' entries ms us/entry
for n in 1000 10000 100000; do
  rm -rf "$work/s"; mkdir -p "$work/s/bin" "$work/s/usr/bin"
  cp "$work/minirootfs/pristine/bin/busybox" "$work/s/bin/busybox"
  python3 -c 'import os,sys
d=sys.argv[1]
for i in range(int(sys.argv[2])): os.symlink("/bin/busybox", f"{d}/applet{i}")' "$work/s/usr/bin" "$n"
  : >"$work/scale"
  for r in 1 2 3; do
    cp -a "$work/s" "$work/s$n-$r"
    time_us "$bin" --root "$work/s$n-$r" -q >>"$work/scale"
    [ -z "$(ls -A "$work/s$n-$r/usr/bin")" ] || { echo "bench: links left" >&2; exit 1; }
  done
  t=$(median <"$work/scale")
  awk -v n="$n" -v t="$t" 'BEGIN{printf "  %8d %10.2f %12.2f\n", n, t/1e3, t/n}'
done
