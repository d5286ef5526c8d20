//! What a failed allocation does: it ends the run with one line and exit status 1
//! ([`crate::error::Exit::Failed`]), never a silent abort, and takes back the files the run made
//! that must not outlive it (apk's lock file when the run created it, the staged new database
//! files), so that before the first removal the tree is left as it was.
//!
//! [`out_of_memory`] is what [`crate::os::sys::Allocator`] calls ([`ALLOCATOR`] is `main.rs`'s
//! global allocator). It allocates nothing: the line is put together in a stack buffer and
//! written with one `write(2)`; the files to take back were registered beforehand, each as its
//! folder (a descriptor of its own) and name, every byte allocated before the file was made
//! ([`to_make`]), and are removed with `unlinkat(2)`; the process ends with `_exit(2)`. The line
//! says how far the run had come ([`Phase`]): nothing removed, the removals under way (the strip
//! may be incomplete: the database is renamed into place only after them, and a second run
//! finishes the job), or the strip done and only the report lost.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};

use nix::unistd::{UnlinkatFlags, unlinkat};

use super::sys::{self, Allocator};

/// The global allocator of `main.rs`: the system's, ending the run with `out_of_memory` when
/// an allocation fails.
pub const ALLOCATOR: Allocator = Allocator::new(out_of_memory);

/// How far a run has come, for the line a failed allocation writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Nothing removed yet (also a dry run and `--check`): the tree is as it was once the files
    /// the run made are taken back.
    Unchanged = 0,
    /// The removals have begun and apk's database is not yet in place.
    Removing = 1,
    /// The removals are done and apk's database is in place (or needs no change); what is left
    /// is the audit and the report.
    Done = 2,
}

/// The current [`Phase`], as its `u8`.
static PHASE: AtomicU8 = AtomicU8::new(Phase::Unchanged as u8);

/// Set by the first failed allocation: one that fails on the way out ends the process at once.
static FAILING: AtomicBool = AtomicBool::new(false);

/// How many files can be registered at once: apk's lock file and the four staged files (the
/// database, world, the triggers file, a scripts archive), with room.
const SLOTS: usize = 8;

/// Files the run made that a failed allocation takes back: each a folder and a name.
pub struct Registry {
    slots: Mutex<[Option<(OwnedFd, CString)>; SLOTS]>,
}

/// The run's files, which [`out_of_memory`] takes back.
pub static MADE: Registry = Registry::new();

/// Records how far the run has come.
pub fn entered(phase: Phase) {
    PHASE.store(phase as u8, Ordering::SeqCst);
}

/// The current phase.
fn phase() -> Phase {
    match PHASE.load(Ordering::SeqCst) {
        0 => Phase::Unchanged,
        1 => Phase::Removing,
        _ => Phase::Done,
    }
}

/// A file about to be made, with everything its registration needs already allocated: its
/// folder's own descriptor and its name. [`ToMake::made`] registers it without allocating.
pub struct ToMake((OwnedFd, CString));

/// The file `name` in `dir`, about to be made. Errors: `dup`'s (`EMFILE`).
pub fn to_make(dir: BorrowedFd, name: &CStr) -> io::Result<ToMake> {
    Ok(ToMake((dir.try_clone_to_owned()?, name.to_owned())))
}

/// A file the run made, which a failed allocation removes, until this is dropped (when the file
/// is removed by its owner, or renamed into place).
pub struct Made {
    registry: &'static Registry,
    slot: usize,
}

impl ToMake {
    /// Registers the file, now made, in `registry` ([`MADE`]); allocates nothing. Errors:
    /// `ENOBUFS` when every slot is taken (the caller then removes the file itself).
    pub fn made(self, registry: &'static Registry) -> io::Result<Made> {
        let mut slots = registry
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(slot) = slots.iter().position(Option::is_none) else {
            return Err(io::Error::from_raw_os_error(nix::libc::ENOBUFS));
        };
        slots[slot] = Some(self.0);
        Ok(Made { registry, slot })
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        let mut slots = self.registry.slots.lock();
        let slots = slots.as_mut().unwrap_or_else(|p| p.get_mut());
        let taken = slots[self.slot].take();
        drop(taken);
    }
}

impl Registry {
    /// No file.
    pub const fn new() -> Registry {
        Registry {
            slots: Mutex::new([const { None }; SLOTS]),
        }
    }

