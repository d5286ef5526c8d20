//! The start check as the pipeline asks for it: the whole image's programs (those the walk of
//! the whole root found, and the links of the bin folders), the removals named with the
//! packages that owned them, and the `--entrypoint`s: refused when they will not start, and
//! what `--prune` must keep for them.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::apkdb::{self, Installed};
use crate::error::{Error, Result};
use crate::root::{FileKind, Root};
use crate::stage::plan::Step;
use crate::stage::scan::{BIN_DIRS, Listing};
use crate::stage::start::loader::Loader;
use crate::stage::start::locate::Gone;
use crate::stage::start::{Checked, Environment, check, entrypoints, standing};

/// The removals of `steps` (planned or made), each named with the package that owned it when
/// the database says so.
pub fn gone(root: &mut Root, installed: Option<&Installed>, steps: &[Step]) -> Result<Gone> {
    let mut gone = Gone::of(steps);
    if let Some(i) = installed {
        i.each_file(root, &mut |path, package| gone.owned(path, package))?;
    }
    Ok(gone)
}

/// Every program of the image that will not start in `env` once `gone` is removed: `programs`
/// (from the walk of the whole root) and every file and link in the bin folders, links followed
/// inside the root; each with its standing ([`standing::classify`], the scripts' owners from
/// `installed`).
pub fn broken(
    root: &mut Root,
    programs: &[PathBuf],
    gone: &Gone,
    env: &Environment,
    installed: Option<&Installed>,
) -> Result<Checked> {
    let bins = Listing::of(root, &BIN_DIRS)?;
    let mut all = programs.to_vec();
    // The bin folders' own files too: their listing does not depend on the walk.
    for e in &bins.entries {
        if matches!(e.kind, FileKind::Symlink | FileKind::File) {
            all.push(e.path.to_path_buf());
        }
    }
    all.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    all.dedup();
    let mut checked = check(root, &all, gone, env)?;
    standing::classify(root, &mut checked.broken, installed, env)?;
    Ok(checked)
}

/// An `--entrypoint` given without a slash, and where it was found on `PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnPath {
    /// The name given.
    pub name: PathBuf,
    /// The real path inside the root of the first executable regular file of that name in a
    /// folder of `PATH`.
    pub found: PathBuf,
}

/// The `--entrypoint`s as paths inside the root: one without a slash is looked up on `env`'s
/// `PATH` as runc looks up a bare `ENTRYPOINT` (the first folder holding an executable regular
/// file of that name), and said where it was found; one found in no folder stops the run.
pub fn on_path(
    root: &mut Root,
    entrypoints: &[PathBuf],
    env: &Environment,
) -> Result<(Vec<PathBuf>, Vec<OnPath>)> {
    let (mut paths, mut found) = (Vec::new(), Vec::new());
    if entrypoints.is_empty() {
        return Ok((paths, found));
    }
    let mut loader = Loader::of(root, env)?;
    for ep in entrypoints {
        if ep.as_os_str().as_bytes().contains(&b'/') {
            paths.push(ep.clone());
            continue;
        }
        match loader.command(root, ep, &Gone::default())? {
            Ok(f) => {
                paths.push(Path::new("/").join(&f.entry));
                found.push(OnPath {
                    name: ep.clone(),
                    found: f.entry,
                });
            }
            Err(_) => {
                let dirs: Vec<String> = env.path.iter().map(|d| d.display().to_string()).collect();
                return Err(Error::WillNotStart(format!(
                    "{}: the entrypoint is not on PATH ({}): no executable file of that name",
                    ep.display(),
                    dirs.join(":")
                )));
            }
        }
    }
    Ok((paths, found))
}

/// Stops the run when one of `paths` will not start in `env` once `gone` is removed (or does
/// not exist, or is not executable): an error naming the first such program and what it lacks.
/// `strip`: a strip is part of the run (see [`crate::stage::start::Text`]).
pub fn require(
    root: &mut Root,
    paths: &[PathBuf],
    gone: &Gone,
    env: &Environment,
    strip: bool,
) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let (refused, _) = entrypoints(root, paths, gone, env)?;
    let Some(first) = refused.first() else {
        return Ok(());
    };
    let mut line = first.line(strip);
    if refused.len() > 1 {
        let _ = write!(line, " (and {} more entrypoints)", refused.len() - 1);
    }
    Err(Error::WillNotStart(line))
}

/// The packages `--prune` keeps: `keep`, and those owning what `paths` use to start in `env`
/// (their interpreters, `env`'s programs, their libraries), as the tree is now; but for those
/// the strip removes whatever it is told ([`apkdb::BY_DEFINITION`]: an entrypoint that needs
/// one is refused by the start check).
pub fn keep(
    root: &mut Root,
    installed: &Installed,
    keep: &[String],
    paths: &[PathBuf],
    env: &Environment,
) -> Result<Vec<String>> {
    let mut out = keep.to_vec();
    if paths.is_empty() {
        return Ok(out);
    }
    let (_, used) = entrypoints(root, paths, &Gone::default(), env)?;
    installed.each_file(root, &mut |path, package| {
        let removed = apkdb::BY_DEFINITION.contains(&package);
        let package = String::from_utf8_lossy(package);
        if !removed && used.iter().any(|u| u == path) && !out.iter().any(|k| *k == package) {
            out.push(package.into_owned());
        }
    })?;
    Ok(out)
}
