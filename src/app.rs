//! The pipeline, top to bottom. [`run`] opens the root and builds one `Pipeline` (the root,
//! the walk of the whole root made at most once, the apk database, the image's environment);
//! its phases are methods:
//! - a strip: `Pipeline::decide` works out everything the strip will do (the guard and apk's
//!   lock come first, in `admit`; then the removals, the prune set, the database's changes,
//!   what stays in place) and changes nothing: that is the dry run, reported by
//!   `Pipeline::planned`; `Pipeline::act` applies it (preflight, staging the new database,
//!   the removals, the commit); `Pipeline::stripped` audits what is left and reports;
//! - `--check`: `Pipeline::check`, the audit alone.
//!
//! The exit status follows from the report's outcome. One process, one thread: the walk of the
//! whole root is made once, when first needed (`Survey`), and the new database is fsynced only
//! where apk itself would sync ([`SyncPolicy`]).

use std::path::{Path, PathBuf};

use crate::apkdb::lock::{self, Lock};
use crate::apkdb::prune::{Prunable, Pruned, World};
use crate::apkdb::{self, Changes, DbState, Durability, Installed};
use crate::error::{Error, Result};
use crate::guard;
use crate::options::{Audit, Check, DbMode, Mode, Options, Run, Strip, SyncPolicy};
use crate::os::interrupt::{self, Held};
use crate::os::memory::{self, Phase};
use crate::report::{Action, Outcome, Report, tally};
use crate::root::{InRoot, PathSet, Root};
use crate::stage::apply::{self, Skip};
use crate::stage::audit;
use crate::stage::discover::{self, Found};
use crate::stage::finding::Finding;
use crate::stage::plan::{self, Plan, Step, StepKind};
use crate::stage::scan::{BIN_DIRS, Listing};
use crate::stage::start::image::OnPath;
use crate::stage::start::{self, Checked, Environment};
use crate::stage::survey::{self, WholeRoot};

/// Runs what `opts` asks for; never panics, every failure ends up in the report. With the
/// report, the hold on the signals that ask a process to end, when a strip started changing
/// the tree: the caller drops it once the report is written (a held signal then takes effect).
pub fn run(opts: &Options) -> (Report, Option<Held>) {
    let action = Action::of(&opts.mode);
    let root = match Root::open(&opts.root) {
        Ok(root) => root,
        Err(e) => return (Report::failed(action, opts.root.clone(), e), None),
    };
    // The root as the host sees it.
    let shown = root.host_root().to_path_buf();
    let mut held = None;
    let result = match &opts.mode {
        Mode::Check(c) => {
            let mut root = root;
            let survey = Survey::new(root.host_root());
            // The database names the owners of scripts (a malformed one is a finding already).
            let installed = apkdb::load(&mut root).ok().flatten();
            Pipeline::new(opts, root, survey, installed).check(c)
        }
        Mode::Strip(s) => strip(opts, s, root, &mut held),
    };
    let report = result.unwrap_or_else(|e| Report::failed(action, shown, e));
    (report, held)
}

/// A strip (or its dry run), phase by phase.
fn strip(opts: &Options, s: &Strip, mut root: Root, held: &mut Option<Held>) -> Result<Report> {
    // From apk's lock (the run's first change to the tree) until the report is written, the
    // signals that ask a process to end are held ([`Held`], ended by the caller): one that came
    // before the first removal stops the run there with the tree as it was; one that comes
    // later waits for the report.
    if let Run::Apply { .. } = s.run {
        apply::hold_descriptors(&opts.root)?;
        interrupt::file_size_limit_as_error()
            .map_err(|e| Error::io("cannot hold signals", &opts.root, e))?;
        let hold = Held::start().map_err(|e| Error::io("cannot hold signals", &opts.root, e))?;
        *held = Some(hold);
    }
    let admitted = admit(&mut root, s)?;
    // The walk of the whole root (the audit's modes; busybox's hard links and copies; the files
    // no package owns, for --prune and its note) only reads, after apk's lock so that every
    // walk sees the same tree; it is made when first needed (discovery needs it when the bin
    // folders hold busybox; --no-audit skips the note).
    let survey = Survey::new(root.host_root());
    let installed = match s.db {
        DbMode::Update { .. } => apkdb::load(&mut root)?,
        DbMode::Keep => None,
    };
    let mut p = Pipeline::new(opts, root, survey, installed);
    let d = p.decide(s, admitted)?;
    if s.run == Run::DryRun {
        return p.planned(s, d);
    }
    let done = p.act(&d, held.as_ref())?;
    p.stripped(s, d, done)
}

