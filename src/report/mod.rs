//! The report of a run: what was removed, skipped, dropped from the apk database and found by
//! the audit, the outcome and the exit status. Written for people ([`human`]) and, on request,
//! as JSON ([`json`]); both read the same [`Report`].

pub mod human;
pub mod json;

use std::path::PathBuf;

use crate::apkdb::Package;
use crate::apply::Skip;
use crate::audit::Finding;
use crate::error::{Error, exit};
use crate::plan::{Kind, Step};

/// What kind of run this was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Strip,
    DryRun,
    Check,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Strip => "strip",
            Mode::DryRun => "dry-run",
            Mode::Check => "check",
        }
    }
}

/// What happened to the apk database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbReport {
    /// `absent`, `kept`, `malformed`, `updated`, `unchanged` (or `planned` in a dry run).
    pub status: &'static str,
    pub dropped: Vec<Package>,
    /// Packages that stay without the entries of files the strip removed.
    pub trimmed: Vec<Package>,
    /// The parse error of a malformed database, with its path.
    pub error: Option<String>,
}

/// Everything a run reports.
#[derive(Debug)]
pub struct Report {
    pub mode: Mode,
    pub root: PathBuf,
    /// Removed paths (planned ones in a dry run), in removal order.
    pub steps: Vec<Step>,
    pub skipped: Vec<Skip>,
    pub bytes_freed: u64,
    pub db: DbReport,
    pub findings: Vec<Finding>,
    /// Signs of a container that allowed stripping `/`.
    pub signals: Vec<String>,
    pub outcome: &'static str,
    pub exit_code: i32,
    /// The one-line error that ended the run.
    pub error: Option<String>,
}

impl Report {
    pub fn new(mode: Mode, root: PathBuf) -> Self {
        Report {
            mode,
            root,
            steps: Vec::new(),
            skipped: Vec::new(),
            bytes_freed: 0,
            db: DbReport::default(),
            findings: Vec::new(),
            signals: Vec::new(),
            outcome: "",
            exit_code: exit::OK,
            error: None,
        }
    }

    /// Ends the report with an error.
    pub fn fail(&mut self, e: &Error) {
        self.outcome = match e {
            Error::Refused(_) => "refused",
            Error::Usage(_) => "usage",
            Error::Io { .. } | Error::Input { .. } | Error::MalformedDb(_) => "failed",
        };
        self.exit_code = e.exit_code();
        self.error = Some(e.to_string());
    }

    /// How many removals of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.steps.iter().filter(|s| s.kind == kind).count()
    }

    /// Errors and warnings among the findings.
    pub fn tally(&self) -> (usize, usize) {
        let errors = self.findings.iter().filter(|f| f.kind.is_error()).count();
        (errors, self.findings.len() - errors)
    }
}
