//! Helpers shared by the integration tests: the fixtures, the real Alpine tree, its /usr-merged
//! variant, snapshots of a tree, and running the tool.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The debug binary cargo built for the tests (runs on the host, for `--root` runs).
pub fn host_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_alpine-strip"))
}

/// Runs the host binary with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(host_bin()).args(args).output().unwrap()
}

/// Runs the host binary on `root` with `args` after `--root ROOT`.
pub fn run_on(root: &Path, args: &[&str]) -> Output {
    Command::new(host_bin())
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The file an environment variable names. A test that calls this is marked
/// `#[cfg_attr(not(fixture_...), ignore = ...)]` (build.rs): it runs only where the variable is
/// set, or under `CI=true`, where a missing input fails it.
pub fn need_env(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => {
            let p = PathBuf::from(v);
            assert!(p.exists(), "{var}={} does not exist", p.display());
            p
        }
        _ => panic!("{var} is unset: a test that needs it runs only with it (CI=true runs all)"),
    }
}

/// The minirootfs tarball (x86_64).
pub fn minirootfs() -> PathBuf {
    need_env("ALPINE_MINIROOTFS")
}

/// The export of a real Alpine 3.23.3 root (x86_64).
pub fn rootfs_323() -> PathBuf {
    need_env("ALPINE_ROOTFS_3_23")
}

/// The static release binary.
pub fn static_bin() -> PathBuf {
    need_env("ALPINE_STRIP_BIN")
}

/// The installed database, inside a root.
pub const DB: &str = "lib/apk/db/installed";

/// Packages a strip removes whatever files they own (written out here, not taken from the
/// tool: the expected outcome must not come from the tool's own list).
pub const BY_DEFINITION: [&str; 4] = ["busybox", "busybox-binsh", "ssl_client", "apk-tools"];

/// Where a classic path lies in the /usr-merged tree.
pub fn real(p: &Path, merged: bool) -> PathBuf {
    let top = p.components().next().map(|c| c.as_os_str().to_owned());
    match top.as_ref().and_then(|t| t.to_str()) {
        Some("bin" | "sbin" | "lib") if merged => Path::new("usr").join(p),
        _ => p.to_path_buf(),
    }
}

/// Unpacks a minirootfs tarball into a new temp dir.
pub fn unpack(tar: &Path) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("alpine-strip-test")
        .tempdir()
        .unwrap();
    let st = Command::new("tar")
        .arg("xzf")
        .arg(tar)
        .arg("-C")
        .arg(t.path())
        .status()
        .unwrap();
    assert!(st.success(), "tar failed");
    t
}

/// Converts a classic Alpine tree to the /usr-merged layout: bin, sbin and lib move into /usr
/// and are linked back. A compat link in /usr that points at the moved file is replaced by it.
pub fn usr_merge(root: &Path) {
    for d in ["bin", "sbin", "lib"] {
        let src = root.join(d);
        let dst = root.join("usr").join(d);
        merge_into(&src, &dst);
        fs::remove_dir(&src).unwrap();
        symlink(format!("usr/{d}"), &src).unwrap();
    }
}

fn merge_into(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if let Ok(existing) = fs::symlink_metadata(&to) {
            if existing.is_dir() && e.file_type().unwrap().is_dir() {
                merge_into(&e.path(), &to);
                fs::remove_dir(e.path()).unwrap();
                continue;
            }
            assert!(
                existing.file_type().is_symlink(),
                "both {} and {} exist",
                e.path().display(),
                to.display()
            );
            fs::remove_file(&to).unwrap();
        }
        fs::rename(e.path(), &to).unwrap();
    }
}

/// One entry of a snapshot: everything that would show a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    File {
        mode: u32,
        uid: u32,
        gid: u32,
        bytes: Vec<u8>,
    },
    Link(PathBuf),
    Other {
        mode: u32,
        rdev: u64,
    },
}

