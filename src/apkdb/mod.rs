//! Keeping the apk database true after a strip.
//!
//! Scanners decide which packages an image has from `/lib/apk/db/installed` (or
//! `/usr/lib/apk/db/installed` in a tree that moved it, see [`Location`]). Which packages
//! leave it follows from what the strip removes, not from a list of names that Alpine renames
//! from release to release (`libapk2`, `libapk`): a package whose files the strip removed and
//! of which no file is left leaves the database and `/etc/apk/world`; one that keeps some files
//! stays without the entries of the removed ones. busybox, ssl_client and apk leave by
//! definition ([`BY_DEFINITION`]), and their files (unless another package owns them too)
//! leave the root. The packages that leave also leave the triggers file and the scripts
//! archive beside the database ([`triggers`], [`scripts`]), as `apk del` leaves them. Without
//! a database the strip works from discovery alone; a malformed one, or a scripts archive
//! that does not read, stops the run before anything is removed.

pub mod atomic;
pub mod checksum;
pub mod lock;
pub mod parse;
pub mod prune;
pub mod scripts;
pub mod triggers;
pub mod world;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Malformed, Result};
use crate::root::resolve::Resolved;
use crate::root::{InRoot, PathSet, Root};
pub use atomic::Durability;
use parse::{Database, Record};

/// Packages the strip removes by definition, whatever files they own: busybox and its
/// subpackages, busybox wget's TLS helper, apk itself.
pub const BY_DEFINITION: [&[u8]; 8] = [
    b"busybox",
    b"busybox-binsh",
    b"busybox-suid",
    b"busybox-extras",
    b"busybox-static",
    b"ssl_client",
    b"apk-tools",
    b"apk-tools-static",
];

/// The installed database, inside the root, where apk keeps it.
pub const INSTALLED: &str = "lib/apk/db/installed";
/// The installed database of a tree that moved it under /usr (read only when [`INSTALLED`]
/// does not exist).
pub const USR_INSTALLED: &str = "usr/lib/apk/db/installed";
/// The user's package list, inside the root.
pub const WORLD: &str = "etc/apk/world";
/// The most bytes read of the installed database (a desktop install's is about 5 MB).
pub const INSTALLED_LIMIT: u64 = 64 << 20;
/// The most bytes read of world.
pub const WORLD_LIMIT: u64 = 1 << 20;

/// A package named in the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The package name (`P:`).
    pub name: String,
    /// Its version (`V:`).
    pub version: String,
}

impl Package {
    fn of(r: &Record) -> Package {
        Package {
            name: String::from_utf8_lossy(r.name()).into_owned(),
            version: String::from_utf8_lossy(r.version()).into_owned(),
        }
    }
}

/// A parsed installed database and where it lies.
#[derive(Debug)]
pub struct Installed {
    /// Real path inside the root.
    pub path: InRoot,
    db: Database<'static>,
}

/// The apk database over a run, the one type for its state: what the run found, what it
/// plans and what it did. The report shows it as `apk_db.status`.
#[derive(Debug)]
pub enum DbState {
    /// There is no database (not Alpine, or already removed).
    Absent,
    /// `--keep-apk-db`: not read, left alone.
    Kept,
    /// It could not be parsed; nothing was removed.
    Malformed(Malformed),
    /// Nothing in it changes.
    Unchanged,
    /// These changes are planned (and, in a dry run, not made).
    Planned(Changes),
    /// These changes were made.
    Updated(Changes),
}

impl DbState {
    /// The state after planning `changes`: [`DbState::Unchanged`] when they change nothing.
    pub fn planned(changes: Changes) -> DbState {
        if changes.new_installed.is_none() && changes.world.is_none() {
            DbState::Unchanged
        } else {
            DbState::Planned(changes)
        }
    }

    /// The planned changes, if any.
    pub fn changes(&self) -> Option<&Changes> {
        match self {
            DbState::Planned(c) | DbState::Updated(c) => Some(c),
            _ => None,
        }
    }

    /// Packages that leave the database.
    pub fn dropped(&self) -> &[Package] {
        self.changes().map_or(&[], |c| &c.dropped)
    }

    /// Packages that stay with the entries of removed files taken out.
    pub fn trimmed(&self) -> &[Package] {
        self.changes().map_or(&[], |c| &c.trimmed)
    }

    /// The name in both reports.
    pub fn label(&self) -> &'static str {
        match self {
            DbState::Absent => "absent",
            DbState::Kept => "kept",
            DbState::Malformed(_) => "malformed",
            DbState::Unchanged => "unchanged",
            DbState::Planned(_) => "planned",
            DbState::Updated(_) => "updated",
        }
    }
}

