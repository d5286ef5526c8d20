//! Synthetic trees, classic and /usr-merged: exactly what is removed and what is kept, and the
//! failures that must change nothing. Each run is a RUN step ([`run_step`], with `/strip` in
//! the tree; these need root) but for the few that say why they stay on `--root`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// A tree in `t/root` with busybox, its links in every form, apk, and links that must stay.
/// Returns (root, links that must go, files that must go).
fn build(t: &Path, merged: bool) -> (PathBuf, Vec<PathBuf>, Vec<PathBuf>) {
    let r = t.join("root");
    let bb = if merged { "usr/bin" } else { "bin" };
    for d in [
        "usr/bin",
        "usr/sbin",
        "usr/local/bin",
        "usr/local/sbin",
        "usr/lib/jvm/x/bin",
        "usr/lib",
        "etc",
    ] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    if merged {
        symlink("usr/bin", r.join("bin")).unwrap();
        symlink("usr/sbin", r.join("sbin")).unwrap();
        symlink("usr/lib", r.join("lib")).unwrap();
    } else {
        for d in ["bin", "sbin", "lib"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
    }
    // Outside the root: a busybox that a climbing link must never reach.
    fs::create_dir_all(t.join("outside")).unwrap();
    fs::write(t.join("outside/busybox"), b"host busybox").unwrap();

    let p = |s: &str| PathBuf::from(s);
    fs::write(r.join(bb).join("busybox"), vec![0u8; 1000]).unwrap();
    fs::hard_link(r.join(bb).join("busybox"), r.join("usr/sbin/bb-hard")).unwrap();
    fs::write(r.join("sbin/apk"), b"apk").unwrap();
    fs::write(r.join("lib/libapk.so.2.14.0"), b"libapk").unwrap();
    fs::write(r.join("usr/bin/ssl_client"), b"ssl").unwrap();
    fs::write(r.join("lib/ld-musl-x86_64.so.1"), b"musl").unwrap();
    fs::write(r.join("usr/local/bin/python3.12"), b"py").unwrap();
    fs::write(r.join("usr/lib/jvm/x/bin/java"), b"java").unwrap();

    let sbin = if merged { "usr/sbin" } else { "sbin" };
    let links = [
        (format!("{bb}/ls"), "/bin/busybox".to_string()),
        ("usr/bin/env".into(), "../../bin/busybox".into()),
        ("usr/bin/chain".into(), "env".into()),
        (
            "usr/sbin/rel".into(),
            if merged {
                "../bin/busybox"
            } else {
                "../../bin/busybox"
            }
            .into(),
        ),
        ("usr/sbin/viahard".into(), "bb-hard".into()),
        (format!("{sbin}/ifup"), "/usr/bin/../../bin/busybox".into()),
        (
            "usr/local/bin/climb".into(),
            "../../../../../../bin/busybox".into(),
        ),
        ("usr/local/sbin/abs".into(), format!("/{bb}/busybox")),
        // Climbs out, so for the kernel in the chroot it ends at /outside/busybox, which is
        // not there: a dangling link naming busybox, removed; the host's busybox is untouched.
        (
            "usr/local/bin/escape".into(),
            "../../../../../../../outside/busybox".into(),
        ),
    ];
    let mut gone = Vec::new();
    for (link, target) in &links {
        symlink(target, r.join(link)).unwrap();
        gone.push(p(link));
    }
    let keep = [
        ("usr/local/bin/python3", "python3.12"),
        ("usr/bin/java", "/usr/lib/jvm/x/bin/java"),
        ("usr/bin/ldd", "/lib/ld-musl-x86_64.so.1"),
        ("usr/sbin/dangling", "/nowhere"),
        ("usr/local/sbin/loop1", "loop2"),
        ("usr/local/sbin/loop2", "loop1"),
        ("usr/bin/python", "/usr/local/bin/python3"),
    ];
    for (link, target) in keep {
        symlink(target, r.join(link)).unwrap();
    }
    if !merged {
        symlink("/bin/busybox", r.join("bin/sh")).unwrap();
        gone.push(p("bin/sh"));
        symlink("/lib/ld-musl-x86_64.so.1", r.join("sbin/ldconfig-link")).unwrap();
    }
    let files = vec![
        p(&format!("{bb}/busybox")),
        p("usr/sbin/bb-hard"),
        p(if merged { "usr/sbin/apk" } else { "sbin/apk" }),
        p(if merged {
            "usr/lib/libapk.so.2.14.0"
        } else {
            "lib/libapk.so.2.14.0"
        }),
        p("usr/bin/ssl_client"),
    ];
    // A read-only file and a read-only folder: root removes from them all the same.
    fs::set_permissions(r.join("sbin/apk"), fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(r.join("usr/local/sbin"), fs::Permissions::from_mode(0o555)).unwrap();
    (r, gone, files)
}

/// [`build`] with the static binary in the root as `/strip`.
fn build_with_strip(t: &Path, merged: bool) -> (PathBuf, Vec<PathBuf>, Vec<PathBuf>) {
    let built = build(t, merged);
    install_strip(&static_bin(), &built.0);
    built
}

/// The size of `/strip`, which a strip frees with the rest.
fn strip_size() -> u64 {
    fs::metadata(static_bin()).unwrap().len()
}

fn strips_exactly(merged: bool) {
    let t = tempfile::tempdir().unwrap();
    let (root, links, files) = build_with_strip(t.path(), merged);
    let before = snapshot(t.path());
    let o = run_step(&root, &["-v"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = snapshot(t.path());
    let removed: Vec<PathBuf> = links
        .iter()
        .chain(&files)
        .chain([&PathBuf::from("strip")])
        .map(|p| Path::new("root").join(p))
        .collect();
    assert_only_removed(&before, &after, &removed, &[]);
    let err = stderr(&o);
    // The files and /strip itself.
    assert!(
        err.contains(&format!(
            "removed {} applet links and {} files",
            links.len(),
            files.len() + 1
        )),
        "{err}"
    );
    assert!(
        err.contains("skipped /usr/local/sbin/loop1: symlink loop"),
        "{err}"
    );
    // busybox (1000, both its links gone) + apk (3) + libapk (6) + ssl_client (3) + /strip
    let freed = format!("freed {} bytes", 1012 + strip_size());
    assert!(err.contains(&freed), "{freed} not in {err}");
    // The folder symlinks of a merged tree are still there.
    if merged {
        for d in ["bin", "sbin", "lib"] {
            assert!(fs::symlink_metadata(root.join(d)).unwrap().is_symlink());
        }
    }
    // Running twice is fine and changes nothing (but removing itself, put back for it).
    let o = run_step_installed(&root, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("already stripped"), "{}", stderr(&o));
    assert_eq!(snapshot(t.path()), after);
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn classic_tree_loses_exactly_busybox_its_links_and_apk() {
    strips_exactly(false);
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn usr_merged_tree_loses_exactly_busybox_its_links_and_apk() {
    strips_exactly(true);
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn dry_run_changes_nothing_and_plans_what_the_run_removes() {
    let t = tempfile::tempdir().unwrap();
    let (root, links, files) = build_with_strip(t.path(), false);
    let before = snapshot(t.path());
    let o = run_step(&root, &["--dry-run", "-v"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(snapshot(t.path()), before);
    let planned = stderr(&o)
        .lines()
        .filter(|l| l.starts_with("alpine-strip: would remove "))
        .count();
    // The links, the files and /strip itself.
    assert_eq!(planned, links.len() + files.len() + 1);
}

/// Stays on `--root` (the host binary): a user other than root cannot chroot, so the tool's
/// own refusal is reached only outside a RUN step.
#[test]
fn not_root_is_refused_before_anything_is_removed() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build(t.path(), false);
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(t.path());
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(host_bin())
        .arg("--root")
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot remove entries: Permission denied (os error 13)"),
        "{err}"
    );
    assert_eq!(snapshot(t.path()), before);
}

/// Stays on `--root` (the host binary): the root is bound read-only in the run's own mount
/// namespace first, which [`run_step`] has no place for.
#[test]
fn a_read_only_filesystem_is_refused_before_anything_is_removed() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build(t.path(), true);
    let before = snapshot(t.path());
    let script =
        r#"mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && exec "$2" --root "$1""#;
    let o = in_mount_namespace(script, &root);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Read-only file system (os error 30)"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(snapshot(t.path()), before);
}

/// Clears `chattr +i` again, whatever the test's outcome, so that the tree can be removed.
struct Unpin(PathBuf);

impl Drop for Unpin {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
#[cfg_attr(
    not(all(can_chattr, fixture_strip_bin)),
    ignore = "needs ALPINE_STRIP_BIN, and chattr +i, not possible here (CI=true runs it)"
)]
fn an_immutable_file_is_refused_before_anything_is_removed() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build_with_strip(t.path(), false);
    let pinned = root.join("sbin/apk");
    let set = Command::new("chattr").arg("+i").arg(&pinned).output();
    let _unpin = Unpin(pinned.clone());
    assert!(set.is_ok_and(|o| o.status.success()), "chattr +i failed");
    let before = snapshot(t.path());
    let o = run_step(&root, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("sbin/apk: cannot remove (immutable or append-only, see lsattr)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(snapshot(t.path()), before);
}

/// Runs `sh -c SCRIPT sh ROOT TOOL` in a mount namespace of its own (`unshare -m`).
fn in_mount_namespace(script: &str, root: &Path) -> std::process::Output {
    Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(root)
        .arg(host_bin())
        .output()
        .unwrap()
}

fn with_db(root: &Path, db: &[u8]) {
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::create_dir_all(root.join("etc/apk")).unwrap();
    fs::write(root.join("lib/apk/db/installed"), db).unwrap();
    fs::write(root.join("etc/apk/world"), b"busybox\nmusl\n").unwrap();
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn a_malformed_apk_database_stops_the_run_before_anything_is_removed() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build_with_strip(t.path(), false);
    let bad = b"P:musl\nV:1\n\nP:busybox\nV:1.36\nno colon here\n\n";
    with_db(&root, bad);
    let before = snapshot(&root);
    for args in [&[][..], &["--dry-run"][..]] {
        let o = run_step_installed(&root, args);
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("/lib/apk/db/installed: line 6"), "{err}");
        assert!(err.contains("nothing was removed"), "{err}");
        assert_eq!(snapshot(&root), before, "the tree is as it was");
    }
    // The database's state is in the JSON document, with the line.
    let o = run_step_installed(&root, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["outcome"].as_str(), v["exit_code"].as_i64()),
        (Some("failed"), Some(5))
    );
    assert_eq!(v["apk_db"]["status"], "malformed");
    assert_eq!(
        v["apk_db"]["error"],
        "/lib/apk/db/installed: line 6: not a `X:value` line"
    );
    assert_eq!(snapshot(&root), before);
    // --keep-apk-db strips anyway and leaves the database as it is.
    let o = run_step_installed(&root, &["--keep-apk-db"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!root.join("bin/busybox").exists());
    assert_eq!(fs::read(root.join("lib/apk/db/installed")).unwrap(), bad);
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn keep_apk_db_leaves_the_database_alone() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build_with_strip(t.path(), false);
    let db = b"P:busybox\nV:1.36.1-r29\nF:bin\nR:busybox\nF:etc\nR:securetty\n\n";
    with_db(&root, db);
    fs::write(root.join("etc/securetty"), b"tty1\n").unwrap();
    let o = run_step_installed(&root, &["--keep-apk-db"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(root.join("lib/apk/db/installed")).unwrap(), db);
    assert!(root.join("etc/securetty").exists());
    // Without the flag the record and the file it owns go.
    let o = run_step_installed(&root, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(root.join("lib/apk/db/installed")).unwrap(), b"");
    assert!(!root.join("etc/securetty").exists());
    assert!(stderr(&o).contains("apk database: dropped busybox 1.36.1-r29"));
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn json_is_valid_for_odd_names_and_holds_the_summarys_facts() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().unwrap();
    let (root, links, files) = build_with_strip(t.path(), false);
    let odd = OsStr::from_bytes(b"a\nb\"c\xff");
    symlink("/bin/busybox", root.join("usr/bin").join(odd)).unwrap();
    let o = run_step(&root, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["outcome"], "stripped");
    assert_eq!(v["exit_code"], 0);
    let removed = &v["removed"];
    let n_links = removed["applet_links"].as_array().unwrap().len();
    assert_eq!(n_links, links.len() + 1);
    let n_files: usize = ["apk", "ssl_client", "package_files", "busybox", "self"]
        .iter()
        .map(|k| removed[k].as_array().unwrap().len())
        .sum();
    // The files and /strip itself.
    assert_eq!(n_files, files.len() + 1);
    assert_eq!(removed["self"], serde_json::json!(["/strip"]));
    assert!(
        removed["applet_links"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"bytes": "L3Vzci9iaW4vYQpiImP/"}))
    );
    let bytes = v["bytes_freed"].as_u64().unwrap();
    let summary =
        format!("removed {n_links} applet links and {n_files} files, freed {bytes} bytes");
    assert!(stderr(&o).contains(&summary), "{}\n{summary}", stderr(&o));
    assert_eq!(v["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(v["apk_db"]["status"], "absent");
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn check_names_planted_shells_and_passes_a_clean_tree() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::create_dir_all(root.join("bin")).unwrap();
    install_strip(&static_bin(), root);
    fs::write(root.join("usr/bin/app"), b"\x7fELF").unwrap();
    let o = run_step_installed(root, &["--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs::write(root.join("bin/bash"), b"\x7fELF").unwrap();
    fs::write(root.join("usr/bin/mksh"), b"\x7fELF").unwrap();
    symlink("bash", root.join("bin/sh")).unwrap();
    let o = run_step_installed(root, &["--check", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    for shell in ["/bin/bash", "/bin/sh", "/usr/bin/mksh"] {
        assert!(err.contains(&format!("error: shell {shell}")), "{err}");
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "not-distroless");
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn strict_fails_a_strip_that_leaves_warnings() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build_with_strip(t.path(), false);
    let o = run_step_installed(&root, &["--strict"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: dangling-link /usr/sbin/dangling"),
        "{}",
        stderr(&o)
    );
    assert!(!root.join("bin/busybox").exists());
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn the_post_strip_audit_reports_modes_of_what_stays_not_of_what_was_removed() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build_with_strip(t.path(), false);
    // A setuid busybox (as busybox-suid ships one) goes; a setuid program of the image stays.
    fs::set_permissions(root.join("bin/busybox"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir_all(root.join("opt/app")).unwrap();
    fs::write(root.join("opt/app/helper"), b"").unwrap();
    fs::set_permissions(
        root.join("opt/app/helper"),
        fs::Permissions::from_mode(0o2755),
    )
    .unwrap();
    let before = run_step_installed(&root, &["--check", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let setuid = |v: &serde_json::Value| -> Vec<String> {
        let mut p: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "setuid")
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        p.sort();
        p
    };
    assert_eq!(
        setuid(&v),
        ["/bin/busybox", "/opt/app/helper", "/usr/sbin/bb-hard"]
    );

    let o = run_step_installed(&root, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(setuid(&v), ["/opt/app/helper"]);
    assert!(!root.join("bin/busybox").exists());
}

/// Stays on `--root` (the host binary): the cache is mounted inside the root in the run's own
/// mount namespace first, which [`run_step`] has no place for.
#[test]
#[cfg_attr(not(can_mount), ignore = "needs root for unshare -m (CI=true runs it)")]
fn the_whole_root_walk_does_not_enter_another_filesystem_mounted_inside() {
    let t = tempfile::tempdir().unwrap();
    let (root, _, _) = build(t.path(), false);
    fs::create_dir_all(root.join("mnt/cache")).unwrap();
    fs::create_dir_all(root.join("opt")).unwrap();
    fs::write(root.join("opt/su"), b"").unwrap();
    fs::set_permissions(root.join("opt/su"), fs::Permissions::from_mode(0o4755)).unwrap();
    // A cache mount (RUN --mount=type=cache) holds a setuid file that is not in the image.
    let script = r#"mount -t tmpfs none "$1/mnt/cache" && : >"$1/mnt/cache/su" \
        && chmod 4755 "$1/mnt/cache/su" && exec "$2" --root "$1" --check --json"#;
    let o = in_mount_namespace(script, &root);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let setuid: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "setuid")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(setuid, ["/opt/su"], "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2_and_help_and_version_exit_0() {
    let o = run(&["--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown option"));
    let o = run(&["--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--dry-run"));
    let o = run(&["--version"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("alpine-strip "));
    let o = run(&["--root", "/nonexistent/x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/x: cannot open root: No such file or directory"));
}
