//! The pipeline, end to end, in two steps: `decide` works out everything a strip will do
//! (the guard, the lock, the removals, the prune set, the database's changes, what stays in
//! place) and changes nothing: that is the dry run; `act` applies it (preflight, staging the
//! new database, the removals, the commit). The report is built from what each returned, and
//! the exit status follows from its outcome. One process: the walk of the whole root is made
//! once, on a second thread started early when the walk will surely be needed (else when first
//! needed), and is over before the first change; the new database is fsynced only where apk
//! itself would sync ([`SyncPolicy`]).

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::apkdb::lock::{self, Lock};
use crate::apkdb::prune::Pruned;
use crate::apkdb::{self, Changes, DbState, Durability, Installed};
use crate::cli::{Audit, Check, DbMode, ImageEnv, Mode, Options, Run, Strip, SyncPolicy};
use crate::error::{Error, Result};
use crate::guard;
use crate::os::interrupt::{self, Held};
use crate::report::{Kind, Outcome, Report, tally};
use crate::root::{PathSet, Root};
use crate::stage::apply::{self, Skip};
use crate::stage::audit;
use crate::stage::discover::{self, Found};
use crate::stage::finding::Finding;
use crate::stage::plan::{self, Plan, StepKind};
use crate::stage::scan::{BIN_DIRS, Listing};
use crate::stage::start::{self, Broken, Environment, locate::Gone};
use crate::stage::survey::{self, WholeRoot};

/// Runs what `opts` asks for; never panics, every failure ends up in the report. With the
/// report, the hold on the signals that ask a process to end, when a strip started changing
/// the tree: the caller drops it once the report is written (a held signal then takes effect).
pub fn run(opts: &Options) -> (Report, Option<Held>) {
    let kind = Kind::of(&opts.mode);
    // The root as the host sees it, once it is open; the argument until then.
    let mut shown = opts.root.clone();
    let mut held = None;
    let result = match &opts.mode {
        Mode::Check(c) => check(opts, c, &mut shown),
        Mode::Strip(s) => strip(opts, s, &mut shown, &mut held),
    };
    let report = result.unwrap_or_else(|e| Report::failed(kind, shown, e));
    (report, held)
}

fn check(opts: &Options, c: &Check, shown: &mut PathBuf) -> Result<Report> {
    let mut root = Root::open(&opts.root)?;
    *shown = root.host_root().to_path_buf();
    let mut whole = survey::walk_whole_root(root.host_root());
    let from_walk = std::mem::take(&mut whole.findings);
    let findings = audit_root(&mut root, from_walk, &whole)?;
    // Will it still start: nothing is removed, so whatever is missing was missing.
    let nothing = Gone::default();
    let env = Environment::of(&root, opts.env.path.clone(), opts.env.library_path.clone());
    let broken = start::image::broken(&mut root, &whole.programs, &nothing, &env)?;
    start::image::require(&mut root, &opts.entrypoints, &nothing, &env, false)?;
    let (errors, warnings) = tally(&findings, &broken);
    let outcome = if errors > 0 {
        Outcome::NotDistroless
    } else if c.strict && warnings > 0 {
        Outcome::Strict
    } else {
        Outcome::Distroless
    };
    Ok(Report {
        findings,
        broken,
        ..Report::new(Kind::Check, shown.clone(), outcome)
    })
}

/// Everything a strip decides before it changes anything: shown as the dry run, then applied.
struct Decisions {
    /// Signs of a container that allowed stripping `/`.
    signals: Vec<String>,
    /// apk's lock, held until the run ends (none in a dry run, or without an apk folder).
    _lock: Option<Lock>,
    /// The parsed database, when it is read.
    installed: Option<Installed>,
    /// What becomes of the database: absent, kept, unchanged or the planned changes.
    db: DbState,
    /// Whether the new database is fsynced before the removals.
    durability: Durability,
    /// The removals, in order.
    removals: Plan,
    /// `--prune`: the packages that go, with their bytes.
    pruned: Vec<Pruned>,
    /// `--prune`: the indices of their records in the database.
    pruned_records: Vec<usize>,
    /// What stays in place, and why.
    skipped: Vec<Skip>,
    /// The walk of the whole root, over by the time the decisions are made (or not made).
    walk: Walk,
    /// The environment the image's programs start in.
    env: Environment,
}

