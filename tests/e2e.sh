#!/usr/bin/env bash
# End-to-end, offline: the tool as users get it. A registry of the test's own on loopback
# (Debian's docker-registry) receives the multi-platform archive of `make image` through
# `make publish`'s script, and every engine builds from it, one block per engine and builder:
#   buildah   (vfs storage, chroot isolation)     copy, mount, flat
#   podman    (vfs storage, rootful, runc)        copy, mount, flat
#   docker    BuildKit (DOCKER_BUILDKIT=1)         copy, mount, flat
#   docker    classic builder                      copy (the mount form needs BuildKit)
#   cross-platform: plain for the eight platforms, buildah --platform and docker --platform,
#             each RUN step running its own architecture's binary under qemu (binfmt_misc)
# Every build names the tool as `COPY --from=localhost:PORT/alpine-strip:e2e` (one plain build
# by `@sha256:` digest) and the base as localhost:PORT/alpine:3.20, the eight official
# minirootfs as one list. Each image is checked: its files, that /bin/sh no longer runs, that
# its ENTRYPOINT runs, what its layers hold, that its `debug` twin shares its lower layers, and
# that Syft's apk inventory is the packages whose files are in it. The app-entrypoint example
# checks the strip's word on entrypoints (app_entrypoint below). The plain example built twice
# with buildah --timestamp 0 must give the same image. The registry and dockerd are the test's
# own (private port and socket, data in a temp folder, stopped on exit); binfmt_misc and the
# qemu interpreters it registers stay registered, as qemu-user-static's own setup leaves them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# A skip outside CI exits 0 but leaves its reason in out/e2e-skipped.txt, which `make test`
# names in its closing line; under CI a skip is a failure.
skipped=${ALPINE_STRIP_OUT:-$here/out}/e2e-skipped.txt
rm -f "$skipped"
skip() {
  if [ "${CI:-}" = true ]; then echo "e2e: FAIL: $* (CI never skips)"; exit 1; fi
  mkdir -p "$(dirname "$skipped")" && echo "$*" >"$skipped"
  echo; echo "*** e2e SKIPPED: $* ***"; echo; exit 0
}
for cmd in buildah podman skopeo docker-registry syft python3 curl; do
  command -v "$cmd" >/dev/null || skip "$cmd is not installed (make deps)"
done
[ -f "${ALPINE_MINIROOTFS:-}" ] || skip "ALPINE_MINIROOTFS is unset"
[ -d "${ALPINE_FIXTURES:-}" ] || skip "ALPINE_FIXTURES is unset (the minirootfs of every architecture)"
out=${ALPINE_STRIP_OUT:-$here/out}
tool=${ALPINE_STRIP_BIN:-$out/strip-x86_64}
[ -f "$tool" ] || skip "$tool is missing (make build)"
archive=$out/alpine-strip.oci.tar
[ -f "$archive" ] || skip "$archive is missing (make image)"
# Debian's own client drives BuildKit without the buildx plugin; a newer one may come first.
docker_cli=/usr/bin/docker
[ -x "$docker_cli" ] && command -v dockerd >/dev/null || skip "docker.io is not installed (make deps)"

source "$here/tests/platform.sh"   # $ARCHS, platform ARCH

