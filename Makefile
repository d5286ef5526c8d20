# alpine-strip: build, test, measure.
#   make demo   build the tool and strip a real Alpine image (the main job)
#   make test   everything CI checks (lint, unit + real-tree tests on eight architectures,
#               the real-tree tests again on the stock build, a short fuzz of every reader,
#               size, the multi-platform image, e2e)
#   make stock  the ordinary build: `cargo build --release --target x86_64-unknown-linux-musl`
#               on stable, as a packager or a contributor runs it (out/strip-x86_64-stock)
#   make fuzz   every fuzz target for FUZZ_SECONDS each (tests/README.md "Fuzzing")
SHELL    := /bin/bash
NIGHTLY  ?= nightly-2026-05-20
FIXTURES ?= $(abspath $(CURDIR)/../shared/fixtures)
# Empty when the fixtures are not there: the tests that need them are then ignored (and fail
# under CI=true, which .ci/run sets).
ALPINE_MINIROOTFS  ?= $(wildcard $(FIXTURES)/alpine-minirootfs-3.20.3-x86_64.tar.gz)
ALPINE_ROOTFS_3_23 ?= $(wildcard $(FIXTURES)/alpine-rootfs-3.23.3-x86_64.tar.gz)
ALPINE_FIXTURES    ?= $(wildcard $(FIXTURES))
OUT      := $(CURDIR)/out

# Alpine's architecture names and the Rust targets they are built for.
ARCHS := x86_64 x86 aarch64 armhf armv7 ppc64le riscv64 s390x
target_x86_64  := x86_64-unknown-linux-musl
target_x86     := i686-unknown-linux-musl
target_aarch64 := aarch64-unknown-linux-musl
target_armhf   := arm-unknown-linux-musleabihf
target_armv7   := armv7-unknown-linux-musleabihf
target_ppc64le := powerpc64le-unknown-linux-musl
target_riscv64 := riscv64gc-unknown-linux-musl
target_s390x   := s390x-unknown-linux-musl

# Every shipped binary: the pinned nightly rebuilds std for size (-Z build-std, so no
# prebuilt std is needed for any target), panics abort without a message, and zig links
# static musl (cargo-zigbuild; musl's own crt, hence -Clink-self-contained=no). Configuration
# only: the code is the same as the stock build's (`make stock`). Two settings are there for
# ppc64le's budget alone (tests/README.md, Size): src/os/no-unwind.ld drops the unwind tables of
# the C zig links (nothing unwinds; 6.2 KB) and -Zmir-opt-level=1 (0.6 KB).
SIZE_RUSTFLAGS := -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none \
	-Crelocation-model=static -Cforce-unwind-tables=no -Clink-self-contained=no \
	-Clink-arg=-Wl,--build-id=none -Clink-arg=-Wl,-T,$(CURDIR)/src/os/no-unwind.ld -Zmir-opt-level=1
BUILD_STD := -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
# 32-bit ARM kernels use 4 KiB pages; the linker's 64 KiB default padded those files by 64 KiB.
page_armhf := -Clink-arg=-Wl,-z,max-page-size=4096
page_armv7 := -Clink-arg=-Wl,-z,max-page-size=4096
# The flags go per target (CARGO_TARGET_<TRIPLE>_RUSTFLAGS): one cargo run builds all eight.
upper = $(shell echo '$(1)' | tr 'a-z-' 'A-Z_')
TARGET_RUSTFLAGS = $(foreach a,$(1),CARGO_TARGET_$(call upper,$(target_$(a)))_RUSTFLAGS='$(SIZE_RUSTFLAGS) $(page_$(a))')
ZIGBUILD = env $(call TARGET_RUSTFLAGS,$(1)) cargo +$(NIGHTLY) zigbuild --release --locked $(BUILD_STD) \
	$(foreach a,$(1),--target $(target_$(a))) --target-dir target/release-std

export ALPINE_MINIROOTFS ALPINE_ROOTFS_3_23 ALPINE_FIXTURES
export ALPINE_STRIP_BIN := $(OUT)/strip-x86_64
export ALPINE_STRIP_OUT := $(OUT)
# Real third-party musl programs from the npm registry (pinned by sha256), for tests/it/start.rs.
export ALPINE_NPM_CACHE ?= $(OUT)/npm

.PHONY: npm deps build stock image publish sbom man test lint unit unit-stock faults fuzz fuzz-ci size bench readme e2e demo clean

# Toolchains, targets and packages (idempotent; apt only as root).
deps:
	@bash tests/deps.sh

# One cargo run for the eight targets: cargo schedules them together on both cores.
build: deps
	@echo "build: $(ARCHS) (nightly $(NIGHTLY), build-std, zig)"
	@$(call ZIGBUILD,$(ARCHS))
	@mkdir -p $(OUT)
	@$(foreach a,$(ARCHS),cp target/release-std/$(target_$(a))/release/alpine-strip $(OUT)/strip-$(a);)
	@cd $(OUT) && sha256sum $(addprefix strip-,$(ARCHS)) > SHA256SUMS

