//! The walk of the whole root: every entry on the root's own filesystem, whatever is mounted
//! into it. A RUN step has proc on /proc, sysfs on /sys, a tmpfs on /dev and single files bound
//! over /etc/hosts, /etc/resolv.conf and /etc/hostname; a build cache may be mounted anywhere.
//! None of that is part of the image: a folder or a file that lies on another filesystem, or
//! is the root of a mount (a bind mount from the same filesystem), is neither entered nor
//! reported, and so never read. Everything else is, /proc, /sys and /dev included when they are
//! plain folders of the image (no name is skipped: a skip by name is how a walk once ended at
//! /proc and missed the rest of `/`).
//!
//! Each folder is listed once (`getdents64`, [`crate::root::dir`]) and each of its folders and
//! regular files is then stated (`statx`, relative to the folder's descriptor) to tell another
//! device or a mount root (a bind mount from the same filesystem) and to give the tool its
//! mode, size, links and inode; a folder not of the root's filesystem is never opened. A
//! folder is opened relative to its parent's descriptor (`O_NOFOLLOW`), checked to be the
//! folder just stated, so the walk's depth is not bounded by a host path's length; at most
//! [`MAX_OPEN`] folders besides the root stay open (the others are opened again, from the
//! nearest open one, when the walk comes back to them), so neither is it by the descriptor
//! limit. The audit reads the modes from the walk, discovery the hard links and copies of
//! busybox, `--prune` the files no package owns; it needs nothing but the root's host path, so
//! it can run whenever it is first needed. It only reads: nothing it yields reaches `unlink` or
//! `open` as a host path.
//!
//! The host path opens the root once (the walk can run on a thread of its own, apart from
//! [`crate::root::Root`]); everything below is relative to descriptors. What it yields is an
//! [`InRoot`] path relative to the root, so a file it finds is removed or opened only through
//! [`crate::root::Root`], by its descriptor.

use std::ffi::CStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result, is_absent};
use crate::os::sys;
use crate::root::dir::Dir;
use crate::root::open::without_atime;
use crate::root::{FileKind, InRoot, Item, Meta, c_string};

/// What a walk could not see: folders it could not read, with the OS error.
pub type Unread = Vec<(PathBuf, io::Error)>;

/// The most folders the walk holds open at once besides the root (the rest of the folders it
/// is in are closed, and opened again from the nearest open one when it comes back to them).
pub const MAX_OPEN: usize = 8;
/// The longest path (relative to the root) the tool can act on: `PATH_MAX` less its NUL.
const PATH_MAX: usize = 4095;
/// The longest relative path a folder is opened again by in one `openat`; longer ones are
/// opened in steps.
const REOPEN_BYTES: usize = 2048;

/// A folder the walk is in: its entries, read once, and how far it has got.
struct Frame {
    /// The folder, open, or closed to keep the walk within [`MAX_OPEN`] descriptors.
    dir: Option<Dir>,
    path: InRoot,
    /// Its (device, inode): a folder opened again must be the same one.
    id: (u64, u64),
    /// Its folders and regular files.
    entries: Vec<InRoot>,
    next: usize,
}

