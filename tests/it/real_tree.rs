//! The official Alpine 3.20.3 minirootfs (`$ALPINE_MINIROOTFS`), classic and /usr-merged,
//! stripped by the static binary (`$ALPINE_STRIP_BIN`) through chroot, as a RUN step would.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::*;

/// Unpacks the tree (merged or not) with `/strip` in it; in the merged tree a third of the
/// applet links are made relative (`busybox`) and a third point at `/usr/bin/busybox`.
fn prepare(tar: &Path, bin: &Path, merged: bool) -> tempfile::TempDir {
    let t = unpack(tar);
    if merged {
        usr_merge(t.path());
        let dir = t.path().join("usr/bin");
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for (i, n) in names.iter().enumerate() {
            let p = dir.join(n);
            if fs::read_link(&p).ok().as_deref() != Some(Path::new("/bin/busybox")) {
                continue;
            }
            let target = ["busybox", "/usr/bin/busybox", "/bin/busybox"][i % 3];
            fs::remove_file(&p).unwrap();
            symlink(target, &p).unwrap();
        }
    }
    install_strip(bin, t.path());
    t
}

/// `cmd` in the chroot, through qemu (copied to the root's top, e.g. `qemu-s390x-static`)
/// when the tree is of another architecture.
fn in_root(
    root: &Path,
    cmd: &[&str],
    env: &[(&str, &str)],
    pid1: bool,
    qemu: Option<&str>,
) -> std::process::Output {
    let mut full = Vec::new();
    let at_top = qemu.map(|q| format!("/{q}"));
    if let Some(q) = &at_top {
        full.push(q.as_str());
    }
    full.extend_from_slice(cmd);
    chroot(root, &full, env, pid1)
}

fn strip_real_tree(tar: &Path, bin: &Path, merged: bool, qemu: Option<&str>) {
    let t = prepare(tar, bin, merged);
    let root = t.path();
    if let Some(q) = qemu {
        fs::copy(which(q), root.join(q)).unwrap();
    }
    let db_path = real(Path::new("lib/apk/db/installed"), merged);
    let db_before = fs::read(root.join(&db_path)).unwrap();
    let world_before = fs::read_to_string(root.join("etc/apk/world")).unwrap();
    let removed = expected_removals(root, &db_before, merged);
    assert!(removed.len() > 304 + 10, "{}", removed.len());
    let before = snapshot(root);

    // PID 1 of its own PID namespace, as rootful BuildKit runs a RUN step.
    let o = in_root(root, &["/strip"], &[], true, qemu);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("stripped /: removed 304 applet links"),
        "{err}"
    );
    assert!(
        err.contains("apk database: dropped apk-tools 2.14.4-r0, busybox 1.36.1-r29, busybox-binsh 1.36.1-r29, ssl_client 1.36.1-r29"),
        "{err}"
    );

    let after = snapshot(root);
    // apk's state beside the database loses busybox's trigger and scripts (tests/apk_state.rs).
    let changed = [
        db_path.clone(),
        PathBuf::from("etc/apk/world"),
        real(Path::new("lib/apk/db/triggers"), merged),
        real(Path::new("lib/apk/db/scripts.tar"), merged),
    ];
    assert_only_removed(&before, &after, &removed, &changed);
    for p in ["bin/sh", "bin/busybox", "sbin/apk", "strip"] {
        assert!(
            fs::symlink_metadata(root.join(p)).is_err(),
            "{p} is still there"
        );
    }
    if merged {
        for d in ["bin", "sbin", "lib"] {
            assert!(fs::symlink_metadata(root.join(d)).unwrap().is_symlink());
        }
    }

    // The database holds exactly the other records, byte for byte.
    let db_after = fs::read(root.join(&db_path)).unwrap();
    let expected: Vec<(String, String)> = apk_records(&db_before)
        .into_iter()
        .filter(|(n, _)| !BY_DEFINITION.contains(&n.as_str()))
        .collect();
    assert_eq!(expected.len(), 10);
    assert_eq!(apk_records(&db_after), expected);
    let world_after = fs::read_to_string(root.join("etc/apk/world")).unwrap();
    let world_expected: String = world_before
        .lines()
        .filter(|l| *l != "busybox" && *l != "apk-tools")
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(world_after, world_expected);

    // A musl program that survived still runs.
    let o = in_root(
        root,
        &["/usr/bin/getent", "hosts", "localhost"],
        &[],
        false,
        qemu,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("localhost"));
    // No shell is left to run.
    let o = in_root(root, &["/bin/sh", "-c", "true"], &[], false, qemu);
    assert!(!o.status.success());

    // A second run exits 0 and changes nothing but removing itself.
    install_strip(bin, root);
    let o = in_root(root, &["/strip"], &[("container", "test")], false, qemu);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("already stripped"), "{}", stderr(&o));
    assert_eq!(snapshot(root), after);
}

