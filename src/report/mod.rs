//! The report of a run: what was removed, skipped, dropped from the apk database and found by
//! the audit, the outcome and the exit status. Written for people ([`human`]) and, on request,
//! as JSON ([`json`]); both read the same [`Report`].

pub mod human;
pub mod json;

use std::path::PathBuf;

use crate::apkdb::DbState;
use crate::apkdb::prune::Pruned;
use crate::error::{Error, Exit};
use crate::options;
use crate::stage::apply::Skip;
use crate::stage::finding::Finding;
use crate::stage::plan::{Step, StepKind};
use crate::stage::start::Broken;
use crate::stage::start::image::OnPath;

/// What the run did, as both reports name it (`mode` in JSON): the [`options::Mode`] asked
/// for, without its settings, a dry run told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Strip the root.
    Strip,
    /// Plan only (`--dry-run`).
    DryRun,
    /// Audit only (`--check`).
    Check,
}

impl Action {
    /// What `mode` asks the run to do.
    pub fn of(mode: &options::Mode) -> Action {
        match mode {
            options::Mode::Check(_) => Action::Check,
            options::Mode::Strip(s) if s.run == options::Run::DryRun => Action::DryRun,
            options::Mode::Strip(_) => Action::Strip,
        }
    }

    /// The name in both reports (`mode` in JSON).
    pub fn label(self) -> &'static str {
        match self {
            Action::Strip => "strip",
            Action::DryRun => "dry-run",
            Action::Check => "check",
        }
    }
}

/// How a run ended; the exit status follows from it ([`Outcome::exit`]).
#[derive(Debug)]
pub enum Outcome {
    /// The strip removed what it found.
    Stripped,
    /// Nothing was left to remove.
    AlreadyStripped,
    /// A dry run: the plan, nothing changed.
    Planned,
    /// `--check`: no busybox, apk or shell.
    Distroless,
    /// `--check`: busybox, apk or a shell is there.
    NotDistroless,
    /// `--strict` and the audit found something.
    Strict,
    /// An error ended the run (a refusal and bad usage too).
    Error(Error),
    /// Removals failed that no check foresaw (an I/O error): the others were made, apk's
    /// state tells what is really there, and each failure is named.
    Incomplete(Vec<Error>),
}

impl Outcome {
    /// The name in both reports.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Stripped => "stripped",
            Outcome::AlreadyStripped => "already-stripped",
            Outcome::Planned => "planned",
            Outcome::Distroless => "distroless",
            Outcome::NotDistroless => "not-distroless",
            Outcome::Strict => "strict",
            Outcome::Error(Error::Refused(_)) => "refused",
            Outcome::Error(Error::Usage(_)) => "usage",
            Outcome::Error(Error::WillNotStart(_)) => "will-not-start",
            Outcome::Error(Error::Interrupted(_)) => "interrupted",
            Outcome::Error(_) => "failed",
            Outcome::Incomplete(_) => "incomplete",
        }
    }

    /// The exit status of a run that ended so.
    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Stripped | Outcome::AlreadyStripped | Outcome::Planned => Exit::Ok,
            Outcome::Distroless => Exit::Ok,
            Outcome::NotDistroless | Outcome::Strict => Exit::Audit,
            Outcome::Error(e) => e.exit(),
            Outcome::Incomplete(_) => Exit::Failed,
        }
    }
}

/// Everything a run reports.
#[derive(Debug)]
pub struct Report {
    /// What the run did.
    pub action: Action,
    /// The root, as the host sees it.
    pub root: PathBuf,
    /// Removed paths (planned ones in a dry run), in removal order.
    pub steps: Vec<Step>,
    /// What was left in place, and why.
    pub skipped: Vec<Skip>,
    /// Bytes of the regular files whose last link went.
    pub bytes_freed: u64,
    /// What became of the apk database; `None` where the run did not look (`--check`, a
    /// refusal, bad usage).
    pub db: Option<DbState>,
    /// What the audit found.
    pub findings: Vec<Finding>,
    /// The programs that will not start (warnings of the audit: `missing-interpreter`,
    /// `missing-library`).
    pub broken: Vec<Broken>,
    /// The glibc objects met (JSON `glibc_objects`): judged by glibc's search rules, not
    /// musl's (the start check's `Checked::glibc`); what they lack is in the findings.
    pub glibc: Vec<PathBuf>,
    /// The `--entrypoint`s named without a slash, and where `PATH` has them.
    pub on_path: Vec<OnPath>,
    /// `--prune`: the packages it removed (planned, in a dry run), with their bytes.
    pub pruned: Vec<Pruned>,
    /// Without `--prune`: the packages it would remove (a note, not a finding).
    pub prunable: Vec<Pruned>,
    /// Signs of a container that allowed stripping `/`.
    pub signals: Vec<String>,
    /// How the run ended.
    pub outcome: Outcome,
}

