//! Holding off the signals that ask a process to end (SIGHUP, SIGINT, SIGQUIT, SIGTERM: a
//! closed terminal, Ctrl-C, an engine cancelling a build) while the tree changes, so that an
//! interrupted strip is never half done. They are blocked from the staging of the new database
//! to its commit; one that came before the first removal is taken by the caller, which discards
//! what it staged and stops with the tree as it was; one that comes later takes effect when the
//! hold ends, with the removals done and the database in place. A signal the process was
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
/// restored, and a held signal that came takes effect).
pub struct Held {
    /// The signal mask before the hold.
    before: SigSet,
    /// Where a held signal that came can be taken without being delivered (non-blocking).
    arrived: SignalFd,
}

impl Held {
    /// Blocks the signals of [`ASK_TO_END`] that have their default action. Errors: those of
    /// `sigaction`, `sigprocmask` and `signalfd` (the hold is not started then).
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

    /// The held signal that came since the hold started, if one did: taken, so that it no
    /// longer ends the process (the caller stops in order instead). Errors: `read(2)`'s.
    pub fn arrived(&self) -> std::io::Result<Option<Signal>> {
        let Some(info) = self.arrived.read_signal()? else {
            return Ok(None);
        };
        let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
        Ok(Signal::try_from(signo).ok())
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
    fn a_held_signal_waits_and_is_taken_instead_of_ending_the_process() {
        let held = Held::start().unwrap();
        assert_eq!(held.arrived().unwrap(), None, "nothing came yet");
        // raise() sends to this thread, which holds it: were it delivered, the test process
        // would end here (SIGQUIT's default action).
        raise(Signal::SIGQUIT).unwrap();
        assert_eq!(held.arrived().unwrap(), Some(Signal::SIGQUIT));
        assert_eq!(held.arrived().unwrap(), None, "taken once");
        drop(held);
        let now = SigSet::thread_get_mask().unwrap();
        assert!(!now.contains(Signal::SIGQUIT), "the mask is restored");
    }
}
