//! The command line: options, `--help` and `--version`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// What the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The root to strip or check (`--root`, `/` by default).
    pub root: PathBuf,
    /// `--dry-run`: plan, change nothing.
    pub dry_run: bool,
    /// `--force`: strip `/` without a sign of a container build.
    pub force: bool,
    /// `--check`: audit only.
    pub check: bool,
    /// `--strict`: any finding fails the run.
    pub strict: bool,
    /// `--json`: the report on stdout as JSON.
    pub json: bool,
    /// `--keep-apk-db`: leave the database and world alone.
    pub keep_apk_db: bool,
    /// `--no-audit`: no audit after the strip.
    pub no_audit: bool,
    /// `--verbose`: every path.
    pub verbose: bool,
    /// `--quiet`: nothing on success.
    pub quiet: bool,
    /// `--prune`: the packages only what the strip removes needed go too.
    pub prune: bool,
    /// `--keep NAME`: packages `--prune` keeps, with their dependencies.
    pub keep: Vec<String>,
    /// `--entrypoint PATH`: programs the image must still be able to start (paths inside the
    /// root).
    pub entrypoints: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root: PathBuf::from("/"),
            dry_run: false,
            force: false,
            check: false,
            strict: false,
            json: false,
            keep_apk_db: false,
            no_audit: false,
            verbose: false,
            quiet: false,
            prune: false,
            keep: Vec::new(),
            entrypoints: Vec::new(),
        }
    }
}

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Strip, dry-run or check, with these options.
    Run(Options),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// The `--help` text.
pub const HELP: &str = "\
alpine-strip: make an Alpine root distroless (no busybox, no shell, no apk), then remove itself.

Usage: /strip [OPTIONS]          (as the last RUN step of an image build: RUN [\"/strip\"])

Options:
  --root DIR      strip (or check) the tree at DIR instead of /
  -n, --dry-run   print the plan, change nothing
  --check         audit only: exit 4 unless the root is distroless; change nothing
  --strict        exit 4 when the audit warns (dangling links, missing #! interpreters, ...)
  --json          print the report as one JSON document on stdout
  --prune         also remove the packages only busybox and apk needed (OpenSSL, zlib, ...),
                  as `apk del` would; without it the report names them in a note
  --keep NAME     with --prune: keep package NAME and its dependencies (repeatable)
  --entrypoint PATH  a program the image must still start (repeatable): checked before
                  anything is removed, exit 4 if the strip would break it; --prune keeps
                  what it needs
  --keep-apk-db   leave /lib/apk/db/installed and /etc/apk/world alone
  --no-audit      skip the audit after the strip
  --force         strip / even where no container build is detected
  -v, --verbose   list every path
  -q, --quiet     print nothing on success
  -h, --help      print this help
  -V, --version   print the version

Exit status: 0 stripped (or already stripped, or distroless), 1 a filesystem operation failed,
2 bad usage, 3 refused to strip / outside a container, 4 audit failed (or an --entrypoint would
not start: nothing removed), 5 stripped but the apk
database is malformed and was left untouched.
";

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if let Some(dir) = arg.as_bytes().strip_prefix(b"--root=") {
            o.root = root_dir(OsStr::from_bytes(dir))?;
            continue;
        }
        if let Some(name) = arg.as_bytes().strip_prefix(b"--keep=") {
            o.keep
                .push(package(Some(OsStr::from_bytes(name).to_owned()))?);
            continue;
        }
        if let Some(path) = arg.as_bytes().strip_prefix(b"--entrypoint=") {
            o.entrypoints.push(entrypoint(OsStr::from_bytes(path))?);
            continue;
        }
        let Some(s) = arg.to_str() else {
            return Err(usage(&arg.to_string_lossy()));
        };
        match s {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-n" | "--dry-run" => o.dry_run = true,
            "--force" => o.force = true,
            "--check" => o.check = true,
            "--strict" => o.strict = true,
            "--json" => o.json = true,
            "--keep-apk-db" => o.keep_apk_db = true,
            "--no-audit" => o.no_audit = true,
            "-v" | "--verbose" => o.verbose = true,
            "-q" | "--quiet" => o.quiet = true,
            "--root" => o.root = root_dir(&args.next().unwrap_or_default())?,
            "--prune" => o.prune = true,
            "--keep" => o.keep.push(package(args.next())?),
            "--entrypoint" => o
                .entrypoints
                .push(entrypoint(&args.next().unwrap_or_default())?),
            _ => return Err(usage(s)),
        }
    }
    if o.verbose && o.quiet {
        return Err(Error::Usage("-v and -q exclude each other".into()));
    }
    Ok(Command::Run(o))
}

/// The folder of `--root`; an empty one is a usage error, not a path.
fn root_dir(dir: &OsStr) -> Result<PathBuf> {
    if dir.is_empty() {
        return Err(Error::Usage("--root needs a folder".into()));
    }
    Ok(PathBuf::from(dir))
}

/// The path of `--entrypoint`, inside the root; an empty one is a usage error.
fn entrypoint(path: &OsStr) -> Result<PathBuf> {
    if path.is_empty() {
        return Err(Error::Usage("--entrypoint needs a path".into()));
    }
    Ok(PathBuf::from(path))
}

/// The package name of `--keep`: not empty, UTF-8 (Alpine's names are ASCII).
fn package(name: Option<OsString>) -> Result<String> {
    match name.as_deref().and_then(OsStr::to_str) {
        Some(n) if !n.is_empty() => Ok(n.to_string()),
        _ => Err(Error::Usage("--keep needs a package name".into())),
    }
}

/// Whether the arguments ask for JSON, read even when they cannot be parsed.
pub fn wants_json(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "--json")
}

