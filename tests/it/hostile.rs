//! Hostile trees and faults, each in a scratch copy of the official minirootfs, run through
//! chroot as a RUN step would (or with `--root` inside a chroot for the escapes). Every test
//! checks the tree afterwards path by path: nothing outside touched, nothing half done, or
//! exactly a correct strip. These tests need root (chroot, mknod, mounts, chattr).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

/// `cmd` in a chroot at `root`, stopped after 20 s (a hang fails the test instead of CI).
fn chroot_timed(root: &Path, cmd: &[&str]) -> Output {
    Command::new("timeout")
        .arg("20")
        .arg("chroot")
        .arg(root)
        .args(cmd)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap()
}

/// Asserts a run failed with exit 1 and one line naming `needle`, and changed nothing.
fn refused(o: &Output, needle: &str) {
    refused_with(o, 1, needle);
}

/// [`refused`] with the exit status `code`.
fn refused_with(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle} not in {err}");
}

/// Asserts `root` holds no busybox, no applet link and no apk, by `--check` in a RUN step.
fn distroless(root: &Path) {
    let o = run_step_installed(root, &["--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_database_linked_outside_the_root_counts_as_absent_and_is_never_read() {
    let (outer, _) = tree_with_strip();
    let o = outer.path();
    // The target root lies inside the outer tree; the fake record would delete its passwd.
    let tar = minirootfs();
    let inner = unpack(&tar);
    let target = o.join("target");
    fs::rename(inner.path(), &target).unwrap();
    let evil = b"P:busybox\nV:1\nF:etc\nR:passwd\n\n";
    fs::write(o.join("evil-db"), evil).unwrap();
    fs::write(o.join("evil-world"), b"evil\n").unwrap();
    for (i, link) in ["/evil-db", "../../../../evil-db"].iter().enumerate() {
        if i == 1 {
            fs::remove_dir_all(&target).unwrap();
            let again = unpack(&tar);
            fs::rename(again.path(), &target).unwrap();
        }
        fs::remove_file(target.join(DB)).unwrap();
        symlink(link, target.join(DB)).unwrap();
        fs::remove_file(target.join("etc/apk/world")).unwrap();
        symlink("/evil-world", target.join("etc/apk/world")).unwrap();

        let out = chroot_timed(o, &["/strip", "--root", "/target"]);
        assert!(out.status.success(), "{link}: {}", stderr(&out));
        assert!(target.join("etc/passwd").exists(), "{link}: passwd deleted");
        assert_eq!(fs::read(o.join("evil-db")).unwrap(), evil);
        assert_eq!(fs::read(o.join("evil-world")).unwrap(), b"evil\n");
        let db = fs::symlink_metadata(target.join(DB)).unwrap();
        assert!(db.is_symlink(), "{link}: the database link was replaced");
        assert!(!target.join("bin/busybox").exists());
        assert!(
            stderr(&out).contains("removed 304 applet links"),
            "{}",
            stderr(&out)
        );
    }
    assert!(o.join("strip").exists(), "/strip is outside the target");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_database_that_is_a_fifo_or_a_device_stops_every_mode_at_once() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::remove_file(r.join(DB)).unwrap();
    nix::unistd::mkfifo(&r.join(DB), nix::sys::stat::Mode::S_IRUSR).unwrap();
    let before = snapshot(r);
    for args in [&["/strip", "--force"][..], &["/strip", "--dry-run"]] {
        let o = chroot_timed(r, args);
        // A database that cannot be read whole is an error of apk's state: exit 5.
        refused_with(&o, 5, "/lib/apk/db/installed: not a regular file");
        assert_eq!(snapshot(r), before, "{args:?} changed the tree");
    }
    // --check audits the rest and says it cannot read the database.
    let o = chroot_timed(r, &["/strip", "--check"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: unreadable-apk-db /lib/apk/db/installed: not a regular file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(r), before);
    // --keep-apk-db strips without reading it; the audit says it cannot read it.
    let o = chroot_timed(r, &["/strip", "--force", "--keep-apk-db"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: unreadable-apk-db /lib/apk/db/installed"),
        "{}",
        stderr(&o)
    );
    assert!(!r.join("bin/busybox").exists());

    let (t, _) = tree_with_strip();
    let r = t.path();
    let zero = Command::new("mknod")
        .arg(r.join("dev/zero"))
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    assert!(zero.success());
    fs::remove_file(r.join(DB)).unwrap();
    symlink("/dev/zero", r.join(DB)).unwrap();
    let before = snapshot(r);
    let o = chroot_timed(r, &["/strip", "--force"]);
    refused_with(&o, 5, "/dev/zero: not a regular file");
    assert_eq!(snapshot(r), before);
}

/// Runs `script` with `$1` = a fresh ext4 filesystem mounted in a mount namespace of its own,
/// holding the minirootfs and `/strip`; prints what the script prints.
fn on_ext4(tar: &Path, bin: &Path, script: &str) -> Output {
    let t = tempfile::tempdir().unwrap();
    let full = format!(
        r#"set -e
img="$2/img"; mnt="$2/mnt"; mkdir "$mnt"
truncate -s 64M "$img"; mkfs.ext4 -q "$img"; mount -o loop "$img" "$mnt"
tar xzf "$3" -C "$mnt"; cp "$4" "$mnt/strip"
set -- "$mnt"
list() {{ find "$1" -path "$1/lost+found" -prune -o -printf '%P %y %s %m\n' | sort; }}
{script}"#
    );
    Command::new("unshare")
        .args(["-m", "sh", "-c", &full, "sh", "unused"])
        .arg(t.path())
        .arg(tar)
        .arg(bin)
        .output()
        .unwrap()
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn an_append_only_folder_stops_the_run_before_any_removal() {
    let (tar, bin) = (minirootfs(), static_bin());
    let o = on_ext4(
        &tar,
        &bin,
        r#"chattr +a "$1/usr/sbin"
list "$1" > "$1.before"; sum=$(md5sum < "$1/lib/apk/db/installed")
rc=0; chroot "$1" /strip --force 2> "$1.err" || rc=$?
list "$1" > "$1.after"
echo "rc=$rc"; cat "$1.err"
cmp -s "$1.before" "$1.after" && echo "tree unchanged"
[ "$sum" = "$(md5sum < "$1/lib/apk/db/installed")" ] && echo "db unchanged"
chattr -a "$1/usr/sbin""#,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("rc=1"), "{out}");
    assert!(
        out.contains("/usr/sbin: cannot remove entries (folder is immutable or append-only"),
        "{out}"
    );
    assert!(out.contains("tree unchanged"), "{out}");
    assert!(out.contains("db unchanged"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("alpine-strip")).count(),
        1
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_file_mounted_over_a_package_file_is_left_in_place_and_noted() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let o = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind /etc/hostname "$1/etc/securetty" && chroot "$1" /strip --force"#,
            "sh",
        ])
        .arg(r)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("skipped /etc/securetty: left in place: it is mounted in"),
        "{err}"
    );
    // Everything else was stripped. The image's own /etc/securetty stays under the mount, so
    // busybox stays in the database with it alone: the database tells the truth.
    assert!(!r.join("bin/busybox").exists());
    let db = fs::read(r.join(DB)).unwrap();
    let records = apk_records(&db);
    let (_, busybox) = records
        .iter()
        .find(|(name, _)| name == "busybox")
        .expect("busybox stays with the file left in place");
    assert_eq!(record_files(busybox), [Path::new("etc/securetty")]);
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_busybox_reached_through_a_symlink_goes_with_every_link() {
    for target in ["/usr/lib/busybox/busybox", "../usr/lib/busybox/busybox"] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        fs::create_dir_all(r.join("usr/lib/busybox")).unwrap();
        fs::rename(r.join("bin/busybox"), r.join("usr/lib/busybox/busybox")).unwrap();
        symlink(target, r.join("bin/busybox")).unwrap();
        let o = chroot_timed(r, &["/strip", "--force"]);
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert!(err.contains("removed 305 applet links"), "{target}: {err}");
        assert!(!r.join("usr/lib/busybox/busybox").exists(), "{target}");
        assert!(fs::symlink_metadata(r.join("bin/busybox")).is_err());
        assert!(!err.contains("dangling"), "{err}");
        distroless(r);
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn argv0_never_decides_what_itself_is() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::write(r.join("etc/important.conf"), b"keep me").unwrap();
    // No /proc in the chroot: the kernel's AT_EXECFN names the binary, not argv[0].
    assert!(!r.join("proc/self").exists());
    let o = chroot_timed(
        r,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "exec -a /etc/important.conf /strip --force",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(r.join("etc/important.conf")).unwrap(), b"keep me");
    assert!(!r.join("strip").exists(), "the binary itself is gone");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_second_strip_beside_a_lock_holder_refuses_and_changes_nothing() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let before = snapshot(r);
    // flock(1) holds apk's lock while the strip runs, as a running apk would.
    let o = Command::new("flock")
        .arg(r.join("lib/apk/db/lock"))
        .arg("chroot")
        .arg(r)
        .args(["/strip", "--force"])
        .output()
        .unwrap();
    refused(&o, "/lib/apk/db/lock: held by another apk or strip");
    assert_eq!(snapshot(r), before);
    // Once it is free the strip runs.
    let o = chroot_timed(r, &["/strip", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        r.join("lib/apk/db/lock").exists(),
        "apk's own lock file stays"
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_hard_link_of_busybox_anywhere_goes_and_check_sees_it() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::create_dir_all(r.join("usr/libexec")).unwrap();
    fs::hard_link(r.join("bin/busybox"), r.join("usr/libexec/bb")).unwrap();
    let o = run_step_installed(r, &["--check"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).contains("error: busybox /usr/libexec/bb"),
        "{}",
        stderr(&o)
    );
    let o = chroot_timed(r, &["/strip", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!r.join("usr/libexec/bb").exists());
    distroless(r);
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn small_faults_each_fixed() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    // A link to `/bin/busybox/` is dead for the kernel (ENOTDIR): not an applet link.
    symlink("/bin/busybox/", r.join("usr/bin/slash")).unwrap();
    // --strict with only errors names them as findings, not as "0 warnings".
    let o = run_step_installed(r, &["--check", "--strict"]);
    assert!(
        stderr(&o).contains("dangling-link /usr/bin/slash"),
        "{}",
        stderr(&o)
    );
    // An immutable /strip is said to be immutable, not mounted.
    let pin = Command::new("chattr")
        .arg("+i")
        .arg(r.join("strip"))
        .status();
    let pinned = pin.is_ok_and(|s| s.success());
    let o = chroot_timed(r, &["/strip", "--force", "--strict"]);
    if pinned {
        let _ = Command::new("chattr")
            .arg("-i")
            .arg(r.join("strip"))
            .status();
        assert!(
            stderr(&o).contains("skipped /strip: left in place: it is immutable"),
            "{}",
            stderr(&o)
        );
    }
    assert!(
        stderr(&o).contains("finding (0 errors, 1 warning) fails the run"),
        "{}",
        stderr(&o)
    );
    assert!(
        fs::symlink_metadata(r.join("usr/bin/slash")).is_ok(),
        "the dead link was not taken for an applet link"
    );
    // Usage errors print JSON when it is asked for; an empty --root is a usage error.
    let o = run(&["--json", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "usage");
    let o = run(&["--root", ""]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--root needs a folder"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_busybox_link_to_a_file_that_is_not_busybox_removes_nothing_of_it() {
    // `/bin/busybox -> /lib/ld-musl-x86_64.so.1`: the link names musl's loader, which carries
    // no busybox banner. The loader, its hard links and its copies stay; a link to the real
    // busybox moved elsewhere still names busybox.
    let tar = minirootfs();
    let t = unpack(&tar);
    let r = t.path();
    let loader = r.join("lib/ld-musl-x86_64.so.1");
    let before = fs::read(&loader).unwrap();
    fs::rename(r.join("bin/busybox"), r.join("busybox.real")).unwrap();
    symlink("/lib/ld-musl-x86_64.so.1", r.join("bin/busybox")).unwrap();
    install_strip(&static_bin(), r);
    let o = run_step(r, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(&loader).unwrap(), before, "musl's loader stays");
    assert!(r.join("lib/libc.musl-x86_64.so.1").exists());

    let t = unpack(&tar);
    let r = t.path();
    fs::create_dir_all(r.join("usr/lib/busybox")).unwrap();
    fs::rename(r.join("bin/busybox"), r.join("usr/lib/busybox/busybox")).unwrap();
    symlink("/usr/lib/busybox/busybox", r.join("bin/busybox")).unwrap();
    install_strip(&static_bin(), r);
    let o = run_step(r, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !r.join("usr/lib/busybox/busybox").exists(),
        "the real busybox goes"
    );
    assert!(
        fs::symlink_metadata(r.join("bin/ls")).is_err(),
        "its applet links go"
    );
}
