//! Keeping the apk database true after a strip.
//!
//! Scanners decide which packages an image has from `/lib/apk/db/installed`. Which packages
//! leave it follows from what the strip removes, not from a list of names that Alpine renames
//! from release to release (`libapk2`, `libapk`): a package whose files the strip removed and
//! of which no file is left leaves the database and `/etc/apk/world`; one that keeps some files
//! stays without the entries of the removed ones. busybox, ssl_client and apk leave by
//! definition ([`BY_DEFINITION`]), and their files (unless another package owns them too)
//! leave the root. Without a database the strip works from discovery alone; a malformed one
//! stops the run before anything is removed.

pub mod atomic;
pub mod lock;
pub mod parse;
pub mod prune;
pub mod world;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::FastSet;
use crate::report::show;
use crate::root::Root;
use parse::{Database, ParseError, Record};

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

/// The installed database, inside the root.
pub const INSTALLED: &str = "lib/apk/db/installed";
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

/// The installed database as read from the root.
#[derive(Debug)]
pub enum Source {
    /// There is no database (not Alpine, or already removed).
    Absent,
    /// `--keep-apk-db`: left alone on purpose.
    Kept,
    /// The database parsed.
    Read(Installed),
}

/// A parsed installed database and where it lies.
#[derive(Debug)]
pub struct Installed {
    /// Real path inside the root.
    pub path: PathBuf,
    db: Database<'static>,
}

/// What the strip does to the database.
#[derive(Debug)]
pub enum Db {
    /// There is no database.
    Absent,
    /// `--keep-apk-db`: left alone.
    Kept,
    /// The database parsed; these are the changes.
    Planned(Changes),
}

/// The new database and world, and what leaves them.
#[derive(Debug)]
pub struct Changes {
    /// Real path of the database inside the root.
    pub installed: PathBuf,
    /// Its new bytes, when it changes.
    pub new_installed: Option<Vec<u8>>,
    /// Real path of world and its new bytes, when world changes.
    pub world: Option<(PathBuf, Vec<u8>)>,
    /// Packages that leave the database, in database order.
    pub dropped: Vec<Package>,
    /// Packages that stay with the entries of removed files taken out.
    pub trimmed: Vec<Package>,
}

/// Reads and parses the installed database of `root`, confined to it; a database that is not a
/// regular file, too large, or malformed is an error that stops the run before any removal.
pub fn load(root: &mut Root, keep: bool) -> Result<Source> {
    if keep {
        return Ok(Source::Kept);
    }
    let Some((path, bytes)) = root.read_regular(Path::new(INSTALLED), INSTALLED_LIMIT)? else {
        return Ok(Source::Absent);
    };
    // The bytes live as long as the run: one process, one database.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    match Database::parse(bytes) {
        Ok(db) => Ok(Source::Read(Installed { path, db })),
        Err(error) => Err(malformed(&path, &error)),
    }
}

fn malformed(path: &Path, error: &ParseError) -> Error {
    Error::MalformedDb(format!("{}: {error}", show(path)))
}

/// A path the database names, as a path inside the root.
fn db_path(dir: &[u8], name: &[u8]) -> PathBuf {
    Path::new(OsStr::from_bytes(dir)).join(OsStr::from_bytes(name))
}

/// Whether a file the database names is in the root (its folder and the file exist).
fn is_present(root: &mut Root, dir: &[u8], name: &[u8]) -> Result<bool> {
    match root.resolve_parent(&db_path(dir, name))? {
        Some(real) => Ok(root.lstat(&real)?.is_some()),
        None => Ok(false),
    }
}

impl Installed {
    /// The files of the packages the strip removes by definition that no other package owns,
    /// as the database names them.
    pub fn files_by_definition(&self) -> Vec<PathBuf> {
        let (gone, stay): (Vec<_>, Vec<_>) = self
            .db
            .records
            .iter()
            .partition(|r| BY_DEFINITION.contains(&r.name()));
        let mut owned: FastSet<(&[u8], &[u8])> = gone.iter().flat_map(|r| r.file_pairs()).collect();
        if !owned.is_empty() {
            for pair in stay.iter().flat_map(|r| r.file_pairs()) {
                owned.remove(&pair);
            }
        }
        gone.iter()
            .flat_map(|r| r.file_pairs())
            .filter(|pair| owned.contains(pair))
            .map(|(dir, name)| db_path(dir, name))
            .collect()
    }

