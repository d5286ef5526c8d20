//! One writer per root: the lock apk itself takes, `flock` on `/lib/apk/db/lock` (beside the
//! database: `/usr/lib/apk/db/lock` in a tree that moved it there).
//!
//! Two strips on one root (or a strip and an apk) would replace each other's staged database
//! and remove each other's files. The lock is taken before anything is written; a second run
//! refuses at once with one line. A lock file this run had to create is removed again, so the
//! tree gains nothing.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag, openat};
use nix::sys::stat::Mode;
use nix::unistd::{UnlinkatFlags, unlinkat};

use crate::apkdb::Location;
use crate::error::{Error, Result, is_would_block};
use crate::root::{FileKind, Root, c_string};

/// apk's lock file, inside the root (where apk keeps its database).
#[cfg(test)]
const LOCK: &str = "lib/apk/db/lock";

/// The held lock; released (and the file removed, when this run created it) on drop.
pub struct Lock {
    _held: Flock<File>,
    /// The folder (open, confined to the root) and name of a lock file this run created.
    created: Option<(OwnedFd, CString)>,
}

/// Takes apk's lock on `root`, beside its database; `None` when the root has no apk database
/// folder. The file is opened (or created) relative to its folder, itself opened confined to
/// the root.
pub fn take(root: &mut Root) -> Result<Option<Lock>> {
    let lock = Location::of(root)?.lock();
    let Some(real) = root.resolve_parent(Path::new(lock))? else {
        return Ok(None);
    };
    let host = root.host(&real);
    let existed = match root.lstat(&real)? {
        Some(m) if m.kind == FileKind::File => true,
        Some(_) => return Err(Error::input(&host, "not a regular file")),
        None => false,
    };
    let cannot_open = |e: Errno| Error::io("cannot open the apk lock", &host, e.into());
    let folder = real.parent().unwrap_or_default();
    let folder = root
        .open_folder(&folder)
        .map_err(|e| Error::io("cannot open the apk lock", &host, e))?;
    let name =
        c_string(real.name()).map_err(|e| Error::io("cannot open the apk lock", &host, e))?;
    let mut flags =
        OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    if !existed {
        flags |= OFlag::O_CREAT;
    }
    let file = File::from(
        openat(
            folder.as_fd(),
            name.as_c_str(),
            flags,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(cannot_open)?,
    );
    let created = (!existed).then_some((folder, name));
    let held = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        remove(&created);
        let e = std::io::Error::from(errno);
        if is_would_block(&e) {
            Error::LockHeld { path: host.clone() }
        } else {
            Error::io("cannot lock", &host, e)
        }
    })?;
    Ok(Some(Lock {
        _held: held,
        created,
    }))
}

/// Removes the lock file this run created, if it did.
fn remove(created: &Option<(OwnedFd, CString)>) {
    if let Some((dir, name)) = created {
        let _ = unlinkat(dir.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir);
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        remove(&self.created);
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
