//! The pipeline, end to end: discover -> plan -> apply -> keep the apk database true -> audit
//! -> report. Each stage lives in its own module; this one only strings them together and
//! decides the outcome and the exit status. Two waits run on threads of their own beside the
//! strip: the disk syncing the new database, and the audit's walk of the whole root.

use std::ffi::OsStr;

use crate::apkdb::{self, Db, Source};
use crate::apply::{self, Skip};
use crate::audit;
use crate::cli::Options;
use crate::discover::{self, Found};
use crate::error::{Error, Result, exit};
use crate::guard;
use crate::hash::FastSet;
use crate::lock;
use crate::plan::{self, Plan};
use crate::report::{DbStatus, Mode, Outcome, Report};
use crate::root::Root;
use crate::scan::{BIN_DIRS, Listing};
use crate::sys;

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
    let from_walk = audit::walk_findings(root.host_root());
    report.findings = audit_root(&mut root, from_walk)?;
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
    // The audit's walk of the whole root only reads: it runs on a thread of its own beside
    // discovery and the removals.
    let walk = (!opts.no_audit && !opts.dry_run).then(|| {
        let host = root.host_root().to_path_buf();
        sys::spawn(move || audit::walk_findings(&host))
    });
    let bins = Listing::of(&mut root, &BIN_DIRS)?;
    let found = discover::discover(&mut root, &bins)?;
    let (by_definition, prunable) = match &source {
        Source::Read(installed) => (
            installed.files_by_definition(),
            Some(installed.prunable(&mut root, &opts.keep)?),
        ),
        Source::Absent | Source::Kept => (Vec::new(), None),
    };
    // Without --prune the report names what it would remove; with it, those packages go.
    let (pruned_files, pruned) = match &prunable {
        Some(p) if opts.prune => (p.files.as_slice(), p.leaving.as_slice()),
        _ => (&[][..], &[][..]),
    };
    let me = discover::self_exe(&mut root)?;
    let mut plan = Plan::build(&mut root, &found, &by_definition, pruned_files, me)?;
    report.skipped = loops(&found);
    report.skipped.extend(apply::left_in_place(&mut plan));
    let db = match source {
        Source::Read(installed) => Db::Planned(installed.plan(&mut root, &plan.paths(), pruned)?),
        Source::Absent => Db::Absent,
        Source::Kept => Db::Kept,
    };
    note_db(report, &db);
    if let Some(p) = prunable {
        if opts.prune {
            report.pruned = p.packages;
        } else {
            report.prunable = p.packages;
        }
    }
    let nothing_to_do = plan.steps.iter().all(|s| s.kind == plan::StepKind::SelfExe)
        && report.db.dropped.is_empty();

    if opts.dry_run {
        report.bytes_freed = plan.bytes_freed();
        report.steps = plan.steps;
        report.outcome = Outcome::Planned;
        if report.db.status == Some(DbStatus::Updated) {
            report.db.status = Some(DbStatus::Planned);
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

    if let Some(walk) = walk {
        let mut fresh = Root::open(root.host_root())?;
        let mut from_walk = walk
            .join()
            .unwrap_or_else(|| audit::walk_findings(fresh.host_root()));
        // The walk ran beside the removals: what they removed is not there any more.
        let removed: FastSet<&OsStr> = report
            .steps
            .iter()
            .map(|s| s.item.path.as_os_str())
            .collect();
        from_walk.retain(|f| !removed.contains(f.path.as_os_str()));
        report.findings = audit_root(&mut fresh, from_walk)?;
        // A shell the image author installed on purpose does not fail a strip; --strict does.
        if opts.strict && !report.findings.is_empty() {
            report.outcome = Outcome::Strict;
            if report.exit_code == exit::OK {
                report.exit_code = exit::AUDIT;
            }
        }
    }
    Ok(())
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
                crate::root::MAX_HOPS
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
