//! The report of a run: what was removed, skipped, dropped from the apk database and found by
//! the audit, the outcome and the exit status. Written for people ([`human`]) and, on request,
//! as JSON ([`json`]); both read the same [`Report`].

pub mod human;
pub mod json;

use std::path::PathBuf;

use crate::apkdb::Package;
use crate::apkdb::prune::Pruned;
use crate::error::{Error, exit};
use crate::stage::apply::Skip;
use crate::stage::audit::Finding;
use crate::stage::plan::{Step, StepKind};
use crate::stage::start::Broken;

/// Shows a path inside the root the way a process in the root would name it.
pub fn show(rel: &std::path::Path) -> String {
    format!("/{}", rel.display())
}

/// What kind of run this was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Strip the root.
    Strip,
    /// Plan only (`--dry-run`).
    DryRun,
    /// Audit only (`--check`).
    Check,
}

impl Mode {
    /// The name in both reports.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Strip => "strip",
            Mode::DryRun => "dry-run",
            Mode::Check => "check",
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// An error ended the run.
    Failed,
    /// Stripping `/` was refused outside a container build.
    Refused,
    /// An `--entrypoint` would not start: nothing was removed.
    WillNotStart,
    /// The command line was not understood.
    Usage,
}

impl Outcome {
    /// The name in both reports.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Stripped => "stripped",
            Outcome::AlreadyStripped => "already-stripped",
            Outcome::Planned => "planned",
            Outcome::Distroless => "distroless",
            Outcome::NotDistroless => "not-distroless",
            Outcome::Strict => "strict",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::WillNotStart => "will-not-start",
            Outcome::Usage => "usage",
        }
    }
}

/// What happened to the apk database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbStatus {
    /// There is none.
    Absent,
    /// `--keep-apk-db`.
    Kept,
    /// It could not be parsed; nothing was removed.
    Malformed,
    /// Records or world changed.
    Updated,
    /// Nothing in it changed.
    Unchanged,
    /// A dry run: it would change.
    Planned,
}

impl DbStatus {
    /// The name in both reports.
    pub fn label(self) -> &'static str {
        match self {
            DbStatus::Absent => "absent",
            DbStatus::Kept => "kept",
            DbStatus::Malformed => "malformed",
            DbStatus::Updated => "updated",
            DbStatus::Unchanged => "unchanged",
            DbStatus::Planned => "planned",
        }
    }
}

/// What happened to the apk database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbReport {
    /// What became of it; `None` where the run did not look (`--check`, a refusal).
    pub status: Option<DbStatus>,
    /// Packages that left the database.
    pub dropped: Vec<Package>,
    /// Packages that stay without the entries of files the strip removed.
    pub trimmed: Vec<Package>,
    /// The parse error of a malformed database, with its path.
    pub error: Option<String>,
}

/// Everything a run reports.
#[derive(Debug)]
pub struct Report {
    /// What kind of run.
    pub mode: Mode,
    /// The root, as the host sees it.
    pub root: PathBuf,
    /// Removed paths (planned ones in a dry run), in removal order.
    pub steps: Vec<Step>,
    /// What was left in place, and why.
    pub skipped: Vec<Skip>,
    /// Bytes of the regular files whose last link went.
    pub bytes_freed: u64,
    /// What became of the apk database.
    pub db: DbReport,
    /// What the audit found.
    pub findings: Vec<Finding>,
    /// The programs that will not start (warnings of the audit: `missing-interpreter`,
    /// `missing-library`).
    pub broken: Vec<Broken>,
    /// `--prune`: the packages it removed (planned, in a dry run), with their bytes.
    pub pruned: Vec<Pruned>,
    /// Without `--prune`: the packages it would remove (a note, not a finding).
    pub prunable: Vec<Pruned>,
    /// Signs of a container that allowed stripping `/`.
    pub signals: Vec<String>,
    /// How the run ended.
    pub outcome: Outcome,
    /// The exit status.
    pub exit_code: i32,
    /// The one-line error that ended the run.
    pub error: Option<String>,
}

impl Report {
    /// An empty report of a run of `mode` on `root`.
    pub fn new(mode: Mode, root: PathBuf) -> Self {
        Report {
            mode,
            root,
            steps: Vec::new(),
            skipped: Vec::new(),
            bytes_freed: 0,
            db: DbReport::default(),
            findings: Vec::new(),
            broken: Vec::new(),
            pruned: Vec::new(),
            prunable: Vec::new(),
            signals: Vec::new(),
            outcome: Outcome::Failed,
            exit_code: exit::OK,
            error: None,
        }
    }

    /// Ends the report with an error.
    pub fn fail(&mut self, e: &Error) {
        self.outcome = match e {
            Error::Refused(_) => Outcome::Refused,
            Error::Usage(_) => Outcome::Usage,
            Error::WillNotStart(_) => Outcome::WillNotStart,
            Error::Io { .. } | Error::Input { .. } | Error::MalformedDb(_) => Outcome::Failed,
        };
        self.exit_code = e.exit_code();
        self.error = Some(e.to_string());
    }

    /// How many removals of `kind`.
    pub fn count(&self, kind: StepKind) -> usize {
        self.steps.iter().filter(|s| s.kind == kind).count()
    }

    /// Errors and warnings among the findings; a program that will not start is one warning.
    pub fn tally(&self) -> (usize, usize) {
        let errors = self.findings.iter().filter(|f| f.kind.is_error()).count();
        (errors, self.findings.len() - errors + self.broken.len())
    }

    /// Whether a strip is part of the run: a missing piece then "was already missing".
    pub fn strips(&self) -> bool {
        self.mode != Mode::Check
    }
}
