#!/usr/bin/env bash
# End-to-end, offline: real image builds with buildah (vfs storage, chroot isolation).
# Imports $ALPINE_MINIROOTFS as localhost/alpine:3.20, checks the multi-platform tool archive of
# `make image` (eight platforms, checksums) and takes its amd64 image as the tool image, builds every offline example of docker/examples in its three forms (copy, mount, flat)
# and checks each image: its files, that /bin/sh no longer runs, that its ENTRYPOINT runs, and
# what its layers hold.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

skip() {
  if [ "${CI:-}" = true ]; then echo "e2e: FAIL: $* (CI never skips)"; exit 1; fi
  echo; echo "*** e2e SKIPPED: $* ***"; echo; exit 0
}
command -v buildah >/dev/null || skip "buildah is not installed (apt-get install buildah)"
command -v python3 >/dev/null || skip "python3 is not installed"
[ -f "${ALPINE_MINIROOTFS:-}" ] || skip "ALPINE_MINIROOTFS is unset"
tool=${ALPINE_STRIP_BIN:-$here/out/strip-x86_64}
[ -f "$tool" ] || skip "$tool is missing (make build)"

work=$(mktemp -d /tmp/alpine-strip-e2e.XXXXXX)
B() { buildah --root "$work/root" --runroot "$work/run" --storage-driver vfs "$@"; }
cleanup() { B rm --all >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }

echo "e2e: importing the minirootfs as localhost/alpine:3.20"
ctr=$(B from scratch)
B add "$ctr" "$ALPINE_MINIROOTFS" / >/dev/null
B commit -q "$ctr" localhost/alpine:3.20 >/dev/null
B rm "$ctr" >/dev/null

archive=${ALPINE_STRIP_OUT:-$here/out}/alpine-strip.oci.tar
[ -f "$archive" ] || skip "$archive is missing (make image)"
echo "e2e: the tool image, multi-platform archive $archive"
python3 "$here/tests/e2e/platforms.py" "$archive" >"$work/platforms"
check "tool archive: its index lists the eight platforms" \
  diff -u <(printf '%s\n' linux/386 linux/amd64 linux/arm/v6 linux/arm/v7 linux/arm64 linux/ppc64le linux/riscv64 linux/s390x) "$work/platforms"
(cd "$(dirname "$archive")" && sha256sum -c --quiet SHA256SUMS) &&
  ok "tool archive: SHA256SUMS verifies the binaries and the archive" ||
  bad "tool archive: SHA256SUMS does not verify"
# The amd64 image of the list is the one every example below builds with.
B pull -q --arch amd64 "oci-archive:$archive" >"$work/tool.id"
B tag "$(cat "$work/tool.id")" localhost/alpine-strip
B push -q -D localhost/alpine-strip "oci:$work/oci-tool" >/dev/null
python3 "$here/tests/e2e/layers.py" "$work/oci-tool" "$tool" >"$work/tool.facts"
check "tool image (amd64 of the list): one layer holding only /strip" \
  grep -qx 'tool-bytes 0 strip' "$work/tool.facts"
check "tool image: ENTRYPOINT is /strip" grep -qx 'config Entrypoint \["/strip"\]' "$work/tool.facts"

echo "e2e: compiling the stand-in app"
rustc -O -C panic=abort -C strip=symbols --target x86_64-unknown-linux-musl "$here/tests/e2e/hello.rs" -o "$work/hello"

# Bytes of regular files an image holds, over all its layers.
image_bytes() {
  rm -rf "$work/oci-size"
  B push -q -D "$1" "oci:$work/oci-size" >/dev/null
  python3 "$here/tests/e2e/layers.py" "$work/oci-size" "$tool" | awk '$1=="size"{print $2}'
}

