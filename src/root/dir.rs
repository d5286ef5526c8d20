//! Reading a folder: one `openat2` (or `openat`) confined to the root, then nix's [`nix::dir`]
//! (musl's `fdopendir` and `readdir`). Each entry comes as an [`InRoot`] path: a listing is one
//! of the two things (with the resolver) that make such paths. The entries come with their type
//! from the kernel (`d_type`), so a listing needs no `lstat` per entry; where the filesystem
//! does not give the type, one `fstatat` relative to the open folder does.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use nix::dir::Type;
use nix::sys::stat::{FileStat, fstatat};

use crate::root::meta::FileKind;
use crate::root::path::InRoot;

/// An open folder of the root (see [`crate::root::Root::open_dir`]).
pub struct Dir {
    dir: nix::dir::Dir,
    path: InRoot,
}

impl Dir {
    /// The folder open as `fd`, at the real path `path` inside the root. Errors: `fdopendir`'s
    /// (`ENOMEM`; `ENOTDIR` if `fd` is not a folder).
    pub(super) fn new(fd: OwnedFd, path: InRoot) -> io::Result<Dir> {
        let dir = nix::dir::Dir::from_fd(fd)?;
        Ok(Dir { dir, path })
    }

    /// The folder's descriptor, for calls relative to it.
    pub(super) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// `lstat` of the entry `name` of this folder.
    pub fn stat_at(&self, name: &CStr) -> io::Result<FileStat> {
        Ok(fstatat(
            self.dir.as_fd(),
            name,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )?)
    }

    /// Calls `f` with the path and kind of every entry but `.` and `..`, in the folder's order
    /// (those whose type the filesystem does not give last, each after an `fstatat`).
    pub fn for_each(&mut self, f: impl FnMut(InRoot, FileKind)) -> io::Result<()> {
        self.for_each_of(|_| true, f)
    }

    /// [`Dir::for_each`] of the entries whose kind `keep` keeps (no path is made for the
    /// others).
    pub fn for_each_of(
        &mut self,
        keep: impl Fn(FileKind) -> bool,
        mut f: impl FnMut(InRoot, FileKind),
    ) -> io::Result<()> {
        let mut untyped: Vec<CString> = Vec::new();
        let mut entries = self.dir.iter();
        for entry in &mut entries {
            let entry = entry?;
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            match entry.file_type().map(kind_of_type) {
                Some(kind) if keep(kind) => f(self.path.child(name.to_bytes()), kind),
                Some(_) => {}
                None => untyped.push(name.to_owned()),
            }
        }
        // A folder is listed once: nix's iterator would rewind it when dropped (`rewinddir`,
        // one `lseek` a folder), so it is forgotten instead (it holds no resource of its own).
        std::mem::forget(entries);
        for name in untyped {
            let kind = self.kind_of(&name)?;
            if keep(kind) {
                f(self.path.child(name.to_bytes()), kind);
            }
        }
        Ok(())
    }

    fn kind_of(&self, name: &CStr) -> io::Result<FileKind> {
        Ok(FileKind::of_mode(self.stat_at(name)?.st_mode))
    }
}

fn kind_of_type(t: Type) -> FileKind {
    match t {
        Type::Directory => FileKind::Dir,
        Type::File => FileKind::File,
        Type::Symlink => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::root::Root;
    use nix::libc;
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    /// The root folder `p` itself, open.
    fn open(p: &Path) -> Dir {
        Root::open(p).unwrap().open_dir(&InRoot::top()).unwrap()
    }

    fn list(p: &Path) -> Vec<(Vec<u8>, FileKind)> {
        let mut v = Vec::new();
        let mut dir = open(p);
        dir.for_each(|e, k| {
            assert_eq!(e.parent(), Some(InRoot::top()));
            v.push((e.name().to_vec(), k));
        })
        .unwrap();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// A folder holding a file `f`, a folder `d` and a symlink `l -> f`.
    fn one_of_each() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("f"), b"").unwrap();
        fs::create_dir(t.path().join("d")).unwrap();
        symlink("f", t.path().join("l")).unwrap();
        t
    }

    #[test]
    fn entries_come_with_their_kind_and_without_dots() {
        let t = one_of_each();
        let odd = std::ffi::OsStr::from_bytes(b"n\n\"\xff");
        fs::write(t.path().join(odd), b"").unwrap();
        assert_eq!(
            list(t.path()),
            vec![
                (b"d".to_vec(), FileKind::Dir),
                (b"f".to_vec(), FileKind::File),
                (b"l".to_vec(), FileKind::Symlink),
                (b"n\n\"\xff".to_vec(), FileKind::File),
            ]
        );
    }

    #[test]
    fn a_folder_larger_than_a_read_is_read_whole() {
        let t = tempfile::tempdir().unwrap();
        let n = 3 * 16 * 1024 / 24;
        for i in 0..n {
            symlink("/bin/busybox", t.path().join(format!("applet-{i:05}"))).unwrap();
        }
        let got = list(t.path());
        assert_eq!(got.len(), n);
        assert!(got.iter().all(|(_, k)| *k == FileKind::Symlink));
        assert_eq!(got[n - 1].0, format!("applet-{:05}", n - 1).into_bytes());
    }

    #[test]
    fn a_symlink_to_a_folder_is_not_opened() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("real")).unwrap();
        symlink("real", t.path().join("link")).unwrap();
        let mut root = Root::open(t.path()).unwrap();
        let errno = |e: Error| match e {
            Error::Io { source, .. } => source.raw_os_error(),
            other => panic!("{other}"),
        };
        for walk in [false, true] {
            if walk {
                root.confine_by_walk();
            }
            let e = root.open_dir(&InRoot::unchecked("link")).err().unwrap();
            assert_eq!(errno(e), Some(libc::ELOOP));
            let e = root.open_dir(&InRoot::unchecked("gone")).err().unwrap();
            assert_eq!(errno(e), Some(libc::ENOENT));
        }
    }

    #[test]
    fn stat_at_does_not_follow_links() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("f"), b"abc").unwrap();
        symlink("f", t.path().join("l")).unwrap();
        let d = open(t.path());
        assert_eq!(d.stat_at(c"f").unwrap().st_size, 3);
        assert_eq!(
            FileKind::of_mode(d.stat_at(c"l").unwrap().st_mode),
            FileKind::Symlink
        );
    }

    #[test]
    fn without_a_type_from_the_filesystem_the_kind_comes_from_fstatat() {
        let t = one_of_each();
        let d = open(t.path());
        assert_eq!(d.kind_of(c"f").unwrap(), FileKind::File);
        assert_eq!(d.kind_of(c"d").unwrap(), FileKind::Dir);
        assert_eq!(d.kind_of(c"l").unwrap(), FileKind::Symlink);
        assert_eq!(
            d.kind_of(c"gone").unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
    }
}
