//! Whether a path is there for a process of the image once the strip's removals are made, and
//! if not, why: a removal of this strip on the way (the path itself, or a link it goes through)
//! or a path that was already missing. Links are followed one hop at a time inside the root, so
//! that a removed link (`/bin/sh`, an applet link) is seen as removed even before the strip.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::root::resolve::MAX_HOPS;
use crate::root::{FileKind, Meta, Root};
use crate::stage::plan::{Step, StepKind};

/// One removal of the strip, as the start check names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    /// Why the strip removes the path.
    pub step: StepKind,
    /// The package that owned it, when the apk database says so.
    pub package: Option<String>,
}

/// Why a piece a program needs is not there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// This strip removes (or removed) it.
    Removed(Removal),
    /// It was not there before the strip either.
    AlreadyMissing,
}

/// The paths inside the root the strip removes (or removed), each with its removal: the real
/// path of each removed entry (a link is its own entry, not its target's).
#[derive(Debug, Default)]
pub struct Gone {
    /// Sorted by path, for a binary search (a plan names each path once).
    paths: Vec<(PathBuf, Removal)>,
}

impl Gone {
    /// The removals of `steps`, no package named yet (see [`Gone::owned`]).
    pub fn of(steps: &[Step]) -> Gone {
        let mut paths: Vec<(PathBuf, Removal)> = Vec::with_capacity(steps.len());
        for s in steps {
            let removal = Removal {
                step: s.kind,
                package: None,
            };
            paths.push((s.item.path.to_path_buf(), removal));
        }
        paths.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
        Gone { paths }
    }

    /// Records that `package` owns the real path `rel`, when the strip removes it (the first
    /// owner named stays).
    pub fn owned(&mut self, rel: &Path, package: &[u8]) {
        if let Some(i) = self.index(rel)
            && self.paths[i].1.package.is_none()
        {
            self.paths[i].1.package = Some(String::from_utf8_lossy(package).into_owned());
        }
    }

    /// The removal of the real path `rel`, if the strip removes it.
    pub fn get(&self, rel: &Path) -> Option<&Removal> {
        self.index(rel).map(|i| &self.paths[i].1)
    }

    fn index(&self, rel: &Path) -> Option<usize> {
        let key = rel.as_os_str();
        self.paths
            .binary_search_by(|(p, _)| p.as_os_str().cmp(key))
            .ok()
    }
}

/// Where a path ends for a process of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presence {
    /// It is there: the real path of the first entry named (a link stays a link: its folder is
    /// where the loader found it, `$ORIGIN`), the real path at the end of its links, and what
    /// that is.
    There {
        /// The real path of the entry the path names.
        entry: PathBuf,
        /// The real path at the end of its links.
        end: PathBuf,
        /// What is at the end.
        meta: Meta,
    },
    /// It is not, and why.
    Absent(Cause),
}

/// Follows `path` (inside the root; absolute or relative to the root) one link at a time,
/// treating every path in `gone` as removed.
pub fn locate(root: &mut Root, path: &Path, gone: &Gone) -> Result<Presence> {
    let mut cur = path.to_path_buf();
    let mut first = None;
    for _ in 0..=MAX_HOPS {
        let rel = cur.strip_prefix("/").unwrap_or(&cur);
        let Some(entry) = root.resolve_parent(rel)? else {
            return Ok(Presence::Absent(Cause::AlreadyMissing));
        };
        if let Some(removal) = gone.get(&entry) {
            return Ok(Presence::Absent(Cause::Removed(removal.clone())));
        }
        let Some(meta) = root.lstat(&entry)? else {
            return Ok(Presence::Absent(Cause::AlreadyMissing));
        };
        if meta.kind != FileKind::Symlink {
            return Ok(Presence::There {
                entry: first.unwrap_or_else(|| entry.to_path_buf()),
                end: entry.into(),
                meta,
            });
        }
        let target = root.readlink(&entry)?;
        cur = match entry.parent() {
            Some(dir) if !target.has_root() => dir.join(&target),
            _ => target,
        };
        first.get_or_insert(PathBuf::from(entry));
    }
    Ok(Presence::Absent(Cause::AlreadyMissing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::InRoot;
    use crate::root::tests::tree;
    use crate::stage::discover::Item;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_removed_link_on_the_way_is_removed_and_a_missing_path_was_missing() {
        let (t, mut root) = tree();
        symlink("/bin/busybox", t.path().join("bin/sh")).unwrap();
        symlink("sh", t.path().join("bin/ash")).unwrap();
        let sh = root.lstat(&InRoot::unchecked("bin/sh")).unwrap().unwrap();
        let steps = [Step {
            kind: StepKind::AppletLink,
            item: Item {
                path: InRoot::unchecked("bin/sh"),
                meta: sh,
            },
        }];
        let mut gone = Gone::of(&steps);
        gone.owned(Path::new("bin/sh"), b"binsh");
        gone.owned(Path::new("bin/sh"), b"second");
        gone.owned(Path::new("bin/ash"), b"not removed");
        let removed = Presence::Absent(Cause::Removed(Removal {
            step: StepKind::AppletLink,
            package: Some("binsh".into()),
        }));
        assert_eq!(
            locate(&mut root, Path::new("/bin/ash"), &gone).unwrap(),
            removed
        );
        assert_eq!(
            locate(&mut root, Path::new("/bin/bash"), &gone).unwrap(),
            Presence::Absent(Cause::AlreadyMissing)
        );
        let Presence::There { entry, end, meta } =
            locate(&mut root, Path::new("/bin/ash"), &Gone::default()).unwrap()
        else {
            panic!("bin/ash is there while nothing is removed")
        };
        assert_eq!((entry, end), ("bin/ash".into(), "bin/busybox".into()));
        assert_eq!(meta.kind, FileKind::File);
        // After the removal, the same answer from the tree itself.
        fs::remove_file(t.path().join("bin/sh")).unwrap();
        let mut fresh = Root::open(t.path()).unwrap();
        assert_eq!(
            locate(&mut fresh, Path::new("/bin/ash"), &gone).unwrap(),
            removed
        );
    }
}
