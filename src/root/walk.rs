//! The walk of the whole root: every entry on the root's own filesystem, whatever is mounted
//! into it. A RUN step has proc on /proc, sysfs on /sys, a tmpfs on /dev and single files bound
//! over /etc/hosts, /etc/resolv.conf and /etc/hostname; a build cache may be mounted anywhere.
//! None of that is part of the image: a folder or a file that lies on another filesystem, or
//! is the root of a mount (a bind mount from the same filesystem), is neither entered nor
//! reported, and so never read. Everything else is, /proc, /sys and /dev included when they are
//! plain folders of the image (no name is skipped: a skip by name is how a walk once ended at
//! /proc and missed the rest of `/`).
//!
//! walkdir reads the folders; each folder and regular file it yields is then stated (`statx`)
//! to tell another device or a mount root (a bind mount from the same filesystem) and to give
//! the tool its mode, size, links and inode. A folder that is not of the root's filesystem is
//! left at once (`skip_current_dir()`: walkdir opens a folder before it yields it, and reads
//! none of its entries until asked). Not walkdir's `same_file_system`: it stats every folder
//! a second time (97 of the 1,990 syscalls of a default strip of the 3.20.3 tree).
//! No `filter_entry`: its `skip_current_dir()` on a folder walkdir never entered (a mounted
//! /proc) skipped the rest of `/`; here a folder is skipped only when walkdir did enter it. The audit reads the modes from the walk, discovery the hard links and copies of busybox,
//! `--prune` the files no package owns; it needs nothing but the root's host path, so it can run
//! whenever it is first needed. It only reads: nothing it yields reaches `unlink` or `open` as a host path.
//!
//! This is the one reading of the root that goes by its host path rather than by the root's
//! descriptor: walkdir cannot start from a descriptor. It only lists and reads modes (walkdir
//! follows no symlink), and what it yields is an [`InRoot`] path relative to the root, so a
//! file it finds is removed or opened only through [`crate::root::Root`], by its descriptor.

use std::ffi::CStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Result, is_absent};
use crate::os::sys;
use crate::root::{FileKind, InRoot, Item, Meta};

/// What a walk could not see: folders it could not read, with the OS error.
pub type Unread = Vec<(PathBuf, io::Error)>;

/// Calls `each` with every regular file of the root's filesystem below `host_root` (paths
/// inside the root, with their `statx` facts), in walkdir's order. A folder that cannot be read
/// is an error naming it when `strict`; else it is passed over and returned in the list of what
/// was not seen. A file or folder removed while the walk runs is passed over.
pub fn regular_files(
    host_root: &Path,
    strict: bool,
    each: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<Unread> {
    let mut unread = Unread::new();
    let mut scratch = Vec::with_capacity(4096);
    let dev = stat(&mut scratch, host_root)
        .map_err(|e| Error::io("cannot walk", host_root, e))?
        .dev;
    let mut entries = WalkDir::new(host_root).min_depth(1).into_iter();
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(host_root).to_path_buf();
                let source = e
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::from_raw_os_error(nix::libc::ELOOP));
                match () {
                    () if is_absent(&source) => {}
                    () if strict => return Err(Error::io("cannot walk", &path, source)),
                    () => unread.push((inside(host_root, &path), source)),
                }
                continue;
            }
        };
        let kind = entry.file_type();
        if !kind.is_dir() && !kind.is_file() {
            continue;
        }
        let meta = match stat(&mut scratch, entry.path()) {
            Ok(meta) => meta,
            Err(e) if is_absent(&e) => continue,
            Err(e) if strict => return Err(Error::io("cannot walk", entry.path(), e)),
            Err(e) => {
                unread.push((inside(host_root, entry.path()), e));
                continue;
            }
        };
        let of_the_root = meta.dev == dev && !meta.mount_root;
        match meta.kind {
            // walkdir has opened the folder it just yielded: another filesystem, or a bind
            // mount from this one, is left before any of its entries is read.
            FileKind::Dir if !of_the_root => entries.skip_current_dir(),
            FileKind::File if of_the_root => {
                let listed = entry.path().strip_prefix(host_root).ok();
                if let Some(path) = listed.and_then(InRoot::listed) {
                    each(Item { path, meta })?;
                }
            }
            _ => {}
        }
    }
    Ok(unread)
}

/// The `statx` facts of `path`, the last name not followed; `scratch` holds the C string (one
/// buffer for the whole walk, not an allocation an entry).
fn stat(scratch: &mut Vec<u8>, path: &Path) -> io::Result<Meta> {
    scratch.clear();
    scratch.extend_from_slice(path.as_os_str().as_bytes());
    scratch.push(0);
    let c = CStr::from_bytes_with_nul(scratch)
        .map_err(|_| io::Error::from_raw_os_error(nix::libc::EINVAL))?;
    sys::lstatx(c).map(|st| Meta::from_statx(&st))
}

/// `path` (below `host_root`) as a path inside the root.
fn inside(host_root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(host_root).unwrap_or(path).to_path_buf()
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
    /// mounted into the tree is not seen, and nothing after it is missed. Needs root. The
    /// child is this test again, started with `WALK_PROBE_ROOT`: it walks and prints.
    #[test]
    #[cfg_attr(not(can_mount), ignore = "needs root for unshare -m (CI=true runs it)")]
    fn what_is_mounted_in_is_passed_over_and_the_rest_is_seen() {
        if let Some(root) = std::env::var_os("WALK_PROBE_ROOT") {
            for p in walk(Path::new(&root)) {
                println!("seen {p}");
            }
            return;
        }
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
        // The test binary walks in the child, this test by its exact name.
        let script = r#"set -e
mount -t proc proc "$1/proc"
mount -t sysfs sys "$1/sys"
mount -t tmpfs tmpfs "$1/dev"
touch "$1/dev/null-ish"
mount --bind "$2/hosts" "$1/etc/hosts"
mount --bind "$2/cache" "$1/mnt/cache"
exec "$3" --exact root::walk::tests::what_is_mounted_in_is_passed_over_and_the_rest_is_seen --nocapture --include-ignored"#;
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
}