/// What [`act`] did.
struct Done {
    removed: Vec<plan::Step>,
    skipped: Vec<Skip>,
    /// The removals that failed: the run ends with exit 1, naming each.
    failed: Vec<Error>,
    /// apk's state written anew for what is really there, after a failed removal.
    db: Option<DbState>,
}

fn strip(
    opts: &Options,
    s: &Strip,
    shown: &mut PathBuf,
    held: &mut Option<Held>,
) -> Result<Report> {
    let mut root = Root::open(&opts.root)?;
    *shown = root.host_root().to_path_buf();
    // From apk's lock (the run's first change to the tree, see `decide`) until the report is
    // written, the signals that ask a process to end are held ([`Held`], ended by the caller):
    // one that came before the first removal stops the run there with the tree as it was; one
    // that comes later waits for the report.
    if let Run::Apply { .. } = s.run {
        apply::hold_descriptors(&opts.root)?;
        interrupt::file_size_limit_as_error()
            .map_err(|e| Error::io("cannot hold signals", &opts.root, e))?;
        let hold = Held::start().map_err(|e| Error::io("cannot hold signals", &opts.root, e))?;
        *held = Some(hold);
    }
    let mut d = decide(&mut root, s, &opts.entrypoints, &opts.env)?;
    // Without --prune, the note of what it would remove (skipped with the audit).
    let note = s.prune.is_none() && s.audit != Audit::Off;
    if s.run == Run::DryRun {
        let prunable = if note {
            d.note_prunable(&mut root)?
        } else {
            Vec::new()
        };
        let bytes_freed = d.removals.bytes_freed();
        let steps = std::mem::take(&mut d.removals.steps);
        // What would not start once the plan is carried out.
        let broken = match s.audit {
            Audit::On { .. } => d.broken(&mut root, &steps)?,
            Audit::Off => Vec::new(),
        };
        return Ok(Report {
            steps,
            bytes_freed,
            prunable,
            broken,
            ..d.report(Kind::DryRun, shown, Outcome::Planned)
        });
    }

    let done = act(&mut root, &d, held.as_ref())?;
    let nothing_to_do =
        d.removals.steps.iter().all(|s| s.kind == StepKind::SelfExe) && d.db.dropped().is_empty();
    // What stays is looked at afresh: the cached answers describe the tree before the strip.
    let mut fresh = root.fresh()?;
    let prunable = if note {
        d.note_prunable(&mut fresh)?
    } else {
        Vec::new()
    };
    let (findings, broken) = match s.audit {
        Audit::On { .. } => {
            // The walk may have been made before the removals: what they removed is not there
            // any more.
            let removed = plan::paths(&done.removed);
            let walked = d.walk.get();
            let mut from_walk = std::mem::take(&mut walked.findings);
            from_walk.retain(|f| !removed.contains(f.path.as_os_str()));
            let findings = audit_root(&mut fresh, from_walk, walked)?;
            (findings, d.broken(&mut fresh, &done.removed)?)
        }
        Audit::Off => (Vec::new(), Vec::new()),
    };
    // A shell the image author installed on purpose does not fail a strip; --strict does.
    let strict = s.audit == (Audit::On { strict: true });
    if let Some(db) = done.db {
        d.db = db;
    }
    let outcome = if !done.failed.is_empty() {
        Outcome::Incomplete(done.failed)
    } else if strict && tally(&findings, &broken) != (0, 0) {
        Outcome::Strict
    } else if nothing_to_do {
        Outcome::AlreadyStripped
    } else {
        Outcome::Stripped
    };
    d.db = match d.db {
        DbState::Planned(c) => DbState::Updated(c),
        other => other,
    };
    let mut r = d.report(Kind::Strip, shown, outcome);
    r.bytes_freed = plan::bytes_freed(&done.removed);
    r.steps = done.removed;
    r.skipped.extend(done.skipped);
    r.prunable = prunable;
    r.findings = findings;
    r.broken = broken;
    Ok(r)
}

