//! Discovery: what in the root belongs to busybox and apk, found by looking, never by a list.
//!
//! Busybox binaries are regular files named `busybox`, `busybox.static` or `busybox-extras` in
//! the bin folders, or the files such names there resolve to inside the root, plus every hard
//! link to the same inode anywhere on the root's filesystem. Applet links are the symlinks of
//! the bin folders whose chain, resolved inside the root, ends at one of those inodes. apk is
//! `apk` (or `apk.static`) in a bin folder and `libapk.so*` in /lib or /usr/lib; `ssl_client`
//! serves only busybox wget. The running binary is found through `/proc/self/exe` (or `AT_EXECFN`
//! where /proc is not mounted, never `argv[0]`) and counts only when it lies inside the root.

use std::path::PathBuf;

use crate::error::Result;
use crate::os::sys;
use crate::root::resolve::{End, Resolved};
use crate::root::walk;
use crate::root::{FileKind, InRoot, Meta, Root};
use crate::stage::scan::{LIB_DIRS, Listing};

const BUSYBOX_NAMES: [&[u8]; 3] = [b"busybox", b"busybox.static", b"busybox-extras"];
const APK_NAMES: [&[u8]; 2] = [b"apk", b"apk.static"];

/// A path inside the root with its `lstat` facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The real path inside the root.
    pub path: InRoot,
    /// Its `lstat` facts.
    pub meta: Meta,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Found {
    /// Busybox binaries and their hard links.
    pub busybox: Vec<Item>,
    /// Symlinks that end at a busybox binary.
    pub links: Vec<Item>,
    /// apk and its private library.
    pub apk: Vec<Item>,
    /// busybox wget's TLS helper.
    pub ssl_client: Vec<Item>,
    /// Symlinks in the bin folders that loop; left alone.
    pub loops: Vec<PathBuf>,
}

impl Found {
    /// Whether nothing of busybox or apk is left.
    pub fn is_empty(&self) -> bool {
        self.busybox.is_empty()
            && self.links.is_empty()
            && self.apk.is_empty()
            && self.ssl_client.is_empty()
    }
}

/// Looks through the listed bin folders (and the lib folders) of `root`.
pub fn discover(root: &mut Root, bins: &Listing) -> Result<Found> {
    let mut found = Found::default();

    let mut files = Vec::new();
    for e in bins.of_kind(FileKind::File) {
        if let Some(meta) = root.lstat(&e.path)? {
            files.push((e.path.clone(), e.name().to_vec(), meta));
        }
    }
    // A name of busybox that is a symlink (`/bin/busybox -> /usr/lib/busybox/busybox`) names
    // the binary it ends at, wherever that lies inside the root.
    for e in bins.of_kind(FileKind::Symlink) {
        if !BUSYBOX_NAMES.contains(&e.name()) {
            continue;
        }
        if let Resolved::Found(real, meta) = root.resolve(&e.path)?
            && meta.kind == FileKind::File
            && !files.iter().any(|(p, _, _)| *p == real)
        {
            files.push((real, e.name().to_vec(), meta));
        }
    }
    // One busybox inode, or a few: a list is all it takes.
    let ids: Vec<(u64, u64)> = files
        .iter()
        .filter(|(_, name, _)| BUSYBOX_NAMES.contains(&name.as_slice()))
        .map(|(_, _, m)| m.id())
        .collect();
    for (path, name, meta) in files {
        let item = Item { path, meta };
        if ids.contains(&meta.id()) {
            found.busybox.push(item);
        } else if APK_NAMES.contains(&name.as_slice()) {
            found.apk.push(item);
        } else if name == b"ssl_client" {
            found.ssl_client.push(item);
        }
    }
    // Hard links of busybox outside the bin folders: only the whole root can tell, so it is
    // walked only when the link counts say some are missing.
    let seen = |id| found.busybox.iter().filter(|i| i.meta.id() == id).count() as u64;
    let unseen = found
        .busybox
        .iter()
        .any(|i| seen(i.meta.id()) < i.meta.nlink);
    if unseen {
        let mut elsewhere = hard_links(root, &ids)?;
        elsewhere.retain(|i| !found.busybox.iter().any(|b| b.path == i.path));
        found.busybox.extend(elsewhere);
    }

    for e in bins.of_kind(FileKind::Symlink) {
        match root.link_end(&e.path)? {
            End::Found(end) if end.kind == FileKind::File && ids.contains(&end.id()) => {
                if let Some(meta) = root.lstat(&e.path)? {
                    found.links.push(Item {
                        path: e.path.clone(),
                        meta,
                    });
                }
            }
            End::Loop => found.loops.push(e.path.to_path_buf()),
            _ => {}
        }
    }

    let libs = Listing::of(root, &LIB_DIRS)?;
    for e in libs
        .entries
        .iter()
        .filter(|e| e.name().starts_with(b"libapk.so"))
    {
        if e.kind == FileKind::Dir {
            continue;
        }
        if let Some(meta) = root.lstat(&e.path)? {
            found.apk.push(Item {
                path: e.path.clone(),
                meta,
            });
        }
    }
    Ok(found)
}

