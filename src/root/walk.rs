//! The walk of the whole root, by walkdir: every entry on the root's own filesystem (a
//! filesystem mounted inside, such as a build cache, is not entered), never the top-level
//! /proc, /sys or /dev. The audit reads the modes of regular files from it and discovery looks
//! there for busybox's hard links outside the bin folders; it needs nothing but the root's host
//! path, so the audit's walk can run on a second thread beside the removals.
//!
//! This is the one reading of the root that goes by its host path rather than by the root's
//! descriptor: walkdir cannot start from a descriptor. It only lists and reads modes (walkdir
//! follows no symlink), and what it yields is an [`InRoot`] path relative to the root, so a
//! file it finds is removed or opened only through [`crate::root::Root`], by its descriptor.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use walkdir::{DirEntry, WalkDir};

use crate::error::{Error, Result};
use crate::root::InRoot;

/// Top-level folders of virtual filesystems the walk never enters.
const VIRTUAL: [&[u8]; 3] = [b"proc", b"sys", b"dev"];

/// Every entry below `host_root` (not the root itself), folders before their contents.
fn entries(host_root: &Path) -> impl Iterator<Item = walkdir::Result<DirEntry>> {
    WalkDir::new(host_root)
        .min_depth(1)
        .same_file_system(true)
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && is_virtual(e.file_name())))
}

/// Calls `each` with the path inside the root and the entry of every regular file below
/// `host_root`. A folder that cannot be read is an error naming it when `strict`, else it is
/// passed over.
pub fn regular_files(
    host_root: &Path,
    strict: bool,
    each: &mut dyn FnMut(InRoot, &DirEntry) -> Result<()>,
) -> Result<()> {
    for entry in entries(host_root) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if strict => return Err(error(host_root, e)),
            Err(_) => continue,
        };
        if !entry.file_type().is_file() {
            continue;
        }
        if let Some(rel) = entry
            .path()
            .strip_prefix(host_root)
            .ok()
            .and_then(InRoot::listed)
        {
            each(rel, &entry)?;
        }
    }
    Ok(())
}

/// A walkdir error as this crate's error, with the path and the OS error.
fn error(host_root: &Path, e: walkdir::Error) -> Error {
    let path = e.path().unwrap_or(host_root).to_path_buf();
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::from_raw_os_error(nix::libc::ELOOP));
    Error::io("cannot walk", &path, source)
}

fn is_virtual(name: &OsStr) -> bool {
    VIRTUAL.contains(&name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn the_walk_skips_the_virtual_folders_at_the_top_only() {
        let t = tempfile::tempdir().unwrap();
        for d in ["proc/1", "dev", "usr/share/proc", "etc"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        fs::write(t.path().join("proc/1/status"), b"").unwrap();
        fs::write(t.path().join("usr/share/proc/x"), b"").unwrap();
        let mut seen: Vec<String> = entries(t.path())
            .map(|e| {
                let e = e.unwrap();
                e.path()
                    .strip_prefix(t.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                "etc",
                "usr",
                "usr/share",
                "usr/share/proc",
                "usr/share/proc/x"
            ]
        );
    }
}
