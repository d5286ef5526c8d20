//! Finding a shared library the way musl's loader does (`ldso/dynlink.c`), or for a glibc
//! object ([`Libc::Glibc`]) the way glibc's does (`elf/dl-load.c`), inside the root.
//!
//! A `DT_NEEDED` name without a slash is looked for in the `DT_RPATH`/`DT_RUNPATH` of the object
//! that needs it and of the objects that needed that one in turn (`$ORIGIN` is the folder the
//! object was found in), then in the lines (or colon-separated entries) of
//! `/etc/ld-musl-ARCH.path` when that file exists, else in `/lib:/usr/local/lib:/usr/lib`; the
//! first regular file found is loaded; `LD_LIBRARY_PATH` (of the [`Environment`]) comes before
//! all of them, except for a setuid or setgid program. A name that starts like libc's own
//! (`libc.`, `libm.`, ...) is the loader itself. A name once loaded satisfies every later need
//! of that name.
//! glibc's loader searches the `DT_RPATH` of the needer and of the objects that loaded it
//! (each only when that object has no `DT_RUNPATH`; none at all when the needer has one), then
//! `LD_LIBRARY_PATH` (not for a setuid or setgid program), the needer's own `DT_RUNPATH`, then
//! its system path ([`glibc::system_path`]: `/etc/ld.so.conf`, its default and multiarch
//! folders). Its libc parts (`libc.so.6`, `libdl.so.2`, ...) are files like any library; only
//! the name of its `PT_INTERP` counts as loaded from the start.
//! For a `dlopen` target judged on its own ([`At::shipped`]), a name its folder, its needer's
//! folder or its library tree ships counts as found once the search finds nothing. Whose libc
//! an object is built for ([`libc_of`]) decides whether these rules apply at all.
//!
//! Answers are cached: each soname is looked up in each folder once, and each library's ELF
//! headers are read once, however many programs need it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::Result;
use crate::format::elf::{self, Machine, Object, Os};
use crate::root::{FileKind, Root};
use crate::stage::start::locate::{Cause, Gone, Presence, locate};
use crate::stage::start::{Environment, Missing, Piece, glibc, standing};

/// The names musl's loader answers itself (its reserved list).
const RESERVED: [&[u8]; 7] = [
    b"libc.",
    b"libpthread.",
    b"librt.",
    b"libm.",
    b"libdl.",
    b"libutil.",
    b"libxnet.",
];

/// musl's search path when `/etc/ld-musl-ARCH.path` does not exist.
const DEFAULT_PATH: [&str; 3] = ["/lib", "/usr/local/lib", "/usr/lib"];

/// The names musl gives its loader on Alpine's architectures (`/lib/ld-musl-ARCH.so.1`).
const ARCHES: [&str; 10] = [
    "x86_64",
    "aarch64",
    "armhf",
    "arm",
    "i386",
    "powerpc64le",
    "riscv64",
    "s390x",
    "loongarch64",
    "powerpc",
];

/// The most objects one program loads before the check gives up on it (a bound, not a limit
/// any real program reaches).
const MAX_OBJECTS: usize = 4096;

/// The most bytes read of `/etc/ld-musl-ARCH.path`.
const PATH_FILE_LIMIT: u64 = 64 << 10;

/// A regular file found inside the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The real path of the entry named (a library's folder is its `$ORIGIN`).
    pub entry: PathBuf,
    /// The real path of the file at the end of its links.
    pub end: PathBuf,
    /// The file's `st_mode`.
    pub mode: u32,
}

/// A regular file found, or why there is none.
pub type Lookup = std::result::Result<Found, Cause>;

/// One object loaded for a program: its headers, and the search folders of its `DT_RPATH`
/// and `DT_RUNPATH` with `$ORIGIN` expanded, as its [`Libc`] reads them ([`search_paths`]).
struct Loaded {
    object: Rc<Object>,
    path: PathBuf,
    /// Searched for it and for what the objects it loads need (musl: `DT_RPATH` and
    /// `DT_RUNPATH`; glibc: `DT_RPATH` unless it has a `DT_RUNPATH`).
    rpath: Vec<PathBuf>,
    /// Searched for its own needs only, after `LD_LIBRARY_PATH` (glibc's `DT_RUNPATH`).
    runpath: Vec<PathBuf>,
    needed_by: Option<usize>,
}

/// The folders `object`'s `DT_RPATH` and `DT_RUNPATH` add, as `libc`'s loader reads them
/// (`origin`: its `$ORIGIN`, see [`expand`]): (rpath, runpath) of [`Loaded`].
fn search_paths(
    object: &Object,
    origin: Option<&Path>,
    libc: Libc,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    match libc {
        Libc::Glibc if !object.runpath.is_empty() => (Vec::new(), expand(&object.runpath, origin)),
        _ => (expand(&object.rpath, origin), Vec::new()),
    }
}

