//! The target root and path resolution confined to it.
//!
//! Every path the tool looks at is a path *inside* the root, kept relative (`usr/bin/ls`) and
//! shown with a leading slash. Symlinks are resolved here the way the kernel would resolve them
//! for a process chrooted at the root: absolute targets start again at the root, `..` never
//! climbs above it, and a chain longer than [`MAX_HOPS`] links is a loop. Nothing outside the
//! root is ever looked at. `lstat` answers are cached, so resolving 300 links to `/bin/busybox`
//! costs one `readlink` each and nothing more; syscalls on paths go through one reused buffer
//! and allocate nothing.

use std::ffi::{CStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::dir::Dir;
use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::sys;

/// Links followed before a chain counts as a loop (Linux's own limit).
pub const MAX_HOPS: usize = 40;

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
    fn from_statx(st: &nix::libc::statx) -> Self {
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

/// Where a path ends once its symlinks are followed inside the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// An existing object that is not a symlink, at this real path inside the root.
    Found(PathBuf, Meta),
    /// The chain ends at a path that does not exist (or passes through a non-folder).
    Missing(PathBuf),
    /// More than [`MAX_HOPS`] links: a loop.
    Loop,
}

/// The target root, with a cache of what has been looked up inside it.
pub struct Root {
    host: PathBuf,
    lstat_cache: FastMap<OsString, Option<Meta>>,
    /// The NUL-terminated host path of the last call, reused so that a syscall allocates nothing;
    /// its first `prefix` bytes are the root's host path and a slash, kept between calls.
    scratch: Vec<u8>,
    prefix: usize,
}

/// Where a symlink ends, without the path: what discovery needs of 300 applet links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// An object that is not a symlink.
    Found(Meta),
    /// The chain ends at nothing.
    Missing,
    /// More than [`MAX_HOPS`] links.
    Loop,
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
        // a time makes musl's allocator map and unmap memory at every step.
        let mut scratch = Vec::with_capacity(4096);
        scratch.extend_from_slice(host.as_os_str().as_bytes());
        if scratch.last() != Some(&b'/') {
            scratch.push(b'/');
        }
        Ok(Root {
            host,
            lstat_cache: FastMap::with_capacity_and_hasher(1024, Default::default()),
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

    /// Follows every symlink in `rel` inside the root (see the module docs).
    pub fn resolve(&mut self, rel: &Path) -> Result<Resolved> {
        let mut pending = Vec::new();
        push_steps(&mut pending, rel);
        self.walk(PathBuf::new(), pending, 0)
    }

    /// Where the symlink `link` ends (every step of the way is a cached `lstat`).
    pub fn link_end(&mut self, link: &Path) -> Result<End> {
        let target = self.readlink(link)?;
        let mut pending = Vec::new();
        push_steps(&mut pending, &target);
        let start = match (target.has_root(), link.parent()) {
            (false, Some(dir)) => dir.to_path_buf(),
            _ => PathBuf::new(),
        };
        Ok(match self.walk(start, pending, 1)? {
            Resolved::Found(_, m) => End::Found(m),
            Resolved::Missing(_) => End::Missing,
            Resolved::Loop => End::Loop,
        })
    }

    /// Resolves `pending` (a stack, next step last) from the real folder `cur`.
    fn walk(
        &mut self,
        mut cur: PathBuf,
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
                    _ => return Ok(Resolved::Missing(cur)),
                },
                Step::Name(n) => n,
            };
            let next = cur.join(&name);
            match self.lstat(&next)? {
                None => return Ok(Resolved::Missing(next)),
                Some(m) if m.kind == FileKind::Symlink => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Ok(Resolved::Loop);
                    }
                    let target = self.readlink(&next)?;
                    if target.has_root() {
                        cur = PathBuf::new();
                    }
                    push_steps(&mut pending, &target);
                }
                Some(m) => {
                    if m.kind != FileKind::Dir && !pending.is_empty() {
                        return Ok(Resolved::Missing(next));
                    }
                    cur = next;
                }
            }
        }
        match self.lstat(&cur)? {
            Some(m) => Ok(Resolved::Found(cur, m)),
            None => Ok(Resolved::Missing(cur)),
        }
    }

    /// Opens the regular file `rel`, resolved inside the root: its real path, the open file and
    /// its size; `None` when the path ends nowhere inside the root (a link that leaves the root
    /// is followed only as far as the root's own tree goes). Anything but a regular file (a
    /// FIFO, a device, a folder) is an error naming the path. The file is opened without
    /// following a last link and without blocking, and must be the inode the resolution found.
    pub fn open_regular(&mut self, rel: &Path) -> Result<Option<(PathBuf, fs::File, u64)>> {
        let (real, meta) = match self.resolve(rel)? {
            Resolved::Found(real, meta) => (real, meta),
            Resolved::Missing(_) => return Ok(None),
            Resolved::Loop => return Err(Error::input(&self.host(rel), "symlink loop")),
        };
        let host = self.host(&real);
        if meta.kind != FileKind::File {
            return Err(Error::input(&host, "not a regular file"));
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
            .open(&host)
            .map_err(|e| Error::io("cannot open", &host, e))?;
        let opened = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", &host, e))?;
        if !opened.is_file() || (opened.dev(), opened.ino()) != meta.id() {
            return Err(Error::input(&host, "changed while being opened"));
        }
        Ok(Some((real, file, opened.len())))
    }

    /// Reads the regular file `rel` (see [`Root::open_regular`]) whole: its real path and
    /// bytes. A file over `limit` bytes is an error naming the path and the limit.
    pub fn read_regular(&mut self, rel: &Path, limit: u64) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let Some((real, file, len)) = self.open_regular(rel)? else {
            return Ok(None);
        };
        let host = self.host(&real);
        let too_large = || Error::input(&host, &format!("larger than the {limit} bytes read"));
        if len > limit {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read", &host, e))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(Some((real, bytes)))
    }

    /// The first bytes (at most `buf.len()`) of the regular file `rel`; how many were read.
    /// Anything that is not a readable regular file reads as nothing.
    pub fn read_head(&mut self, rel: &Path, buf: &mut [u8]) -> usize {
        match self.open_regular(rel) {
            Ok(Some((_, mut file, _))) => file.read(buf).unwrap_or(0),
            _ => 0,
        }
    }

    /// Resolves the folder part of `rel` but not its last name: the real path of the entry
    /// itself (a symlink stays a symlink). `None` when the folder does not exist.
    pub fn resolve_parent(&mut self, rel: &Path) -> Result<Option<PathBuf>> {
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            return Ok(None);
        };
        match self.resolve(parent)? {
            Resolved::Found(dir, m) if m.kind == FileKind::Dir => Ok(Some(dir.join(name))),
            _ => Ok(None),
        }
    }
}

