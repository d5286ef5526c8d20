#!/usr/bin/env bash
# End-to-end, offline: real image builds with each engine this machine has, the same checks
# for each, one block per engine and builder:
#   buildah   (vfs storage, chroot isolation)   copy, mount, flat
#   docker    BuildKit (DOCKER_BUILDKIT=1)       copy, mount, flat
#   docker    classic builder                    copy (the mount form needs BuildKit)
# Each block imports $ALPINE_MINIROOTFS as localhost/alpine:3.20, takes the tool image (buildah:
# the amd64 image of `make image`'s multi-platform archive, whose index and checksums are
# checked first; docker: docker/Dockerfile.prebuilt with the same binary), builds every offline
# example of docker/examples in its forms and checks each image: its files, that /bin/sh no
# longer runs, that its ENTRYPOINT runs, what its layers hold. Docker runs on a dockerd of the
# test's own (private socket, data in a temp folder, stopped and removed on exit). Last, the
# plain example built twice with buildah --timestamp 0 must give the same image.
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
archive=${ALPINE_STRIP_OUT:-$here/out}/alpine-strip.oci.tar
[ -f "$archive" ] || skip "$archive is missing (make image)"
# Debian's own client drives BuildKit without the buildx plugin; a newer one may come first.
docker_cli=/usr/bin/docker
[ -x "$docker_cli" ] && command -v dockerd >/dev/null || skip "docker.io is not installed (make deps)"

work=$(mktemp -d /tmp/alpine-strip-e2e.XXXXXX)
B() { buildah --root "$work/root" --runroot "$work/run" --storage-driver vfs "$@"; }
D() { "$docker_cli" -H "unix://$work/docker.sock" "$@"; }
cleanup() {
  B rm --all >/dev/null 2>&1 || true
  if [ -f "$work/dockerd.pid" ]; then
    kill "$(cat "$work/dockerd.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -e "$work/dockerd.pid" ] || break; sleep 0.2; done
  fi
  umount -R "$work/docker-data" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
facts() { python3 "$here/tests/e2e/layers.py" "$1" "$tool"; }

echo "e2e: compiling the stand-in app"
rustc -O -C panic=abort -C strip=symbols --target x86_64-unknown-linux-musl "$here/tests/e2e/hello.rs" -o "$work/hello"
for ex in plain app server smallest; do
  ctx=$work/ctx-$ex
  cp -r "$here/docker/examples/$ex" "$ctx"
  case $ex in
    app) cp "$work/hello" "$ctx/app-1.2" ;;
    server) cp "$work/hello" "$ctx/server" ;;
  esac
done

# The engine functions each block defines:
#   build IMG TARGET CTX    build a target of an example (log on stdout)
#   rootfs IMG DIR          the image's files in DIR
#   run IMG [ARGS...]       run the image (its ENTRYPOINT, or ARGS as the command)
#   no_shell IMG            true when /bin/sh does not run in the image
#   layers IMG DIR          the image unpacked (OCI layout or docker save) in DIR
#   drop IMG                remove the image

# Checks one built image of example $1 in form $2 (image $3, build log $4).
check_image() {
  local ex=$1 form=$2 img=$3 log=$4 name="$label $1/$2" m=$work/rootfs
  # Docker's classic builder can drop the output of a step that exits at once (its attach
  # races the process): there the files below are the proof.
  grep -q 'alpine-strip: stripped /' "$log" || [ "$form" = flat ] || [ "${classic:-}" = 1 ] ||
    bad "$name: the build log shows no strip"
  rm -rf "$m"; mkdir "$m"; rootfs "$img" "$m"
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
    app) check "$name: app -> app-1.2 kept" test "$(readlink "$m/usr/local/bin/app")" = app-1.2 ;;
    server)
      check "$name: access.log -> /dev/stdout kept" test "$(readlink "$m/var/log/server/access.log")" = /dev/stdout
      check "$name: error.log -> /dev/stderr kept" test "$(readlink "$m/var/log/server/error.log")" = /dev/stderr ;;
  esac
  check "$name: /bin/sh does not run" no_shell "$img"

  rm -rf "$work/layers"; mkdir "$work/layers"; layers "$img" "$work/layers"
  facts "$work/layers" >"$work/facts"
  local out; out=$(run "$img" 2>&1) || true
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
        grep -q 'skipped /strip: left in place: it is mounted in (RUN --mount)' "$log"
      check "$name: no layer holds the tool's bytes" bash -c "! grep -q '^tool-bytes' '$work/facts'" ;;
    flat)
      local size base_size
      size=$(awk '$1=="size"{print $2}' "$work/facts")
      base_size=$(cat "$work/base-size-$ex")
      check "$name: one layer" grep -qx 'layers 1' "$work/facts"
      check "$name: $size bytes, smaller than the base's $base_size" test "$size" -lt "$base_size"
      check "$name: no layer holds the tool's bytes" bash -c "! grep -q '^tool-bytes' '$work/facts'"
      echo "$ex $size $label" >>"$work/flat-sizes" ;;
  esac
}

