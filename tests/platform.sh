# Sourced: Alpine's architecture names ($ARCHS) and the OCI platform of each in the official
# image, `platform ARCH` -> linux/amd64, linux/arm/v6, ...
ARCHS="x86_64 x86 aarch64 armhf armv7 ppc64le riscv64 s390x"
platform() {
  case $1 in
    x86_64) echo linux/amd64;; x86) echo linux/386;; aarch64) echo linux/arm64;;
    armhf) echo linux/arm/v6;; armv7) echo linux/arm/v7;; *) echo "linux/$1";;
  esac
}
