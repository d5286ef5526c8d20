//! The raw system calls, each behind a safe function: the one place (with the allocator) that
//! says `unsafe`. Everything else calls these, `nix` or `std`.
//!
//! It also holds the second thread ([`spawn`]): one closure on a bare pthread, joined for its
//! result, for the two waits worth overlapping with the removals (the disk syncing the new apk
//! database, the audit's walk of the whole root). `std::thread` would need no `unsafe` but adds
//! 24.7 KiB (x86_64: 144,856 -> 169,536 bytes), and the ppc64le build is already near the 192 KiB
//! budget; musl's `pthread_create` is linked anyway. Where no thread can be started (a process
//! limit), the closure runs at once on the caller's thread: the result is the same, only later.

use std::ffi::{CStr, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::null_mut;

use nix::libc;

/// `statx(2)` of a path, not following a last symlink: `lstat` plus the file's attributes
/// (musl falls back to `fstatat` on kernels without statx; the attributes then read as none).
pub fn lstatx(c: &CStr) -> io::Result<libc::statx> {
    statx(libc::AT_FDCWD, c)
}

/// [`lstatx`] of the entry `name` of the open folder `dir` (no path lookup from the root).
pub fn lstatx_at(dir: BorrowedFd, name: &CStr) -> io::Result<libc::statx> {
    statx(dir.as_raw_fd(), name)
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
            libc::STATX_BASIC_STATS,
            st.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statx returned 0, so it wrote the struct.
    Ok(unsafe { st.assume_init() })
}

/// `readlink(2)` into a stack buffer: `std::fs::read_link` allocates a buffer, grows it and
/// shrinks it for every link, and the strip reads hundreds of applet links.
pub fn read_link(c: &CStr) -> io::Result<PathBuf> {
    let mut buf = [0u8; 4096];
    // SAFETY: `c` is a NUL-terminated path and `buf` is writable for `buf.len()` bytes;
    // readlink writes at most that many and returns how many it wrote, or -1.
    let n = unsafe { libc::readlink(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if n == buf.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    Ok(PathBuf::from(OsStr::from_bytes(&buf[..n])))
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

/// A closure running on its own thread, or already run.
pub struct Thread<T> {
    /// Boxed so that the thread's pointer to it survives this struct being moved.
    slot: Box<Slot<T>>,
    tid: Option<libc::pthread_t>,
}

type Job<T> = Box<dyn FnOnce() -> T + Send>;

struct Slot<T> {
    job: Option<Job<T>>,
    out: Option<T>,
}

/// Starts `f` on a new thread (or runs it now, when none can be started).
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Thread<T> {
    let mut slot = Box::new(Slot {
        job: Some(Box::new(f) as Job<T>),
        out: None,
    });
    let mut tid = MaybeUninit::<libc::pthread_t>::uninit();
    let arg: *mut Slot<T> = &mut *slot;
    // SAFETY: `run::<T>` reads and writes the boxed slot, which stays where it is and is not
    // touched by this thread until the new one is joined (in `join`, or on drop).
    let rc =
        unsafe { libc::pthread_create(tid.as_mut_ptr(), std::ptr::null(), run::<T>, arg.cast()) };
    if rc != 0 {
        if let Some(job) = slot.job.take() {
            slot.out = Some(job());
        }
        return Thread { slot, tid: None };
    }
    // SAFETY: pthread_create succeeded, so it wrote the thread's id.
    let tid = Some(unsafe { tid.assume_init() });
    Thread { slot, tid }
}

extern "C" fn run<T>(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `arg` is the boxed slot given in `spawn`, which only this thread touches until
    // it is joined.
    let slot = unsafe { &mut *arg.cast::<Slot<T>>() };
    if let Some(job) = slot.job.take() {
        slot.out = Some(job());
    }
    null_mut()
}

impl<T> Thread<T> {
    /// Waits for the closure and returns what it returned; `None` only if the thread could not
    /// be joined (which the OS does not do for a thread started here).
    pub fn join(mut self) -> Option<T> {
        self.wait();
        self.slot.out.take()
    }

    fn wait(&mut self) {
        if let Some(tid) = self.tid.take() {
            // SAFETY: `tid` is a joinable thread started by `spawn`, joined only here, once.
            unsafe { libc::pthread_join(tid, null_mut()) };
        }
    }
}

impl<T> Drop for Thread<T> {
    fn drop(&mut self) {
        self.wait();
    }
}

/// libunwind's stubs for unwinding steps this binary never takes print a message with
/// `fprintf` before they `abort()`: the binary never unwinds (panics abort at once), yet the
/// personality routine that refers to them is linked. Defining `fprintf` here keeps musl's
/// printf machinery (9 KiB on ppc64le and arm) out of the static binary; nothing in it prints
/// through C stdio. Only the musl builds have it: on glibc it would take the place of libc's.
#[cfg(target_env = "musl")]
// SAFETY: the symbol is defined once in the binary and replaces only musl's `fprintf`, which
// nothing but those libunwind stubs calls; it takes no arguments it would read and returns 0.
#[unsafe(no_mangle)]
pub extern "C" fn fprintf() -> libc::c_int {
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};

    #[test]
    fn exec_path_is_the_test_binary_the_kernel_ran() {
        let exe = exec_path().unwrap();
        let exe = std::env::current_dir().unwrap().join(exe);
        assert_eq!(
            std::fs::canonicalize(exe).unwrap(),
            std::env::current_exe().unwrap()
        );
    }

    #[test]
    fn the_closure_runs_on_another_thread_and_its_result_comes_back() {
        let me = std::thread::current().id();
        let t = spawn(move || (std::thread::current().id() != me, vec![1, 2, 3]));
        assert_eq!(t.join(), Some((true, vec![1, 2, 3])));
    }

    #[test]
    fn the_caller_goes_on_while_the_closure_runs() {
        let (tx, rx) = mpsc::channel::<()>();
        let t = spawn(move || rx.recv_timeout(std::time::Duration::from_secs(5)).is_ok());
        // The closure waits for this message: had spawn run it inline, it would time out.
        tx.send(()).unwrap();
        assert_eq!(t.join(), Some(true));
    }

    #[test]
    fn dropping_without_join_still_waits_for_the_closure() {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let t = spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            d.store(true, Ordering::SeqCst);
        });
        drop(t);
        assert!(done.load(Ordering::SeqCst));
    }
}