/// The new database and world, and what leaves them.
#[derive(Debug)]
pub struct Changes {
    /// Real path of the database inside the root.
    pub installed: InRoot,
    /// Its new bytes, when it changes.
    pub new_installed: Option<Vec<u8>>,
    /// Real path of world and its new bytes, when world changes.
    pub world: Option<(InRoot, Vec<u8>)>,
    /// apk's state beside the database that changes (the triggers file, the scripts
    /// archives): real path and new bytes of each.
    pub state_files: Vec<(InRoot, Vec<u8>)>,
    /// Packages that leave the database, in database order.
    pub dropped: Vec<Package>,
    /// Packages that stay with the entries of removed files taken out.
    pub trimmed: Vec<Package>,
}

impl Changes {
    /// The files the commit replaces, with the bytes of each new version: apk's state beside
    /// the database, world, then the database itself.
    pub fn replaced(&self) -> Vec<(InRoot, u64)> {
        let mut out = Vec::new();
        for (path, bytes) in self.state_files.iter().chain(&self.world) {
            out.push((path.clone(), bytes.len() as u64));
        }
        if let Some(bytes) = &self.new_installed {
            out.push((self.installed.clone(), bytes.len() as u64));
        }
        out
    }
}

/// Where the root keeps apk's database folder (the installed database and apk's lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// `/lib/apk/db`, apk's own place (also when neither place holds a database).
    Lib,
    /// `/usr/lib/apk/db`: `/lib/apk/db/installed` does not exist and this one does.
    UsrLib,
}

impl Location {
    /// Where `root` keeps the database: [`INSTALLED`] when it exists (even as a link that
    /// leads nowhere inside the root), else [`USR_INSTALLED`] when that exists.
    pub fn of(root: &mut Root) -> Result<Location> {
        let exists = |root: &mut Root, path: &str| -> Result<bool> {
            match root.resolve_parent(Path::new(path))? {
                Some(real) => Ok(root.lstat(&real)?.is_some()),
                None => Ok(false),
            }
        };
        Ok(
            if !exists(root, INSTALLED)? && exists(root, USR_INSTALLED)? {
                Location::UsrLib
            } else {
                Location::Lib
            },
        )
    }

    /// The installed database, inside the root.
    pub fn installed(self) -> &'static str {
        match self {
            Location::Lib => INSTALLED,
            Location::UsrLib => USR_INSTALLED,
        }
    }

    /// apk's lock, beside the database.
    pub fn lock(self) -> &'static str {
        match self {
            Location::Lib => "lib/apk/db/lock",
            Location::UsrLib => "usr/lib/apk/db/lock",
        }
    }
}

/// Reads and parses the installed database of `root` (at its [`Location`]), confined to it;
/// `None` when there is none. A database that is not a regular file, too large, or malformed
/// is an error that stops the run before any removal.
pub fn load(root: &mut Root) -> Result<Option<Installed>> {
    let installed = Location::of(root)?.installed();
    let host = root.host_root().to_path_buf();
    // What is read must be the image's: a database that is a link to a file mounted in is
    // refused before a byte of it is read.
    let real = read_at(root, Path::new(installed))?;
    part_of_image(root, real.as_slice())?;
    let read = root.read_regular(Path::new(installed), INSTALLED_LIMIT);
    let Some((path, bytes)) = state_file(&host, read)? else {
        return Ok(None);
    };
    // The bytes live as long as the run: one process, one database.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    match Database::parse(bytes) {
        Ok(db) => Ok(Some(Installed { path, db })),
        Err(e) => Err(Error::MalformedDb(Malformed {
            path: path.into(),
            line: Some(e.line),
            what: e.what.to_string(),
        })),
    }
}

/// Fails (`EXDEV`, naming the path) unless each of `paths` (apk's state files and folders the
/// run reads, locks or replaces) and its folder are part of the image: on the root's mount and
/// not a mount point ([`Root::mounted_in`]). A database, world or folder bound in from outside
/// would be written on the host (or its rename would fail with `EBUSY` after the removals), and
/// what is read from outside would decide the run. Checked before any of them is read.
pub fn part_of_image(root: &mut Root, paths: &[InRoot]) -> Result<()> {
    for path in paths {
        let folder = path.parent().unwrap_or_default();
        for p in [&folder, path] {
            if root.mounted_in(p)? {
                return Err(Error::io(
                    "apk's state is mounted in, not part of the image (nothing was removed; \
                     --keep-apk-db strips without touching it)",
                    &root.host(p),
                    std::io::Error::from_raw_os_error(nix::libc::EXDEV),
                ));
            }
        }
    }
    Ok(())
}

