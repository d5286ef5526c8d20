//! The audit: what keeps a root from being distroless, and what a strip leaves behind.
//!
//! Errors (the root is not distroless): busybox binaries (their hard links and copies too) and
//! applet links, another busybox build (an executable ELF file no staying package owns that
//! carries busybox's banner), apk, and any shell: in the bin folders by its name or the name
//! it links to ([`is_shell_name`]: `bash-static`, `rmksh` too), anywhere by the words it
//! carries ([`shell::shell_in`]: another build of bash or mksh under any name). Warnings: dangling
//! symlinks in the bin folders, programs that will not start (their findings come from
//! [`crate::stage::start`]), setuid/setgid files anywhere in the root, world-writable files
//! outside /tmp and /var/tmp, every file the apk database lists that is not in the root (naming
//! package and path), and a database that cannot be read or parsed. The modes come from the
//! walk of the whole root ([`crate::root::walk`]), which sees the root's own filesystem and nothing mounted
//! into it.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::apkdb;
use crate::error::Result;
use crate::format::{busybox, shell};
use crate::root::resolve::Resolved;
use crate::root::{FileKind, InRoot, Item, PathSet, Root};
use crate::stage::discover::Found;
use crate::stage::finding::{Finding, FindingKind};
use crate::stage::scan::{Entry, Listing};

/// Names of shells, and of busybox builds that carry one.
pub const SHELLS: [&[u8]; 21] = [
    b"sh",
    b"ash",
    b"bash",
    b"dash",
    b"zsh",
    b"ksh",
    b"mksh",
    b"lksh",
    b"pdksh",
    b"oksh",
    b"loksh",
    b"yash",
    b"posh",
    b"hush",
    b"fish",
    b"tcsh",
    b"csh",
    b"nu",
    b"elvish",
    b"busybox-extras",
    b"busybox.static",
];

/// Whether `name` is a shell's: one of [`SHELLS`], or one with `-static`/`.static` after it
/// (`bash-static`, `mksh-static`), or `r` before it (the restricted `rbash`, `rmksh`, `rlksh`;
/// not `rsh`, the remote shell).
pub fn is_shell_name(name: &[u8]) -> bool {
    let base = name
        .strip_suffix(b"-static")
        .or_else(|| name.strip_suffix(b".static"))
        .unwrap_or(name);
    let restricted = base.strip_prefix(b"r").filter(|b| b.len() > 2);
    SHELLS.contains(&base) || restricted.is_some_and(|b| SHELLS.contains(&b))
}

/// Audits `root`, given the listing of its bin folders, what discovery found there, and what
/// [`crate::stage::survey::walk_whole_root`] found in the whole root: the findings of the modes and the regular files
/// (another busybox build is looked for among them).
pub fn audit(
    root: &mut Root,
    bins: &Listing,
    found: &Found,
    from_walk: Vec<Finding>,
    files: &[Item],
) -> Result<Vec<Finding>> {
    let mut out = discovered(found);
    // A shell that is an applet link is named as a shell too (`/bin/sh`); a busybox build named
    // like a shell (`busybox.static`) is already named as busybox.
    let mut reported = PathSet::default();
    for i in &found.busybox {
        reported.insert(i.path.as_os_str());
    }
    for e in &bins.entries {
        out.extend(bin_entry(root, e, &reported)?);
    }
    let staying = database(root, &mut out)?;
    let mut owned = PathSet::default();
    for p in &staying {
        owned.insert(p.as_os_str());
    }
    // A shell named by its name is not named again by its words.
    let by_name: Vec<PathBuf> = out
        .iter()
        .filter(|f| f.kind == FindingKind::Shell)
        .map(|f| f.path.clone())
        .collect();
    for p in &by_name {
        reported.insert(p.as_os_str());
    }
    out.extend(other_builds(root, files, &reported, &owned));
    out.extend(from_walk);
    Ok(out)
}

/// What discovery found: busybox, its applet links, apk.
fn discovered(found: &Found) -> Vec<Finding> {
    let mut out = Vec::new();
    for (kind, items) in [
        (FindingKind::Busybox, &found.busybox),
        (FindingKind::AppletLink, &found.links),
        (FindingKind::Apk, &found.apk),
    ] {
        for i in items {
            out.push(Finding {
                kind,
                path: i.path.to_path_buf(),
                detail: String::new(),
            });
        }
    }
    out
}

