//! "Will it still start?": for every program of the image, whether what the kernel and musl's
//! loader need to start it is there once the strip's removals are made. A script's `#!`
//! interpreter must exist (and for `#!/usr/bin/env NAME`, NAME must be found on the image's
//! `PATH`); an ELF executable's `PT_INTERP` must exist and every `DT_NEEDED` of an executable or
//! shared object must load ([`loader`]). A shared object that programs load is judged in each
//! loading chain; one no program loads (a `dlopen` target) on its own, where what its folder
//! and its tree ship counts as found. Objects built for another machine than the root's own
//! loader, or for another system, are not programs of this image and are passed over; glibc
//! objects (a glibc JDK, Debian's `/lib/x86_64-linux-gnu` copied in) are judged by glibc's
//! search rules ([`mod@glibc`], [`loader`]), but a glibc library no program loads is passed
//! over when no glibc program of the image starts. How much each program that will not start
//! matters is its [`Standing`] ([`standing`]).
//!
//! The same check answers before the first removal (against the plan: `gone` holds what it
//! removes) and after the strip or in `--check` (`gone` holds what was removed, or nothing):
//! a missing piece is named with its cause, removed by this strip or already missing
//! ([`mod@locate`]). Programs start in an [`Environment`]: in a RUN step the tool's own `PATH`
//! and `LD_LIBRARY_PATH` (the image's `ENV`), under `--root` Docker's default `PATH`. What it
//! cannot see: programs started by name from code, `sh -c` inside an application, an
//! environment set at run time (`docker run -e`, an entrypoint script's exports) and `dlopen`
//! by name.

pub mod glibc;
pub mod image;
pub mod loader;
pub mod locate;
pub mod standing;

use std::ffi::{OsStr, OsString};
use std::fmt::{self, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::format::script::{self, HEAD};
use crate::root::{FileKind, PathSet, Root};
use crate::stage::finding::FindingKind;
use crate::stage::plan::StepKind;
use loader::Loader;
use locate::{Cause, Gone, Presence, locate};

/// Docker's default `PATH`, a RUN step's unless the image sets `ENV PATH`.
pub const PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The environment the image's programs start in, as far as starting them goes. The default:
/// Docker's [`PATH`], no `LD_LIBRARY_PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// `PATH`: where `#!/usr/bin/env NAME` looks for NAME (absolute folders, in order).
    pub path: Vec<PathBuf>,
    /// `LD_LIBRARY_PATH`: where musl's loader looks for a library before any other folder,
    /// except for a setuid or setgid program (absolute folders, in order).
    pub library_path: Vec<PathBuf>,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            path: PATH.iter().map(PathBuf::from).collect(),
            library_path: Vec::new(),
        }
    }
}

impl Environment {
    /// The environment of the image at `root`: when `root` is `/`, the system the tool runs in
    /// (a RUN step, whose environment is the image's `ENV`), this process's `PATH` and
    /// `LD_LIBRARY_PATH`; else (a tree under `--root`, which the tool's environment says
    /// nothing about) the default. `path` and `library_path`, when given (`--env`), are taken
    /// over either.
    pub fn of(root: &Root, path: Option<OsString>, library_path: Option<OsString>) -> Environment {
        let own = |name| root.is_slash().then(|| std::env::var_os(name)).flatten();
        Environment::from_vars(
            path.or_else(|| own("PATH")),
            library_path.or_else(|| own("LD_LIBRARY_PATH")),
        )
    }

    /// The environment given `PATH` and `LD_LIBRARY_PATH`, split on `:` (and on newlines, as
    /// musl's loader splits the second); an unset `PATH` is the default. Empty and relative
    /// entries (relative to a working folder not known here) are left out.
    pub fn from_vars(path: Option<OsString>, library_path: Option<OsString>) -> Environment {
        let mut env = Environment::default();
        for (var, list) in [(path, &mut env.path), (library_path, &mut env.library_path)] {
            if let Some(v) = var {
                list.clear();
                loader::entries(v.as_bytes(), None, list);
                list.retain(|e| e.is_absolute());
            }
        }
        env
    }
}

