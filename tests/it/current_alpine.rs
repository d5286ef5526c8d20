//! Current Alpine: a real 3.23.3 root (`$ALPINE_ROOTFS_3_23`: apk-tools 3, the library in its
//! own package `libapk`), the same tree as 3.22 lays it out (`libapk2`, `libapk.so.2.14.9`),
//! and a /usr-merged 3.23, each stripped in a RUN step ([`run_step`]; these tests need root). What must leave the
//! database is worked out here from the trees before and after, not from the tool's rules.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::*;

/// Turns the 3.23.3 tree into what 3.22 installs: apk-tools 2.14.9 with its library split out
/// as `libapk2`, owning `/usr/lib/libapk.so.2.14.9`.
fn as_alpine_322(root: &Path) {
    fs::rename(
        root.join("usr/lib/libapk.so.3.0.0"),
        root.join("usr/lib/libapk.so.2.14.9"),
    )
    .unwrap();
    let db = fs::read_to_string(root.join(DB)).unwrap();
    let records: String = apk_records(db.as_bytes())
        .into_iter()
        .map(|(name, rec)| match name.as_str() {
            "libapk" => rec
                .replace("P:libapk\n", "P:libapk2\n")
                .replace("V:3.0.3-r1", "V:2.14.9-r0")
                .replace("R:libapk.so.3.0.0", "R:libapk.so.2.14.9"),
            "apk-tools" => rec.replace("V:3.0.3-r1", "V:2.14.9-r0"),
            _ => rec,
        })
        .collect();
    fs::write(root.join(DB), records).unwrap();
}

/// Strips `root` in a RUN step and checks that the database tells the truth:
/// it holds exactly the packages that still have a file in the root or that the strip did not
/// touch, byte for byte, and world lost exactly the names that left.
fn strip_and_check_truth(root: &Path, bin: &Path, merged: bool, libapk: &str) {
    install_strip(bin, root);
    let db_path = real(Path::new(DB), merged);
    let db_before = fs::read(root.join(&db_path)).unwrap();
    let world_before = fs::read_to_string(root.join("etc/apk/world")).unwrap();
    let before = snapshot(root);

    let o = run_step(root, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("removed 304 applet links"), "{err}");
    let after = snapshot(root);
    let removed: Vec<&PathBuf> = before.keys().filter(|p| !after.contains_key(*p)).collect();

    let mut left = Vec::new();
    let mut stay = Vec::new();
    for (name, rec) in apk_records(&db_before) {
        let files: Vec<PathBuf> = record_files(&rec).iter().map(|f| real(f, merged)).collect();
        let touched = files.iter().any(|f| removed.contains(&f));
        let still_there = files.iter().any(|f| after.contains_key(f));
        if BY_DEFINITION.contains(&name.as_str()) || (touched && !still_there) {
            left.push(name);
        } else {
            // Every file of a staying package is still there, unless it was missing before.
            for f in &files {
                assert!(
                    after.contains_key(f) || !before.contains_key(f),
                    "{name} stays but lost {}",
                    f.display()
                );
            }
            stay.push((name, rec));
        }
    }
    left.sort();
    assert_eq!(
        left,
        [
            "apk-tools",
            "busybox",
            "busybox-binsh",
            libapk,
            "ssl_client"
        ]
    );
    let db_after = fs::read(root.join(&db_path)).unwrap();
    assert_eq!(
        apk_records(&db_after),
        stay,
        "staying records, byte for byte"
    );
    let libapk_file = if libapk == "libapk" {
        "usr/lib/libapk.so.3.0.0"
    } else {
        "usr/lib/libapk.so.2.14.9"
    };
    assert!(before.contains_key(Path::new(libapk_file)));
    assert!(!after.contains_key(Path::new(libapk_file)));
    assert!(!String::from_utf8_lossy(&db_after).contains(&format!("P:{libapk}\n")));

    let world_after = fs::read_to_string(root.join("etc/apk/world")).unwrap();
    let world_expected: String = world_before
        .lines()
        .filter(|l| !left.iter().any(|g| g == l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(world_after, world_expected);
    assert!(world_after.contains("alpine-release\n"));

    // The audit calls it distroless and names the one file missing before the strip.
    let o = run_step_installed(root, &["--check", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stale: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "stale-apk-record")
        .map(|f| (f["path"].as_str().unwrap(), f["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stale,
        [(
            "/usr/lib/libcrypto.so.3",
            "listed by libcrypto3 3.5.5-r0 but missing"
        )]
    );
    let o = chroot(root, &["/usr/bin/getent", "hosts", "localhost"], &[], false);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The 3.23.3 tree unpacked, and the static binary.
fn unpack_323() -> (tempfile::TempDir, PathBuf) {
    let (tar, bin) = (rootfs_323(), static_bin());
    (unpack(&tar), bin)
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn alpine_3_23_drops_libapk_by_ownership() {
    let (t, bin) = unpack_323();
    strip_and_check_truth(t.path(), &bin, false, "libapk");
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn alpine_3_22_drops_libapk2_by_ownership() {
    let (t, bin) = unpack_323();
    as_alpine_322(t.path());
    strip_and_check_truth(t.path(), &bin, false, "libapk2");
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn usr_merged_alpine_3_23_keeps_a_true_database() {
    let (t, bin) = unpack_323();
    usr_merge(t.path());
    strip_and_check_truth(t.path(), &bin, true, "libapk");
    for d in ["bin", "sbin", "lib"] {
        assert!(fs::symlink_metadata(t.path().join(d)).unwrap().is_symlink());
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn check_names_a_staying_packages_file_deleted_by_hand() {
    let (t, bin) = unpack_323();
    install_strip(&bin, t.path());
    let o = run_step(t.path(), &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let quiet = run_step_installed(t.path(), &["--check"]);
    assert!(
        !stderr(&quiet).contains("/usr/bin/getconf"),
        "{}",
        stderr(&quiet)
    );
    fs::remove_file(t.path().join("usr/bin/getconf")).unwrap();
    let o = run_step_installed(t.path(), &["--check"]);
    let err = stderr(&o);
    assert!(
        err.contains("warning: stale-apk-record /usr/bin/getconf: listed by musl-utils"),
        "{err}"
    );
    // A warning, so the tree is still distroless; --strict fails it.
    assert!(o.status.success(), "{err}");
    assert_eq!(
        run_step_installed(t.path(), &["--check", "--strict"])
            .status
            .code(),
        Some(4)
    );
}
