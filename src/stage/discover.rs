//! Discovery: what in the root belongs to busybox and apk, found by looking, never by a list.
//!
//! Busybox binaries are regular files named `busybox`, `busybox.static`, `busybox-extras` or
//! `bbsuid` (busybox-suid's setuid helper) in the bin folders, or the files such names there
//! resolve to inside the root, plus every hard link to the same inode and every byte-for-byte
//! copy of one (`cp /bin/busybox /bin/sh.real`) anywhere on the root's filesystem. Applet links
//! are the symlinks of the bin folders whose chain, resolved inside the root, ends at one of
//! those inodes, or that dangle and whose chain names a busybox binary by its last component
//! (`-> /bin/busybox` once busybox is gone). apk is `apk` (or `apk.static`) in a bin folder and
//! `libapk.so*` in /lib or /usr/lib; `ssl_client` serves only busybox wget. The running binary is
//! found through `/proc/self/exe` (or `AT_EXECFN` where /proc is not mounted, never `argv[0]`)
//! and counts only when it lies inside the root.
//!
//! Hard links and copies can lie anywhere: the walk of the whole root is asked for only when
//! the bin folders hold busybox, and only the files of a busybox binary's size are read.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::busybox::{self as bytes, MAX_READ};
use crate::os::sys;
use crate::root::resolve::{End, MAX_HOPS, Resolved};
use crate::root::{FileKind, InRoot, Meta, PathSet, Root};
use crate::stage::scan::{LIB_DIRS, Listing};
use crate::stage::survey::WholeRoot;

/// Names of busybox binaries (and of busybox-suid's helper, which runs busybox).
pub const BUSYBOX_NAMES: [&[u8]; 4] = [b"busybox", b"busybox.static", b"busybox-extras", b"bbsuid"];
const APK_NAMES: [&[u8]; 2] = [b"apk", b"apk.static"];

pub use crate::root::Item;

/// What discovery found.
#[derive(Debug, Default)]
pub struct Found {
    /// Busybox binaries, their hard links and their copies.
    pub busybox: Vec<Item>,
    /// Symlinks that end at a busybox binary, or dangle naming one.
    pub links: Vec<Item>,
    /// apk and its private library.
    pub apk: Vec<Item>,
    /// busybox wget's TLS helper.
    pub ssl_client: Vec<Item>,
    /// Symlinks in the bin folders that loop; left alone.
    pub loops: Vec<PathBuf>,
}

impl Found {
    /// Whether the bin folders hold busybox: then its hard links and copies are looked for in
    /// the walk of the whole root ([`elsewhere`]) before its applet links ([`applet_links`]).
    pub fn has_busybox(&self) -> bool {
        !self.busybox.is_empty()
    }

    /// The inodes of every busybox binary found so far.
    fn busybox_ids(&self) -> Vec<(u64, u64)> {
        let mut ids: Vec<(u64, u64)> = Vec::new();
        for i in &self.busybox {
            if !ids.contains(&i.meta.id()) {
                ids.push(i.meta.id());
            }
        }
        ids
    }
}

/// Discovery with the walk of the whole root already made: [`by_name`], then [`elsewhere`] when
/// there is busybox, then [`applet_links`]. A caller that would rather not walk when there is no
/// busybox calls the three itself.
pub fn discover(root: &mut Root, bins: &Listing, whole: &WholeRoot) -> Result<Found> {
    let mut found = by_name(root, bins)?;
    if found.has_busybox() {
        elsewhere(root, &mut found, whole)?;
    }
    applet_links(root, bins, &mut found)?;
    Ok(found)
}