/// What `path` (apk's state) ends at inside the root, when it ends at something: the file a
/// read of it opens.
pub fn read_at(root: &mut Root, path: &Path) -> Result<Option<InRoot>> {
    Ok(match root.resolve(path)? {
        Resolved::Found(real, _) => Some(real),
        Resolved::Missing(_) | Resolved::Loop => None,
    })
}

/// A read of apk's state (the database, world, and what lies beside them), with a file that cannot be carried over whole
/// (over its size limit, not a regular file) an error of apk's state, as a malformed one is:
/// the run stops before the first removal, exit 5.
pub(super) fn state_file(
    root: &Path,
    read: Result<Option<(InRoot, Vec<u8>)>>,
) -> Result<Option<(InRoot, Vec<u8>)>> {
    read.map_err(|e| match e {
        Error::Input { path, why } => Error::MalformedDb(Malformed {
            path: path.strip_prefix(root).unwrap_or(&path).to_path_buf(),
            line: None,
            what: why,
        }),
        other => other,
    })
}

/// A path the database names, as a path inside the root.
fn db_path(dir: &[u8], name: &[u8]) -> PathBuf {
    Path::new(OsStr::from_bytes(dir)).join(OsStr::from_bytes(name))
}

/// Whether a file the database names is in the root (its folder and the file exist).
fn is_present(root: &mut Root, dir: &[u8], name: &[u8]) -> Result<bool> {
    match root.resolve_entry(dir, name)? {
        Some(real) => Ok(root.lstat(&real)?.is_some()),
        None => Ok(false),
    }
}

impl Installed {
    /// The files of the packages the strip removes by definition that no staying package owns,
    /// as real paths inside the root, each once. "Owns" goes by the file a line names, never
    /// by its text: each `F:`/`R:` pair is resolved as a chrooted process would resolve it
    /// (its folder followed, the name not), so `bin/sh` and `usr/bin/sh` on a /usr-merged tree
    /// are one file, and one a staying package lists under either spelling stays.
    pub fn files_by_definition(&self, root: &mut Root) -> Result<Vec<PathBuf>> {
        let mut theirs = Vec::new();
        for r in self.db.records.iter() {
            if BY_DEFINITION.contains(&r.name()) {
                for (dir, name) in r.file_pairs() {
                    theirs.extend(root.resolve_entry(dir, name)?);
                }
            }
        }
        if theirs.is_empty() {
            return Ok(Vec::new());
        }
        let staying = self.staying_files(root)?;
        let mut taken: PathSet = staying.iter().map(|p| p.as_os_str()).collect();
        let mut out = Vec::with_capacity(theirs.len());
        for p in &theirs {
            // `insert` is false for a file a staying package owns, or one already listed.
            if taken.insert(p.as_os_str()) {
                out.push(p.to_path_buf());
            }
        }
        Ok(out)
    }