work=$(mktemp -d /tmp/alpine-strip-e2e.XXXXXX)
B() { buildah --root "$work/root" --runroot "$work/run" --storage-driver vfs "$@"; }
P() { CONTAINERS_CONF=$work/containers.conf podman --root "$work/proot" --runroot "$work/prun" --storage-driver vfs "$@"; }
D() { "$docker_cli" -H "unix://$work/docker.sock" "$@"; }
cleanup() {
  B rm --all >/dev/null 2>&1 || true
  P rm --all --force >/dev/null 2>&1 || true
  for daemon in dockerd registry; do
    [ -f "$work/$daemon.pid" ] && kill "$(cat "$work/$daemon.pid")" 2>/dev/null || true
  done
  for _ in $(seq 50); do [ -e "$work/dockerd.pid" ] || break; sleep 0.2; done
  umount -R "$work/docker-data" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
quietly() { "$@" >/dev/null 2>&1; }
fails() { ! quietly "$@"; }
# Facts about an unpacked image (tests/e2e/layers.py); $tool_bin is the binary whose bytes count
# as the tool's (its own architecture's in the cross-platform block).
facts() { python3 "$here/tests/e2e/layers.py" "$1" "${tool_bin:-$tool}"; }
syft_bin=$(command -v pyenv >/dev/null && pyenv which syft 2>/dev/null || command -v syft)
export SYFT_CHECK_FOR_APP_UPDATE=false

echo "e2e: compiling the stand-in app"
rustc -O -C panic=abort -C strip=symbols --target x86_64-unknown-linux-musl "$here/tests/e2e/hello.rs" -o "$work/hello"
for ex in plain app server smallest app-entrypoint; do
  ctx=$work/ctx-$ex
  cp -r "$here/docker/examples/$ex" "$ctx"
  case $ex in
    app) cp "$work/hello" "$ctx/app-1.2" ;;
    server) cp "$work/hello" "$ctx/server" ;;
  esac
done

# --- the registry ----------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=localhost:$port
registry_version=$(docker-registry --version | awk '{print $3}')
echo; echo "e2e: == registry: docker-registry $registry_version on $reg, make publish, the Alpine base =="
printf '%s\n' 'version: 0.1' 'log: {accesslog: {disabled: false}}' \
  "storage: {filesystem: {rootdirectory: $work/registry}}" "http: {addr: '127.0.0.1:$port'}" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
echo $! >"$work/registry.pid"
for _ in $(seq 50); do curl -sf "http://$reg/v2/" >/dev/null && break; sleep 0.2; done
curl -sf "http://$reg/v2/" >/dev/null || { cat "$work/registry.log"; bad "registry: it did not start"; exit 1; }
# Plain HTTP on loopback, for this test's own engines only (buildah and podman read this
# file through the variable, skopeo is told --tls-verify=false, the test's dockerd gets
# --insecure-registry).
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" >"$work/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf
# podman's defaults ask for limits this machine does not grant; its runtime is runc.
printf '%s\n' '[containers]' 'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]' \
  '[engine]' 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' >"$work/containers.conf"

check "tool archive: SHA256SUMS verifies the binaries and the archive" \
  bash -c "cd '$out' && sha256sum -c --quiet SHA256SUMS"
expected_platforms=$(for a in $ARCHS; do platform "$a"; done | sort)
check "tool archive: its index lists the eight platforms" \
  diff -u <(echo "$expected_platforms") <(python3 "$here/tests/e2e/platforms.py" "$archive")
TLS_VERIFY=false bash "$here/tests/publish.sh" "$archive" "$reg/alpine-strip:e2e" | tee "$work/publish.txt"
digest=$(sed -n 's/^publish: .*@//p' "$work/publish.txt")
tool_tag=$reg/alpine-strip:e2e
tool_digest=$reg/alpine-strip@$digest
skopeo inspect --tls-verify=false --raw "docker://$tool_tag" >"$work/list.json"
check "registry: the pushed list has the digest make publish printed ($digest)" \
  test "sha256:$(sha256sum <"$work/list.json" | cut -d' ' -f1)" = "$digest"
check "registry: the list pulled back names the eight platforms" \
  diff -u <(echo "$expected_platforms") <(python3 "$here/tests/e2e/platforms.py" "$work/list.json")