/// The program a search for libraries starts from.
pub struct At<'a> {
    /// Its real path inside the root.
    pub path: &'a Path,
    /// The real folder it was found in, its `$ORIGIN`.
    pub origin: &'a Path,
    /// Started "secure" (setuid or setgid, see `is_secure`): musl's loader then ignores
    /// `LD_LIBRARY_PATH`, and the program's own rpath when it names `$ORIGIN`.
    pub secure: bool,
    /// For a shared object no program loads (a `dlopen` target judged on its own): the objects
    /// shipped beside it. A name the needer's folder or its own folder holds, or that one of
    /// them is called, then counts as found when the search finds nothing: whatever loads it
    /// finds those through its own chain (an auditwheel `.libs` folder, a JVM's `libjvm.so`).
    pub shipped: Option<&'a Shipped>,
    /// Whose loader loads it: musl's rules, or glibc's ([`Libc::Glibc`]).
    pub libc: Libc,
}

/// The names loaded before `object`'s needs are looked for: for glibc's, the file name of
/// its `PT_INTERP` (glibc's loader is loaded under that name: `libc.so.6` needs
/// `ld-linux-x86-64.so.2` and finds it loaded); none for musl's, whose loader answers its own
/// names ([`RESERVED`]).
fn first_names(object: &Object, libc: Libc) -> Vec<Vec<u8>> {
    let interp = object.interp.as_deref().filter(|_| libc == Libc::Glibc);
    let name = interp.and_then(|i| i.rsplit(|&b| b == b'/').next());
    name.map(|n| vec![n.to_vec()]).unwrap_or_default()
}

/// The shared objects of the image (real paths), looked up by library tree
/// ([`standing::tree`]) and file name: what a `dlopen` target is shipped with.
#[derive(Debug, Default)]
pub struct Shipped(pub Vec<PathBuf>);

impl Shipped {
    /// The first object called `name` shipped in the tree of `object`.
    fn get(&self, object: &Path, name: &OsStr) -> Option<&PathBuf> {
        let tree = standing::tree(object);
        self.0
            .iter()
            .find(|o| o.file_name() == Some(name) && standing::tree(o) == tree)
    }
}

/// Whose C library an object is built for, by its loader and the libc it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libc {
    /// musl's (or nothing says otherwise): judged by musl's loader's rules.
    Musl,
    /// glibc's: `PT_INTERP` `ld-linux*` or `ld64.so.*`, or it needs `libc.so.6` or
    /// `ld-linux*`; judged by glibc's loader's rules ([`super::glibc`]).
    Glibc,
    /// Another system's: marked so ([`Os::Other`]), or it needs a `libc.so.N` that is neither
    /// glibc's nor musl's (FreeBSD's `libc.so.7`, OpenBSD's `libc.so.97.1`).
    Other,
}

/// Whose C library `object` is built for.
pub fn libc_of(object: &Object) -> Libc {
    if object.os == Os::Other {
        return Libc::Other;
    }
    let interp = object.interp.as_deref().unwrap_or_default();
    let name = interp.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if name.starts_with(b"ld-linux") || name.starts_with(b"ld64.so.") {
        return Libc::Glibc;
    }
    for n in &object.needed {
        if n == b"libc.so.6" || n.starts_with(b"ld-linux") {
            return Libc::Glibc;
        }
        let numbered = n
            .strip_prefix(b"libc.so.")
            .is_some_and(|v| v.first().is_some_and(u8::is_ascii_digit));
        if numbered && !name.starts_with(b"ld-musl") {
            return Libc::Other;
        }
    }
    Libc::Musl
}

/// The root's loader: its machine, its search path, and what it has looked up so far.
pub struct Loader {
    /// The machine of the root's own loader (or busybox); `None` when neither is there.
    pub machine: Option<Machine>,
    system: Vec<PathBuf>,
    /// glibc's system path ([`glibc::system_path`]) for objects of one machine, read at the
    /// first glibc object.
    glibc: Option<(Machine, Vec<PathBuf>)>,
    /// `LD_LIBRARY_PATH`, searched first.
    library_path: Vec<PathBuf>,
    /// `PATH`, where `#!/usr/bin/env NAME` looks for NAME.
    path: Vec<PathBuf>,
    files: Files,
    /// Every library found, by real path (what `--prune` must keep for an entrypoint).
    pub used: Vec<PathBuf>,
}

