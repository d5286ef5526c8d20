//! A path the tool may act on: [`InRoot`], made only by the resolver ([`crate::root::resolve`])
//! and by listings of the root ([`crate::root::dir`], [`crate::root::walk`]).
//!
//! Only this type reaches [`Root::unlink`](crate::root::Root::unlink), the opens and `lstat`;
//! a path from anywhere else (the database, the command line, a symlink's target) must go
//! through the resolver first, so no caller can remove or open a path that leaves the root.

use std::collections::HashSet;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::ops::Deref;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// A path inside the root, relative to it (`usr/bin/ls`; empty for the root itself), made of
/// plain names only (no `/` at either end, no `.`, no `..`), every folder on the way a real
/// folder when it was looked up, not a symlink. The last name may be anything, a symlink
/// included: it then names the link itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InRoot(PathBuf);

impl InRoot {
    /// The root itself.
    pub(super) fn top() -> InRoot {
        InRoot(PathBuf::new())
    }

    /// `self/name`, in one allocation (`Path::join` makes two). `self` must be a real folder
    /// and `name` one plain name (as a listing or a path's components give), which the
    /// callers inside [`crate::root`] guarantee.
    pub(super) fn child(&self, name: &[u8]) -> InRoot {
        let dir = self.0.as_os_str().as_bytes();
        let mut v = Vec::with_capacity(dir.len() + 1 + name.len());
        v.extend_from_slice(dir);
        if !dir.is_empty() {
            v.push(b'/');
        }
        v.extend_from_slice(name);
        InRoot(PathBuf::from(OsString::from_vec(v)))
    }

    /// Drops the last name (`..` of a real folder, which never climbs above the root).
    pub(super) fn pop(&mut self) {
        self.0.pop();
    }

    /// A path taken as inside the root without looking: for tests that build plans by hand.
    #[cfg(test)]
    pub fn unchecked(p: &str) -> InRoot {
        InRoot(PathBuf::from(p))
    }

    /// The folder holding this entry (a real folder, as every folder on the way is); `None`
    /// for the root itself.
    pub fn parent(&self) -> Option<InRoot> {
        let folder = OsStr::from_bytes(self.folder()?);
        Some(InRoot(PathBuf::from(folder)))
    }

    /// The folder holding this entry, as bytes (`usr/bin` of `usr/bin/ls`, empty for an entry
    /// of the root); `None` for the root itself. Cut at the last `/`, which a path of plain
    /// names allows: no `Path` component parsing (the plan and the unlinks ask it per entry).
    pub fn folder(&self) -> Option<&[u8]> {
        let b = self.0.as_os_str().as_bytes();
        match b.iter().rposition(|&c| c == b'/') {
            Some(slash) => Some(&b[..slash]),
            None if b.is_empty() => None,
            None => Some(&[]),
        }
    }

    /// The last name, as bytes (empty for the root itself).
    pub fn name(&self) -> &[u8] {
        let b = self.0.as_os_str().as_bytes();
        b.rsplit(|&c| c == b'/').next().unwrap_or(b)
    }

    /// Whether this is the root itself.
    pub fn is_top(&self) -> bool {
        self.0.as_os_str().is_empty()
    }

    /// The path, relative to the root.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// The path as given to an `*at` call relative to the root's descriptor: `.` for the root
    /// itself.
    pub(super) fn at(&self) -> &Path {
        if self.is_top() {
            Path::new(".")
        } else {
            &self.0
        }
    }

    /// [`InRoot::at`] as a C string, for a `*at` call.
    pub(super) fn c_at(&self) -> io::Result<CString> {
        c_string(self.at().as_os_str().as_bytes())
    }
}

/// `bytes` (a name or a path) as a C string for a `*at` call, in one allocation: nix's own
/// conversion of a path is generic over every call and costs 3 KiB on ppc64le. `EINVAL` when
/// it holds a NUL byte, which no listing gives and the kernel would refuse the same way.
pub fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(nix::libc::EINVAL))
}

