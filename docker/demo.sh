#!/usr/bin/env bash
# The main job: build the tool image and a stripped Alpine image with whatever engine this
# machine has (docker when a daemon answers, else buildah, else podman), then show the proof:
# image size before and after, and that /bin/sh no longer runs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${ALPINE_STRIP_BIN:-$here/out/strip-x86_64}
[ -f "$bin" ] || { echo "demo: $bin is missing: run make build" >&2; exit 1; }

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v buildah >/dev/null; then
  engine=buildah
elif command -v podman >/dev/null; then
  engine=podman
else
  echo "demo: no container engine: install docker, buildah or podman" >&2; exit 1
fi
echo "demo: engine: $engine"

ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$ctx/strip"
case $engine in
  docker)
    base=alpine:3.20
    build() { DOCKER_BUILDKIT=1 docker build -q "$@" >/dev/null; }
    size() { docker image inspect --format '{{.Size}}' "$1"; }
    run() { docker run --rm --entrypoint "$2" "$1" "${@:3}"; } ;;
  buildah|podman)
    if [ "$engine" = buildah ]; then
      E() { buildah --storage-driver vfs "$@"; }
      build() { E bud --layers --isolation chroot -q "$@" >/dev/null; }
      run() { local c; c=$(E from -q "$1"); E run --isolation chroot "$c" -- "${@:2}"; local rc=$?; E rm "$c" >/dev/null; return $rc; }
    else
      E() { podman "$@"; }
      build() { E build --layers -q "$@" >/dev/null; }
      run() { E run --rm --entrypoint "$2" "$1" "${@:3}"; }
    fi
    # Bytes of the image's layers (uncompressed), read from its OCI manifest.
    size() {
      rm -rf "$ctx/oci"; E push -q -D "$1" "oci:$ctx/oci" >/dev/null
      python3 -c 'import json,sys,os
d=sys.argv[1]; blob=lambda g: os.path.join(d,"blobs",*g.split(":"))
m=json.load(open(blob(json.load(open(d+"/index.json"))["manifests"][0]["digest"])))
print(sum(l["size"] for l in m["layers"]))' "$ctx/oci"
    }
    base=localhost/alpine:3.20
    if [ -n "${ALPINE_MINIROOTFS:-}" ] && ! E inspect "$base" >/dev/null 2>&1; then
      echo "demo: importing $ALPINE_MINIROOTFS as $base"
      if [ "$engine" = buildah ]; then
        c=$(E from scratch); E add "$c" "$ALPINE_MINIROOTFS" / >/dev/null; E commit -q "$c" "$base" >/dev/null; E rm "$c" >/dev/null
      else
        E import "$ALPINE_MINIROOTFS" "$base" >/dev/null
      fi
    elif ! E inspect "$base" >/dev/null 2>&1; then
      base=docker.io/library/alpine:3.20
    fi ;;
esac

echo "demo: building the tool image (FROM scratch, only /strip)"
build -f "$here/docker/Dockerfile.prebuilt" --build-arg BIN=strip -t localhost/alpine-strip "$ctx"
echo "demo: building docker/examples/plain from $base: the base stage, and the flat (stripped) one"
args=(--build-arg "BASE=$base" --build-arg TOOL=localhost/alpine-strip)
build "${args[@]}" --target base -t localhost/demo-alpine "$here/docker/examples/plain"
build "${args[@]}" --target flat -t localhost/demo-distroless "$here/docker/examples/plain"

before=$(size localhost/demo-alpine); after=$(size localhost/demo-distroless)
echo
echo "  image                         size of its layers (bytes, as stored)"
echo "  localhost/demo-alpine         $before"
echo "  localhost/demo-distroless     $after   ($(( (before - after) * 100 / before ))% smaller)"
echo
echo "demo: /bin/sh in the Alpine image:"
run localhost/demo-alpine /bin/sh -c 'echo "  a shell runs here"'
echo "demo: /bin/sh in the stripped image:"
if run localhost/demo-distroless /bin/sh -c 'echo "  a shell runs here"' >/dev/null 2>&1; then
  echo "  a shell still runs: FAILED"; exit 1
else
  echo "  no shell: /bin/sh does not run"
fi
echo "demo: the stripped image's entrypoint (getent hosts localhost):"
run localhost/demo-distroless /usr/bin/getent hosts localhost | sed 's/^/  /'
