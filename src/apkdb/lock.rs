//! One writer per root: the lock apk itself takes, `flock` on `/lib/apk/db/lock` (beside the
//! database: `/usr/lib/apk/db/lock` in a tree that moved it there).
//!
//! Two strips on one root (or a strip and an apk) would replace each other's staged database
//! and remove each other's files. The lock is taken before anything is written; a second run
//! refuses at once with one line. A lock file this run had to create is removed again, so the
//! tree gains nothing.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::apkdb::Location;
use crate::error::{Error, Result, is_would_block};
use crate::root::{FileKind, Root};

/// apk's lock file, inside the root (where apk keeps its database).
#[cfg(test)]
const LOCK: &str = "lib/apk/db/lock";

/// The held lock; released (and the file removed, when this run created it) on drop.
pub struct Lock {
    _held: Flock<File>,
    created: Option<PathBuf>,
}

/// Takes apk's lock on `root`, beside its database; `None` when the root has no apk database
/// folder.
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
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(!existed)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(&host)
        .map_err(|e| Error::io("cannot open the apk lock", &host, e))?;
    let created = (!existed).then(|| host.clone());
    let held = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        if let Some(p) = &created {
            let _ = fs::remove_file(p);
        }
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

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(p) = &self.created {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
