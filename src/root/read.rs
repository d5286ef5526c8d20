//! Reading files inside the root: resolved inside it ([`crate::root::resolve`]), regular files
//! only (a FIFO or a device is refused before any open, never waited on nor woken), opened
//! confined to the root ([`crate::root::open`]: `openat2` with `RESOLVE_IN_ROOT`, or a walk one
//! folder at a time) without following a last link and without blocking, checked to be the
//! inode the resolution found, and read with a limit.
//!
//! The resolver runs first in both ways of confining: it gives the real path the database is
//! later replaced at, and the kind of the file before it is opened (opening a device can have
//! effects, which no check after the open undoes). The kernel then keeps the open itself inside
//! the root even if the tree changed since.

use std::fs;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::fcntl::OFlag;

use crate::error::{Error, Result};
use crate::root::resolve::Resolved;
use crate::root::{FileKind, InRoot, Root, open};

/// A regular file of the root, open for reading.
#[derive(Debug)]
pub struct Opened {
    /// Its real path inside the root.
    pub path: InRoot,
    /// The open file.
    pub file: fs::File,
    /// Its size in bytes, when opened.
    pub len: u64,
}

/// Reads `file` from where it stands to its end, but to no more than `limit + 1` bytes (so that
/// the caller can tell a file over `limit`), appending to `bytes`. When the room reserved is
/// full, a 32-byte read tells the end from more to come before the buffer grows (a file read
/// into a buffer of its own size is not copied). What `Read::take` and `read_to_end` do, in
/// 384 bytes less on ppc64le. Errors: `read`'s, but `EINTR`, which is tried again.
pub fn read_up_to(mut file: &fs::File, limit: u64, bytes: &mut Vec<u8>) -> io::Result<()> {
    let more = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let cap = bytes.len().saturating_add(more);
    let mut probe = [0u8; 32];
    while bytes.len() < cap {
        let left = cap - bytes.len();
        let read = if bytes.len() == bytes.capacity() {
            let want = probe.len().min(left);
            file.read(&mut probe[..want]).inspect(|&n| {
                bytes.extend_from_slice(&probe[..n]);
            })
        } else {
            let start = bytes.len();
            let room = (bytes.capacity() - start).min(left);
            bytes.resize(start + room, 0);
            let read = file.read(&mut bytes[start..]);
            bytes.truncate(start + *read.as_ref().unwrap_or(&0));
            read
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Root {
    /// Opens the regular file `rel`, resolved inside the root; `None` when the path ends
    /// nowhere inside the root (a link that leaves the root is followed only as far as the
    /// root's own tree goes). Anything but a regular file (a FIFO, a device, a folder) is an
    /// error naming the path, and is never opened. The file is opened confined to the root,
    /// without following a last link and without blocking, and must be the inode the
    /// resolution found.
    pub fn open_regular(&mut self, rel: &Path) -> Result<Option<Opened>> {
        let (real, meta) = match self.resolve(rel)? {
            Resolved::Found(real, meta) => (real, meta),
            Resolved::Missing(_) => return Ok(None),
            Resolved::Loop => return Err(Error::input(&self.host(rel), "symlink loop")),
        };
        let host = self.host(&real);
        if meta.kind != FileKind::File {
            return Err(Error::input(&host, "not a regular file"));
        }
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        let fd = open::open_reading(self.fd.as_fd(), &mut self.confine, &real, flags)
            .map_err(|e| Error::io("cannot open", &host, e))?;
        let file = fs::File::from(fd);
        let opened = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", &host, e))?;
        if !opened.is_file() || (opened.dev(), opened.ino()) != meta.id() {
            return Err(Error::input(&host, "changed while being opened"));
        }
        Ok(Some(Opened {
            path: real,
            file,
            len: opened.len(),
        }))
    }

    /// Reads the regular file `rel` (see [`Root::open_regular`]) whole: its real path and
    /// bytes. A file over `limit` bytes is an error naming the path and the limit.
    pub fn read_regular(&mut self, rel: &Path, limit: u64) -> Result<Option<(InRoot, Vec<u8>)>> {
        let Some(Opened { path, file, len }) = self.open_regular(rel)? else {
            return Ok(None);
        };
        let host = self.host(&path);
        let too_large = || Error::input(&host, &format!("larger than the {limit} bytes read"));
        if len > limit {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        read_up_to(&file, limit, &mut bytes).map_err(|e| Error::io("cannot read", &host, e))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(Some((path, bytes)))
    }

    /// The first bytes (at most `buf.len()`) of the regular file `rel`; how many were read.
    /// Anything that is not a readable regular file reads as nothing.
    pub fn read_head(&mut self, rel: &Path, buf: &mut [u8]) -> usize {
        match self.open_regular(rel) {
            Ok(Some(mut o)) => o.file.read(buf).unwrap_or(0),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::tests::tree;
    use std::os::unix::fs::symlink;

    /// Runs `check` on a fresh tree confined by the kernel, then on one confined by the walk.
    fn both_ways(check: impl Fn(&tempfile::TempDir, &mut Root)) {
        for walk in [false, true] {
            let (t, mut root) = tree();
            if walk {
                root.confine_by_walk();
            }
            check(&t, &mut root);
        }
    }

    #[test]
    fn reading_is_confined_to_the_root_and_to_regular_files() {
        both_ways(|t, root| {
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
            assert_eq!((real, bytes.len()), (InRoot::unchecked("etc/big"), 100));
            symlink("../../etc/big", t.path().join("usr/bin/big")).unwrap();
            let (real, _) = root
                .read_regular(Path::new("usr/bin/big"), 100)
                .unwrap()
                .unwrap();
            assert_eq!(
                real,
                InRoot::unchecked("etc/big"),
                "a last link is followed inside"
            );
            let mut head = [0u8; 4];
            assert_eq!(root.read_head(Path::new("etc/fifo"), &mut head), 0);
            assert_eq!(root.read_head(Path::new("etc/big"), &mut head), 4);
        });
    }

    #[test]
    fn a_file_or_folder_swapped_after_resolution_is_refused_both_ways() {
        both_ways(|t, root| {
            fs::write(t.path().join("etc/db"), b"inside").unwrap();
            assert!(
                root.read_regular(Path::new("etc/db"), 100)
                    .unwrap()
                    .is_some()
            );
            // The file replaced by another one (another inode) since it was resolved.
            fs::write(t.path().join("etc/db.new"), b"swapped").unwrap();
            fs::rename(t.path().join("etc/db.new"), t.path().join("etc/db")).unwrap();
            let e = root.read_regular(Path::new("etc/db"), 100).unwrap_err();
            assert!(
                e.to_string()
                    .ends_with("etc/db: changed while being opened"),
                "{e}"
            );
            // The file replaced by a symlink to a file outside.
            let outside = tempfile::tempdir().unwrap();
            fs::write(outside.path().join("db"), b"outside").unwrap();
            fs::remove_file(t.path().join("etc/db")).unwrap();
            symlink(outside.path().join("db"), t.path().join("etc/db")).unwrap();
            let e = root.read_regular(Path::new("etc/db"), 100).unwrap_err();
            assert!(e.to_string().contains("etc/db: cannot open"), "{e}");
            assert!(e.to_string().contains("os error 40"), "ELOOP: {e}");
            // The folder replaced by a symlink to a folder outside holding the same name.
            fs::rename(t.path().join("etc"), t.path().join("etc.old")).unwrap();
            symlink(outside.path(), t.path().join("etc")).unwrap();
            let e = root.read_regular(Path::new("etc/db"), 100).unwrap_err();
            assert!(e.to_string().contains("os error 40"), "ELOOP: {e}");
        });
    }

    #[test]
    fn read_up_to_stops_one_byte_past_the_limit_and_keeps_every_byte() {
        let t = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 31, 32, 33, 100, 4096, 70_000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let p = t.path().join(format!("f{len}"));
            fs::write(&p, &bytes).unwrap();
            for limit in [0u64, 1, 32, 99, 100, 5000, 1 << 20] {
                // Room reserved for none, part and all of the file, as the callers do.
                for cap in [0, len / 2, len] {
                    let file = fs::File::open(&p).unwrap();
                    let mut got = Vec::with_capacity(cap);
                    read_up_to(&file, limit, &mut got).unwrap();
                    let want = len.min(limit as usize + 1);
                    assert_eq!(got, bytes[..want], "len {len} limit {limit} cap {cap}");
                }
            }
        }
        // Appends to what the buffer held.
        let file = fs::File::open(t.path().join("f33")).unwrap();
        let mut got = b"head".to_vec();
        read_up_to(&file, 10, &mut got).unwrap();
        assert_eq!(got.len(), 4 + 11);
        assert_eq!(&got[..4], b"head");
    }
}
