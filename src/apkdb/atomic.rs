//! Replacing files atomically, the way apk writes its own database.
//!
//! The new bytes go to a temporary file in the same folder, which is given the old file's mode
//! and owner, fsynced, and renamed over the old one. A reader, or a crash, sees the old file or
//! the new one, never a mix. A temporary file left by a run that was killed is removed by the
//! next one.
//!
//! The fsync waits for the disk, which costs as much as a hundred unlinks; [`sync_behind`]
//! leaves that wait to a thread, so the strip's removals go on meanwhile, and
//! [`Syncing::commit`] renames only once the thread has reported every file synced. (A forked
//! child would cost a page fault for every page the strip writes afterwards.)

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::os::thread::{self, Thread};

/// A new version of a file, written beside it, not yet synced or in place.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<File>,
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
    // A temporary file left by a killed run goes; one that is not there is not touched.
    if fs::symlink_metadata(&tmp).is_ok() {
        fs::remove_file(&tmp).map_err(|e| Error::io("cannot remove stale", &tmp, e))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create", &tmp, e))?;
    let mut staged = Staged {
        tmp,
        target: target.to_path_buf(),
        file: None,
        committed: false,
    };
    let io = |e| Error::io("cannot write", &staged.tmp, e);
    file.write_all(bytes).map_err(io)?;
    fchown(&file, Some(old.uid()), Some(old.gid())).map_err(io)?;
    file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
        .map_err(io)?;
    staged.file = Some(file);
    Ok(staged)
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Staged files being fsynced by a second thread.
pub struct Syncing {
    files: Vec<Staged>,
    thread: Option<Thread<SyncResult>>,
}

/// Which file failed to sync, and why.
type SyncResult = std::result::Result<(), (usize, io::Error)>;

/// Starts fsyncing `files` on a second thread and returns at once. The thread owns the open
/// files and closes them once they are synced.
pub fn sync_behind(mut files: Vec<Staged>) -> Syncing {
    let open: Vec<File> = files.iter_mut().filter_map(|f| f.file.take()).collect();
    let thread = (!open.is_empty()).then(|| thread::spawn(move || sync_all(&open)));
    Syncing { files, thread }
}

/// fsyncs each file in order; on failure, which one and why.
fn sync_all(files: &[File]) -> SyncResult {
    files
        .iter()
        .enumerate()
        .try_for_each(|(i, f)| f.sync_all().map_err(|e| (i, e)))
}

fn sync_error(files: &[Staged], i: usize, e: io::Error) -> Error {
    let path = files.get(i).or(files.last()).map(|f| f.tmp.clone());
    Error::io("cannot fsync", &path.unwrap_or_default(), e)
}

impl Syncing {
    /// Waits for the sync, then renames every staged file over its target.
    pub fn commit(mut self) -> Result<()> {
        self.wait()?;
        for f in &mut self.files {
            fs::rename(&f.tmp, &f.target).map_err(|e| Error::io("cannot replace", &f.target, e))?;
            f.committed = true;
        }
        Ok(())
    }

    fn wait(&mut self) -> Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let report = thread
            .join()
            .unwrap_or(Err((0, io::Error::from_raw_os_error(nix::libc::EIO))));
        report.map_err(|(i, e)| sync_error(&self.files, i, e))
    }
}

impl Drop for Syncing {
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

/// Replaces `target` with `bytes` atomically.
#[cfg(test)]
pub fn replace(target: &Path, bytes: &[u8]) -> Result<()> {
    sync_behind(vec![stage(target, bytes)?]).commit()
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
        let staged = sync_behind(vec![stage(&f, b"new database").unwrap()]);
        // Killed here: the target is still the old file, the new one waits beside it.
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert_eq!(fs::read(tmp_path(&f)).unwrap(), b"new database");
        drop(staged);
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert!(!tmp_path(&f).exists());
    }

    #[test]
    fn the_files_are_synced_by_a_thread_and_a_failure_names_file_and_errno() {
        let t = tempfile::tempdir().unwrap();
        let files: Vec<Staged> = ["installed", "world"]
            .iter()
            .map(|name| {
                fs::write(t.path().join(name), b"old").unwrap();
                stage(&t.path().join(name), b"new").unwrap()
            })
            .collect();
        let syncing = sync_behind(files);
        assert!(syncing.thread.is_some());
        assert!(
            syncing.files.iter().all(|f| f.file.is_none()),
            "the thread owns the files"
        );
        let e = sync_error(&syncing.files, 1, io::Error::from_raw_os_error(28));
        let msg = e.to_string();
        assert!(
            msg.contains("world.alpine-strip.tmp") && msg.contains("os error 28"),
            "{msg}"
        );
        syncing.commit().unwrap();
        assert_eq!(fs::read(t.path().join("world")).unwrap(), b"new");
    }

    #[test]
    fn a_file_that_cannot_be_synced_is_reported_with_its_index() {
        let t = tempfile::tempdir().unwrap();
        let ok = File::create(t.path().join("a")).unwrap();
        // A read-only descriptor of a pipe: fsync answers EINVAL.
        let (r, _w) = nix::unistd::pipe().unwrap();
        let files = [ok, File::from(r)];
        let (i, e) = sync_all(&files).unwrap_err();
        assert_eq!((i, e.raw_os_error()), (1, Some(nix::libc::EINVAL)));
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
