//! How much a program that will not start matters to the user ([`Standing`]): what `--strict`
//! fails on and what the report names one line a program. A program the user starts (in a bin
//! folder, a folder of `PATH`, at the root) and any ELF object whose libraries would not load
//! stay warnings. Two kinds of scripts become notes: a script apk installed whose `#!` shell or
//! `env` is not in the image (no shell is the point of a distroless image: musl-utils' `ldd`
//! and `ldconfig` can never run there), and a script inside a library tree, which nobody starts
//! by path (CPython's `base64.py`, npm's helpers), named by its tree.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::apkdb::Installed;
use crate::error::Result;
use crate::root::resolve::Resolved;
use crate::root::{PathSet, Root};
use crate::stage::audit::is_shell_name;
use crate::stage::scan::BIN_DIRS;
use crate::stage::start::{Broken, Environment, Piece, Standing};

/// Folders that hold library trees rather than being one: a script's tree is the first folder
/// below them (`usr/local/lib/python3.11`, `usr/lib/node_modules`).
const PREFIXES: [&[u8]; 8] = [
    b"usr", b"local", b"lib", b"lib64", b"lib32", b"libexec", b"share", b"opt",
];

/// Gives each of `broken` its standing, in `env` (whose `PATH` folders are started from), with
/// the packages of `installed` owning the scripts.
pub fn classify(
    root: &mut Root,
    broken: &mut [Broken],
    installed: Option<&Installed>,
    env: &Environment,
) -> Result<()> {
    if broken.iter().all(|b| !is_script(b)) {
        return Ok(());
    }
    let mut started = vec![PathBuf::new()];
    for dir in BIN_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(env.path.iter().cloned())
    {
        let rel = dir.strip_prefix("/").unwrap_or(&dir).to_path_buf();
        if let Resolved::Found(real, _) = root.resolve(&rel)? {
            started.push(real.as_path().to_path_buf());
        }
    }
    // The owners of the scripts' real paths, from the database.
    let real = |b: &Broken| b.target.clone().unwrap_or_else(|| b.program.clone());
    let scripts: Vec<PathBuf> = broken.iter().filter(|b| is_script(b)).map(real).collect();
    let mut wanted = PathSet::with_capacity(scripts.len());
    for s in &scripts {
        wanted.insert(s.as_os_str());
    }
    let mut owners: Vec<(PathBuf, String)> = Vec::new();
    if let Some(i) = installed {
        i.each_file(root, &mut |path, package| {
            if wanted.contains(path.as_os_str()) {
                let package = String::from_utf8_lossy(package).into_owned();
                owners.push((path.to_path_buf(), package));
            }
        })?;
    }
    for b in broken.iter_mut().filter(|b| is_script(b)) {
        let real = real(b);
        let owner = owners
            .iter()
            .find(|(p, _)| *p == real)
            .map(|(_, o)| o.clone());
        let dir = b.program.parent().unwrap_or(Path::new(""));
        b.standing = match owner {
            Some(package) if needs_only_a_shell(b) => Standing::Packaged(package),
            _ if started.iter().any(|s| s == dir) => Standing::Started,
            _ => Standing::InTree(tree(&b.program)),
        };
    }
    Ok(())
}

/// Whether every piece `b` lacks is a script's: its `#!` interpreter or `env`'s program.
fn is_script(b: &Broken) -> bool {
    b.missing
        .iter()
        .all(|m| matches!(m.piece, Piece::Interpreter(_) | Piece::Command { .. }))
}

/// Whether every piece `b` lacks is a shell or `env` as its `#!` interpreter, or the program
/// `env` starts: what no distroless image has.
fn needs_only_a_shell(b: &Broken) -> bool {
    b.missing.iter().all(|m| match &m.piece {
        Piece::Interpreter(p) => {
            let name = p.file_name().map(OsStr::as_bytes).unwrap_or_default();
            name == b"env" || is_shell_name(name)
        }
        Piece::Command { .. } => true,
        Piece::Loader(_) | Piece::Library { .. } => false,
    })
}

/// The library tree a script lies in: its path up to the first folder below the
/// [`PREFIXES`] (`usr/local/lib/python3.11/json/tool.py` is in `usr/local/lib/python3.11`);
/// a script directly in such a folder is in that folder.
pub fn tree(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut out = PathBuf::new();
    for c in dir.iter() {
        out.push(c);
        if !PREFIXES.contains(&c.as_bytes()) {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripts_tree_is_the_first_folder_below_the_prefixes() {
        for (path, want) in [
            (
                "usr/local/lib/python3.11/json/tool.py",
                "usr/local/lib/python3.11",
            ),
            (
                "usr/local/lib/python3.11/base64.py",
                "usr/local/lib/python3.11",
            ),
            (
                "usr/lib/node_modules/npm/bin/npx-cli.js",
                "usr/lib/node_modules",
            ),
            ("app/node_modules/.bin/x", "app"),
            ("etc/ssl/misc/CA.pl", "etc"),
            ("usr/share/x.sh", "usr/share"),
            ("opt/tool/lib/run.sh", "opt/tool"),
        ] {
            assert_eq!(tree(Path::new(path)), PathBuf::from(want), "{path}");
        }
    }
}