/// The most interpreters followed from an entrypoint (the kernel's own limit is 4).
const MAX_CHAIN: usize = 5;

/// A piece a program needs to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A script's `#!` interpreter.
    Interpreter(PathBuf),
    /// An ELF executable's `PT_INTERP`, the loader.
    Loader(PathBuf),
    /// The program `#!/usr/bin/env NAME` starts, looked for on [`PATH`].
    Command {
        /// The `env` of the `#!` line.
        env: PathBuf,
        /// NAME.
        name: PathBuf,
    },
    /// A `DT_NEEDED` library.
    Library {
        /// The name it is needed by.
        soname: PathBuf,
        /// The real path of the object that needs it (the program or one of its libraries).
        needed_by: PathBuf,
    },
}

impl Piece {
    /// The finding a missing piece of this kind is.
    pub fn kind(&self) -> FindingKind {
        match self {
            Piece::Library { .. } => FindingKind::MissingLibrary,
            Piece::Interpreter(_) | Piece::Loader(_) | Piece::Command { .. } => {
                FindingKind::MissingInterpreter
            }
        }
    }
}

/// A piece a program lacks, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// What is missing.
    pub piece: Piece,
    /// Why.
    pub cause: Cause,
}

/// A program that will not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The program, as a path inside the root (a link in a bin folder stays the link).
    pub program: PathBuf,
    /// Where it ends when it is a link.
    pub target: Option<PathBuf>,
    /// Everything it lacks, interpreters first.
    pub missing: Vec<Missing>,
    /// How much it matters to the user ([`standing::classify`]; a program the user starts
    /// until then).
    pub standing: Standing,
}

/// How much a program that will not start matters to the user: a warning (`--strict` fails on
/// it) or a note (counted, never failing a run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A program the user starts (in a bin folder, on `PATH`, at the root, an `--entrypoint`),
    /// or an ELF object whose libraries would not load, wherever it is: a warning.
    Started,
    /// A script apk installed (the package named) whose `#!` shell or `env` (or `env`'s
    /// program) is not in the image: musl-utils' `ldd` and `ldconfig`, OpenSSL's `CA.pl`.
    /// Without a shell nothing can run it, by design of a distroless image: a note.
    Packaged(String),
    /// A script inside a library tree (the tree named: `/usr/local/lib/python3.11`), which
    /// nobody starts by path: a note, one line a tree.
    InTree(PathBuf),
}

impl Standing {
    /// Whether it is a warning (else a note).
    pub fn is_warning(&self) -> bool {
        *self == Standing::Started
    }
}

impl Broken {
    /// The finding this program is: `missing-interpreter` when an interpreter is missing, else
    /// `missing-library`.
    pub fn kind(&self) -> FindingKind {
        self.missing
            .iter()
            .map(|m| m.piece.kind())
            .min_by_key(|k| *k != FindingKind::MissingInterpreter)
            .unwrap_or(FindingKind::MissingLibrary)
    }
}

/// How a missing piece reads for people, in the tense of the run.
pub struct Text<'a> {
    /// The missing piece.
    pub missing: &'a Missing,
    /// Whether a strip is (or was) part of the run: an absent piece then "was already missing".
    pub strip: bool,
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.missing.piece {
            Piece::Interpreter(p) if without_cr(p).is_some() => {
                write!(f, "#!{} (the #! line ends in CR: {CRLF})", p.display())?
            }
            Piece::Interpreter(p) => write!(f, "#!{}", p.display())?,
            Piece::Loader(p) => write!(f, "{} (PT_INTERP)", p.display())?,
            Piece::Command { env, name } if without_cr(name).is_some() => write!(
                f,
                "{} (#!{} {}: the #! line ends in CR: {CRLF})",
                name.display(),
                env.display(),
                name.display()
            )?,
            Piece::Command { env, name } => write!(
                f,
                "{} (#!{} {}, on PATH)",
                name.display(),
                env.display(),
                name.display()
            )?,
            Piece::Library { soname, .. } => write!(f, "{}", soname.display())?,
        }
        f.write_str(" ")?;
        because(f, &self.missing.cause, self.strip)
    }
}

