//! Applying a plan: check that every folder can be written, then remove in order.
//!
//! The check comes first so that what would stop a removal half way (not root, a read-only
//! filesystem, an immutable or append-only folder or file) stops the run before anything is
//! removed; files mounted into the root are taken out of the plan before it. The running binary is the one
//! removal allowed to fail: under `RUN --mount=type=bind,...` it is a read-only mount point,
//! and it is then left in place with a note.

use std::path::PathBuf;

use crate::error::{Error, Pinned, Result, is_absent, is_unremovable_mount};
use crate::root::{InRoot, Root};
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
    /// The removals that failed, each with its error: what no check foresaw.
    pub failed: Vec<(InRoot, Error)>,
}

/// Takes out of the plan what is left in place on purpose, decided before any removal: what
/// is not part of the image — a file mounted into the root (`/strip` under `RUN --mount`, a
/// file the engine binds in), which cannot be unlinked (EBUSY), and every entry of a folder on
/// another mount than the root's (a host folder bound over `/usr/local/bin`: its removals would
/// be made on the host), said once per folder —, and the binary itself when it is immutable.
pub fn left_in_place(root: &mut Root, plan: &mut Plan) -> Result<Vec<Skip>> {
    let mut skipped = Vec::new();
    let Some(top) = root.lstat(&InRoot::default())? else {
        return Ok(skipped);
    };
    // The folders on another mount, each with how many removals it would have held.
    let mut elsewhere: Vec<(InRoot, usize)> = Vec::new();
    let mut kept = Vec::with_capacity(plan.steps.len());
    for s in std::mem::take(&mut plan.steps) {
        let folder = s.item.path.parent().unwrap_or_default();
        let away = match root.lstat(&folder)? {
            // A folder reached through another mount, or (where the kernel gives no mount
            // id) the top of one; the root itself may well be the top of its own.
            Some(m) => !m.same_mount(&top) || (m.mount_root && !folder.is_top()),
            None => false,
        };
        let reason = if away {
            match elsewhere.iter_mut().find(|(f, _)| *f == folder) {
                Some((_, n)) => *n += 1,
                None => elsewhere.push((folder, 1)),
            }
            continue;
        } else if s.item.meta.mount_root {
            MOUNTED
        } else if s.kind == StepKind::SelfExe && s.item.meta.pinned {
            "left in place: it is immutable or append-only (see lsattr)"
        } else {
            kept.push(s);
            continue;
        };
        skipped.push(Skip {
            path: s.item.path.to_path_buf(),
            reason: reason.into(),
        });
    }
    plan.steps = kept;
    for (folder, n) in elsewhere {
        skipped.push(Skip {
            path: folder.to_path_buf(),
            reason: format!(
                "left in place with the {n} entries the strip would remove: on another mount \
                 than the root's (mounted in, not part of the image)"
            ),
        });
    }
    Ok(skipped)
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

/// Removes every planned path, in order. A removal that fails (what no check foresaw: an I/O
/// error) does not stop the others: it is recorded with its error, and the run then writes
/// apk's state for what is really there.
pub fn apply(root: &mut Root, plan: &Plan) -> Applied {
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
            Err(e) => {
                let error = Error::io("cannot remove", &root.host(&step.item.path), e);
                done.failed.push((step.item.path.clone(), error));
            }
        }
    }
    done
}
