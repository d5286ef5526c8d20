//! Entry points for the fuzz targets of `tests/fuzz` (not part of the tool's interface): thin
//! calls into every reader of untrusted bytes, returning owned plain values so that the
//! targets can check what the readers answer without naming the crate's internal types.
//! Nothing here is used by the binary; the targets assert, these functions never panic.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::apkdb::parse::Database;
use crate::apkdb::world;
use crate::format::{elf, script};
use crate::root::resolve::{End, Resolved};
use crate::root::{FileKind, Root};

/// What the installed-database reader makes of a file.
#[derive(Debug)]
pub struct Installed {
    /// The empty lines before the first record.
    pub preamble: Vec<u8>,
    /// The records, in file order.
    pub records: Vec<Record>,
    /// The database written back keeping every record.
    pub written: Vec<u8>,
}

/// One record as the reader sees it.
#[derive(Debug)]
pub struct Record {
    /// The record's bytes, as in the file.
    pub raw: Vec<u8>,
    /// `P:` and `V:` (empty when absent).
    pub name: Vec<u8>,
    /// See `name`.
    pub version: Vec<u8>,
    /// Every `(key, value)`, in order.
    pub fields: Vec<(u8, Vec<u8>)>,
    /// The files it owns, `(folder, name)`.
    pub files: Vec<(Vec<u8>, Vec<u8>)>,
    /// The record written without the entries of every file whose name has an even length.
    pub without_some: Vec<u8>,
}

/// Parses `bytes` as `/lib/apk/db/installed`; `Err` is the error's line number.
pub fn installed(bytes: &[u8]) -> Result<Installed, usize> {
    let db = Database::parse(bytes).map_err(|e| e.line)?;
    let records = db
        .records
        .iter()
        .map(|r| {
            let mut without_some = Vec::new();
            r.write_without(|_, name| name.len() % 2 == 0, &mut without_some);
            Record {
                raw: r.raw.to_vec(),
                name: r.name().to_vec(),
                version: r.version().to_vec(),
                fields: r.fields.iter().map(|&(k, v)| (k, v.to_vec())).collect(),
                files: r
                    .file_pairs()
                    .map(|(d, n)| (d.to_vec(), n.to_vec()))
                    .collect(),
                without_some,
            }
        })
        .collect();
    Ok(Installed {
        preamble: db.preamble.to_vec(),
        records,
        written: db.write(|_| true),
    })
}

/// The package name of a world word (`!busybox`, `busybox>=1.36`, `busybox@edge`).
pub fn world_name(word: &[u8]) -> &[u8] {
    world::name_of(word)
}

/// `world` without the words naming `drop`; `None` when nothing would change.
pub fn world_without(world: &[u8], drop: &[&[u8]]) -> Option<Vec<u8>> {
    world::without(world, drop)
}

/// The `DT_NEEDED` sonames of `file`, taken to be `len` bytes long.
pub fn elf_needed(file: &File, len: u64) -> Vec<Vec<u8>> {
    elf::needed(file, len)
}

/// The `#!` interpreter named by a file's first bytes (only the first `script::HEAD` bytes are
/// looked at, as when reading a file).
pub fn script_interpreter(head: &[u8]) -> Option<PathBuf> {
    script::shebang(&head[..head.len().min(script::HEAD)]).map(|s| s.interpreter)
}

/// Where a path ends, as the resolver says.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An object that is not a symlink: its real path inside the root (empty for a symlink's
    /// end, which has no path) and `(device, inode)`.
    Found(PathBuf, (u64, u64)),
    /// Nothing there (or a non-folder in the middle); the path where it stopped, if given.
    Missing(Option<PathBuf>),
    /// A chain of more than 40 links.
    Loop,
    /// The resolver's error, as text.
    Error(String),
}

/// What the resolver answers for one path of a root.
#[derive(Debug)]
pub struct Resolution {
    /// `Root::resolve` of the path.
    pub resolved: Outcome,
    /// `Root::resolve_parent`: the real path of the entry itself (`Ok(None)` when its folder
    /// is not there).
    pub parent: Result<Option<PathBuf>, String>,
    /// When the entry itself is a symlink: `Root::link_end` of its real path.
    pub link_end: Option<Outcome>,
}

/// Opens `dir` as the root and resolves each of `paths` in it (one root, so its cache is
/// shared as in a run).
pub fn resolve(dir: &Path, paths: &[PathBuf]) -> Result<Vec<Resolution>, String> {
    let mut root = Root::open(dir).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let resolved = match root.resolve(p) {
            Ok(Resolved::Found(real, m)) => Outcome::Found(real.into(), m.id()),
            Ok(Resolved::Missing(at)) => Outcome::Missing(Some(at)),
            Ok(Resolved::Loop) => Outcome::Loop,
            Err(e) => Outcome::Error(e.to_string()),
        };
        let parent = root.resolve_parent(p).map_err(|e| e.to_string());
        let mut link_end = None;
        if let Ok(Some(real)) = &parent
            && let Ok(Some(m)) = root.lstat(real)
            && m.kind == FileKind::Symlink
        {
            link_end = Some(match root.link_end(real) {
                Ok(End::Found(m)) => Outcome::Found(PathBuf::new(), m.id()),
                Ok(End::Missing) => Outcome::Missing(None),
                Ok(End::Loop) => Outcome::Loop,
                Err(e) => Outcome::Error(e.to_string()),
            });
        }
        out.push(Resolution {
            resolved,
            parent: parent.map(|p| p.map(PathBuf::from)),
            link_end,
        });
    }
    Ok(out)
}
