//! Opening an [`InRoot`] path relative to the root's descriptor so that the open itself cannot
//! leave the root, even if the tree changed since the path was resolved.
//!
//! The kernel does it where it can: `openat2(2)` with `RESOLVE_IN_ROOT` (`..` and absolute
//! links stop at the root), `RESOLVE_NO_SYMLINKS` (an [`InRoot`] path has no symlink on the
//! way; one there now means the tree changed, and the open fails with `ELOOP`) and
//! `O_NOFOLLOW` on the last name. Where the kernel lacks it (`ENOSYS` before Linux 5.6, `E2BIG`,
//! or `EPERM` from a seccomp filter, as in some container runtimes) the same path is opened one
//! folder at a time, each an `openat(O_PATH | O_DIRECTORY | O_NOFOLLOW)` relative to the one
//! before, which refuses a symlink the same way (crun's `safe_openat` has the same shape:
//! `openat2` first, a user-space way where the kernel answers `ENOSYS` or `EPERM`).
//! Callers that need a regular file then check the opened inode against the one the resolver
//! saw ([`crate::root::read`]).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Component;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat, openat2};
use nix::sys::stat::{Mode, fstatat};

use crate::root::path::{InRoot, c_string};

/// How paths are confined to the root when opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confine {
    /// By the kernel: `openat2` with `RESOLVE_IN_ROOT`.
    Kernel,
    /// One folder at a time, never following a symlink (a kernel without `openat2`).
    Stepwise,
}

/// Retries of an `openat2` that a concurrent rename made give up (`EAGAIN`), or a signal.
const RETRIES: usize = 8;

/// Opens `path` relative to the root's descriptor `root` with `flags` (plus `O_NOFOLLOW` and
/// `O_CLOEXEC`), confined as `how` says; `how` becomes [`Confine::Stepwise`] for good when the
/// kernel has no `openat2` for this process. `O_NOATIME` in `flags` is dropped where the kernel
/// refuses it ([`without_atime`]).
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
        let at = path.c_at()?;
        let mut tries = 0;
        let mut asked = flags;
        loop {
            let open_how = OpenHow::new().flags(asked).resolve(resolve);
            match openat2(root, at.as_c_str(), open_how) {
                Ok(fd) => return Ok(fd),
                Err(Errno::EINTR | Errno::EAGAIN) if tries < RETRIES => tries += 1,
                // No openat2 (or not this open_how) in this kernel: never again.
                Err(Errno::ENOSYS | Errno::E2BIG) => {
                    *how = Confine::Stepwise;
                    break;
                }
                // O_NOATIME refused (not the file's owner, no CAP_FOWNER): asked again without
                // it, not taken for a filter's answer.
                Err(Errno::EPERM) if asked.contains(OFlag::O_NOATIME) => {
                    asked.remove(OFlag::O_NOATIME);
                }
                // A seccomp filter's answer, or a real EPERM that the walk meets again.
                Err(Errno::EPERM) => break,
                Err(e) => return Err(as_loop(e, root, &at).into()),
            }
        }
    }
    if flags.contains(OFlag::O_NOATIME) {
        without_atime(flags - OFlag::O_NOATIME, |flags| walk(root, path, flags))
    } else {
        walk(root, path, flags)
    }
}

/// [`open`] for reading (a folder's entries, a file's bytes), leaving the file's access time
/// as it was where the kernel allows it ([`without_atime`]).
pub fn open_reading(
    root: BorrowedFd,
    how: &mut Confine,
    path: &InRoot,
    flags: OFlag,
) -> io::Result<OwnedFd> {
    open(root, how, path, flags | OFlag::O_NOATIME)
}

/// `open(flags)` for reading, first with `O_NOATIME`: the tool only reads the image, and leaves
/// each access time as it was. The kernel allows that flag to the file's owner or a process with
/// `CAP_FOWNER` only; elsewhere (`EPERM`) the file is opened without it.
pub fn without_atime(
    flags: OFlag,
    mut open: impl FnMut(OFlag) -> io::Result<OwnedFd>,
) -> io::Result<OwnedFd> {
    match open(flags | OFlag::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => open(flags),
        opened => opened,
    }
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
        return Ok(openat(root, c".", flags, Mode::empty())?);
    };
    let mut dir: Option<OwnedFd> = None;
    for next in names {
        let at = dir.as_ref().map_or(root, |d| d.as_fd());
        let c = c_string(name.as_bytes())?;
        dir =
            Some(openat(at, c.as_c_str(), folder, Mode::empty()).map_err(|e| as_loop(e, at, &c))?);
        name = next;
    }
    let at = dir.as_ref().map_or(root, |d| d.as_fd());
    let c = c_string(name.as_bytes())?;
    Ok(openat(at, c.as_c_str(), flags, Mode::empty()).map_err(|e| as_loop(e, at, &c))?)
}

