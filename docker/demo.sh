#!/usr/bin/env bash
# The main job: build the tool image and a stripped Alpine image with whatever engine this
# machine has (docker when a daemon answers, else buildah, else podman), then show the proof, one
# row per image (the plain Alpine, the same stripped, the smallest: flattened, --prune): bytes of
# its files, its layers, the packages a scanner (Syft) lists, whether /bin/sh runs, and what its
# entrypoint prints.
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
    unpack() { docker save "$1" >"$2/image.tar"; tar -x -C "$2" -f "$2/image.tar"; }
    sbom() { syft scan -q "docker-archive:$1/image.tar" -o json; }
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
    unpack() { E push -q -D "$1" "oci:$2" >/dev/null; }
    sbom() { syft scan -q "oci-dir:$1" -o json; }
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
echo "demo: building docker/examples/plain (debug: unstripped; mount: stripped) and smallest (flat) from $base"
args=(--build-arg "BASE=$base" --build-arg TOOL=localhost/alpine-strip)
build "${args[@]}" --target debug -t localhost/demo-alpine "$here/docker/examples/plain"
build "${args[@]}" --target mount -t localhost/demo-stripped "$here/docker/examples/plain"
build "${args[@]}" --target flat -t localhost/demo-smallest "$here/docker/examples/smallest"

# One row: bytes of regular files over all layers, layers, Syft's apk packages, /bin/sh, entrypoint.
row() {
  local dir=$ctx/img-${1##*/} files layers packages shell entry
  rm -rf "$dir"; mkdir "$dir"; unpack "$1" "$dir"
  files=$(python3 "$here/tests/e2e/layers.py" "$dir" "$bin" | awk '$1=="size"{print $2}')
  layers=$(python3 "$here/tests/e2e/layers.py" "$dir" "$bin" | awk '$1=="layers"{print $2}')
  if command -v syft >/dev/null; then
    packages=$(SYFT_CHECK_FOR_APP_UPDATE=false sbom "$dir" |
      python3 -c 'import json,sys; print(sum(a["type"] == "apk" for a in json.load(sys.stdin)["artifacts"]))')
  else
    packages="(no syft)"
  fi
  if run "$1" /bin/sh -c true >/dev/null 2>&1; then shell=runs; else shell="does not run"; fi
  entry=$(run "$1" /usr/bin/getent hosts localhost 2>&1 | head -1 | tr -s ' ')
  printf '  %-24s %10s %7s %9s  %-13s %s\n' "$1" "$files" "$layers" "$packages" "$shell" "$entry"
}
echo
printf '  %-24s %10s %7s %9s  %-13s %s\n' image "files (B)" layers packages /bin/sh "entrypoint (getent hosts localhost)"
row localhost/demo-alpine
row localhost/demo-stripped
row localhost/demo-smallest
echo
echo "  files: bytes of regular files in all layers (a layer above cannot shrink the one below:"
echo "  flatten to shed them); packages: apk packages as Syft lists them, read from the image."
if run localhost/demo-smallest /bin/sh -c true >/dev/null 2>&1; then
  echo "demo: a shell still runs in the stripped image: FAILED"; exit 1
fi
