#!/usr/bin/env bash
# Benchmarks, printed, not asserted: on fresh copies of the real tree through chroot, side by
# side and interleaved, the seed one-liner, the floor (one process unlinking the same paths) and
# /strip; syscalls per removed entry (strace -c); and how the strip's time grows with the size
# of a bin folder.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-31}
bin=${ALPINE_STRIP_BIN:-$here/out/strip-x86_64}
[ -f "${ALPINE_MINIROOTFS:-}" ] || { echo "bench: ALPINE_MINIROOTFS is unset" >&2; exit 1; }
[ -f "$bin" ] || { echo "bench: $bin is missing (make build)" >&2; exit 1; }

work=$(mktemp -d /tmp/alpine-strip-bench.XXXXXX); trap 'rm -rf "$work"' EXIT
mkdir "$work/pristine"
tar xzf "$ALPINE_MINIROOTFS" -C "$work/pristine"
cp "$bin" "$work/pristine/strip"

# The paths the strip removes, for the floor: the same unlinks, nothing else.
"$bin" --root "$work/pristine" --dry-run -v 2>&1 | awk '/would remove /{print $NF}' >"$work/paths"
echo /strip >>"$work/paths"
mapfile -t paths <"$work/paths"

# The strip refuses a root that does not look like a container; $container says it is one.
# Exported once, so that every command below is started the same way (no extra `env` exec).
export container=bench
now() { date +%s%N; }
fresh() { rm -rf "$work/t"; cp -a "$work/pristine" "$work/t"; sync; }
# The timed runs each get a copy made for their round, and no copy is deleted until the end:
# ext4 without a journal (this machine's) passes over every inode freed in the last minute
# when it allocates one (`recently_deleted`), so deleting a 520-inode tree before each run
# made each file the strip creates (apk's four state files) scan thousands of them: 9% of the
# strip's samples under `perf`, a cost of the bench's own churn, not of a build.
copies() {
  local round=$1 name
  mkdir "$work/round$round"
  for name in seed floor keep strip full; do cp -a "$work/pristine" "$work/round$round/$name"; done
  sync
}
time_ns() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo $((t1 - t0)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk -v ns="$1" 'BEGIN{printf "%.2f", ns/1e6}'; }

: >"$work/seed"; : >"$work/floor"; : >"$work/keep"; : >"$work/strip"; : >"$work/full"
for i in $(seq "$runs"); do
  copies "$i"; r="$work/round$i"
  time_ns chroot "$r/seed" /bin/busybox sh -c 'find /sbin /bin /usr/bin /usr/local/bin/ -type l -exec busybox rm -rf {} \;; busybox rm /sbin/apk /bin/busybox' >>"$work/seed"
  time_ns chroot "$r/floor" /bin/busybox rm -f "${paths[@]}" >>"$work/floor"
  time_ns chroot "$r/keep" /strip -q --no-audit --keep-apk-db >>"$work/keep"
  time_ns chroot "$r/strip" /strip -q --no-audit >>"$work/strip"
  time_ns chroot "$r/full" /strip -q >>"$work/full"
  for name in floor keep strip full; do
    [ -e "$r/$name/bin/busybox" ] && { echo "bench: $name did not strip" >&2; exit 1; }
  done
