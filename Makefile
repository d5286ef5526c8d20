# alpine-strip: build, test, measure.
#   make demo   build the tool and strip a real Alpine image (the main job)
#   make test   everything CI checks (lint, unit + real-tree tests, aarch64, size, e2e)

NIGHTLY  ?= nightly-2026-05-20
X86      := x86_64-unknown-linux-musl
ARM      := aarch64-unknown-linux-musl
FIXTURES ?= $(abspath $(CURDIR)/../shared/fixtures)
# Empty when the fixtures are not there: the tests that need them then print SKIPPED.
ALPINE_MINIROOTFS         ?= $(wildcard $(FIXTURES)/alpine-minirootfs-3.20.3-x86_64.tar.gz)
ALPINE_MINIROOTFS_AARCH64 ?= $(wildcard $(FIXTURES)/alpine-minirootfs-3.20.3-aarch64.tar.gz)
ALPINE_ROOTFS_3_23        ?= $(wildcard $(FIXTURES)/alpine-rootfs-3.23.3-x86_64.tar.gz)
OUT      := $(CURDIR)/out
# The shipped x86_64 binary: nightly, std rebuilt for size, panics abort without a message.
SIZE_RUSTFLAGS := -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Crelocation-model=static -Cforce-unwind-tables=no -Clink-arg=-Wl,-z,noseparate-code,--build-id=none
BUILD_STD := -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size

export ALPINE_MINIROOTFS ALPINE_MINIROOTFS_AARCH64 ALPINE_ROOTFS_3_23
export ALPINE_STRIP_BIN         := $(OUT)/strip-x86_64
export ALPINE_STRIP_BIN_AARCH64 := $(OUT)/strip-aarch64

.PHONY: deps build build-x86_64 build-x86_64-stable build-aarch64 test lint unit size bench e2e demo clean

build: deps build-x86_64 build-x86_64-stable build-aarch64

# Toolchains, targets and packages (idempotent; apt only as root).
deps:
	@bash tests/deps.sh

build-x86_64:
	RUSTFLAGS="$(SIZE_RUSTFLAGS)" cargo +$(NIGHTLY) build --release $(BUILD_STD) \
		--target $(X86) --target-dir target/nightly
	@mkdir -p $(OUT) && cp target/nightly/$(X86)/release/alpine-strip $(OUT)/strip-x86_64

build-x86_64-stable:
	cargo build --release --target $(X86)
	@mkdir -p $(OUT) && cp target/$(X86)/release/alpine-strip $(OUT)/strip-x86_64-stable

build-aarch64:
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld cargo build --release --target $(ARM)
	@mkdir -p $(OUT) && cp target/$(ARM)/release/alpine-strip $(OUT)/strip-aarch64

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

unit: build
	cargo test

test: lint unit size e2e

size: build
	bash tests/size.sh $(OUT)

bench: build
	bash tests/bench.sh

e2e: build
	bash tests/e2e.sh

demo: deps build-x86_64
	bash docker/demo.sh

clean:
	cargo clean
	rm -rf $(OUT)