/// A symlink where a folder is needed is `ELOOP`, whichever way the open was confined:
/// `O_DIRECTORY | O_NOFOLLOW` on a symlink says `ENOTDIR`, which would read as "not there".
fn as_loop(e: Errno, at: BorrowedFd, path: &CStr) -> Errno {
    let flags = AtFlags::AT_SYMLINK_NOFOLLOW;
    match e {
        Errno::ENOTDIR if fstatat(at, path, flags).is_ok_and(|st| is_symlink(st.st_mode)) => {
            Errno::ELOOP
        }
        e => e,
    }
}

fn is_symlink(mode: u32) -> bool {
    mode & nix::libc::S_IFMT == nix::libc::S_IFLNK
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A root with `etc/f`, `etc/l -> f`, `up -> /` and a file outside it; the root's descriptor.
    fn tree() -> (tempfile::TempDir, tempfile::TempDir, OwnedFd) {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("etc")).unwrap();
        fs::write(t.path().join("etc/f"), b"in").unwrap();
        symlink("f", t.path().join("etc/l")).unwrap();
        fs::create_dir(outside.path().join("etc")).unwrap();
        fs::write(outside.path().join("etc/f"), b"out").unwrap();
        symlink(outside.path(), t.path().join("up")).unwrap();
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(t.path(), flags, Mode::empty()).unwrap();
        (t, outside, fd)
    }

    fn errno(r: io::Result<OwnedFd>) -> Option<i32> {
        r.err().and_then(|e| e.raw_os_error())
    }

    #[test]
    fn this_kernel_confines_with_openat2() {
        let (_t, _o, fd) = tree();
        let mut how = Confine::Kernel;
        open(
            fd.as_fd(),
            &mut how,
            &InRoot::unchecked("etc/f"),
            OFlag::O_RDONLY,
        )
        .unwrap();
        assert_eq!(how, Confine::Kernel, "openat2 is there (Linux >= 5.6)");
    }

    #[test]
    fn both_ways_open_the_same_and_refuse_any_symlink_on_the_way() {
        for start in [Confine::Kernel, Confine::Stepwise] {
            let (t, outside, fd) = tree();
            let mut how = start;
            let mut read = |p: &str| {
                let fd = open(fd.as_fd(), &mut how, &InRoot::unchecked(p), OFlag::O_RDONLY)?;
                let mut s = String::new();
                std::io::Read::read_to_string(&mut fs::File::from(fd), &mut s)?;
                Ok::<_, io::Error>(s)
            };
            assert_eq!(read("etc/f").unwrap(), "in", "{start:?}");
            // A last symlink, a folder symlink leading out: refused, never followed.
            for p in ["etc/l", "up/etc/f"] {
                let e = read(p).unwrap_err().raw_os_error();
                assert_eq!(e, Some(nix::libc::ELOOP), "{start:?} {p}");
            }
            // The folder swapped for a symlink out of the root after it was resolved.
            fs::rename(t.path().join("etc"), t.path().join("etc.old")).unwrap();
            symlink(outside.path().join("etc"), t.path().join("etc")).unwrap();
            let e = read("etc/f").unwrap_err().raw_os_error();
            assert_eq!(e, Some(nix::libc::ELOOP), "{start:?}");
            let top = open(
                fd.as_fd(),
                &mut how,
                &InRoot::top(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            );
            assert!(top.is_ok(), "{start:?}");
            assert_eq!(
                errno(open(
                    fd.as_fd(),
                    &mut how,
                    &InRoot::unchecked("gone/x"),
                    OFlag::O_RDONLY
                )),
                Some(nix::libc::ENOENT)
            );
            assert_eq!(how, start);
        }
    }
}