    /// Works out the database and world after the strip removes `removed` (real paths inside
    /// the root): a package leaves when it is one of [`BY_DEFINITION`] or `pruned` (indices of
    /// records, see [`prune`]), or when the strip
    /// removes at least one of its files and none of its files is left; a package that loses
    /// some files and keeps others stays, without the entries of the removed ones. Writes
    /// nothing.
    pub fn plan(
        &self,
        root: &mut Root,
        removed: &FastSet<&OsStr>,
        pruned: &[usize],
    ) -> Result<Changes> {
        let mut dropped = Vec::new();
        let mut trimmed = Vec::new();
        let mut out = self.db.preamble.to_vec();
        let mut dropped_names: Vec<&[u8]> = Vec::new();
        for (i, r) in self.db.records.iter().enumerate() {
            if BY_DEFINITION.contains(&r.name()) || pruned.contains(&i) {
                dropped.push(Package::of(r));
                dropped_names.push(r.name());
                continue;
            }
            // Which of its files the strip removes: the folders' resolution is cached, so a
            // package the strip does not touch costs no syscall.
            let mut gone: FastSet<(&[u8], &[u8])> = FastSet::default();
            for (dir, name) in r.file_pairs() {
                if let Some(real) = root.resolve_parent(&db_path(dir, name))?
                    && removed.contains(real.as_os_str())
                {
                    gone.insert((dir, name));
                }
            }
            if gone.is_empty() {
                out.extend_from_slice(r.raw);
                continue;
            }
            let mut present = false;
            for (dir, name) in r.file_pairs().filter(|pair| !gone.contains(pair)) {
                present |= is_present(root, dir, name)?;
            }
            if !present {
                dropped.push(Package::of(r));
                dropped_names.push(r.name());
            } else {
                trimmed.push(Package::of(r));
                r.write_without(|dir, name| gone.contains(&(dir, name)), &mut out);
            }
        }
        let new_installed = (!dropped.is_empty() || !trimmed.is_empty()).then_some(out);
        let world = match root.read_regular(Path::new(WORLD), WORLD_LIMIT)? {
            Some((path, bytes)) => world::without(&bytes, &dropped_names).map(|new| (path, new)),
            None => None,
        };
        Ok(Changes {
            installed: self.path.clone(),
            new_installed,
            world,
            dropped,
            trimmed,
        })
    }