impl Loader {
    /// The loader of `root`: its machine from `/lib/ld-musl-ARCH.so.1` (or `/bin/busybox`), and
    /// its search paths, with `env`'s. `gone` is not consulted: the loader's own machine does
    /// not change.
    pub fn of(root: &mut Root, env: &Environment) -> Result<Loader> {
        let mut machine = None;
        let mut system: Vec<PathBuf> = DEFAULT_PATH.iter().map(PathBuf::from).collect();
        for arch in ARCHES {
            let ld = format!("lib/ld-musl-{arch}.so.1");
            let Some(m) = machine_of(root, Path::new(&ld)) else {
                continue;
            };
            machine = Some(m);
            let file = format!("etc/ld-musl-{arch}.path");
            if let Ok(Some((_, bytes))) = root.read_regular(Path::new(&file), PATH_FILE_LIMIT) {
                system.clear();
                entries(&bytes, None, &mut system);
            }
            break;
        }
        if machine.is_none() {
            machine = machine_of(root, Path::new("bin/busybox"));
        }
        Ok(Loader {
            machine,
            system,
            glibc: None,
            library_path: env.library_path.clone(),
            path: env.path.clone(),
            files: Files::default(),
            used: Vec::new(),
        })
    }

    /// The headers of the executable or shared object at the real path `rel`, read once.
    pub fn object(&mut self, root: &mut Root, rel: &Path) -> Option<Rc<Object>> {
        if let Some(o) = self
            .files
            .0
            .get(rel.as_os_str())
            .and_then(|k| k.object.clone())
        {
            return o;
        }
        let o = match root.open_regular(rel) {
            Ok(Some(o)) => elf::object(&o.file, o.len).map(Rc::new),
            _ => None,
        };
        self.files.known(rel).object = Some(o.clone());
        o
    }

    /// Adds to `out` every library `object` (the program `at`) needs that would not load,
    /// following the libraries it loads in turn.
    pub fn unfound(
        &mut self,
        root: &mut Root,
        object: Rc<Object>,
        at: At<'_>,
        gone: &Gone,
        out: &mut Vec<Missing>,
    ) -> Result<()> {
        if at.libc == Libc::Glibc {
            self.read_glibc_path(root, object.machine);
        }
        // The caller of execve chooses a secure program's path, so no $ORIGIN for it.
        let (rpath, runpath) = search_paths(&object, (!at.secure).then_some(at.origin), at.libc);
        let mut names = first_names(&object, at.libc);
        let mut loaded = vec![Loaded {
            object,
            path: at.path.to_path_buf(),
            rpath,
            runpath,
            needed_by: None,
        }];
        let mut next = 0;
        while next < loaded.len() && loaded.len() < MAX_OBJECTS {
            let object = Rc::clone(&loaded[next].object);
            for name in &object.needed {
                let musls = at.libc == Libc::Musl && RESERVED.iter().any(|r| name.starts_with(r));
                if musls || names.contains(name) {
                    continue;
                }
                names.push(name.clone());
                let found = match self.find(root, name, &loaded, next, &at, gone)? {
                    Err(cause) if at.shipped.is_some() => {
                        let shipped = (at.shipped, loaded[next].path.as_path(), at.path);
                        self.beside(root, name, shipped, gone)?.ok_or(cause)
                    }
                    found => found,
                };
                match found {
                    Ok(Found { entry, end, .. }) => {
                        self.used.push(end.clone());
                        let Some(lib) = self.object(root, &end) else {
                            continue;
                        };
                        let origin = entry.parent().unwrap_or(Path::new(""));
                        let (rpath, runpath) = search_paths(&lib, Some(origin), at.libc);
                        loaded.push(Loaded {
                            object: lib,
                            path: end,
                            rpath,
                            runpath,
                            needed_by: Some(next),
                        });
                    }
                    Err(cause) => out.push(Missing {
                        piece: Piece::Library {
                            soname: PathBuf::from(OsStr::from_bytes(name)),
                            needed_by: loaded[next].path.clone(),
                        },
                        cause,
                    }),
                }
            }
            next += 1;
        }
        Ok(())
    }

