//! Applying a plan: check that every folder can be written, then remove in order.
//!
//! The check comes first so that what would stop a removal half way (not root, a read-only
//! filesystem, an immutable or append-only folder or file) stops the run before anything is
//! removed; files mounted into the root are taken out of the plan before it. The running binary is the one
//! removal allowed to fail: under `RUN --mount=type=bind,...` it is a read-only mount point,
//! and it is then left in place with a note.

use std::path::PathBuf;

use crate::error::{Error, Pinned, Result, is_absent, is_unremovable_mount};
use crate::root::Root;
use crate::stage::plan::{Plan, Step, StepKind};

/// A path the strip left in place, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// The path inside the root.
    pub path: PathBuf,
    /// Why it stays, for people.
    pub reason: String,
}

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Applied {
    /// The removals made, in order.
    pub removed: Vec<Step>,
    /// What was left in place, and why.
    pub skipped: Vec<Skip>,
}

/// Takes out of the plan what is left in place on purpose, decided before any removal: files
/// mounted into the root (`/strip` under `RUN --mount`, a file the engine binds in), which are
/// not part of the image and cannot be unlinked (EBUSY), and the binary itself when it is
/// immutable.
pub fn left_in_place(plan: &mut Plan) -> Vec<Skip> {
    let mut skipped = Vec::new();
    plan.steps.retain(|s| {
        let reason = if s.item.meta.mount_root {
            MOUNTED
        } else if s.kind == StepKind::SelfExe && s.item.meta.pinned {
            "left in place: it is immutable or append-only (see lsattr)"
        } else {
            return true;
        };
        skipped.push(Skip {
            path: s.item.path.to_path_buf(),
            reason: reason.into(),
        });
        false
    });
    skipped
}

const MOUNTED: &str = "left in place: it is mounted in (RUN --mount), not in the image";

/// Fails, naming the path and the reason, unless every removal can be made: every folder the
/// plan writes to is writable (root, a read-write filesystem) and neither immutable nor
/// append-only (`chattr +i`/`+a`, which `access` does not see), and no file it removes is
/// immutable or append-only.
pub fn preflight(root: &mut Root, plan: &Plan) -> Result<()> {
    for dir in plan.folders() {
        let host = root.host(&dir);
        root.writable(&dir)
            .map_err(|e| Error::io("cannot remove entries", &host, e))?;
        if root.lstat(&dir)?.is_some_and(|m| m.pinned) {
            return Err(Error::Pinned {
                path: host,
                what: Pinned::Folder,
            });
        }
    }
    let mut removed = plan.steps.iter().filter(|s| s.kind != StepKind::SelfExe);
    if let Some(s) = removed.find(|s| s.item.meta.pinned) {
        return Err(Error::Pinned {
            path: root.host(&s.item.path),
            what: Pinned::File,
        });
    }
    Ok(())
}

/// Removes every planned path, in order.
pub fn apply(root: &mut Root, plan: &Plan) -> Result<Applied> {
    let mut done = Applied::default();
    for step in &plan.steps {
        match root.unlink(&step.item.path) {
            Ok(()) => done.removed.push(step.clone()),
            Err(e) if is_absent(&e) => {}
            Err(e) if step.kind == StepKind::SelfExe && is_unremovable_mount(&e) => {
                done.skipped.push(Skip {
                    path: step.item.path.to_path_buf(),
                    reason: format!("{MOUNTED} ({e})"),
                });
            }
            Err(e) => return Err(Error::io("cannot remove", &root.host(&step.item.path), e)),
        }
    }
    Ok(done)
}
