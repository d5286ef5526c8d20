//! What the audit reports: a finding's kind (error or warning, its label in both reports) and
//! the finding itself. A leaf: the stages that make findings and the report that shows them
//! depend on it, it on nothing of theirs.

use std::path::PathBuf;

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// A busybox binary or one of its hard links.
    Busybox,
    /// A symlink that ends at busybox.
    AppletLink,
    /// apk or its library.
    Apk,
    /// A shell in a bin folder.
    Shell,
    /// A symlink in a bin folder that ends nowhere, or loops.
    DanglingLink,
    /// A program whose interpreter (`#!`, `PT_INTERP`, `env`'s program) is not in the root.
    MissingInterpreter,
    /// A program or library whose `DT_NEEDED` library the loader would not find.
    MissingLibrary,
    /// A setuid or setgid file.
    Setuid,
    /// A world-writable file outside /tmp and /var/tmp.
    WorldWritable,
    /// A file the apk database lists that is not in the root.
    StaleApkRecord,
    /// An apk database that cannot be read or parsed.
    UnreadableApkDb,
    /// A folder the walk of the whole root could not read (too deep for a host path, no
    /// permission, out of descriptors): what it holds is unknown, a busybox copy included.
    UnreadableFolder,
}

impl FindingKind {
    /// Whether the finding keeps the root from being distroless.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            FindingKind::Busybox
                | FindingKind::AppletLink
                | FindingKind::Apk
                | FindingKind::Shell
                | FindingKind::UnreadableFolder
        )
    }

    /// The name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::Busybox => "busybox",
            FindingKind::AppletLink => "applet-link",
            FindingKind::Apk => "apk",
            FindingKind::Shell => "shell",
            FindingKind::DanglingLink => "dangling-link",
            FindingKind::MissingInterpreter => "missing-interpreter",
            FindingKind::MissingLibrary => "missing-library",
            FindingKind::Setuid => "setuid",
            FindingKind::WorldWritable => "world-writable",
            FindingKind::StaleApkRecord => "stale-apk-record",
            FindingKind::UnreadableApkDb => "unreadable-apk-db",
            FindingKind::UnreadableFolder => "unreadable-folder",
        }
    }
}

/// One thing the audit saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// Path inside the root.
    pub path: PathBuf,
    /// What about it, e.g. the missing interpreter.
    pub detail: String,
}