impl Deref for InRoot {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for InRoot {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for InRoot {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl From<InRoot> for PathBuf {
    fn from(p: InRoot) -> PathBuf {
        p.0
    }
}

/// A set of paths inside the root, each kept as its folder's bytes and its name's: the way the
/// database names a file (`F:usr/bin` then `R:ls`), so that a path from the root (`usr/bin/ls`)
/// and a database entry meet without a path being made. Paths are relative (`usr/bin/ls`, not
/// `/usr/bin/ls`: the two would split alike). The one set of paths in the program:
/// each hash set type costs about 1.5 KB of the binary.
#[derive(Debug, Default)]
pub struct PathSet<'a>(HashSet<(&'a [u8], &'a [u8])>);

impl<'a> PathSet<'a> {
    /// An empty set with room for `n` paths.
    pub fn with_capacity(n: usize) -> Self {
        PathSet(HashSet::with_capacity(n))
    }

    /// Adds the path `path` (`usr/bin/ls`); whether it was not in the set yet.
    pub fn insert(&mut self, path: &'a OsStr) -> bool {
        self.0.insert(split(path.as_bytes()))
    }

    /// Whether the path `path` is in the set.
    pub fn contains(&self, path: &OsStr) -> bool {
        self.0.contains(&split(path.as_bytes()))
    }

    /// Adds the file `name` of the folder `folder`, as the database names it.
    pub fn insert_entry(&mut self, folder: &'a [u8], name: &'a [u8]) {
        self.0.insert((folder, name));
    }

    /// Whether the file `name` of the folder `folder` is in the set.
    pub fn contains_entry(&self, folder: &[u8], name: &[u8]) -> bool {
        self.0.contains(&(folder, name))
    }

    /// Whether the set holds nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> FromIterator<&'a OsStr> for PathSet<'a> {
    fn from_iter<I: IntoIterator<Item = &'a OsStr>>(paths: I) -> Self {
        let mut set = PathSet::default();
        for p in paths {
            set.insert(p);
        }
        set
    }
}

/// A path's folder and name, split at its last `/` (no folder: empty bytes).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&c| c == b'/') {
        Some(slash) => (&path[..slash], &path[slash + 1..]),
        None => (&[], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_and_the_databases_folder_and_name_meet_in_a_path_set() {
        let mut set = PathSet::default();
        assert!(set.insert(OsStr::new("usr/bin/ls")));
        assert!(!set.insert(OsStr::new("usr/bin/ls")), "already there");
        set.insert(OsStr::new("busybox"));
        assert!(set.contains_entry(b"usr/bin", b"ls"));
        assert!(set.contains_entry(b"", b"busybox"));
        assert!(!set.contains_entry(b"usr", b"bin/ls"));
        assert!(!set.contains(OsStr::new("bin/ls")));
        set.insert_entry(b"lib", b"libc.so");
        assert!(set.contains(OsStr::new("lib/libc.so")));
        assert!(!set.is_empty());
    }

    #[test]
    fn children_parents_and_names() {
        let top = InRoot::top();
        assert!(top.is_top());
        assert_eq!(top.at(), Path::new("."));
        assert_eq!(top.parent(), None);
        let ls = top.child(b"usr").child(b"bin").child(b"ls");
        assert_eq!(ls.as_path(), Path::new("usr/bin/ls"));
        assert_eq!(ls.at(), Path::new("usr/bin/ls"));
        assert_eq!(ls.name(), b"ls");
        assert_eq!(ls.parent().unwrap().as_path(), Path::new("usr/bin"));
        assert_eq!(top.child(b"etc").parent(), Some(InRoot::top()));
        // The folder by bytes is the folder Path::parent parses.
        assert_eq!(top.folder(), None);
        assert_eq!(top.child(b"etc").folder(), Some(&b""[..]));
        assert_eq!(ls.folder(), Some(&b"usr/bin"[..]));
        for p in ["etc", "usr/bin/ls", "a/b/c/d", "x y/é/z"] {
            let p = InRoot::unchecked(p);
            let parsed = p.as_path().parent().map(|d| d.as_os_str().as_bytes());
            assert_eq!(p.folder(), parsed, "{p:?}");
        }
        let mut p = ls.clone();
        p.pop();
        p.pop();
        p.pop();
        p.pop();
        assert!(p.is_top(), "popping the root leaves the root");
    }
}