    /// Calls `each` with the real path inside the root (its folder resolved, the file itself
    /// not followed) and the package name of every file a record claims, in database order.
    /// Reads nothing but cached folder lookups.
    pub fn each_file(&self, root: &mut Root, each: &mut dyn FnMut(&Path, &[u8])) -> Result<()> {
        for r in &self.db.records {
            for (dir, name) in r.file_pairs() {
                if let Some(real) = root.resolve_parent(&db_path(dir, name))? {
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

/// The new database and world, written beside the old ones and being fsynced, not yet in place.
pub struct Staged(atomic::Syncing);

/// Writes the planned database and world next to the old ones and starts syncing them; nothing
/// when nothing changes. Done before the removals: the fsync then waits for the disk while the
/// removals go on. Dropping the result without [`Staged::commit`] removes the new files.
pub fn stage(root: &Root, changes: &Changes) -> Result<Staged> {
    let mut staged = Vec::new();
    if let Some(bytes) = &changes.new_installed {
        staged.push(atomic::stage(&root.host(&changes.installed), bytes)?);
    }
    if let Some((path, bytes)) = &changes.world {
        staged.push(atomic::stage(&root.host(path), bytes)?);
    }
    Ok(Staged(atomic::sync_behind(staged)))
}

impl Staged {
    /// Once they are synced, renames the new files over the old ones (after the removals).
    pub fn commit(self) -> Result<()> {
        self.0.commit()
    }
}

/// Writes the planned database and world, each atomically.
#[cfg(test)]
pub fn apply(root: &Root, changes: &Changes) -> Result<()> {
    stage(root, changes)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
        match load(root, false).unwrap() {
            Source::Read(i) => i,
            other => panic!("expected a database, got {other:?}"),
        }
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
            db.files_by_definition(),
            vec![PathBuf::from("bin/busybox"), PathBuf::from("sbin/apk")]
        );
        let removed: FastSet<&OsStr> = ["bin/busybox", "sbin/apk"].iter().map(OsStr::new).collect();
        let c = db.plan(&mut root, &removed, &[]).unwrap();
        assert_eq!(names(&c.dropped), ["busybox", "apk-tools"]);
        assert_eq!(c.dropped[1].version, "2.14.4-r0");
        assert!(c.trimmed.is_empty());
        assert_eq!(
            c.new_installed.as_deref(),
            Some(&b"P:musl\nV:1.2.5-r0\nF:lib\nR:libc.so\n\nP:other\nV:1\nF:etc\nR:shared\n\nP:libc-utils\nV:0.7\n\n"[..])
        );
        apply(&root, &c).unwrap();
        let host = root.host_root().to_path_buf();
        assert_eq!(
            fs::read(host.join(INSTALLED)).unwrap(),
            c.new_installed.unwrap()
        );
        assert_eq!(fs::read(host.join(WORLD)).unwrap(), b"musl\nlibc-utils\n");
    }

    #[test]
    fn a_package_leaves_when_its_last_file_is_removed_and_is_trimmed_when_some_stay() {
        // Renamed from release to release: only ownership tells that these go.
        let db = b"P:libapk\nV:3.0.3-r1\nF:usr/lib\nR:libapk.so.3.0.0\na:0:0:755\nZ:Q1a=\n\nP:mixed\nV:2\nF:usr/lib\nR:libapk.so.3.0.0\nZ:Q1a=\nR:keep.so\nZ:Q1b=\n\nP:libcrypto3\nV:3\nF:usr/lib\nR:libcrypto.so.3\nR:keep.so\n\nP:untouched\nV:1\nF:usr/lib\nR:gone-before\n\n";
        let (t, mut root) = root_with(db, b"libapk\nmixed\nlibcrypto3\n");
        fs::write(t.path().join("usr/lib/libapk.so.3.0.0"), b"x").unwrap();
        fs::write(t.path().join("usr/lib/keep.so"), b"x").unwrap();
        let db = installed(&mut root);
        let removed: FastSet<&OsStr> = [OsStr::new("usr/lib/libapk.so.3.0.0")]
            .into_iter()
            .collect();
        let c = db.plan(&mut root, &removed, &[]).unwrap();
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
    fn nothing_removed_changes_nothing() {
        let db = b"P:musl\nV:1\nF:lib\nR:libc.so\n\n";
        let (_t, mut root) = root_with(db, b"musl\n");
        let c = installed(&mut root)
            .plan(&mut root, &FastSet::default(), &[])
            .unwrap();
        assert!(c.new_installed.is_none() && c.world.is_none() && c.dropped.is_empty());
    }

    #[test]
    fn a_malformed_database_is_an_error_naming_path_and_line() {
        let (_t, mut root) = root_with(b"P:musl\nV:1\n\nP:busybox\ngarbage\n", b"");
        match load(&mut root, false) {
            Err(Error::MalformedDb(why)) => {
                assert_eq!(why, "/lib/apk/db/installed: line 5: not a `X:value` line")
            }
            other => panic!("expected MalformedDb, got {other:?}"),
        }
    }

    #[test]
    fn keep_and_absent_are_told_apart() {
        let (_t, mut root) = root_with(DB, b"");
        assert!(matches!(load(&mut root, true).unwrap(), Source::Kept));
        let t = tempfile::tempdir().unwrap();
        let mut bare = Root::open(t.path()).unwrap();
        assert!(matches!(load(&mut bare, false).unwrap(), Source::Absent));
    }
}
