//! `--prune`: the packages only what the strip removes needed, worked out as `apk del` would.
//!
//! The packages that stay are the closure of: the names in world that stay, the names given
//! with `--keep`, the data programs read without declaring it (`ca-certificates-bundle`,
//! `ca-certificates`, `tzdata`), and what the files no package owns need (an ELF file's
//! `DT_NEEDED` sonames, a script's `#!` interpreter). The closure follows `D:` dependencies
//! through what packages provide (their names, `p:` entries such as `so:`, `cmd:` and paths,
//! and the files they own); version constraints are ignored and `!conflicts` are not
//! dependencies. An install-if package (`i:`) stays when all its conditions stay. The packages
//! removed by definition never stay and satisfy nothing. Every other package is prunable.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::parse::Record;
use super::world::name_of;
use super::{BY_DEFINITION, Installed, Package, db_path};
use crate::error::{Error, Result};
use crate::format::elf;
use crate::format::script;
use crate::root::resolve::Resolved;
use crate::root::{FileKind, InRoot, Item, PathSet, Root};

/// Packages kept whatever the dependencies say: data programs read without declaring it.
pub const ALWAYS_KEPT: [&[u8]; 3] = [b"ca-certificates-bundle", b"ca-certificates", b"tzdata"];

/// A package `--prune` removes (or would), with the bytes of its files that go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// The package.
    pub package: Package,
    /// Bytes of its regular files in the root that no staying package owns.
    pub bytes: u64,
}

/// The answer: which records stay, which are prunable.
pub struct Prunable {
    /// Indices (into the database's records) of the prunable packages, in database order.
    pub leaving: Vec<usize>,
    /// The prunable packages' files that no staying package owns, as real paths inside the
    /// root (each once).
    pub files: Vec<PathBuf>,
    /// The prunable packages with their bytes, for the report.
    pub packages: Vec<Pruned>,
    /// What world said.
    pub world: World,
}

/// What `etc/apk/world` said: what the packages that stay are chosen from.
#[derive(Debug, PartialEq, Eq)]
pub enum World {
    /// It was read; the names in it that no installed package is or provides (apk refuses such
    /// a world: `--prune` must not take what it would have kept).
    Read {
        /// Those names, in world's order.
        unknown: Vec<String>,
    },
    /// It names no package (empty, or conflicts only): nothing was asked for, and every
    /// package but those kept by other means would be prunable.
    Empty,
    /// There is none (nor a file a link there ends at): nothing says what was asked for.
    Missing,
}

/// A dependency word's token: its name without a version constraint; `None` for a conflict.
fn token(word: &[u8]) -> Option<&[u8]> {
    (!word.starts_with(b"!") && !word.is_empty()).then(|| name_of(word))
}

/// The tokens of the words of every `key:` line of a record (see [`token`]).
fn tokens<'a>(r: &Record<'a>, key: u8) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    for (_, v) in r.fields.iter().filter(|(k, _)| *k == key) {
        out.extend(v.split(|&b| b == b' ').filter_map(token));
    }
    out
}

/// `/` and a path inside the root: the form path tokens take.
fn slash(path: &Path) -> Vec<u8> {
    let mut t = b"/".to_vec();
    t.extend_from_slice(path.as_os_str().as_bytes());
    t
}

