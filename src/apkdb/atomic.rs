//! Replacing a file atomically, the way apk writes its own database.
//!
//! The new bytes go to a temporary file in the same folder, which is given the old file's mode
//! and owner, fsynced, and renamed over the old one. A reader, or a crash, sees the old file or
//! the new one, never a mix. A temporary file left by a run that
//! was killed is removed by the next one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A new version of a file, written and synced but not yet in place.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

/// The temporary name used for `target`.
pub fn tmp_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".alpine-strip.tmp");
    target.with_file_name(name)
}

/// Writes `bytes` to a temporary file beside `target` with `target`'s mode and owner.
pub fn stage(target: &Path, bytes: &[u8]) -> Result<Staged> {
    let old = fs::metadata(target).map_err(|e| Error::io("cannot stat", target, e))?;
    let tmp = tmp_path(target);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if crate::root::is_absent(&e) => {}
        Err(e) => return Err(Error::io("cannot remove stale", &tmp, e)),
    }
    let staged = Staged {
        tmp: tmp.clone(),
        target: target.to_path_buf(),
        committed: false,
    };
    let mut f: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create", &tmp, e))?;
    let io = |e| Error::io("cannot write", &tmp, e);
    f.write_all(bytes).map_err(io)?;
    fchown(&f, Some(old.uid()), Some(old.gid())).map_err(io)?;
    f.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(staged)
}

impl Staged {
    /// Renames the staged file over the target. The folder is not fsynced: after a power loss
    /// the rename may be lost, which leaves the old file, whole; the file's own fsync before
    /// the rename is what keeps the new name from ever naming a partly written file.
    pub fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.target)
            .map_err(|e| Error::io("cannot replace", &self.target, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Replaces `target` with `bytes` atomically.
#[cfg(test)]
pub fn replace(target: &Path, bytes: &[u8]) -> Result<()> {
    stage(target, bytes)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_mode_and_leaves_no_temporary_file() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("installed");
        fs::write(&f, b"old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        replace(&f, b"new").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert!(!tmp_path(&f).exists());
    }

    #[test]
    fn a_write_stopped_before_the_rename_leaves_the_old_file_whole() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("installed");
        fs::write(&f, b"old database").unwrap();
        let staged = stage(&f, b"new database").unwrap();
        // Killed here: the target is still the old file, the new one waits beside it.
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert_eq!(fs::read(tmp_path(&f)).unwrap(), b"new database");
        drop(staged);
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert!(!tmp_path(&f).exists());
    }

    #[test]
    fn a_stale_temporary_file_is_replaced() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("world");
        fs::write(&f, b"old").unwrap();
        fs::write(tmp_path(&f), b"half of a dead run's wri").unwrap();
        replace(&f, b"new").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        assert!(!tmp_path(&f).exists());
    }

    #[test]
    fn a_missing_target_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("nope");
        let e = replace(&f, b"x").unwrap_err().to_string();
        assert!(
            e.contains("nope: cannot stat") && e.contains("os error 2"),
            "{e}"
        );
    }
}