/// Calls `each` with every regular file of the root's filesystem below `host_root` (paths
/// inside the root, with their `statx` facts), folder by folder, depth first. Every folder is
/// opened relative to its parent's descriptor (`O_NOFOLLOW`), never by a host path, with at
/// most [`MAX_OPEN`] folders open, so neither the host path's length nor the descriptors
/// bound the walk; an entry whose path inside the root is longer than the rest of the tool can
/// act on ([`PATH_MAX`]) is not seen, and said. A folder that cannot be read is an error naming
/// it when `strict`; else it is passed over and returned in the list of what was not seen. A
/// file or folder removed while the walk runs is passed over.
pub fn regular_files(
    host_root: &Path,
    strict: bool,
    each: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<Unread> {
    let mut unread = Unread::new();
    let (top, mut stack) = start(host_root).map_err(|e| Error::io("cannot walk", host_root, e))?;
    let mut failed = |path: &InRoot, e: io::Error| -> Result<()> {
        match () {
            () if is_absent(&e) => Ok(()),
            () if strict => Err(Error::io("cannot walk", &host_root.join(path.as_path()), e)),
            () => {
                unread.push((path.to_path_buf(), e));
                Ok(())
            }
        }
    };
    while let Some(frame) = stack.last_mut() {
        let Some(path) = frame.entries.get(frame.next).cloned() else {
            stack.pop();
            continue;
        };
        frame.next += 1;
        if path.as_os_str().len() >= PATH_MAX {
            // The rest of the tool reaches a file by its path relative to the root's
            // descriptor: one this long it cannot stat, read nor remove. Said, not entered.
            failed(&path, io::Error::from_raw_os_error(nix::libc::ENAMETOOLONG))?;
            continue;
        }
        let folder = match reopen(&mut stack) {
            Ok(dir) => dir,
            Err((at, e)) => {
                failed(&at, e)?;
                // The folder is gone or no longer the same: its other entries are passed over.
                stack.pop();
                continue;
            }
        };
        let meta = match c_string(path.name()).and_then(|c| sys::lstatx_at(folder.fd(), &c)) {
            Ok(st) => Meta::from_statx(&st),
            Err(e) => {
                failed(&path, e)?;
                continue;
            }
        };
        if meta.dev != top.dev || meta.mount_root {
            // Another filesystem, or a bind mount from this one: neither entered nor reported.
            continue;
        }
        match meta.kind {
            FileKind::File => each(Item { path, meta })?,
            FileKind::Dir => match enter(folder, &path, meta.id()) {
                Ok((dir, entries)) => {
                    stack.push(Frame {
                        dir: Some(dir),
                        path,
                        id: meta.id(),
                        entries,
                        next: 0,
                    });
                    close_excess(&mut stack);
                }
                Err(e) => failed(&path, e)?,
            },
            _ => {}
        }
    }
    Ok(unread)
}

/// The root's facts, and the walk's first frame: the root open and listed.
fn start(host_root: &Path) -> io::Result<(Meta, Vec<Frame>)> {
    let mut scratch = Vec::with_capacity(4096);
    let top = stat(&mut scratch, host_root)?;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fd = without_atime(flags, |flags| {
        Ok(nix::fcntl::open(host_root, flags, Mode::empty())?)
    })?;
    let mut root = Dir::new(fd, InRoot::default())?;
    let entries = list(&mut root)?;
    let frame = Frame {
        dir: Some(root),
        path: InRoot::default(),
        id: top.id(),
        entries,
        next: 0,
    };
    Ok((top, vec![frame]))
}

/// Opens the folder `name` of `parent` (`O_NOFOLLOW`), checks it is the folder `id` that was
/// stated, and lists it.
fn enter(parent: &Dir, path: &InRoot, id: (u64, u64)) -> io::Result<(Dir, Vec<InRoot>)> {
    let mut dir = open_below(parent, path.name(), path)?;
    same(&dir, id)?;
    let entries = list(&mut dir)?;
    Ok((dir, entries))
}

/// The folder `rel` (a relative path of plain names) below `parent`, opened without following
/// a symlink at its end, as `path` inside the root.
fn open_below(parent: &Dir, rel: &[u8], path: &InRoot) -> io::Result<Dir> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let c = c_string(rel)?;
    let fd = without_atime(flags, |flags| {
        Ok(nix::fcntl::openat(
            parent.fd(),
            c.as_c_str(),
            flags,
            Mode::empty(),
        )?)
    })?;
    Dir::new(fd, path.clone())
}

/// Fails (`ESTALE`) unless `dir` is the folder `id`.
fn same(dir: &Dir, id: (u64, u64)) -> io::Result<()> {
    let st = nix::sys::stat::fstat(dir.fd())?;
    if (st.st_dev, st.st_ino) == id {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(nix::libc::ESTALE))
    }
}

/// The folders and regular files of `dir` (all the walk enters or yields), read once.
fn list(dir: &mut Dir) -> io::Result<Vec<InRoot>> {
    let mut entries = Vec::new();
    let wanted = |kind| kind == FileKind::Dir || kind == FileKind::File;
    dir.for_each_of(wanted, |path, _| entries.push(path))?;
    Ok(entries)
}

