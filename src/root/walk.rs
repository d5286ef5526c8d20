//! The walk of the whole root: every entry on the root's own filesystem, whatever is mounted
//! into it. A RUN step has proc on /proc, sysfs on /sys, a tmpfs on /dev and single files bound
//! over /etc/hosts, /etc/resolv.conf and /etc/hostname; a build cache may be mounted anywhere.
//! None of that is part of the image: a folder or a file that lies on another filesystem, or
//! is the root of a mount (a bind mount from the same filesystem), is neither entered nor
//! reported, and so never read. Everything else is, /proc, /sys and /dev included when they are
//! plain folders of the image (no name is skipped: a skip by name is how a walk once ended at
//! /proc and missed the rest of `/`).
//!
//! Each folder is read with one `getdents64` ([`crate::root::dir`]) and each folder and regular
//! file stated relative to its open folder (`statx`, no path lookup from the root); the walk
//! holds one folder open at a time. The audit reads the modes from it, discovery the hard links
//! and copies of busybox, `--prune` the files no package owns; it needs nothing but the root's
//! host path, so it can run on a second thread.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, is_absent};
use crate::os::sys;
use crate::root::dir::Dir;
use crate::root::{FileKind, Item, Meta};

/// What a walk could not see: folders it could not read, with the OS error.
pub type Unread = Vec<(PathBuf, io::Error)>;

