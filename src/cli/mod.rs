//! The command line: reads the arguments into the settings of [`crate::options`] (a [`Mode`]
//! with its settings, not a set of bools), `--help` and `--version`. A flag another one makes
//! meaningless is a usage error naming both, never ignored. `--help`, README.md's options table
//! and the man page are made from one table of options and [`crate::error::Exit`]'s table.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::options::{
    Audit, Check, DbMode, ImageEnv, Mode, Options, Prune, Run, Strip, SyncPolicy, Verbosity,
};

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

mod usage;
pub use usage::{help, man, markdown};

/// Every option that is not `--help` or `--version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Root,
    DryRun,
    Check,
    Strict,
    Json,
    Prune,
    Keep,
    KeepApkDb,
    NoAudit,
    Force,
    Entrypoint,
    Env,
    Sync,
    Verbose,
    Quiet,
}

/// One row of `--help`: the flag, its short letter, its value's name, what it does.
struct Row {
    flag: Flag,
    long: &'static str,
    short: Option<char>,
    value: Option<&'static str>,
    help: &'static str,
}

const fn row(
    flag: Flag,
    long: &'static str,
    short: Option<char>,
    value: Option<&'static str>,
    help: &'static str,
) -> Row {
    Row {
        flag,
        long,
        short,
        value,
        help,
    }
}

/// The options, in `--help`'s order.
const ROWS: [Row; 15] = [
    row(
        Flag::Root,
        "root",
        None,
        Some("DIR"),
        "strip (or check) the tree at DIR instead of /",
    ),
    row(
        Flag::DryRun,
        "dry-run",
        Some('n'),
        None,
        "print the plan, change nothing",
    ),
    row(
        Flag::Check,
        "check",
        None,
        None,
        "audit only: exit 4 unless the root is distroless; change nothing",
    ),
    row(
        Flag::Strict,
        "strict",
        None,
        None,
        "exit 4 on any audit error or warning (a shell left, a program that will not\n\
         start, dangling links, ...); notes (apk's own shell scripts, library scripts)\n\
         do not count: a stock Alpine passes",
    ),
    row(
        Flag::Json,
        "json",
        None,
        None,
        "print the report as one JSON document on stdout",
    ),
    row(
        Flag::Prune,
        "prune",
        None,
        None,
        "also remove the packages only busybox and apk needed (OpenSSL, zlib, ...),\n\
         as `apk del` would; without it the report names them in a note",
    ),
    row(
        Flag::Keep,
        "keep",
        None,
        Some("NAME"),
        "with --prune: keep package NAME and its dependencies (repeatable)",
    ),
    row(
        Flag::KeepApkDb,
        "keep-apk-db",
        None,
        None,
        "leave /lib/apk/db/installed, /etc/apk/world, triggers and scripts alone",
    ),
    row(
        Flag::NoAudit,
        "no-audit",
        None,
        None,
        "skip the audit after the strip",
    ),
    row(
        Flag::Force,
        "force",
        None,
        None,
        "strip / even where no container build is detected",
    ),
    row(
        Flag::Entrypoint,
        "entrypoint",
        None,
        Some("PATH"),
        "a program the image starts, inside the root; a name without a slash is\n\
         looked up on the image's PATH, as runc does (repeatable)",
    ),
    row(
        Flag::Env,
        "env",
        None,
        Some("NAME=VALUE"),
        "the image's ENV where its programs start: PATH, LD_LIBRARY_PATH (repeatable;\n\
         under --root as `docker inspect` shows it; on / the tool's own is the image's)",
    ),
    row(
        Flag::Sync,
        "sync",
        None,
        None,
        "fsync the new apk database before the removals even in a container build\n\
         or under --root (by default, as apk: only when stripping the host's own /)",
    ),
    row(Flag::Verbose, "verbose", Some('v'), None, "list every path"),
    row(
        Flag::Quiet,
        "quiet",
        Some('q'),
        None,
        "print nothing on success",
    ),
];

