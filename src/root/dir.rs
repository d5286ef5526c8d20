//! Reading a folder: one `openat2` (or `openat`) confined to the root, `getdents64` into a
//! stack buffer, one `close`. Each entry comes as an [`InRoot`] path: a listing is one of the
//! two things (with the resolver) that make such paths.
//!
//! `std::fs::read_dir` goes through musl's `opendir`, which adds an `fcntl` and a heap buffer of
//! 2 KiB per folder (so, for a bin folder of 300 links, five `getdents64` calls instead of one;
//! under musl's own allocator each buffer also cost an `mmap`/`munmap` pair, which the binary's
//! bump allocator, `os/alloc.rs`, no longer makes). The entries come with their type from the kernel
//! (`d_type`), so a listing needs no `lstat` per entry; where the filesystem does not give the
//! type, one `fstatat` relative to the open folder does.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use nix::libc;
use nix::sys::stat::{FileStat, fstatat};

use crate::os::sys;
use crate::root::meta::FileKind;
use crate::root::path::InRoot;

/// Bytes of entries read per `getdents64` call: a 300-link bin folder in one call.
const BUF: usize = 16 * 1024;

/// An open folder of the root (see [`crate::root::Root::open_dir`]).
pub struct Dir {
    fd: OwnedFd,
    path: InRoot,
}

impl Dir {
    /// The folder open as `fd`, at the real path `path` inside the root.
    pub(super) fn new(fd: OwnedFd, path: InRoot) -> Dir {
        Dir { fd, path }
    }

    /// The folder's descriptor, for calls relative to it.
    pub(super) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// `lstat` of the entry `name` of this folder.
    pub fn stat_at(&self, name: &CStr) -> io::Result<FileStat> {
        Ok(fstatat(
            self.fd.as_fd(),
            name,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )?)
    }

    /// Calls `f` with the path and kind of every entry but `.` and `..`, in the folder's order.
    pub fn for_each(&self, mut f: impl FnMut(InRoot, FileKind)) -> io::Result<()> {
        let mut buf = [0u8; BUF];
        loop {
            let n = sys::getdents64(self.fd.as_fd(), &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            let mut records = buf.get(..n).unwrap_or_default();
            while !records.is_empty() {
                let (name, d_type, len) = record(records)?;
                if name != c"." && name != c".." {
                    let kind = match d_type {
                        libc::DT_UNKNOWN => self.kind_of(name)?,
                        t => kind_of_dtype(t),
                    };
                    f(self.path.child(name.to_bytes()), kind);
                }
                records = records.get(len..).unwrap_or_default();
            }
        }
    }

    fn kind_of(&self, name: &CStr) -> io::Result<FileKind> {
        Ok(FileKind::of_mode(self.stat_at(name)?.st_mode))
    }
}

/// Splits off one `linux_dirent64` record: `u64 ino, i64 off, u16 reclen, u8 type, name\0`.
fn record(b: &[u8]) -> io::Result<(&CStr, u8, usize)> {
    let bad = || io::Error::from_raw_os_error(libc::EIO);
    let len = match b.get(16..18) {
        Some(&[lo, hi]) => usize::from(u16::from_ne_bytes([lo, hi])),
        _ => return Err(bad()),
    };
    let d_type = *b.get(18).ok_or_else(bad)?;
    let name = b.get(19..len).ok_or_else(bad)?;
    let name = CStr::from_bytes_until_nul(name).map_err(|_| bad())?;
    Ok((name, d_type, len))
}

fn kind_of_dtype(t: u8) -> FileKind {
    match t {
        libc::DT_DIR => FileKind::Dir,
        libc::DT_REG => FileKind::File,
        libc::DT_LNK => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::root::Root;
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
        open(p)
            .for_each(|e, k| {
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
    fn a_folder_larger_than_the_buffer_is_read_whole() {
        let t = tempfile::tempdir().unwrap();
        let n = 3 * BUF / 24;
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

    #[test]
    fn a_short_or_broken_record_is_an_error_not_a_panic() {
        for b in [&[0u8; 10][..], &[0u8; 18][..]] {
            assert_eq!(record(b).unwrap_err().raw_os_error(), Some(libc::EIO));
        }
        // reclen 24 but no NUL in the name
        let mut r = [b'x'; 24];
        r[16..18].copy_from_slice(&24u16.to_ne_bytes());
        assert!(record(&r).is_err());
        r[20] = 0;
        let (name, _, len) = record(&r).unwrap();
        assert_eq!((name.to_bytes(), len), (&b"x"[..], 24));
    }
}