/// Every path under `root` (relative) with its type, mode, owner and content or target.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
        let node = if m.file_type().is_symlink() {
            Node::Link(fs::read_link(e.path()).unwrap())
        } else if m.is_dir() {
            Node::Dir {
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
            }
        } else if m.is_file() {
            Node::File {
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
                bytes: fs::read(e.path()).unwrap(),
            }
        } else {
            Node::Other {
                mode: m.mode(),
                rdev: m.rdev(),
            }
        };
        out.insert(rel, node);
    }
    out
}

/// Asserts that `after` is `before` less exactly `removed`, every other entry unchanged but for
/// the paths in `changed`.
pub fn assert_only_removed(
    before: &BTreeMap<PathBuf, Node>,
    after: &BTreeMap<PathBuf, Node>,
    removed: &[PathBuf],
    changed: &[PathBuf],
) {
    for p in removed {
        assert!(
            before.contains_key(p),
            "{} was not there to remove",
            p.display()
        );
        assert!(!after.contains_key(p), "{} should be gone", p.display());
    }
    for (p, node) in before {
        if removed.contains(p) {
            continue;
        }
        let now = after
            .get(p)
            .unwrap_or_else(|| panic!("{} was removed but should be kept", p.display()));
        if !changed.contains(p) {
            assert_eq!(now, node, "{} changed", p.display());
        }
    }
    for p in after.keys() {
        assert!(before.contains_key(p), "{} appeared", p.display());
    }
}

/// Package records of an apk database as (name, raw record text), split independently of the
/// tool's own parser.
pub fn apk_records(db: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(db.to_vec()).unwrap();
    text.split("\n\n")
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            let name = r
                .lines()
                .find_map(|l| l.strip_prefix("P:"))
                .unwrap()
                .to_string();
            (name, format!("{r}\n\n"))
        })
        .collect()
}

/// Files (`F:` + `R:`) a raw record owns.
pub fn record_files(record: &str) -> Vec<PathBuf> {
    let mut dir = PathBuf::new();
    let mut out = Vec::new();
    for l in record.lines() {
        if let Some(d) = l.strip_prefix("F:") {
            dir = PathBuf::from(d);
        } else if let Some(r) = l.strip_prefix("R:") {
            out.push(dir.join(r));
        }
    }
    out
}

/// `chroot ROOT cmd...` with a clean environment plus `env`, optionally as PID 1 of a new PID
/// namespace (the way rootful BuildKit runs a RUN step).
pub fn chroot(root: &Path, cmd: &[&str], env: &[(&str, &str)], as_pid1: bool) -> Output {
    let mut c = if as_pid1 {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "chroot"]);
        c
    } else {
        Command::new("chroot")
    };
    c.env_clear().arg(root).args(cmd);
    c.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// A fresh copy of the 3.20.3 minirootfs with the static binary in it as `/strip`, and the
/// binary's path.
pub fn tree_with_strip() -> (tempfile::TempDir, PathBuf) {
    let (tar, bin) = (minirootfs(), static_bin());
    let t = unpack(&tar);
    install_strip(&bin, t.path());
    (t, bin)
}

/// Copies the static binary into `root` as `/strip`.
pub fn install_strip(bin: &Path, root: &Path) {
    fs::copy(bin, root.join("strip")).unwrap();
}

/// Args as OsStrings (for paths that are not UTF-8).
pub fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The entries of a tar archive as (name, raw bytes: header, data, padding), and the bytes
/// after the last entry; read independently of the tool's reader (no long names: the fixtures'
/// archives have none).
pub fn tar_entries(tar: &[u8]) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 512 <= tar.len() && tar[pos..pos + 512].iter().any(|&b| b != 0) {
        let h = &tar[pos..pos + 512];
        let name: Vec<u8> = h[..100].iter().take_while(|&&b| b != 0).copied().collect();
        let size_field = String::from_utf8_lossy(&h[124..136]).into_owned();
        let size = usize::from_str_radix(size_field.trim_matches(['\0', ' ']), 8).unwrap();
        assert_ne!(h[156], b'L', "long names are not expected here");
        let end = pos + 512 + size.div_ceil(512) * 512;
        out.push((String::from_utf8(name).unwrap(), tar[pos..end].to_vec()));
        pos = end;
    }
    (out, tar[pos..].to_vec())
}

