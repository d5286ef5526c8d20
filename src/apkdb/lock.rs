//! One writer per root: the lock apk itself takes, `flock` on `/lib/apk/db/lock` (beside the
//! database: `/usr/lib/apk/db/lock` in a tree that moved it there).
//!
//! Two strips on one root (or a strip and an apk) would replace each other's staged database
//! and remove each other's files. The lock is taken before anything is written; a second run
//! refuses at once with one line. A lock file this run created — exclusively (`O_EXCL`), so
//! that two runs never both believe they made it — is removed again while still held, so the
//! tree gains nothing; a file another made is never removed, even when its lock is refused. A
//! lock taken on a file that is no longer the one at its path (removed by the run that made
//! it, between our open and our `flock`) is taken again on the file now there. A lock file this
//! run created is registered for a failed allocation to remove ([`crate::os::memory`]).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, Flock, FlockArg, OFlag, openat};
use nix::sys::stat::{Mode, fstat, fstatat};
use nix::unistd::{UnlinkatFlags, unlinkat};

use crate::apkdb::Location;
use crate::error::{Error, Result, is_would_block};
use crate::os::memory::{self, Made};
use crate::root::{FileKind, Root, c_string};

/// apk's lock file, inside the root (where apk keeps its database).
#[cfg(test)]
const LOCK: &str = "lib/apk/db/lock";

/// How many times the lock is taken again when the file at its path changed under it.
const ATTEMPTS: usize = 8;

/// The held lock; released (and the file removed first, when this run created it) on drop.
pub struct Lock {
    _held: Flock<File>,
    /// The folder (open, confined to the root) and name of a lock file this run created.
    created: Option<(OwnedFd, CString)>,
    /// That file, registered for a failed allocation to remove.
    _made: Option<Made>,
}

/// Takes apk's lock on `root`, beside its database; `None` when the root has no apk database
/// folder. The file is opened (or created) relative to its folder, itself opened confined to
/// the root.
pub fn take(root: &mut Root) -> Result<Option<Lock>> {
    let lock = Location::of(root)?.lock();
    let Some(real) = root.resolve_parent(Path::new(lock))? else {
        return Ok(None);
    };
    // A lock made in, or taken on, a folder mounted in would touch what is outside the image.
    super::part_of_image(root, std::slice::from_ref(&real))?;
    let host = root.host(&real);
    match root.lstat(&real)? {
        Some(m) if m.kind != FileKind::File => {
            return Err(Error::input(&host, "not a regular file"));
        }
        _ => {}
    }
    let cannot_open = |e: std::io::Error| {
        let denied = matches!(e.raw_os_error(), Some(nix::libc::EACCES | nix::libc::EPERM));
        let what = if denied && !nix::unistd::geteuid().is_root() {
            "cannot open the apk lock (a strip runs as root; nothing was removed)"
        } else {
            "cannot open the apk lock"
        };
        Error::io(what, &host, e)
    };
    let folder = real.parent().unwrap_or_default();
    let folder = root.open_folder(&folder).map_err(cannot_open)?;
    let name = c_string(real.name()).map_err(cannot_open)?;
    for _ in 0..ATTEMPTS {
        // Allocated before the file may be made: its registration then allocates nothing.
        let to_make = memory::to_make(folder.as_fd(), &name).map_err(cannot_open)?;
        let (file, created) = open(folder.as_fd(), &name).map_err(|e| cannot_open(e.into()))?;
        let held = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => held,
            // Held by another: refused at once, and the file (even one made here, which the
            // holder opened) is left to it.
            Err((_, errno)) => return Err(refused(&host, errno)),
        };
        if is_at_path(folder.as_fd(), &name, &held) {
            let mut lock = Lock {
                _held: held,
                created: None,
                _made: None,
            };
            if created {
                lock.created = Some((folder, name));
                // Not registered (no slot): dropping `lock` removes the file.
                lock._made = Some(to_make.made(&memory::MADE).map_err(cannot_open)?);
            }
            return Ok(Some(lock));
        }
    }
    Err(refused(&host, Errno::EWOULDBLOCK))
}

/// Opens the lock file `name` in `folder`: made exclusively when there is none (`true`), else
/// the one there. A file removed between the two tries is made again.
fn open(folder: BorrowedFd, name: &CStr) -> std::result::Result<(File, bool), Errno> {
    let flags =
        OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let mode = Mode::S_IRUSR | Mode::S_IWUSR;
    for _ in 0..ATTEMPTS {
        match openat(folder, name, flags | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
            Ok(fd) => return Ok((File::from(fd), true)),
            Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        match openat(folder, name, flags, mode) {
            Ok(fd) => return Ok((File::from(fd), false)),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EWOULDBLOCK)
}

/// Whether the locked file is still the one at `name` in `folder` (same device and inode).
fn is_at_path(folder: BorrowedFd, name: &CStr, held: &Flock<File>) -> bool {
    match (
        fstat(&**held),
        fstatat(folder, name, AtFlags::AT_SYMLINK_NOFOLLOW),
    ) {
        (Ok(a), Ok(b)) => (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino),
        _ => false,
    }
}

/// The error of a lock another holds (or any other `flock` failure).
fn refused(host: &Path, errno: Errno) -> Error {
    let e = std::io::Error::from(errno);
    if is_would_block(&e) {
        Error::LockHeld {
            path: PathBuf::from(host),
        }
    } else {
        Error::io("cannot lock", host, e)
    }
}

impl Drop for Lock {
    /// Removes the lock file this run created, while the lock is still held (the fields,
    /// the lock among them, are dropped after this).
    fn drop(&mut self) {
        if let Some((dir, name)) = &self.created {
            let _ = unlinkat(dir.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_second_writer_is_refused_and_a_created_lock_file_goes_again() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("lib/apk/db")).unwrap();
        let mut a = Root::open(t.path()).unwrap();
        let mut b = Root::open(t.path()).unwrap();
        let held = take(&mut a).unwrap().unwrap();
        assert!(t.path().join(LOCK).exists());
        let e = take(&mut b).err().unwrap();
        assert!(
            matches!(&e, Error::LockHeld { path } if path.ends_with(LOCK)),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("lib/apk/db/lock: held by another apk or strip"),
            "{e}"
        );
        drop(held);
        assert!(!t.path().join(LOCK).exists(), "the created file is gone");
        // An existing lock file (apk's) stays.
        fs::write(t.path().join(LOCK), b"").unwrap();
        drop(take(&mut b).unwrap().unwrap());
        assert!(t.path().join(LOCK).exists());
    }

    #[test]
    fn no_apk_folder_no_lock() {
        let t = tempfile::tempdir().unwrap();
        let mut r = Root::open(t.path()).unwrap();
        assert!(take(&mut r).unwrap().is_none());
    }
}