/// Shows a path inside the root the way a process in the root would name it.
pub fn show(rel: &Path) -> String {
    format!("/{}", rel.display())
}

/// Whether an OS error means "there is nothing there".
pub fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::ENOENT) | Some(nix::libc::ENOTDIR)
    )
}

enum Step {
    Up,
    Name(OsString),
    /// The path so far must be a folder: the path ended in `/` or `/.`.
    Dir,
}

/// Pushes the components of `path` onto the stack so that the first one is popped first.
fn push_steps(stack: &mut Vec<Step>, path: &Path) {
    let mut steps: Vec<Step> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Step::Name(n.to_os_string())),
            Component::ParentDir => Some(Step::Up),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    let bytes = path.as_os_str().as_bytes();
    if bytes.ends_with(b"/") || bytes.ends_with(b"/.") {
        steps.push(Step::Dir);
    }
    stack.extend(steps.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for d in ["bin", "usr/bin", "etc"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        fs::write(t.path().join("bin/busybox"), b"bb").unwrap();
        let root = Root::open(t.path()).unwrap();
        (t, root)
    }

    fn found(r: Resolved) -> PathBuf {
        match r {
            Resolved::Found(p, _) => p,
            other => panic!("expected Found, got {other:?}"),
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
            Some(PathBuf::from("usr/sbin/x"))
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
        let id = |root: &mut Root, p: &str| match root.link_end(Path::new(p)).unwrap() {
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
                root.link_end(Path::new(p)).unwrap(),
                End::Missing,
                "{p} is dead for the kernel (ENOTDIR)"
            );
        }
        assert!(matches!(
            root.resolve(Path::new("etc/dir")).unwrap(),
            Resolved::Found(_, m) if m.kind == FileKind::Dir
        ));
    }

    #[test]
    fn reading_is_confined_to_the_root_and_to_regular_files() {
        let (t, mut root) = tree();
        let outside = tempfile::NamedTempFile::new().unwrap();
        fs::write(outside.path(), b"P:busybox\nF:etc\nR:passwd\n\n").unwrap();
        symlink(outside.path(), t.path().join("etc/abs")).unwrap();
        let up = format!("../../../../../../..{}", outside.path().display());
        symlink(&up, t.path().join("etc/rel")).unwrap();
        for p in ["etc/abs", "etc/rel"] {
            assert_eq!(root.read_regular(Path::new(p), 1 << 20).unwrap(), None);
        }
        nix::unistd::mkfifo(&t.path().join("etc/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = root
            .read_regular(Path::new("etc/fifo"), 1 << 20)
            .unwrap_err();
        assert!(
            e.to_string().ends_with("etc/fifo: not a regular file"),
            "{e}"
        );
        fs::write(t.path().join("etc/big"), vec![b'x'; 100]).unwrap();
        let e = root.read_regular(Path::new("etc/big"), 99).unwrap_err();
        assert!(e.to_string().contains("larger than the 99 bytes"), "{e}");
        let (real, bytes) = root
            .read_regular(Path::new("etc/big"), 100)
            .unwrap()
            .unwrap();
        assert_eq!((real, bytes.len()), (PathBuf::from("etc/big"), 100));
        let mut head = [0u8; 4];
        assert_eq!(root.read_head(Path::new("etc/fifo"), &mut head), 0);
        assert_eq!(root.read_head(Path::new("etc/big"), &mut head), 4);
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