/// Step one: busybox, apk and ssl_client by their names in the listed bin folders (a name of
/// busybox that is a symlink names the binary it ends at), and `libapk.so*` in the lib folders.
pub fn by_name(root: &mut Root, bins: &Listing) -> Result<Found> {
    let mut files = Vec::new();
    for e in bins.of_kind(FileKind::File) {
        if let Some(meta) = root.lstat(&e.path)? {
            files.push((e.path.clone(), e.name().to_vec(), meta));
        }
    }
    // A name of busybox that is a symlink (`/bin/busybox -> /usr/lib/busybox/busybox`) names
    // the binary it ends at, wherever that lies inside the root, when that binary is busybox
    // (it carries busybox's banner): a link can name any file, musl's loader or /etc/passwd.
    for e in bins.of_kind(FileKind::Symlink) {
        if !BUSYBOX_NAMES.contains(&e.name()) {
            continue;
        }
        if let Resolved::Found(real, meta) = root.resolve(&e.path)?
            && meta.kind == FileKind::File
            && !files.iter().any(|(p, _, _)| *p == real)
            && carries_banner(root, &real, &meta)
        {
            files.push((real, e.name().to_vec(), meta));
        }
    }
    // One busybox inode, or a few: a list is all it takes.
    let ids: Vec<(u64, u64)> = files
        .iter()
        .filter(|(_, name, _)| BUSYBOX_NAMES.contains(&name.as_slice()))
        .map(|(_, _, meta)| meta.id())
        .collect();
    let mut found = Found::default();
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
    found.apk.extend(libapk(root)?);
    Ok(found)
}

/// Whether the regular file `path` (`meta`) is a busybox build: at most [`MAX_READ`] bytes,
/// carrying busybox's banner.
fn carries_banner(root: &mut Root, path: &InRoot, meta: &Meta) -> bool {
    if meta.size > MAX_READ {
        return false;
    }
    matches!(root.open_regular(path), Ok(Some(o)) if bytes::has_banner(&o.file, o.len))
}

/// `libapk.so*` in the lib folders.
fn libapk(root: &mut Root) -> Result<Vec<Item>> {
    let libs = Listing::of(root, &LIB_DIRS)?;
    let mut out = Vec::new();
    for e in libs
        .entries
        .iter()
        .filter(|e| e.name().starts_with(b"libapk.so"))
    {
        if e.kind == FileKind::Dir {
            continue;
        }
        if let Some(meta) = root.lstat(&e.path)? {
            out.push(Item {
                path: e.path.clone(),
                meta,
            });
        }
    }
    Ok(out)
}

/// Step three: the symlinks of the bin folders that end at a busybox binary found (so after
/// [`elsewhere`]: a link may end at a hard link of it), or dangle naming one; loops are noted.
pub fn applet_links(root: &mut Root, bins: &Listing, found: &mut Found) -> Result<()> {
    let ids = found.busybox_ids();
    found.links.reserve(bins.of_kind(FileKind::Symlink).count());
    for e in bins.of_kind(FileKind::Symlink) {
        let applet = match root.link_end(&e.path)? {
            End::Found(end) if end.kind == FileKind::File => ids.contains(&end.id()),
            // A busybox that is not a regular file (a FIFO, a device: planted, or a copy
            // gone wrong) runs nothing, and its links are applet links all the same, known by
            // name as those of a busybox already gone: removed in the same run.
            End::Found(end) if end.kind == FileKind::Other => names_busybox(root, &e.path)?,
            End::Found(_) => false,
            End::Missing => names_busybox(root, &e.path)?,
            End::Loop => {
                found.loops.push(e.path.to_path_buf());
                false
            }
        };
        if applet {
            found.links.push(Item {
                path: e.path.clone(),
                meta: Meta::symlink(),
            });
        }
    }
    Ok(())
}

/// Step two, when the bin folders hold busybox: its hard links and copies anywhere in `whole`,
/// the walk of the whole root, join [`Found::busybox`].
pub fn elsewhere(root: &mut Root, found: &mut Found, whole: &WholeRoot) -> Result<()> {
    let ids = found.busybox_ids();
    let more = copies_and_links(root, &found.busybox, &ids, whole)?;
    found.busybox.extend(more);
    Ok(())
}