    /// Works out the database and world after the strip removes `removed` (real paths inside
    /// the root): a package leaves when it is one of [`BY_DEFINITION`] or `pruned` (indices of
    /// records, see [`prune`]), or when the strip removes at least one of its files and none of
    /// its files is left; a package that loses some files and keeps others stays, without the
    /// entries of the removed ones. A package that owns a file in `left` (real paths: removals
    /// left in place, or that failed) is still there, whatever its name or `--prune` said, and
    /// stays without the entries of the files that did go; after removals, `root` must be looked
    /// at afresh ([`Root::fresh`]). Writes nothing.
    pub fn plan(
        &self,
        root: &mut Root,
        removed: &PathSet,
        pruned: &[usize],
        left: &PathSet,
    ) -> Result<Changes> {
        let mut dropped = Vec::new();
        let mut trimmed = Vec::new();
        let mut out = self.db.preamble.to_vec();
        let mut dropped_names: Vec<&[u8]> = Vec::new();
        // The checksums of the packages that stay (`C:`), for apk's state beside the database
        // (a list: a hash set of byte strings costs 1.4 KB of binary, and there are tens).
        let mut staying_sums: Vec<Vec<u8>> = Vec::new();
        for (i, r) in self.db.records.iter().enumerate() {
            let leaves = BY_DEFINITION.contains(&r.name()) || pruned.contains(&i);
            if !leaves || self.owns_any(root, r, left)? {
                // Which of its files the strip removes: the folders' resolution is cached, so
                // a package the strip does not touch costs no syscall.
                let mut gone = PathSet::default();
                for (dir, name) in r.file_pairs() {
                    if let Some(real) = root.resolve_entry(dir, name)?
                        && removed.contains(real.as_os_str())
                    {
                        gone.insert_entry(dir, name);
                    }
                }
                if gone.is_empty() {
                    out.extend_from_slice(r.raw);
                    staying_sums.extend(r.get(b'C').and_then(checksum::decode));
                    continue;
                }
                let mut present = false;
                for (dir, name) in r.file_pairs().filter(|&(d, n)| !gone.contains_entry(d, n)) {
                    present |= is_present(root, dir, name)?;
                }
                if present {
                    staying_sums.extend(r.get(b'C').and_then(checksum::decode));
                    trimmed.push(Package::of(r));
                    r.write_without(|dir, name| gone.contains_entry(dir, name), &mut out);
                    continue;
                }
            }
            dropped.push(Package::of(r));
            dropped_names.push(r.name());
        }
        let new_installed = (!dropped.is_empty() || !trimmed.is_empty()).then_some(out);
        let host = root.host_root().to_path_buf();
        let world = match state_file(&host, root.read_regular(Path::new(WORLD), WORLD_LIMIT))? {
            Some((path, bytes)) => world::without(&bytes, &dropped_names).map(|new| (path, new)),
            None => None,
        };
        // apk writes its state anew whenever it writes the database.
        let state_files = if new_installed.is_some() {
            self.state_files(root, &staying_sums)?
        } else {
            Vec::new()
        };
        Ok(Changes {
            installed: self.path.clone(),
            new_installed,
            world,
            state_files,
            dropped,
            trimmed,
        })
    }

