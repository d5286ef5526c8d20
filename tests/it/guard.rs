//! The container guard, one signal at a time: stripping `/` is refused without any, and each
//! signal alone is enough (and is the one reported). Runs the static binary in a chroot of a
//! small tree, where the host's own signals (its /.dockerenv, its /proc) are out of sight.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

fn tree(bin: &Path) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["bin", "proc", "run", "usr/bin"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(r.join("bin/busybox"), b"not really busybox").unwrap();
    symlink("/bin/busybox", r.join("bin/sh")).unwrap();
    install_strip(bin, r);
    t
}

/// The container signals the run reported, with -v.
fn signals(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter_map(|l| l.strip_prefix("alpine-strip: container detected: "))
        .map(str::to_owned)
        .collect()
}

/// `unshare FLAGS sh -c SCRIPT sh ARGS...` with a clean environment.
fn unshare(flags: &[&str], script: &str, args: &[&Path]) -> Output {
    Command::new("unshare")
        .args(flags)
        .args(["sh", "-c", script, "sh"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap()
}

fn accepted_with(o: &Output, root: &Path, signal: &str) {
    assert!(o.status.success(), "{}", stderr(o));
    assert_eq!(signals(o), [signal], "{}", stderr(o));
    assert!(!root.join("bin/busybox").exists());
    assert!(!root.join("bin/sh").exists());
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn no_signal_is_refused_and_changes_nothing() {
    let bin = static_bin();
    let t = tree(&bin);
    let before = snapshot(t.path());
    let o = chroot(t.path(), &["/strip", "-v"], &[], false);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing to strip /"));
    assert_eq!(snapshot(t.path()), before);
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn marker_files_each_suffice() {
    let bin = static_bin();
    for (marker, dir) in [
        (".dockerenv", false),
        ("run/.containerenv", false),
        ("kaniko", true),
    ] {
        let t = tree(&bin);
        if dir {
            fs::create_dir(t.path().join(marker)).unwrap();
        } else {
            fs::write(t.path().join(marker), b"").unwrap();
        }
        let o = chroot(t.path(), &["/strip", "-v"], &[], false);
        accepted_with(&o, t.path(), &format!("/{marker} exists"));
    }
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn the_container_variable_suffices() {
    let bin = static_bin();
    let t = tree(&bin);
    let o = chroot(
        t.path(),
        &["/strip", "-v"],
        &[("container", "podman")],
        false,
    );
    accepted_with(&o, t.path(), "$container=podman");
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn pid_1_suffices() {
    let bin = static_bin();
    let t = tree(&bin);
    let o = chroot(t.path(), &["/strip", "-v"], &[], true);
    accepted_with(&o, t.path(), "running as PID 1");
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn a_user_namespace_suffices() {
    let bin = static_bin();
    let t = tree(&bin);
    let script = r#"mount --rbind /proc "$1/proc" && exec chroot "$1" /strip -v"#;
    let o = unshare(
        &["--user", "--map-root-user", "--mount"],
        script,
        &[t.path()],
    );
    accepted_with(&o, t.path(), "in a user namespace");
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn an_overlay_root_suffices() {
    let bin = static_bin();
    let lower = tree(&bin);
    let work = tempfile::tempdir().unwrap();
    for d in ["upper", "work", "merged"] {
        fs::create_dir(work.path().join(d)).unwrap();
    }
    let script = r#"mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged" \
        && mount --rbind /proc "$2/merged/proc" && exec chroot "$2/merged" /strip -v"#;
    let o = unshare(&["--mount"], script, &[lower.path(), work.path()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(signals(&o), ["/ is overlay"], "{}", stderr(&o));
    // The lower layer is untouched; the upper one holds the whiteouts, as a RUN layer would.
    assert!(lower.path().join("bin/busybox").exists());
    for gone in ["bin/busybox", "bin/sh", "strip"] {
        let w = fs::symlink_metadata(work.path().join("upper").join(gone)).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        assert!(
            w.file_type().is_char_device() && w.rdev() == 0,
            "{gone} is not whited out"
        );
    }
}
