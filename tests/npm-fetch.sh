#!/usr/bin/env bash
# Fetches the real third-party programs the start checks and the audit are tested on, pinned by
# version and sha256, into DIR (default: $ALPINE_NPM_CACHE, else target/npm): through npm,
# sharp's Node.js addon for linux-musl x64 and the libvips build it loads through DT_RPATH
# $ORIGIN/..., koffi 2.16.3 (prebuilt addons for Linux glibc and musl, FreeBSD, OpenBSD...);
# through apt, Debian's bash-static and mksh (static shells, one built with musl), and glibc
# (libc6, and libc-bin for glibc programs: Debian's /lib/x86_64-linux-gnu in an Alpine image); through pip,
# numpy's musllinux wheel (auditwheel's numpy.libs folder).
# Idempotent: a file already there with the right checksum is not fetched again. CI can run it
# before `make test` to fetch while nothing else runs; the tests call it themselves otherwise.
set -euo pipefail
dir=${1:-${ALPINE_NPM_CACHE:-$(dirname "$0")/../target/npm}}
mkdir -p "$dir"
cd "$dir"
pins=(
  "@img/sharp-linuxmusl-x64@0.35.5 img-sharp-linuxmusl-x64-0.35.5.tgz 577bca1fabb66b2d8d89fc203851280d2bf604130803382d229544f75bab2ea0"
  "@img/sharp-libvips-linuxmusl-x64@1.3.4 img-sharp-libvips-linuxmusl-x64-1.3.4.tgz c6312802c16511458a1cf3d990c3e2b9dba555932caf297025ba0bec34ee5cbe"
  "koffi@2.16.3 koffi-2.16.3.tgz c36416e8e02e6075d90a3fc607f44dc05993aabbb9d00968cb77b545d88c0959"
)
for pin in "${pins[@]}"; do
  read -r spec file sum <<<"$pin"
  if ! echo "$sum  $file" | sha256sum -c --quiet - >/dev/null 2>&1; then
    rm -f "$file"
    npm pack --silent "$spec" >/dev/null
    echo "$sum  $file" | sha256sum -c --quiet -
  fi
done
debs=(
  "bash-static=5.2.15-2+b13 bash-static_5.2.15-2+b13_amd64.deb f62e37fc6c2c14417f270323066b4c621db5dc151a26f7a1f58e3fc24111d1c8"
  "mksh=59c-28+deb12u1 mksh_59c-28+deb12u1_amd64.deb 32bcf95c03b4438a1adcaf989f844ebe542229f07b8b438d8bc3d9ec2b32d43c"
  "libc6=2.36-9+deb12u14 libc6_2.36-9+deb12u14_amd64.deb ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf"
  "libc-bin=2.36-9+deb12u14 libc-bin_2.36-9+deb12u14_amd64.deb e667401af91fad95f15b3ebd25d1abd8373fd18b00dc32219678413170544e84"
)
for pin in "${debs[@]}"; do
  read -r spec file sum <<<"$pin"
  if ! echo "$sum  $file" | sha256sum -c --quiet - >/dev/null 2>&1; then
    rm -f "$file"
    apt-get download -qq "$spec" 2>/dev/null
    echo "$sum  $file" | sha256sum -c --quiet -
  fi
done
wheel=numpy-2.2.6-cp312-cp312-musllinux_1_2_x86_64.whl
sum=fe27749d33bb772c80dcd84ae7e8df2adc920ae8297400dabec45f0dedb3f6de
if ! echo "$sum  $wheel" | sha256sum -c --quiet - >/dev/null 2>&1; then
  rm -f "$wheel"
  pip download -q --no-deps --platform musllinux_1_2_x86_64 --only-binary=:all: \
    --python-version 3.12 numpy==2.2.6 -d .
  echo "$sum  $wheel" | sha256sum -c --quiet -
fi
