//! Replacing files atomically, the way apk writes its own database.
//!
//! The new bytes go to a temporary file in the same folder, which is given the old file's mode
//! and owner, fsynced, and renamed over the old one. A reader, or a crash, sees the old file or
//! the new one, never a mix. A temporary file left by a run that was killed is removed by the
//! next one.
//!
//! The fsync waits for the disk, which costs as much as a hundred unlinks; [`sync_behind`]
//! leaves that wait to a child process, so the strip's removals go on meanwhile, and
//! [`Syncing::commit`] renames only once the child has reported every file synced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use crate::error::{Error, Result};

/// A new version of a file, written beside it, not yet synced or in place.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    file: File,
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
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create", &tmp, e))?;
    let mut staged = Staged {
        tmp,
        target: target.to_path_buf(),
        file,
        committed: false,
    };
    let io = |e| Error::io("cannot write", &staged.tmp, e);
    staged.file.write_all(bytes).map_err(io)?;
    fchown(&staged.file, Some(old.uid()), Some(old.gid())).map_err(io)?;
    staged
        .file
        .set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
        .map_err(io)?;
    Ok(staged)
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Staged files being fsynced, by a child process when one could be started.
pub struct Syncing {
    files: Vec<Staged>,
    child: Option<Pid>,
}

/// Starts fsyncing `files` and returns at once; where no child process can be started (a
/// seccomp policy, a process limit) the files are synced here before returning.
pub fn sync_behind(files: Vec<Staged>) -> Result<Syncing> {
    if files.is_empty() {
        return Ok(Syncing { files, child: None });
    }
    // SAFETY: the process has one thread; the child only calls fsync and _exit.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let status = sync_all(&files)
                .err()
                .map_or(0, |(i, e)| child_status(i, &e));
            // SAFETY: _exit ends the child without running the parent's destructors (which
            // would remove the staged files) or flushing its buffers a second time.
            unsafe { nix::libc::_exit(status) }
        }
        Ok(ForkResult::Parent { child }) => Ok(Syncing {
            files,
            child: Some(child),
        }),
        Err(_) => {
            sync_all(&files).map_err(|(i, e)| sync_error(&files, i, e))?;
            Ok(Syncing { files, child: None })
        }
    }
}

/// fsyncs each file in order; on failure, which one and why.
fn sync_all(files: &[Staged]) -> std::result::Result<(), (usize, io::Error)> {
    files
        .iter()
        .enumerate()
        .try_for_each(|(i, f)| f.file.sync_all().map_err(|e| (i, e)))
}

/// The child's exit status for file `i` failing with `e`: the errno in the low 7 bits (EIO for
/// the rare errno above 127), the file's index above them. Never 0.
fn child_status(i: usize, e: &io::Error) -> i32 {
    let errno = e
        .raw_os_error()
        .filter(|n| (1..128).contains(n))
        .unwrap_or(nix::libc::EIO);
    errno | ((i.min(1) as i32) << 7)
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
        let Some(child) = self.child.take() else {
            return Ok(());
        };
        let status = loop {
            match waitpid(child, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other,
            }
        };
        let (i, errno) = match status {
            Ok(WaitStatus::Exited(_, 0)) => return Ok(()),
            Ok(WaitStatus::Exited(_, code)) => ((code >> 7) as usize, code & 0x7f),
            _ => (0, nix::libc::EIO),
        };
        Err(sync_error(
            &self.files,
            i,
            io::Error::from_raw_os_error(errno),
        ))
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
    sync_behind(vec![stage(target, bytes)?])?.commit()
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
        let staged = sync_behind(vec![stage(&f, b"new database").unwrap()]).unwrap();
        // Killed here: the target is still the old file, the new one waits beside it.
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert_eq!(fs::read(tmp_path(&f)).unwrap(), b"new database");
        drop(staged);
        assert_eq!(fs::read(&f).unwrap(), b"old database");
        assert!(!tmp_path(&f).exists());
    }

    #[test]
    fn a_sync_failure_names_the_file_and_the_errno() {
        let t = tempfile::tempdir().unwrap();
        let files: Vec<Staged> = ["installed", "world"]
            .iter()
            .map(|name| {
                fs::write(t.path().join(name), b"old").unwrap();
                stage(&t.path().join(name), b"new").unwrap()
            })
            .collect();
        for (i, errno) in [(0, nix::libc::ENOSPC), (1, nix::libc::EIO), (1, 133)] {
            let code = child_status(i, &io::Error::from_raw_os_error(errno));
            assert_ne!(code, 0);
            assert!((0..256).contains(&code), "{code} is not an exit status");
            let e = sync_error(
                &files,
                (code >> 7) as usize,
                io::Error::from_raw_os_error(code & 0x7f),
            );
            let name = if i == 0 { "installed" } else { "world" };
            let want = if errno == 133 { nix::libc::EIO } else { errno };
            let msg = e.to_string();
            assert!(
                msg.contains(name) && msg.contains(&format!("os error {want}")),
                "{msg}"
            );
        }
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
