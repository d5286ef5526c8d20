//! The target root: a folder on the host, held open as a directory descriptor, and the paths
//! inside it.
//!
//! Every path the tool looks at is a path *inside* the root, kept relative (`usr/bin/ls`) and
//! shown with a leading slash. [`Root`] is opened once; every lookup, listing, read and removal
//! after that is an `*at` call relative to its descriptor (`statx`, `readlinkat`, `openat2` or
//! `openat`, `unlinkat`, `faccessat`), never a host path string resolved from the process's
//! working folder. Only an [`InRoot`] path (made by the resolver or by a listing) reaches them:
//! [`Root::lstat`] (cached: resolving 300 links to `/bin/busybox` costs one `readlink` each and
//! nothing more), [`Root::readlink`], [`Root::unlink`], [`Root::open_dir`]. How symlinks are
//! followed inside the root is [`crate::root::resolve`]'s; how an open is kept inside it,
//! [`crate::root::open`]'s; how files in it are read, [`crate::root::read`]'s. The host path
//! is kept for messages and for the read-only walk ([`crate::root::walk`]).

pub mod dir;
pub mod meta;
pub mod open;
pub mod path;
pub mod read;
pub mod resolve;
pub mod walk;

use std::collections::HashMap;
use std::ffi::{CStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{AccessFlags, UnlinkatFlags, faccessat, unlinkat};

use crate::error::{Error, Result, is_absent};
use crate::os::sys;
use crate::root::dir::Dir;
pub use crate::root::meta::{End, FileKind, Meta};
use crate::root::open::Confine;
pub use crate::root::path::{InRoot, PathSet, c_string};

/// A path inside the root with its `lstat` facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The real path inside the root.
    pub path: InRoot,
    /// Its `lstat` facts.
    pub meta: Meta,
}

/// What `statfs` says of the root's filesystem (an overlay's are its upper layer's).
#[derive(Clone, Copy, Debug)]
pub struct FsRoom {
    /// Whether it is an overlay.
    pub overlay: bool,
    /// Its block size.
    pub block_size: u64,
    /// Its free bytes (`f_bavail`; root may have a few more).
    pub bytes_free: u64,
    /// Its inodes (0 when it does not count them).
    pub inodes_total: u64,
    /// Its free inodes.
    pub inodes_free: u64,
}

/// The target root, held open, with a cache of what has been looked up inside it.
pub struct Root {
    host: PathBuf,
    /// The root folder, `O_PATH | O_DIRECTORY`: what every `*at` call is relative to.
    fd: OwnedFd,
    /// How opens are kept inside the root (the kernel's `openat2`, or a walk).
    confine: Confine,
    lstat_cache: HashMap<OsString, Option<Meta>>,
    /// Folders resolved by [`Root::resolve_parent`], by the path asked for, sorted by it: the
    /// database names its files folder by folder, and each is looked up several times a run.
    /// Emptied by a removal. (A sorted list, not a hash map: a hundred or so folders, and a
    /// second map type costs 1.5 KB of the binary.)
    parent_cache: Vec<(OsString, Option<InRoot>)>,
    /// The last absolute symlink target [`Root::link_end`] followed, and where it ended: the
    /// 300 applet links of a bin folder all say `/bin/busybox`. Emptied by a removal.
    last_end: Option<(PathBuf, End)>,
    /// The NUL-terminated relative path of the last call, reused so that a syscall allocates
    /// nothing.
    scratch: Vec<u8>,
    /// The folder of the last removal, open (`O_PATH`): removals come folder by folder.
    folder: Option<(InRoot, OwnedFd)>,
}

impl Root {
    /// Opens `dir` as the root: it must be a folder; its host path is made absolute and
    /// canonical, and the folder is held open for the rest of the run.
    pub fn open(dir: &Path) -> Result<Self> {
        let host = fs::canonicalize(dir).map_err(|e| Error::io("cannot open root", dir, e))?;
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = c_string(host.as_os_str().as_bytes())
            .and_then(|c| Ok(nix::fcntl::open(c.as_c_str(), flags, Mode::empty())?))
            .map_err(|e| Error::io("cannot open root", &host, e))?;
        Ok(Root::new(host, fd, initial_confine()))
    }

