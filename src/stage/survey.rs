//! The survey: one walk of the whole root ([`walk::regular_files`]) and what it collects for
//! the stages after it: the setuid/setgid and world-writable files (findings of the audit),
//! every regular file with its facts (busybox's hard links and copies, `--prune`'s files no
//! package owns) and the programs (the start check).

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::format::elf;
use crate::root::{Item, walk};
use crate::stage::finding::{Finding, FindingKind};

/// What the walk of the whole root saw.
#[derive(Debug, Default)]
pub struct WholeRoot {
    /// Setuid/setgid files anywhere, world-writable files outside the temp folders.
    pub findings: Vec<Finding>,
    /// Every regular file of the root's filesystem, as a path inside the root with its facts
    /// (for busybox's hard links and copies, `--prune`'s files no package owns).
    pub files: Vec<Item>,
    /// The regular files that may be programs: executable ones, and shared objects by name
    /// (`.so`, `.so.N`, Node.js's `.node`), for the start check.
    pub programs: Vec<PathBuf>,
    /// Folders the walk could not read.
    pub unread: walk::Unread,
}

/// Walks the whole root once ([`walk::regular_files`]): the modes of its regular files and
/// their paths. A folder that cannot be read is passed over and listed. The strip never adds
/// a file nor changes a mode, so this can run beside the removals.
pub fn walk_whole_root(host_root: &Path) -> WholeRoot {
    let mut seen = WholeRoot::default();
    let walked = walk::regular_files(host_root, false, &mut |item| {
        let mode = item.meta.mode & 0o7777;
        if mode & 0o6002 != 0 {
            mode_findings(&mut seen.findings, item.path.to_path_buf(), mode);
        }
        if mode & 0o111 != 0
            || item
                .path
                .file_name()
                .is_some_and(elf::is_shared_object_name)
        {
            seen.programs.push(item.path.to_path_buf());
        }
        seen.files.push(item);
        Ok(())
    });
    match walked {
        Ok(unread) => seen.unread = unread,
        Err(Error::Io { path, source, .. }) => seen.unread.push((path, source)),
        Err(_) => {}
    }
    // No silent blind spot: what the walk could not read is a finding (an error: it fails
    // --check and --strict).
    for (path, e) in &seen.unread {
        seen.findings.push(Finding {
            kind: FindingKind::UnreadableFolder,
            path: path.clone(),
            detail: format!("the walk could not read it ({e}): what it holds is unknown"),
        });
    }
    seen
}

/// What a regular file's mode bits say about it.
fn mode_findings(out: &mut Vec<Finding>, path: PathBuf, mode: u32) {
    let special = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
        (true, true) => Some("setuid and setgid"),
        (true, false) => Some("setuid"),
        (false, true) => Some("setgid"),
        (false, false) => None,
    };
    if let Some(what) = special {
        out.push(Finding {
            kind: FindingKind::Setuid,
            path: path.clone(),
            detail: format!("{what}, mode {mode:o}"),
        });
    }
    if mode & 0o002 != 0 && !path.starts_with("tmp") && !path.starts_with("var/tmp") {
        out.push(Finding {
            kind: FindingKind::WorldWritable,
            path,
            detail: format!("mode {mode:o}"),
        });
    }
}
