//! apk's state beside the installed database after a strip, on the real trees: the triggers
//! file and the scripts archive (`scripts.tar` on 3.20.3, apk 2; `scripts.tar.gz` on 3.23.3,
//! apk 3) lose exactly the entries of the packages that left the database (and of packages it
//! no longer lists), the other entries stay byte for byte, and the result is what Alpine's own
//! `apk del` of those packages leaves.
//! A malformed archive stops the run before anything is removed; `--dry-run` and
//! `--keep-apk-db` leave the files alone.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::common::*;

const DB_DIR: &str = "lib/apk/db";

/// The checksum part of a script's name (`NAME-VERSION.CHECKSUM.ACTION`).
fn checksum_of(entry: &str) -> &str {
    let mut parts = entry.rsplitn(3, '.');
    parts.next().unwrap();
    parts.next().unwrap()
}

/// apk 3 names scripts by `X1` + hex of what `C:` gives as `Q1` + base64.
fn as_hex(q1: &str) -> String {
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf %s '{}' | base64 -d | od -An -tx1 | tr -d ' \\n'",
            &q1[2..]
        ))
        .output()
        .unwrap();
    assert!(o.status.success());
    format!("X1{}", String::from_utf8(o.stdout).unwrap())
}

/// The packages a strip of `root` dropped from the database, with their `C:` checksums in
/// both text forms, worked out from the database before and after.
fn dropped(before: &[u8], after: &[u8]) -> Vec<(String, [String; 2])> {
    let staying: Vec<String> = apk_records(after).into_iter().map(|(n, _)| n).collect();
    apk_records(before)
        .into_iter()
        .filter(|(n, _)| !staying.contains(n))
        .map(|(n, _)| {
            let q = apk_checksum(before, &n);
            let x = as_hex(&q);
            (n, [q, x])
        })
        .collect()
}

/// What apk's state must be after dropping `gone`: (triggers, archive entries, the tail).
fn expected(
    triggers: &[u8],
    tar: &[u8],
    gone: &[(String, [String; 2])],
) -> (String, Vec<(String, Vec<u8>)>) {
    let sums: Vec<&str> = gone
        .iter()
        .flat_map(|(_, s)| s.iter().map(String::as_str))
        .collect();
    let triggers: String = String::from_utf8(triggers.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !sums.contains(&l.split(' ').next().unwrap()))
        .map(|l| format!("{l}\n"))
        .collect();
    let (entries, _) = tar_entries(tar);
    let staying = entries
        .into_iter()
        .filter(|(name, _)| !sums.contains(&checksum_of(name)))
        .collect();
    (triggers, staying)
}

/// Strips `root` in a RUN step and checks apk's state file by file: returns the
/// triggers file and the tar after the strip.
fn strip_and_check(root: &Path, archive: &str) -> (Vec<u8>, Vec<u8>) {
    let db = root.join(DB_DIR);
    let installed_before = fs::read(db.join("installed")).unwrap();
    let triggers_before = fs::read(db.join("triggers")).unwrap();
    let tar_before = tar_of(&db.join(archive));
    let meta_before = fs::metadata(db.join(archive)).unwrap();
    let before = snapshot(root);

    let o = run_step_installed(root, &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let gone = dropped(&installed_before, &fs::read(db.join("installed")).unwrap());
    let names: Vec<&str> = gone.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"busybox"), "{names:?}");
    let (triggers, staying) = expected(&triggers_before, &tar_before, &gone);

    let triggers_after = fs::read(db.join("triggers")).unwrap();
    assert_eq!(String::from_utf8_lossy(&triggers_after), triggers);
    assert!(
        triggers_after.len() < triggers_before.len(),
        "busybox's trigger line went"
    );

    let tar_after = tar_of(&db.join(archive));
    let (entries, tail) = tar_entries(&tar_after);
    assert_eq!(
        entries, staying,
        "the staying entries, byte for byte, in order"
    );
    assert!(!staying.is_empty());
    assert!(
        tar_entries(&tar_before).0.len() > staying.len(),
        "busybox's scripts went"
    );
    assert_eq!(
        tail,
        vec![0; 1024],
        "two zero blocks end it, as apk writes it"
    );

    // Same file, same mode and owner, nothing else beside it; the other archive name is not made.
    let meta_after = fs::metadata(db.join(archive)).unwrap();
    assert_eq!(
        (meta_after.mode(), meta_after.uid(), meta_after.gid()),
        (meta_before.mode(), meta_before.uid(), meta_before.gid())
    );
    let other = match archive {
        "scripts.tar" => "scripts.tar.gz",
        _ => "scripts.tar",
    };
    assert!(!db.join(other).exists());
    let after = snapshot(root);
    for p in after.keys().filter(|p| p.starts_with(DB_DIR)) {
        assert!(before.contains_key(p), "{} appeared", p.display());
    }
    (triggers_after, tar_after)
}

/// The tar in the archive file `path` (gunzipped when its name ends in `.gz`).
fn tar_of(path: &Path) -> Vec<u8> {
    match path.extension() {
        Some(gz) if gz == "gz" => gunzip(path),
        _ => fs::read(path).unwrap(),
    }
}

