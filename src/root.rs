//! The target root and path resolution confined to it.
//!
//! Every path the tool looks at is a path *inside* the root, kept relative (`usr/bin/ls`) and
//! shown with a leading slash. Symlinks are resolved here the way the kernel would resolve them
//! for a process chrooted at the root: absolute targets start again at the root, `..` never
//! climbs above it, and a chain longer than [`MAX_HOPS`] links is a loop. Nothing outside the
//! root is ever looked at. `lstat` and `readlink` answers are cached, so resolving 300 links to
//! the same busybox costs one `readlink` each and nothing more.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

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

/// The `lstat` facts the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub size: u64,
    pub mode: u32,
}

impl Meta {
    fn from_std(m: &fs::Metadata) -> Self {
        let ft = m.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Meta {
            kind,
            dev: m.dev(),
            ino: m.ino(),
            nlink: m.nlink(),
            size: m.size(),
            mode: m.mode(),
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
    lstat_cache: HashMap<PathBuf, Option<Meta>>,
    link_cache: HashMap<PathBuf, PathBuf>,
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
        Ok(Root {
            host,
            lstat_cache: HashMap::new(),
            link_cache: HashMap::new(),
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
        if let Some(m) = self.lstat_cache.get(rel) {
            return Ok(*m);
        }
        let host = self.host(rel);
        let meta = match fs::symlink_metadata(&host) {
            Ok(m) => Some(Meta::from_std(&m)),
            Err(e) if is_absent(&e) => None,
            Err(e) => return Err(Error::io("cannot stat", &host, e)),
        };
        self.lstat_cache.insert(rel.to_path_buf(), meta);
        Ok(meta)
    }

    /// Records what a directory listing already told about `rel`, saving an `lstat`.
    pub fn remember(&mut self, rel: &Path, meta: Meta) {
        self.lstat_cache.insert(rel.to_path_buf(), Some(meta));
    }

    /// The target of the symlink `rel`, cached.
    pub fn readlink(&mut self, rel: &Path) -> Result<PathBuf> {
        if let Some(t) = self.link_cache.get(rel) {
            return Ok(t.clone());
        }
        let host = self.host(rel);
        let target = fs::read_link(&host).map_err(|e| Error::io("cannot read link", &host, e))?;
        self.link_cache.insert(rel.to_path_buf(), target.clone());
        Ok(target)
    }

    /// Follows every symlink in `rel` inside the root (see the module docs).
    pub fn resolve(&mut self, rel: &Path) -> Result<Resolved> {
        let mut pending: Vec<Step> = Vec::new();
        push_steps(&mut pending, rel);
        let mut cur = PathBuf::new();
        let mut hops = 0;
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