/// Why a `#!` line ends in CR.
const CRLF: &str = "saved with Windows line ends";

/// `name` without its last byte when that is the CR of a `#!` line (see
/// [`script::shebang`]), to be shown as `\r`.
fn without_cr(name: &Path) -> Option<&Path> {
    let bytes = name.as_os_str().as_bytes();
    let bare = bytes.strip_suffix(b"\r")?;
    Some(Path::new(OsStr::from_bytes(bare)))
}

/// `is removed by the strip (PACKAGE)`, `was already missing` (a strip run) or `is missing`.
fn because(f: &mut dyn fmt::Write, cause: &Cause, strip: bool) -> fmt::Result {
    match (cause, strip) {
        (Cause::Removed(r), _) => {
            let by = match (&r.package, r.step) {
                (Some(package), _) => package.as_str(),
                (None, StepKind::AppletLink) => "busybox applet link",
                (None, step) => step.noun(),
            };
            write!(f, "is removed by the strip ({by})")
        }
        (Cause::AlreadyMissing, true) => f.write_str("was already missing"),
        (Cause::AlreadyMissing, false) => f.write_str("is missing"),
    }
}

/// The start check over one root, with its caches.
struct Checker<'a> {
    loader: Loader,
    gone: &'a Gone,
    /// How shared objects without a `PT_INTERP` are judged.
    libraries: Libraries,
    /// The glibc objects met (judged by glibc's search rules, see [`mod@glibc`]).
    glibc: Vec<PathBuf>,
    /// Whether a glibc program's loader (`PT_INTERP`) was found: only then is a glibc library
    /// no program loads judged on its own (else nothing in the image can load it).
    glibc_loader: bool,
}

/// How the check judges a shared object (an ELF object without `PT_INTERP`).
enum Libraries {
    /// As a program: from itself (an entrypoint).
    AsPrograms,
    /// Later: listed here (each path given, and its real path), for [`check`]'s second pass.
    Deferred(Vec<(PathBuf, PathBuf)>),
    /// On its own, as a `dlopen` target no program loads: a name its own folder holds, or that
    /// an object shipped in its library tree is called, counts as found.
    Standalone(loader::Shipped),
}

/// What the start check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The programs and libraries that will not start.
    pub broken: Vec<Broken>,
    /// The glibc objects met: programs and the libraries they load, judged by glibc's search
    /// rules ([`mod@glibc`], [`loader::Libc::Glibc`]); and glibc libraries no program loads, judged
    /// on their own when a glibc program's loader is in the image, else passed over. Counted
    /// in one note.
    pub glibc: Vec<PathBuf>,
}

/// Every program among `programs` (paths inside the root: regular files, or links followed
/// inside the root) that will not start once the paths in `gone` are removed, started in
/// `env`: the programs in the order given, then the shared objects judged on their own. A
/// path that is not there, not a regular file, or neither an ELF
/// object of the root's machine and system nor a script is passed over. A shared object that a
/// program loads is judged in each program's chain (with its search path), not on its own;
/// one that no program loads is judged on its own ([`Libraries::Standalone`]).
pub fn check(
    root: &mut Root,
    programs: &[PathBuf],
    gone: &Gone,
    env: &Environment,
) -> Result<Checked> {
    let mut checker = Checker::new(root, gone, env)?;
    checker.libraries = Libraries::Deferred(Vec::new());
    let mut broken = Vec::new();
    for p in programs {
        broken.extend(checker.program(root, p)?);
    }
    let deferred = match std::mem::replace(&mut checker.libraries, Libraries::AsPrograms) {
        Libraries::Deferred(list) => list,
        _ => Vec::new(),
    };
    let used = std::mem::take(&mut checker.loader.used);
    let reached = path_set(&used);
    let ends: Vec<PathBuf> = deferred.iter().map(|(_, end)| end.clone()).collect();
    checker.libraries = Libraries::Standalone(loader::Shipped(ends));
    let mut alone = Vec::new();
    for (path, end) in &deferred {
        if !reached.contains(end.as_os_str()) {
            alone.extend(checker.program(root, path)?.map(|b| (b, end)));
        }
    }
    // One judged on its own that another one loads was judged in that one's chain too.
    let used = std::mem::take(&mut checker.loader.used);
    let loaded = path_set(&used);
    let alone = alone
        .into_iter()
        .filter(|(_, end)| !loaded.contains(end.as_os_str()));
    broken.extend(alone.map(|(b, _)| b));
    Ok(Checked {
        broken,
        glibc: checker.glibc,
    })
}