impl Report {
    /// A report of a run that did `action` on `root` and ended with `outcome`, nothing else
    /// said yet.
    pub fn new(action: Action, root: PathBuf, outcome: Outcome) -> Self {
        Report {
            action,
            root,
            steps: Vec::new(),
            skipped: Vec::new(),
            bytes_freed: 0,
            db: None,
            findings: Vec::new(),
            broken: Vec::new(),
            glibc: Vec::new(),
            on_path: Vec::new(),
            pruned: Vec::new(),
            prunable: Vec::new(),
            signals: Vec::new(),
            outcome,
        }
    }

    /// The report of a run that `e` ended; a malformed database is its state too.
    pub fn failed(action: Action, root: PathBuf, e: Error) -> Self {
        let db = match &e {
            Error::MalformedDb(m) => Some(DbState::Malformed(m.clone())),
            _ => None,
        };
        Report {
            db,
            ..Report::new(action, root, Outcome::Error(e))
        }
    }

    /// The exit status.
    pub fn exit(&self) -> Exit {
        self.outcome.exit()
    }

    /// The error that ended the run.
    pub fn error(&self) -> Option<&Error> {
        match &self.outcome {
            Outcome::Error(e) => Some(e),
            _ => None,
        }
    }

    /// How many removals of `kind`.
    pub fn count(&self, kind: StepKind) -> usize {
        self.steps.iter().filter(|s| s.kind == kind).count()
    }

    /// Errors and warnings among the findings.
    pub fn tally(&self) -> (usize, usize) {
        tally(&self.findings, &self.broken)
    }

    /// Whether a strip is part of the run: a missing piece then "was already missing".
    pub fn strips(&self) -> bool {
        self.action != Action::Check
    }
}

/// Errors and warnings among `findings`; a program that will not start is one warning, unless
/// its standing makes it a note (see [`notes`]).
pub fn tally(findings: &[Finding], broken: &[Broken]) -> (usize, usize) {
    let errors = findings.iter().filter(|f| f.kind.is_error()).count();
    let started = broken.iter().filter(|b| b.standing.is_warning()).count();
    (errors, findings.len() - errors + started)
}

/// The programs among `broken` that are notes: counted, never failing a run.
pub fn notes(broken: &[Broken]) -> usize {
    broken.iter().filter(|b| !b.standing.is_warning()).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Malformed;

    #[test]
    fn the_exit_status_follows_from_the_outcome() {
        let ok = [
            Outcome::Stripped,
            Outcome::AlreadyStripped,
            Outcome::Planned,
        ];
        for o in ok.into_iter().chain([Outcome::Distroless]) {
            assert_eq!(o.exit(), Exit::Ok, "{o:?}");
        }
        for o in [Outcome::NotDistroless, Outcome::Strict] {
            assert_eq!(o.exit(), Exit::Audit, "{o:?}");
        }
        let refused = Outcome::Error(Error::Refused("no".into()));
        assert_eq!(
            (refused.label(), refused.exit()),
            ("refused", Exit::Refused)
        );
        let usage = Outcome::Error(Error::Usage("no".into()));
        assert_eq!((usage.label(), usage.exit()), ("usage", Exit::Usage));
    }

    #[test]
    fn a_malformed_database_is_the_reports_db_state_and_exit_5() {
        let m = Malformed {
            path: PathBuf::from("lib/apk/db/installed"),
            line: Some(3),
            what: "no package name".into(),
        };
        let r = Report::failed(
            Action::Strip,
            PathBuf::from("/r"),
            Error::MalformedDb(m.clone()),
        );
        assert_eq!((r.outcome.label(), r.exit()), ("failed", Exit::ApkDb));
        assert!(matches!(&r.db, Some(DbState::Malformed(got)) if *got == m));
        assert!(r.error().is_some());
    }
}
