#!/usr/bin/env bash
# make publish: pushes the multi-platform tool image of `make image` (the eight images and their
# list) to a registry with skopeo, and prints the reference by tag and by digest, the two forms
# a Dockerfile can name in `COPY --from=`.
#   publish.sh ARCHIVE REGISTRY/NAME:TAG        TLS_VERIFY=false for a plain-HTTP registry
set -euo pipefail
archive=${1:?usage: publish.sh ARCHIVE REGISTRY/NAME:TAG} ref=${2:?usage: publish.sh ARCHIVE REGISTRY/NAME:TAG}
command -v skopeo >/dev/null || { echo "publish: skopeo is not installed (make deps)"; exit 1; }
digest=$(mktemp); trap 'rm -f "$digest"' EXIT
skopeo copy -q --all --dest-tls-verify="${TLS_VERIFY:-true}" --digestfile "$digest" \
  "oci-archive:$archive" "docker://$ref"
echo "publish: $ref"
echo "publish: ${ref%:*}@$(cat "$digest")"
