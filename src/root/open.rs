//! Opening an [`InRoot`] path relative to the root's descriptor so that the open itself cannot
//! leave the root, even if the tree changed since the path was resolved.
//!
//! The kernel does it where it can: `openat2(2)` with `RESOLVE_IN_ROOT` (`..` and absolute
//! links stop at the root), `RESOLVE_NO_SYMLINKS` (an [`InRoot`] path has no symlink on the
//! way; one there now means the tree changed, and the open fails with `ELOOP`) and
//! `O_NOFOLLOW` on the last name. Where the kernel lacks it (`ENOSYS` before Linux 5.6, `E2BIG`,
//! or `EPERM` from a seccomp filter, as in some container runtimes) the same path is opened one
//! folder at a time, each an `openat(O_PATH | O_DIRECTORY | O_NOFOLLOW)` relative to the one
//! before, which refuses a symlink the same way. crun's `safe_openat` falls back the same way.
//! Callers that need a regular file then check the opened inode against the one the resolver
//! saw ([`crate::root::read`]).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Component;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat, openat2};
use nix::sys::stat::Mode;

use crate::root::path::InRoot;

/// How paths are confined to the root when opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confine {
    /// By the kernel: `openat2` with `RESOLVE_IN_ROOT`.
    Kernel,
    /// One folder at a time, never following a symlink (a kernel without `openat2`).
    Walk,
}

/// Retries of an `openat2` that a concurrent rename made give up (`EAGAIN`), or a signal.
const RETRIES: usize = 8;

/// Opens `path` relative to the root's descriptor `root` with `flags` (plus `O_NOFOLLOW` and
/// `O_CLOEXEC`), confined as `how` says; `how` becomes [`Confine::Walk`] for good when the
/// kernel has no `openat2` for this process.
pub fn open(
    root: BorrowedFd,
    how: &mut Confine,
    path: &InRoot,
    flags: OFlag,
) -> io::Result<OwnedFd> {
    let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    if *how == Confine::Kernel {
        let resolve = ResolveFlag::RESOLVE_IN_ROOT
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_MAGICLINKS;
        let mut tries = 0;
        loop {
            let open_how = OpenHow::new().flags(flags).resolve(resolve);
            match openat2(root, path.at(), open_how) {
                Ok(fd) => return Ok(fd),
                Err(Errno::EINTR | Errno::EAGAIN) if tries < RETRIES => tries += 1,
                // No openat2 (or not this open_how) in this kernel: never again.
                Err(Errno::ENOSYS | Errno::E2BIG) => {
                    *how = Confine::Walk;
                    break;
                }
                // A seccomp filter's answer, or a real EPERM that the walk meets again.
                Err(Errno::EPERM) => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    walk(root, path, flags)
}

/// Opens `path` one folder at a time, never following a symlink: what `openat2` does with
/// `RESOLVE_NO_SYMLINKS`, in user space.
fn walk(root: BorrowedFd, path: &InRoot, flags: OFlag) -> io::Result<OwnedFd> {
    let folder = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut names = path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n),
        _ => None,
    });
    let Some(mut name) = names.next() else {
        return Ok(openat(root, ".", flags, Mode::empty())?);
    };
    let mut dir: Option<OwnedFd> = None;
    for next in names {
        let at = dir.as_ref().map_or(root, |d| d.as_fd());
        dir = Some(openat(at, name, folder, Mode::empty())?);
        name = next;
    }
    let at = dir.as_ref().map_or(root, |d| d.as_fd());
    Ok(openat(at, name, flags, Mode::empty())?)
}