/// Calls `each` with every regular file of the root's filesystem below `host_root` (paths
/// inside the root, with their `statx` facts), folder by folder. A folder that cannot be read
/// is an error naming it when `strict`; else it is passed over and returned in the list of
/// what was not seen. A file or folder removed while the walk runs is passed over.
pub fn regular_files(
    host_root: &Path,
    strict: bool,
    each: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<Unread> {
    let mut unread = Unread::new();
    let top = c_path(host_root, Path::new(""))
        .and_then(|c| sys::lstatx(&c))
        .map_err(|e| Error::io("cannot walk", host_root, e))?;
    let dev = Meta::from_statx(&top).dev;
    let mut pending = vec![PathBuf::new()];
    let mut files = Vec::new();
    while let Some(rel) = pending.pop() {
        let first_sub = pending.len();
        let listed = c_path(host_root, &rel)
            .and_then(|c| Dir::open(&c))
            .and_then(|dir| list(&dir, &rel, dev, &mut pending, &mut files));
        match listed {
            Ok(()) => {}
            Err(e) if is_absent(&e) && !rel.as_os_str().is_empty() => {}
            Err(e) if strict => return Err(Error::io("cannot walk", &host_root.join(&rel), e)),
            Err(e) => unread.push((rel, e)),
        }
        // Folders in listing order, files before the folders below them.
        pending[first_sub..].reverse();
        for item in files.drain(..) {
            each(item)?;
        }
    }
    Ok(unread)
}

/// Lists one folder: its regular files into `files`, its folders into `pending`, both only
/// when they lie on `dev` and are not mounted in.
fn list(
    dir: &Dir,
    rel: &Path,
    dev: u64,
    pending: &mut Vec<PathBuf>,
    files: &mut Vec<Item>,
) -> io::Result<()> {
    dir.for_each(|name, kind| {
        if !matches!(kind, FileKind::Dir | FileKind::File) {
            return Ok(());
        }
        let meta = match dir.meta_at(name) {
            Ok(meta) => meta,
            Err(e) if is_absent(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        if !of_the_root(&meta, dev) {
            return Ok(());
        }
        let path = rel.join(OsStr::from_bytes(name.to_bytes()));
        match meta.kind {
            FileKind::Dir => pending.push(path),
            FileKind::File => files.push(Item { path, meta }),
            FileKind::Symlink | FileKind::Other => {}
        }
        Ok(())
    })
}

/// Whether an entry is part of the root's own filesystem: on its device and not a mount root
/// (a file or folder bound in from elsewhere, even from the same filesystem).
fn of_the_root(meta: &Meta, dev: u64) -> bool {
    meta.dev == dev && !meta.mount_root
}

/// `host_root/rel` as a C string.
fn c_path(host_root: &Path, rel: &Path) -> io::Result<CString> {
    let mut v = host_root.as_os_str().as_bytes().to_vec();
    if !rel.as_os_str().is_empty() {
        if v.last() != Some(&b'/') {
            v.push(b'/');
        }
        v.extend_from_slice(rel.as_os_str().as_bytes());
    }
    CString::new(v).map_err(|_| io::Error::from_raw_os_error(nix::libc::EINVAL))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::process::Command;

    fn walk(root: &Path) -> Vec<String> {
        let mut seen = Vec::new();
        let unread = regular_files(root, true, &mut |item| {
            seen.push(item.path.display().to_string());
            Ok(())
        })
        .unwrap();
        assert!(unread.is_empty());
        seen.sort();
        seen
    }

    #[test]
    fn every_file_is_seen_the_virtual_folders_included_when_they_are_plain_folders() {
        let t = tempfile::tempdir().unwrap();
        for d in ["proc/1", "dev", "usr/share/proc", "etc", "var/empty"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        for f in ["proc/1/status", "usr/share/proc/x", "etc/hosts", "zz"] {
            fs::write(t.path().join(f), b"").unwrap();
        }
        symlink("/etc/hosts", t.path().join("etc/link")).unwrap();
        assert_eq!(
            walk(t.path()),
            ["etc/hosts", "proc/1/status", "usr/share/proc/x", "zz"]
        );
    }

    #[test]
    fn paths_below_slash_have_one_slash() {
        let c = c_path(Path::new("/"), Path::new("etc")).unwrap();
        assert_eq!(c.as_bytes(), b"/etc");
        let c = c_path(Path::new("/r"), Path::new("etc/x")).unwrap();
        assert_eq!(c.as_bytes(), b"/r/etc/x");
        assert_eq!(
            c_path(Path::new("/r"), Path::new("")).unwrap().as_bytes(),
            b"/r"
        );
    }

    #[test]
    fn modes_and_sizes_come_with_the_files() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("f"), b"12345").unwrap();
        fs::set_permissions(t.path().join("f"), fs::Permissions::from_mode(0o4755)).unwrap();
        let mut got = Vec::new();
        regular_files(t.path(), false, &mut |item| {
            got.push((item.meta.mode & 0o7777, item.meta.size));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, [(0o4755, 5)]);
    }

    /// Mounts in a private mount namespace of a child process, then walks there: what is
    /// mounted into the tree is not seen, and nothing after it is missed. Needs root.
    #[test]
    fn what_is_mounted_in_is_passed_over_and_the_rest_is_seen() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for d in ["proc", "sys", "dev", "etc", "home", "var/lib", "mnt/cache"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        for f in [
            "etc/hosts",
            "etc/passwd",
            "home/a",
            "var/lib/b",
            "mnt/cache/c",
            "zz",
        ] {
            fs::write(r.join(f), b"").unwrap();
        }
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("hosts"), b"127.0.0.1 x\n").unwrap();
        fs::create_dir(outside.path().join("cache")).unwrap();
        fs::write(outside.path().join("cache/other"), b"").unwrap();
        // The test binary walks in the child: `walk-probe` is this test's own filter.
        let script = r#"set -e
mount -t proc proc "$1/proc"
mount -t sysfs sys "$1/sys"
mount -t tmpfs tmpfs "$1/dev"
touch "$1/dev/null-ish"
mount --bind "$2/hosts" "$1/etc/hosts"
mount --bind "$2/cache" "$1/mnt/cache"
exec "$3" --exact root::walk::tests::probe --nocapture --include-ignored"#;
        let o = Command::new("unshare")
            .args(["-m", "sh", "-c", script, "sh"])
            .arg(r)
            .arg(outside.path())
            .arg(std::env::current_exe().unwrap())
            .env("WALK_PROBE_ROOT", r)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let seen: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("seen "))
            .collect();
        assert_eq!(seen, ["etc/passwd", "home/a", "var/lib/b", "zz"], "{out}");
    }

    /// The child side of the test above (runs only when that test starts it).
    #[test]
    #[ignore]
    fn probe() {
        let Some(root) = std::env::var_os("WALK_PROBE_ROOT") else {
            return;
        };
        for p in walk(Path::new(&root)) {
            println!("seen {p}");
        }
    }
}