/// Alpine's own apk, deleting the packages the strip drops from the pristine tree `root`,
/// leaves the same triggers file and the same tar in `archive`.
fn apk_del_leaves(root: &Path, triggers: &[u8], tar: &[u8], archive: &str) {
    apk_del(
        root,
        &["busybox", "busybox-binsh", "ssl_client", "apk-tools"],
    );
    let db = root.join(DB_DIR);
    assert_eq!(fs::read(db.join("triggers")).unwrap(), triggers);
    assert_eq!(
        tar_of(&db.join(archive)),
        tar,
        "{archive} as apk del leaves it"
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn alpine_3_20_scripts_tar_and_triggers_lose_the_dropped_packages_as_apk_del_leaves_them() {
    let tar = minirootfs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let (triggers, scripts) = strip_and_check(t.path(), "scripts.tar");
    assert!(triggers.is_empty(), "busybox had the only trigger");
    // apk 2 from a pristine copy: the same bytes.
    apk_del_leaves(unpack(&tar).path(), &triggers, &scripts, "scripts.tar");
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_rootfs_3_23)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn alpine_3_23_scripts_tar_gz_and_triggers_lose_the_dropped_packages_as_apk_del_leaves_them() {
    let rootfs = rootfs_323();
    let t = unpack(&rootfs);
    install_strip(&static_bin(), t.path());
    let (triggers, scripts) = strip_and_check(t.path(), "scripts.tar.gz");
    assert!(triggers.is_empty(), "busybox had the only trigger");
    let gz = fs::read(t.path().join(DB_DIR).join("scripts.tar.gz")).unwrap();
    assert_eq!(gz[..4], [0x1f, 0x8b, 8, 0], "gzip, as apk 3 writes it");

    // Alpine's apk 3 from a pristine copy leaves the same tar and triggers.
    let minirootfs = minirootfs();
    let pristine = with_apk_3(&rootfs, &minirootfs);
    apk_del_leaves(pristine.path(), &triggers, &scripts, "scripts.tar.gz");

    // And apk 3 reads the database the strip wrote (it refuses a scripts archive it cannot
    // read: "Unable to read database").
    let reader = with_apk_3(&rootfs, &minirootfs);
    for f in ["installed", "triggers", "scripts.tar.gz"] {
        let db = Path::new(DB_DIR).join(f);
        fs::copy(t.path().join(&db), reader.path().join(&db)).unwrap();
    }
    let o = chroot(
        reader.path(),
        &["/sbin/apk", "info", "--no-network", "-v"],
        &[],
        false,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("ERROR"), "{}", stderr(&o));
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(listed.contains("alpine-baselayout-3.7.1-r8\n"), "{listed}");
    assert!(!listed.contains("busybox"), "{listed}");
}

/// The 3.23.3 export with a working apk 3: the export lacks libcrypto.so.3, so 3.20.3's
/// libssl3 and libcrypto3 stand in.
fn with_apk_3(rootfs: &Path, minirootfs: &Path) -> tempfile::TempDir {
    let t = unpack(rootfs);
    let donor = unpack(minirootfs);
    for lib in ["libcrypto.so.3", "libssl.so.3"] {
        fs::copy(
            donor.path().join("lib").join(lib),
            t.path().join("usr/lib").join(lib),
        )
        .unwrap();
    }
    t
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn dry_run_and_keep_apk_db_leave_triggers_and_scripts_alone() {
    let tar = minirootfs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let db = t.path().join(DB_DIR);
    let files = ["installed", "triggers", "scripts.tar"];
    let read = || files.map(|f| fs::read(db.join(f)).unwrap());
    let pristine = read();
    let o = run_step_installed(t.path(), &["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(), pristine);
    let o = run_step_installed(t.path(), &["--keep-apk-db", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!t.path().join("bin/busybox").exists(), "the strip ran");
    assert_eq!(read(), pristine);
}

/// A malformed archive stops the run, dry or not, with one line naming it; nothing changes.
fn refused(root: &Path, named: &str) {
    let before = snapshot(root);
    for args in [&["--dry-run"][..], &[][..], &["--json"][..]] {
        let o = run_step_installed(root, args);
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(named), "{named} not in {err}");
        assert!(err.contains("nothing was removed"), "{err}");
        assert_eq!(snapshot(root), before, "the tree is as it was");
        if args == ["--json"] {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["apk_db"]["status"], "malformed");
            assert!(v["apk_db"]["error"].as_str().unwrap().contains(named));
        }
    }
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_rootfs_3_23)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn a_malformed_scripts_archive_stops_the_run_before_anything_is_removed() {
    {
        let tar = minirootfs();
        let t = unpack(&tar);
        install_strip(&static_bin(), t.path());
        let archive = t.path().join(DB_DIR).join("scripts.tar");
        let bytes = fs::read(&archive).unwrap();
        fs::write(&archive, &bytes[..700]).unwrap();
        refused(
            t.path(),
            "/lib/apk/db/scripts.tar: tar header at byte 0: entry larger than the rest of the archive",
        );
        let mut bad = bytes.clone();
        bad[3] ^= 1;
        fs::write(&archive, &bad).unwrap();
        refused(
            t.path(),
            "/lib/apk/db/scripts.tar: tar header at byte 0: wrong header checksum",
        );
    }
    {
        let rootfs = rootfs_323();
        let t = unpack(&rootfs);
        install_strip(&static_bin(), t.path());
        let archive = t.path().join(DB_DIR).join("scripts.tar.gz");
        let mut bytes = fs::read(&archive).unwrap();
        let at = bytes.len() - 6;
        bytes[at] ^= 1;
        fs::write(&archive, &bytes).unwrap();
        refused(
            t.path(),
            "/lib/apk/db/scripts.tar.gz: gzip trailer does not match its contents",
        );
    }
}

/// Stays on `--root` (the host binary): the link names a host path, which only a run outside
/// the root could reach; in a RUN step the file is out of reach whatever the tool does.
#[test]
#[cfg_attr(not(fixture_minirootfs), ignore = "needs ALPINE_MINIROOTFS")]
fn a_scripts_archive_outside_the_root_is_never_read_nor_written_and_a_fifo_stops_the_run() {
    let tar = minirootfs();
    let t = unpack(&tar);
    let archive = t.path().join(DB_DIR).join("scripts.tar");
    let outside = tempfile::NamedTempFile::new().unwrap();
    let real = fs::read(&archive).unwrap();
    fs::write(outside.path(), &real).unwrap();

    // A FIFO is refused, never waited on: one line, nothing removed, exit 5 (apk's state
    // beside the database does not read, as a malformed or too large archive).
    fs::remove_file(&archive).unwrap();
    nix::unistd::mkfifo(&archive, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let before = snapshot(t.path());
    let o = run_on(t.path(), &[]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("scripts.tar: not a regular file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(t.path()), before, "the tree is as it was");

    // A link out of the root ends nowhere inside it: no archive, and the outside file stays.
    fs::remove_file(&archive).unwrap();
    std::os::unix::fs::symlink(outside.path(), &archive).unwrap();
    let o = run_on(t.path(), &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(outside.path()).unwrap(), real);
    assert!(fs::symlink_metadata(&archive).unwrap().is_symlink());
    assert!(
        fs::read(t.path().join(DB_DIR).join("triggers"))
            .unwrap()
            .is_empty()
    );
}

/// A trigger line and a script of a package the database does not list (`ghost`, left by an
/// earlier tool), planted in `root`.
fn plant_ghost(root: &Path) {
    const GHOST: &str = "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let db = root.join(DB_DIR);
    let mut triggers = fs::read(db.join("triggers")).unwrap();
    triggers.extend_from_slice(format!("{GHOST} /usr/share/ghost/*\n").as_bytes());
    fs::write(db.join("triggers"), triggers).unwrap();
    let name = format!("ghost-1.0-r0.{GHOST}.post-install");
    let scratch = tempfile::tempdir().unwrap();
    fs::write(scratch.path().join(&name), "#!/bin/sh\n").unwrap();
    let o = std::process::Command::new("tar")
        .args(["--owner=0", "--group=0", "-rf"])
        .arg(db.join("scripts.tar"))
        .arg("-C")
        .arg(scratch.path())
        .arg(&name)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (entries, _) = tar_entries(&fs::read(db.join("scripts.tar")).unwrap());
    assert!(entries.iter().any(|(n, _)| *n == name), "planted");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn lines_and_scripts_of_packages_no_longer_installed_go_as_apk_del_drops_them() {
    let tar = minirootfs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    plant_ghost(t.path());
    let o = run_step_installed(t.path(), &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let db = t.path().join(DB_DIR);
    let triggers = fs::read(db.join("triggers")).unwrap();
    assert!(triggers.is_empty(), "busybox's line and the ghost's went");
    let scripts = tar_of(&db.join("scripts.tar"));
    let (entries, _) = tar_entries(&scripts);
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|(n, _)| !n.starts_with("ghost-")));
    // apk 2, deleting the same packages from a pristine copy with the same ghost: the same bytes.
    let pristine = unpack(&tar);
    plant_ghost(pristine.path());
    apk_del_leaves(pristine.path(), &triggers, &scripts, "scripts.tar");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn only_the_scripts_archive_apk_reads_is_edited() {
    // apk reads scripts.tar when it is there: a scripts.tar.gz beside it (even one that does
    // not read) is not apk's, and stays as it is.
    let tar = minirootfs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let db = t.path().join(DB_DIR);
    fs::write(db.join("scripts.tar.gz"), b"not gzip at all").unwrap();
    let o = run_step_installed(t.path(), &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read(db.join("scripts.tar.gz")).unwrap(),
        b"not gzip at all"
    );
    let (entries, _) = tar_entries(&fs::read(db.join("scripts.tar")).unwrap());
    assert!(
        entries.iter().all(|(n, _)| !n.starts_with("busybox-")),
        "edited"
    );
}