impl Installed {
    /// Works out the prunable packages of `root` (see the module docs); reads, writes nothing.
    /// `files` are the root's regular files (from the walk of the whole root).
    pub fn prunable(&self, root: &mut Root, keep: &[String], files: &[Item]) -> Result<Prunable> {
        let records = &self.db.records;
        let by_definition: Vec<bool> = records
            .iter()
            .map(|r| BY_DEFINITION.contains(&r.name()))
            .collect();
        let providers = Providers::of(root, records)?;
        // A name that no package is or provides keeps nothing: a typo would prune what the
        // user meant to keep. Nor can it keep what the strip removes whatever it is told.
        for k in keep {
            let mut of = providers.of_token(k.as_bytes()).peekable();
            if of.peek().is_none() {
                return Err(Error::Usage(format!(
                    "--keep {k}: no installed package is or provides {k}"
                )));
            }
            if of.all(|i| by_definition[i]) {
                return Err(Error::Usage(format!(
                    "--keep {k}: the strip removes {k} whatever --keep says (busybox, apk and \
                     ssl_client, and the packages they are, are what it removes)"
                )));
            }
        }
        let (wanted, world) = wanted(root, keep, files, &providers)?;
        let stay = closure(records, &by_definition, &providers, &wanted);
        let leaving: Vec<usize> = (0..records.len())
            .filter(|&i| !stay[i] && !by_definition[i])
            .collect();
        let (files, packages) = leaving_files(root, records, &stay, &leaving)?;
        Ok(Prunable {
            leaving,
            files,
            packages,
            world,
        })
    }
}

/// What each token is provided by (indices into the records), sorted by token: a package's
/// name, its `p:` entries, and its files, by the path as the database names it and as it lies
/// in the root. The packages removed by definition are listed too (their files are owned) but
/// never satisfy anything ([`closure`] passes over them).
struct Providers(Vec<(Vec<u8>, usize)>);

impl Providers {
    fn of(root: &mut Root, records: &[Record]) -> Result<Providers> {
        let mut providers: Vec<(Vec<u8>, usize)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            providers.push((r.name().to_vec(), i));
            for t in self::tokens(r, b'p') {
                providers.push((t.to_vec(), i));
            }
            for (dir, name) in r.file_pairs() {
                let path = db_path(dir, name);
                if let Some(real) = root.resolve_parent(&path)? {
                    providers.push((slash(&real), i));
                }
                providers.push((slash(&path), i));
            }
        }
        providers.sort_unstable();
        Ok(Providers(providers))
    }

    /// The records that provide the token `t`.
    fn of_token<'p>(&'p self, t: &[u8]) -> impl Iterator<Item = usize> + 'p {
        let p = &self.0;
        let from = p.partition_point(|(q, _)| q.as_slice() < t);
        let to = from + p[from..].partition_point(|(q, _)| q.as_slice() == t);
        p[from..to].iter().map(|&(_, i)| i)
    }
}

/// What must stay, before its dependencies: the names in world, `keep`, [`ALWAYS_KEPT`], and
/// what the programs no package owns need. Only a program can need anything: an executable
/// file, or a shared object by name (the start check's rule); a data file no package owns is
/// never opened.
fn wanted(
    root: &mut Root,
    keep: &[String],
    files: &[Item],
    providers: &Providers,
) -> Result<(Vec<Vec<u8>>, World)> {
    let mut wanted: Vec<Vec<u8>> = Vec::new();
    let host = root.host_root().to_path_buf();
    let read = root.read_regular(Path::new(super::WORLD), super::WORLD_LIMIT);
    let world = match super::state_file(&host, read)? {
        Some((_, world)) => {
            let mut unknown = Vec::new();
            for t in world.split(|b| b.is_ascii_whitespace()).filter_map(token) {
                if providers.of_token(t).next().is_none() {
                    unknown.push(String::from_utf8_lossy(t).into_owned());
                }
                wanted.push(t.to_vec());
            }
            if wanted.is_empty() {
                World::Empty
            } else {
                World::Read { unknown }
            }
        }
        None => World::Missing,
    };
    wanted.extend(keep.iter().map(|k| k.as_bytes().to_vec()));
    wanted.extend(ALWAYS_KEPT.iter().map(|n| n.to_vec()));
    let unowned = files
        .iter()
        .filter(|f| {
            f.meta.mode & 0o111 != 0 || f.path.file_name().is_some_and(elf::is_shared_object_name)
        })
        .map(|f| &f.path)
        .filter(|f| providers.of_token(&slash(f)).next().is_none());
    wanted.extend(unowned_needs(root, unowned)?);
    Ok((wanted, world))
}

