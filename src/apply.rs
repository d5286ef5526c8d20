//! Applying a plan: check that every folder can be written, then remove in order.
//!
//! The check comes first so that the usual failures (not root, a read-only filesystem, an
//! immutable folder) stop the run before anything is removed. The running binary is the one
//! removal allowed to fail: under `RUN --mount=type=bind,...` it is a read-only mount point,
//! and it is then left in place with a note.

use std::io;
use std::path::PathBuf;

use nix::unistd::{AccessFlags, access};

use crate::error::{Error, Result};
use crate::plan::{Kind, Plan, Step};
use crate::root::{Root, is_absent};

/// A path the strip left in place, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub path: PathBuf,
    pub reason: String,
}

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Applied {
    pub removed: Vec<Step>,
    pub skipped: Vec<Skip>,
}

/// Fails, naming the path and the OS error, unless every folder the plan writes to is writable
/// and no file it removes is immutable or append-only (`chattr +i`/`+a`; such a folder fails
/// the `access` check already).
pub fn preflight(root: &Root, plan: &Plan) -> Result<()> {
    for dir in plan.folders() {
        let host = root.host(dir);
        access(&host, AccessFlags::W_OK)
            .map_err(|errno| Error::io("cannot remove entries", &host, io::Error::from(errno)))?;
    }
    let mut removed = plan.steps.iter().filter(|s| s.kind != Kind::SelfExe);
    if let Some(s) = removed.find(|s| s.item.meta.pinned) {
        return Err(Error::io(
            "cannot remove (immutable or append-only, see lsattr)",
            &root.host(&s.item.path),
            io::Error::from_raw_os_error(nix::libc::EPERM),
        ));
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
            Err(e) if step.kind == Kind::SelfExe && is_unremovable_mount(&e) => {
                done.skipped.push(Skip {
                    path: step.item.path.clone(),
                    reason: format!(
                        "left in place: it is mounted in (RUN --mount), not in the image ({e})"
                    ),
                });
            }
            Err(e) => return Err(Error::io("cannot remove", &root.host(&step.item.path), e)),
        }
    }
    Ok(done)
}

/// Errors that mean "this is a bind mount or on a read-only filesystem".
fn is_unremovable_mount(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EBUSY) | Some(nix::libc::EROFS) | Some(nix::libc::EPERM)
    )
}