/// The finding of one entry of a bin folder, if any: a shell by its name or the name its link
/// ends at ([`is_shell_name`]) not `reported` as busybox already, or a dangling link.
fn bin_entry(root: &mut Root, e: &Entry, reported: &PathSet) -> Result<Option<Finding>> {
    let fresh = !reported.contains(e.path.as_os_str());
    let shell = is_shell_name(e.name()) && fresh;
    let (kind, detail) = match e.kind {
        FileKind::Symlink => match root.resolve(&e.path)? {
            Resolved::Found(end, m)
                if m.kind == FileKind::File && (shell || fresh && is_shell_name(end.name())) =>
            {
                (FindingKind::Shell, format!("-> /{}", end.display()))
            }
            Resolved::Found(..) => return Ok(None),
            Resolved::Missing(end) => (
                FindingKind::DanglingLink,
                format!("-> /{} (missing)", end.display()),
            ),
            Resolved::Loop => (FindingKind::DanglingLink, "symlink loop".into()),
        },
        FileKind::File if shell => (FindingKind::Shell, String::new()),
        FileKind::File | FileKind::Dir | FileKind::Other => return Ok(None),
    };
    Ok(Some(Finding {
        kind,
        path: e.path.to_path_buf(),
        detail,
    }))
}

/// The apk database's findings, added to `out`: every file it lists that is not in the root,
/// or the database itself when it cannot be read (said, not fatal to the audit: scanners cannot
/// read it either). Returns the files of the packages that stay.
fn database(root: &mut Root, out: &mut Vec<Finding>) -> Result<Vec<InRoot>> {
    let db = Path::new(apkdb::Location::of(root)?.installed());
    match apkdb::load(root) {
        Ok(Some(installed)) => {
            for (p, path) in installed.missing_files(root)? {
                out.push(Finding {
                    kind: FindingKind::StaleApkRecord,
                    path,
                    detail: format!("listed by {} {} but missing", p.name, p.version),
                });
            }
            installed.staying_files(root)
        }
        Ok(None) => Ok(Vec::new()),
        Err(e) => {
            out.push(Finding {
                kind: FindingKind::UnreadableApkDb,
                path: db.to_path_buf(),
                detail: e.reason(),
            });
            Ok(Vec::new())
        }
    }
}

/// Other busybox builds and other shells: executable ELF files no staying package owns
/// (`owned`, real paths) that carry busybox's banner or a shell's words, but for those already
/// named (`named`; both sets of paths by their bytes), each a finding. Only such files are
/// opened, and only when at most [`busybox::MAX_READ`] bytes long; one that is gone is passed
/// over.
fn other_builds(root: &mut Root, files: &[Item], named: &PathSet, owned: &PathSet) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in files {
        let candidate = f.meta.mode & 0o111 != 0 && f.meta.size <= busybox::MAX_READ;
        if !candidate || named.contains(f.path.as_os_str()) || owned.contains(f.path.as_os_str()) {
            continue;
        }
        if let Ok(Some(o)) = root.open_regular(&f.path) {
            let mut magic = [0u8; 4];
            if o.file.read_exact_at(&mut magic, 0).is_err() || &magic != b"\x7fELF" {
                continue;
            }
            let (kind, detail) = if busybox::has_banner(&o.file, o.len) {
                let what = "another busybox build (its banner), owned by no package";
                (FindingKind::Busybox, what.to_string())
            } else if let Some(name) = shell::shell_in(&o.file, o.len) {
                let what = format!("a build of {name} (its own words), owned by no package");
                (FindingKind::Shell, what)
            } else {
                continue;
            };
            let path = f.path.to_path_buf();
            out.push(Finding { kind, path, detail });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::discover::discover;
    use crate::stage::scan::BIN_DIRS;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn run(p: &Path) -> Vec<(FindingKind, String)> {
        let mut root = Root::open(p).unwrap();
        let bins = Listing::of(&mut root, &BIN_DIRS).unwrap();
        let whole = crate::stage::survey::walk_whole_root(root.host_root());
        let found = discover(&mut root, &bins, &whole).unwrap();
        let from_walk = whole.findings.clone();
        let mut v: Vec<(FindingKind, String)> =
            audit(&mut root, &bins, &found, from_walk, &whole.files)
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
                (FindingKind::Shell, "bin/bash".into()),
                (FindingKind::Shell, "bin/sh".into()),
                (FindingKind::WorldWritable, "etc/open".into()),
                (FindingKind::Setuid, "usr/bin/su".into()),
                (FindingKind::Shell, "usr/bin/zsh".into()),
                (FindingKind::DanglingLink, "usr/local/bin/dangle".into()),
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