/// What allows a strip to change the tree: the signs of a container build when it strips `/`
/// (refused without any, unless `--force`), and apk's lock (none in a dry run).
struct Admitted {
    /// Signs of a container that allowed stripping `/`.
    signals: Vec<String>,
    /// apk's lock, held until the run is reported (none in a dry run, or without an apk
    /// folder).
    _lock: Option<Lock>,
}

/// The guard, then apk's lock: one writer per root, as apk itself keeps it.
fn admit(root: &mut Root, s: &Strip) -> Result<Admitted> {
    let mut signals = Vec::new();
    if let (Run::Apply { force: false }, true) = (s.run, root.is_slash()) {
        signals = guard::signals();
        if signals.is_empty() {
            return Err(Error::Refused(guard::REFUSAL.into()));
        }
    }
    let lock = match s.run {
        Run::DryRun => None,
        Run::Apply { .. } => lock::take(root)?,
    };
    Ok(Admitted {
        signals,
        _lock: lock,
    })
}

/// One run: what every phase reads, built once.
struct Pipeline<'o> {
    /// The settings (the root's path, `--entrypoint`, `--env`).
    opts: &'o Options,
    /// The root; after the removals, when the audit reads it, a fresh look at it (the cached
    /// answers described the tree before them).
    root: Root,
    /// The walk of the whole root, made at most once.
    survey: Survey,
    /// The parsed database, when it is read (a strip that updates it).
    installed: Option<Installed>,
    /// The environment the image's programs start in.
    env: Environment,
    /// The `--entrypoint`s as paths inside the root ([`Pipeline::locate_entrypoints`]).
    entrypoints: Vec<PathBuf>,
    /// The `--entrypoint`s named without a slash, and where `PATH` has them.
    on_path: Vec<OnPath>,
}

/// Everything a strip decides before it changes anything: shown as the dry run, then applied.
struct Decisions {
    /// The guard's signals and apk's lock (held until the decisions are reported).
    admitted: Admitted,
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
}

/// What [`Pipeline::act`] did.
struct Done {
    removed: Vec<Step>,
    skipped: Vec<Skip>,
    /// The removals that failed: the run ends with exit 1, naming each.
    failed: Vec<Error>,
    /// apk's state written anew for what is really there, after a failed removal.
    db: Option<DbState>,
}

/// What the start check is asked ([`Pipeline::start_check`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Starts {
    /// Every `--entrypoint` must start: an error naming the first that would not.
    Entrypoints,
    /// Which of the image's programs will not start.
    Programs,
    /// Both (`--check`).
    Both,
}

