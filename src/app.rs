//! The pipeline, end to end: discover -> plan -> apply -> keep the apk database true -> audit
//! -> report. Each stage lives in its own module; this one only strings them together and
//! decides the outcome and the exit status. Two waits run on threads of their own beside the
//! strip: the disk syncing the new database, and the audit's walk of the whole root.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::apkdb::lock;
use crate::apkdb::{self, Db, Installed, Source};
use crate::cli::Options;
use crate::error::{Error, Result, exit};
use crate::guard;
use crate::hash::FastSet;
use crate::os::sys::{self, Thread};
use crate::report::{DbStatus, Mode, Outcome, Report};
use crate::root::Root;
use crate::stage::apply::{self, Skip};
use crate::stage::audit::{self, WholeRoot};
use crate::stage::discover::{self, Found};
use crate::stage::plan::{self, Plan};
use crate::stage::scan::{BIN_DIRS, Listing};
use crate::stage::start::{self, locate::Gone};

/// Runs what `opts` asks for; never panics, every failure ends up in the report.
pub fn run(opts: &Options) -> Report {
    let mode = if opts.check {
        Mode::Check
    } else if opts.dry_run {
        Mode::DryRun
    } else {
        Mode::Strip
    };
    let mut report = Report::new(mode, opts.root.clone());
    let result = match mode {
        Mode::Check => check(opts, &mut report),
        Mode::Strip | Mode::DryRun => strip(opts, &mut report),
    };
    if let Err(e) = result {
        report.fail(&e);
    }
    report
}

fn check(opts: &Options, report: &mut Report) -> Result<()> {
    let mut root = Root::open(&opts.root)?;
    report.root = root.host_root().to_path_buf();
    let walked = audit::walk_whole_root(root.host_root());
    report.findings = audit_root(&mut root, walked.findings)?;
    // Will it still start: nothing is removed, so whatever is missing was missing.
    let nothing = Gone::default();
    report.broken = start::image::broken(&mut root, &walked.programs, &nothing)?;
    start::image::require(&mut root, &opts.entrypoints, &nothing, false)?;
    let (errors, warnings) = report.tally();
    (report.outcome, report.exit_code) = if errors > 0 {
        (Outcome::NotDistroless, exit::AUDIT)
    } else if opts.strict && warnings > 0 {
        (Outcome::Strict, exit::AUDIT)
    } else {
        (Outcome::Distroless, exit::OK)
    };
    Ok(())
}

