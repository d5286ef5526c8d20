//! alpine-strip: turns an Alpine root distroless in one process, then removes itself.
//!
//! The layers, from the bottom (private to the crate; `python3 tests/layers.py` checks that no
//! module depends on another in a cycle and that `unsafe` stays in `os`):
//! - `os`: the only `unsafe` (safe wrappers of the few syscalls nix and std lack), signals;
//! - `root`: the root being stripped, held as a directory descriptor: paths resolved inside it,
//!   confined opens and reads, folder listings, the walk of the whole root;
//! - `format`: readers of untrusted bytes found in the root (ELF, `#!`, tar, gzip, busybox's
//!   bytes);
//! - `apkdb`: apk's state (the installed database, world, triggers, scripts, the lock,
//!   `--prune`'s closure);
//! - `stage`: the pipeline's stages, scan and discover -> plan -> apply -> audit, and whether
//!   the image's programs will still start; `guard` refuses to strip a host.
//!
//! The public surface, for `main.rs` and the tests: [`app`] decides what a run does, then does
//! it; [`cli`] reads the command line into a mode; [`report`] renders the outcome; [`error`] is
//! every failure with its path and the exit statuses; `fuzzing` (hidden) holds the entry points of the fuzz targets in `tests/fuzz`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

// The public surface: what `main.rs`, the integration tests and the fuzz targets use.
pub mod app;
pub mod cli;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod report;
pub use os::interrupt::Held;

// Private to the crate: the layers below.
mod apkdb;
mod format;
mod guard;
mod os;
mod root;
mod stage;