fn which(cmd: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(cmd))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{cmd} is not installed"))
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn classic_tree_is_stripped_in_a_chroot() {
    let (tar, bin) = (minirootfs(), static_bin());
    strip_real_tree(&tar, &bin, false, None);
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn usr_merged_tree_is_stripped_in_a_chroot() {
    let (tar, bin) = (minirootfs(), static_bin());
    strip_real_tree(&tar, &bin, true, None);
}

/// Each architecture's official minirootfs, classic and /usr-merged, stripped by the binary
/// built for it, under its qemu user emulator in a chroot.
fn architecture(arch: &str, qemu: &str) {
    let (fixtures, out) = (need_env("ALPINE_FIXTURES"), need_env("ALPINE_STRIP_OUT"));
    let tar = fixtures.join(format!("alpine-minirootfs-3.20.3-{arch}.tar.gz"));
    let bin = out.join(format!("strip-{arch}"));
    assert!(tar.exists(), "{} is missing", tar.display());
    assert!(bin.exists(), "{} is missing (make build)", bin.display());
    strip_real_tree(&tar, &bin, false, Some(qemu));
    strip_real_tree(&tar, &bin, true, Some(qemu));
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn x86_tree_is_stripped_under_qemu() {
    architecture("x86", "qemu-i386-static");
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn aarch64_tree_is_stripped_under_qemu() {
    architecture("aarch64", "qemu-aarch64-static");
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn armhf_tree_is_stripped_under_qemu() {
    architecture("armhf", "qemu-arm-static");
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn armv7_tree_is_stripped_under_qemu() {
    architecture("armv7", "qemu-arm-static");
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn ppc64le_tree_is_stripped_under_qemu() {
    architecture("ppc64le", "qemu-ppc64le-static");
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn riscv64_tree_is_stripped_under_qemu() {
    architecture("riscv64", "qemu-riscv64-static");
}

#[test]
#[cfg_attr(
    not(fixture_archs),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_OUT"
)]
fn s390x_tree_is_stripped_under_qemu() {
    architecture("s390x", "qemu-s390x-static");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn stripping_a_hosts_slash_is_refused_and_force_overrides() {
    let (tar, bin) = (minirootfs(), static_bin());
    let t = prepare(&tar, &bin, false);
    let before = snapshot(t.path());
    let o = chroot(t.path(), &["/strip"], &[], false);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("refusing to strip /"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(snapshot(t.path()), before);

    let o = chroot(t.path(), &["/strip", "--force"], &[], false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!t.path().join("bin/busybox").exists());
    assert!(!t.path().join("strip").exists());
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn alpines_own_apk_reads_the_new_database() {
    let (tar, bin) = (minirootfs(), static_bin());
    let stripped = prepare(&tar, &bin, false);
    let o = chroot(stripped.path(), &["/strip"], &[], true);
    assert!(o.status.success(), "{}", stderr(&o));
    let pristine = unpack(&tar);
    let db = "lib/apk/db/installed";
    fs::copy(stripped.path().join(db), pristine.path().join(db)).unwrap();
    let o = chroot(pristine.path(), &["/sbin/apk", "info", "-v"], &[], false);
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    let names: Vec<(String, String)> = apk_records(&fs::read(pristine.path().join(db)).unwrap())
        .into_iter()
        .map(|(n, rec)| {
            let v = rec
                .lines()
                .find_map(|l| l.strip_prefix("V:"))
                .unwrap()
                .to_string();
            (n, v)
        })
        .collect();
    assert_eq!(listed.lines().count(), 10, "{listed}");
    for (n, v) in &names {
        assert!(
            listed.lines().any(|l| l == format!("{n}-{v}")),
            "{n}-{v} not in {listed}"
        );
    }
    for gone in BY_DEFINITION {
        assert!(!listed.lines().any(|l| l.starts_with(&format!("{gone}-1")) || l.starts_with(&format!("{gone}-2"))), "{listed}");
    }
    let o = chroot(
        pristine.path(),
        &["/sbin/apk", "info", "-L", "musl"],
        &[],
        false,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("lib/ld-musl-x86_64.so.1"));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn check_fails_the_pristine_tree_and_passes_the_stripped_one() {
    let (tar, bin) = (minirootfs(), static_bin());
    let t = prepare(&tar, &bin, false);
    let o = run_step_installed(t.path(), &["--check"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    for named in ["busybox /bin/busybox", "apk /sbin/apk", "shell /bin/sh"] {
        assert!(
            err.contains(&format!("error: {named}")),
            "{named} not in {err}"
        );
    }

    let o = run_step(t.path(), &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["removed"]["applet_links"].as_array().unwrap().len(), 304);
    assert_eq!(v["removed"]["self"], serde_json::json!(["/strip"]));
    assert_eq!(v["apk_db"]["dropped"].as_array().unwrap().len(), 4);
    // musl-utils' shell scripts, dead once /bin/sh goes: notes, not warnings.
    let noted: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["severity"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        noted,
        [("note", "/sbin/ldconfig"), ("note", "/usr/bin/ldd")]
    );

    // --strict passes the stripped stock tree: nothing to act on.
    let o = run_step_installed(t.path(), &["--check", "--strict"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("note: 2 scripts apk installed need a shell or env, which a distroless image has not, and cannot run (/sbin/ldconfig, /usr/bin/ldd; #!/bin/sh is missing)"),
        "{err}"
    );
    assert!(
        err.contains("is distroless: 0 errors, 0 warnings, 2 notes"),
        "{err}"
    );
    assert!(!err.contains(": warning:"), "{err}");
    // -v lists each note.
    let o = run_step_installed(t.path(), &["--check", "-v"]);
    let err = stderr(&o);
    assert!(
        err.contains("note: missing-interpreter /sbin/ldconfig: #!/bin/sh is missing"),
        "{err}"
    );
    assert!(
        err.contains("note: missing-interpreter /usr/bin/ldd"),
        "{err}"
    );
}

/// Stays on `--root` (the host binary): the strip is killed mid-run, which needs the child
/// process itself (a RUN step gives its output only at its end); it is also the test of a
/// whole strip through `--root`.
#[test]
#[cfg_attr(not(fixture_minirootfs), ignore = "needs ALPINE_MINIROOTFS")]
fn a_strip_killed_at_any_moment_leaves_the_old_database_or_the_new_one() {
    let tar = minirootfs();
    let pristine = unpack(&tar);
    let db = "lib/apk/db/installed";
    let old = fs::read(pristine.path().join(db)).unwrap();
    // The database a finished strip writes.
    let done = unpack(&tar);
    assert!(run_on(done.path(), &["-q"]).status.success());
    let new = fs::read(done.path().join(db)).unwrap();
    assert_ne!(old, new);

    let (mut saw_old, mut saw_new) = (0, 0);
    for delay_us in (0..30_000).step_by(2_000) {
        let t = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", pristine.path().display()))
            .arg(t.path())
            .status()
            .unwrap();
        assert!(st.success());
        let mut child = std::process::Command::new(host_bin())
            .arg("--root")
            .arg(t.path())
            .arg("-q")
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(delay_us));
        let _ = child.kill();
        let _ = child.wait();
        let now = fs::read(t.path().join(db)).unwrap();
        assert!(
            now == old || now == new,
            "a half database after a kill at {delay_us} us"
        );
        if now == old {
            saw_old += 1
        } else {
            saw_new += 1
        }
        // Whatever the kill left, the next run finishes the job.
        let o = run_on(t.path(), &["-q"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(fs::read(t.path().join(db)).unwrap(), new);
        // The database is renamed last: whatever the kill left, the triggers file and the
        // scripts archive end as a finished strip leaves them.
        for f in ["lib/apk/db/triggers", "lib/apk/db/scripts.tar"] {
            assert_eq!(
                fs::read(t.path().join(f)).unwrap(),
                fs::read(done.path().join(f)).unwrap(),
                "{f} after a kill at {delay_us} us and a second run"
            );
        }
        assert!(
            !t.path()
                .join("lib/apk/db/installed.alpine-strip.tmp")
                .exists()
        );
    }
    eprintln!("killed strips: {saw_old} left the old database, {saw_new} the new one");
}
