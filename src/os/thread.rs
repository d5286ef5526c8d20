//! The second thread, for the two waits worth overlapping with the removals: the disk syncing
//! the new apk database, and the audit's walk of the whole root. `std::thread`, no `unsafe`.
//!
//! Stack: [`STACK`] bytes. The bare pthread this replaces ran the same closures on musl's
//! default of 128 KiB; walkdir keeps its folders on the heap, so a deep tree does not grow
//! the stack, and the sync is one `fsync` per file. Where no thread can be started (a process
//! limit), the closure runs at once on the caller's thread: the result is the same, only later.

use std::sync::{Arc, Mutex};
use std::thread::{Builder, JoinHandle};

/// The second thread's stack size, in bytes (mapped, not committed, until used).
pub const STACK: usize = 256 << 10;

/// A closure running on its own thread, or already run; dropping it waits for the closure.
pub struct Thread<T> {
    /// The thread, until it is joined (none when the closure ran at once).
    running: Option<JoinHandle<()>>,
    /// What the closure returned, once it has.
    out: Arc<Mutex<Option<T>>>,
}

/// A closure with its result's slot, as the thread runs it: one type for every closure, so
/// the program holds one copy of std's thread start.
type Job = Box<dyn FnOnce() + Send>;

/// Starts `f` on a new thread (or runs it now, when none can be started).
pub fn spawn<T, F>(f: F) -> Thread<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let out = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&out);
    let job: Job = Box::new(move || {
        let value = f();
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(value);
        }
    });
    Thread {
        running: start(job),
        out,
    }
}

/// Runs `job` on a new thread, or at once when none can be started (then `None`).
fn start(job: Job) -> Option<JoinHandle<()>> {
    // A failed spawn drops what it was given: the job waits here to be run either side.
    let job = Arc::new(Mutex::new(Some(job)));
    let theirs = Arc::clone(&job);
    let spawned = Builder::new().stack_size(STACK).spawn(move || {
        if let Some(job) = take(&theirs) {
            job();
        }
    });
    match spawned {
        Ok(handle) => Some(handle),
        Err(_) => {
            if let Some(job) = take(&job) {
                job();
            }
            None
        }
    }
}

/// The job, once: whichever side takes it first runs it.
fn take(job: &Mutex<Option<Job>>) -> Option<Job> {
    job.lock().ok()?.take()
}

impl<T> Thread<T> {
    /// Waits for the closure and returns what it returned; `None` only if the thread died
    /// without returning (a panic, which aborts the release binary first).
    pub fn join(mut self) -> Option<T> {
        self.wait();
        self.out.lock().ok()?.take()
    }

    fn wait(&mut self) {
        if let Some(handle) = self.running.take() {
            let _ = handle.join();
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
    use std::sync::mpsc;

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

    #[test]
    fn the_walk_fits_the_stated_stack() {
        // A deep tree: walkdir's stack of folders lives on the heap, not the thread's stack.
        let t = tempfile::tempdir().unwrap();
        let mut deep = t.path().to_path_buf();
        for _ in 0..200 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let root = t.path().to_path_buf();
        let n = spawn(move || crate::stage::audit::walk_whole_root(&root).files.len()).join();
        assert_eq!(n, Some(0));
    }
}
