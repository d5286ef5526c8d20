//! glibc's system search path inside the root (`elf/dl-load.c`, `ldconfig`): the folders of
//! `/etc/ld.so.conf` (plain lines, and `include` lines whose last name may hold `*`, like
//! `/etc/ld.so.conf.d/*.conf`), then glibc's default folders (`/lib64` and `/usr/lib64` on
//! 64-bit machines, `/lib`, `/usr/lib`) with the multiarch folders Debian's glibc searches
//! (`/lib/x86_64-linux-gnu`, `/usr/lib/x86_64-linux-gnu`, ...).
//!
//! `/etc/ld.so.cache` is not read: `ldconfig` builds it from these same folders, so a library
//! it names is found here too (a cache older than the tree, or a library put there by hand, is
//! not seen); without a cache, the folders of `ld.so.conf` are not searched, as glibc's loader
//! does not search them. `hwcap` lines and glibc-hwcaps subfolders are passed over. Every file is read
//! through the root, as a regular file with a limit; one that cannot be read adds nothing.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::format::elf::Machine;
use crate::root::resolve::Resolved;
use crate::root::{FileKind, Root};

/// The most bytes read of one configuration file.
const CONF_LIMIT: u64 = 64 << 10;

/// The most configuration files read (`ld.so.conf` and what it includes, in all).
const MAX_CONF_FILES: usize = 64;

/// The most `include` levels followed.
const MAX_DEPTH: usize = 4;

/// The Debian multiarch triplet of `machine` (its `/lib/TRIPLET` folder), when it is one of
/// the machines Debian builds glibc for and Alpine runs on.
pub fn triplet(machine: Machine) -> Option<&'static str> {
    Some(match (machine.id, machine.wide, machine.big) {
        (62, true, false) => "x86_64-linux-gnu",
        (183, true, false) => "aarch64-linux-gnu",
        (3, false, false) => "i386-linux-gnu",
        (40, false, false) => "arm-linux-gnueabihf",
        (21, true, false) => "powerpc64le-linux-gnu",
        (22, true, true) => "s390x-linux-gnu",
        (243, true, false) => "riscv64-linux-gnu",
        _ => return None,
    })
}

/// glibc's system search path for objects of `machine` in `root`: the folders of
/// `/etc/ld.so.conf`, then the default ones, each once.
pub fn system_path(root: &mut Root, machine: Machine) -> Vec<PathBuf> {
    let mut conf = Conf::default();
    // glibc's loader reads the folders of ld.so.conf only through the cache ldconfig makes
    // of them: without `/etc/ld.so.cache` (ldconfig never ran, as in most Alpine images with
    // glibc programs copied in) they are not searched.
    if let Ok(Resolved::Found(_, m)) = root.resolve(Path::new("etc/ld.so.cache"))
        && m.kind == FileKind::File
    {
        conf.read(root, Path::new("/etc/ld.so.conf"), 0);
    }
    let mut out = conf.folders;
    if let Some(t) = triplet(machine) {
        out.push(Path::new("/lib").join(t));
        out.push(Path::new("/usr/lib").join(t));
    }
    if machine.wide {
        out.extend(["/lib64", "/usr/lib64"].map(PathBuf::from));
    }
    out.extend(["/lib", "/usr/lib"].map(PathBuf::from));
    let mut seen = Vec::with_capacity(out.len());
    out.retain(|d| {
        let new = !seen.contains(d);
        seen.push(d.clone());
        new
    });
    out
}

/// What `/etc/ld.so.conf` and its includes name so far.
#[derive(Default)]
struct Conf {
    folders: Vec<PathBuf>,
    files: usize,
}

impl Conf {
    /// Adds the folders the configuration file `path` (absolute, inside the root) names,
    /// following its `include` lines (`depth`: how many were followed to reach it).
    fn read(&mut self, root: &mut Root, path: &Path, depth: usize) {
        if self.files >= MAX_CONF_FILES || depth > MAX_DEPTH {
            return;
        }
        self.files += 1;
        let rel = path.strip_prefix("/").unwrap_or(path);
        let Ok(Some((_, bytes))) = root.read_regular(rel, CONF_LIMIT) else {
            return;
        };
        let folder = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.split(|&b| b == b'#').next().unwrap_or_default();
            let line = line.trim_ascii();
            if let Some(rest) = line.strip_prefix(b"include")
                && rest.first().is_some_and(u8::is_ascii_whitespace)
            {
                for pattern in rest
                    .split(u8::is_ascii_whitespace)
                    .filter(|p| !p.is_empty())
                {
                    let pattern = folder.join(OsStr::from_bytes(pattern));
                    for file in matches(root, &pattern) {
                        self.read(root, &file, depth + 1);
                    }
                }
            } else if line.starts_with(b"/") {
                // glibc's old `DIR=TYPE` lines: the folder is what comes before `=`.
                let dir = line.split(|&b| b == b'=').next().unwrap_or_default();
                self.folders
                    .push(PathBuf::from(OsStr::from_bytes(dir.trim_ascii())));
            }
        }
    }
}

