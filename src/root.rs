//! The target root and path resolution confined to it.
//!
//! Every path the tool looks at is a path *inside* the root, kept relative (`usr/bin/ls`) and
//! shown with a leading slash. Symlinks are resolved here the way the kernel would resolve them
//! for a process chrooted at the root: absolute targets start again at the root, `..` never
//! climbs above it, and a chain longer than [`MAX_HOPS`] links is a loop. Nothing outside the
//! root is ever looked at. `lstat` answers are cached and so is where each absolute link target
//! ends, so resolving 300 links to `/bin/busybox` costs one `readlink` each and nothing more;
//! syscalls on paths go through one reused buffer and allocate nothing.

use std::ffi::{CStr, OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::dir::Dir;
use crate::error::{Error, Result};
use crate::hash::FastMap;

/// Links followed before a chain counts as a loop (Linux's own limit).
pub const MAX_HOPS: usize = 40;

/// What kind of filesystem object a path is, without following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

impl Kind {
    /// The kind an `st_mode` names.
    pub fn of_mode(mode: u32) -> Kind {
        match mode & nix::libc::S_IFMT {
            nix::libc::S_IFLNK => Kind::Symlink,
            nix::libc::S_IFDIR => Kind::Dir,
            nix::libc::S_IFREG => Kind::File,
            _ => Kind::Other,
        }
    }
}

/// The `lstat` facts the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub size: u64,
    pub mode: u32,
    /// Immutable or append-only (`chattr +i`/`+a`): not even root can unlink it.
    pub pinned: bool,
}

impl Meta {
    fn from_statx(st: &nix::libc::statx) -> Self {
        let pinned = (nix::libc::STATX_ATTR_IMMUTABLE | nix::libc::STATX_ATTR_APPEND) as u64;
        let mode = u32::from(st.stx_mode);
        Meta {
            kind: Kind::of_mode(mode),
            dev: nix::libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
            nlink: u64::from(st.stx_nlink),
            size: st.stx_size,
            mode,
            pinned: st.stx_attributes & pinned != 0,
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
    /// Where each absolute link target ends: 300 links to `/bin/busybox` resolve it once.
    end_cache: FastMap<OsString, End>,
    /// The NUL-terminated host path of the last call, reused so that a syscall allocates nothing;
    /// its first `prefix` bytes are the root's host path and a slash, kept between calls.
    scratch: Vec<u8>,
    prefix: usize,
}

/// Where a symlink ends, without the path: what discovery needs of 300 applet links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Found(Meta),
    Missing,
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
            end_cache: FastMap::default(),
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
        let meta = match lstatx(self.c_host(rel)?) {
            Ok(st) => Some(Meta::from_statx(&st)),
            Err(e) if is_absent(&e) => None,
            Err(e) => return Err(Error::io("cannot stat", &self.host(rel), e)),
        };
        self.lstat_cache.insert(rel.as_os_str().to_owned(), meta);
        Ok(meta)
    }

    /// Removes the file or symlink `rel` (`unlink(2)`), allocating nothing.
    pub fn unlink(&mut self, rel: &Path) -> io::Result<()> {
        nix::unistd::unlink(self.c_host(rel).map_err(io_of)?).map_err(io::Error::from)
    }

    /// The host path of `rel` as a C string in the reused buffer.
    fn c_host(&mut self, rel: &Path) -> Result<&CStr> {
        self.scratch.truncate(self.prefix);
        self.scratch.extend_from_slice(rel.as_os_str().as_bytes());
        self.scratch.push(0);
        CStr::from_bytes_with_nul(&self.scratch).map_err(|_| {
            Error::io(
                "path holds a NUL byte",
                &self.host.join(rel),
                io::Error::from_raw_os_error(nix::libc::EINVAL),
            )
        })
    }

    /// Opens the folder `rel` (not following a last symlink) to list it.
    pub fn open_dir(&mut self, rel: &Path) -> Result<Dir> {
        Dir::open(self.c_host(rel)?).map_err(|e| Error::io("cannot list", &self.host(rel), e))
    }

    /// Records that a directory listing saw a symlink at `rel`, saving an `lstat`: a symlink's
    /// own inode, size and links matter to nothing here (it frees no file's bytes).
    pub fn remember_symlink(&mut self, rel: &Path) {
        let meta = Meta {
            kind: Kind::Symlink,
            dev: 0,
            ino: 0,
            nlink: 1,
            size: 0,
            mode: 0o120777,
            pinned: false,
        };
        self.lstat_cache
            .insert(rel.as_os_str().to_owned(), Some(meta));
    }

    /// The target of the symlink `rel`.
    pub fn readlink(&mut self, rel: &Path) -> Result<PathBuf> {
        let c = self.c_host(rel)?;
        read_link(c).map_err(|e| Error::io("cannot read link", &self.host(rel), e))
    }

    /// Follows every symlink in `rel` inside the root (see the module docs).
    pub fn resolve(&mut self, rel: &Path) -> Result<Resolved> {
        let mut pending = Vec::new();
        push_steps(&mut pending, rel);
        self.walk(PathBuf::new(), pending, 0)
    }

