//! Errors of the tool: every one names the path it concerns and the reason (the OS error
//! behind it, or what is wrong with the file), and maps to one documented exit status
//! ([`Exit`], whose table `--help` and README.md both show). The errno predicates the stages
//! branch on live here too, in one place.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use nix::libc;
use nix::sys::signal::Signal;

/// The exit statuses: `--help` and README.md's exit table are both made from [`Exit::ALL`]
/// and [`Exit::meaning`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The root ends stripped (or was already), or `--check` found it distroless.
    Ok,
    /// An operation on the filesystem failed; the message names the path and the reason. Or an
    /// allocation failed (`os::memory`); the line says how far the run had come.
    Failed,
    /// The command line could not be understood.
    Usage,
    /// Refused to strip `/` because no container was detected (use `--root` or `--force`).
    Refused,
    /// The audit failed: `--check` found busybox, apk or a shell, or `--strict` saw a finding.
    Audit,
    /// The apk database is malformed: nothing was removed, the tree is as it was.
    ApkDb,
    /// A signal asked the strip to end after it took apk's lock, before its first removal:
    /// nothing was removed.
    Interrupted,
}

impl Exit {
    /// Every status, in code order.
    pub const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::Failed,
        Exit::Usage,
        Exit::Refused,
        Exit::Audit,
        Exit::ApkDb,
        Exit::Interrupted,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::Audit => 4,
            Exit::ApkDb => 5,
            Exit::Interrupted => 6,
        }
    }

    /// What the status means, one line (in `--help` and README.md's exit table).
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "the root ends stripped (or already was); `--check`: distroless",
            Exit::Failed => {
                "a filesystem operation failed; one line names the path and the reason (or \
                 memory ran out: one line says so, and what was removed)"
            }
            Exit::Usage => {
                "bad usage (unknown option, missing value, contradictory options, `--keep` of \
                 what no package provides or of what the strip always removes)"
            }
            Exit::Refused => "refused to strip `/`: no container build detected",
            Exit::Audit => {
                "audit failed: `--check` found busybox, apk or a shell, or `--strict` saw an \
                 error or a warning (notes do not count); or an `--entrypoint` would not start \
                 or is not on `PATH` (then nothing was removed)"
            }
            Exit::ApkDb => {
                "the apk database is malformed (the line is named; `--keep-apk-db` strips \
                 anyway and leaves it as it is), or `--prune` met a world that is missing or \
                 names no package or what no package provides: nothing was removed"
            }
            Exit::Interrupted => {
                "SIGINT, SIGTERM, SIGHUP or SIGQUIT came once the strip had apk's lock, before \
                 the first removal: nothing was removed; one that comes later ends the run by \
                 that signal (status 128+N) once the database is in place and the report written"
            }
        }
    }
}

/// Which of a pinned (immutable or append-only) file or folder stops the removals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pinned {
    /// A file the plan removes.
    File,
    /// A folder the plan removes entries from.
    Folder,
}

/// Where a file of apk's database (the installed database, the triggers file, the scripts
/// archive) could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The file's path inside the root.
    pub path: PathBuf,
    /// The 1-based line of a text file; `None` for an archive, whose `what` says where.
    pub line: Option<usize>,
    /// What is wrong there.
    pub what: String,
}

impl Malformed {
    /// `line N: what`, or `what` alone.
    fn reason(&self) -> String {
        match self.line {
            Some(n) => format!("line {n}: {}", self.what),
            None => self.what.clone(),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}: {}", self.path.display(), self.reason())
    }
}

impl std::error::Error for Malformed {}

