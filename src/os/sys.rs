//! The raw system calls nix and std do not offer as the tool needs them, each behind a safe
//! function: the one place that says `unsafe`. Everything else calls these, `nix` or `std`.

use std::ffi::{CStr, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::libc;

/// `statx(2)` of a path, not following a last symlink: `lstat` plus the file's attributes
/// (musl falls back to `fstatat` on kernels without statx; the attributes then read as none).
pub fn lstatx(c: &CStr) -> io::Result<libc::statx> {
    statx(libc::AT_FDCWD, c)
}

/// [`lstatx`] of the path `c` relative to the open folder `dir`.
pub fn lstatx_at(dir: BorrowedFd, c: &CStr) -> io::Result<libc::statx> {
    statx(dir.as_raw_fd(), c)
}

fn statx(dirfd: libc::c_int, c: &CStr) -> io::Result<libc::statx> {
    let mut st = std::mem::MaybeUninit::<libc::statx>::uninit();
    // SAFETY: `c` is NUL-terminated, `dirfd` is AT_FDCWD or an open descriptor borrowed by the
    // caller for the call, and `st` is writable for one `statx`, which the call fills on
    // success (return 0) and leaves unread otherwise.
    let rc = unsafe {
        libc::statx(
            dirfd,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_BASIC_STATS | libc::STATX_MNT_ID,
            st.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statx returned 0, so it wrote the struct.
    Ok(unsafe { st.assume_init() })
}

/// `readlinkat(2)` of the path `c` relative to the folder `dir`, into a stack buffer:
/// `std::fs::read_link` (and nix's `readlinkat`) allocate a buffer and grow it for every link,
/// and the strip reads hundreds of applet links.
pub fn read_link_at(dir: BorrowedFd, c: &CStr) -> io::Result<PathBuf> {
    read_link(dir.as_raw_fd(), c)
}

/// The target of this process's `/proc/self/exe`: the running binary, as the kernel knows it
/// (`ENOENT` without /proc). What `std::env::current_exe` reads, without its growing buffer.
pub fn proc_self_exe() -> io::Result<PathBuf> {
    read_link(libc::AT_FDCWD, c"/proc/self/exe")
}

fn read_link(dirfd: libc::c_int, c: &CStr) -> io::Result<PathBuf> {
    let mut buf = [0u8; 4096];
    // SAFETY: `dirfd` is AT_FDCWD or an open descriptor borrowed by the caller for the call,
    // `c` is a NUL-terminated path and `buf` is writable for `buf.len()` bytes; readlinkat
    // writes at most that many and returns how many it wrote, or -1.
    let n = unsafe { libc::readlinkat(dirfd, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if n == buf.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    Ok(PathBuf::from(OsStr::from_bytes(&buf[..n])))
}

/// `getauxval(AT_EXECFN)`: the path the kernel was asked to execute for this process, as given
/// to `execve` (relative to the folder the process started in when it is relative). Needs no
/// /proc, unlike `/proc/self/exe`; never `argv[0]`, which the caller chooses.
pub fn exec_path() -> Option<PathBuf> {
    /// `AT_EXECFN` from `<elf.h>`.
    const AT_EXECFN: libc::c_ulong = 31;
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave the process.
    let p = unsafe { libc::getauxval(AT_EXECFN) };
    if p == 0 {
        return None;
    }
    // SAFETY: a non-zero AT_EXECFN is the address of a NUL-terminated string the kernel put on
    // the process's initial stack, which lives as long as the process and is never written.
    let c = unsafe { CStr::from_ptr(p as *const libc::c_char) };
    Some(PathBuf::from(OsStr::from_bytes(c.to_bytes())))
}

/// Whether the signal `signo` has its default action in this process (no handler, not
/// ignored): `sigaction(2)` asked, nothing set. A process started under `nohup` ignores SIGHUP,
/// and a shell's background job SIGINT and SIGQUIT; such a signal must keep doing nothing.
pub fn has_default_action(signo: libc::c_int) -> io::Result<bool> {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only reads the current one into `old`, which is writable for
    // one `struct sigaction`; the call fills it on success (return 0) and nothing is read on
    // failure.
    let rc = unsafe { libc::sigaction(signo, std::ptr::null(), old.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigaction returned 0, so it wrote the struct.
    let old = unsafe { old.assume_init() };
    Ok(old.sa_sigaction == libc::SIG_DFL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_path_is_the_test_binary_the_kernel_ran() {
        let exe = exec_path().unwrap();
        let exe = std::env::current_dir().unwrap().join(exe);
        assert_eq!(
            std::fs::canonicalize(exe).unwrap(),
            std::env::current_exe().unwrap()
        );
    }
}