impl<'o> Pipeline<'o> {
    fn new(
        opts: &'o Options,
        root: Root,
        survey: Survey,
        installed: Option<Installed>,
    ) -> Pipeline<'o> {
        let env = Environment::of(&root, opts.env.path.clone(), opts.env.library_path.clone());
        Pipeline {
            opts,
            root,
            survey,
            installed,
            env,
            entrypoints: opts.entrypoints.clone(),
            on_path: Vec::new(),
        }
    }

    /// The `--entrypoint`s named without a slash, looked up on the image's `PATH` as runc
    /// looks them up (one found nowhere ends the run).
    fn locate_entrypoints(&mut self) -> Result<()> {
        let (root, env) = (&mut self.root, &self.env);
        let (paths, on_path) = start::image::on_path(root, &self.opts.entrypoints, env)?;
        self.entrypoints = paths;
        self.on_path = on_path;
        Ok(())
    }

    /// `--check`: the audit of the root as it is, and whether its programs will start (nothing
    /// is removed, so whatever is missing was missing).
    fn check(&mut self, c: &Check) -> Result<Report> {
        self.locate_entrypoints()?;
        let findings = self.audit(&[])?;
        let checked = self.start_check(&[], Starts::Both)?;
        let (errors, warnings) = tally(&findings, &checked.broken);
        let outcome = if errors > 0 {
            Outcome::NotDistroless
        } else if c.strict && warnings > 0 {
            Outcome::Strict
        } else {
            Outcome::Distroless
        };
        Ok(Report {
            findings,
            broken: checked.broken,
            glibc: checked.glibc,
            on_path: std::mem::take(&mut self.on_path),
            ..Report::new(Action::Check, self.shown(), outcome)
        })
    }

    /// Phase one of a strip: everything it will do, nothing changed (apk's lock is taken,
    /// unless a dry run). Every `--entrypoint` must still start once the plan is carried out:
    /// checked here, before the first removal, else nothing is removed.
    fn decide(&mut self, s: &Strip, admitted: Admitted) -> Result<Decisions> {
        self.locate_entrypoints()?;
        let durability = durability(&self.root, s);
        let bins = Listing::of(&mut self.root, &BIN_DIRS)?;
        let found = self.discover(&bins)?;
        self.state_in_image()?;
        // --prune needs the walk before the plan; its note (without --prune) waits until the end.
        let prune = self.prune(s)?;
        let (pruned_files, pruned_records) = match &prune {
            Some(p) => (p.files.as_slice(), p.leaving.as_slice()),
            None => (&[][..], &[][..]),
        };
        let pruned_records = pruned_records.to_vec();
        let by_definition = match &self.installed {
            Some(i) => i.files_by_definition(&mut self.root)?,
            None => Vec::new(),
        };
        let me = discover::self_exe(&mut self.root)?;
        let mut removals = Plan::build(&mut self.root, &found, &by_definition, pruned_files, me)?;
        let planned: Vec<InRoot> = removals.steps.iter().map(|s| s.item.path.clone()).collect();
        let mut skipped = loops(&found);
        skipped.extend(apply::left_in_place(&mut self.root, &mut removals)?);
        if !self.entrypoints.is_empty() {
            self.start_check(&removals.steps, Starts::Entrypoints)?;
        }
        let db = self.plan_db(s, &removals, &planned, &pruned_records)?;
        let mut pruned = prune.map(|p| p.packages).unwrap_or_default();
        if let Some(i) = &self.installed {
            strips_itself(&mut self.root, i, &removals, &mut pruned)?;
        }
        Ok(Decisions {
            admitted,
            db,
            durability,
            removals,
            pruned,
            pruned_records,
            skipped,
        })
    }

    /// Fails unless the apk state the run reads (the database, world, triggers, scripts) is
    /// part of the image ([`apkdb::part_of_image`]): what is mounted in decides nothing.
    fn state_in_image(&mut self) -> Result<()> {
        let Some(i) = &self.installed else {
            return Ok(());
        };
        let state = i.state_paths(&mut self.root)?;
        apkdb::part_of_image(&mut self.root, &state)
    }

    /// What becomes of apk's state: the database planned for the `removals` that will be made;
    /// a package owning a file of the `planned` removals left in place (mounted in) stays, as
    /// the file does. The files the commit replaces must be part of the image.
    fn plan_db(
        &mut self,
        s: &Strip,
        removals: &Plan,
        planned: &[InRoot],
        pruned_records: &[usize],
    ) -> Result<DbState> {
        let db = match (&self.installed, s.db) {
            (Some(i), _) => {
                let removed = removals.paths();
                let left: PathSet = planned
                    .iter()
                    .map(|p| p.as_os_str())
                    .filter(|p| !removed.contains(p))
                    .collect();
                let changes = i.plan(&mut self.root, &removed, pruned_records, &left)?;
                DbState::planned(changes)
            }
            (None, DbMode::Keep) => DbState::Kept,
            (None, DbMode::Update { .. }) => DbState::Absent,
        };
        let replaced = db.changes().map(Changes::replaced).unwrap_or_default();
        let replaced: Vec<InRoot> = replaced.into_iter().map(|(p, _)| p).collect();
        apkdb::part_of_image(&mut self.root, &replaced)?;
        Ok(db)
    }

    /// The dry run's report: the plan, the note of what `--prune` would remove, and what would
    /// not start once the plan is carried out.
    fn planned(&mut self, s: &Strip, mut d: Decisions) -> Result<Report> {
        let prunable = self.note_prunable(s, &d.db)?;
        let bytes_freed = d.removals.bytes_freed();
        let steps = std::mem::take(&mut d.removals.steps);
        let checked = match s.audit {
            Audit::On { .. } => self.start_check(&steps, Starts::Programs)?,
            Audit::Off => Checked::default(),
        };
        let mut r = d.into_report(Action::DryRun, self.shown(), Outcome::Planned);
        r.bytes_freed = bytes_freed;
        r.steps = steps;
        r.prunable = prunable;
        self.starts(&mut r, checked);
        Ok(r)
    }

    /// Phase two: makes the decided changes. Everything that could stop a removal half way is
    /// checked first; the new database is written (and fsynced, when decided) before the
    /// removals, so a failed write or sync stops the run before any, and renamed into place
    /// after them. A held signal that came (before the first write, and once more after the
    /// staging) stops the run there: what was staged is discarded on the way out, and apk's
    /// lock with the [`Decisions`].
    fn act(&mut self, d: &Decisions, held: Option<&Held>) -> Result<Done> {
        let stop_if_asked = || match held.and_then(Held::arrived) {
            Some(signal) => Err(Error::Interrupted(signal)),
            None => Ok(()),
        };
        // Every check that may refuse the run goes here, before the first write.
        let replaced = d.db.changes().map(Changes::replaced).unwrap_or_default();
        apply::preflight(&mut self.root, &d.removals, &replaced)?;
        stop_if_asked()?;
        let staged = match &d.db {
            DbState::Planned(c) => Some(apkdb::stage(&mut self.root, c, d.durability)?),
            _ => None,
        };
        // `staged` is dropped on the way out, which removes its files.
        stop_if_asked()?;
        let applied = apply::apply(&mut self.root, &d.removals);
        let mut db = None;
        if applied.failed.is_empty() {
            if let Some(staged) = staged {
                staged.commit()?;
            }
        } else {
            // What no check foresaw: apk's state is written for what is really there.
            drop(staged);
            db = self.true_to_the_tree(d, &applied.failed)?;
        }
        memory::entered(Phase::Done);
        Ok(Done {
            removed: applied.removed,
            skipped: applied.skipped,
            failed: applied.failed.into_iter().map(|(_, e)| e).collect(),
            db,
        })
    }

    /// After removals that failed: apk's state planned again and written for the files really
    /// there (a package that keeps a file that failed to go stays), or nothing without an apk
    /// database.
    fn true_to_the_tree(
        &mut self,
        d: &Decisions,
        failed: &[(InRoot, Error)],
    ) -> Result<Option<DbState>> {
        let Some(installed) = &self.installed else {
            return Ok(None);
        };
        let failed: PathSet = failed.iter().map(|(p, _)| p.as_os_str()).collect();
        let steps = d.removals.steps.iter().map(|s| s.item.path.as_os_str());
        let removed: PathSet = steps.filter(|p| !failed.contains(p)).collect();
        let mut fresh = self.root.fresh()?;
        let c = installed.plan(&mut fresh, &removed, &d.pruned_records, &failed)?;
        if c.new_installed.is_some() || c.world.is_some() {
            apkdb::stage(&mut fresh, &c, d.durability)?.commit()?;
        }
        Ok(Some(DbState::planned(c)))
    }

    /// Phase three: the audit of what the strip left, and the report. A shell the image author
    /// installed on purpose does not fail a strip; `--strict` makes any error or warning fail it.
    fn stripped(&mut self, s: &Strip, d: Decisions, done: Done) -> Result<Report> {
        let nothing_to_do = d.removals.steps.iter().all(|s| s.kind == StepKind::SelfExe)
            && d.db.dropped().is_empty();
        if let Audit::On { .. } = s.audit {
            // What stays is looked at afresh (the note, the audit, the start check): the
            // cached answers describe the tree before the removals.
            self.root = self.root.fresh()?;
        }
        let prunable = self.note_prunable(s, &d.db)?;
        let (findings, checked) = match s.audit {
            Audit::On { .. } => (
                self.audit(&done.removed)?,
                self.start_check(&done.removed, Starts::Programs)?,
            ),
            Audit::Off => (Vec::new(), Checked::default()),
        };
        let strict = s.audit == (Audit::On { strict: true });
        let mut d = d;
        if let Some(db) = done.db {
            d.db = db;
        }
        let outcome = if !done.failed.is_empty() {
            Outcome::Incomplete(done.failed)
        } else if strict && tally(&findings, &checked.broken) != (0, 0) {
            Outcome::Strict
        } else if nothing_to_do {
            Outcome::AlreadyStripped
        } else {
            Outcome::Stripped
        };
        let mut r = d.into_report(Action::Strip, self.shown(), outcome);
        r.db = r.db.map(|db| match db {
            DbState::Planned(c) => DbState::Updated(c),
            other => other,
        });
        r.bytes_freed = plan::bytes_freed(&done.removed);
        r.steps = done.removed;
        r.skipped.extend(done.skipped);
        r.prunable = prunable;
        r.findings = findings;
        self.starts(&mut r, checked);
        Ok(r)
    }

    /// What the start check found, and where `PATH` has the entrypoints, into the report.
    fn starts(&mut self, r: &mut Report, checked: Checked) {
        r.broken = checked.broken;
        r.glibc = checked.glibc;
        r.on_path = std::mem::take(&mut self.on_path);
    }

    /// The root as the host sees it, for the report.
    fn shown(&self) -> PathBuf {
        self.root.host_root().to_path_buf()
    }

    /// Discovery: busybox by name in the bin folders; its hard links and copies in the walk of
    /// the whole root, which is made for it only when there is busybox; then its applet links.
    fn discover(&mut self, bins: &Listing) -> Result<Found> {
        let mut found = discover::by_name(&mut self.root, bins)?;
        if found.has_busybox() {
            let whole = self.survey.get();
            discover::elsewhere(&mut self.root, &mut found, whole)?;
        }
        discover::applet_links(&mut self.root, bins, &mut found)?;
        Ok(found)
    }

    /// The audit of the root as it is now: the walk's findings (the modes), less what `removed`
    /// removed (the walk may have been made before the removals), and what the bin folders hold.
    fn audit(&mut self, removed: &[Step]) -> Result<Vec<Finding>> {
        let removed = plan::paths(removed);
        let whole = self.survey.get();
        let mut from_walk = std::mem::take(&mut whole.findings);
        from_walk.retain(|f| !removed.contains(f.path.as_os_str()));
        let bins = Listing::of(&mut self.root, &BIN_DIRS)?;
        let found = discover::discover(&mut self.root, &bins, whole)?;
        audit::audit(&mut self.root, &bins, &found, from_walk, &whole.files)
    }

    /// The start check, for every phase that asks it: once `steps` are carried out (planned or
    /// made; none for `--check`), every `--entrypoint` must start, and which of the image's
    /// programs (the walk's, and the bin folders' files) will not, each missing piece with its
    /// cause.
    fn start_check(&mut self, steps: &[Step], ask: Starts) -> Result<Checked> {
        let gone = start::image::gone(&mut self.root, self.installed.as_ref(), steps)?;
        if ask != Starts::Programs {
            let strips = matches!(self.opts.mode, Mode::Strip(_));
            let (root, env) = (&mut self.root, &self.env);
            start::image::require(root, &self.entrypoints, &gone, env, strips)?;
        }
        if ask == Starts::Entrypoints {
            return Ok(Checked::default());
        }
        let programs = std::mem::take(&mut self.survey.get().programs);
        let (root, env, installed) = (&mut self.root, &self.env, self.installed.as_ref());
        start::image::broken(root, &programs, &gone, env, installed)
    }

    /// `--prune`: the packages that leave and their files. What the `--entrypoint` programs
    /// need to start stays, as `--keep` keeps it.
    fn prune(&mut self, s: &Strip) -> Result<Option<Prunable>> {
        let (Some(installed), Some(prune)) = (&self.installed, &s.prune) else {
            return Ok(None);
        };
        let (root, env) = (&mut self.root, &self.env);
        let keep = start::image::keep(root, installed, &prune.keep, &self.entrypoints, env)?;
        let files = &self.survey.get().files;
        let p = installed.prunable(&mut self.root, &keep, files)?;
        let what = match &p.world {
            World::Read { unknown } if unknown.is_empty() => return Ok(Some(p)),
            World::Read { unknown } => format!(
                "names {}, which no installed package is or provides: apk refuses such a \
                 world, and --prune would take what it was meant to keep",
                unknown.join(", ")
            ),
            World::Missing => "is missing: --prune keeps what world names and what that \
                 needs, and without it would take every other package"
                .to_string(),
            World::Empty => "names no package: --prune keeps what world names and what that \
                 needs, and would take every other package"
                .to_string(),
        };
        Err(Error::World(what))
    }

    /// The note without `--prune` (skipped with the audit): what it would remove, less what the
    /// strip drops itself (libapk with its file). Nothing without a database.
    fn note_prunable(&mut self, s: &Strip, db: &DbState) -> Result<Vec<Pruned>> {
        let Some(installed) = &self.installed else {
            return Ok(Vec::new());
        };
        if s.prune.is_some() || s.audit == Audit::Off {
            return Ok(Vec::new());
        }
        let files = &self.survey.get().files;
        let p = installed.prunable(&mut self.root, &[], files)?;
        if matches!(p.world, World::Missing | World::Empty) {
            // Without a world naming something, nothing says what was asked for: no note.
            return Ok(Vec::new());
        }
        let mut packages = p.packages;
        let dropped = db.dropped();
        packages.retain(|p| !dropped.contains(&p.package));
        Ok(packages)
    }
}

