//! The target root: a folder on the host, and the paths inside it.
//!
//! Every path the tool looks at is a path *inside* the root, kept relative (`usr/bin/ls`) and
//! shown with a leading slash. [`Root`] answers `lstat` (cached: resolving 300 links to
//! `/bin/busybox` costs one `readlink` each and nothing more), `readlink`, `unlink` and opens
//! folders, each on a host path built in one reused buffer (no allocation). How symlinks are
//! followed inside the root is [`crate::root::resolve`]'s; how files in it are read,
//! [`crate::root::read`]'s.

pub mod dir;
pub mod read;
pub mod resolve;
pub mod walk;

use std::ffi::{CStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, is_absent};
use crate::os::sys;
use crate::root::dir::Dir;
use rustc_hash::FxHashMap;

/// What kind of filesystem object a path is, without following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A folder.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// Anything else: a device, a FIFO, a socket.
    Other,
}

impl FileKind {
    /// The kind an `st_mode` names.
    pub fn of_mode(mode: u32) -> FileKind {
        match mode & nix::libc::S_IFMT {
            nix::libc::S_IFLNK => FileKind::Symlink,
            nix::libc::S_IFDIR => FileKind::Dir,
            nix::libc::S_IFREG => FileKind::File,
            _ => FileKind::Other,
        }
    }
}

/// The `lstat` facts the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// What kind of object.
    pub kind: FileKind,
    /// The device it lies on.
    pub dev: u64,
    /// Its inode number.
    pub ino: u64,
    /// How many hard links it has.
    pub nlink: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its `st_mode` (type and permission bits).
    pub mode: u32,
    /// Immutable or append-only (`chattr +i`/`+a`): not even root can unlink it, nor, for a
    /// folder, an entry of it.
    pub pinned: bool,
    /// The root of a mount (a file bind-mounted in by the engine): not part of the image.
    pub mount_root: bool,
}

impl Meta {
    /// The facts a `statx` gave.
    pub fn from_statx(st: &nix::libc::statx) -> Self {
        let pinned = (nix::libc::STATX_ATTR_IMMUTABLE | nix::libc::STATX_ATTR_APPEND) as u64;
        let mode = u32::from(st.stx_mode);
        Meta {
            kind: FileKind::of_mode(mode),
            dev: nix::libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
            nlink: u64::from(st.stx_nlink),
            size: st.stx_size,
            mode,
            pinned: st.stx_attributes & pinned != 0,
            mount_root: st.stx_attributes & nix::libc::STATX_ATTR_MOUNT_ROOT as u64 != 0,
        }
    }

    /// The (device, inode) pair that identifies the object.
    pub fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// A path inside the root with its `lstat` facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The real path inside the root.
    pub path: PathBuf,
    /// Its `lstat` facts.
    pub meta: Meta,
}

/// The target root, with a cache of what has been looked up inside it.
pub struct Root {
    host: PathBuf,
    lstat_cache: FxHashMap<OsString, Option<Meta>>,
    /// The NUL-terminated host path of the last call, reused so that a syscall allocates nothing;
    /// its first `prefix` bytes are the root's host path and a slash, kept between calls.
    scratch: Vec<u8>,
    prefix: usize,
}

impl Root {
    /// Opens `dir` as the root: it must be a folder; it is made absolute and canonical.
    pub fn open(dir: &Path) -> Result<Self> {
        let host = fs::canonicalize(dir).map_err(|e| Error::io("cannot open root", dir, e))?;
        let meta = fs::metadata(&host).map_err(|e| Error::io("cannot open root", &host, e))?;
        if !meta.is_dir() {
            return Err(Error::io(
                "cannot open root",
                &host,
                io::Error::from_raw_os_error(nix::libc::ENOTDIR),
            ));
        }
        // Sized for an Alpine root's few hundred bin entries: growing the table one doubling at
        // a time would copy it at every step, and the bump allocator (os/alloc.rs) reuses none
        // of the tables left behind.
        let mut scratch = Vec::with_capacity(4096);
        scratch.extend_from_slice(host.as_os_str().as_bytes());
        if scratch.last() != Some(&b'/') {
            scratch.push(b'/');
        }
        Ok(Root {
            host,
            lstat_cache: FxHashMap::with_capacity_and_hasher(1024, Default::default()),
            prefix: scratch.len(),
            scratch,
        })
    }

    /// The root as the host sees it.
    pub fn host_root(&self) -> &Path {
        &self.host
    }

    /// Whether the root is the process's own `/`.
    pub fn is_slash(&self) -> bool {
        self.host == Path::new("/")
    }

    /// The host path of `rel`, a path inside the root.
    pub fn host(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.host.clone()
        } else {
            self.host.join(rel)
        }
    }

    /// `lstat` of `rel`, cached; `None` when it does not exist.
    pub fn lstat(&mut self, rel: &Path) -> Result<Option<Meta>> {
        if let Some(m) = self.lstat_cache.get(rel.as_os_str()) {
            return Ok(*m);
        }
        let meta = match self.c_host(rel).and_then(sys::lstatx) {
            Ok(st) => Some(Meta::from_statx(&st)),
            Err(e) if is_absent(&e) => None,
            Err(e) => return Err(Error::io("cannot stat", &self.host(rel), e)),
        };
        self.lstat_cache.insert(rel.as_os_str().to_owned(), meta);
        Ok(meta)
    }

    /// Removes the file or symlink `rel` (`unlink(2)`), allocating nothing.
    pub fn unlink(&mut self, rel: &Path) -> io::Result<()> {
        nix::unistd::unlink(self.c_host(rel)?).map_err(io::Error::from)
    }

    /// The host path of `rel` as a C string in the reused buffer.
    /// A path with a NUL byte (which no listing gives) is EINVAL, as the kernel would say.
    fn c_host(&mut self, rel: &Path) -> io::Result<&CStr> {
        self.scratch.truncate(self.prefix);
        self.scratch.extend_from_slice(rel.as_os_str().as_bytes());
        self.scratch.push(0);
        CStr::from_bytes_with_nul(&self.scratch)
            .map_err(|_| io::Error::from_raw_os_error(nix::libc::EINVAL))
    }

    /// Opens the folder `rel` (not following a last symlink) to list it.
    pub fn open_dir(&mut self, rel: &Path) -> Result<Dir> {
        let dir = self.c_host(rel).and_then(Dir::open);
        dir.map_err(|e| Error::io("cannot list", &self.host(rel), e))
    }

    /// Records that a directory listing saw a symlink at `rel`, saving an `lstat`: a symlink's
    /// own inode, size and links matter to nothing here (it frees no file's bytes).
    pub fn remember_symlink(&mut self, rel: &Path) {
        let meta = Meta {
            kind: FileKind::Symlink,
            dev: 0,
            ino: 0,
            nlink: 1,
            size: 0,
            mode: 0o120777,
            pinned: false,
            mount_root: false,
        };
        self.lstat_cache
            .insert(rel.as_os_str().to_owned(), Some(meta));
    }

    /// The target of the symlink `rel`.
    pub fn readlink(&mut self, rel: &Path) -> Result<PathBuf> {
        let target = self.c_host(rel).and_then(sys::read_link);
        target.map_err(|e| Error::io("cannot read link", &self.host(rel), e))
    }
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
    fn opening_a_file_as_root_fails_with_the_path() {
        let (t, _) = tree();
        let err = Root::open(&t.path().join("bin/busybox")).err().unwrap();
        assert!(
            err.to_string().contains("bin/busybox: cannot open root"),
            "{err}"
        );
        assert!(err.to_string().contains("os error 20"), "{err}");
    }
}