/// What `gzip -dc` makes of `file`.
pub fn gunzip(file: &Path) -> Vec<u8> {
    let o = Command::new("gzip").arg("-dc").arg(file).output().unwrap();
    assert!(
        o.status.success(),
        "gzip -dc {}: {}",
        file.display(),
        stderr(&o)
    );
    o.stdout
}

/// The `C:` checksum of package `name` in an installed database.
pub fn apk_checksum(db: &[u8], name: &str) -> String {
    apk_records(db)
        .into_iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, rec)| {
            rec.lines()
                .find_map(|l| l.strip_prefix("C:"))
                .map(String::from)
        })
        .unwrap_or_else(|| panic!("no C: for {name}"))
}

/// Runs Alpine's own `apk del --no-network PACKAGES` in `root` through chroot, after taking
/// `/bin/sh` out of alpine-baselayout's dependencies there (else apk keeps busybox for it).
pub fn apk_del(root: &Path, packages: &[&str]) {
    let db = root.join("lib/apk/db/installed");
    let text = fs::read_to_string(&db).unwrap();
    let edited: String = text
        .lines()
        .map(|l| match l.strip_prefix("D:alpine-baselayout-data=") {
            Some(_) => l.trim_end_matches(" /bin/sh").to_string(),
            None => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(edited, text, "alpine-baselayout depends on /bin/sh");
    fs::write(&db, edited).unwrap();
    let mut cmd = vec!["/sbin/apk", "del", "--no-network", "--quiet"];
    cmd.extend_from_slice(packages);
    let o = chroot(root, &cmd, &[], false);
    assert!(o.status.success(), "apk del: {}", stderr(&o));
}

/// The files an engine binds over `/etc` in a RUN step, with the bytes the helper gives them.
/// They are world-writable and setuid here, on purpose: a walk that looked at them would say so.
pub const ENGINE_FILES: [(&str, &str); 3] = [
    (
        "etc/hosts",
        "127.0.0.1\tlocalhost\n::1\tlocalhost\n10.88.0.7\tbuildhost\n",
    ),
    ("etc/resolv.conf", "nameserver 10.88.0.1\n"),
    ("etc/hostname", "buildhost\n"),
];

/// The mounts of a RUN step (proc, sysfs, a tmpfs /dev with a few nodes, devpts, shm, and the
/// engine's files bound over /etc/hosts, /etc/resolv.conf, /etc/hostname), made in a private
/// mount namespace before `chroot ROOT /strip ARGS`, which runs as PID 1 of its own PID
/// namespace (rootful BuildKit's way), with Docker's default `PATH` and no `LD_LIBRARY_PATH`. The namespaces end with the strip, and with them every
/// mount; mount points the tree lacked are made (as engines make them) and removed again, so the
/// tree afterwards holds only what the strip left. `/strip` must be installed already.
pub fn run_step(root: &Path, args: &[&str]) -> Output {
    run_step_under(root, "", args)
}

/// [`run_step`] with the static binary installed as `/strip` first when the root lacks it (a
/// strip removes it: the next run in the same tree needs it back).
pub fn run_step_installed(root: &Path, args: &[&str]) -> Output {
    if fs::symlink_metadata(root.join("strip")).is_err() {
        install_strip(&static_bin(), root);
    }
    run_step(root, args)
}

/// [`run_step`] with `chroot ROOT /strip ARGS` run under `wrap`, a command line split at
/// spaces (`strace -f -o FILE`): the tracer sees the strip as the engine starts it.
pub fn run_step_under(root: &Path, wrap: &str, args: &[&str]) -> Output {
    run_step_as(root, wrap, "", args)
}

/// [`run_step`] in shell form: `chroot ROOT /bin/sh -c SHELL_FORM sh ARGS` (the root's own
/// shell, as `RUN ulimit -v 900 && exec /strip` runs), `SHELL_FORM` ending in `exec /strip "$@"`.
pub fn run_step_shell(root: &Path, shell_form: &str, args: &[&str]) -> Output {
    run_step_as(root, "", shell_form, args)
}

/// [`run_step_under`] `wrap`, in shell form when `shell_form` is not empty.
fn run_step_as(root: &Path, wrap: &str, shell_form: &str, args: &[&str]) -> Output {
    const SCRIPT: &str = r#"set -e
r=$1; h=$2; shift 2
mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
mount -t tmpfs -o nosuid,mode=755 tmpfs "$r/dev"
mknod -m 666 "$r/dev/null" c 1 3; mknod -m 666 "$r/dev/zero" c 1 5
mknod -m 666 "$r/dev/full" c 1 7; mknod -m 666 "$r/dev/random" c 1 8
mknod -m 666 "$r/dev/urandom" c 1 9; mknod -m 666 "$r/dev/tty" c 5 0
mkdir "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$r/dev/shm"
for f in hosts resolv.conf hostname; do mount --bind "$h/$f" "$r/etc/$f"; done
if [ -n "${SHELL_FORM:-}" ]; then set -- /bin/sh -c "$SHELL_FORM" sh "$@"; else set -- /strip "$@"; fi
# The engine's environment: the image's ENV, here Docker's default PATH.
exec env -u LD_LIBRARY_PATH -u SHELL_FORM PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ${WRAP:-} chroot "$r" "$@""#;
    let engine = tempfile::tempdir().unwrap();
    for (path, bytes) in ENGINE_FILES {
        let host = engine.path().join(Path::new(path).file_name().unwrap());
        fs::write(&host, bytes).unwrap();
        fs::set_permissions(&host, fs::Permissions::from_mode(0o4777)).unwrap();
    }
    let mut made = Vec::new();
    for dir in ["proc", "sys", "dev", "etc"] {
        if fs::symlink_metadata(root.join(dir)).is_err() {
            fs::create_dir(root.join(dir)).unwrap();
            made.push(root.join(dir));
        }
    }
    for (path, _) in ENGINE_FILES {
        if fs::symlink_metadata(root.join(path)).is_err() {
            fs::write(root.join(path), b"").unwrap();
            made.push(root.join(path));
        }
    }
    let o = Command::new("timeout")
        .args([
            "120",
            "unshare",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
        ])
        .args(["--propagation", "private", "sh", "-c", SCRIPT, "sh"])
        .arg(root)
        .arg(engine.path())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("WRAP", wrap)
        .env("SHELL_FORM", shell_form)
        .output()
        .unwrap();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let host = root.to_string_lossy().into_owned();
    assert!(
        !mounts.lines().any(|l| l.contains(&host)),
        "still mounted in {host}: {mounts}"
    );
    // Made last, removed first: a file made in a folder that was made too.
    for p in made.iter().rev() {
        if p.is_dir() {
            fs::remove_dir(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    }
    o
}

// Written out again, not imported: the expected removals must not come from the tool's own list.
pub const BIN_DIRS: [&str; 6] = [
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
];

/// What the strip must remove, worked out independently of the tool: every symlink of the bin
/// folders that names busybox, the busybox binary, apk, libapk, ssl_client, /strip, and every
/// file the four dropped packages own.
pub fn expected_removals(root: &Path, db: &[u8], merged: bool) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("strip")];
    let mut seen_dirs = Vec::new();
    for d in BIN_DIRS {
        let Ok(real_dir) = fs::canonicalize(root.join(d)) else {
            continue;
        };
        if seen_dirs.contains(&real_dir) {
            continue;
        }
        seen_dirs.push(real_dir.clone());
        for e in fs::read_dir(&real_dir).unwrap() {
            let e = e.unwrap();
            if let Ok(target) = fs::read_link(e.path())
                && target.file_name() == Some("busybox".as_ref())
            {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    for f in [
        "bin/busybox",
        "sbin/apk",
        "lib/libapk.so.2.14.0",
        "usr/bin/ssl_client",
    ] {
        out.push(real(Path::new(f), merged));
    }
    for (name, rec) in apk_records(db) {
        if BY_DEFINITION.contains(&name.as_str()) {
            out.extend(record_files(&rec).iter().map(|f| real(f, merged)));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The names of a package list of the JSON report (`pruned`, `prunable`, `dropped`...).
pub fn names_in(list: &serde_json::Value) -> Vec<String> {
    let list = list.as_array().unwrap();
    list.iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}