/// The set of `paths`.
fn path_set(paths: &[PathBuf]) -> PathSet<'_> {
    let mut set = PathSet::with_capacity(paths.len());
    for p in paths {
        set.insert(p.as_os_str());
    }
    set
}

/// What is wrong with an entrypoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The path does not exist in the root (once the removals are made).
    Absent(PathBuf, Cause),
    /// It is not an executable regular file.
    NotExecutable(PathBuf),
    /// It (or the interpreter it runs through) will not start.
    WillNotStart(PathBuf, Broken),
}

impl Refusal {
    /// One line naming the entrypoint and what it lacks (`strip`: see [`Text`]).
    pub fn line(&self, strip: bool) -> String {
        let mut line = String::new();
        let _ = self.write(&mut line, strip);
        line
    }

    fn write(&self, line: &mut String, strip: bool) -> fmt::Result {
        let (Refusal::Absent(p, _) | Refusal::NotExecutable(p) | Refusal::WillNotStart(p, _)) =
            self;
        write!(line, "/{}", p.display())?;
        match self {
            Refusal::Absent(_, Cause::AlreadyMissing) => {
                line.push_str(": the entrypoint does not exist in the root");
            }
            Refusal::Absent(_, cause) => {
                line.push_str(": the entrypoint ");
                because(line, cause, strip)?;
            }
            Refusal::NotExecutable(_) => {
                line.push_str(": the entrypoint is not an executable file")
            }
            Refusal::WillNotStart(p, b) => {
                if b.program != *p {
                    write!(line, ": /{}", b.program.display())?;
                }
                for (i, m) in b.missing.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { ", " };
                    write!(line, "{sep}{}", Text { missing: m, strip })?;
                }
            }
        }
        Ok(())
    }
}

/// What is wrong with each of `entrypoints` once `gone` is removed, started in `env`: each must
/// be an executable regular file that starts, and so must the interpreters it runs through.
/// Also returns every real path they use (interpreters, `env`'s program, libraries), for
/// `--prune` to keep.
pub fn entrypoints(
    root: &mut Root,
    entrypoints: &[PathBuf],
    gone: &Gone,
    env: &Environment,
) -> Result<(Vec<Refusal>, Vec<PathBuf>)> {
    let mut checker = Checker::new(root, gone, env)?;
    let mut refused = Vec::new();
    let mut used = Vec::new();
    for ep in entrypoints {
        let rel = ep.strip_prefix("/").unwrap_or(ep).to_path_buf();
        match locate(root, &rel, gone)? {
            Presence::Absent(cause) => refused.push(Refusal::Absent(rel, cause)),
            Presence::There { meta, end, .. } => {
                if meta.kind != FileKind::File || meta.mode & 0o111 == 0 {
                    refused.push(Refusal::NotExecutable(rel));
                    continue;
                }
                used.push(end);
                let mut program = rel.clone();
                for _ in 0..MAX_CHAIN {
                    if let Some(b) = checker.program(root, &program)? {
                        refused.push(Refusal::WillNotStart(rel.clone(), b));
                        break;
                    }
                    let Some(next) = checker.runs_through(root, &program)? else {
                        break;
                    };
                    used.push(next.clone());
                    program = next;
                }
            }
        }
    }
    used.append(&mut checker.loader.used);
    Ok((refused, used))
}