    fn new(host: PathBuf, fd: OwnedFd, confine: Confine) -> Root {
        Root {
            host,
            fd,
            confine,
            // Sized below what a strip of the Alpine tree looks up (about 600 entries: it grows
            // once): a table made for 1,024 took 2,048 slots of 80 bytes, and inserts touch
            // them all over, each new page a fault (measured: 253 faults a run at 256, 311 at
            // 1,024, 258 at 64).
            lstat_cache: HashMap::with_capacity(256),
            parent_cache: Vec::new(),
            last_end: None,
            scratch: Vec::with_capacity(4096),
            folder: None,
        }
    }

    /// The same root (its descriptor duplicated, not opened again by its host path) with
    /// nothing cached but its folders: for looking afresh at what a strip left. A strip
    /// removes files and symlinks, never a folder (`unlinkat` without `AT_REMOVEDIR`), so a
    /// folder is still a folder, with its mode, attributes and mount; every other entry is
    /// looked up again. (A folder's size or link count may change on some filesystems, tmpfs
    /// or an overlay's copy-up: nothing after a strip reads them.)
    pub fn fresh(&self) -> Result<Root> {
        let fd = self.fd.try_clone();
        let fd = fd.map_err(|e| Error::io("cannot open root", &self.host, e))?;
        let mut root = Root::new(self.host.clone(), fd, self.confine);
        for (path, meta) in &self.lstat_cache {
            if let Some(m) = meta
                && m.kind == FileKind::Dir
            {
                root.lstat_cache.insert(path.clone(), Some(*m));
            }
        }
        Ok(root)
    }

    /// The root as the host sees it: for messages and the read-only walk, never for an open.
    pub fn host_root(&self) -> &Path {
        &self.host
    }

    /// Whether the root is the process's own `/`.
    pub fn is_slash(&self) -> bool {
        self.host == Path::new("/")
    }