/// Busybox outside the bin folders' names: every hard link of `busybox` (whose inodes are
/// `ids`) and every byte-for-byte copy of one, anywhere in the walk. A copy is read only when
/// its size is a busybox binary's; each inode is compared once. When some hard links were not
/// seen and the walk could not read a folder, that folder is the error: the strip cannot
/// promise busybox is gone.
fn copies_and_links(
    root: &mut Root,
    busybox: &[Item],
    ids: &[(u64, u64)],
    whole: &WholeRoot,
) -> Result<Vec<Item>> {
    let mut known = PathSet::default();
    for i in busybox {
        known.insert(i.path.as_os_str());
    }
    let mut out: Vec<Item> = Vec::new();
    for f in &whole.files {
        // The walk may be older than this look (the audit after a strip): a link is still there.
        let id = f.meta.id();
        if ids.contains(&id)
            && !known.contains(f.path.as_os_str())
            && root.lstat(&f.path)?.is_some_and(|m| m.id() == id)
        {
            out.push(f.clone());
        }
    }
    let seen = |id| {
        let n = busybox.iter().chain(&out).filter(|i| i.meta.id() == id);
        n.count() as u64
    };
    let missing = busybox.iter().any(|i| seen(i.meta.id()) < i.meta.nlink);
    if let (true, Some((dir, e))) = (missing, whole.unread.first()) {
        let errno = e.raw_os_error().unwrap_or(nix::libc::EIO);
        let source = io::Error::from_raw_os_error(errno);
        return Err(Error::io("cannot walk", &root.host(dir), source));
    }

    // (inode, size, path) of each busybox inode: the reference its copies are compared with.
    let mut originals: Vec<((u64, u64), u64, &Path)> = Vec::new();
    for i in busybox {
        if i.meta.size > 0 && !originals.iter().any(|(id, _, _)| *id == i.meta.id()) {
            originals.push((i.meta.id(), i.meta.size, &i.path));
        }
    }
    let mut compared: Vec<(u64, u64)> = Vec::new();
    for f in &whole.files {
        let id = f.meta.id();
        if ids.contains(&id) || f.meta.size > MAX_READ || compared.contains(&id) {
            continue;
        }
        for &(_, size, original) in &originals {
            if size == f.meta.size {
                compared.push(id);
                if same_file_bytes(root, original, &f.path)? {
                    // Every link of the copy is a copy too.
                    let links = whole.files.iter().filter(|g| g.meta.id() == id);
                    out.extend(links.cloned());
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Whether `copy` holds the bytes of `original`, both read confined to the root. A file that
/// is gone, or is no longer a regular file of the same size, is no copy.
fn same_file_bytes(root: &mut Root, original: &Path, copy: &Path) -> Result<bool> {
    let Some(a) = root.open_regular(original)? else {
        return Ok(false);
    };
    let b = match root.open_regular(copy) {
        Ok(Some(b)) if b.len == a.len => b,
        Ok(_) | Err(Error::Input { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(bytes::same_bytes(&a.file, &b.file, a.len))
}

/// Whether the dangling symlink `link` names a busybox binary: the last component of its
/// target, or of the target of a link its chain passes through, is one of [`BUSYBOX_NAMES`].
fn names_busybox(root: &mut Root, link: &InRoot) -> Result<bool> {
    let mut cur = link.clone();
    for _ in 0..MAX_HOPS {
        let target = root.readlink(&cur)?;
        // The text's last component; a trailing slash names a folder (`/bin/busybox/`), no binary.
        let text = target.as_os_str().as_bytes();
        if BUSYBOX_NAMES.contains(&text.rsplit(|&b| b == b'/').next().unwrap_or(text)) {
            return Ok(true);
        }
        let next = match target.strip_prefix("/") {
            Ok(abs) => abs.to_path_buf(),
            Err(_) => cur.parent().unwrap_or_default().join(&target),
        };
        match root.resolve_parent(&next)? {
            Some(real)
                if root
                    .lstat(&real)?
                    .is_some_and(|m| m.kind == FileKind::Symlink) =>
            {
                cur = real
            }
            _ => return Ok(false),
        }
    }
    Ok(false)
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
    if let Ok(p) = sys::proc_self_exe() {
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

        let f = found(p);
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
        let mut f = by_name(&mut root, &bins).unwrap();
        assert!(
            !f.has_busybox(),
            "no busybox: no walk of the whole root is asked for"
        );
        applet_links(&mut root, &bins, &mut f).unwrap();
        assert!(f.busybox.is_empty() && f.links.is_empty() && f.apk.is_empty());
        assert!(f.ssl_client.is_empty() && f.loops.is_empty());
    }

    #[test]
    fn bbsuid_copies_and_dangling_links_naming_busybox_are_busybox() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        for d in ["bin", "usr/bin", "usr/sbin", "usr/local/bin", "opt/app"] {
            fs::create_dir_all(p.join(d)).unwrap();
        }
        let bb: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
        fs::write(p.join("bin/busybox"), &bb).unwrap();
        fs::write(p.join("bin/bbsuid"), b"suid helper").unwrap();
        symlink("/bin/bbsuid", p.join("bin/su")).unwrap();
        symlink("/bin/bbsuid", p.join("usr/bin/passwd")).unwrap();
        // Copies, one with a hard link of its own; a file of the same size is no copy.
        fs::write(p.join("bin/sh.real"), &bb).unwrap();
        fs::write(p.join("usr/local/bin/wget"), &bb).unwrap();
        fs::hard_link(p.join("usr/local/bin/wget"), p.join("opt/app/wget2")).unwrap();
        let mut other = bb.clone();
        other[4999] ^= 1;
        fs::write(p.join("opt/app/same-size"), &other).unwrap();
        symlink("/bin/sh.real", p.join("usr/bin/sh")).unwrap();
        // Dangling: named busybox at the end of the target, directly or down the chain.
        symlink("/usr/lib/busybox.static", p.join("usr/sbin/gone1")).unwrap();
        symlink("gone1", p.join("usr/sbin/gone2")).unwrap();
        symlink("/opt/busybox/missing", p.join("usr/sbin/other")).unwrap();
        symlink("/bin/gone/busybox/", p.join("usr/sbin/folder")).unwrap();

        let f = found(p);
        assert_eq!(
            paths(&f.busybox),
            [
                "bin/bbsuid",
                "bin/busybox",
                "bin/sh.real",
                "opt/app/wget2",
                "usr/local/bin/wget"
            ]
        );
        assert_eq!(
            paths(&f.links),
            [
                "bin/su",
                "usr/bin/passwd",
                "usr/bin/sh",
                "usr/sbin/gone1",
                "usr/sbin/gone2"
            ]
        );
    }

    #[test]
    fn a_hard_link_the_walk_could_not_see_is_an_error_naming_the_folder() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        fs::create_dir_all(p.join("bin")).unwrap();
        fs::create_dir_all(p.join("opt/x")).unwrap();
        fs::write(p.join("bin/busybox"), b"bb").unwrap();
        fs::hard_link(p.join("bin/busybox"), p.join("opt/x/bb")).unwrap();
        let mut root = Root::open(p).unwrap();
        let bins = Listing::of(&mut root, &BIN_DIRS).unwrap();
        let denied = std::io::Error::from_raw_os_error(nix::libc::EACCES);
        let whole = WholeRoot {
            unread: vec![(PathBuf::from("opt/x"), denied)],
            ..WholeRoot::default()
        };
        let e = discover(&mut root, &bins, &whole).unwrap_err().to_string();
        assert!(e.contains("opt/x: cannot walk"), "{e}");
        assert!(e.contains("os error 13"), "{e}");
        // Every link seen: a folder the walk could not read does not matter.
        let whole = crate::stage::survey::walk_whole_root(p);
        let whole = WholeRoot {
            unread: vec![(PathBuf::from("srv"), std::io::Error::from_raw_os_error(13))],
            ..whole
        };
        let f = discover(&mut root, &bins, &whole).unwrap();
        assert_eq!(paths(&f.busybox), ["bin/busybox", "opt/x/bb"]);
    }

    /// What discovery finds in the tree at `p`, with the walk of the whole root.
    fn found(p: &std::path::Path) -> Found {
        let mut root = Root::open(p).unwrap();
        let bins = Listing::of(&mut root, &BIN_DIRS).unwrap();
        let whole = crate::stage::survey::walk_whole_root(p);
        discover(&mut root, &bins, &whole).unwrap()
    }
}