# The base: the official minirootfs of each architecture, one list, pushed beside the tool.
base=$reg/alpine:3.20
B manifest create localhost/alpine-list >/dev/null
for arch in $ARCHS; do
  IFS=/ read -r os cpu variant <<<"$(platform "$arch")"
  plat=(--os "$os" --arch "$cpu" ${variant:+--variant "$variant"})
  c=$(B from "${plat[@]}" scratch)
  B add "$c" "$ALPINE_FIXTURES/alpine-minirootfs-3.20.3-$arch.tar.gz" / >/dev/null
  B config "${plat[@]}" "$c"
  B commit -q "$c" "localhost/alpine:$arch" >/dev/null
  B rm "$c" >/dev/null
  B manifest add "${plat[@]}" localhost/alpine-list "localhost/alpine:$arch" >/dev/null
done
B manifest push -q --all --tls-verify=false localhost/alpine-list "docker://$base"
check "registry: the Alpine 3.20.3 base lists the eight platforms" \
  diff -u <(echo "$expected_platforms") <(skopeo inspect --tls-verify=false --raw "docker://$base" | python3 "$here/tests/e2e/platforms.py" -)

# Registry requests since a mark (pulls of one block: each engine has its own storage).
mark() { wc -l <"$work/registry.log" >"$work/registry.mark"; }
pulled() {
  awk -v from="$(cat "$work/registry.mark")" -v re="\"(GET|HEAD) /v2/$1" \
    'NR > from && $0 ~ re { found = 1 } END { exit !found }' "$work/registry.log"
}

# The engine functions each block defines:
#   build IMG TARGET CTX [ARGS...]  build a target of an example (log on stdout), tool and base
#                                   from the registry ($tool_ref, $base)
#   rootfs IMG DIR                  the image's files in DIR
#   run IMG [ARGS...]               run the image (its ENTRYPOINT, or ARGS as the command)
#   no_shell IMG                    true when /bin/sh does not run in the image
#   layers IMG DIR                  the image unpacked (OCI layout or docker save) in DIR
#   sbom DIR                        Syft's JSON of the image `layers` unpacked in DIR
#   image_exists IMG                true when the engine has the image
#   arch_of IMG                     its platform, os/arch[/variant] (cross-platform engines)
tool_ref=$tool_tag

# Syft's apk inventory of the image against the packages whose files are in it ($1 name,
# $2 its files, $3 its layers).
inventory() {
  local inv rc=0
  sbom "$3" >"$work/sbom.json" || { bad "$1: Syft could not read the image"; return; }
  inv=$(python3 "$here/tests/e2e/inventory.py" "$2" "$work/sbom.json") || rc=$?
  check "$1: Syft lists what is there: $inv" test "$rc" = 0
}
# The debug twin's layers ($1 facts) are the lowest of the stripped image's ($2), which has more.
shares_lower_layers() {
  local lower upper
  lower=$(awk '$1=="diffid"{print $3}' "$1"); upper=$(awk '$1=="diffid"{print $3}' "$2")
  [ -n "$lower" ] && [ "$(head -n "$(wc -l <<<"$lower")" <<<"$upper")" = "$lower" ] &&
    [ "$(wc -l <<<"$upper")" -gt "$(wc -l <<<"$lower")" ]
}

# Checks one built image of example $1 in form $2 (image $3, build log $4, name $5).
check_image() {
  local ex=$1 form=$2 img=$3 log=$4 name="$5" m=$work/rootfs
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
  inventory "$name" "$m" "$work/layers"
  local out f0=$failed; out=$(run "$img" 2>&1) || true
  case $ex in
    plain|smallest) check "$name: ENTRYPOINT getent resolves localhost" grep -q localhost <<<"$out" ;;
    app) check "$name: ENTRYPOINT app runs" grep -q 'hello from /usr/local/bin/app' <<<"$out" ;;
    server) check "$name: ENTRYPOINT server runs as uid 101" grep -qP 'hello from /usr/local/bin/server; Uid:\t101\b' <<<"$out" ;;
  esac
  [ "$failed" = "$f0" ] || sed -n '1,5s/^/     | /p' <<<"$out"
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
  case $form in
    copy|mount) check "$name: its debug twin shares its lower layers" \
      shares_lower_layers "$work/debug-facts-$ex" "$work/facts" ;;
  esac
}

