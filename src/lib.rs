//! alpine-strip: turns an Alpine root distroless in one process, then removes itself.
//!
//! The pipeline, one module per stage:
//! [`scan`] and [`discover`] (inside the root, through [`root`], [`resolve`] and [`read`]) -> [`plan`] -> [`apply`]
//! -> [`apkdb`] (keep the apk database true) -> [`audit`] -> [`report`]. [`app`] strings
//! them together; [`guard`] refuses to strip a host; [`cli`] reads the command line; [`alloc`] is the
//! binary's allocator.

pub mod alloc;
pub mod apkdb;
pub mod app;
pub mod apply;
pub mod audit;
pub mod cli;
pub mod dir;
pub mod discover;
pub mod elf;
pub mod error;
pub mod guard;
pub mod hash;
pub mod lock;
pub mod plan;
pub mod read;
pub mod report;
pub mod resolve;
pub mod root;
pub mod scan;
pub mod script;
pub mod sys;
pub mod walk;