/// Takes out of `pruned` the packages the strip drops itself whatever `--prune` says (libapk
/// with apk: a file of theirs is one of the plan's own removals), so that each is named once.
fn strips_itself(
    root: &mut Root,
    installed: &Installed,
    removals: &Plan,
    pruned: &mut Vec<Pruned>,
) -> Result<()> {
    let mut own = PathSet::with_capacity(removals.steps.len());
    for s in &removals.steps {
        if s.kind != StepKind::PrunedFile {
            own.insert(s.item.path.as_os_str());
        }
    }
    let mut dropped = Vec::new();
    installed.each_file(root, &mut |path, package| {
        if own.contains(path.as_os_str()) {
            dropped.push(package.to_vec());
        }
    })?;
    pruned.retain(|p| !dropped.iter().any(|d| *d == p.package.name.as_bytes()));
    Ok(())
}

/// apk's own rule for syncing its commits: on the host's own `/`, not in a container build nor
/// under `--root`; `--sync` always.
fn durability(root: &Root, s: &Strip) -> Durability {
    match s.db {
        DbMode::Update {
            sync: SyncPolicy::Always,
        } => Durability::Fsync,
        DbMode::Update {
            sync: SyncPolicy::Auto,
        } if root.is_slash() && guard::on_host() => Durability::Fsync,
        _ => Durability::Written,
    }
}

