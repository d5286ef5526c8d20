#!/usr/bin/env bash
# Installs what building and testing need, idempotently: rustup components and targets, the
# pinned nightly for the size-tuned build, and (as root, with apt) buildah, qemu-user-static,
# strace and readelf.
set -euo pipefail
nightly=$(sed -n 's/^NIGHTLY *?= *//p' "$(dirname "$0")/../Makefile")

rustup -q component add clippy rustfmt
rustup -q target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl
if ! rustup run "$nightly" rustc --version >/dev/null 2>&1 ||
   ! rustup target list --installed --toolchain "$nightly" | grep -q x86_64-unknown-linux-musl; then
  rustup toolchain install "$nightly" --profile minimal -c rust-src -t x86_64-unknown-linux-musl
fi

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v strace >/dev/null || need+=(strace)
command -v readelf >/dev/null || need+=(binutils)
command -v unshare >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "deps: please install: ${need[*]}" >&2
  fi
fi