/// Everything that can stop a run.
#[derive(Debug)]
pub enum Error {
    /// An OS call failed on `path`.
    Io {
        /// What was being done, e.g. "cannot remove" (an operation, never a sentence).
        op: &'static str,
        /// The host path the OS call was made on.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A file inside the root is not what the tool may read (a FIFO, a device, too large).
    Input {
        /// The host path.
        path: PathBuf,
        /// Why it is refused.
        why: String,
    },
    /// apk's lock on the root is held by another apk or strip.
    LockHeld {
        /// The host path of the lock file.
        path: PathBuf,
    },
    /// A file the plan removes, or a folder it removes entries from, is immutable or
    /// append-only (`chattr +i`/`+a`): found before any removal, so nothing was removed.
    Pinned {
        /// The host path.
        path: PathBuf,
        /// File or folder.
        what: Pinned,
    },
    /// The apk database could not be parsed: nothing was removed (`--keep-apk-db` strips anyway).
    MalformedDb(Malformed),
    /// `--prune` cannot trust `etc/apk/world` (missing, naming no package, or naming what no
    /// package provides): it would take what was meant to stay. Nothing was removed.
    World(String),
    /// Stripping `/` was refused: no sign of a container.
    Refused(String),
    /// The command line was not understood.
    Usage(String),
    /// An `--entrypoint` would not start (or does not exist): nothing was removed. The line
    /// names the program and what it lacks.
    WillNotStart(String),
    /// A signal that asks a process to end came once the strip held apk's lock, before the
    /// first removal: what was staged is gone, the lock file too when the run made it, and
    /// nothing was removed.
    Interrupted(Signal),
}

impl Error {
    /// An OS error on `path` while doing `op`.
    pub fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// A file inside the root that the tool refuses to read, and why.
    pub fn input(path: &Path, why: &str) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            why: why.to_string(),
        }
    }

    /// The exit status this error ends the run with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Io { .. } | Error::Input { .. } | Error::LockHeld { .. } => Exit::Failed,
            Error::Pinned { .. } => Exit::Failed,
            Error::MalformedDb(_) | Error::World(_) => Exit::ApkDb,
            Error::Refused(_) => Exit::Refused,
            Error::Usage(_) => Exit::Usage,
            Error::WillNotStart(_) => Exit::Audit,
            Error::Interrupted(_) => Exit::Interrupted,
        }
    }

    /// The path the error concerns (a host path; for [`Error::MalformedDb`], inside the root).
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::Input { path, .. }
            | Error::LockHeld { path }
            | Error::Pinned { path, .. } => Some(path),
            Error::MalformedDb(m) => Some(&m.path),
            Error::Refused(_)
            | Error::Usage(_)
            | Error::WillNotStart(_)
            | Error::World(_)
            | Error::Interrupted(_) => None,
        }
    }

    /// The reason without the path: what a finding about that path says.
    pub fn reason(&self) -> String {
        match self {
            Error::Io { op, source, .. } => format!("{op}: {source}"),
            Error::Input { why, .. } => why.clone(),
            Error::LockHeld { .. } => {
                "held by another apk or strip; refusing to run beside it".into()
            }
            Error::Pinned {
                what: Pinned::File, ..
            } => "cannot remove (immutable or append-only, see lsattr)".into(),
            Error::Pinned {
                what: Pinned::Folder,
                ..
            } => "cannot remove entries (folder is immutable or append-only, see lsattr)".into(),
            Error::MalformedDb(m) => m.reason(),
            Error::Refused(why) | Error::Usage(why) | Error::WillNotStart(why) => why.clone(),
            Error::World(why) => format!("/etc/apk/world {why}"),
            Error::Interrupted(signal) => format!(
                "interrupted by {} before the first removal: nothing was removed",
                crate::os::interrupt::name(*signal)
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MalformedDb(m) => write!(
                f,
                "{m}: the apk database is malformed; nothing was removed (--keep-apk-db strips anyway)"
            ),
            Error::Refused(why) | Error::Usage(why) => f.write_str(why),
            // Said before the first removal (or by --check, which removes nothing).
            Error::WillNotStart(why) => write!(f, "{why}; nothing was removed"),
            Error::World(why) => write!(
                f,
                "/etc/apk/world {why}; nothing was removed (name what the image needs there, or \
                 strip without --prune)"
            ),
            _ => match self.path() {
                Some(path) => write!(f, "{}: {}", path.display(), self.reason()),
                None => f.write_str(&self.reason()),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::MalformedDb(m) => Some(m),
            _ => None,
        }
    }
}

/// Result with this crate's error.
pub type Result<T> = std::result::Result<T, Error>;

/// Whether an OS error means "there is nothing there".
pub fn is_absent(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
}

/// Whether an OS error means "this is a bind mount or on a read-only filesystem" (a kernel
/// without `STATX_ATTR_MOUNT_ROOT` tells a mounted file only here).
pub fn is_unremovable_mount(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EROFS))
}

/// Whether a non-blocking lock failed because another process holds it.
pub fn is_would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EWOULDBLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_error_names_path_operation_and_errno() {
        let e = Error::io(
            "cannot remove",
            Path::new("/x/bin/ls"),
            io::Error::from_raw_os_error(30),
        );
        assert_eq!(
            e.to_string(),
            "/x/bin/ls: cannot remove: Read-only file system (os error 30)"
        );
        assert_eq!(e.exit(), Exit::Failed);
        assert!(e.source().is_some());
    }

    #[test]
    fn a_malformed_database_keeps_path_line_and_what_apart() {
        let m = Malformed {
            path: PathBuf::from("lib/apk/db/installed"),
            line: Some(5),
            what: "not a `X:value` line".into(),
        };
        let e = Error::MalformedDb(m.clone());
        assert_eq!(e.reason(), "line 5: not a `X:value` line");
        assert_eq!(e.path(), Some(Path::new("lib/apk/db/installed")));
        assert_eq!(
            e.source().map(ToString::to_string),
            Some(m.to_string()),
            "the source is the parse error with its path"
        );
        assert!(e.to_string().starts_with(
            "/lib/apk/db/installed: line 5: not a `X:value` line: the apk database is malformed; nothing was removed"
        ));
        assert_eq!(e.exit(), Exit::ApkDb);
    }

    #[test]
    fn pinned_and_lock_held_say_what_without_a_made_up_errno() {
        let e = Error::Pinned {
            path: PathBuf::from("/r/sbin/apk"),
            what: Pinned::File,
        };
        assert_eq!(
            e.to_string(),
            "/r/sbin/apk: cannot remove (immutable or append-only, see lsattr)"
        );
        assert!(e.source().is_none());
        let e = Error::LockHeld {
            path: PathBuf::from("/r/lib/apk/db/lock"),
        };
        assert_eq!(
            e.to_string(),
            "/r/lib/apk/db/lock: held by another apk or strip; refusing to run beside it"
        );
    }

    #[test]
    fn exit_codes_are_distinct_and_in_order() {
        for (i, e) in Exit::ALL.iter().enumerate() {
            assert_eq!(usize::from(e.code()), i);
        }
    }
}