/// Step one: everything the strip will do, nothing changed (apk's lock is taken, unless a
/// dry run).
fn decide(
    root: &mut Root,
    s: &Strip,
    entrypoints: &[PathBuf],
    env: &ImageEnv,
) -> Result<Decisions> {
    let mut signals = Vec::new();
    if let (Run::Apply { force: false }, true) = (s.run, root.is_slash()) {
        signals = guard::signals();
        if signals.is_empty() {
            return Err(Error::Refused(guard::REFUSAL.into()));
        }
    }
    // One writer per root, as apk itself keeps it; held until the run ends.
    let lock = match s.run {
        Run::DryRun => None,
        Run::Apply { .. } => lock::take(root)?,
    };
    // The walk of the whole root (the audit's modes; busybox's hard links and copies; the files
    // no package owns, for --prune and its note) only reads. When it will surely be needed (the
    // audit, --prune) it starts now on a thread of its own, beside the parse of the database
    // and the listing of the bin folders; after apk's lock, so that every walk sees the same
    // tree. Otherwise it is made when first needed: discovery needs it when the bin folders
    // hold busybox (a copy decides a removal, so it is known before the first one); --no-audit
    // skips the note. A started walk is over before the first change ([`Walk::join`]; on an
    // error, when `walk` is dropped). If its thread cannot be started, it is made when first
    // needed, as on one thread (it only reads: what the removals removed is filtered out).
    let mut walk = if s.audit != Audit::Off || s.prune.is_some() {
        Walk::start(root.host_root())
    } else {
        Walk::new(root.host_root())
    };
    let installed = match s.db {
        DbMode::Update { .. } => apkdb::load(root)?,
        DbMode::Keep => None,
    };
    // apk's own rule: sync on the host's own `/`, not in a container build nor under --root.
    let durability = match s.db {
        DbMode::Update {
            sync: SyncPolicy::Always,
        } => Durability::Fsync,
        DbMode::Update {
            sync: SyncPolicy::Auto,
        } if root.is_slash() && guard::on_host() => Durability::Fsync,
        _ => Durability::Written,
    };
    let env = Environment::of(root, env.path.clone(), env.library_path.clone());
    let bins = Listing::of(root, &BIN_DIRS)?;
    let found = {
        let walk = &mut walk;
        discover::discover(root, &bins, Box::new(move || &*Walk::get(walk)))?
    };
    let by_definition = match &installed {
        Some(i) => i.files_by_definition(root)?,
        None => Vec::new(),
    };
    // --prune needs the walk before the plan; its note (without --prune) waits until the end.
    // What the --entrypoint programs need to start stays, as --keep keeps it.
    let prunable = match (&installed, &s.prune) {
        (Some(i), Some(p)) => {
            let keep = start::image::keep(root, i, &p.keep, entrypoints, &env)?;
            Some(i.prunable(root, &keep, &walk.get().files)?)
        }
        _ => None,
    };
    let (pruned_files, pruned_records) = match &prunable {
        Some(p) => (p.files.as_slice(), p.leaving.as_slice()),
        None => (&[][..], &[][..]),
    };
    let pruned_records = pruned_records.to_vec();
    let me = discover::self_exe(root)?;
    let mut removals = Plan::build(root, &found, &by_definition, pruned_files, me)?;
    let mut skipped = loops(&found);
    skipped.extend(apply::left_in_place(root, &mut removals)?);
    // Every --entrypoint must still start once the plan is carried out: checked before the
    // first removal, else nothing is removed.
    if !entrypoints.is_empty() {
        let gone = start::image::gone(root, installed.as_ref(), &removals.steps)?;
        start::image::require(root, entrypoints, &gone, &env, true)?;
    }
    let db = match (&installed, s.db) {
        (Some(i), _) => DbState::planned(i.plan(root, &removals.paths(), &pruned_records)?),
        (None, DbMode::Keep) => DbState::Kept,
        (None, DbMode::Update { .. }) => DbState::Absent,
    };
    walk.join();
    Ok(Decisions {
        signals,
        _lock: lock,
        installed,
        db,
        durability,
        removals,
        pruned: prunable.map(|p| p.packages).unwrap_or_default(),
        pruned_records,
        skipped,
        walk,
        env,
    })
}