# One architecture only (make build-x86_64): what `make demo` needs.
build-%: deps
	@echo "build: $* (nightly $(NIGHTLY), build-std, zig)"
	@$(call ZIGBUILD,$*)
	@mkdir -p $(OUT) && cp target/release-std/$(target_$*)/release/alpine-strip $(OUT)/strip-$*

# The ordinary build, as a packager (an APKBUILD), a contributor or a cross-compiling user runs
# it: stable Rust, the Cargo.toml release profile, Rust's own musl target and linker; no
# nightly, no zig. Not shipped; tested (unit-stock) to behave as the size-tuned one.
STOCK_TARGET := x86_64-unknown-linux-musl
stock:
	@echo "build: $(STOCK_TARGET) (stable, the ordinary cargo build)"
	@cargo build --release --locked --target $(STOCK_TARGET)
	@mkdir -p $(OUT) && cp target/$(STOCK_TARGET)/release/alpine-strip $(OUT)/strip-x86_64-stock

# The tool image for all eight platforms, offline, as one OCI archive (a manifest list).
image: build
	bash tests/image.sh $(OUT)

# Pushes the multi-platform archive (make publish REGISTRY=registry.example.org/me [TAG=0.1.0])
# and prints its digest. TLS_VERIFY=false for a plain-HTTP registry.
REGISTRY ?=
TAG      ?= $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
publish: image
	@test -n "$(REGISTRY)" || { echo "usage: make publish REGISTRY=HOST[:PORT][/PATH] [TAG=$(TAG)]"; exit 2; }
	bash tests/publish.sh $(OUT)/alpine-strip.oci.tar $(REGISTRY)/alpine-strip:$(TAG)

# An SBOM of the tool image per platform (Syft, SPDX JSON, in out/sbom/), for a release.
sbom: image
	bash tests/sbom.sh $(OUT)

# The man page, alpine-strip(1), from the table --help is made from (in the release).
man:
	@mkdir -p $(OUT)
	cargo run --quiet --locked --example usage -- man > $(OUT)/alpine-strip.1

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	python3 tests/layers.py
	# The docs: every link resolves, in the public surface and across the private layers.
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet --document-private-items

unit: build npm
	cargo test -- --skip fault_injection_at_every_step

# A failure injected at every step of a strip in turn (every removal, write, fsync and rename
# of the commit, strace -e inject), each checked to leave the tree untouched, stripped, or true
# to its database (tests/it/exact.rs); prints its count of injection points.
faults: build
	cargo test --test it fault_injection_at_every_step -- --nocapture

# The real-tree tests (chroot, RUN-step mounts, both fixture trees) again, on the stock build:
# the tests that run the binary, not the per-architecture ones (qemu, size-tuned only).
STOCK_TESTS := real_tree:: current_alpine:: run_step:: prune:: hostile:: guard::
unit-stock: stock
	ALPINE_STRIP_BIN=$(OUT)/strip-x86_64-stock cargo test --test it -- --skip _under_qemu $(STOCK_TESTS)

# The pinned npm tarballs the start checks are tested on (a no-op when they are there).
npm:
	bash tests/npm-fetch.sh $(ALPINE_NPM_CACHE)

# The closing line says whether the e2e ran: outside CI it skips (exit 0) when an engine or
# fixture is missing, and says why in out/e2e-skipped.txt; under CI=true a skip fails.
test: lint unit unit-stock faults fuzz-ci size e2e
	@if [ -s $(OUT)/e2e-skipped.txt ]; then \
	  echo "make test: passed WITHOUT the e2e (SKIPPED: $$(cat $(OUT)/e2e-skipped.txt))"; \
	else echo "make test: passed, e2e included"; fi

# The readers of untrusted bytes under libFuzzer (tests/fuzz, pinned nightly, cargo-fuzz):
# `make fuzz` for long, `fuzz-ci` briefly from the committed corpus (about 2 minutes with the
# fuzz build done).
FUZZ_SECONDS    ?= 300
FUZZ_CI_SECONDS ?= 20
fuzz: deps
	@mkdir -p $(OUT)
	set -o pipefail; bash tests/fuzz/run.sh $(FUZZ_SECONDS) | tee $(OUT)/fuzz.txt

fuzz-ci: deps
	bash tests/fuzz/run.sh $(FUZZ_CI_SECONDS)

size: build
	set -o pipefail; bash tests/size.sh $(OUT) | tee $(OUT)/size.txt
	@python3 tests/readme.py --check size

bench: build-x86_64
	set -o pipefail; bash tests/bench.sh | tee $(OUT)/bench.txt

# Copies the figures of the last `make size`, `make bench` and `make fuzz` into tests/README.md,
# and README.md's options table from the table --help is made from.
readme:
	python3 tests/readme.py

e2e: image
	bash tests/e2e.sh

demo: build-x86_64
	bash docker/demo.sh

clean:
	cargo clean
	rm -rf $(OUT)