/// Every regular file on the root's filesystem whose inode is in `ids`, found by a walk of
/// the whole root that does not leave its filesystem and skips /proc, /sys and /dev.
fn hard_links(root: &mut Root, ids: &[(u64, u64)]) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let host = root.host_root().to_path_buf();
    walk::regular_files(&host, true, &mut |rel, _| {
        if let Some(meta) = root.lstat(&rel)?
            && ids.contains(&meta.id())
        {
            out.push(Item { path: rel, meta });
        }
        Ok(())
    })?;
    Ok(out)
}

/// The running binary, when it lies inside the root.
pub fn self_exe(root: &mut Root) -> Result<Option<Item>> {
    let Some(exe) = exe_path() else {
        return Ok(None);
    };
    let rel = match exe.strip_prefix(root.host_root()) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => return Ok(None),
    };
    let Some(real) = root.resolve_parent(&rel)? else {
        return Ok(None);
    };
    Ok(match root.lstat(&real)? {
        Some(meta) if meta.kind == FileKind::File => Some(Item { path: real, meta }),
        _ => None,
    })
}

/// Where the running binary lies, as the kernel knows it: `/proc/self/exe`, else (no /proc)
/// the path `execve` was given (`AT_EXECFN`). Never `argv[0]`, which whoever starts the
/// process chooses.
fn exe_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::current_exe() {
        return Some(p);
    }
    // A relative AT_EXECFN (`./strip` from a shell) names nothing inside the root for sure.
    sys::exec_path().filter(|p| p.has_root())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::scan::BIN_DIRS;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn paths(items: &[Item]) -> Vec<String> {
        let mut v: Vec<String> = items.iter().map(|i| i.path.display().to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn finds_busybox_its_hard_links_links_apk_and_ssl_client() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        for d in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "lib",
            "usr/lib/jvm/x/bin",
        ] {
            fs::create_dir_all(p.join(d)).unwrap();
        }
        fs::write(p.join("bin/busybox"), b"bb").unwrap();
        fs::hard_link(p.join("bin/busybox"), p.join("usr/bin/bbhard")).unwrap();
        fs::write(p.join("sbin/apk"), b"apk").unwrap();
        fs::write(p.join("lib/libapk.so.2.14.0"), b"lib").unwrap();
        fs::write(p.join("usr/bin/ssl_client"), b"ssl").unwrap();
        fs::write(p.join("usr/lib/jvm/x/bin/java"), b"java").unwrap();
        symlink("/bin/busybox", p.join("bin/ls")).unwrap();
        symlink("../../bin/busybox", p.join("usr/bin/env")).unwrap();
        symlink("env", p.join("usr/bin/chain")).unwrap();
        symlink("bbhard", p.join("usr/bin/viahard")).unwrap();
        symlink("/usr/lib/jvm/x/bin/java", p.join("usr/bin/java")).unwrap();
        symlink("loop2", p.join("usr/sbin/loop1")).unwrap();
        symlink("loop1", p.join("usr/sbin/loop2")).unwrap();

        let mut root = Root::open(p).unwrap();
        let bins = Listing::of(&mut root, &BIN_DIRS).unwrap();
        let f = discover(&mut root, &bins).unwrap();
        assert_eq!(paths(&f.busybox), ["bin/busybox", "usr/bin/bbhard"]);
        assert_eq!(
            paths(&f.links),
            ["bin/ls", "usr/bin/chain", "usr/bin/env", "usr/bin/viahard"]
        );
        assert_eq!(paths(&f.apk), ["lib/libapk.so.2.14.0", "sbin/apk"]);
        assert_eq!(paths(&f.ssl_client), ["usr/bin/ssl_client"]);
        assert_eq!(f.loops.len(), 2);
    }

    #[test]
    fn a_tree_without_busybox_finds_nothing() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("usr/bin")).unwrap();
        fs::write(t.path().join("usr/bin/python3.12"), b"py").unwrap();
        symlink("python3.12", t.path().join("usr/bin/python3")).unwrap();
        let mut root = Root::open(t.path()).unwrap();
        let bins = Listing::of(&mut root, &BIN_DIRS).unwrap();
        assert!(discover(&mut root, &bins).unwrap().is_empty());
    }
}
