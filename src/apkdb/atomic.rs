//! Replacing files atomically, the way apk writes its own database.
//!
//! The new bytes go to a temporary file in the same folder, which is given the old file's mode
//! and owner, fsynced when asked ([`Durability`]), and renamed over the old one. A reader sees
//! the old file or the new one, never a mix. A temporary file left by a run that was killed is
//! removed by the next one.
//!
//! The staged files are made ready (fsynced, when asked) before the strip's removals
//! ([`ready`]) and renamed after them ([`Ready::commit`]): an fsync after the removals would
//! flush the journal of every unlink with it (measured: 0.6x the floor more), and a failed
//! fsync stops the run before anything is removed. Whether to fsync is apk's own rule (see
//! [`crate::options::SyncPolicy`]): a container build's step is discarded whole when it does not
//! finish, so there the wait for the disk (as long as the removals themselves) buys nothing.
//!
//! A staged file is registered for a failed allocation to remove ([`crate::os::memory`]) from
//! its creation until it is renamed into place or removed.

use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, fchown};
use std::path::PathBuf;

use nix::fcntl::{AtFlags, OFlag, openat, renameat};
use nix::sys::stat::{Mode, fstatat};
use nix::unistd::{UnlinkatFlags, unlinkat};

use crate::error::{Error, Result};
use crate::os::memory::{self, Made};
use crate::root::c_string;

/// A file to replace: its folder, open and confined to the root
/// ([`crate::root::Root::open_folder`]), and its name there; every call is relative to the
/// folder. The host path only names the file in messages.
pub struct Target {
    /// The folder, open.
    pub dir: OwnedFd,
    /// The file's name in it.
    pub name: OsString,
    /// The host path, for messages.
    pub host: PathBuf,
}

/// A new version of a file, written beside it, not yet synced or in place.
pub struct Staged {
    target: Target,
    /// The target's name and the temporary name, as C strings for the `*at` calls.
    name: CString,
    tmp: CString,
    file: Option<File>,
    committed: bool,
    /// The temporary file, registered for a failed allocation to remove.
    made: Option<Made>,
}

/// The temporary name used for `name`.
pub fn tmp_name(name: &OsStr) -> OsString {
    let mut tmp = name.to_os_string();
    tmp.push(".alpine-strip.tmp");
    tmp
}

impl Staged {
    /// The host path of the temporary file, for messages.
    fn tmp_host(&self) -> PathBuf {
        self.target
            .host
            .with_file_name(OsStr::from_bytes(self.tmp.as_bytes()))
    }
}

