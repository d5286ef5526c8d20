#!/usr/bin/env bash
# Fetches the real third-party musl programs tests/start.rs uses, pinned by version and sha256,
# through npm into DIR (default: $ALPINE_NPM_CACHE, else target/npm): sharp's Node.js addon for
# linux-musl x64 and the libvips build it loads through DT_RPATH $ORIGIN/... . Idempotent: a
# tarball already there with the right checksum is not fetched again. CI can run it before
# `make test` to fetch while nothing else runs; the test calls it itself otherwise.
set -euo pipefail
dir=${1:-${ALPINE_NPM_CACHE:-$(dirname "$0")/../target/npm}}
mkdir -p "$dir"
cd "$dir"
pins=(
  "@img/sharp-linuxmusl-x64@0.35.5 img-sharp-linuxmusl-x64-0.35.5.tgz 577bca1fabb66b2d8d89fc203851280d2bf604130803382d229544f75bab2ea0"
  "@img/sharp-libvips-linuxmusl-x64@1.3.4 img-sharp-libvips-linuxmusl-x64-1.3.4.tgz c6312802c16511458a1cf3d990c3e2b9dba555932caf297025ba0bec34ee5cbe"
)
for pin in "${pins[@]}"; do
  read -r spec file sum <<<"$pin"
  if ! echo "$sum  $file" | sha256sum -c --quiet - >/dev/null 2>&1; then
    rm -f "$file"
    npm pack --silent "$spec" >/dev/null
    echo "$sum  $file" | sha256sum -c --quiet -
  fi
done