# Builds and checks every example in the forms given.
examples() {
  local ex form img
  for ex in plain app server smallest; do
    # The debug twin: the unstripped stage, its layers the base of copy and mount.
    img=localhost/e2e-$ex-debug
    if ! build "$img" debug "$work/ctx-$ex" >"$work/build.log" 2>&1; then
      bad "$label $ex/debug: build"; cat "$work/build.log"; continue
    fi
    rm -rf "$work/layers"; mkdir "$work/layers"; layers "$img" "$work/layers"
    facts "$work/layers" >"$work/debug-facts-$ex"
    awk '$1=="size"{print $2}' "$work/debug-facts-$ex" >"$work/base-size-$ex"
    for form in "$@"; do
      img=localhost/e2e-$ex-$form
      if ! build "$img" "$form" "$work/ctx-$ex" >"$work/build.log" 2>&1; then
        bad "$label $ex/$form: build"; cat "$work/build.log"; continue
      fi
      ok "$label $ex/$form: build"
      check_image "$ex" "$form" "$img" "$work/build.log" "$label $ex/$form"
    done
  done
}

# The tool named by digest (`COPY --from=REGISTRY/alpine-strip@sha256:...`), the plain example.
by_digest() {
  local img=localhost/e2e-plain-digest name="$label plain/$1 by digest"
  if ! tool_ref=$tool_digest build "$img" "$1" "$work/ctx-plain" --no-cache >"$work/build.log" 2>&1; then
    bad "$name: build"; cat "$work/build.log"; return
  fi
  ok "$name: build from $tool_digest"
  check_image plain "$1" "$img" "$work/build.log" "$name"
}

# The entrypoint checks of issue #18, in one place (docker/examples/app-entrypoint): the strip
# names the scripts it leaves dead, refuses with --entrypoint when that entrypoint would die,
# and with --prune --entrypoint keeps what an exec-form entrypoint loads. Forms: $@.
app_entrypoint() {
  local ctx=$work/ctx-app-entrypoint img form out m=$work/rootfs name
  for form in "$@"; do
    img=localhost/e2e-entry-$form name="$label app-entrypoint/$form"
    if ! build "$img" "$form" "$ctx" >"$work/build.log" 2>&1; then
      bad "$name: build"; cat "$work/build.log"; continue
    fi
    ok "$name: build"
    for script in /docker-entrypoint.sh /docker-entrypoint.d/10-listen.sh; do
      check "$name: the build log names $script (missing-interpreter)" \
        grep -q "missing-interpreter $script" "$work/build.log"
    done
    check "$name: the build log names the #!/usr/bin/env tool (missing-interpreter)" \
      grep -Eq 'missing-interpreter (/usr/local/bin/tool|/opt/tool/tool.js)' "$work/build.log"
    check "$name: its ENTRYPOINT /docker-entrypoint.sh no longer runs" fails run "$img"
    rm -rf "$m" "$work/layers"; mkdir "$m" "$work/layers"; rootfs "$img" "$m"; layers "$img" "$work/layers"
    inventory "$name" "$m" "$work/layers"
  done

  name="$label app-entrypoint/guarded"
  if build localhost/e2e-entry-guarded guarded "$ctx" >"$work/build.log" 2>&1; then
    bad "$name: the build succeeded with a dead --entrypoint"
  else
    check "$name: the build fails: the strip exits 4" \
      grep -Eq 'exit status 4|exit code: 4|returned a non-zero code: 4' "$work/build.log"
    # (The classic builder's log also holds the stages before the target: the last line counts.)
    check "$name: the strip's last line names /docker-entrypoint.sh" \
      grep -q /docker-entrypoint.sh <<<"$(grep 'alpine-strip: ' "$work/build.log" | tail -n 1)"
  fi
  check "$name: no image was produced" fails image_exists localhost/e2e-entry-guarded

  name="$label app-entrypoint/tls"
  img=localhost/e2e-entry-tls
  if ! build "$img" tls "$ctx" >"$work/build.log" 2>&1; then
    bad "$name: build (--prune --entrypoint /usr/local/bin/tlsclient)"; cat "$work/build.log"; return
  fi
  ok "$name: build (--prune --entrypoint /usr/local/bin/tlsclient)"
  rm -rf "$m" "$work/layers"; mkdir "$m" "$work/layers"; rootfs "$img" "$m"; layers "$img" "$work/layers"
  out=$(run "$img" 2>&1) || true
  check "$name: tlsclient loads its libraries" fails grep -q 'Error loading shared library' <<<"$out"
  check "$name: and runs (its usage)" grep -q 'usage: /usr/local/bin/tlsclient' <<<"$out"
  for p in lib/libssl.so.3 lib/libcrypto.so.3; do
    check "$name: /$p stayed" test -f "$m/$p"
  done
  check "$name: /bin/sh does not run" no_shell "$img"
  inventory "$name" "$m" "$work/layers"
}

