//! Errors of the tool: every one names the path it concerns and the OS error behind it,
//! and maps to one documented exit status.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Exit statuses, documented in README.md.
pub mod exit {
    /// The root ends stripped (or was already), or `--check` found it distroless.
    pub const OK: i32 = 0;
    /// An operation on the filesystem failed; the message names the path and the OS error.
    pub const FAILED: i32 = 1;
    /// The command line could not be understood.
    pub const USAGE: i32 = 2;
    /// Refused to strip `/` because no container was detected (use `--root` or `--force`).
    pub const REFUSED: i32 = 3;
    /// The audit failed: `--check` found busybox, apk or a shell, or `--strict` saw a warning;
    /// or an `--entrypoint` would not start (then nothing was removed).
    pub const AUDIT: i32 = 4;
    /// The apk database is malformed: nothing was removed, the tree is as it was.
    pub const APK_DB: i32 = 5;
}

/// Everything that can stop a run.
#[derive(Debug)]
pub enum Error {
    /// An OS call failed on `path`.
    Io {
        /// What was being done, e.g. "cannot remove".
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
    /// The apk database could not be parsed: nothing was removed (`--keep-apk-db` strips anyway).
    MalformedDb(String),
    /// Stripping `/` was refused: no sign of a container.
    Refused(String),
    /// The command line was not understood.
    Usage(String),
    /// An `--entrypoint` would not start (or does not exist): nothing was removed. The line
    /// names the program and what it lacks.
    WillNotStart(String),
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
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Io { .. } | Error::Input { .. } => exit::FAILED,
            Error::MalformedDb(_) => exit::APK_DB,
            Error::Refused(_) => exit::REFUSED,
            Error::Usage(_) => exit::USAGE,
            Error::WillNotStart(_) => exit::AUDIT,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, source } => write!(f, "{}: {op}: {source}", path.display()),
            Error::Input { path, why } => write!(f, "{}: {why}", path.display()),
            Error::MalformedDb(why) => write!(
                f,
                "{why}: the apk database is malformed; nothing was removed (--keep-apk-db strips anyway)"
            ),
            Error::Refused(why) => f.write_str(why),
            Error::Usage(why) => f.write_str(why),
            Error::WillNotStart(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {}

/// Result with this crate's error.
pub type Result<T> = std::result::Result<T, Error>;

/// Whether an OS error means "there is nothing there".
pub fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::ENOENT) | Some(nix::libc::ENOTDIR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_path_operation_and_errno() {
        let e = Error::io(
            "cannot remove",
            Path::new("/x/bin/ls"),
            io::Error::from_raw_os_error(30),
        );
        let line = e.to_string();
        assert_eq!(
            line,
            "/x/bin/ls: cannot remove: Read-only file system (os error 30)"
        );
        assert_eq!(e.exit_code(), exit::FAILED);
    }
}
