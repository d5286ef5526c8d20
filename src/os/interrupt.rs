//! Holding off the signals that ask a process to end (SIGHUP, SIGINT, SIGQUIT, SIGTERM: a
//! closed terminal, Ctrl-C, an engine cancelling a build) while the tree changes, so that an
//! interrupted strip is never half done. They are blocked from the run's first change to the
//! tree (apk's lock file) until the process has written its report and cleaned up (the hold is
//! dropped last, in `main`); one that came before the first removal is taken by the caller,
//! which discards what it staged and stops with the tree as it was; one that comes later takes
//! effect when the hold
//! ends: the removals done, the database in place, the report written, apk's lock file gone if
//! the run made it. As PID 1 of a container, where the kernel drops these signals for a process
//! that does not handle them, one that comes later is dropped then. A signal the process was
//! started ignoring (`nohup`, a shell's background job) is not held and keeps doing nothing.
//! SIGKILL cannot be held: an engine sends it seconds after SIGTERM, the removals take
//! milliseconds.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::sys;

/// The signals held: those whose default action ends the process and that people and engines
/// send to stop one.
const ASK_TO_END: [Signal; 4] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
];

/// The held signals, from [`Held::start`] until dropped (the mask the process had is then
/// restored, and a held signal that came and was not taken takes effect).
pub struct Held {
    /// The signal mask before the hold.
    before: SigSet,
    /// Where a held signal that came can be taken without being delivered (non-blocking).
    arrived: SignalFd,
}

impl Held {
    /// Blocks SIGHUP, SIGINT, SIGQUIT and SIGTERM where they have their default action.
    /// Errors: those of `sigaction`, `sigprocmask` and `signalfd` (nothing is held then).
    pub fn start() -> std::io::Result<Held> {
        let mut held = SigSet::empty();
        for s in ASK_TO_END {
            if sys::has_default_action(s as i32)? {
                held.add(s);
            }
        }
        let arrived = SignalFd::with_flags(&held, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        let before = held.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        Ok(Held { before, arrived })
    }

    /// The held signal that came since the hold started, if one did (the first taken when
    /// several did): every one that came is taken, so that none ends the process any more (the
    /// caller stops in order instead). A failed read (none is expected of a `signalfd`) takes
    /// nothing: a signal then stays held, and takes effect when the hold ends.
    pub fn arrived(&self) -> Option<Signal> {
        let mut first = None;
        while let Ok(Some(info)) = self.arrived.read_signal() {
            let held = ASK_TO_END.into_iter().find(|&s| s as u32 == info.ssi_signo);
            first = first.or(held);
        }
        first
    }
}

/// Blocks SIGXFSZ for the calling thread (and the threads it starts) for the rest of the
/// process's life: a write over the file size limit (`ulimit -f`) then fails with EFBIG, an
/// error like ENOSPC with its path, instead of ending the process without a word. Called
/// before [`Held::start`], whose restored mask keeps it blocked.
pub fn file_size_limit_as_error() -> std::io::Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGXFSZ);
    set.thread_block()?;
    Ok(())
}

/// The name of a held signal (`SIGTERM`); nix's table of every signal's name weighs more.
pub fn name(signal: Signal) -> &'static str {
    match signal {
        Signal::SIGHUP => "SIGHUP",
        Signal::SIGINT => "SIGINT",
        Signal::SIGQUIT => "SIGQUIT",
        Signal::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // The mask cannot fail to be restored (sigprocmask fails only for a bad `how`).
        let _ = self.before.thread_set_mask();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::raise;

    #[test]
    fn held_signals_wait_and_are_taken_instead_of_ending_the_process() {
        // SIGTERM and SIGHUP: a shell's background job (`make test &`) ignores SIGINT and
        // SIGQUIT, and an ignored signal is not held.
        let held = Held::start().unwrap();
        assert_eq!(held.arrived(), None, "nothing came yet");
        // raise() sends to this thread, which holds them: were one delivered, the test process
        // would end here (their default action).
        raise(Signal::SIGTERM).unwrap();
        raise(Signal::SIGHUP).unwrap();
        assert_eq!(
            held.arrived(),
            Some(Signal::SIGHUP),
            "the lower number first"
        );
        assert_eq!(held.arrived(), None, "both taken at once");
        drop(held);
        let now = SigSet::thread_get_mask().unwrap();
        assert!(!now.contains(Signal::SIGTERM), "the mask is restored");
    }
}