# Builds and checks every example in the forms given.
examples() {
  local ex form img
  for ex in plain app server smallest; do
    img=localhost/e2e-$ex-base
    build "$img" base "$work/ctx-$ex" >/dev/null 2>&1
    rm -rf "$work/layers"; mkdir "$work/layers"; layers "$img" "$work/layers"
    facts "$work/layers" | awk '$1=="size"{print $2}' >"$work/base-size-$ex"
    for form in "$@"; do
      img=localhost/e2e-$ex-$form
      if ! build "$img" "$form" "$work/ctx-$ex" >"$work/build.log" 2>&1; then
        bad "$label $ex/$form: build"; cat "$work/build.log"; continue
      fi
      ok "$label $ex/$form: build"
      check_image "$ex" "$form" "$img" "$work/build.log"
    done
  done
}

# --- buildah -------------------------------------------------------------------------------
label="buildah $(buildah --version | awk '{print $3}'):"
echo; echo "e2e: == $label vfs, chroot isolation: copy, mount, flat =="
ctr=$(B from scratch)
B add "$ctr" "$ALPINE_MINIROOTFS" / >/dev/null
B commit -q "$ctr" localhost/alpine:3.20 >/dev/null
B rm "$ctr" >/dev/null

echo "e2e: the tool image, multi-platform archive $archive"
python3 "$here/tests/e2e/platforms.py" "$archive" >"$work/platforms"
check "tool archive: its index lists the eight platforms" \
  diff -u <(printf '%s\n' linux/386 linux/amd64 linux/arm/v6 linux/arm/v7 linux/arm64 linux/ppc64le linux/riscv64 linux/s390x) "$work/platforms"
(cd "$(dirname "$archive")" && sha256sum -c --quiet SHA256SUMS) &&
  ok "tool archive: SHA256SUMS verifies the binaries and the archive" ||
  bad "tool archive: SHA256SUMS does not verify"
# The amd64 image of the list is the one every buildah example builds with.
B pull -q --arch amd64 "oci-archive:$archive" >"$work/tool.id"
B tag "$(cat "$work/tool.id")" localhost/alpine-strip
B push -q -D localhost/alpine-strip "oci:$work/oci-tool" >/dev/null
facts "$work/oci-tool" >"$work/tool.facts"
check "tool image (amd64 of the list): one layer holding only /strip" grep -qx 'tool-bytes 0 strip' "$work/tool.facts"
check "tool image: ENTRYPOINT is /strip" grep -qx 'config Entrypoint \["/strip"\]' "$work/tool.facts"

