//! Applying a plan: check that every folder can be written, then remove in order.
//!
//! The check comes first so that what would stop a removal half way (not root, a read-only
//! filesystem, an immutable or append-only folder or file) stops the run before anything is
//! removed; files mounted into the root are taken out of the plan before it. The running binary is the one
//! removal allowed to fail: under `RUN --mount=type=bind,...` it is a read-only mount point,
//! and it is then left in place with a note.

use std::path::{Path, PathBuf};

use crate::error::{Error, Pinned, Result, is_absent, is_unremovable_mount};
use crate::os::memory::{self, Phase};
use crate::os::sys;
use crate::root::{InRoot, Meta, Root};
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
    // The folders on another mount, each with how many removals it would have held.
    let mut elsewhere: Vec<(InRoot, usize)> = Vec::new();
    let mut kept = Vec::with_capacity(plan.steps.len());
    for s in std::mem::take(&mut plan.steps) {
        let folder = s.item.path.parent().unwrap_or_default();
        let away = root.mounted_in(&folder)?;
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

/// Fails (`EPERM`, naming the file) unless the run may take each of `entries` out of their
/// sticky folder (`m`, mode `+t`, as /tmp is): the kernel lets a process remove or rename over
/// an entry there only when it owns the folder or the entry, or has `CAP_FOWNER` (asked once,
/// into `fowner`; a build may drop it; where the kernel will not say, nothing is refused on a
/// guess).
fn sticky(root: &mut Root, entries: &[&InRoot], m: &Meta, fowner: &mut Option<bool>) -> Result<()> {
    let me = nix::unistd::geteuid().as_raw();
    if m.uid == me {
        return Ok(());
    }
    let allowed = match *fowner {
        Some(has) => has,
        None => *fowner.insert(sys::has_capability(CAP_FOWNER).unwrap_or(true)),
    };
    if allowed {
        return Ok(());
    }
    for path in entries {
        // A listing's symlink facts carry no owner: the entry itself is asked.
        if root.lstat(path)?.is_some_and(|e| e.uid != me) {
            return Err(Error::io(
                "cannot remove or replace: its folder is sticky (+t), neither is this \
                 process's, and the run lacks CAP_FOWNER (nothing was removed)",
                &root.host(path),
                std::io::Error::from_raw_os_error(nix::libc::EPERM),
            ));
        }
    }
    Ok(())
}

/// `CAP_FOWNER`: remove another's entry from a sticky folder.
const CAP_FOWNER: u32 = 3;

/// The folders an overlay copies up for the removals of `plan`: each folder removed from, and
/// every folder above it, once.
fn copied_up(plan: &Plan) -> usize {
    let mut folders = Vec::new();
    for mut dir in plan.folders() {
        while !dir.is_top() && !folders.contains(&dir) {
            let parent = dir.parent().unwrap_or_default();
            folders.push(dir);
            dir = parent;
        }
    }
    folders.len()
}

/// Fails, naming the path and the reason, unless every removal and the commit can be made:
/// every folder the plan writes to, and the folder of each file the commit replaces
/// (`replaced`, with the size of its new version), is writable (root, a read-write filesystem)
/// and neither immutable nor append-only (`chattr +i`/`+a`, which `access` does not see); no
/// file it removes or replaces is immutable or append-only; and the root's filesystem has the
/// room ([`room`]).
pub fn preflight(root: &mut Root, plan: &Plan, replaced: &[(InRoot, u64)]) -> Result<()> {
    let mut folders = plan.folders();
    folders.extend(replaced.iter().filter_map(|(p, _)| p.parent()));
    folders.sort_unstable();
    folders.dedup();
    let mut fowner = None;
    for dir in folders {
        let host = root.host(&dir);
        root.writable(&dir)
            .map_err(|e| Error::io("cannot remove entries", &host, e))?;
        let Some(m) = root.lstat(&dir)? else {
            continue;
        };
        if m.pinned {
            return Err(Error::Pinned {
                path: host,
                what: Pinned::Folder,
            });
        }
        if m.mode & nix::libc::S_ISVTX != 0 {
            // What the run takes out of the folder: its removals, and the files the commit
            // renames over (the staged file, given the old one's owner, goes with them).
            let removed = plan.steps.iter().filter(|s| s.kind != StepKind::SelfExe);
            let removed = removed.map(|s| &s.item.path);
            let entries = removed.chain(replaced.iter().map(|(p, _)| p));
            let entries: Vec<&InRoot> = entries
                .filter(|p| p.parent().as_ref() == Some(&dir))
                .collect();
            sticky(root, &entries, &m, &mut fowner)?;
        }
    }
    let mut removed = plan.steps.iter().filter(|s| s.kind != StepKind::SelfExe);
    if let Some(s) = removed.find(|s| s.item.meta.pinned) {
        return Err(Error::Pinned {
            path: root.host(&s.item.path),
            what: Pinned::File,
        });
    }
    for (path, _) in replaced {
        if root.lstat(path)?.is_some_and(|m| m.pinned) {
            return Err(Error::Pinned {
                path: root.host(path),
                what: Pinned::File,
            });
        }
    }
    room(root, plan, replaced)
}

/// Fails unless the root's filesystem (`statfs`) has the inodes and bytes the strip needs: a
/// new inode and its bytes for each file the commit replaces, and on an overlay one inode per
/// removal (each removal of a lower layer's file is a whiteout, an inode of the upper layer,
/// whose figures the overlay reports). A filesystem that reports no inode count (btrfs) is
/// not checked for inodes.
fn room(root: &Root, plan: &Plan, replaced: &[(InRoot, u64)]) -> Result<()> {
    let host = root.host_root().to_path_buf();
    let fs = root
        .statfs()
        .map_err(|e| Error::io("cannot statfs", &host, e))?;
    // On an overlay, a removal of a lower layer's file is a whiteout (an inode of the upper
    // layer), in a folder copied up first with the folders above it (one more inode each,
    // counted as if none were up there yet).
    let whiteouts = if fs.overlay {
        (plan.steps.len() + copied_up(plan)) as u64
    } else {
        0
    };
    let inodes = replaced.len() as u64 + whiteouts;
    // Each new file rounded up to whole blocks.
    let block = fs.block_size.max(1);
    let bytes: u64 = replaced
        .iter()
        .map(|(_, n)| n.div_ceil(block) * block)
        .sum();
    if fs.inodes_total > 0 && fs.inodes_free < inodes {
        let why = format!(
            "the filesystem has {} free inodes and the strip needs {inodes} ({} for apk's new \
             files, {whiteouts} for the whiteouts of an overlay's removals): nothing was removed",
            fs.inodes_free,
            replaced.len()
        );
        return Err(Error::input(&host, &why));
    }
    if fs.bytes_free < bytes {
        let why = format!(
            "the filesystem has {} free bytes and apk's new files need {bytes}: nothing was \
             removed",
            fs.bytes_free
        );
        return Err(Error::input(&host, &why));
    }
    Ok(())
}

/// The most file descriptors a strip holds at once: the three standard streams, the root,
/// apk's lock and its folder, the walk of the whole root (at most 9 folders open:
/// [`crate::root::walk::MAX_OPEN`] and the root), a listing, a read, the open folder of the
/// removals, the folder and file of each staged apk file, and a copy of the folder of each
/// file the run made (apk's lock file, the staged files: [`crate::os::memory`] removes them
/// when an allocation fails); measured 16 on the official minirootfs, 20 with those copies
/// (the highest descriptor went from 14 to 18). Room to spare.
pub const DESCRIPTORS: u64 = 32;

/// Makes sure the run can hold [`DESCRIPTORS`] descriptors (raising the soft `RLIMIT_NOFILE`
/// up to the hard one when it is lower), or refuses before anything is done: a strip that ran
/// out of descriptors half way would stop there.
pub fn hold_descriptors(root: &Path) -> Result<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let nofile = Resource::RLIMIT_NOFILE;
    let cannot = |e: nix::errno::Errno| Error::io("cannot read RLIMIT_NOFILE", root, e.into());
    let (soft, hard) = getrlimit(nofile).map_err(cannot)?;
    if soft >= DESCRIPTORS {
        return Ok(());
    }
    if hard >= DESCRIPTORS && setrlimit(nofile, DESCRIPTORS, hard).is_ok() {
        return Ok(());
    }
    let why = format!(
        "a strip holds up to {DESCRIPTORS} file descriptors and RLIMIT_NOFILE allows {soft} \
         (hard limit {hard}): nothing was done"
    );
    Err(Error::input(root, &why))
}

/// Removes every planned path, in order. A removal that fails (what no check foresaw: an I/O
/// error) does not stop the others: it is recorded with its error, and the run then writes
/// apk's state for what is really there. The list of removals made is allocated whole before
/// the first, so that memory that runs out does not run out there
/// ([`crate::os::memory`]).
pub fn apply(root: &mut Root, plan: &Plan) -> Applied {
    let mut done = Applied {
        removed: Vec::with_capacity(plan.steps.len()),
        ..Applied::default()
    };
    memory::entered(Phase::Removing);
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