/// Pairs of flags of which one makes the other meaningless: a usage error naming both.
const EXCLUDE: [(Flag, Flag, &str); 14] = [
    (Flag::Check, Flag::DryRun, "--check changes nothing"),
    (Flag::Check, Flag::Force, "--check changes nothing"),
    (Flag::Check, Flag::Prune, "--check removes nothing"),
    (Flag::Check, Flag::Keep, "--check removes nothing"),
    (Flag::Check, Flag::KeepApkDb, "--check writes nothing"),
    (Flag::Check, Flag::NoAudit, "--check is the audit"),
    (Flag::Check, Flag::Sync, "--check writes nothing"),
    (Flag::DryRun, Flag::Sync, "a dry run writes nothing"),
    (
        Flag::KeepApkDb,
        Flag::Sync,
        "--sync is about the new apk database",
    ),
    (Flag::DryRun, Flag::Force, "a dry run strips nothing"),
    (Flag::DryRun, Flag::Strict, "a dry run does not audit"),
    (Flag::NoAudit, Flag::Strict, "--strict is about the audit"),
    (
        Flag::Prune,
        Flag::KeepApkDb,
        "--prune needs the apk database",
    ),
    (Flag::Verbose, Flag::Quiet, "say more or say less"),
];

fn long(flag: Flag) -> &'static str {
    ROWS.iter().find(|r| r.flag == flag).map_or("", |r| r.long)
}

/// What the arguments set, before it becomes a mode.
#[derive(Default)]
struct Seen {
    flags: Vec<Flag>,
    root: Option<PathBuf>,
    keep: Vec<String>,
    entrypoints: Vec<PathBuf>,
    env: ImageEnv,
}

impl Seen {
    fn has(&self, f: Flag) -> bool {
        self.flags.contains(&f)
    }

    fn set(&mut self, f: Flag, value: Option<OsString>) -> Result<()> {
        match f {
            Flag::Root if self.root.is_some() => {
                return Err(Error::Usage("--root is given twice".into()));
            }
            Flag::Root => self.root = Some(nonempty(f, value)?.into()),
            Flag::Keep => self.keep.push(package(value)?),
            Flag::Entrypoint => self.entrypoints.push(nonempty(f, value)?.into()),
            Flag::Env => {
                let value = value.unwrap_or_default();
                let bytes = value.as_bytes();
                let at = bytes.iter().position(|&b| b == b'=').filter(|&at| at > 0);
                let Some(at) = at else {
                    return Err(Error::Usage("--env needs NAME=VALUE".into()));
                };
                let set = Some(OsStr::from_bytes(&bytes[at + 1..]).to_os_string());
                match &bytes[..at] {
                    b"PATH" => self.env.path = set,
                    b"LD_LIBRARY_PATH" => self.env.library_path = set,
                    _ => {}
                }
            }
            _ => {}
        }
        if !self.has(f) {
            self.flags.push(f);
        }
        Ok(())
    }

    fn into_options(self) -> Result<Options> {
        for (a, b, why) in EXCLUDE {
            if self.has(a) && self.has(b) {
                return Err(Error::Usage(format!(
                    "--{} and --{} exclude each other ({why})",
                    long(a),
                    long(b)
                )));
            }
        }
        if self.has(Flag::Keep) && !self.has(Flag::Prune) {
            return Err(Error::Usage(
                "--keep needs --prune (it names what --prune keeps)".into(),
            ));
        }
        if self.has(Flag::Env) && self.has(Flag::NoAudit) && self.entrypoints.is_empty() {
            return Err(Error::Usage(
                "--env needs the audit or an --entrypoint (--no-audit: no program is checked)"
                    .into(),
            ));
        }
        let strict = self.has(Flag::Strict);
        let verbosity = if self.has(Flag::Verbose) {
            Verbosity::Verbose
        } else if self.has(Flag::Quiet) {
            Verbosity::Quiet
        } else {
            Verbosity::Normal
        };
        let json = self.has(Flag::Json);
        let mode = if self.has(Flag::Check) {
            Mode::Check(Check { strict })
        } else {
            Mode::Strip(Strip {
                run: if self.has(Flag::DryRun) {
                    Run::DryRun
                } else {
                    Run::Apply {
                        force: self.has(Flag::Force),
                    }
                },
                db: if self.has(Flag::KeepApkDb) {
                    DbMode::Keep
                } else if self.has(Flag::Sync) {
                    DbMode::Update {
                        sync: SyncPolicy::Always,
                    }
                } else {
                    DbMode::Update {
                        sync: SyncPolicy::Auto,
                    }
                },
                audit: if self.has(Flag::NoAudit) {
                    Audit::Off
                } else {
                    Audit::On { strict }
                },
                prune: self.has(Flag::Prune).then_some(Prune { keep: self.keep }),
            })
        };
        Ok(Options {
            root: self.root.unwrap_or_else(|| PathBuf::from("/")),
            mode,
            verbosity,
            json,
            entrypoints: self.entrypoints,
            env: self.env,
        })
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command> {
    let mut seen = Seen::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if bytes == b"-h" || bytes == b"--help" {
            return Ok(Command::Help);
        }
        if bytes == b"-V" || bytes == b"--version" {
            return Ok(Command::Version);
        }
        if let Some(name) = bytes.strip_prefix(b"--") {
            // `--flag` or `--flag=value`.
            let (name, inline) = match name.iter().position(|&b| b == b'=') {
                Some(i) => (
                    &name[..i],
                    Some(OsStr::from_bytes(&name[i + 1..]).to_owned()),
                ),
                None => (name, None),
            };
            let Some(r) = ROWS.iter().find(|r| r.long.as_bytes() == name) else {
                return Err(unknown(&arg));
            };
            let value = match (r.value, inline) {
                (Some(_), Some(v)) => Some(v),
                (Some(_), None) => args.next(),
                (None, Some(_)) => {
                    return Err(Error::Usage(format!("--{} takes no value", r.long)));
                }
                (None, None) => None,
            };
            seen.set(r.flag, value)?;
        } else if let Some(letters) = bytes.strip_prefix(b"-").filter(|l| !l.is_empty()) {
            // Short flags combine: `-nv`, `-qn`.
            for &l in letters {
                if l == b'h' {
                    return Ok(Command::Help);
                }
                if l == b'V' {
                    return Ok(Command::Version);
                }
                let Some(r) = ROWS.iter().find(|r| r.short == Some(char::from(l))) else {
                    return Err(unknown(&arg));
                };
                seen.set(r.flag, None)?;
            }
        } else {
            return Err(unknown(&arg));
        }
    }
    seen.into_options().map(Command::Run)
}

/// The value of `--root` or `--entrypoint`: present and not empty.
fn nonempty(flag: Flag, value: Option<OsString>) -> Result<OsString> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => {
            let what = if flag == Flag::Root {
                "a folder"
            } else {
                "a path"
            };
            Err(Error::Usage(format!("--{} needs {what}", long(flag))))
        }
    }
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