    /// Whether `r` owns one of `paths` (real paths inside the root).
    fn owns_any(&self, root: &mut Root, r: &Record, paths: &PathSet) -> Result<bool> {
        if paths.is_empty() {
            return Ok(false);
        }
        for (dir, name) in r.file_pairs() {
            if let Some(real) = root.resolve_entry(dir, name)?
                && paths.contains(real.as_os_str())
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every path of apk's state the run reads or writes: the database, world where it is
    /// written (its name) and where it is read (the file a link there ends at), and the
    /// triggers and scripts beside the database (read through links too).
    pub fn state_paths(&self, root: &mut Root) -> Result<Vec<InRoot>> {
        let mut out = vec![self.path.clone()];
        out.extend(root.resolve_parent(Path::new(WORLD))?);
        out.extend(read_at(root, Path::new(WORLD))?);
        let folder = self.path.parent().unwrap_or_default();
        let beside = [triggers::FILE]
            .into_iter()
            .chain(scripts::FILES.map(|(f, _)| f));
        for name in beside {
            out.extend(read_at(root, &folder.join(name))?);
        }
        Ok(out)
    }

    /// The triggers file and the scripts archive apk reads (`scripts.tar` when it is there, else
    /// `scripts.tar.gz`) beside the database, as apk writes them anew with the database: the
    /// lines and entries of the packages whose checksums are not in `staying` go (those of the
    /// dropped packages, and any of packages the database no longer lists, left by an earlier
    /// tool; see [`leaves`]); each file that changes, with its real path. An archive that
    /// cannot be read is [`Error::MalformedDb`] naming it.
    fn state_files(&self, root: &mut Root, staying: &[Vec<u8>]) -> Result<Vec<(InRoot, Vec<u8>)>> {
        let mut out = Vec::new();
        let goes = |sum: &[u8]| leaves(staying, sum);
        let folder = self.path.parent().unwrap_or_default();
        let host = &root.host_root().to_path_buf();
        if let Some((path, bytes)) = state_file(
            host,
            root.read_regular(&folder.join(triggers::FILE), triggers::LIMIT),
        )? {
            out.extend(triggers::without(&bytes, goes).map(|new| (path, new)));
        }
        // apk reads `scripts.tar` when it is there, else (apk 3) `scripts.tar.gz`: only that one.
        for (name, packing) in scripts::FILES {
            let read = root.read_regular(&folder.join(name), scripts::LIMIT);
            let Some((path, bytes)) = state_file(host, read)? else {
                continue;
            };
            match scripts::without(&bytes, packing, goes) {
                Ok(Some(new)) => out.push((path, new)),
                Ok(None) => {}
                Err(what) => {
                    return Err(Error::MalformedDb(Malformed {
                        path: path.into(),
                        line: None,
                        what,
                    }));
                }
            }
            break;
        }
        Ok(out)
    }

    /// The files the packages that stay own (every record but those removed by definition),
    /// as real paths inside the root (the folders resolved, the last name not followed), in
    /// database order.
    pub fn staying_files(&self, root: &mut Root) -> Result<Vec<InRoot>> {
        let mut out = Vec::new();
        let staying = self.db.records.iter();
        for r in staying.filter(|r| !BY_DEFINITION.contains(&r.name())) {
            for (dir, name) in r.file_pairs() {
                out.extend(root.resolve_entry(dir, name)?);
            }
        }
        Ok(out)
    }

    /// Calls `each` with the real path inside the root (its folder resolved, the file itself
    /// not followed) and the package name of every file a record claims, in database order.
    /// Reads nothing but cached folder lookups.
    pub fn each_file(&self, root: &mut Root, each: &mut dyn FnMut(&Path, &[u8])) -> Result<()> {
        for r in &self.db.records {
            for (dir, name) in r.file_pairs() {
                if let Some(real) = root.resolve_entry(dir, name)? {
                    each(&real, r.name());
                }
            }
        }
        Ok(())
    }

    /// Every file a record claims that is not in the root: the package and the path.
    pub fn missing_files(&self, root: &mut Root) -> Result<Vec<(Package, PathBuf)>> {
        let mut out = Vec::new();
        for r in &self.db.records {
            for (dir, name) in r.file_pairs() {
                if !is_present(root, dir, name)? {
                    out.push((Package::of(r), db_path(dir, name)));
                }
            }
        }
        Ok(out)
    }
}

/// The new database, world, triggers file and scripts archives, written beside the old ones
/// (and fsynced, when asked), not yet in place.
pub struct Staged(atomic::Ready);

/// Writes the planned database, world, triggers file and scripts archives next to the old ones
/// and, with [`Durability::Fsync`], fsyncs them; nothing when nothing changes. Done before the
/// removals (an fsync after them would flush the journal of every unlink too). Dropping the result without
/// [`Staged::commit`] removes the new files. The installed database is renamed last: a run
/// killed between two renames still lists the packages that leave, so the next run finishes
/// the job (the files renamed before already lack their entries).
pub fn stage(root: &mut Root, changes: &Changes, durability: Durability) -> Result<Staged> {
    let mut staged = Vec::new();
    for (path, bytes) in changes.state_files.iter().chain(&changes.world) {
        staged.push(atomic::stage(target(root, path)?, bytes)?);
    }
    if let Some(bytes) = &changes.new_installed {
        staged.push(atomic::stage(target(root, &changes.installed)?, bytes)?);
    }
    Ok(Staged(atomic::ready(staged, durability)?))
}

/// The file `path` to replace, by its folder opened confined to the root.
fn target(root: &mut Root, path: &InRoot) -> Result<atomic::Target> {
    let host = root.host(path);
    let dir = root.open_folder(&path.parent().unwrap_or_default());
    Ok(atomic::Target {
        dir: dir.map_err(|e| Error::io("cannot open the folder of", &host, e))?,
        name: OsStr::from_bytes(path.name()).to_os_string(),
        host,
    })
}

/// Whether the trigger line or script of the package whose checksum bytes are `sum` leaves
/// apk's state, given the checksums of the packages that stay. apk 3 knows a package by the
/// first 20 bytes of its checksum (`apk_db_get_pkg`), so a longer one with the same start is
/// the same package.
fn leaves(staying: &[Vec<u8>], sum: &[u8]) -> bool {
    let key = |s: &[u8]| s.len().min(20);
    !staying.iter().any(|s| s[..key(s)] == sum[..key(sum)])
}

impl Staged {
    /// Renames the new files over the old ones (after the removals).
    pub fn commit(self) -> Result<()> {
        self.0.commit()
    }
}

/// Writes the planned database and world, each atomically.
#[cfg(test)]
pub fn apply(root: &mut Root, changes: &Changes) -> Result<()> {
    stage(root, changes, Durability::Fsync)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_package_is_known_by_the_first_20_bytes_of_its_checksum() {
        let sha1 = vec![7u8; 20];
        let staying = [sha1.clone()];
        assert!(!leaves(&staying, &sha1));
        assert!(
            !leaves(&staying, &[&sha1[..], &[9; 12]].concat()),
            "a SHA-256 form"
        );
        assert!(leaves(&staying, &[8u8; 20]));
        assert!(leaves(&staying, &sha1[..19]), "a shorter one is another");
        assert!(leaves(&[], &sha1));
    }

    fn root_with(db: &[u8], world: &[u8]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for d in ["lib/apk/db", "etc/apk", "bin", "sbin", "usr/lib"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        fs::write(t.path().join(INSTALLED), db).unwrap();
        fs::write(t.path().join(WORLD), world).unwrap();
        for f in ["lib/libc.so", "bin/busybox", "etc/shared", "sbin/apk"] {
            fs::write(t.path().join(f), b"x").unwrap();
        }
        let root = Root::open(t.path()).unwrap();
        (t, root)
    }

    fn installed(root: &mut Root) -> Installed {
        load(root).unwrap().expect("a database")
    }

    fn names(p: &[Package]) -> Vec<&str> {
        p.iter().map(|p| p.name.as_str()).collect()
    }

    const DB: &[u8] = b"P:musl\nV:1.2.5-r0\nF:lib\nR:libc.so\n\nP:busybox\nV:1.36.1-r29\nF:bin\nR:busybox\nF:etc\nR:shared\n\nP:other\nV:1\nF:etc\nR:shared\n\nP:apk-tools\nV:2.14.4-r0\nF:sbin\nR:apk\n\nP:libc-utils\nV:0.7\n\n";

    #[test]
    fn packages_by_definition_leave_and_their_files_go_unless_another_owns_them() {
        let (_t, mut root) = root_with(DB, b"busybox\nmusl\napk-tools\nlibc-utils\n");
        let db = installed(&mut root);
        assert_eq!(
            db.files_by_definition(&mut root).unwrap(),
            vec![PathBuf::from("bin/busybox"), PathBuf::from("sbin/apk")]
        );
        let removed: PathSet = ["bin/busybox", "sbin/apk"].iter().map(OsStr::new).collect();
        let c = db
            .plan(&mut root, &removed, &[], &PathSet::default())
            .unwrap();
        assert_eq!(names(&c.dropped), ["busybox", "apk-tools"]);
        assert_eq!(c.dropped[1].version, "2.14.4-r0");
        assert!(c.trimmed.is_empty());
        assert_eq!(
            c.new_installed.as_deref(),
            Some(&b"P:musl\nV:1.2.5-r0\nF:lib\nR:libc.so\n\nP:other\nV:1\nF:etc\nR:shared\n\nP:libc-utils\nV:0.7\n\n"[..])
        );
        apply(&mut root, &c).unwrap();
        let host = root.host_root().to_path_buf();
        assert_eq!(
            fs::read(host.join(INSTALLED)).unwrap(),
            c.new_installed.unwrap()
        );
        assert_eq!(fs::read(host.join(WORLD)).unwrap(), b"musl\nlibc-utils\n");
    }

    #[test]
    fn a_file_a_staying_package_owns_under_another_spelling_stays_with_its_package() {
        // /usr-merged: `bin -> usr/bin`; busybox-binsh lists bin/sh, dash-binsh usr/bin/sh. A
        // folder link: `opt/etcalias -> /etc`, listed by a staying package.
        let db = b"P:busybox-binsh\nV:1\nF:bin\nR:sh\n\nP:dash-binsh\nV:1\nF:usr/bin\nR:sh\n\n\
P:busybox\nV:1\nF:usr/bin\nR:busybox\nF:etc\nR:securetty\nR:only-busybox\n\n\
P:tty\nV:1\nF:opt/etcalias\nR:securetty\n\n";
        let t = tempfile::tempdir().unwrap();
        for d in ["lib/apk/db", "etc/apk", "usr/bin", "opt"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", t.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("/etc", t.path().join("opt/etcalias")).unwrap();
        fs::write(t.path().join(INSTALLED), &db[..]).unwrap();
        fs::write(t.path().join(WORLD), b"dash-binsh\nbusybox\ntty\n").unwrap();
        std::os::unix::fs::symlink("dash", t.path().join("usr/bin/sh")).unwrap();
        for f in ["usr/bin/busybox", "etc/securetty", "etc/only-busybox"] {
            fs::write(t.path().join(f), b"x").unwrap();
        }
        let mut root = Root::open(t.path()).unwrap();
        let db = installed(&mut root);
        let files = db.files_by_definition(&mut root).unwrap();
        assert_eq!(
            files,
            [
                PathBuf::from("usr/bin/busybox"),
                PathBuf::from("etc/only-busybox")
            ]
        );
        let removed: PathSet = files.iter().map(|p| p.as_os_str()).collect();
        let c = db
            .plan(&mut root, &removed, &[], &PathSet::default())
            .unwrap();
        assert_eq!(names(&c.dropped), ["busybox-binsh", "busybox"]);
        assert!(c.trimmed.is_empty());
        assert_eq!(c.world.unwrap().1, b"dash-binsh\ntty\n");
    }

    #[test]
    fn a_package_leaves_when_its_last_file_is_removed_and_is_trimmed_when_some_stay() {
        // Renamed from release to release: only ownership tells that these go.
        let db = b"P:libapk\nV:3.0.3-r1\nF:usr/lib\nR:libapk.so.3.0.0\na:0:0:755\nZ:Q1a=\n\nP:mixed\nV:2\nF:usr/lib\nR:libapk.so.3.0.0\nZ:Q1a=\nR:keep.so\nZ:Q1b=\n\nP:libcrypto3\nV:3\nF:usr/lib\nR:libcrypto.so.3\nR:keep.so\n\nP:untouched\nV:1\nF:usr/lib\nR:gone-before\n\n";
        let (t, mut root) = root_with(db, b"libapk\nmixed\nlibcrypto3\n");
        fs::write(t.path().join("usr/lib/libapk.so.3.0.0"), b"x").unwrap();
        fs::write(t.path().join("usr/lib/keep.so"), b"x").unwrap();
        let db = installed(&mut root);
        let removed: PathSet = [OsStr::new("usr/lib/libapk.so.3.0.0")]
            .into_iter()
            .collect();
        let c = db
            .plan(&mut root, &removed, &[], &PathSet::default())
            .unwrap();
        assert_eq!(names(&c.dropped), ["libapk"]);
        assert_eq!(names(&c.trimmed), ["mixed"]);
        assert_eq!(
            c.new_installed.as_deref(),
            Some(&b"P:mixed\nV:2\nF:usr/lib\nR:keep.so\nZ:Q1b=\n\nP:libcrypto3\nV:3\nF:usr/lib\nR:libcrypto.so.3\nR:keep.so\n\nP:untouched\nV:1\nF:usr/lib\nR:gone-before\n\n"[..])
        );
        assert_eq!(c.world.unwrap().1, b"mixed\nlibcrypto3\n");
        let missing: Vec<(String, PathBuf)> = db
            .missing_files(&mut root)
            .unwrap()
            .into_iter()
            .map(|(p, f)| (p.name, f))
            .collect();
        assert_eq!(
            missing,
            [
                ("libcrypto3".into(), PathBuf::from("usr/lib/libcrypto.so.3")),
                ("untouched".into(), PathBuf::from("usr/lib/gone-before")),
            ]
        );
    }

    #[test]
    fn the_dropped_packages_leave_the_triggers_file_and_the_scripts_archive() {
        use crate::format::tar::{self, tests::entry};
        let db = b"C:Q1TWFu\nP:busybox\nV:1\nF:bin\nR:busybox\n\nC:Q1TWE=\nP:musl\nV:1\nF:lib\nR:libc.so\n\n";
        let (t, mut root) = root_with(db, b"busybox\n");
        let trig = b"Q1TWFu /bin /usr/bin\nQ1TWE= /lib\n";
        fs::write(t.path().join("lib/apk/db/triggers"), trig).unwrap();
        let bb = entry(b"busybox-1.Q1TWFu.post-install", b"#!/bin/sh\n");
        let musl = entry(b"musl-1.X14d61.trigger", b"#!/bin/sh\n");
        let scripts = [&bb[..], &musl, &tar::END].concat();
        fs::write(t.path().join("lib/apk/db/scripts.tar"), &scripts).unwrap();
        let removed: PathSet = [OsStr::new("bin/busybox")].into_iter().collect();
        let c = installed(&mut root)
            .plan(&mut root, &removed, &[], &PathSet::default())
            .unwrap();
        let paths: Vec<&Path> = c.state_files.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("lib/apk/db/triggers"),
                Path::new("lib/apk/db/scripts.tar")
            ]
        );
        assert_eq!(c.state_files[0].1, b"Q1TWE= /lib\n");
        apply(&mut root, &c).unwrap();
        let db_dir = t.path().join("lib/apk/db");
        assert_eq!(fs::read(db_dir.join("triggers")).unwrap(), b"Q1TWE= /lib\n");
        assert_eq!(
            fs::read(db_dir.join("scripts.tar")).unwrap(),
            [&musl[..], &tar::END].concat()
        );
        assert!(!db_dir.join("scripts.tar.gz").exists());

        // A malformed archive stops the plan, naming the file.
        fs::write(t.path().join(INSTALLED), db).unwrap();
        fs::write(db_dir.join("scripts.tar"), &scripts[..700]).unwrap();
        let mut root = Root::open(t.path()).unwrap();
        match installed(&mut root).plan(&mut root, &removed, &[], &PathSet::default()) {
            Err(Error::MalformedDb(why)) => assert_eq!(
                why.to_string(),
                "/lib/apk/db/scripts.tar: tar header at byte 0: entry larger than the rest of the archive"
            ),
            other => panic!("expected MalformedDb, got {other:?}"),
        }
    }

    #[test]
    fn a_package_only_trimmed_rewrites_apks_state_without_the_lines_of_packages_not_listed() {
        let db = b"C:Q1TWE=\nP:mixed\nV:1\nF:lib\nR:libc.so\nF:bin\nR:busybox\n\n";
        let (t, mut root) = root_with(db, b"mixed\n");
        let trig = b"Q1TWE= /lib\nQ1TWFu /usr/share/ghost\n";
        fs::write(t.path().join("lib/apk/db/triggers"), trig).unwrap();
        let removed: PathSet = [OsStr::new("bin/busybox")].into_iter().collect();
        let c = installed(&mut root)
            .plan(&mut root, &removed, &[], &PathSet::default())
            .unwrap();
        assert_eq!(
            (names(&c.dropped), names(&c.trimmed)),
            (vec![], vec!["mixed"])
        );
        assert_eq!(c.state_files.len(), 1);
        assert_eq!(c.state_files[0].1, b"Q1TWE= /lib\n");
    }

    #[test]
    fn nothing_removed_changes_nothing() {
        let db = b"P:musl\nV:1\nF:lib\nR:libc.so\n\n";
        let (_t, mut root) = root_with(db, b"musl\n");
        let c = installed(&mut root)
            .plan(&mut root, &PathSet::default(), &[], &PathSet::default())
            .unwrap();
        assert!(c.new_installed.is_none() && c.world.is_none() && c.dropped.is_empty());
    }

    #[test]
    fn a_malformed_database_is_an_error_naming_path_and_line() {
        let (_t, mut root) = root_with(b"P:musl\nV:1\n\nP:busybox\ngarbage\n", b"");
        match load(&mut root) {
            Err(Error::MalformedDb(m)) => {
                assert_eq!(
                    m.to_string(),
                    "/lib/apk/db/installed: line 5: not a `X:value` line"
                );
                assert_eq!((m.line, m.what.as_str()), (Some(5), "not a `X:value` line"));
            }
            other => panic!("expected MalformedDb, got {other:?}"),
        }
    }

    #[test]
    fn a_database_under_usr_lib_is_used_only_when_lib_has_none() {
        let (t, mut root) = root_with(DB, b"busybox\n");
        assert_eq!(Location::of(&mut root).unwrap(), Location::Lib);
        fs::create_dir_all(t.path().join("usr/lib/apk/db")).unwrap();
        fs::write(t.path().join(USR_INSTALLED), b"P:musl\nV:1\n\n").unwrap();
        let mut root = Root::open(t.path()).unwrap();
        assert_eq!(Location::of(&mut root).unwrap(), Location::Lib);
        fs::remove_file(t.path().join(INSTALLED)).unwrap();
        let mut root = Root::open(t.path()).unwrap();
        assert_eq!(Location::of(&mut root).unwrap(), Location::UsrLib);
        assert_eq!(Location::UsrLib.lock(), "usr/lib/apk/db/lock");
        let db = installed(&mut root);
        assert_eq!(db.path, InRoot::unchecked(USR_INSTALLED));
        // A link at the old place that leads nowhere still names the place: nothing is read.
        std::os::unix::fs::symlink("/nowhere", t.path().join(INSTALLED)).unwrap();
        let mut root = Root::open(t.path()).unwrap();
        assert_eq!(Location::of(&mut root).unwrap(), Location::Lib);
        assert!(load(&mut root).unwrap().is_none());
    }

    #[test]
    fn an_absent_database_is_none() {
        let t = tempfile::tempdir().unwrap();
        let mut bare = Root::open(t.path()).unwrap();
        assert!(load(&mut bare).unwrap().is_none());
    }
}