for ex in plain app server smallest; do
  ctx=$work/ctx-$ex
  cp -r "$here/docker/examples/$ex" "$ctx"
  case $ex in
    app) cp "$work/hello" "$ctx/app-1.2" ;;
    server) cp "$work/hello" "$ctx/server" ;;
  esac
  # The stage before the strip: what the flattened image must be smaller than.
  B bud -q --layers --isolation chroot --build-arg BASE=localhost/alpine:3.20 \
    --build-arg TOOL=localhost/alpine-strip --target base -t "localhost/$ex-base" "$ctx" >/dev/null 2>&1
  base_size=$(image_bytes "localhost/$ex-base")
  for form in copy mount flat; do
    img=localhost/$ex-$form
    name="$ex/$form"
    if ! B bud --layers --isolation chroot --build-arg BASE=localhost/alpine:3.20 \
        --build-arg TOOL=localhost/alpine-strip --target "$form" -t "$img" "$ctx" >"$work/build.log" 2>&1; then
      bad "$name: build"; cat "$work/build.log"; continue
    fi
    ok "$name: build"
    grep -q 'alpine-strip: stripped /' "$work/build.log" || [ "$form" = flat ] ||
      bad "$name: the build log shows no strip"

    c=$(B from "$img")
    m=$(B mount "$c")
    for p in bin/busybox sbin/apk lib/libapk.so.2.14.0 usr/bin/ssl_client strip bin/sh; do
      check "$name: /$p is gone" absent "$m/$p"
    done
    check "$name: no symlink left dangling into busybox" \
      bash -c "! find '$m/bin' '$m/sbin' '$m/usr/bin' '$m/usr/sbin' -type l | grep -q ."
    if [ "$ex" = smallest ]; then
      for p in usr/lib/libssl.so.3 lib/libssl.so.3 lib/libcrypto.so.3 lib/libz.so.1; do
        check "$name: --prune removed /$p" absent "$m/$p"
      done
      check "$name: the certificates stay" test -s "$m/etc/ssl/certs/ca-certificates.crt"
    else
      check "$name: /usr/lib/libssl.so.3 link kept" test -L "$m/usr/lib/libssl.so.3"
    fi
    case $ex in
      app) check "$name: app -> app-1.2 kept" \
             test "$(readlink "$m/usr/local/bin/app")" = app-1.2 ;;
      server)
        check "$name: access.log -> /dev/stdout kept" \
          test "$(readlink "$m/var/log/server/access.log")" = /dev/stdout
        check "$name: error.log -> /dev/stderr kept" \
          test "$(readlink "$m/var/log/server/error.log")" = /dev/stderr ;;
    esac
    check "$name: /bin/sh does not run" \
      bash -c "! buildah --root '$work/root' --runroot '$work/run' --storage-driver vfs run --isolation chroot '$c' /bin/sh -c true 2>/dev/null"

    B push -q -D "$img" "oci:$work/oci-$ex-$form" >/dev/null
    python3 "$here/tests/e2e/layers.py" "$work/oci-$ex-$form" "$tool" >"$work/facts"
    mapfile -t cmd < <(python3 -c 'import json,sys
f=dict((l.split(" ",2)[1], json.loads(l.split(" ",2)[2])) for l in open(sys.argv[1]) if l.startswith("config "))
print("\n".join((f["Entrypoint"] or []) + (f["Cmd"] or [])))' "$work/facts")
    out=$(B run --isolation chroot "$c" -- "${cmd[@]}" 2>&1) || true
    case $ex in
      plain|smallest) check "$name: ENTRYPOINT getent resolves localhost" grep -q localhost <<<"$out" ;;
      app) check "$name: ENTRYPOINT app runs" grep -q 'hello from /usr/local/bin/app' <<<"$out" ;;
      server) check "$name: ENTRYPOINT server runs as uid 101" grep -qP 'hello from /usr/local/bin/server; Uid:\t101\b' <<<"$out" ;;
    esac
    case $form in
      copy)
        check "$name: the tool's layer is there" grep -q '^tool-bytes .* strip$' "$work/facts"
        check "$name: and its file is whited out above it" grep -qx 'whiteout [0-9]* .wh.strip' "$work/facts" ;;
      mount)
        check "$name: the bind-mounted tool was left in place, with a note" \
          grep -q 'skipped /strip: left in place: it is mounted in (RUN --mount)' "$work/build.log"
        check "$name: no layer holds the tool's bytes" bash -c "! grep -q '^tool-bytes' '$work/facts'" ;;
      flat)
        size=$(awk '$1=="size"{print $2}' "$work/facts")
        check "$name: one layer" grep -qx 'layers 1' "$work/facts"
        check "$name: $size bytes, smaller than the base's $base_size" test "$size" -lt "$base_size"
        echo "$ex $size" >>"$work/flat-sizes"
        check "$name: no layer holds the tool's bytes" bash -c "! grep -q '^tool-bytes' '$work/facts'" ;;
    esac
    B umount "$c" >/dev/null
    B rm "$c" >/dev/null
  done
done

plain_flat=$(awk '$1=="plain"{print $2}' "$work/flat-sizes")
smallest_flat=$(awk '$1=="smallest"{print $2}' "$work/flat-sizes")
echo "e2e: flattened images, bytes of regular files: plain $plain_flat, smallest (--prune) $smallest_flat"
check "smallest/flat: under 1.25 MB and smaller than plain/flat" \
  test "${smallest_flat:-9999999}" -lt 1250000 -a "${smallest_flat:-9999999}" -lt "${plain_flat:-0}"

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
