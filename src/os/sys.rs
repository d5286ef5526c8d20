//! The raw system calls, each behind a safe function: the one place (with the allocator) that
//! says `unsafe`. Everything else calls these, `nix` or `std`. Below them, the C functions the
//! static musl binary defines itself, each in place of one of musl's (or Zig's libc) that
//! would link code it never runs.

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

/// `faccessat(2)` with `W_OK` of the path `c` relative to the folder `dir`: `Ok` when this
/// process (by its real uid and gid, as `access` asks) may write to it. The system call itself:
/// musl's `faccessat` carries a fallback for `AT_EACCESS` that clones a child to ask (0.7 KiB
/// on ppc64le), and no flag is passed here. Errors: the call's errno.
pub fn may_write_at(dir: BorrowedFd, c: &CStr) -> io::Result<()> {
    // SAFETY: `dir` is an open descriptor for as long as the borrow lasts and `c` is a
    // NUL-terminated path; the kernel only reads them.
    let rc = unsafe { libc::syscall(libc::SYS_faccessat, dir.as_raw_fd(), c.as_ptr(), libc::W_OK) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getdents64(2)`: fills `buf` with `linux_dirent64` records of the open folder `fd`; how many
/// bytes it wrote (0 at the end of the folder).
pub fn getdents64(fd: BorrowedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for `buf.len()` bytes and `fd` is an open descriptor for as
    // long as the borrow lasts; the kernel writes at most that many bytes and returns how
    // many it wrote, or -1.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
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

/// A standard stream the tool writes to: the report and errors to standard error, `--json`,
/// `--help` and `--version` to standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output, file descriptor 1.
    Out,
    /// Standard error, file descriptor 2.
    Err,
}

/// Writes all of `bytes` to `stream` with `write(2)`, again after a short write or `EINTR`.
/// The tool writes each stream once, whole: std's `Stdout` (a locked, line-buffered writer
/// that splits the report at its newlines, 2.3 KiB on ppc64le) has nothing to add. Errors:
/// `write`'s errno (`EBADF` when the stream is closed, `EPIPE`), `WriteZero` if it wrote
/// nothing.
pub fn write_all(stream: Stream, mut bytes: &[u8]) -> io::Result<()> {
    let fd = match stream {
        Stream::Out => libc::STDOUT_FILENO,
        Stream::Err => libc::STDERR_FILENO,
    };
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for `bytes.len()` bytes, and `write` reads no more.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n.min(bytes.len())..],
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// libunwind's stubs for unwinding steps this binary never takes write a message to C's
/// `stderr` with `fprintf`, then `fflush(stderr)` and `abort()`: the binary never unwinds
/// (panics abort at once), yet the personality routine that refers to them is linked. Defining
/// `fprintf`, `fflush` and `stderr` here keeps musl's printf and stdio out of the static binary
/// (9 KiB and 1.6 KiB on ppc64le): nothing in it writes through C stdio (std writes to the file
/// descriptors). Only the musl builds have them: on glibc they would take the place of libc's.
#[cfg(target_env = "musl")]
// SAFETY: the symbol is defined once in the binary and replaces only musl's `fprintf`, which
// nothing but those libunwind stubs calls; it takes no arguments it would read and returns 0.
#[unsafe(no_mangle)]
pub extern "C" fn fprintf() -> libc::c_int {
    0
}

/// See [`fprintf`]: flushing C's streams, which nothing writes to, has nothing to do.
#[cfg(target_env = "musl")]
// SAFETY: as for `fprintf`: defined once, replaces only musl's `fflush`, reads no argument.
#[unsafe(no_mangle)]
pub extern "C" fn fflush() -> libc::c_int {
    0
}

/// See [`fprintf`]: C's `stderr` (a `FILE *`), null. Only the libunwind stubs name it, and
/// they pass it to this module's `fprintf` and `fflush`, which do not read it.
#[cfg(target_env = "musl")]
#[allow(non_upper_case_globals)]
// SAFETY: defined once, in place of musl's `stderr` object: a pointer-sized null that nothing
// dereferences (see above).
#[unsafe(no_mangle)]
pub static stderr: usize = 0;

/// musl's `pthread_setname_np` writes the name to `/proc/self/task/<tid>/comm`, a path it
/// formats with `snprintf`: std links it for named threads, and with it musl's printf (11.9 KiB
/// on ppc64le). The one thread the tool starts, the walk's, has no name, so std never calls it:
/// this no-op (which leaves the name as it was, and says so with 0) only keeps printf out. Only
/// the musl builds have it: on glibc it would take the place of libc's.
#[cfg(target_env = "musl")]
// SAFETY: the symbol is defined once in the binary and replaces musl's `pthread_setname_np`,
// which std calls only for a named thread (none is); it reads no argument.
#[unsafe(no_mangle)]
pub extern "C" fn pthread_setname_np() -> libc::c_int {
    0
}

/// `sysconf(3)` for the page size alone (`_SC_PAGESIZE`, from the auxiliary vector, where
/// musl's own comes from); any other name is -1 with `EINVAL`, as a name the system does not
/// know. Nothing in the binary asks for another: std reads the page size (for the guard pages
/// of a thread's stack), and its other names (`_SC_NPROCESSORS_ONLN`, ...) belong to functions
/// the tool does not call. musl's table of every POSIX limit is 1.2 KiB on ppc64le. Only the
/// musl builds have it: on glibc it would take the place of libc's.
#[cfg(target_env = "musl")]
// SAFETY: the symbol is defined once in the binary and replaces musl's `sysconf` with the same
// contract for the one name asked (see above); it reads no memory it is given.
#[unsafe(no_mangle)]
pub extern "C" fn sysconf(name: libc::c_int) -> libc::c_long {
    if name == libc::_SC_PAGESIZE {
        // SAFETY: getauxval only reads the auxiliary vector the kernel gave the process.
        let page = unsafe { libc::getauxval(libc::AT_PAGESZ) };
        return libc::c_long::try_from(page).unwrap_or(-1);
    }
    nix::errno::Errno::set_raw(libc::EINVAL);
    -1
}

/// musl's `getenv` finds the end of a variable's name with `__strchrnul`, which Zig's libc
/// implements word by word (1.2 KiB on ppc64le): the few variables the tool reads (`PATH`,
/// `LD_LIBRARY_PATH` and the like) do not need it. Returns the first byte of `s` that is `c` or
/// NUL. Only the musl builds have it (on glibc it would take the place of libc's).
///
/// # Safety
/// `s` is a NUL-terminated string.
#[cfg(target_env = "musl")]
// SAFETY: the symbol is defined once in the binary and replaces musl's internal `__strchrnul`
// with the same contract: read up to and including the first `c` or NUL, no further.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __strchrnul(
    s: *const libc::c_char,
    c: libc::c_int,
) -> *const libc::c_char {
    let mut p = s;
    // SAFETY: `s` is NUL-terminated (the caller's promise), and the loop stops at the NUL.
    unsafe {
        while *p != 0 && *p != c as libc::c_char {
            p = p.add(1);
        }
    }
    p
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