    /// Where the symlink `link` ends. Absolute targets are resolved once and remembered.
    pub fn link_end(&mut self, link: &Path) -> Result<End> {
        let target = self.readlink(link)?;
        if let Some(end) = self.end_cache.get(target.as_os_str()) {
            return Ok(*end);
        }
        let mut pending = Vec::new();
        push_steps(&mut pending, &target);
        let start = match (target.has_root(), link.parent()) {
            (false, Some(dir)) => dir.to_path_buf(),
            _ => PathBuf::new(),
        };
        let end = match self.walk(start, pending, 1)? {
            Resolved::Found(_, m) => End::Found(m),
            Resolved::Missing(_) => End::Missing,
            Resolved::Loop => End::Loop,
        };
        if target.has_root() {
            self.end_cache.insert(target.into_os_string(), end);
        }
        Ok(end)
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
                Step::Name(n) => n,
            };
            let next = cur.join(&name);
            match self.lstat(&next)? {
                None => return Ok(Resolved::Missing(next)),
                Some(m) if m.kind == Kind::Symlink => {
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
                    if m.kind != Kind::Dir && !pending.is_empty() {
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

    /// Reads the regular file `rel`, resolved inside the root, at most `limit` bytes: its real
    /// path and bytes, `None` when the path ends nowhere inside the root (a link that leaves the
    /// root is followed only as far as the root's own tree goes). Anything but a regular file
    /// (a FIFO, a device, a folder) or a file over the limit is an error naming the path; the
    /// file is opened without following a last link and without blocking, and must be the
    /// inode the resolution found.
    pub fn read_regular(&mut self, rel: &Path, limit: u64) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let (real, meta) = match self.resolve(rel)? {
            Resolved::Found(real, meta) => (real, meta),
            Resolved::Missing(_) => return Ok(None),
            Resolved::Loop => return Err(Error::input(&self.host(rel), "symlink loop")),
        };
        let host = self.host(&real);
        if meta.kind != Kind::File {
            return Err(Error::input(&host, "not a regular file"));
        }
        let mut file = fs::OpenOptions::new()
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
        if opened.len() > limit {
            return Err(Error::input(
                &host,
                &format!("larger than the {limit} bytes this tool reads"),
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(opened.len()).unwrap_or(0));
        (&mut file)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read", &host, e))?;
        if bytes.len() as u64 > limit {
            return Err(Error::input(
                &host,
                &format!("larger than the {limit} bytes this tool reads"),
            ));
        }
        Ok(Some((real, bytes)))
    }

    /// Resolves the folder part of `rel` but not its last name: the real path of the entry
    /// itself (a symlink stays a symlink). `None` when the folder does not exist.
    pub fn resolve_parent(&mut self, rel: &Path) -> Result<Option<PathBuf>> {
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            return Ok(None);
        };
        match self.resolve(parent)? {
            Resolved::Found(dir, m) if m.kind == Kind::Dir => Ok(Some(dir.join(name))),
            _ => Ok(None),
        }
    }
}

/// `statx(2)` of a path, not following a last symlink: `lstat` plus the file's attributes
/// (musl falls back to `fstatat` on kernels without statx; the attributes then read as none).
fn lstatx(c: &CStr) -> io::Result<nix::libc::statx> {
    let mut st = std::mem::MaybeUninit::<nix::libc::statx>::uninit();
    // SAFETY: `c` is NUL-terminated and `st` is writable for one `statx`, which the call fills
    // on success (return 0) and leaves unread otherwise.
    let rc = unsafe {
        nix::libc::statx(
            nix::libc::AT_FDCWD,
            c.as_ptr(),
            nix::libc::AT_SYMLINK_NOFOLLOW,
            nix::libc::STATX_BASIC_STATS,
            st.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statx returned 0, so it wrote the struct.
    Ok(unsafe { st.assume_init() })
}

/// `readlink(2)` into a stack buffer. `std::fs::read_link` grows and then shrinks a heap buffer
/// for every link, which makes musl's allocator map and unmap memory once per link: two extra
/// syscalls for each of hundreds of applet links.
fn read_link(c: &CStr) -> io::Result<PathBuf> {
    let mut buf = [0u8; 4096];
    // SAFETY: `c` is a NUL-terminated path and `buf` is writable for `buf.len()` bytes;
    // readlink writes at most that many and returns how many it wrote, or -1.
    let n = unsafe { nix::libc::readlink(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if n == buf.len() {
        return Err(io::Error::from_raw_os_error(nix::libc::ENAMETOOLONG));
    }
    Ok(PathBuf::from(OsStr::from_bytes(&buf[..n])))
}

fn io_of(e: Error) -> io::Error {
    match e {
        Error::Io { source, .. } => source,
        other => io::Error::other(other.to_string()),
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
}

/// Pushes the components of `path` onto the stack so that the first one is popped first.
fn push_steps(stack: &mut Vec<Step>, path: &Path) {
    let steps: Vec<Step> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Step::Name(n.to_os_string())),
            Component::ParentDir => Some(Step::Up),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
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
    fn link_ends_are_remembered_for_absolute_targets_only() {
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
