//! The integration tests, one binary: each module is one concern, the helpers they share are
//! in `tests/common`. A test that needs a fixture carries
//! `#[cfg_attr(not(fixture_...), ignore = "needs ...")]` (the cfgs come from build.rs): without
//! the fixture it is reported as ignored, under `CI=true` it runs and fails on the missing input.
//!
//! To fold in another test file `tests/x.rs`: move it to `tests/it/x.rs`, add `mod x;` here,
//! drop its `mod common;` and write `use crate::common::*;`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod apk_state;
mod cli;
mod current_alpine;
mod exact;
mod glibc;
mod golden;
mod guard;
mod hostile;
mod libraries;
mod memory;
mod prune;
mod real_tree;
mod run_step;
mod screen;
mod shells;
mod start;
mod synthetic;
