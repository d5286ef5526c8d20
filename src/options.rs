//! The settings of a run, as every layer reads them: what to do to which root (a [`Mode`] with
//! its settings, not a set of bools), how much to say, the image's entrypoints and environment.
//! How they are spelled on the command line is [`crate::cli`]'s business; nothing here parses.

use std::ffi::OsString;
use std::path::PathBuf;

/// What the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The root to strip or check (`--root`, `/` by default).
    pub root: PathBuf,
    /// Check or strip, with their settings.
    pub mode: Mode,
    /// How much the report for people says.
    pub verbosity: Verbosity,
    /// `--json`: the report on stdout as JSON too.
    pub json: bool,
    /// `--entrypoint PATH` (repeatable): the programs the image starts, paths inside the root,
    /// or names without a slash, looked up on the image's `PATH` before they are checked.
    pub entrypoints: Vec<PathBuf>,
    /// `--env NAME=VALUE` (repeatable): the image's environment, where it sets what the start
    /// checks read.
    pub env: ImageEnv,
}

/// What `--env` gave of the variables the start checks read (the last of a name counts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageEnv {
    /// `PATH`.
    pub path: Option<OsString>,
    /// `LD_LIBRARY_PATH`.
    pub library_path: Option<OsString>,
}

/// The two things a run can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--check`: audit only, change nothing.
    Check(Check),
    /// Strip the root (or plan it, `--dry-run`).
    Strip(Strip),
}

/// `--check`'s settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    /// `--strict`: a warning fails the check too.
    pub strict: bool,
}

/// A strip's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strip {
    /// Remove, or only plan.
    pub run: Run,
    /// What becomes of the apk database.
    pub db: DbMode,
    /// The audit after the strip.
    pub audit: Audit,
    /// `--prune`, with the packages `--keep` keeps.
    pub prune: Option<Prune>,
}

/// Remove, or only plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// Remove; `force` (`--force`) strips `/` without a sign of a container build.
    Apply {
        /// `--force`.
        force: bool,
    },
    /// `--dry-run`: plan, change nothing (no lock, no container guard).
    DryRun,
}

impl Default for Run {
    fn default() -> Self {
        Run::Apply { force: false }
    }
}

/// What becomes of the apk database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbMode {
    /// Read it and keep it true: packages that leave are dropped, others trimmed; the new
    /// files are fsynced as `sync` says.
    Update {
        /// Whether the new files are fsynced before the removals.
        sync: SyncPolicy,
    },
    /// `--keep-apk-db`: not read, not written.
    Keep,
}

impl Default for DbMode {
    fn default() -> Self {
        DbMode::Update {
            sync: SyncPolicy::Auto,
        }
    }
}

/// Whether the new database is fsynced before the removals, as apk 3 decides it for its own
/// commits (`apk --sync`, apk-tools `src/commit.c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Only when stripping `/` of the host itself (the root PID namespace, where
    /// `/proc/2/stat` is `kthreadd`): not in a container build, whose step is discarded
    /// whole when it does not finish, nor with `--root`. apk's `--sync=auto`.
    #[default]
    Auto,
    /// `--sync`: always (a tree under `--root` that must survive a power cut as it is).
    Always,
}

/// The audit after a strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audit {
    /// `--no-audit`: none (and no `--prune` note).
    Off,
    /// The audit runs; with `strict` (`--strict`) any error or warning fails the run
    /// (notes do not).
    On {
        /// `--strict`.
        strict: bool,
    },
}

impl Default for Audit {
    fn default() -> Self {
        Audit::On { strict: false }
    }
}

/// `--prune`'s settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prune {
    /// `--keep NAME`: packages kept, with their dependencies.
    pub keep: Vec<String>,
}

/// How much the report for people says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: nothing unless the run fails.
    Quiet,
    /// The summary and the notes.
    #[default]
    Normal,
    /// `-v`: every path too.
    Verbose,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root: PathBuf::from("/"),
            mode: Mode::Strip(Strip::default()),
            verbosity: Verbosity::Normal,
            json: false,
            entrypoints: Vec::new(),
            env: ImageEnv::default(),
        }
    }
}
