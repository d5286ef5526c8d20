//! The raw system calls nix and std do not offer as the tool needs them, each behind a safe
//! function, and the global allocator that never returns a failed allocation ([`Allocator`]):
//! the one place that says `unsafe`. Everything else calls these, `nix` or `std`.

use std::alloc::{GlobalAlloc, Layout, System};
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

/// `_exit(2)`: ends the process at once with `status`, running nothing of the program's (no
/// destructor, no `atexit` handler, no flush of a buffer; the kernel closes the descriptors,
/// which releases a `flock`). nix has no wrapper for it; `std::process::exit` flushes std's
/// buffered standard output first, which a failed allocation must not wait on.
pub fn exit_now(status: u8) -> ! {
    // SAFETY: _exit takes a plain integer, touches no memory of the process and never returns.
    unsafe { libc::_exit(libc::c_int::from(status)) }
}

/// `capget(2)`'s header and one of its two data words (version 3: 64 capabilities).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Whether capability number `cap` (`CAP_FOWNER` is 3) is in this process's effective set.
pub fn has_capability(cap: u32) -> io::Result<bool> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 of capget reads one header and writes two data words; both live, and
    // are writable, for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let word = data.get((cap / 32) as usize).map_or(0, |d| d.effective);
    Ok(word & (1 << (cap % 32)) != 0)
}

/// The system's allocator (the libc's `malloc`, as `std::alloc::System` calls it: musl's, or
/// zig's in the size-tuned build; nothing added, no size classes) with one difference: an
/// allocation that fails calls `fail` with the size asked for, which ends the process, instead
/// of returning null to std (whose answer is an abort without a word: SIGILL in the size-tuned
/// build, SIGABRT in the stock one). Installed by `main.rs` as the `#[global_allocator]`; `fail`
/// must not allocate.
pub struct Allocator {
    fail: fn(usize) -> !,
}

impl Allocator {
    /// The system's allocator, calling `fail` on a failed allocation.
    pub const fn new(fail: fn(usize) -> !) -> Allocator {
        Allocator { fail }
    }

    /// `p`, or `fail(size)` when `p` is null.
    fn checked(&self, p: *mut u8, size: usize) -> *mut u8 {
        if p.is_null() {
            (self.fail)(size)
        }
        p
    }
}

// SAFETY: every call is passed to `System` with the caller's arguments unchanged, so each
// method keeps `System`'s guarantees (a block of the layout asked for, or null); a null is
// never returned, `fail` (which does not return) is called instead, which `GlobalAlloc`
// allows: it does not require an allocation that fails to return.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller keeps `alloc`'s contract (a layout of non-zero size), `System`'s.
        self.checked(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        self.checked(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller keeps `realloc`'s contract: `ptr` came from this allocator, that
        // is from `System` (every block does), with `layout`, and `new_size` is valid for it.
        self.checked(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller keeps `dealloc`'s contract: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
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

    /// A `fail` for the tests: unwinds with the size asked for (a test may unwind).
    fn unwind_with_size(size: usize) -> ! {
        std::panic::panic_any(size)
    }

    #[test]
    fn a_failed_allocation_calls_fail_with_its_size_instead_of_returning_null() {
        let a = Allocator::new(unwind_with_size);
        // More than any address space holds: malloc answers ENOMEM without trying.
        let huge = Layout::from_size_align(isize::MAX as usize - 4095, 1).unwrap();
        for call in [0, 1, 2] {
            let asked = std::panic::catch_unwind(|| {
                // SAFETY: a layout of non-zero size; the small block comes from `a` with `small`.
                unsafe {
                    let small = Layout::from_size_align(16, 8).unwrap();
                    match call {
                        0 => a.alloc(huge),
                        1 => a.alloc_zeroed(huge),
                        _ => a.realloc(a.alloc(small), small, huge.size()),
                    }
                }
            });
            let asked = *asked.unwrap_err().downcast::<usize>().unwrap();
            assert_eq!(asked, huge.size(), "call {call}");
        }
        // SAFETY: a layout of non-zero size, freed with the same layout.
        unsafe {
            let small = Layout::from_size_align(64, 8).unwrap();
            let p = a.alloc_zeroed(small);
            assert!(!p.is_null());
            assert_eq!(*p.add(63), 0);
            a.dealloc(p, small);
        }
    }
}
