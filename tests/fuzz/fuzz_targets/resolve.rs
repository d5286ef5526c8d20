//! The path resolver over a made-up tree, checked against the kernel.
//!
//! The input is text, one command a line (at most 48 lines of at most 300 bytes):
//! `d PATH` makes a folder, `f PATH` a file, `l PATH TARGET` a symlink (TARGET runs to the end
//! of the line), `? PATH` resolves PATH; missing folders on the way are made, and a tree is
//! built only with `*at` calls that never follow a link, so it stays inside its own folder on
//! tmpfs. Every path resolved is then also opened by the kernel with `openat2(RESOLVE_IN_ROOT)`,
//! which resolves exactly as for a process chrooted at the root: the resolver must find the
//! same object (device and inode), or say missing where the kernel says ENOENT/ENOTDIR, or
//! loop where it says ELOOP. A real path the resolver answers must lie inside the root with no
//! link on the way (opened with `RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH` to the same object).
#![no_main]

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use alpine_strip::fuzzing::{self, Outcome};
use libfuzzer_sys::fuzz_target;
use rustix::fs::{Mode, OFlags, ResolveFlags, fstat, mkdirat, openat, openat2, symlinkat};
use rustix::io::Errno;

enum Make<'a> {
    Dir,
    File,
    Link(&'a [u8]),
}

/// The folder under which each input's tree is made (and removed after it).
fn base() -> &'static PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = alpine_strip_fuzz::scratch("resolve");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir(&base).expect("fuzz base folder");
        base
    })
}

/// Makes `path` (its names only: `.`, `..` and `/` are dropped) inside `root`, making the
/// folders on the way; never follows a link; anything that fails is skipped.
fn make(root: &OwnedFd, path: &[u8], what: Make) {
    let names: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|n| !n.is_empty() && *n != b"." && *n != b"..")
        .collect();
    let Some((last, folders)) = names.split_last() else {
        return;
    };
    let mut dir = match root.try_clone() {
        Ok(d) => d,
        Err(_) => return,
    };
    let flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::PATH | OFlags::CLOEXEC;
    for name in folders {
        let _ = mkdirat(&dir, *name, Mode::from_raw_mode(0o755));
        dir = match openat(&dir, *name, flags, Mode::empty()) {
            Ok(d) => d,
            Err(_) => return,
        };
    }
    let _ = match what {
        Make::Dir => mkdirat(&dir, *last, Mode::from_raw_mode(0o755)),
        Make::File => openat(
            &dir,
            *last,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map(drop),
        Make::Link(target) => symlinkat(target, &dir, *last),
    };
}

/// `path` opened by the kernel in the root `root` (as `O_PATH`, with `flags` added), following
/// every link the way `how` says.
fn open(root: &OwnedFd, path: &Path, flags: OFlags, how: ResolveFlags) -> Result<OwnedFd, Errno> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let flags = flags | OFlags::PATH | OFlags::CLOEXEC;
    // EAGAIN: a rename or mount anywhere on the system while a `..` was resolved (openat2(2));
    // the kernel asks for a retry.
    let mut tries = 0;
    loop {
        match openat2(root, path, flags, Mode::empty(), how) {
            Err(Errno::AGAIN) if tries < 1000 => tries += 1,
            other => return other,
        }
    }
}

/// What the kernel finds at `path` in the root `root`: its (device, inode).
fn kernel(root: &OwnedFd, path: &Path, how: ResolveFlags) -> Result<(u64, u64), Errno> {
    let st = fstat(open(root, path, OFlags::empty(), how)?.as_fd())?;
    Ok((st.st_dev, st.st_ino))
}

/// A real path the resolver answers: relative, names only, and the object the kernel finds
/// there without following any link and without leaving the root.
fn assert_real(root: &OwnedFd, real: &Path, id: Option<(u64, u64)>) {
    assert!(
        real.components().all(|c| matches!(c, Component::Normal(_))),
        "{real:?} is not a plain path inside the root"
    );
    if let Some(id) = id {
        let plain = kernel(
            root,
            real,
            ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH,
        );
        assert_eq!(plain, Ok(id), "{real:?} is not the object found");
    }
}

/// The resolver's answer `got` for `path` agrees with the kernel's.
fn assert_agrees(root: &OwnedFd, path: &Path, got: &Outcome) {
    if path.as_os_str().as_bytes().contains(&0) {
        // The kernel refuses the whole path (EINVAL); the resolver may stop before the NUL
        // (missing, a loop) or fail at it, but it cannot find anything.
        assert!(
            !matches!(got, Outcome::Found(..)),
            "{path:?}: found {got:?}"
        );
        return;
    }
    let want = kernel(root, path, ResolveFlags::IN_ROOT);
    match (got, want) {
        (Outcome::Found(real, id), Ok(k)) => {
            assert_eq!(
                *id, k,
                "{path:?}: resolver and kernel found different objects"
            );
            if !real.as_os_str().is_empty() || path.as_os_str().is_empty() {
                assert_real(root, real, Some(*id));
            }
        }
        (Outcome::Missing(at), Err(Errno::NOENT | Errno::NOTDIR)) => {
            if let Some(at) = at {
                assert_real(root, at, None);
            }
        }
        (Outcome::Loop, Err(Errno::LOOP)) => {}
        (Outcome::Error(_), Err(Errno::NAMETOOLONG | Errno::INVAL)) => {}
        (got, want) => panic!("{path:?}: resolver says {got:?}, kernel says {want:?}"),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let dir = base().join("t");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("tree folder");
    let root = openat2(
        rustix::fs::CWD,
        &dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::empty(),
    )
    .expect("open tree folder");
    let mut queries = Vec::new();
    for line in bytes.split(|&b| b == b'\n').take(48) {
        let line = &line[..line.len().min(300)];
        let (op, rest) = match line {
            [op, b' ', rest @ ..] => (*op, rest),
            _ => continue,
        };
        let (path, target) = match rest.iter().position(|&b| b == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        match op {
            b'd' => make(&root, path, Make::Dir),
            b'f' => make(&root, path, Make::File),
            b'l' if !target.is_empty() => make(&root, path, Make::Link(target)),
            b'?' => queries.push(PathBuf::from(OsStr::from_bytes(rest))),
            _ => {}
        }
    }
    let answers = fuzzing::resolve(&dir, &queries).expect("open the root");
    for (q, a) in queries.iter().zip(&answers) {
        assert_agrees(&root, q, &a.resolved);
        // The entry itself: its folder resolved, its name kept.
        if let (Some(parent), Some(name)) = (q.parent(), q.file_name()) {
            match (&a.parent, kernel(&root, parent, ResolveFlags::IN_ROOT)) {
                (Ok(Some(real)), Ok(k)) => {
                    assert_eq!(real.file_name(), Some(name));
                    let folder = real.parent().unwrap_or(Path::new(""));
                    assert_real(&root, folder, Some(k));
                }
                (Ok(None), Err(_)) => {}
                // The folder is there but is not a folder.
                (Ok(None), Ok(_)) => {
                    let dir = open(&root, parent, OFlags::DIRECTORY, ResolveFlags::IN_ROOT);
                    assert!(dir.is_err(), "{q:?}: resolve_parent missed the folder");
                }
                (Err(_), Err(Errno::NAMETOOLONG | Errno::INVAL)) => {}
                (got, want) => panic!("{q:?}: resolve_parent says {got:?}, kernel says {want:?}"),
            }
        }
        if let (Some(end), Ok(Some(real))) = (&a.link_end, &a.parent) {
            assert_agrees(&root, real, end);
        }
    }
});