    /// Where the loader finds `name` for the object `i` of `loaded`, started from `at`: musl
    /// searches `LD_LIBRARY_PATH` (not for a secure program), the rpaths of the chain, its
    /// system path; glibc the `DT_RPATH`s of the chain (unless the needer has a `DT_RUNPATH`),
    /// `LD_LIBRARY_PATH` (not for a secure program), the needer's `DT_RUNPATH`, its system path.
    fn find(
        &mut self,
        root: &mut Root,
        name: &[u8],
        loaded: &[Loaded],
        i: usize,
        at: &At<'_>,
        gone: &Gone,
    ) -> Result<Lookup> {
        if name.contains(&b'/') {
            return self.file(root, Path::new(OsStr::from_bytes(name)), gone);
        }
        let name = Path::new(OsStr::from_bytes(name));
        let library_path: &[PathBuf] = if at.secure { &[] } else { &self.library_path };
        let mut chain: Vec<&[PathBuf]> = Vec::new();
        let mut cur = Some(i);
        while let Some(c) = cur {
            chain.push(&loaded[c].rpath);
            cur = loaded[c].needed_by;
        }
        let mut lists: Vec<&[PathBuf]> = Vec::with_capacity(chain.len() + 3);
        if at.libc == Libc::Glibc {
            if loaded[i].object.runpath.is_empty() {
                lists.extend(chain);
            }
            lists.push(library_path);
            lists.push(&loaded[i].runpath);
            lists.push(self.glibc.as_ref().map_or(&[][..], |(_, p)| p));
        } else {
            lists.push(library_path);
            lists.extend(chain);
            lists.push(&self.system);
        }
        let mut why = Cause::AlreadyMissing;
        for dirs in lists {
            if let Some(found) = self.files.search(root, dirs, name, 0, gone, &mut why)? {
                return Ok(Ok(found));
            }
        }
        Ok(Err(why))
    }

    /// Reads glibc's system path for objects of `machine`, unless it is read already.
    fn read_glibc_path(&mut self, root: &mut Root, machine: Machine) {
        if self.glibc.as_ref().is_none_or(|(m, _)| *m != machine) {
            self.glibc = Some((machine, glibc::system_path(root, machine)));
        }
    }

