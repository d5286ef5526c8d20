//! The audit: what keeps a root from being distroless, and what a strip leaves behind.
//!
//! Errors (the root is not distroless): busybox binaries and applet links, apk, and any shell in
//! the bin folders. Warnings: dangling symlinks in the bin folders, scripts whose `#!`
//! interpreter is missing in the root, setuid/setgid files anywhere in the root, world-writable
//! files outside /tmp and /var/tmp, every file the apk database lists that is not in the root
//! (naming package and path), and a database that cannot be read or parsed. The whole-root walk stays on the root's filesystem and skips /proc, /sys, /dev.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::apkdb::{self, Source};
use crate::dir::Dir;
use crate::discover::Found;
use crate::error::{Error, Result};
use crate::root::{Kind as FileKind, Resolved, Root};
use crate::scan::Listing;

/// Names of shells, and of busybox builds that carry one.
pub const SHELLS: [&[u8]; 12] = [
    b"sh",
    b"ash",
    b"bash",
    b"dash",
    b"zsh",
    b"ksh",
    b"mksh",
    b"fish",
    b"tcsh",
    b"csh",
    b"busybox-extras",
    b"busybox.static",
];

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Busybox,
    AppletLink,
    Apk,
    Shell,
    DanglingLink,
    MissingInterpreter,
    Setuid,
    WorldWritable,
    StaleApkRecord,
    UnreadableApkDb,
}

impl Kind {
    /// Whether the finding keeps the root from being distroless.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Kind::Busybox | Kind::AppletLink | Kind::Apk | Kind::Shell
        )
    }

    /// The name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Busybox => "busybox",
            Kind::AppletLink => "applet-link",
            Kind::Apk => "apk",
            Kind::Shell => "shell",
            Kind::DanglingLink => "dangling-link",
            Kind::MissingInterpreter => "missing-interpreter",
            Kind::Setuid => "setuid",
            Kind::WorldWritable => "world-writable",
            Kind::StaleApkRecord => "stale-apk-record",
            Kind::UnreadableApkDb => "unreadable-apk-db",
        }
    }
}

/// One thing the audit saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// Path inside the root.
    pub path: PathBuf,
    /// What about it, e.g. the missing interpreter.
    pub detail: String,
}

/// Audits `root`, given the listing of its bin folders, what discovery found there, and what
/// [`walk_modes`] found in the whole root.
pub fn audit(
    root: &mut Root,
    bins: &Listing,
    found: &Found,
    modes: Vec<Finding>,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let mut push = |kind, path: &Path, detail: String| {
        out.push(Finding {
            kind,
            path: path.to_path_buf(),
            detail,
        })
    };
    for (kind, items) in [
        (Kind::Busybox, &found.busybox),
        (Kind::AppletLink, &found.links),
        (Kind::Apk, &found.apk),
    ] {
        for i in items {
            push(kind, &i.path, String::new());
        }
    }
    // A shell that is an applet link is named as a shell too (`/bin/sh`); a busybox build named
    // like a shell (`busybox.static`) is already named as busybox.
    let reported: Vec<&Path> = found.busybox.iter().map(|i| i.path.as_path()).collect();

    for e in &bins.entries {
        match e.kind {
            FileKind::Symlink => match root.resolve(&e.path)? {
                Resolved::Found(end, m) if m.kind == FileKind::File => {
                    if SHELLS.contains(&e.name()) && !reported.contains(&e.path.as_path()) {
                        push(Kind::Shell, &e.path, format!("-> /{}", end.display()));
                    }
                }
                Resolved::Found(..) => {}
                Resolved::Missing(end) => push(
                    Kind::DanglingLink,
                    &e.path,
                    format!("-> /{} (missing)", end.display()),
                ),
                Resolved::Loop => push(Kind::DanglingLink, &e.path, "symlink loop".into()),
            },
            FileKind::File => {
                if SHELLS.contains(&e.name()) && !reported.contains(&e.path.as_path()) {
                    push(Kind::Shell, &e.path, String::new());
                }
                if let Some(interp) = interpreter(root, &e.path) {
                    let present = matches!(
                        root.resolve(&interp)?,
                        Resolved::Found(_, m) if m.kind == FileKind::File
                    );
                    if !present {
                        push(
                            Kind::MissingInterpreter,
                            &e.path,
                            format!("#!{} is missing", interp.display()),
                        );
                    }
                }
            }
            FileKind::Dir | FileKind::Other => {}
        }
    }

    match apkdb::load(root, false) {
        Ok(Source::Read(installed)) => {
            for (p, path) in installed.missing_files(root)? {
                push(
                    Kind::StaleApkRecord,
                    &path,
                    format!("listed by {} {} but missing", p.name, p.version),
                );
            }
        }
        Ok(Source::Absent | Source::Kept) => {}
        // A database scanners cannot read either: said, not fatal to the audit.
        Err(Error::MalformedDb(why)) => {
            push(Kind::UnreadableApkDb, Path::new(apkdb::INSTALLED), why)
        }
        Err(Error::Input { why, .. }) => {
            push(Kind::UnreadableApkDb, Path::new(apkdb::INSTALLED), why)
        }
        Err(e) => push(
            Kind::UnreadableApkDb,
            Path::new(apkdb::INSTALLED),
            e.to_string(),
        ),
    }
    out.extend(modes);
    Ok(out)
}