fn usage(arg: &str) -> Error {
    Error::Usage(format!("unknown option \"{arg}\" (see --help)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn no_arguments_strip_slash() {
        assert_eq!(p(&[]).unwrap(), Command::Run(Options::default()));
    }

    #[test]
    fn options_are_read_in_both_spellings() {
        let Command::Run(o) = p(&["--root", "/x", "-n", "--json", "-v"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.root, PathBuf::from("/x"));
        assert!(o.dry_run && o.json && o.verbose && !o.force);
        let Command::Run(o) = p(&["--root=/y", "--check", "--strict"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.root, PathBuf::from("/y"));
        assert!(o.check && o.strict);
        let Command::Run(o) = p(&["--prune", "--keep", "python3", "--keep=tzdata"]).unwrap() else {
            panic!()
        };
        assert!(o.prune);
        assert_eq!(o.keep, ["python3", "tzdata"]);
        assert!(matches!(p(&["--keep"]), Err(Error::Usage(_))));
        let Command::Run(o) = p(&["--entrypoint", "/a.sh", "--entrypoint=/usr/bin/b"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(o.entrypoints, [PathBuf::from("/a.sh"), "/usr/bin/b".into()]);
        assert!(matches!(p(&["--entrypoint"]), Err(Error::Usage(_))));
    }

    #[test]
    fn bad_usage_is_an_error() {
        assert!(matches!(p(&["--frobnicate"]), Err(Error::Usage(_))));
        assert!(matches!(p(&["--root"]), Err(Error::Usage(_))));
        assert!(matches!(p(&["-v", "-q"]), Err(Error::Usage(_))));
        assert!(matches!(p(&["--root", ""]), Err(Error::Usage(_))));
        assert!(matches!(p(&["--root="]), Err(Error::Usage(_))));
        assert_eq!(p(&["--help", "--bogus"]).unwrap(), Command::Help);
    }

    #[test]
    fn a_root_that_is_not_utf8_is_read_in_both_spellings() {
        use std::os::unix::ffi::OsStringExt;
        let dir = OsString::from_vec(b"/tmp/\xff".to_vec());
        let mut eq = OsString::from("--root=");
        eq.push(&dir);
        for args in [vec![OsString::from("--root"), dir.clone()], vec![eq]] {
            let Command::Run(o) = parse(args).unwrap() else {
                panic!()
            };
            assert_eq!(o.root.as_os_str(), dir);
        }
    }
}