/// Step two: makes the decided changes. Everything that could stop a removal half way is
/// checked first; the new database is written (and fsynced, when decided) before the removals,
/// so a failed write or sync stops the run before any, and renamed into place after them.
/// A held signal that came (before the first write, and once more after the staging) stops the
/// run there: what was staged is discarded on the way out, and apk's lock with [`Decisions`].
fn act(root: &mut Root, d: &Decisions, held: Option<&Held>) -> Result<Done> {
    let stop_if_asked = || match held.and_then(Held::arrived) {
        Some(signal) => Err(Error::Interrupted(signal)),
        None => Ok(()),
    };
    // Every check that may refuse the run goes here, before the first write.
    let replaced = d.db.changes().map(Changes::replaced).unwrap_or_default();
    apply::preflight(root, &d.removals, &replaced)?;
    stop_if_asked()?;
    let staged = match &d.db {
        DbState::Planned(c) => Some(apkdb::stage(root, c, d.durability)?),
        _ => None,
    };
    // `staged` is dropped on the way out, which removes its files.
    stop_if_asked()?;
    let applied = apply::apply(root, &d.removals);
    let mut db = None;
    if applied.failed.is_empty() {
        if let Some(staged) = staged {
            staged.commit()?;
        }
    } else if let Some(installed) = &d.installed {
        // What no check foresaw: apk's state is written for what is really there.
        drop(staged);
        let failed: PathSet = applied.failed.iter().map(|(p, _)| p.as_os_str()).collect();
        let steps = d.removals.steps.iter().map(|s| s.item.path.as_os_str());
        let removed: PathSet = steps.filter(|p| !failed.contains(p)).collect();
        let mut fresh = root.fresh()?;
        let c = installed.plan_kept(&mut fresh, &removed, &d.pruned_records, &failed)?;
        if c.new_installed.is_some() || c.world.is_some() {
            apkdb::stage(&mut fresh, &c, d.durability)?.commit()?;
        }
        db = Some(DbState::planned(c));
    }
    Ok(Done {
        removed: applied.removed,
        skipped: applied.skipped,
        failed: applied.failed.into_iter().map(|(_, e)| e).collect(),
        db,
    })
}

impl Decisions {
    /// The report of these decisions, before the removals are added.
    fn report(&mut self, kind: Kind, root: &Path, outcome: Outcome) -> Report {
        let db = std::mem::replace(&mut self.db, DbState::Absent);
        Report {
            skipped: std::mem::take(&mut self.skipped),
            db: Some(db),
            pruned: std::mem::take(&mut self.pruned),
            signals: std::mem::take(&mut self.signals),
            ..Report::new(kind, root.to_path_buf(), outcome)
        }
    }

    /// The programs that will not start once `steps` are carried out (the walk's programs and
    /// the bin folders' files), each missing piece with its cause.
    fn broken(&mut self, root: &mut Root, steps: &[plan::Step]) -> Result<Vec<Broken>> {
        let programs = std::mem::take(&mut self.walk.get().programs);
        let gone = start::image::gone(root, self.installed.as_ref(), steps)?;
        start::image::broken(root, &programs, &gone, &self.env)
    }

    /// The note without --prune: what it would remove, less what the strip drops itself
    /// (libapk with its file). Nothing without a database.
    fn note_prunable(&mut self, root: &mut Root) -> Result<Vec<Pruned>> {
        let Some(installed) = &self.installed else {
            return Ok(Vec::new());
        };
        let mut packages = installed
            .prunable(root, &[], &self.walk.get().files)?
            .packages;
        let dropped = self.db.dropped();
        packages.retain(|p| !dropped.contains(&p.package));
        Ok(packages)
    }
}