/// The `#!` interpreter of a script, if the file is one: its first 256 bytes, read confined to
/// the root.
fn interpreter(root: &mut Root, rel: &Path) -> Option<PathBuf> {
    let mut head = [0u8; 256];
    let n = root.read_head(rel, &mut head);
    let rest = head[..n].strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let word = line
        .split(|b| b.is_ascii_whitespace())
        .find(|w| !w.is_empty())?;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(word)))
}

/// Setuid/setgid files anywhere, world-writable files outside the temp folders. The walk stays
/// on the root's filesystem (a mount point's folder has another device) and skips the top-level
/// /proc, /sys and /dev; it reads modes only of regular files (the listing gives the types), so
/// it costs five syscalls per folder and one per file. A folder it cannot read is passed over.
/// It needs nothing but the root's host path, so that it can run on a second thread while the
/// strip removes (which never adds a file, nor changes a mode).
pub fn walk_modes(host_root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut dev = None;
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let Ok(c) = CString::new(host_root.join(&dir).into_os_string().into_vec()) else {
            continue;
        };
        let Ok(d) = Dir::open(&c) else { continue };
        let Ok(st) = d.stat() else { continue };
        if *dev.get_or_insert(st.st_dev) != st.st_dev {
            continue;
        }
        let top = dir.as_os_str().is_empty();
        let _ = d.for_each(|cname, kind| {
            let name = OsStr::from_bytes(cname.to_bytes());
            match kind {
                FileKind::Dir if !(top && VIRTUAL.contains(&cname.to_bytes())) => {
                    pending.push(dir.join(name))
                }
                FileKind::File => {
                    let mode = d.stat_at(cname).map_or(0, |st| st.st_mode & 0o7777);
                    if mode & 0o6002 != 0 {
                        mode_findings(&mut out, dir.join(name), mode);
                    }
                }
                _ => {}
            }
            Ok(())
        });
    }
    out
}

/// Top-level folders of virtual filesystems the walk never enters.
const VIRTUAL: [&[u8]; 3] = [b"proc", b"sys", b"dev"];

/// Whether a top-level name is one of the virtual filesystems' folders.
pub fn is_virtual(name: &OsStr) -> bool {
    VIRTUAL.contains(&name.as_bytes())
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
            kind: Kind::Setuid,
            path: path.clone(),
            detail: format!("{what}, mode {mode:o}"),
        });
    }
    if mode & 0o002 != 0 && !path.starts_with("tmp") && !path.starts_with("var/tmp") {
        out.push(Finding {
            kind: Kind::WorldWritable,
            path,
            detail: format!("mode {mode:o}"),
        });
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::discover;
    use crate::scan::BIN_DIRS;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn run(p: &Path) -> Vec<(Kind, String)> {
        let mut root = Root::open(p).unwrap();
        let bins = Listing::of(&mut root, &BIN_DIRS).unwrap();
        let found = discover(&mut root, &bins).unwrap();
        let modes = walk_modes(root.host_root());
        let mut v: Vec<(Kind, String)> = audit(&mut root, &bins, &found, modes)
            .unwrap()
            .into_iter()
            .map(|f| (f.kind, f.path.display().to_string()))
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    }

    #[test]
    fn shells_scripts_links_and_modes_are_found() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        for d in ["bin", "usr/bin", "usr/local/bin", "tmp", "etc"] {
            fs::create_dir_all(p.join(d)).unwrap();
        }
        fs::write(p.join("bin/bash"), b"\x7fELF").unwrap();
        symlink("bash", p.join("bin/sh")).unwrap();
        fs::write(p.join("usr/bin/zsh"), b"\x7fELF").unwrap();
        fs::write(p.join("usr/bin/ldd"), b"#!/bin/ash\nexec x\n").unwrap();
        fs::write(p.join("usr/bin/ok"), b"#! /bin/bash -e\n").unwrap();
        symlink("/usr/bin/gone", p.join("usr/local/bin/dangle")).unwrap();
        fs::write(p.join("usr/bin/su"), b"").unwrap();
        fs::set_permissions(p.join("usr/bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::write(p.join("etc/open"), b"").unwrap();
        fs::set_permissions(p.join("etc/open"), fs::Permissions::from_mode(0o666)).unwrap();
        fs::write(p.join("tmp/scratch"), b"").unwrap();
        fs::set_permissions(p.join("tmp/scratch"), fs::Permissions::from_mode(0o666)).unwrap();

        let got = run(p);
        assert_eq!(
            got,
            vec![
                (Kind::Shell, "bin/bash".into()),
                (Kind::Shell, "bin/sh".into()),
                (Kind::WorldWritable, "etc/open".into()),
                (Kind::MissingInterpreter, "usr/bin/ldd".into()),
                (Kind::Setuid, "usr/bin/su".into()),
                (Kind::Shell, "usr/bin/zsh".into()),
                (Kind::DanglingLink, "usr/local/bin/dangle".into()),
            ]
        );
        assert!(got.iter().filter(|(k, _)| k.is_error()).count() == 3);
    }

    #[test]
    fn a_clean_tree_has_no_findings() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("usr/bin")).unwrap();
        fs::write(t.path().join("usr/bin/app"), b"\x7fELF").unwrap();
        symlink("app", t.path().join("usr/bin/app-link")).unwrap();
        assert_eq!(run(t.path()), vec![]);
    }
}