    /// Removes every registered file, newest first. The registry is only tried: held (by a
    /// registration on another thread), it is left alone.
    fn take_back(&self) {
        let slots = match self.slots.try_lock() {
            Ok(slots) => slots,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        for (dir, name) in slots.iter().rev().flatten() {
            let _ = unlinkat(dir.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// Ends the run after an allocation of `size` bytes failed: one line on standard error, the
/// files the run made removed (newest first, apk's lock file last, as its owner would), then
/// `_exit(1)`. Allocates nothing; a second failure on the way (none is expected) ends the
/// process at once, with status 1 too.
pub fn out_of_memory(size: usize) -> ! {
    if !FAILING.swap(true, Ordering::SeqCst) {
        let line = Line::out_of_memory(size, phase());
        let mut rest = line.bytes();
        while !rest.is_empty() {
            match nix::unistd::write(io::stderr(), rest) {
                Ok(0) => break,
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        MADE.take_back();
    }
    sys::exit_now(crate::error::Exit::Failed.code())
}

/// One line in a stack buffer (longer text is cut, never allocated for).
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    /// `alpine-strip: error: out of memory (an allocation of N bytes failed)...` and what it
    /// means for the tree in `phase`, with its newline.
    fn out_of_memory(size: usize, phase: Phase) -> Line {
        let mut line = Line {
            buf: [0; 256],
            len: 0,
        };
        line.push(b"alpine-strip: error: out of memory (an allocation of ");
        line.number(size);
        line.push(b" bytes failed): ");
        line.push(match phase {
            Phase::Unchanged => b"nothing was removed, the tree is as it was",
            Phase::Removing => {
                b"the removals had begun; the strip may be incomplete and apk's database not \
                  updated: run it again to finish it"
            }
            Phase::Done => {
                b"after the strip: the removals and apk's database are done, the report is lost"
            }
        });
        line.end();
        line
    }

    /// Appends `bytes`, cut to what fits (keeping room for the newline).
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - 1 - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// Appends the newline.
    fn end(&mut self) {
        self.buf[self.len] = b'\n';
        self.len += 1;
    }

    /// Appends `n` in decimal.
    fn number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_size_and_what_the_tree_is_left_as() {
        let line = Line::out_of_memory(18446744073709551615, Phase::Unchanged);
        assert_eq!(
            line.bytes(),
            b"alpine-strip: error: out of memory (an allocation of 18446744073709551615 bytes \
              failed): nothing was removed, the tree is as it was\n"
        );
        let line = Line::out_of_memory(0, Phase::Removing);
        let text = std::str::from_utf8(line.bytes()).unwrap();
        assert!(text.contains("of 0 bytes failed"), "{text}");
        assert!(text.contains("run it again to finish it\n"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        let line = Line::out_of_memory(4096, Phase::Done);
        let text = std::str::from_utf8(line.bytes()).unwrap();
        assert!(
            text.contains("of 4096 bytes failed): after the strip"),
            "{text}"
        );
    }

    #[test]
    fn a_long_line_is_cut_and_still_ends_with_its_newline() {
        let mut line = Line {
            buf: [0; 256],
            len: 0,
        };
        line.push(&[b'x'; 300]);
        line.push(b"more");
        line.end();
        assert_eq!(line.bytes().len(), 256);
        assert_eq!(line.bytes().last(), Some(&b'\n'));
        assert_eq!(line.bytes().iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn registered_files_are_taken_back_and_a_dropped_registration_is_not() {
        let t = tempfile::tempdir().unwrap();
        let dir = std::fs::File::open(t.path()).unwrap();
        // Its own registry: the other tests of this process register their files in MADE.
        static MINE: Registry = Registry::new();
        let mut made = Vec::new();
        for name in [c"lock", c"installed.alpine-strip.tmp", c"kept"] {
            std::fs::write(t.path().join(name.to_str().unwrap()), b"").unwrap();
            made.push(to_make(dir.as_fd(), name).unwrap().made(&MINE).unwrap());
        }
        // Renamed into place (or removed by its owner): no longer taken back.
        drop(made.pop());
        MINE.take_back();
        let left: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["kept"]);
        drop(made);
        assert!(MINE.slots.lock().unwrap().iter().all(Option::is_none));
    }
}