/// Which records stay: those providing what is `wanted`, and what they depend on (`D:`), in
/// turn; an install-if package when every condition names a staying package. A package removed
/// by definition never stays.
fn closure(
    records: &[Record],
    by_definition: &[bool],
    providers: &Providers,
    wanted: &[Vec<u8>],
) -> Vec<bool> {
    let mut stay = vec![false; records.len()];
    let mut pending: Vec<&[u8]> = wanted.iter().map(Vec::as_slice).collect();
    loop {
        while let Some(t) = pending.pop() {
            for i in providers.of_token(t) {
                if !stay[i] && !by_definition[i] {
                    stay[i] = true;
                    pending.extend(tokens(&records[i], b'D'));
                }
            }
        }
        let satisfied = |w: &[u8]| providers.of_token(name_of(w)).any(|j| stay[j]);
        let installed_if = (0..records.len()).find(|&i| {
            !stay[i]
                && !by_definition[i]
                && records[i].get(b'i').is_some()
                && tokens(&records[i], b'i').into_iter().all(satisfied)
        });
        match installed_if {
            Some(i) => pending.push(records[i].name()),
            None => return stay,
        }
    }
}

/// The files of the `leaving` records that no staying record owns, and each leaving package
/// with the bytes of its regular files among them. What stays is known by the file each line
/// names (its folder resolved in the root), never by the line's text: a file a staying package
/// lists through a linked folder stays.
fn leaving_files(
    root: &mut Root,
    records: &[Record],
    stay: &[bool],
    leaving: &[usize],
) -> Result<(Vec<PathBuf>, Vec<Pruned>)> {
    let mut kept = Vec::new();
    for (r, _) in records.iter().zip(stay).filter(|(_, s)| **s) {
        for (dir, name) in r.file_pairs() {
            kept.extend(root.resolve_entry(dir, name)?);
        }
    }
    let mut taken: PathSet = kept.iter().map(|p| p.as_os_str()).collect();
    let mut own: Vec<Vec<InRoot>> = Vec::with_capacity(leaving.len());
    for &i in leaving {
        let mut real = Vec::new();
        for (dir, name) in records[i].file_pairs() {
            real.extend(root.resolve_entry(dir, name)?);
        }
        own.push(real);
    }
    let mut files = Vec::new();
    let mut packages = Vec::new();
    for (&i, real) in leaving.iter().zip(&own) {
        let mut bytes = 0;
        for real in real {
            // `insert` is false for a file a staying package owns, or one counted already.
            if !taken.insert(real.as_os_str()) {
                continue;
            }
            if let Some(meta) = root.lstat(real)?
                && meta.kind == FileKind::File
            {
                bytes += meta.size;
            }
            files.push(real.to_path_buf());
        }
        packages.push(Pruned {
            package: Package::of(&records[i]),
            bytes,
        });
    }
    Ok((files, packages))
}

