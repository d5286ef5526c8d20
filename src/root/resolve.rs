//! Following symlinks inside the root, the way the kernel would for a process chrooted there:
//! absolute targets start again at the root, `..` never climbs above it, a path that ends in
//! `/` must be a folder, and a chain longer than [`MAX_HOPS`] links is a loop. Nothing outside
//! the root is ever looked at; every step is a cached `lstat` of [`Root`]. What it finds is an
//! [`InRoot`] path: the only kind of path that [`Root`] removes or opens.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::Result;
use crate::root::{FileKind, InRoot, Meta, Root};

/// Links followed before a chain counts as a loop (Linux's own limit).
pub const MAX_HOPS: usize = 40;

/// Where a path ends once its symlinks are followed inside the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// An existing object that is not a symlink, at this real path inside the root.
    Found(InRoot, Meta),
    /// The chain ends at a path that does not exist (or passes through a non-folder).
    Missing(PathBuf),
    /// More than [`MAX_HOPS`] links: a loop.
    Loop,
}

pub use crate::root::meta::End;

impl Root {
    /// Follows every symlink in `rel` inside the root (see the module docs).
    pub fn resolve(&mut self, rel: &Path) -> Result<Resolved> {
        let mut pending = Vec::new();
        push_steps(&mut pending, rel);
        self.walk(InRoot::top(), pending, 0)
    }

    /// Where the symlink `link` ends (every step of the way is a cached `lstat`).
    pub fn link_end(&mut self, link: &InRoot) -> Result<End> {
        let target = self.readlink(link)?;
        // An absolute target ends where it ended for the link before (nothing was removed
        // since, or the answer would have been dropped). Compared by bytes: paths compare by
        // components, and `/bin/busybox/` (a dead link) is not `/bin/busybox`.
        if let Some((last, end)) = &self.last_end
            && last.as_os_str().as_bytes() == target.as_os_str().as_bytes()
        {
            return Ok(*end);
        }
        let mut pending = Vec::new();
        push_steps(&mut pending, &target);
        let start = match (target.has_root(), link.parent()) {
            (false, Some(dir)) => dir,
            _ => InRoot::top(),
        };
        let end = match self.walk(start, pending, 1)? {
            Resolved::Found(_, m) => End::Found(m),
            Resolved::Missing(_) => End::Missing,
            Resolved::Loop => End::Loop,
        };
        if target.has_root() {
            self.last_end = Some((target, end));
        }
        Ok(end)
    }

    /// Resolves `pending` (a stack, next step last) from the real folder `cur`.
    fn walk(
        &mut self,
        mut cur: InRoot,
        mut pending: Vec<Step>,
        mut hops: usize,
    ) -> Result<Resolved> {
        while let Some(step) = pending.pop() {
            let name = match step {
                Step::Up => {
                    cur.pop();
                    continue;
                }
                Step::Dir => match self.lstat(&cur)? {
                    Some(m) if m.kind == FileKind::Dir => continue,
                    _ => return Ok(Resolved::Missing(cur.into())),
                },
                Step::Name(n) => n,
            };
            let next = cur.child(name.as_bytes());
            match self.lstat(&next)? {
                None => return Ok(Resolved::Missing(next.into())),
                Some(m) if m.kind == FileKind::Symlink => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Ok(Resolved::Loop);
                    }
                    let target = self.readlink(&next)?;
                    if target.has_root() {
                        cur = InRoot::top();
                    }
                    push_steps(&mut pending, &target);
                }
                Some(m) => {
                    if m.kind != FileKind::Dir && !pending.is_empty() {
                        return Ok(Resolved::Missing(next.into()));
                    }
                    cur = next;
                }
            }
        }
        match self.lstat(&cur)? {
            Some(m) => Ok(Resolved::Found(cur, m)),
            None => Ok(Resolved::Missing(cur.into())),
        }
    }

    /// [`Root::resolve_parent`] of `dir/name` given as bytes (a database's folder and file
    /// name): when `dir` is resolved already and `name` a plain name, no path is made.
    pub fn resolve_entry(&mut self, dir: &[u8], name: &[u8]) -> Result<Option<InRoot>> {
        let plain = !name.is_empty() && !name.contains(&b'/') && name != b"." && name != b"..";
        let cached = self
            .parent_cache
            .binary_search_by(|(p, _)| p.as_bytes().cmp(dir));
        if let (true, Ok(i)) = (plain, cached) {
            return Ok(self.parent_cache[i].1.as_ref().map(|d| d.child(name)));
        }
        let path = Path::new(OsStr::from_bytes(dir)).join(OsStr::from_bytes(name));
        self.resolve_parent(&path)
    }

    /// Resolves the folder part of `rel` but not its last name: the real path of the entry
    /// itself (a symlink stays a symlink). `None` when the folder does not exist.
    pub fn resolve_parent(&mut self, rel: &Path) -> Result<Option<InRoot>> {
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            return Ok(None);
        };
        let at = self
            .parent_cache
            .binary_search_by(|(p, _)| p.as_os_str().cmp(parent.as_os_str()));
        let at = match at {
            Ok(i) => {
                let dir = self.parent_cache[i].1.as_ref();
                return Ok(dir.map(|d| d.child(name.as_bytes())));
            }
            Err(i) => i,
        };
        let dir = match self.resolve(parent)? {
            Resolved::Found(dir, m) if m.kind == FileKind::Dir => Some(dir),
            _ => None,
        };
        let entry = dir.as_ref().map(|d| d.child(name.as_bytes()));
        self.parent_cache
            .insert(at, (parent.as_os_str().to_owned(), dir));
        Ok(entry)
    }
}