    /// Where a `dlopen` target judged on its own finds `name` (see [`At::shipped`]), given
    /// the objects shipped with it, the needer and the target: in the needer's folder, in the
    /// target's, or as an object of the target's tree called so.
    fn beside(
        &mut self,
        root: &mut Root,
        name: &[u8],
        (shipped, needer, target): (Option<&Shipped>, &Path, &Path),
        gone: &Gone,
    ) -> Result<Option<Found>> {
        let name = OsStr::from_bytes(name);
        let folder = |p: &Path| p.parent().unwrap_or(Path::new("")).join(name);
        let mut places = vec![folder(needer), folder(target)];
        places.extend(shipped.and_then(|s| s.get(target, name)).cloned());
        for p in places {
            if let Ok(found) = self.file(root, &p, gone)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Where NAME of `#!/usr/bin/env NAME` is found on the environment's `PATH` (an executable
    /// regular file; a NAME with a slash is that path), or why it is not.
    pub fn command(&mut self, root: &mut Root, name: &Path, gone: &Gone) -> Result<Lookup> {
        let here = [PathBuf::new()];
        let dirs = if name.as_os_str().as_bytes().contains(&b'/') {
            &here[..]
        } else {
            &self.path
        };
        let mut why = Cause::AlreadyMissing;
        let found = self.files.search(root, dirs, name, 0o111, gone, &mut why)?;
        Ok(found.ok_or(why))
    }

    /// The regular file at `path` once its links are followed and `gone` is removed, looked
    /// up once; anything else there counts as missing.
    pub fn file(&mut self, root: &mut Root, path: &Path, gone: &Gone) -> Result<Lookup> {
        self.files.file(root, path, gone)
    }
}

/// Path -> what the loader knows of it: each path is looked up once (keyed by its bytes: two
/// spellings of one path are looked up twice, with the same answer).
#[derive(Default)]
struct Files(HashMap<OsString, Known>);

/// What the loader knows of one path inside the root.
#[derive(Default)]
struct Known {
    /// The regular file there, or why there is none; `None` until looked up.
    file: Option<Lookup>,
    /// The ELF headers of the file at this real path (`Some(None)`: not an executable or
    /// shared object); `None` until read.
    object: Option<Option<Rc<Object>>>,
}

impl Files {
    /// The entry of `path`, made when there is none yet.
    fn known(&mut self, path: &Path) -> &mut Known {
        self.0.entry(path.as_os_str().to_os_string()).or_default()
    }

    /// The first of `dirs` holding a regular file `name` with one of the mode bits `mode`
    /// (`0o111`: an executable; 0: any file); else `None`, and `why` becomes the first removal
    /// on the way (when it is still [`Cause::AlreadyMissing`]).
    fn search(
        &mut self,
        root: &mut Root,
        dirs: &[PathBuf],
        name: &Path,
        mode: u32,
        gone: &Gone,
        why: &mut Cause,
    ) -> Result<Option<Found>> {
        for dir in dirs {
            match self.file(root, &dir.join(name), gone)? {
                Ok(found) if mode == 0 || found.mode & mode != 0 => return Ok(Some(found)),
                Err(removed @ Cause::Removed(_)) if *why == Cause::AlreadyMissing => *why = removed,
                _ => {}
            }
        }
        Ok(None)
    }

    fn file(&mut self, root: &mut Root, path: &Path, gone: &Gone) -> Result<Lookup> {
        if let Some(found) = self.0.get(path.as_os_str()).and_then(|k| k.file.clone()) {
            return Ok(found);
        }
        let found = match locate(root, path, gone)? {
            Presence::There { entry, end, meta } if meta.kind == FileKind::File => Ok(Found {
                entry,
                end,
                mode: meta.mode,
            }),
            Presence::There { .. } => Err(Cause::AlreadyMissing),
            Presence::Absent(cause) => Err(cause),
        };
        self.known(path).file = Some(found.clone());
        Ok(found)
    }
}

/// The machine of the regular file `rel`, if it is ELF.
fn machine_of(root: &mut Root, rel: &Path) -> Option<Machine> {
    let o = root.open_regular(rel).ok()??;
    elf::machine(&o.file, o.len)
}

/// The folders of `DT_RPATH`/`DT_RUNPATH` strings, split on `:` (musl also splits on newlines),
/// with `$ORIGIN` and `${ORIGIN}` replaced by `origin`, the real folder the object was found in.
/// A string with any other `$` (`$LIB`, `$PLATFORM`) is passed over whole, as musl does, and
/// so is one with `$ORIGIN` when there is no `origin` (a secure program).
fn expand(rpath: &[Vec<u8>], origin: Option<&Path>) -> Vec<PathBuf> {
    let slash_origin = origin.map(|o| [b"/", o.as_os_str().as_bytes()].concat());
    let mut out = Vec::new();
    for r in rpath {
        let mut dollars = r.iter().enumerate().filter(|&(_, &b)| b == b'$');
        let only_origin = dollars.all(|(i, _)| {
            let rest = &r[i + 1..];
            let origin = rest.starts_with(b"ORIGIN") || rest.starts_with(b"{ORIGIN}");
            origin && slash_origin.is_some()
        });
        if only_origin {
            entries(r, slash_origin.as_deref(), &mut out);
        }
    }
    out
}

/// Adds to `out` the folders of the search list `list`, split on `:` and newlines, empty
/// entries left out; with `origin`, `$ORIGIN` and `${ORIGIN}` are replaced by it.
pub fn entries(list: &[u8], origin: Option<&[u8]>, out: &mut Vec<PathBuf>) {
    for entry in list.split(|&b| b == b':' || b == b'\n') {
        if entry.is_empty() {
            continue;
        }
        let Some(origin) = origin else {
            out.push(PathBuf::from(OsStr::from_bytes(entry)));
            continue;
        };
        let mut dir = Vec::with_capacity(entry.len() + origin.len());
        let mut rest = entry;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix(b"${ORIGIN}") {
                dir.extend_from_slice(origin);
                rest = after;
            } else if let Some(after) = rest.strip_prefix(b"$ORIGIN") {
                dir.extend_from_slice(origin);
                rest = after;
            } else if let Some((&b, after)) = rest.split_first() {
                dir.push(b);
                rest = after;
            }
        }
        out.push(PathBuf::from(OsStr::from_bytes(&dir)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_expanded_in_both_spellings_and_entries_split() {
        let got = expand(
            &[b"$ORIGIN/../lib:/opt/x".to_vec(), b"${ORIGIN}\n::".to_vec()],
            Some(Path::new("app/bin")),
        );
        assert_eq!(
            got,
            [
                PathBuf::from("/app/bin/../lib"),
                PathBuf::from("/opt/x"),
                PathBuf::from("/app/bin")
            ]
        );
        // Any other `$`: musl passes over the whole string.
        let lib = expand(&[b"/opt/y:$LIB/z".to_vec()], Some(Path::new("app")));
        assert_eq!(lib, Vec::<PathBuf>::new());
        // No $ORIGIN for a secure program; a string without `$` stays.
        let rpath = [b"$ORIGIN/lib".to_vec(), b"/opt/z".to_vec()];
        let lib = expand(&rpath, None);
        assert_eq!(lib, [PathBuf::from("/opt/z")]);
        let lib = expand(&[], None);
        assert_eq!(lib, Vec::<PathBuf>::new());
    }
}