build() {
  B bud --layers --isolation chroot --build-arg BASE=localhost/alpine:3.20 \
    --build-arg TOOL=localhost/alpine-strip --target "$2" -t "$1" "${@:4}" "$3"
}
rootfs() {
  local c m; c=$(B from "$1"); m=$(B mount "$c")
  cp -a "$m/." "$2"; B umount "$c" >/dev/null; B rm "$c" >/dev/null
}
run() {
  local c rc=0; c=$(B from "$1")
  mapfile -t cmd < <(python3 -c 'import json,sys
f=dict((l.split(" ",2)[1], json.loads(l.split(" ",2)[2])) for l in open(sys.argv[1]) if l.startswith("config "))
print("\n".join((f["Entrypoint"] or []) + (f["Cmd"] or [])))' "$work/facts")
  B run --isolation chroot "$c" -- "${cmd[@]}" || rc=$?
  B rm "$c" >/dev/null; return $rc
}
no_shell() { ! run_cmd "$1" /bin/sh -c true 2>/dev/null; }
run_cmd() { local c rc=0; c=$(B from "$1"); B run --isolation chroot "$c" -- "${@:2}" || rc=$?; B rm "$c" >/dev/null; return $rc; }
layers() { B push -q -D "$1" "oci:$2" >/dev/null; }
examples copy mount flat

echo; echo "e2e: == reproducible: the plain example built twice with buildah --timestamp 0 =="
for n in 1 2; do
  build "localhost/repro-$n" mount "$work/ctx-plain" --timestamp 0 --no-cache >/dev/null 2>&1
  B images --no-trunc --quiet "localhost/repro-$n" >"$work/repro-$n"
done
check "reproducible: the same image ID twice ($(cut -c1-19 "$work/repro-1"))" cmp -s "$work/repro-1" "$work/repro-2"

# --- docker ----------------------------------------------------------------------------------
mkdir -p "$work/docker-data" "$work/docker-exec"
dockerd --storage-driver=vfs --iptables=false --ip-masq=false --bridge=none \
  --data-root "$work/docker-data" --exec-root "$work/docker-exec" \
  -H "unix://$work/docker.sock" --pidfile "$work/dockerd.pid" >"$work/dockerd.log" 2>&1 &
for _ in $(seq 100); do D info >/dev/null 2>&1 && break; sleep 0.2; done
D info >/dev/null 2>&1 || { cat "$work/dockerd.log"; bad "dockerd: it did not start"; exit 1; }
D import "$ALPINE_MINIROOTFS" localhost/alpine:3.20 >/dev/null
mkdir "$work/tool"; cp "$tool" "$work/tool/strip"
DOCKER_BUILDKIT=1 D build -q --network none -f "$here/docker/Dockerfile.prebuilt" \
  --build-arg BIN=strip -t localhost/alpine-strip "$work/tool" >/dev/null

rootfs() { local c; c=$(D create "$1"); D export "$c" | tar -x -C "$2"; D rm "$c" >/dev/null; }
run() { D run --rm --network none "$@"; }
no_shell() { ! D run --rm --network none --entrypoint /bin/sh "$1" -c true >/dev/null 2>&1; }
layers() { D save "$1" | tar -x -C "$2"; }

version=$(D version --format '{{.Server.Version}}')
# The container signal the strip sees as a RUN step (-v names it), with BuildKit ($2=1) or not.
signal() {
  printf '%s\n' 'ARG BASE' 'ARG TOOL' 'FROM ${TOOL} AS tool' 'FROM ${BASE}' \
    'COPY --from=tool /strip /strip' 'RUN ["/strip", "-v", "--no-audit"]' >"$work/tool/Dockerfile.signal"
  # Up to three tries: the classic builder may drop a quick step's output (see check_image).
  for _ in 1 2 3; do
    DOCKER_BUILDKIT=$2 D build --progress plain --network none --no-cache \
      -f "$work/tool/Dockerfile.signal" --build-arg BASE=localhost/alpine:3.20 \
      --build-arg TOOL=localhost/alpine-strip "$work/tool" >"$work/signal.log" 2>&1 || true
    grep -q "container detected: $1" "$work/signal.log" && break
  done
  check "$label the strip sees: container detected: $1" grep -q "container detected: $1" "$work/signal.log"
}
label="docker $version BuildKit:"
echo; echo "e2e: == $label dockerd of its own, --network none: copy, mount, flat =="
build() {
  DOCKER_BUILDKIT=1 D build --progress plain --network none --build-arg BASE=localhost/alpine:3.20 \
    --build-arg TOOL=localhost/alpine-strip --target "$2" -t "$1" "$3"
}
examples copy mount flat
signal "running as PID 1" 1
# Life without a shell: exec forms and --entrypoint.
check "$label docker run --entrypoint runs another program of the stripped image" \
  grep -q localhost <(D run --rm --network none --entrypoint /usr/bin/getent localhost/e2e-plain-flat hosts localhost)
check "$label server/flat: HEALTHCHECK is exec form (no shell)" test \
  "$(D inspect --format '{{json .Config.Healthcheck.Test}}' localhost/e2e-server-flat)" = '["CMD","/usr/local/bin/server","--health"]'
check "$label server/flat: its health command runs" \
  grep -q 'hello from /usr/local/bin/server' <(D run --rm --network none localhost/e2e-server-flat --health)

label="docker $version classic builder:"
classic=1
echo; echo "e2e: == $label copy (RUN --mount needs BuildKit: the mount and flat forms are BuildKit's) =="
build() {
  DOCKER_BUILDKIT=0 D build --network none --build-arg BASE=localhost/alpine:3.20 \
    --build-arg TOOL=localhost/alpine-strip --target "$2" -t "$1" "$3"
}
examples copy
signal "/.dockerenv" 0
if build localhost/e2e-classic-mount mount "$work/ctx-plain" >"$work/build.log" 2>&1; then
  bad "$label the mount form built without BuildKit"
else
  check "$label the mount form is refused without BuildKit, as documented" grep -qi 'mount' "$work/build.log"
fi

echo
while read -r ex size engine; do
  case $ex in plain|smallest) echo "e2e: flattened $ex image, $engine $size bytes of regular files";; esac
done <"$work/flat-sizes"
plain_flat=$(awk '$1=="plain" && $3=="buildah"{print $2}' "$work/flat-sizes")
smallest_flat=$(awk '$1=="smallest" && $3=="buildah"{print $2}' "$work/flat-sizes")
check "smallest/flat: under 1.25 MB and smaller than plain/flat ($smallest_flat < $plain_flat)" \
  test "${smallest_flat:-9999999}" -lt 1250000 -a "${smallest_flat:-9999999}" -lt "${plain_flat:-0}"

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