    /// The host path of `rel`, a path inside the root, for messages.
    pub fn host(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.host.clone()
        } else {
            self.host.join(rel)
        }
    }

    /// Confines opens by walking one folder at a time, as on a kernel without `openat2`: for
    /// the tests that compare both ways.
    #[cfg(test)]
    pub fn confine_by_walk(&mut self) {
        self.confine = Confine::Stepwise;
    }

    /// Whether `rel` is not part of the image: reached through another mount than the root's,
    /// or (where the kernel gives no mount id) the top of one; the root itself may well be the
    /// top of its own. False when it does not exist.
    pub fn mounted_in(&mut self, rel: &InRoot) -> Result<bool> {
        let (Some(top), Some(m)) = (self.lstat(&InRoot::default())?, self.lstat(rel)?) else {
            return Ok(false);
        };
        Ok(!m.same_mount(&top) || (m.mount_root && !rel.is_top()))
    }

    /// `lstat` of `rel`, cached; `None` when it does not exist.
    pub fn lstat(&mut self, rel: &InRoot) -> Result<Option<Meta>> {
        if let Some(m) = self.lstat_cache.get(rel.as_os_str()) {
            return Ok(*m);
        }
        let fd = self.fd.as_fd();
        let meta = match c_path(&mut self.scratch, rel).and_then(|c| sys::lstatx_at(fd, c)) {
            Ok(st) => Some(Meta::from_statx(&st)),
            Err(e) if is_absent(&e) => None,
            Err(e) => return Err(Error::io("cannot stat", &self.host(rel), e)),
        };
        self.lstat_cache.insert(rel.as_os_str().to_owned(), meta);
        Ok(meta)
    }

    /// Removes the file or symlink `rel`: `unlinkat` of its name in its folder, the folder
    /// opened confined to the root ([`crate::root::open`]) and kept open for the next removal.
    pub fn unlink(&mut self, rel: &InRoot) -> io::Result<()> {
        let Some(folder) = rel.folder() else {
            return Err(io::Error::from_raw_os_error(nix::libc::EISDIR));
        };
        // The folder of the last removal, still open, when it is this one's (as a plan's
        // removals mostly are): compared by bytes, no path made.
        let (dir, fd) = match self.folder.take() {
            Some((open, fd)) if open.as_os_str().as_bytes() == folder => (open, fd),
            _ => {
                let dir = rel.parent().unwrap_or_default();
                let fd = self.open_folder(&dir)?;
                (dir, fd)
            }
        };
        if !self.parent_cache.is_empty() {
            self.parent_cache.clear();
        }
        self.last_end = None;
        let done = c_string(rel.name()).and_then(|name| {
            Ok(unlinkat(
                fd.as_fd(),
                name.as_c_str(),
                UnlinkatFlags::NoRemoveDir,
            )?)
        });
        self.folder = Some((dir, fd));
        done
    }

    /// The folder `dir` open as `O_PATH`, confined to the root ([`crate::root::open`]): what
    /// a file in it is created, renamed or removed relative to.
    pub fn open_folder(&mut self, dir: &InRoot) -> io::Result<OwnedFd> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
        open::open(self.fd.as_fd(), &mut self.confine, dir, flags)
    }

    /// Fails unless this process may write to the folder `dir` (`faccessat(W_OK)`, by its real
    /// uid and gid, as `access` asks): an entry can be removed from it. Errors: the call's errno.
    pub fn writable(&self, dir: &InRoot) -> io::Result<()> {
        let at = dir.c_at()?;
        Ok(faccessat(
            self.fd.as_fd(),
            at.as_c_str(),
            AccessFlags::W_OK,
            AtFlags::empty(),
        )?)
    }

    /// The figures of the root's filesystem (`fstatfs` of its descriptor).
    pub fn statfs(&self) -> io::Result<FsRoom> {
        let st = nix::sys::statfs::fstatfs(&self.fd)?;
        let block = st.block_size() as u64;
        Ok(FsRoom {
            overlay: st.filesystem_type() == nix::sys::statfs::OVERLAYFS_SUPER_MAGIC,
            block_size: block,
            bytes_free: st.blocks_available() as u64 * block,
            inodes_total: st.files() as u64,
            inodes_free: st.files_free() as u64,
        })
    }

    /// Opens the folder `rel` (not following a last symlink, confined to the root) to list it.
    pub fn open_dir(&mut self, rel: &InRoot) -> Result<Dir> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
        open::open_reading(self.fd.as_fd(), &mut self.confine, rel, flags)
            .and_then(|fd| Dir::new(fd, rel.clone()))
            .map_err(|e| Error::io("cannot list", &self.host(rel), e))
    }

    /// The target of the symlink `rel`.
    pub fn readlink(&mut self, rel: &InRoot) -> Result<PathBuf> {
        let fd = self.fd.as_fd();
        let target = c_path(&mut self.scratch, rel).and_then(|c| sys::read_link_at(fd, c));
        target.map_err(|e| Error::io("cannot read link", &self.host(rel), e))
    }
}

/// `rel` as a C string in the reused buffer, `.` for the root itself. A path with a NUL byte
/// (which no listing gives) is EINVAL, as the kernel would say.
fn c_path<'a>(scratch: &'a mut Vec<u8>, rel: &InRoot) -> io::Result<&'a CStr> {
    scratch.clear();
    scratch.extend_from_slice(rel.at().as_os_str().as_bytes());
    scratch.push(0);
    CStr::from_bytes_with_nul(scratch).map_err(|_| io::Error::from_raw_os_error(nix::libc::EINVAL))
}