/// What the regular files no package owns need: `so:NAME` for each `DT_NEEDED` of an ELF
/// file, the path of each script's `#!` interpreter (and of what it resolves to). A file gone
/// since the walk needs nothing.
fn unowned_needs<'a>(
    root: &mut Root,
    unowned: impl Iterator<Item = &'a InRoot>,
) -> Result<Vec<Vec<u8>>> {
    let mut needs = Vec::new();
    for rel in unowned {
        let mut magic = [0u8; 4];
        if root.read_head(rel, &mut magic) == 4 && &magic == b"\x7fELF" {
            if let Ok(Some(o)) = root.open_regular(rel) {
                for soname in elf::needed(&o.file, o.len) {
                    let mut t = b"so:".to_vec();
                    t.extend_from_slice(&soname);
                    needs.push(t);
                }
            }
        } else if let Some(interp) = script::interpreter(root, rel) {
            needs.push(interp.as_os_str().as_bytes().to_vec());
            if let Resolved::Found(real, _) = root.resolve(&interp)? {
                needs.push(slash(&real));
            }
        }
    }
    Ok(needs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apkdb::{INSTALLED, WORLD, load};
    use std::fs;

    /// A root with `db` as its database, `world`, and the files the records name; of the
    /// unowned files, `usr/local/bin/tool` is executable, `usr/local/bin/app` is not.
    fn prunable_of(db: &str, world: &str, keep: &[&str], unowned: &[(&str, &[u8])]) -> Vec<String> {
        try_prunable_of(db, world, keep, unowned).unwrap()
    }

    fn try_prunable_of(
        db: &str,
        world: &str,
        keep: &[&str],
        unowned: &[(&str, &[u8])],
    ) -> Result<Vec<String>> {
        let t = tempfile::tempdir().unwrap();
        for d in [
            "lib/apk/db",
            "etc/apk",
            "usr/lib",
            "usr/bin",
            "usr/local/bin",
        ] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        fs::write(t.path().join(INSTALLED), db).unwrap();
        fs::write(t.path().join(WORLD), world).unwrap();
        let mut dir = String::new();
        for line in db.lines() {
            if let Some(d) = line.strip_prefix("F:") {
                dir = d.to_string();
            } else if let Some(f) = line.strip_prefix("R:") {
                fs::write(t.path().join(&dir).join(f), b"x").unwrap();
            }
        }
        for (path, bytes) in unowned {
            fs::write(t.path().join(path), bytes).unwrap();
            if *path == "usr/local/bin/tool" {
                use std::os::unix::fs::PermissionsExt;
                let exec = fs::Permissions::from_mode(0o755);
                fs::set_permissions(t.path().join(path), exec).unwrap();
            }
        }
        let mut root = Root::open(t.path()).unwrap();
        let Some(installed) = load(&mut root).unwrap() else {
            panic!("no database")
        };
        let files: Vec<Item> = ["usr/local/bin/app", "usr/local/bin/tool"]
            .iter()
            .map(|p| InRoot::unchecked(p))
            .filter_map(|p| {
                Some(Item {
                    meta: root.lstat(&p).unwrap()?,
                    path: p,
                })
            })
            .collect();
        let keep: Vec<String> = keep.iter().map(|k| k.to_string()).collect();
        let p = installed.prunable(&mut root, &keep, &files)?;
        Ok(p.packages.into_iter().map(|p| p.package.name).collect())
    }

    const DB: &str = "\
P:musl\nV:1\np:so:libc.musl-x86_64.so.1=1\nF:usr/lib\nR:libc.so\n\n\
P:apk-tools\nV:2\nD:musl>=1.2 so:libssl.so.3 zlib !apk-tools-static\nF:usr/bin\nR:apk\n\n\
P:libssl3\nV:3\nD:so:libcrypto.so.3\np:so:libssl.so.3=3\nF:usr/lib\nR:libssl.so.3\n\n\
P:libcrypto3\nV:3\np:so:libcrypto.so.3=3\nF:usr/lib\nR:libcrypto.so.3\n\n\
P:zlib\nV:1\np:so:libz.so.1=1\nF:usr/lib\nR:libz.so.1\n\n\
P:python3\nV:3.12\nD:so:libz.so.1\np:cmd:python3=3.12\nF:usr/bin\nR:python3\n\n\
P:python3-tls\nV:3.12\ni:python3 libssl3\nF:usr/lib\nR:tls.py\n\n\
P:ca-certificates-bundle\nV:1\nF:usr/lib\nR:cert.pem\n\n";

    #[test]
    fn only_what_apk_needed_is_prunable() {
        let got = prunable_of(DB, "apk-tools\nmusl\n", &[], &[]);
        assert_eq!(
            got,
            ["libssl3", "libcrypto3", "zlib", "python3", "python3-tls"]
        );
    }

    #[test]
    fn world_keeps_through_provides_and_versions_are_ignored() {
        // `cmd:python3` names python3; its `so:libz.so.1` keeps zlib.
        let got = prunable_of(DB, "musl cmd:python3>=3\n", &[], &[]);
        assert_eq!(got, ["libssl3", "libcrypto3", "python3-tls"]);
    }

    #[test]
    fn keep_keeps_a_package_with_its_dependencies_and_install_if_follows() {
        // python3 and libssl3 stay: python3-tls's conditions all stay, so it does too.
        let got = prunable_of(DB, "musl\n", &["python3", "libssl3"], &[]);
        assert_eq!(got, Vec::<String>::new());
        let got = prunable_of(DB, "musl\n", &["python3"], &[]);
        assert_eq!(got, ["libssl3", "libcrypto3", "python3-tls"]);
    }

    #[test]
    fn keep_naming_nothing_installed_is_a_usage_error() {
        // `so:libssl.so.3` is provided, `libssl` (a typo for libssl3) is not.
        assert!(try_prunable_of(DB, "musl\n", &["so:libssl.so.3"], &[]).is_ok());
        let e = try_prunable_of(DB, "musl\n", &["libssl"], &[]).unwrap_err();
        assert_eq!(e.exit(), crate::error::Exit::Usage);
        assert!(e.to_string().contains("--keep libssl"), "{e}");
    }

    #[test]
    fn unowned_files_keep_what_they_need() {
        // A script whose interpreter python3 owns keeps python3 (and zlib).
        let script: (&str, &[u8]) = ("usr/local/bin/tool", b"#!/usr/bin/python3\n");
        let got = prunable_of(DB, "musl\n", &[], &[script]);
        assert_eq!(got, ["libssl3", "libcrypto3", "python3-tls"]);
        // A file that is neither ELF nor script needs nothing.
        let data: (&str, &[u8]) = ("usr/local/bin/app", b"plain data");
        let got = prunable_of(DB, "musl\n", &[], &[data]);
        assert_eq!(
            got,
            ["libssl3", "libcrypto3", "zlib", "python3", "python3-tls"]
        );
        // Nor does a script that is not executable (it is not a program: never opened).
        let idle: (&str, &[u8]) = ("usr/local/bin/app", b"#!/usr/bin/python3\n");
        assert_eq!(prunable_of(DB, "musl\n", &[], &[idle]), got);
    }

    #[test]
    fn conflicts_are_not_dependencies_and_by_definition_packages_satisfy_nothing() {
        // busybox provides /bin/sh, yet leaves by definition: the dependency on it keeps nothing.
        let db = "P:busybox\nV:1\np:/bin/sh cmd:sh\nF:usr/bin\nR:busybox\n\n\
P:base\nV:1\nD:/bin/sh !zlib\nF:usr/lib\nR:base.conf\n\n\
P:zlib\nV:1\nF:usr/lib\nR:libz.so.1\n\n";
        let got = prunable_of(db, "base\n", &[], &[]);
        assert_eq!(got, ["zlib"]);
    }

    #[test]
    fn a_file_a_staying_package_owns_through_a_linked_folder_is_not_pruned() {
        // zlib leaves; python3 stays and lists the same library through `opt/lib -> /usr/lib`.
        let db = "P:python3\nV:3\nF:opt/lib\nR:libz.so.1\nF:usr/bin\nR:python3\n\n\
P:zlib\nV:1\nF:usr/lib\nR:libz.so.1\nR:libz.a\n\n";
        let t = tempfile::tempdir().unwrap();
        for d in ["lib/apk/db", "etc/apk", "usr/lib", "usr/bin", "opt"] {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink("/usr/lib", t.path().join("opt/lib")).unwrap();
        fs::write(t.path().join(INSTALLED), db).unwrap();
        fs::write(t.path().join(WORLD), "python3\n").unwrap();
        for f in ["usr/lib/libz.so.1", "usr/lib/libz.a", "usr/bin/python3"] {
            fs::write(t.path().join(f), b"12345").unwrap();
        }
        let mut root = Root::open(t.path()).unwrap();
        let installed = load(&mut root).unwrap().unwrap();
        let p = installed.prunable(&mut root, &[], &[]).unwrap();
        let names: Vec<&str> = p.packages.iter().map(|p| p.package.name.as_str()).collect();
        assert_eq!(names, ["zlib"]);
        assert_eq!(p.files, [PathBuf::from("usr/lib/libz.a")]);
        assert_eq!(p.packages[0].bytes, 5, "only libz.a's bytes go");
    }
}