enum Step {
    Up,
    Name(OsString),
    /// The path so far must be a folder: the path ended in `/` or `/.`.
    Dir,
}

/// Pushes the components of `path` onto the stack so that the first one is popped first.
fn push_steps(stack: &mut Vec<Step>, path: &Path) {
    let mut steps: Vec<Step> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => steps.push(Step::Name(n.to_os_string())),
            Component::ParentDir => steps.push(Step::Up),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let bytes = path.as_os_str().as_bytes();
    if bytes.ends_with(b"/") || bytes.ends_with(b"/.") {
        steps.push(Step::Dir);
    }
    stack.extend(steps.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::tests::tree;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn found(r: Resolved) -> PathBuf {
        match r {
            Resolved::Found(p, _) => p.into(),
            other => panic!("expected Found, got {other:?}"),
        }
    }

    #[test]
    fn an_entry_given_as_bytes_resolves_as_its_path_does() {
        let (t, mut root) = tree();
        symlink("usr/bin", t.path().join("linked")).unwrap();
        let dirs: [&[u8]; 6] = [
            b"",
            b"usr/bin",
            b"usr/bin/",
            b"linked",
            b"nowhere",
            b"usr/./bin",
        ];
        let names: [&[u8]; 6] = [b"x", b"", b".", b"..", b"a/b", b"busybox"];
        for _ in 0..2 {
            // The second round finds every folder in the cache.
            for dir in dirs {
                for name in names {
                    let path = Path::new(OsStr::from_bytes(dir)).join(OsStr::from_bytes(name));
                    let mut fresh = Root::open(t.path()).unwrap();
                    let expected = fresh.resolve_parent(&path).unwrap();
                    let got = root.resolve_entry(dir, name).unwrap();
                    assert_eq!(got, expected, "{:?} {:?}", path, name);
                }
            }
        }
    }

    #[test]
    fn absolute_targets_restart_at_the_root() {
        let (t, mut root) = tree();
        symlink("/bin/busybox", t.path().join("usr/bin/ls")).unwrap();
        assert_eq!(
            found(root.resolve(Path::new("usr/bin/ls")).unwrap()),
            Path::new("bin/busybox")
        );
    }

    #[test]
    fn relative_targets_start_at_the_links_folder_and_chains_are_followed() {
        let (t, mut root) = tree();
        symlink("../../bin/busybox", t.path().join("usr/bin/a")).unwrap();
        symlink("a", t.path().join("usr/bin/b")).unwrap();
        assert_eq!(
            found(root.resolve(Path::new("usr/bin/b")).unwrap()),
            Path::new("bin/busybox")
        );
    }

    #[test]
    fn the_same_text_ends_apart_when_it_is_relative_and_alike_when_absolute() {
        let (t, mut root) = tree();
        for (target, link) in [
            ("busybox", "bin/a"),
            ("busybox", "usr/bin/b"),
            ("/bin/busybox", "usr/bin/c"),
            ("/bin/busybox", "etc/d"),
            ("/bin/gone", "usr/bin/e"),
            ("busybox", "bin/f"),
            ("/bin/busybox", "usr/bin/g"),
            ("/bin/busybox/", "usr/bin/h"),
        ] {
            symlink(target, t.path().join(link)).unwrap();
        }
        let links = [
            "bin/a",
            "usr/bin/b",
            "usr/bin/c",
            "etc/d",
            "usr/bin/e",
            "bin/f",
            "usr/bin/g",
            "usr/bin/h",
        ];
        let ends: Vec<bool> = links
            .iter()
            .map(|l| match root.link_end(&InRoot::unchecked(l)).unwrap() {
                End::Found(m) => m.kind == FileKind::File,
                End::Missing | End::Loop => false,
            })
            .collect();
        assert_eq!(ends, [true, false, true, true, false, true, true, false]);
    }

    #[test]
    fn dot_dot_never_climbs_above_the_root() {
        let (t, mut root) = tree();
        symlink("../../../../../../bin/busybox", t.path().join("usr/bin/up")).unwrap();
        assert_eq!(
            found(root.resolve(Path::new("usr/bin/up")).unwrap()),
            Path::new("bin/busybox")
        );
        symlink("../../../../../../etc/hostname", t.path().join("usr/bin/h")).unwrap();
        assert_eq!(
            root.resolve(Path::new("usr/bin/h")).unwrap(),
            Resolved::Missing(PathBuf::from("etc/hostname"))
        );
    }

    #[test]
    fn folder_symlinks_are_followed() {
        let (t, mut root) = tree();
        fs::create_dir_all(t.path().join("usr/sbin")).unwrap();
        symlink("usr/sbin", t.path().join("sbin")).unwrap();
        symlink("/bin/busybox", t.path().join("usr/sbin/x")).unwrap();
        assert_eq!(
            found(root.resolve(Path::new("sbin/x")).unwrap()),
            Path::new("bin/busybox")
        );
        assert_eq!(
            root.resolve_parent(Path::new("sbin/x")).unwrap(),
            Some(InRoot::unchecked("usr/sbin/x"))
        );
    }

    #[test]
    fn link_ends_are_found_for_absolute_and_relative_targets() {
        let (t, mut root) = tree();
        fs::write(t.path().join("usr/bin/busybox"), b"another").unwrap();
        symlink("/bin/busybox", t.path().join("usr/bin/a")).unwrap();
        symlink("/bin/busybox", t.path().join("etc/b")).unwrap();
        symlink("busybox", t.path().join("usr/bin/rel")).unwrap();
        symlink("../bin/busybox", t.path().join("etc/rel")).unwrap();
        let id = |root: &mut Root, p: &str| match root.link_end(&InRoot::unchecked(p)).unwrap() {
            End::Found(m) => m.id(),
            other => panic!("{p}: {other:?}"),
        };
        let bin = id(&mut root, "usr/bin/a");
        assert_eq!(id(&mut root, "etc/b"), bin);
        assert_eq!(id(&mut root, "etc/rel"), bin);
        assert_ne!(
            id(&mut root, "usr/bin/rel"),
            bin,
            "a relative target depends on its folder"
        );
    }

    #[test]
    fn loops_are_reported_not_followed_forever() {
        let (t, mut root) = tree();
        symlink("b", t.path().join("usr/bin/a")).unwrap();
        symlink("a", t.path().join("usr/bin/b")).unwrap();
        assert_eq!(
            root.resolve(Path::new("usr/bin/a")).unwrap(),
            Resolved::Loop
        );
        symlink("self", t.path().join("usr/bin/self")).unwrap();
        assert_eq!(
            root.resolve(Path::new("usr/bin/self")).unwrap(),
            Resolved::Loop
        );
    }

    #[test]
    fn a_file_in_the_middle_of_a_path_is_missing() {
        let (t, mut root) = tree();
        symlink("/bin/busybox/x", t.path().join("usr/bin/n")).unwrap();
        assert_eq!(
            root.resolve(Path::new("usr/bin/n")).unwrap(),
            Resolved::Missing(PathBuf::from("bin/busybox"))
        );
    }

    #[test]
    fn a_trailing_slash_needs_a_folder_as_the_kernel_does() {
        let (t, mut root) = tree();
        symlink("/bin/busybox/", t.path().join("usr/bin/slash")).unwrap();
        symlink("/bin/busybox/.", t.path().join("usr/bin/dot")).unwrap();
        symlink("/usr/bin/", t.path().join("etc/dir")).unwrap();
        for p in ["usr/bin/slash", "usr/bin/dot"] {
            assert_eq!(
                root.link_end(&InRoot::unchecked(p)).unwrap(),
                End::Missing,
                "{p} is dead for the kernel (ENOTDIR)"
            );
        }
        assert!(matches!(
            root.resolve(Path::new("etc/dir")).unwrap(),
            Resolved::Found(_, m) if m.kind == FileKind::Dir
        ));
    }
}