impl Decisions {
    /// The report of these decisions (the guard's signals, what stays in place, the database,
    /// the prune set); the removals, planned or made, are the caller's to add. apk's lock is
    /// let go here.
    fn into_report(self, action: Action, root: PathBuf, outcome: Outcome) -> Report {
        let Decisions {
            admitted,
            db,
            pruned,
            skipped,
            ..
        } = self;
        Report {
            skipped,
            db: Some(db),
            pruned,
            signals: admitted.signals,
            ..Report::new(action, root, outcome)
        }
    }
}

/// The walk of the whole root ([`survey::walk_whole_root`]), made once, when it is first
/// needed (discovery, when the bin folders hold busybox; `--prune`; the note; the audit), and
/// made before the removals (then the audit passes over what they removed) or after them.
struct Survey {
    host: PathBuf,
    /// What the walk saw, once made.
    done: Option<WholeRoot>,
}

impl Survey {
    /// A walk made when first asked for.
    fn new(host: &Path) -> Survey {
        Survey {
            host: host.to_path_buf(),
            done: None,
        }
    }

    /// What the walk saw (walking now, the first time).
    fn get(&mut self) -> &mut WholeRoot {
        let host = &self.host;
        self.done
            .get_or_insert_with(|| survey::walk_whole_root(host))
    }
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
