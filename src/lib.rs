//! alpine-strip: turns an Alpine root distroless in one process, then removes itself.
//!
//! The layers, from the bottom:
//! - [`os`]: the only `unsafe` (syscall wrappers, the binary's allocator);
//! - [`root`]: the root being stripped: paths resolved inside it, confined reads, folder
//!   listings, the walk of the whole root;
//! - [`format`]: readers of untrusted bytes found in the root (ELF, `#!`);
//! - [`apkdb`]: apk's state (the installed database, world, the lock, `--prune`'s closure);
//! - [`stage`]: the pipeline's stages, scan and discover -> plan -> apply -> audit;
//! - [`app`] decides what a run does, then does it; [`guard`] refuses to strip a host, [`cli`] reads the
//!   command line, [`report`] renders the outcome, [`error`] is every failure with its path.
//! - `fuzzing` (hidden) holds the entry points of the fuzz targets in `tests/fuzz`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod apkdb;
pub mod app;
pub mod cli;
pub mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod os;
pub mod report;
pub mod root;
pub mod stage;