impl<'a> Checker<'a> {
    fn new(root: &mut Root, gone: &'a Gone, env: &Environment) -> Result<Checker<'a>> {
        Ok(Checker {
            loader: Loader::of(root, env)?,
            gone,
            libraries: Libraries::AsPrograms,
            glibc: Vec::new(),
            glibc_loader: false,
        })
    }

    /// The program at `path`, if it is one and will not start.
    fn program(&mut self, root: &mut Root, path: &Path) -> Result<Option<Broken>> {
        let Presence::There { end, meta, .. } = locate(root, path, self.gone)? else {
            return Ok(None);
        };
        if meta.kind != FileKind::File {
            return Ok(None);
        }
        let Ok(Some(opened)) = root.open_regular(&end) else {
            return Ok(None);
        };
        let (file, len) = (opened.file, opened.len);
        let mut head = [0u8; HEAD];
        let n = file.read_at(&mut head, 0).unwrap_or(0);
        let head = &head[..n];
        let mut missing = Vec::new();
        if head.starts_with(b"\x7fELF") {
            let Some(object) = crate::format::elf::object(&file, len) else {
                return Ok(None);
            };
            let at = (path, end.as_path(), &meta);
            if !self.elf(root, object, at, &mut missing)? {
                return Ok(None);
            }
        } else if let Some(shebang) = script::shebang(head) {
            missing.extend(self.script(root, &shebang)?);
        }
        if missing.is_empty() {
            return Ok(None);
        }
        let target = (end != path.strip_prefix("/").unwrap_or(path)).then_some(end);
        Ok(Some(Broken {
            program: path.to_path_buf(),
            target,
            missing,
            standing: Standing::Started,
        }))
    }

    /// Adds to `missing` what the ELF `object` lacks (`at`: the path given, its real path and
    /// what is there); `false` when it is not judged here: another machine's or system's
    /// object, or a shared object deferred or already loaded by a program.
    fn elf(
        &mut self,
        root: &mut Root,
        object: crate::format::elf::Object,
        at: (&Path, &Path, &crate::root::Meta),
        missing: &mut Vec<Missing>,
    ) -> Result<bool> {
        let (path, end, meta) = at;
        if self.loader.machine.is_some_and(|m| m != object.machine) {
            return Ok(false);
        }
        let libc = match loader::libc_of(&object) {
            loader::Libc::Glibc if self.runs_on_musl(root, &object)? => loader::Libc::Musl,
            libc => libc,
        };
        if libc == loader::Libc::Other {
            return Ok(false);
        }
        if object.interp.is_none()
            && let Libraries::Deferred(list) = &mut self.libraries
        {
            list.push((path.to_path_buf(), end.to_path_buf()));
            return Ok(false);
        }
        let glibc = libc == loader::Libc::Glibc;
        // Counted once, however many links name it.
        if glibc && !self.glibc.iter().any(|g| g == end) {
            self.glibc.push(end.to_path_buf());
        }
        if let Some(interp) = &object.interp {
            let interp = PathBuf::from(OsStr::from_bytes(interp));
            match self.exec_file(root, &interp)? {
                Ok(()) => self.glibc_loader |= glibc,
                Err(cause) => missing.push(Missing {
                    piece: Piece::Loader(interp),
                    cause,
                }),
            }
        } else if glibc && !self.glibc_loader {
            // A glibc library no program loads, in an image where no glibc program starts:
            // nothing can load it (koffi's glibc build beside its musl one).
            return Ok(false);
        }
        let shipped = match &self.libraries {
            Libraries::Standalone(shipped) => Some(shipped),
            _ => None,
        };
        let at = loader::At {
            path: end,
            origin: end.parent().unwrap_or(Path::new("")),
            secure: is_secure(meta),
            shipped,
            libc,
        };
        self.loader
            .unfound(root, std::rc::Rc::new(object), at, self.gone, missing)?;
        Ok(true)
    }

    /// What the `#!` line `shebang` lacks.
    fn script(&mut self, root: &mut Root, shebang: &script::Shebang) -> Result<Option<Missing>> {
        let interp = &shebang.interpreter;
        if let Err(cause) = self.exec_file(root, interp)? {
            return Ok(Some(Missing {
                piece: Piece::Interpreter(interp.clone()),
                cause,
            }));
        }
        let Some(name) = env_name(shebang) else {
            return Ok(None);
        };
        Ok(match self.loader.command(root, &name, self.gone)? {
            Ok(_) => None,
            Err(cause) => Some(Missing {
                piece: Piece::Command {
                    env: interp.clone(),
                    name,
                },
                cause,
            }),
        })
    }

    /// Whether the `PT_INTERP` of `object` ends at musl's loader (`ld-musl-*`): gcompat and
    /// libc6-compat make `/lib64/ld-linux-x86-64.so.2` a link to it, and what it loads it loads
    /// by musl's rules, whatever the object was built for.
    fn runs_on_musl(
        &mut self,
        root: &mut Root,
        object: &crate::format::elf::Object,
    ) -> Result<bool> {
        let Some(interp) = &object.interp else {
            return Ok(false);
        };
        let interp = Path::new(OsStr::from_bytes(interp));
        Ok(match locate(root, interp, self.gone)? {
            Presence::There { end, .. } => end
                .file_name()
                .is_some_and(|n| n.as_bytes().starts_with(b"ld-musl-")),
            Presence::Absent(_) => false,
        })
    }

    /// The file the kernel execs at `path` (a `#!` interpreter, a `PT_INTERP` loader): a
    /// folder, a FIFO, a device or a file without an execute bit there is as good as missing
    /// (the kernel's exec fails with `EACCES`).
    fn exec_file(
        &mut self,
        root: &mut Root,
        path: &Path,
    ) -> Result<std::result::Result<(), Cause>> {
        Ok(match self.loader.file(root, path, self.gone)? {
            Ok(found) if found.mode & 0o111 != 0 => Ok(()),
            Ok(_) => Err(Cause::AlreadyMissing),
            Err(cause) => Err(cause),
        })
    }

    /// The interpreter the program at `path` runs through (a script's `#!` interpreter, or
    /// `env`'s program), as a path inside the root, if any.
    fn runs_through(&mut self, root: &mut Root, path: &Path) -> Result<Option<PathBuf>> {
        let mut head = [0u8; HEAD];
        let n = match locate(root, path, self.gone)? {
            Presence::There { end, .. } => root.read_head(&end, &mut head),
            Presence::Absent(_) => 0,
        };
        let Some(shebang) = script::shebang(&head[..n]) else {
            return Ok(None);
        };
        if let Some(name) = env_name(&shebang)
            && let Ok(found) = self.loader.command(root, &name, self.gone)?
        {
            return Ok(Some(found.end));
        }
        let interp = &shebang.interpreter;
        Ok(Some(
            interp.strip_prefix("/").unwrap_or(interp).to_path_buf(),
        ))
    }
}

/// Whether musl's loader starts the program with `meta` "secure" (`libc.secure`: the kernel's
/// `AT_SECURE`, a user or group id that changes at exec), taking the image's programs to run as
/// root, Docker's default user: setuid to another owner than root, or setgid (group execute
/// set too) to another group than root's. It then ignores `LD_LIBRARY_PATH`, and `$ORIGIN` in
/// the program's own rpath. Programs run as another user, and file capabilities, are not seen.
fn is_secure(meta: &crate::root::Meta) -> bool {
    let setuid = meta.mode & 0o4000 != 0 && meta.uid != 0;
    let setgid = meta.mode & 0o2010 == 0o2010 && meta.gid != 0;
    setuid || setgid
}

/// NAME, when the `#!` line runs `env NAME`.
fn env_name(shebang: &script::Shebang) -> Option<PathBuf> {
    if shebang.interpreter.file_name() != Some(OsStr::new("env")) {
        return None;
    }
    let name = script::env_command(shebang.arg.as_deref()?)?;
    Some(PathBuf::from(OsStr::from_bytes(name)))
}

#[cfg(test)]
mod tests;