done
seed=$(median <"$work/seed"); floor=$(median <"$work/floor")
keep=$(median <"$work/keep"); strip=$(median <"$work/strip"); full=$(median <"$work/full")
echo "bench: Alpine 3.20.3 minirootfs, $(nproc) cores, $(uname -r), medians of $runs interleaved runs through chroot"
printf '  %-52s %8s ms\n' "seed one-liner (find -exec busybox rm)" "$(ms "$seed")"
printf '  %-52s %8s ms\n' "floor (busybox rm -f, the same ${#paths[@]} paths)" "$(ms "$floor")"
printf '  %-52s %8s ms\n' "/strip --no-audit --keep-apk-db (discover, unlink)" "$(ms "$keep")"
printf '  %-52s %8s ms\n' "/strip --no-audit (+ apk db)" "$(ms "$strip")"
printf '  %-52s %8s ms\n' "/strip (the same + the whole-root audit)" "$(ms "$full")"
# Ratios are taken run by run (each strip against the floor measured just before it, on the
# same machine state) and their median printed: steadier than a ratio of medians here.
ratio() { paste "$work/$1" "$work/floor" | awk '{print $1 / $2}' | sort -n |
  awk '{a[NR]=$1} END {printf "%.2f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "  / floor, median of the per-run ratios: discover+unlink $(ratio keep), + apk db $(ratio strip)," \
  "+ audit $(ratio full)   seed / strip = $(awk -v o="$seed" -v a="$full" 'BEGIN{printf "%.1f", o/a}')"

if command -v strace >/dev/null; then
  for mode in "--no-audit" ""; do
    fresh
    strace -f -c -o "$work/strace" "$bin" --root "$work/t" -q $mode
    calls=$(awk '$NF=="total"{print $(NF-2)}' "$work/strace")
    [ -n "$calls" ] || calls=$(awk '/total/{print $3}' "$work/strace")
    removed=$(( ${#paths[@]} - 1 ))
    awk -v c="$calls" -v r="$removed" -v m="${mode:-default, with the audit}" \
      'BEGIN{printf "  syscalls (%s): %d for %d removed entries = %.2f per entry\n", m, c, r, c/r}'
  done
  echo "  top syscalls of the default run (all threads):"
  fresh; strace -f -c -o "$work/strace" "$bin" --root "$work/t" -q
  awk 'NR>2 && $NF!="total" && $1 !~ /^-/ {print "    " $NF, $(NF-1) ~ /^[0-9]+$/ ? $(NF-1) : $(NF-2)}' "$work/strace" |
    sort -k2 -n -r | head -6
fi

# An application image at scale: the tree plus a node_modules-like folder of 50,300 files
# (250 ELF `.node` addons, copies of the tree's libz; 50 `#!/usr/bin/env node` scripts; the
# rest small .js files in 2,500 folders), through chroot without /proc. The audit's cost is
# put beside `find -xdev` of the same tree: the goal is (default - --no-audit) <= 2 x find.
echo "bench: application scale (3.20.3 + node_modules-like tree of 50,300 files), median of ${SCALE_RUNS:-5}"
rm -rf "$work/app"; cp -a "$work/pristine" "$work/app"
python3 - "$work/app/usr/local/lib/node_modules" "$work/pristine/lib/libz.so.1.3.1" <<'PY'
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
: >"$work/a-full"; : >"$work/a-noaudit"; : >"$work/a-check"; : >"$work/a-find"
afresh() { rm -rf "$work/t"; cp -a "$work/app" "$work/t"; sync; }
for i in $(seq "${SCALE_RUNS:-5}"); do
  afresh; time_ns chroot "$work/t" /strip -q >>"$work/a-full"
  cp "$bin" "$work/t/strip"; time_ns chroot "$work/t" /strip --check >>"$work/a-check"
  afresh; time_ns chroot "$work/t" /strip -q --no-audit >>"$work/a-noaudit"
  time_ns find "$work/t" -xdev >>"$work/a-find"
done
a_full=$(median <"$work/a-full"); a_no=$(median <"$work/a-noaudit")
a_check=$(median <"$work/a-check"); a_find=$(median <"$work/a-find")
printf '  %-52s %8s ms\n' "/strip (default: strip + audit + start checks)" "$(ms "$a_full")"
printf '  %-52s %8s ms\n' "/strip --no-audit" "$(ms "$a_no")"
printf '  %-52s %8s ms\n' "/strip --check (of the stripped tree)" "$(ms "$a_check")"
printf '  %-52s %8s ms\n' "find -xdev of the same tree" "$(ms "$a_find")"
awk -v f="$a_full" -v n="$a_no" -v x="$a_find" \
  'BEGIN{printf "  audit cost (default - --no-audit) / find = %.2f (goal <= 2)\n", (f-n)/x}'

echo "bench: scaling, one bin folder of N applet links (+ busybox), strip --root, median of 3"
printf '  %8s %10s %12s\n' entries ms us/entry
for n in 1000 10000 100000; do
  rm -rf "$work/s"; mkdir -p "$work/s/bin" "$work/s/usr/bin"
  cp "$work/pristine/bin/busybox" "$work/s/bin/busybox"
  python3 -c 'import os,sys
d=sys.argv[1]
for i in range(int(sys.argv[2])): os.symlink("/bin/busybox", f"{d}/applet{i}")' "$work/s/usr/bin" "$n"
  : >"$work/scale"
  for r in 1 2 3; do
    rm -rf "$work/t"; cp -a "$work/s" "$work/t"
    time_ns "$bin" --root "$work/t" -q >>"$work/scale"
    [ -z "$(ls -A "$work/t/usr/bin")" ] || { echo "bench: links left" >&2; exit 1; }
  done
  t=$(median <"$work/scale")
  awk -v n="$n" -v t="$t" 'BEGIN{printf "  %8d %10.2f %12.2f\n", n, t/1e6, t/1e3/n}'
done
