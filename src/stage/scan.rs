//! Lists the bin folders of the root, each real folder once.
//!
//! The six folders where Alpine puts programs are listed here and nowhere else. A folder that is
//! a symlink (`/bin -> usr/bin` on a /usr-merged tree) is followed inside the root and listed
//! under its real path; a folder reached twice is listed once; the folder symlink itself is never
//! an entry of the listing, so nothing downstream can remove it.

use std::path::Path;

use crate::error::{Error, Result};
use crate::root::resolve::Resolved;
use crate::root::{FileKind, InRoot, Root};

/// Where Alpine (and images built on it) put programs.
pub const BIN_DIRS: [&str; 6] = [
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
];

/// Where apk's private library lives.
pub const LIB_DIRS: [&str; 2] = ["lib", "usr/lib"];

/// One entry of a listed folder, under the folder's real path.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The path under the folder's real path.
    pub path: InRoot,
    /// Its kind, from the listing.
    pub kind: FileKind,
}

impl Entry {
    /// The entry's file name as bytes.
    pub fn name(&self) -> &[u8] {
        self.path.name()
    }
}

/// The entries of a set of folders, each real folder listed once, in a stable order.
pub struct Listing {
    /// Every entry, folder by folder, in byte order within a folder.
    pub entries: Vec<Entry>,
}

impl Listing {
    /// Lists `dirs` (paths inside the root); folders that do not exist are passed over.
    pub fn of(root: &mut Root, dirs: &[&str]) -> Result<Self> {
        let mut seen: Vec<InRoot> = Vec::new();
        let mut entries = Vec::with_capacity(1024);
        for dir in dirs {
            let real = match root.resolve(Path::new(dir))? {
                Resolved::Found(real, m) if m.kind == FileKind::Dir => real,
                _ => continue,
            };
            if seen.contains(&real) {
                continue;
            }
            let first = entries.len();
            root.open_dir(&real)?
                .for_each(|path, kind| entries.push(Entry { path, kind }))
                .map_err(|e| Error::io("cannot list", &root.host(&real), e))?;
            // One folder's entries: their paths differ only in the name, so bytes order them.
            entries[first..].sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
            seen.push(real);
        }
        Ok(Listing { entries })
    }

    /// Entries of the given kind.
    pub fn of_kind(&self, kind: FileKind) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_folder_reached_twice_is_listed_once_under_its_real_path() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("usr/bin")).unwrap();
        fs::create_dir_all(t.path().join("usr/sbin")).unwrap();
        symlink("usr/bin", t.path().join("bin")).unwrap();
        symlink("usr/sbin", t.path().join("sbin")).unwrap();
        fs::write(t.path().join("usr/bin/a"), b"").unwrap();
        fs::write(t.path().join("usr/sbin/b"), b"").unwrap();
        let mut root = Root::open(t.path()).unwrap();
        let l = Listing::of(&mut root, &BIN_DIRS).unwrap();
        let paths: Vec<_> = l.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                InRoot::unchecked("usr/bin/a"),
                InRoot::unchecked("usr/sbin/b")
            ]
        );
    }
}