fn strip(opts: &Options, report: &mut Report) -> Result<()> {
    let mut root = Root::open(&opts.root)?;
    report.root = root.host_root().to_path_buf();
    if root.is_slash() && !opts.force && !opts.dry_run {
        report.signals = guard::signals();
        if report.signals.is_empty() {
            return Err(Error::Refused(guard::REFUSAL.into()));
        }
    }

    // One writer per root, as apk itself keeps it; held until the run ends.
    let _lock = if opts.dry_run {
        None
    } else {
        lock::take(&mut root)?
    };
    let source = match apkdb::load(&mut root, opts.keep_apk_db) {
        Err(Error::MalformedDb(why)) => {
            report.db.status = Some(DbStatus::Malformed);
            report.db.error = Some(why.clone());
            return Err(Error::MalformedDb(why));
        }
        other => other?,
    };
    // The walk of the whole root (the audit's modes; the files no package owns, for --prune
    // and its note) only reads: it runs on a thread of its own beside discovery and the
    // removals, until it is needed. --no-audit skips it, and with it the note.
    let note = !opts.prune && !opts.no_audit;
    let mut walk = Walk::start(root.host_root(), opts.prune || !opts.no_audit);
    let bins = Listing::of(&mut root, &BIN_DIRS)?;
    let found = discover::discover(&mut root, &bins)?;
    let installed = match &source {
        Source::Read(installed) => Some(installed),
        Source::Absent | Source::Kept => None,
    };
    let by_definition = installed
        .map(|i| i.files_by_definition())
        .unwrap_or_default();
    // --prune needs the walk before the plan; its note (without --prune) waits until the end.
    // What the --entrypoint programs need to start stays, as --keep keeps it.
    let keep = match installed {
        Some(i) => start::image::keep(&mut root, i, &opts.keep, &opts.entrypoints)?,
        None => opts.keep.clone(),
    };
    let prunable = match installed {
        Some(i) if opts.prune => Some(i.prunable(&mut root, &keep, &walk.get().files)?),
        _ => None,
    };
    let (pruned_files, pruned) = match &prunable {
        Some(p) => (p.files.as_slice(), p.leaving.as_slice()),
        None => (&[][..], &[][..]),
    };
    let me = discover::self_exe(&mut root)?;
    let mut plan = Plan::build(&mut root, &found, &by_definition, pruned_files, me)?;
    report.skipped = loops(&found);
    report.skipped.extend(apply::left_in_place(&mut plan));
    let db = match installed {
        Some(i) => Db::Planned(i.plan(&mut root, &plan.paths(), pruned)?),
        None if opts.keep_apk_db => Db::Kept,
        None => Db::Absent,
    };
    note_db(report, &db);
    report.pruned = prunable.map(|p| p.packages).unwrap_or_default();
    let nothing_to_do = plan.steps.iter().all(|s| s.kind == plan::StepKind::SelfExe)
        && report.db.dropped.is_empty();

    // Every --entrypoint must still start once the plan is carried out: checked before the
    // first removal, else nothing is removed.
    if !opts.entrypoints.is_empty() {
        let gone = start::image::gone(&mut root, installed, &plan.steps)?;
        start::image::require(&mut root, &opts.entrypoints, &gone, true)?;
    }

    if opts.dry_run {
        report.bytes_freed = plan.bytes_freed();
        report.steps = plan.steps;
        report.outcome = Outcome::Planned;
        if report.db.status == Some(DbStatus::Updated) {
            report.db.status = Some(DbStatus::Planned);
        }
        if let (Some(i), true) = (installed, note) {
            note_prunable(report, i, &mut root, &keep, &walk.get().files)?;
        }
        // What would not start once the plan is carried out.
        if !opts.no_audit {
            let programs = std::mem::take(&mut walk.get().programs);
            let gone = start::image::gone(&mut root, installed, &report.steps)?;
            report.broken = start::image::broken(&mut root, &programs, &gone)?;
        }
        return Ok(());
    }

    apply::preflight(&mut root, &plan)?;
    // The new database is written and synced by a thread before the removals: the wait for
    // the disk then overlaps the unlinks, and it is renamed into place after them.
    let staged = match &db {
        Db::Planned(c) => Some(apkdb::stage(&root, c)?),
        _ => None,
    };
    let applied = apply::apply(&mut root, &plan)?;
    report.bytes_freed = plan::bytes_freed(applied.removed.iter().map(|s| &s.item));
    report.steps = applied.removed;
    report.skipped.extend(applied.skipped);
    if let Some(staged) = staged {
        staged.commit()?;
    }
    report.outcome = if nothing_to_do {
        Outcome::AlreadyStripped
    } else {
        Outcome::Stripped
    };

    // What stays is looked at afresh: the cached answers describe the tree before the strip.
    let mut fresh = Root::open(root.host_root())?;
    if let (Some(i), true) = (installed, note) {
        note_prunable(report, i, &mut fresh, &keep, &walk.get().files)?;
    }
    if !opts.no_audit {
        let walked = walk.get();
        // The walk ran beside the removals: what they removed is not there any more.
        let removed: FastSet<&OsStr> = report
            .steps
            .iter()
            .map(|s| s.item.path.as_os_str())
            .collect();
        let mut from_walk = std::mem::take(&mut walked.findings);
        from_walk.retain(|f| !removed.contains(f.path.as_os_str()));
        let programs = std::mem::take(&mut walked.programs);
        report.findings = audit_root(&mut fresh, from_walk)?;
        let gone = start::image::gone(&mut fresh, installed, &report.steps)?;
        report.broken = start::image::broken(&mut fresh, &programs, &gone)?;
        // A shell the image author installed on purpose does not fail a strip; --strict does.
        if opts.strict && report.tally() != (0, 0) {
            report.outcome = Outcome::Strict;
            if report.exit_code == exit::OK {
                report.exit_code = exit::AUDIT;
            }
        }
    }
    Ok(())
}

/// The note without --prune: what it would remove, less what the strip drops itself (libapk
/// with its file).
fn note_prunable(
    report: &mut Report,
    installed: &Installed,
    root: &mut Root,
    keep: &[String],
    files: &[PathBuf],
) -> Result<()> {
    let mut packages = installed.prunable(root, keep, files)?.packages;
    packages.retain(|p| !report.db.dropped.contains(&p.package));
    report.prunable = packages;
    Ok(())
}

/// The walk of the whole root, on a thread of its own (when started) until it is first needed.
struct Walk {
    running: Option<Thread<WholeRoot>>,
    done: Option<WholeRoot>,
}

impl Walk {
    fn start(host: &Path, now: bool) -> Walk {
        let owned = host.to_path_buf();
        Walk {
            running: now.then(|| sys::spawn(move || audit::walk_whole_root(&owned))),
            done: None,
        }
    }

    /// What the walk saw, once it is done. (A thread that could not start ran the walk at
    /// once; one that was never started is never asked.)
    fn get(&mut self) -> &mut WholeRoot {
        let running = &mut self.running;
        self.done
            .get_or_insert_with(|| running.take().and_then(Thread::join).unwrap_or_default())
    }
}

/// Lists the bin folders, discovers and audits, given what the walk of the whole root found.
fn audit_root(root: &mut Root, from_walk: Vec<audit::Finding>) -> Result<Vec<audit::Finding>> {
    let bins = Listing::of(root, &BIN_DIRS)?;
    let found = discover::discover(root, &bins)?;
    audit::audit(root, &bins, &found, from_walk)
}

fn loops(found: &Found) -> Vec<Skip> {
    found
        .loops
        .iter()
        .map(|p| Skip {
            path: p.clone(),
            reason: format!(
                "symlink loop (more than {} links), left alone",
                crate::root::resolve::MAX_HOPS
            ),
        })
        .collect()
}

fn note_db(report: &mut Report, db: &Db) {
    match db {
        Db::Absent => report.db.status = Some(DbStatus::Absent),
        Db::Kept => report.db.status = Some(DbStatus::Kept),
        Db::Planned(c) => {
            report.db.dropped = c.dropped.clone();
            report.db.trimmed = c.trimmed.clone();
            report.db.status = Some(if c.new_installed.is_none() && c.world.is_none() {
                DbStatus::Unchanged
            } else {
                DbStatus::Updated
            });
        }
    }
}