/// The folder the walk is in (the last frame), opened again when it was closed: from the
/// nearest open folder above it, by its relative path, [`REOPEN_BYTES`] at a time, each step
/// checked to be the folder it was. On failure, the path that could not be opened.
fn reopen(stack: &mut [Frame]) -> std::result::Result<&Dir, (InRoot, io::Error)> {
    let last = stack.len() - 1;
    let open = stack.iter().rposition(|f| f.dir.is_some()).unwrap_or(0);
    let mut from = open;
    while from < last {
        // The deepest frame whose path below `from` fits in one open.
        let base = stack[from].path.as_os_str().len();
        let skip = if stack[from].path.is_top() { 0 } else { 1 };
        let mut to = from + 1;
        while to < last && stack[to + 1].path.as_os_str().len() - base - skip <= REOPEN_BYTES {
            to += 1;
        }
        let rel = &stack[to].path.as_os_str().as_bytes()[base + skip..];
        let opened = match &stack[from].dir {
            Some(parent) => open_below(parent, rel, &stack[to].path),
            None => Err(io::Error::from_raw_os_error(nix::libc::EBADF)),
        };
        let dir = opened
            .and_then(|d| same(&d, stack[to].id).map(|()| d))
            .map_err(|e| (stack[to].path.clone(), e))?;
        stack[to].dir = Some(dir);
        from = to;
    }
    close_excess(stack);
    match &stack[last].dir {
        Some(dir) => Ok(dir),
        None => Err((
            stack[last].path.clone(),
            io::Error::from_raw_os_error(nix::libc::EBADF),
        )),
    }
}

/// Closes the open folders nearest the root (the root's own excepted) until at most
/// [`MAX_OPEN`] others are open.
fn close_excess(stack: &mut [Frame]) {
    let mut open = stack.iter().skip(1).filter(|f| f.dir.is_some()).count();
    for f in stack.iter_mut().skip(1) {
        if open <= MAX_OPEN {
            break;
        }
        if f.dir.take().is_some() {
            open -= 1;
        }
    }
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
    fn the_walk_goes_as_deep_as_the_tree_with_few_folders_open() {
        use nix::fcntl::openat;
        use nix::sys::stat::mkdirat;
        let t = tempfile::tempdir().unwrap();
        // 3,000 folders down: 6,000 bytes of path, more than PATH_MAX. Made relative to
        // descriptors; a file every 500 levels (two deeper than the tool can act on), and a
        // second branch at the top.
        let mut dir = fs::File::open(t.path()).unwrap();
        let mut expected = Vec::new();
        let mut path = String::new();
        for i in 0..3000 {
            mkdirat(&dir, "d", Mode::from_bits_truncate(0o755)).unwrap();
            let fd = openat(
                &dir,
                "d",
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                Mode::empty(),
            )
            .unwrap();
            dir = fs::File::from(fd);
            path.push_str(if i == 0 { "d" } else { "/d" });
            if i % 500 == 499 {
                let flags = OFlag::O_WRONLY | OFlag::O_CREAT;
                openat(&dir, "f", flags, Mode::from_bits_truncate(0o644)).unwrap();
                expected.push(format!("{path}/f"));
            }
        }
        drop(dir);
        fs::create_dir(t.path().join("e")).unwrap();
        fs::write(t.path().join("e/g"), b"").unwrap();
        expected.push("e/g".into());
        // The descriptors open on the tree (other tests run beside this one).
        let top = t.path().to_path_buf();
        let open_now = || {
            let fds = fs::read_dir("/proc/self/fd").unwrap();
            let links = fds.filter_map(|e| fs::read_link(e.ok()?.path()).ok());
            links.filter(|l| l.starts_with(&top)).count()
        };
        let mut most = 0;
        let mut seen = Vec::new();
        let unread = regular_files(t.path(), false, &mut |item| {
            most = most.max(open_now());
            seen.push(item.path.display().to_string());
            Ok(())
        })
        .unwrap();
        // Seen down to what the rest of the tool can act on (4,095 bytes of path), and the
        // first entry beyond said.
        expected.retain(|p| p.len() < PATH_MAX);
        seen.sort();
        expected.sort();
        assert_eq!(seen, expected);
        assert_eq!(unread.len(), 1);
        assert_eq!(unread[0].1.raw_os_error(), Some(nix::libc::ENAMETOOLONG));
        assert_eq!(unread[0].0.as_os_str().len(), 4095);
        // The root and at most MAX_OPEN folders.
        assert!(most <= MAX_OPEN + 1, "{most} open");
        assert!(most > 1, "{most} open");
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