/// The kernel confines opens, unless a debug build's tests ask for stepwise opens
/// (`ALPINE_STRIP_TEST_CONFINE=stepwise`, to run the integration tests both ways; a release build
/// reads no such variable).
fn initial_confine() -> Confine {
    #[cfg(debug_assertions)]
    if std::env::var_os("ALPINE_STRIP_TEST_CONFINE").is_some_and(|v| v == "stepwise") {
        return Confine::Stepwise;
    }
    Confine::Kernel
}

/// The root the tests of the root, resolve and read modules share.
#[cfg(test)]
pub mod tests {
    use super::*;

    /// A root with /bin/busybox, /usr/bin and /etc, for the tests of the Root modules.
    pub fn tree() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for d in ["bin", "usr/bin", "etc"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        fs::write(t.path().join("bin/busybox"), b"bb").unwrap();
        let root = Root::open(t.path()).unwrap();
        (t, root)
    }

    #[test]
    fn a_fresh_root_looks_again_at_what_was_removed() {
        let (_t, mut root) = tree();
        let (bin, busybox) = (InRoot::unchecked("bin"), InRoot::unchecked("bin/busybox"));
        assert!(root.lstat(&bin).unwrap().is_some());
        assert!(root.lstat(&busybox).unwrap().is_some());
        root.unlink(&busybox).unwrap();
        let mut fresh = root.fresh().unwrap();
        assert_eq!(fresh.lstat(&busybox).unwrap(), None);
        assert_eq!(
            fresh.lstat(&bin).unwrap().map(|m| m.kind),
            Some(FileKind::Dir)
        );
    }

    #[test]
    fn opening_a_file_as_root_fails_with_the_path() {
        let (t, _) = tree();
        let err = Root::open(&t.path().join("bin/busybox")).err().unwrap();
        assert!(
            err.to_string().contains("bin/busybox: cannot open root"),
            "{err}"
        );
        assert!(err.to_string().contains("os error 20"), "{err}");
    }

    #[test]
    fn unlink_removes_inside_and_never_through_a_swapped_folder() {
        for walk in [false, true] {
            let (t, mut root) = tree();
            if walk {
                root.confine_by_walk();
            }
            for f in ["usr/bin/a", "usr/bin/b", "etc/c"] {
                fs::write(t.path().join(f), b"").unwrap();
            }
            for f in ["usr/bin/a", "usr/bin/b", "etc/c"] {
                root.unlink(&InRoot::unchecked(f)).unwrap();
                assert!(!t.path().join(f).exists(), "{f}");
            }
            let e = root.unlink(&InRoot::unchecked("etc/c")).unwrap_err();
            assert!(is_absent(&e), "{e}");
            // The folder swapped for a symlink out of the root after it was resolved.
            let outside = tempfile::tempdir().unwrap();
            fs::write(outside.path().join("victim"), b"").unwrap();
            fs::write(t.path().join("usr/bin/victim"), b"").unwrap();
            fs::rename(t.path().join("usr/bin"), t.path().join("usr/bin.old")).unwrap();
            std::os::unix::fs::symlink(outside.path(), t.path().join("usr/bin")).unwrap();
            root.folder = None;
            let e = root
                .unlink(&InRoot::unchecked("usr/bin/victim"))
                .unwrap_err();
            assert_eq!(e.raw_os_error(), Some(nix::libc::ELOOP), "walk: {walk}");
            assert!(outside.path().join("victim").exists(), "walk: {walk}");
            assert!(root.unlink(&InRoot::top()).is_err());
        }
    }

    #[test]
    fn lookups_go_by_the_descriptor_not_the_host_path() {
        let (t, mut root) = tree();
        // The root renamed away on the host: the descriptor still names it.
        let moved = t.path().with_extension("moved");
        fs::rename(t.path(), &moved).unwrap();
        let busybox = root.lstat(&InRoot::unchecked("bin/busybox")).unwrap();
        let top = root.lstat(&InRoot::top()).unwrap();
        fs::rename(&moved, t.path()).unwrap();
        assert_eq!(busybox.map(|m| m.kind), Some(FileKind::File));
        assert_eq!(top.map(|m| m.kind), Some(FileKind::Dir));
    }
}