fn unknown(arg: &OsStr) -> Error {
    Error::Usage(format!(
        "unknown option \"{}\" (see --help)",
        arg.to_string_lossy()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;

    fn p(args: &[&str]) -> Result<Command> {
        parse(args.iter().map(OsString::from))
    }

    fn opts(args: &[&str]) -> Options {
        match p(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn strip(args: &[&str]) -> Strip {
        match opts(args).mode {
            Mode::Strip(s) => s,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn no_arguments_strip_slash() {
        assert_eq!(opts(&[]), Options::default());
        assert_eq!(
            strip(&[]),
            Strip {
                run: Run::Apply { force: false },
                db: DbMode::Update {
                    sync: SyncPolicy::Auto
                },
                audit: Audit::On { strict: false },
                prune: None,
            }
        );
    }

    #[test]
    fn options_are_read_in_both_spellings() {
        let o = opts(&["--root", "/x", "-n", "--json", "-v"]);
        assert_eq!(o.root, PathBuf::from("/x"));
        assert!(o.json);
        assert_eq!(o.verbosity, Verbosity::Verbose);
        assert_eq!(strip(&["-n"]).run, Run::DryRun);
        let o = opts(&["--root=/y", "--check", "--strict"]);
        assert_eq!(o.root, PathBuf::from("/y"));
        assert_eq!(o.mode, Mode::Check(Check { strict: true }));
        let s = strip(&["--prune", "--keep", "python3", "--keep=tzdata"]);
        assert_eq!(
            s.prune.map(|p| p.keep).unwrap_or_default(),
            ["python3", "tzdata"]
        );
        let s = strip(&["--force", "--keep-apk-db", "--no-audit"]);
        assert_eq!(
            (s.run, s.db, s.audit),
            (Run::Apply { force: true }, DbMode::Keep, Audit::Off)
        );
        assert_eq!(strip(&["--strict"]).audit, Audit::On { strict: true });
        assert_eq!(
            strip(&["--sync"]).db,
            DbMode::Update {
                sync: SyncPolicy::Always
            }
        );
        assert_eq!(opts(&["-q"]).verbosity, Verbosity::Quiet);
    }

    #[test]
    fn short_flags_combine() {
        for args in [&["-nv"][..], &["-vn"], &["-n", "-v"]] {
            let o = opts(args);
            assert_eq!(o.verbosity, Verbosity::Verbose, "{args:?}");
            assert_eq!(strip(args).run, Run::DryRun, "{args:?}");
        }
        assert_eq!(opts(&["-nq"]).verbosity, Verbosity::Quiet);
        assert_eq!(p(&["-nh"]).unwrap(), Command::Help);
        assert!(matches!(p(&["-nx"]), Err(Error::Usage(_))));
    }

    #[test]
    fn entrypoints_are_read_for_strip_and_check() {
        let o = opts(&["--entrypoint", "/app/run", "--entrypoint=/usr/bin/node"]);
        assert_eq!(
            o.entrypoints,
            [PathBuf::from("/app/run"), PathBuf::from("/usr/bin/node")]
        );
        let o = opts(&["--check", "--entrypoint", "/app/run"]);
        assert_eq!(o.entrypoints, [PathBuf::from("/app/run")]);
        assert!(matches!(p(&["--entrypoint"]), Err(Error::Usage(_))));
        assert!(matches!(p(&["--entrypoint="]), Err(Error::Usage(_))));
    }

    #[test]
    fn env_is_read_as_name_and_value_split_at_the_first_equals_sign() {
        let o = opts(&[
            "--env",
            "PATH=/a",
            "--check",
            "--env=X=1=2",
            "--env",
            "PATH=/c=d",
        ]);
        assert_eq!(o.env.path, Some("/c=d".into()), "the last counts");
        assert_eq!(o.env.library_path, None, "X is not read");
        let o = opts(&["--env", "LD_LIBRARY_PATH="]);
        assert_eq!(o.env.library_path, Some("".into()));
        for bad in [&["--env"][..], &["--env", "PATH"], &["--env", "=x"]] {
            match p(bad) {
                Err(Error::Usage(why)) => assert_eq!(why, "--env needs NAME=VALUE"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    /// `--flag`, with a value when it takes one.
    fn spell(f: Flag) -> Vec<String> {
        let r = ROWS.iter().find(|r| r.flag == f).unwrap();
        let mut v = vec![format!("--{}", r.long)];
        v.extend(r.value.map(|_| "x".to_string()));
        v
    }

    #[test]
    fn every_contradiction_names_both_flags_in_one_line() {
        for (a, b, _) in EXCLUDE {
            for (x, y) in [(a, b), (b, a)] {
                let args = [spell(x), spell(y)].concat();
                let e = match parse(args.iter().map(OsString::from)) {
                    Err(Error::Usage(e)) => e,
                    other => panic!("{args:?}: {other:?}"),
                };
                let (la, lb) = (format!("--{}", long(a)), format!("--{}", long(b)));
                assert!(e.contains(&la) && e.contains(&lb), "{args:?}: {e}");
                assert_eq!(e.lines().count(), 1);
            }
        }
        let e = p(&["--keep", "x"]).unwrap_err().to_string();
        assert!(e.contains("--keep") && e.contains("--prune"), "{e}");
        // --env is read by the start checks: the audit's, or an --entrypoint's.
        let e = p(&["--no-audit", "--env", "PATH=/x"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--env") && e.contains("--no-audit"), "{e}");
        let o = opts(&["--no-audit", "--env", "PATH=/x", "--entrypoint", "/app"]);
        assert_eq!(o.env.path, Some("/x".into()));
    }

    #[test]
    fn bad_usage_is_an_error() {
        for args in [
            &["--frobnicate"][..],
            &["--root"],
            &["-v", "-q"],
            &["-vq"],
            &["--root", ""],
            &["--root="],
            &["--root", "/a", "--root", "/b"],
            &["--keep", "x"],
            &["--keep"],
            &["--json=yes"],
            &["-"],
            &["stray"],
        ] {
            assert!(matches!(p(args), Err(Error::Usage(_))), "{args:?}");
        }
        assert_eq!(p(&["--help", "--bogus"]).unwrap(), Command::Help);
    }

    #[test]
    fn a_root_that_is_not_utf8_is_read_in_both_spellings() {
        use std::os::unix::ffi::OsStringExt;
        let dir = OsString::from_vec(b"/tmp/\xff".to_vec());
        let mut eq = OsString::from("--root=");
        eq.push(&dir);
        for args in [vec![OsString::from("--root"), dir.clone()], vec![eq]] {
            let Ok(Command::Run(o)) = parse(args) else {
                panic!()
            };
            assert_eq!(o.root.as_os_str(), dir);
        }
    }

    #[test]
    fn help_lists_every_option_and_every_exit_status() {
        let h = help();
        for r in &ROWS {
            assert!(h.contains(&format!("--{}", r.long)), "{}", r.long);
        }
        for e in Exit::ALL {
            assert!(h.contains(&format!("  {}  {}\n", e.code(), e.meaning())));
        }
        assert!(!h.contains("stripped but"), "exit 5 removes nothing");
    }
}
