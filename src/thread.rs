//! A second thread: one closure on a bare pthread, joined for its result.
//!
//! The strip has two waits worth overlapping with its removals: the disk syncing the new apk
//! database, and the audit's walk of the whole root. `std::thread` would add 24 KiB to a binary
//! whose budget is 128 KiB; musl's `pthread_create` is already linked. Where no thread can be
//! started (a process limit), the closure runs at once on the caller's thread: the result is
//! the same, only later.

use std::mem::MaybeUninit;
use std::ptr::null_mut;

use nix::libc;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};

    #[test]
    fn the_closure_runs_on_another_thread_and_its_result_comes_back() {
        let me = unsafe { libc::pthread_self() };
        let t = spawn(move || (unsafe { libc::pthread_self() } != me, vec![1, 2, 3]));
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