/// Writes `bytes` to a temporary file beside `target` with `target`'s mode and owner.
pub fn stage(target: Target, bytes: &[u8]) -> Result<Staged> {
    let nofollow = AtFlags::AT_SYMLINK_NOFOLLOW;
    let c = |name: &OsStr| {
        c_string(name.as_bytes()).map_err(|e| Error::io("cannot stat", &target.host, e))
    };
    let (name, tmp) = (c(&target.name)?, c(&tmp_name(&target.name))?);
    let old = fstatat(target.dir.as_fd(), name.as_c_str(), nofollow)
        .map_err(|e| Error::io("cannot stat", &target.host, e.into()))?;
    let mut staged = Staged {
        target,
        name,
        tmp,
        file: None,
        committed: false,
        made: None,
    };
    let (dir, tmp) = (staged.target.dir.as_fd(), staged.tmp.as_c_str());
    // A temporary file left by a killed run goes; one that is not there is not touched.
    if fstatat(dir, tmp, nofollow).is_ok() {
        unlinkat(dir, tmp, UnlinkatFlags::NoRemoveDir)
            .map_err(|e| Error::io("cannot remove stale", &staged.tmp_host(), e.into()))?;
    }
    // Allocated before the file is made: its registration then allocates nothing.
    let to_make =
        memory::to_make(dir, tmp).map_err(|e| Error::io("cannot create", &staged.tmp_host(), e))?;
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
    let fd = openat(
        dir,
        tmp,
        flags | OFlag::O_CLOEXEC,
        Mode::S_IRUSR | Mode::S_IWUSR,
    )
    .map_err(|e| Error::io("cannot create", &staged.tmp_host(), e.into()))?;
    // From here on, dropping `staged` removes the temporary file.
    let mut file = File::from(fd);
    staged.made = Some(
        to_make
            .made(&memory::MADE)
            .map_err(|e| Error::io("cannot create", &staged.tmp_host(), e))?,
    );
    let io = |e| Error::io("cannot write", &staged.tmp_host(), e);
    file.write_all(bytes).map_err(io)?;
    // The mode first, while this process owns the file: once it is the old file's owner's,
    // changing its mode takes CAP_FOWNER, which a build may not grant. (A change of owner
    // clears setuid and setgid: those, on a state file, are set again after it, which takes
    // CAP_FOWNER when the owner is another: without it the staging fails, before any removal.)
    let mode = fs::Permissions::from_mode(old.st_mode & 0o7777);
    file.set_permissions(mode.clone()).map_err(io)?;
    fchown(&file, Some(old.st_uid), Some(old.st_gid)).map_err(io)?;
    if old.st_mode & 0o6000 != 0 {
        file.set_permissions(mode).map_err(io)?;
    }
    staged.file = Some(file);
    Ok(staged)
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let dir = self.target.dir.as_fd();
            let _ = unlinkat(dir, self.tmp.as_c_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// Whether staged files reach the disk before they are renamed into place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Each is fsynced before the removals: a power cut leaves the old file or the new one.
    Fsync,
    /// Written, and left to the kernel's writeback: a reader sees the old file or the new
    /// one; a power cut before the writeback may not (what apk itself does in a container).
    Written,
}

/// Staged files, ready (fsynced, when asked), not yet in place.
pub struct Ready {
    files: Vec<Staged>,
}

/// Makes the staged files ready: with [`Durability::Fsync`], fsyncs each in order, and the
/// first that fails stops it, named with the errno (dropping what was staged removes the
/// temporary files). Every file is closed.
pub fn ready(mut files: Vec<Staged>, durability: Durability) -> Result<Ready> {
    for f in &mut files {
        if let (Some(file), Durability::Fsync) = (f.file.take(), durability) {
            file.sync_all()
                .map_err(|e| Error::io("cannot fsync", &f.tmp_host(), e))?;
        }
    }
    Ok(Ready { files })
}

impl Ready {
    /// Renames every staged file over its target, in order; the first that fails stops it
    /// (the installed database, last, then still names what left: the next run finishes the
    /// job), and the temporary files not renamed are removed.
    pub fn commit(mut self) -> Result<()> {
        for f in &mut self.files {
            let dir = f.target.dir.as_fd();
            renameat(dir, f.tmp.as_c_str(), dir, f.name.as_c_str())
                .map_err(|e| Error::io("cannot replace", &f.target.host, e.into()))?;
            f.committed = true;
            f.made = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    /// The host file `f` as a target (its folder opened by its host path, as only a test may).
    fn target(f: &Path) -> Target {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let dir = nix::fcntl::open(f.parent().unwrap(), flags, Mode::empty()).unwrap();
        let name = f.file_name().unwrap().to_os_string();
        Target {
            dir,
            name,
            host: f.to_path_buf(),
        }
    }

    fn tmp_path(f: &Path) -> PathBuf {
        f.with_file_name(tmp_name(f.file_name().unwrap()))
    }

    /// Replaces `f` with `bytes` atomically.
    fn replace(f: &Path, bytes: &[u8]) -> Result<()> {
        ready(vec![stage(target(f), bytes)?], Durability::Fsync)?.commit()
    }

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
        let staged = vec![stage(target(&f), b"new database").unwrap()];
        let staged = ready(staged, Durability::Fsync).unwrap();
        // Killed here: the target is still the old file, the new one waits beside it.
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert_eq!(fs::read(tmp_path(&f)).unwrap(), b"new database");
        drop(staged);
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert!(!tmp_path(&f).exists());
    }

    #[test]
    fn the_files_are_synced_first_and_renamed_only_at_commit() {
        let t = tempfile::tempdir().unwrap();
        let files: Vec<Staged> = ["installed", "world"]
            .iter()
            .map(|name| {
                fs::write(t.path().join(name), b"old").unwrap();
                stage(target(&t.path().join(name)), b"new").unwrap()
            })
            .collect();
        let synced = ready(files, Durability::Fsync).unwrap();
        // Synced, not yet in place.
        assert_eq!(fs::read(t.path().join("world")).unwrap(), b"old");
        assert_eq!(fs::read(tmp_path(&t.path().join("world"))).unwrap(), b"new");
        synced.commit().unwrap();
        for name in ["installed", "world"] {
            assert_eq!(fs::read(t.path().join(name)).unwrap(), b"new");
            assert!(!tmp_path(&t.path().join(name)).exists());
        }
    }

    #[test]
    fn a_file_that_cannot_be_synced_stops_the_run_naming_it_and_the_errno() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("world");
        fs::write(&f, b"old").unwrap();
        // A read-only descriptor of a pipe: fsync answers EINVAL.
        let unsyncable = || {
            let mut staged = stage(target(&f), b"new").unwrap();
            let (r, _w) = nix::unistd::pipe().unwrap();
            staged.file = Some(File::from(r));
            staged
        };
        // Not asked to fsync: not fsynced, so nothing fails and the new file goes in place.
        ready(vec![unsyncable()], Durability::Written)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        fs::write(&f, b"old").unwrap();
        let e = ready(vec![unsyncable()], Durability::Fsync)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("cannot fsync")
                && e.contains("world.alpine-strip.tmp")
                && e.contains("os error 22"),
            "{e}"
        );
        // Nothing renamed; the temporary file went with the failed sync.
        assert_eq!(fs::read(&f).unwrap(), b"old");
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