/// The walk of the whole root ([`survey::walk_whole_root`]), made once: when it is first needed
/// (discovery, when the bin folders hold busybox; `--prune`; the note; the audit), or started
/// at once on a thread of its own ([`Walk::start`]) when it surely will be.
struct Walk {
    host: PathBuf,
    /// The walk's own thread, until it is joined.
    thread: Option<JoinHandle<WholeRoot>>,
    /// What the walk saw, once made.
    done: Option<WholeRoot>,
}

impl Drop for Walk {
    /// A decision that failed half way leaves no walk running behind it.
    fn drop(&mut self) {
        self.join();
    }
}

/// The stack of the walk's thread: 256 KiB, twice musl's default for a thread. The walk is a
/// loop (it keeps the folders it is in on the heap), so its stack does not grow with the
/// tree's depth; a unit test walks a tree 300 folders deep on it.
const WALK_STACK: usize = 256 << 10;

impl Walk {
    /// A walk made when first asked for.
    fn new(host: &Path) -> Walk {
        Walk {
            host: host.to_path_buf(),
            thread: None,
            done: None,
        }
    }

    /// A walk started now, on a thread of its own with a [`WALK_STACK`] stack; made when first
    /// asked for instead if the thread cannot be started.
    fn start(host: &Path) -> Walk {
        let on_thread = host.to_path_buf();
        let spawned = std::thread::Builder::new()
            .stack_size(WALK_STACK)
            .spawn(move || survey::walk_whole_root(&on_thread));
        Walk {
            host: host.to_path_buf(),
            thread: spawned.ok(),
            done: None,
        }
    }

    /// Waits for the walk's thread, if one runs: nothing walks once the tree changes.
    fn join(&mut self) {
        if self.thread.is_some() {
            self.get();
        }
    }

    /// What the walk saw (walking now, or waiting for its thread, the first time).
    fn get(&mut self) -> &mut WholeRoot {
        let (host, thread) = (&self.host, &mut self.thread);
        self.done.get_or_insert_with(|| match thread.take() {
            // A thread that did not return (it cannot panic: panics abort) is walked again.
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| survey::walk_whole_root(host)),
            None => survey::walk_whole_root(host),
        })
    }
}

/// Lists the bin folders, discovers and audits, given what the walk of the whole root found
/// (its findings of the modes apart).
fn audit_root(root: &mut Root, from_walk: Vec<Finding>, whole: &WholeRoot) -> Result<Vec<Finding>> {
    let bins = Listing::of(root, &BIN_DIRS)?;
    let found = discover::discover(root, &bins, Box::new(|| whole))?;
    audit::audit(root, &bins, &found, from_walk, &whole.files)
}

fn loops(found: &Found) -> Vec<Skip> {
    let mut skipped = Vec::with_capacity(found.loops.len());
    for p in &found.loops {
        skipped.push(Skip {
            path: p.clone(),
            reason: format!(
                "symlink loop (more than {} links), left alone",
                crate::root::resolve::MAX_HOPS
            ),
        });
    }
    skipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_walk_on_its_own_thread_sees_what_a_walk_on_this_one_sees() {
        let t = tempfile::tempdir().unwrap();
        let mut deep = t.path().to_path_buf();
        for i in 0..300 {
            deep.push("d");
            fs::create_dir(&deep).unwrap();
            if i % 50 == 0 {
                fs::write(deep.join("lib.so.1"), b"\x7fELF").unwrap();
            }
        }
        let su = deep.join("su");
        fs::write(&su, b"\x7fELF").unwrap();
        fs::set_permissions(&su, fs::Permissions::from_mode(0o4755)).unwrap();

        let mut threaded = Walk::start(t.path());
        assert!(
            threaded.thread.is_some(),
            "the walk runs on a thread of its own"
        );
        threaded.join();
        assert!(threaded.thread.is_none(), "joined");
        let here = survey::walk_whole_root(t.path());
        let there = threaded.get();
        assert_eq!(there.files, here.files);
        assert_eq!(there.programs, here.programs);
        assert_eq!(there.findings, here.findings);
        // The setuid file 300 folders down was seen, on the stack the thread was given.
        assert_eq!(there.files.len(), 7);
        assert!(
            there.findings.iter().any(|f| f.path.ends_with("d/d/su")),
            "{:?}",
            there.findings
        );
    }
}