# One engine's block: every example in the forms given ($@), the tool pulled from the registry
# by tag, then by digest, and the entrypoint checks.
engine_block() {
  mark
  examples "$@"
  check "$label the tool came from the registry (/v2/alpine-strip/manifests/e2e)" pulled alpine-strip/manifests/e2e
  check "$label so did the base (/v2/alpine/manifests/3.20)" pulled alpine/manifests/3.20
  by_digest "${2:-$1}"
  app_entrypoint "${@:1:2}"
}

# The engines, each a set of the functions above.
buildah_engine() {
  build() {
    B bud --layers --isolation chroot --build-arg "BASE=$base" --build-arg "TOOL=$tool_ref" \
      --target "$2" -t "$1" "${@:4}" "$3"
  }
  rootfs() {
    local c m; c=$(B from "$1"); m=$(B mount "$c")
    cp -a "$m/." "$2"; B umount "$c" >/dev/null; B rm "$c" >/dev/null
  }
  run() {
    local cmd; mapfile -t cmd < <(B inspect --type image "$1" | python3 -c 'import json, sys
c = json.load(sys.stdin)["OCIv1"]["config"]; print("\n".join((c.get("Entrypoint") or []) + (c.get("Cmd") or [])))')
    run_cmd "$1" "${cmd[@]}"
  }
  run_cmd() { local c rc=0; c=$(B from "$1"); B run --isolation chroot "$c" -- "${@:2}" || rc=$?; B rm "$c" >/dev/null; return $rc; }
  no_shell() { ! run_cmd "$1" /bin/sh -c true >/dev/null 2>&1; }
  layers() { B push -q -D "$1" "oci:$2" >/dev/null; }
  sbom() { "$syft_bin" scan -q "oci-dir:$1" -o json; }
  image_exists() { B inspect --type image "$1" >/dev/null 2>&1; }
  arch_of() { B inspect --type image --format '{{.OCIv1.OS}}/{{.OCIv1.Architecture}}{{if .OCIv1.Variant}}/{{.OCIv1.Variant}}{{end}}' "$1"; }
}
podman_engine() {
  build() {
    P build --layers --network none --build-arg "BASE=$base" --build-arg "TOOL=$tool_ref" \
      --target "$2" -t "$1" "${@:4}" "$3"
  }
  rootfs() { local c; c=$(P create "$1"); P export "$c" | tar -x -C "$2"; P rm "$c" >/dev/null; }
  run() { P run --rm --network none "$@"; }
  no_shell() { ! P run --rm --network none --entrypoint /bin/sh "$1" -c true >/dev/null 2>&1; }
  layers() { P push -q "$1" "oci:$2" >/dev/null; }
  sbom() { "$syft_bin" scan -q "oci-dir:$1" -o json; }
  image_exists() { P image exists "$1"; }
}
# $1: 1 for BuildKit, 0 for the classic builder.
docker_engine() {
  buildkit=$1
  # The classic builder colours a step's stderr in pieces (ESC[91m): the log without them.
  build() {
    DOCKER_BUILDKIT=$buildkit D build --progress plain --network none --build-arg "BASE=$base" \
      --build-arg "TOOL=$tool_ref" --target "$2" -t "$1" "${@:4}" "$3" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
  }
  rootfs() { local c; c=$(D create "$1"); D export "$c" | tar -x -C "$2"; D rm "$c" >/dev/null; }
  run() { D run --rm --network none "$@"; }
  no_shell() { ! D run --rm --network none --entrypoint /bin/sh "$1" -c true >/dev/null 2>&1; }
  layers() { D save "$1" >"$2/image.tar"; tar -x -C "$2" -f "$2/image.tar"; }
  sbom() { "$syft_bin" scan -q "docker-archive:$1/image.tar" -o json; }
  image_exists() { D image inspect "$1" >/dev/null 2>&1; }
  arch_of() { D image inspect --format '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}' "$1"; }
}

# --- buildah ---------------------------------------------------------------------------------
buildah_engine
label="buildah $(buildah --version | awk '{print $3}'):"
echo; echo "e2e: == $label vfs, chroot isolation, from $reg: copy, mount, flat =="
engine_block copy mount flat

echo; echo "e2e: == reproducible: the plain example built twice with buildah --timestamp 0 =="
for n in 1 2; do
  build "localhost/repro-$n" mount "$work/ctx-plain" --timestamp 0 --no-cache >/dev/null 2>&1
  B images --no-trunc --quiet "localhost/repro-$n" >"$work/repro-$n"
done
check "reproducible: the same image ID twice ($(cut -c1-19 "$work/repro-1"))" cmp -s "$work/repro-1" "$work/repro-2"

# --- podman ----------------------------------------------------------------------------------
podman_engine
label="podman $(podman --version | awk '{print $3}'):"
echo; echo "e2e: == $label vfs, rootful (runc), --network none, from $reg: copy, mount, flat =="
engine_block copy mount flat

# --- docker ----------------------------------------------------------------------------------
mkdir -p "$work/docker-data" "$work/docker-exec"
dockerd --storage-driver=vfs --iptables=false --ip-masq=false --bridge=none --insecure-registry "$reg" \
  --data-root "$work/docker-data" --exec-root "$work/docker-exec" \
  -H "unix://$work/docker.sock" --pidfile "$work/dockerd.pid" >"$work/dockerd.log" 2>&1 &
for _ in $(seq 100); do D info >/dev/null 2>&1 && break; sleep 0.2; done
D info >/dev/null 2>&1 || { cat "$work/dockerd.log"; bad "dockerd: it did not start"; exit 1; }
version=$(D version --format '{{.Server.Version}}')

# The container signal the strip sees as a RUN step (-v names it).
signal() {
  mkdir -p "$work/signal"
  printf '%s\n' 'ARG BASE' 'ARG TOOL' 'FROM ${TOOL} AS tool' 'FROM ${BASE} AS signal' \
    'COPY --from=tool /strip /strip' 'RUN ["/strip", "-v", "--no-audit"]' >"$work/signal/Dockerfile"
  # Up to three tries: the classic builder may drop a quick step's output (see check_image).
  for _ in 1 2 3; do
    build localhost/e2e-signal signal "$work/signal" --no-cache >"$work/signal.log" 2>&1 || true
    grep -q "container detected: $1" "$work/signal.log" && break
  done
  check "$label the strip sees: container detected: $1" grep -q "container detected: $1" "$work/signal.log"
}

docker_engine 1
label="docker $version BuildKit:"
echo; echo "e2e: == $label dockerd of its own, --network none, from $reg: copy, mount, flat =="
engine_block copy mount flat
signal "running as PID 1"
# Life without a shell: exec forms and --entrypoint.
check "$label docker run --entrypoint runs another program of the stripped image" \
  grep -q localhost <(D run --rm --network none --entrypoint /usr/bin/getent localhost/e2e-plain-flat hosts localhost)
check "$label server/flat: HEALTHCHECK is exec form (no shell)" test \
  "$(D inspect --format '{{json .Config.Healthcheck.Test}}' localhost/e2e-server-flat)" = '["CMD","/usr/local/bin/server","--health"]'
check "$label server/flat: its health command runs" \
  grep -q 'hello from /usr/local/bin/server' <(D run --rm --network none localhost/e2e-server-flat --health)

docker_engine 0
label="docker $version classic builder:"
classic=1
echo; echo "e2e: == $label from $reg: copy (RUN --mount needs BuildKit: the mount and flat forms are BuildKit's) =="
engine_block copy
signal "/.dockerenv"
if build localhost/e2e-classic-mount mount "$work/ctx-plain" >"$work/build.log" 2>&1; then
  bad "$label the mount form built without BuildKit"
else
  check "$label the mount form is refused without BuildKit, as documented" grep -qi 'mount' "$work/build.log"
fi
classic=

# --- cross-platform --------------------------------------------------------------------------
# binfmt_misc with qemu-user-static's interpreters (flag F: opened now, so they run in any
# root); 386 runs natively when the kernel has IA-32 emulation, else through qemu-i386.
echo; echo "e2e: == cross-platform: plain (copy) for the eight platforms, from $reg, under qemu =="
binfmt=/proc/sys/fs/binfmt_misc
qemus="aarch64 arm ppc64le riscv64 s390x"
register() {
  [ -e "$binfmt/qemu-$1" ] && return
  if [ "$1" = i386 ]; then
    printf '%s' ':qemu-i386:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F'
  else
    cat "/usr/lib/binfmt.d/qemu-$1.conf"
  fi >"$binfmt/register"
}
mountpoint -q "$binfmt" || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || true
if [ -w "$binfmt/register" ]; then
  for q in $qemus; do register "$q" 2>/dev/null || true; done
  "$out/strip-x86" --version >/dev/null 2>&1 || register i386 2>/dev/null || true
fi
xplat=yes
for q in $qemus; do
  check "binfmt_misc: qemu-$q registered with flag F" grep -q '^flags: .*F' "$binfmt/qemu-$q" || xplat=
done
check "binfmt_misc: linux/386 runs (natively or through qemu-i386)" quietly "$out/strip-x86" --version || xplat=
[ -n "$xplat" ] || skip "binfmt_misc: qemu-user-static is not registered (mount -t binfmt_misc binfmt_misc $binfmt)"

# Builds plain's copy target for every platform (one image each) and checks each as the amd64
# one is, the tool's bytes in its layer being its own architecture's binary from the registry.
cross_platform() {
  local arch img p
  for arch in $ARCHS; do
    p=$(platform "$arch") img=localhost/e2e-xplat-$arch
    # --no-cache: the amd64 build would reuse the amd64 block's layers, and show no strip.
    if ! build "$img" copy "$work/ctx-plain" --platform "$p" --no-cache >"$work/build.log" 2>&1; then
      bad "$label $p: build"; cat "$work/build.log"; continue
    fi
    ok "$label $p: build"
    check "$label $p: the image is for $p" test "$(arch_of "$img")" = "$p"
    build "$img-debug" debug "$work/ctx-plain" --platform "$p" >"$work/debug.log" 2>&1 ||
      { bad "$label $p: debug build"; cat "$work/debug.log"; continue; }
    rm -rf "$work/layers"; mkdir "$work/layers"; layers "$img-debug" "$work/layers"
    facts "$work/layers" >"$work/debug-facts-plain"
    tool_bin=$out/strip-$arch check_image plain copy "$img" "$work/build.log" "$label $p plain/copy"
  done
}
buildah_engine
label="buildah $(buildah --version | awk '{print $3}') --platform:"
cross_platform
docker_engine 1
label="docker $version BuildKit --platform:"
cross_platform

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
