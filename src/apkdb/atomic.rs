//! Replacing files atomically, the way apk writes its own database.
//!
//! The new bytes go to a temporary file in the same folder, which is given the old file's mode
//! and owner, fsynced, and renamed over the old one. A reader, or a crash, sees the old file or
//! the new one, never a mix. A temporary file left by a run that was killed is removed by the
//! next one.
//!
//! The fsync waits for the disk, which costs as much as a hundred unlinks; [`sync_behind`]
//! leaves that wait to a thread, so the strip's removals go on meanwhile, and
//! [`Syncing::commit`] renames only once the thread has reported every file synced. The thread
//! is a bare `pthread` that calls `fsync` and nothing else: a forked child would cost a page
//! fault for every page the strip writes afterwards, and `std::thread` 24 KiB of binary.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, fchown};
use std::path::{Path, PathBuf};

use std::os::fd::{AsRawFd, RawFd};
use std::ptr::null_mut;

use nix::libc;

use crate::error::{Error, Result};

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
        file: None,
        committed: false,
    };
    let io = |e| Error::io("cannot write", &staged.tmp, e);
    let mut file = file;
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

/// Staged files being fsynced, by a thread when one could be started.
pub struct Syncing {
    files: Vec<Staged>,
    /// The open files, kept open until the thread is joined; `fds` are theirs, boxed so that
    /// the thread's pointer to them survives this struct being moved.
    open: Vec<File>,
    fds: Box<Fds>,
    thread: Option<libc::pthread_t>,
}

/// Starts fsyncing `files` and returns at once; where no thread can be started (a process
/// limit) the files are synced here before returning.
pub fn sync_behind(mut files: Vec<Staged>) -> Result<Syncing> {
    let open: Vec<File> = files.iter_mut().filter_map(|f| f.file.take()).collect();
    let fds = Box::new(Fds(open.iter().map(|f| f.as_raw_fd()).collect()));
    let mut s = Syncing {
        files,
        open,
        fds,
        thread: None,
    };
    if s.fds.0.is_empty() {
        return Ok(s);
    }
    let mut tid = std::mem::MaybeUninit::<libc::pthread_t>::uninit();
    // SAFETY: `sync_fds` reads the boxed `fds` vector, which stays where it is, and whose files
    // stay open, until the thread is joined (in `wait`, also run on drop).
    let rc = unsafe {
        libc::pthread_create(
            tid.as_mut_ptr(),
            std::ptr::null(),
            sync_fds,
            (&*s.fds as *const Fds).cast_mut().cast(),
        )
    };
    if rc == 0 {
        // SAFETY: pthread_create succeeded, so it wrote the thread's id.
        s.thread = Some(unsafe { tid.assume_init() });
    } else {
        s.check(sync_fds_now(&s.fds.0))?;
    }
    Ok(s)
}

/// The descriptors the syncing thread is given.
struct Fds(Vec<RawFd>);

/// The syncing thread: fsyncs the descriptors of the [`Fds`] at `arg`, returns
/// [`sync_fds_now`]'s report as a pointer-sized number.
extern "C" fn sync_fds(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `arg` is the boxed `Fds` given in `sync_behind`, alive until the join.
    let fds = unsafe { &*arg.cast_const().cast::<Fds>() };
    null_mut::<libc::c_void>().wrapping_byte_add(sync_fds_now(&fds.0))
}

/// fsyncs each descriptor in order: 0 when all are synced, else `(index + 1) << 16 | errno`.
fn sync_fds_now(fds: &[RawFd]) -> usize {
    for (i, &fd) in fds.iter().enumerate() {
        // SAFETY: fsync on a descriptor the caller keeps open.
        if unsafe { libc::fsync(fd) } != 0 {
            let errno = io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            return ((i + 1) << 16) | (errno as usize & 0xffff);
        }
    }
    0
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
        let Some(tid) = self.thread.take() else {
            return Ok(());
        };
        let mut ret: *mut libc::c_void = null_mut();
        // SAFETY: `tid` is a thread started by `sync_behind` and joined only here, once.
        let rc = unsafe { libc::pthread_join(tid, &mut ret) };
        let report = if rc == 0 {
            ret.addr()
        } else {
            1 << 16 | libc::EIO as usize
        };
        self.open.clear();
        self.check(report)
    }

    /// Turns a [`sync_fds_now`] report into an error naming the file and the errno.
    fn check(&self, report: usize) -> Result<()> {
        match report {
            0 => Ok(()),
            r => Err(sync_error(
                &self.files,
                (r >> 16).saturating_sub(1),
                io::Error::from_raw_os_error((r & 0xffff) as i32),
            )),
        }
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
        // fsync does not fail on demand; the error the thread's report becomes is checked.
        let e = sync_error(&files, 1, io::Error::from_raw_os_error(nix::libc::ENOSPC));
        let msg = e.to_string();
        assert!(
            msg.contains("world.alpine-strip.tmp") && msg.contains("os error 28"),
            "{msg}"
        );
        let syncing = sync_behind(files).unwrap();
        assert!(
            syncing.files.iter().all(|f| f.file.is_none()),
            "the thread holds the files"
        );
        syncing.commit().unwrap();
        assert_eq!(fs::read(t.path().join("world")).unwrap(), b"new");
    }

    #[test]
    fn a_closed_descriptor_is_reported_with_its_index() {
        let r = sync_fds_now(&[-1]);
        assert_eq!((r >> 16, (r & 0xffff) as i32), (1, libc::EBADF));
        assert_eq!(sync_fds_now(&[]), 0);
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