/// The files `pattern` names: itself, or when its last name holds `*`, the entries of its
/// folder that match (any run of bytes for each `*`), sorted as glob sorts them.
fn matches(root: &mut Root, pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Vec::new();
    };
    let name = name.as_bytes();
    if !name.contains(&b'*') {
        return vec![pattern.to_path_buf()];
    }
    let rel = dir.strip_prefix("/").unwrap_or(dir);
    let Ok(Resolved::Found(real, meta)) = root.resolve(rel) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if meta.kind == FileKind::Dir
        && let Ok(mut listing) = root.open_dir(&real)
    {
        let _ = listing.for_each(|entry, _| names.push(entry.name().to_vec()));
    }
    names.retain(|n| !n.starts_with(b".") && glob(name, n));
    names.sort_unstable();
    names
        .into_iter()
        .map(|n| dir.join(OsStr::from_bytes(&n)))
        .collect()
}

/// Whether `name` matches `pattern`, where each `*` stands for any run of bytes.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let mut parts = pattern.split(|&b| b == b'*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&[u8]> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle.iter().filter(|p| !p.is_empty()) {
        match rest.windows(part.len()).position(|w| w == *part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::tests::tree;
    use std::fs;

    #[test]
    fn ld_so_conf_folders_and_includes_come_before_the_default_and_multiarch_folders() {
        let (t, mut root) = tree();
        let etc = t.path().join("etc");
        fs::create_dir_all(etc.join("ld.so.conf.d")).unwrap();
        // A relative include is relative to the file's folder; an include of itself ends.
        let conf =
            "include ld.so.conf.d/*.conf\n/opt/a=libc6 # old\nhwcap 0 x\ninclude /etc/ld.so.conf\n";
        fs::write(etc.join("ld.so.conf"), conf).unwrap();
        fs::write(etc.join("ld.so.conf.d/b.conf"), "\t/opt/b\n\n/lib\n").unwrap();
        fs::write(etc.join("ld.so.conf.d/b.conf.off"), "/opt/off\n").unwrap();
        let x86_64 = Machine {
            wide: true,
            big: false,
            id: 62,
        };
        // Without the cache ldconfig makes, glibc's loader never sees ld.so.conf's folders.
        let defaults = [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
        ];
        assert_eq!(system_path(&mut root, x86_64), defaults.map(PathBuf::from));
        fs::write(etc.join("ld.so.cache"), b"").unwrap();
        let mut root = root.fresh().unwrap();
        let want = [
            "/opt/b",
            "/lib",
            "/opt/a",
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/usr/lib",
        ];
        assert_eq!(system_path(&mut root, x86_64), want.map(PathBuf::from));
        // No ld.so.conf, a 32-bit machine: the defaults without /lib64.
        fs::remove_file(etc.join("ld.so.conf")).unwrap();
        let i386 = Machine {
            wide: false,
            big: false,
            id: 3,
        };
        let want = [
            "/lib/i386-linux-gnu",
            "/usr/lib/i386-linux-gnu",
            "/lib",
            "/usr/lib",
        ];
        assert_eq!(system_path(&mut root, i386), want.map(PathBuf::from));
    }

    #[test]
    fn a_star_matches_any_run_of_bytes_in_a_name() {
        assert!(glob(b"*.conf", b"x86_64-linux-gnu.conf"));
        assert!(glob(b"*.conf", b".conf"));
        assert!(!glob(b"*.conf", b"libc.conf.bak"));
        assert!(glob(b"a*b*c", b"aXXbYc"));
        assert!(!glob(b"a*b*c", b"aXXcYb"));
        assert!(glob(b"plain", b"plain"));
        assert!(!glob(b"plain", b"plainer"));
        assert!(glob(b"a**b", b"ab"));
    }
}
