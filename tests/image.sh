#!/usr/bin/env bash
# make image: the tool image for the eight platforms of the official Alpine image, offline, from
# the binaries `make build` left in OUT: one FROM-scratch image per platform holding only /strip
# (buildah, vfs), one manifest list over them, pushed with every image as one OCI archive,
# OUT/alpine-strip.oci.tar. OUT/SHA256SUMS then covers the eight binaries and the archive.
set -euo pipefail
out=${1:?usage: image.sh OUT_DIR}
command -v buildah >/dev/null || { echo "image: buildah is not installed (make deps)"; exit 1; }
work=$(mktemp -d /tmp/alpine-strip-image.XXXXXX)
B() { buildah --root "$work/root" --runroot "$work/run" --storage-driver vfs "$@"; }
trap 'B rm --all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

archs="x86_64 x86 aarch64 armhf armv7 ppc64le riscv64 s390x"
list=localhost/alpine-strip:latest
B manifest create "$list" >/dev/null
for arch in $archs; do
  # Alpine's name -> the OCI platform (architecture, variant).
  variant=
  case $arch in
    x86_64) platform=amd64;; x86) platform=386;; aarch64) platform=arm64;;
    armhf) platform=arm variant=v6;; armv7) platform=arm variant=v7;;
    ppc64le|riscv64|s390x) platform=$arch;;
  esac
  c=$(B from --arch "$platform" ${variant:+--variant "$variant"} scratch)
  B copy --chmod 0755 "$c" "$out/strip-$arch" /strip >/dev/null
  B config --os linux --arch "$platform" ${variant:+--variant "$variant"} \
    --entrypoint '["/strip"]' --label org.opencontainers.image.title=alpine-strip "$c"
  B commit -q "$c" "localhost/alpine-strip:$arch" >/dev/null
  B manifest add --os linux --arch "$platform" ${variant:+--variant "$variant"} \
    "$list" "localhost/alpine-strip:$arch" >/dev/null
  echo "image: linux/$platform${variant:+/$variant} <- strip-$arch"
done
rm -f "$out/alpine-strip.oci.tar"
B manifest push -q --all "$list" "oci-archive:$out/alpine-strip.oci.tar"
(cd "$out" && sha256sum $(printf 'strip-%s ' $archs) alpine-strip.oci.tar > SHA256SUMS)
echo "image: $out/alpine-strip.oci.tar ($(stat -c %s "$out/alpine-strip.oci.tar") bytes); SHA256SUMS:"
cat "$out/SHA256SUMS"
