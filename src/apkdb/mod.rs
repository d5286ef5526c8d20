//! Keeping the apk database true after a strip.
//!
//! Scanners decide which packages an image has from `/lib/apk/db/installed`. The packages the
//! strip removes wholly ([`DROPPED`]) leave that file and `/etc/apk/world`; the files they own
//! (unless a staying package owns them too) leave the root. Without a database the strip works
//! from discovery alone; a malformed one is left byte for byte as it is.

pub mod atomic;
pub mod parse;
pub mod world;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::FastSet;
use crate::root::{Root, is_absent};
use parse::{Database, ParseError};

/// Packages the strip removes wholly.
pub const DROPPED: [&[u8]; 8] = [
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

/// A package dropped from the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
}

/// What the strip does to the database.
#[derive(Debug)]
pub enum Db {
    /// There is no database (not Alpine, or already removed).
    Absent,
    /// `--keep-apk-db`: left alone on purpose.
    Kept,
    /// The database could not be parsed; it is left untouched.
    Malformed { path: PathBuf, error: ParseError },
    /// The database parsed; these are the changes.
    Planned(Changes),
}

/// The new database and world, and what leaves them.
#[derive(Debug)]
pub struct Changes {
    /// Real path of the database inside the root.
    pub installed: PathBuf,
    /// Its new bytes.
    pub new_installed: Vec<u8>,
    /// Real path of world and its new bytes, when world changes.
    pub world: Option<(PathBuf, Vec<u8>)>,
    /// Packages that leave the database, in database order.
    pub dropped: Vec<Package>,
    /// Files owned only by dropped packages, as the database names them.
    pub files: Vec<PathBuf>,
}

/// Reads the database of `root` and works out the changes; writes nothing.
pub fn plan(root: &mut Root, keep: bool) -> Result<Db> {
    if keep {
        return Ok(Db::Kept);
    }
    let Some(installed) = read(root, INSTALLED)? else {
        return Ok(Db::Absent);
    };
    let (path, bytes) = installed;
    let db = match Database::parse(&bytes) {
        Ok(db) => db,
        Err(error) => return Ok(Db::Malformed { path, error }),
    };
    let (gone, stay): (Vec<_>, Vec<_>) =
        db.records.iter().partition(|r| DROPPED.contains(&r.name()));
    // A file a staying package also owns stays. Compared as byte pairs: the staying packages
    // own hundreds of files, the dropped ones a dozen.
    let mut owned: FastSet<(&[u8], &[u8])> = gone.iter().flat_map(|r| r.file_pairs()).collect();
    // After a strip nothing is dropped: the staying packages' files need no look then.
    if !owned.is_empty() {
        for pair in stay.iter().flat_map(|r| r.file_pairs()) {
            owned.remove(&pair);
        }
    }
    let files: Vec<PathBuf> = gone
        .iter()
        .flat_map(|r| r.file_pairs())
        .filter(|pair| owned.contains(pair))
        .map(|(dir, name)| Path::new(OsStr::from_bytes(dir)).join(OsStr::from_bytes(name)))
        .collect();
    let dropped = gone
        .iter()
        .map(|r| Package {
            name: String::from_utf8_lossy(r.name()).into_owned(),
            version: String::from_utf8_lossy(r.version()).into_owned(),
        })
        .collect();
    let new_installed = db.write(|r| !DROPPED.contains(&r.name()));
    let world = match read(root, WORLD)? {
        Some((wpath, wbytes)) => world::without(&wbytes, &DROPPED).map(|new| (wpath, new)),
        None => None,
    };
    Ok(Db::Planned(Changes {
        installed: path,
        new_installed,
        world,
        dropped,
        files,
    }))
}

/// The new database and world, written beside the old ones and being fsynced, not yet in place.
pub struct Staged(atomic::Syncing);

/// Writes the planned database and world next to the old ones and starts syncing them; nothing
/// when nothing changes. Done before the removals: the fsync then flushes two small files, not
/// the journal of hundreds of unlinks, and waits for the disk while the removals go on.
/// Dropping the result without [`Staged::commit`] removes the new files.
pub fn stage(root: &Root, changes: &Changes) -> Result<Staged> {
    let mut staged = Vec::new();
    if !changes.dropped.is_empty() {
        let path = root.host(&changes.installed);
        staged.push(atomic::stage(&path, &changes.new_installed)?);
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

/// The real path and bytes of `rel` inside the root; `None` when it does not exist.
fn read(root: &mut Root, rel: &str) -> Result<Option<(PathBuf, Vec<u8>)>> {
    let Some(real) = root.resolve_parent(Path::new(rel))? else {
        return Ok(None);
    };
    let host = root.host(&real);
    match fs::read(&host) {
        Ok(bytes) => Ok(Some((real, bytes))),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(Error::io("cannot read", &host, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(db: &[u8], world: &[u8]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("lib/apk/db")).unwrap();
        fs::create_dir_all(t.path().join("etc/apk")).unwrap();
        fs::write(t.path().join(INSTALLED), db).unwrap();
        fs::write(t.path().join(WORLD), world).unwrap();
        let root = Root::open(t.path()).unwrap();
        (t, root)
    }

    const DB: &[u8] = b"P:musl\nV:1.2.5-r0\nF:lib\nR:libc.so\n\nP:busybox\nV:1.36.1-r29\nF:bin\nR:busybox\nF:etc\nR:shared\n\nP:other\nV:1\nF:etc\nR:shared\n\nP:apk-tools\nV:2.14.4-r0\nF:sbin\nR:apk\n\n";

    #[test]
    fn drops_removed_packages_and_spares_files_a_staying_package_owns() {
        let (_t, mut root) = root_with(DB, b"busybox\nmusl\napk-tools\n");
        let Db::Planned(c) = plan(&mut root, false).unwrap() else {
            panic!("expected a plan")
        };
        assert_eq!(
            c.dropped,
            vec![
                Package {
                    name: "busybox".into(),
                    version: "1.36.1-r29".into()
                },
                Package {
                    name: "apk-tools".into(),
                    version: "2.14.4-r0".into()
                },
            ]
        );
        assert_eq!(
            c.files,
            vec![PathBuf::from("bin/busybox"), PathBuf::from("sbin/apk")]
        );
        assert_eq!(
            c.new_installed,
            b"P:musl\nV:1.2.5-r0\nF:lib\nR:libc.so\n\nP:other\nV:1\nF:etc\nR:shared\n\n"
        );
        apply(&root, &c).unwrap();
        let host = root.host_root().to_path_buf();
        assert_eq!(fs::read(host.join(INSTALLED)).unwrap(), c.new_installed);
        assert_eq!(fs::read(host.join(WORLD)).unwrap(), b"musl\n");
    }

    #[test]
    fn a_malformed_database_is_reported_with_its_line() {
        let (_t, mut root) = root_with(b"P:musl\nV:1\n\nP:busybox\ngarbage\n", b"");
        match plan(&mut root, false).unwrap() {
            Db::Malformed { path, error } => {
                assert_eq!(path, PathBuf::from(INSTALLED));
                assert_eq!(error.line, 5);
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn keep_and_absent_are_told_apart() {
        let (_t, mut root) = root_with(DB, b"");
        assert!(matches!(plan(&mut root, true).unwrap(), Db::Kept));
        let t = tempfile::tempdir().unwrap();
        let mut bare = Root::open(t.path()).unwrap();
        assert!(matches!(plan(&mut bare, false).unwrap(), Db::Absent));
    }
}
