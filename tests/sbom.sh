#!/usr/bin/env bash
# make sbom: an SPDX SBOM of the tool image of `make image`, per platform (Syft reads one image,
# not a list): OUT/sbom/alpine-strip-ARCH.spdx.json, for a release beside SHA256SUMS.
set -euo pipefail
source "$(dirname "$0")/platform.sh"
out=${1:?usage: sbom.sh OUT_DIR}
for cmd in skopeo syft; do command -v $cmd >/dev/null || { echo "sbom: $cmd is not installed (make deps)"; exit 1; }; done
work=$(mktemp -d /tmp/alpine-strip-sbom.XXXXXX); trap 'rm -rf "$work"' EXIT
rm -rf "$out/sbom"; mkdir "$out/sbom"
for arch in $ARCHS; do
  IFS=/ read -r _ cpu variant <<<"$(platform "$arch")"
  skopeo copy -q --override-arch "$cpu" ${variant:+--override-variant "$variant"} \
    "oci-archive:$out/alpine-strip.oci.tar" "oci:$work/$arch:alpine-strip"
  SYFT_CHECK_FOR_APP_UPDATE=false syft scan -q "oci-dir:$work/$arch" --source-name alpine-strip \
    -o "spdx-json=$out/sbom/alpine-strip-$arch.spdx.json"
  echo "sbom: $out/sbom/alpine-strip-$arch.spdx.json ($(platform "$arch"))"
done
