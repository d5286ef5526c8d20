//! `--prune` on real trees, each run a RUN step ([`run_step`]; these tests need root): what
//! leaves is what Alpine's own `apk del` would purge (asked with `apk del --simulate` in a
//! pristine copy), the database stays true, what stays still runs; and the ELF reader on the
//! real binaries of all eight architectures.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// What --prune keeps whatever apk says.
const ALWAYS_KEPT: [&str; 3] = ["ca-certificates-bundle", "ca-certificates", "tzdata"];

/// The `name` of every package in a JSON list of the report.
fn names(db: &[u8]) -> BTreeSet<String> {
    apk_records(db).into_iter().map(|(n, _)| n).collect()
}

/// The packages Alpine's apk purges when busybox and apk-tools leave world (with `world`
/// added to it first), less those the strip removes by definition or --prune always keeps.
fn apk_would_purge(tar: &Path, world: &[&str]) -> BTreeSet<String> {
    let t = unpack(tar);
    let w = t.path().join("etc/apk/world");
    let mut text = fs::read_to_string(&w).unwrap();
    for n in world {
        text.push_str(&format!("{n}\n"));
    }
    fs::write(&w, text).unwrap();
    let o = chroot(
        t.path(),
        &[
            "/sbin/apk",
            "del",
            "--simulate",
            "--no-network",
            "busybox",
            "apk-tools",
        ],
        &[],
        false,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once(" Purging ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split(' ').next())
        .filter(|n| !BY_DEFINITION.contains(n) && !ALWAYS_KEPT.contains(n))
        .map(String::from)
        .collect()
}

/// Strips `root` with `args` in a RUN step; the names of the pruned packages.
fn strip_pruned(root: &Path, bin: &Path, args: &[&str]) -> BTreeSet<String> {
    install_strip(bin, root);
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = run_step(root, &all);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for p in v["pruned"].as_array().unwrap() {
        assert!(p["bytes"].as_u64().unwrap() > 0, "{p}");
    }
    names_in(&v["pruned"]).into_iter().collect()
}

/// Every file each record claims is in the root, but for those missing before the strip.
fn database_is_true(root: &Path, before: &BTreeSet<PathBuf>) {
    for (name, rec) in apk_records(&fs::read(root.join(DB)).unwrap()) {
        for f in record_files(&rec) {
            assert!(
                fs::symlink_metadata(root.join(&f)).is_ok() || !before.contains(&f),
                "{name} still claims /{}",
                f.display()
            );
        }
    }
}

fn paths(root: &Path) -> BTreeSet<PathBuf> {
    snapshot(root).into_keys().collect()
}

fn regular_bytes(root: &Path) -> u64 {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_leaves_what_apk_del_would_and_a_base_under_1_25_mb() {
    let (tar, bin) = (minirootfs(), static_bin());
    let t = unpack(&tar);
    let before = paths(t.path());
    let db_before = fs::read(t.path().join(DB)).unwrap();
    let pruned = strip_pruned(t.path(), &bin, &["--prune"]);
    let expected: BTreeSet<String> = ["libcrypto3", "libssl3", "zlib"].map(String::from).into();
    assert_eq!(pruned, expected);
    assert_eq!(pruned, apk_would_purge(&tar, &[]), "apk del disagrees");

    let left = names(&fs::read(t.path().join(DB)).unwrap());
    for stays in [
        "ca-certificates-bundle",
        "musl",
        "musl-utils",
        "scanelf",
        "alpine-baselayout",
        "alpine-baselayout-data",
        "alpine-keys",
    ] {
        assert!(left.contains(stays), "{stays} left: {left:?}");
    }
    for (name, rec) in apk_records(&db_before) {
        if expected.contains(&name) {
            assert!(!left.contains(&name));
            for f in record_files(&rec) {
                assert!(
                    !t.path().join(&f).exists(),
                    "{name}'s /{} stayed",
                    f.display()
                );
            }
        }
    }
    database_is_true(t.path(), &before);
    let world = fs::read_to_string(t.path().join("etc/apk/world")).unwrap();
    assert_eq!(world, "alpine-baselayout\nalpine-keys\nlibc-utils\n");
    let o = chroot(
        t.path(),
        &["/usr/bin/getent", "hosts", "localhost"],
        &[],
        false,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = regular_bytes(t.path());
    assert!(bytes < 1_250_000, "{bytes} bytes of regular files left");
    eprintln!("pruned 3.20.3: {bytes} bytes of regular files left");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn without_prune_the_report_names_what_it_would_remove_and_nothing_more_goes() {
    let (tar, bin) = (minirootfs(), static_bin());
    let t = unpack(&tar);
    install_strip(&bin, t.path());
    let o = run_step(t.path(), &["--strict", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(names_in(&v["prunable"]), ["libcrypto3", "libssl3", "zlib"]);
    assert!(
        stderr(&o).contains("note: --prune would also remove libcrypto3"),
        "{}",
        stderr(&o)
    );
    // A note, not a finding: --strict fails only on the two missing interpreters.
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);
    assert!(
        t.path().join("usr/lib/libcrypto.so.3").exists()
            || t.path().join("lib/libcrypto.so.3").exists()
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn an_unowned_elf_that_links_libssl_keeps_openssl_and_still_loads() {
    let (tar, bin) = (minirootfs(), static_bin());
    let t = unpack(&tar);
    // ssl_client links libssl and libcrypto; a copy in /usr/local/bin belongs to no package.
    fs::copy(
        t.path().join("usr/bin/ssl_client"),
        t.path().join("usr/local/bin/tls-app"),
    )
    .unwrap();
    let pruned = strip_pruned(t.path(), &bin, &["--prune"]);
    assert_eq!(pruned, ["zlib".to_string()].into());
    let o = chroot(t.path(), &["/usr/local/bin/tls-app"], &[], false);
    let out = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
    assert!(!out.contains("Error loading shared library"), "{out}");
    assert_ne!(o.status.code(), Some(127), "{out}");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn world_and_keep_keep_a_package_with_its_dependencies() {
    let (tar, bin) = (minirootfs(), static_bin());
    // zlib in world stays; --keep libssl3 keeps libcrypto3 too (a dependency).
    let t = unpack(&tar);
    let w = t.path().join("etc/apk/world");
    fs::write(&w, fs::read_to_string(&w).unwrap() + "zlib\n").unwrap();
    let pruned = strip_pruned(t.path(), &bin, &["--prune"]);
    assert_eq!(pruned, ["libcrypto3", "libssl3"].map(String::from).into());
    assert_eq!(
        pruned,
        apk_would_purge(&tar, &["zlib"]),
        "apk del disagrees"
    );
    assert!(names(&fs::read(t.path().join(DB)).unwrap()).contains("zlib"));

    let t = unpack(&tar);
    let pruned = strip_pruned(t.path(), &bin, &["--prune", "--keep", "libssl3"]);
    assert_eq!(pruned, ["zlib".to_string()].into());
    assert_eq!(
        pruned,
        apk_would_purge(&tar, &["libssl3"]),
        "apk del disagrees"
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn prune_on_alpine_3_23_drops_libapk_and_openssl() {
    let (tar, bin) = (rootfs_323(), static_bin());
    let t = unpack(&tar);
    let before = paths(t.path());
    // The note of a plain run names what --prune adds, not libapk, which the strip drops.
    let o = run_step_installed(t.path(), &["--dry-run", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(names_in(&v["prunable"]), ["libcrypto3", "libssl3", "zlib"]);
    install_strip(&bin, t.path());
    let o = run_step(t.path(), &["--prune", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dropped: BTreeSet<String> = names_in(&v["apk_db"]["dropped"]).into_iter().collect();
    let want: BTreeSet<String> = [
        "apk-tools",
        "busybox",
        "busybox-binsh",
        "libapk",
        "libcrypto3",
        "libssl3",
        "ssl_client",
        "zlib",
    ]
    .map(String::from)
    .into();
    assert_eq!(dropped, want);
    // libapk is named once: dropped with apk, not again among what --prune removed.
    assert_eq!(names_in(&v["pruned"]), ["libcrypto3", "libssl3", "zlib"]);
    assert!(!t.path().join("usr/lib/libapk.so.3.0.0").exists());
    assert!(!t.path().join("usr/lib/libssl.so.3").exists());
    database_is_true(t.path(), &before);
    let o = chroot(
        t.path(),
        &["/usr/bin/getent", "hosts", "localhost"],
        &[],
        false,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The loader name musl uses on each architecture.
const LOADERS: [(&str, &str); 8] = [
    ("x86_64", "x86_64"),
    ("x86", "x86"),
    ("aarch64", "aarch64"),
    ("armhf", "armhf"),
    ("armv7", "armv7"),
    ("ppc64le", "ppc64le"),
    ("riscv64", "riscv64"),
    ("s390x", "s390x"),
];

#[test]
#[cfg_attr(not(fixture_fixtures), ignore = "needs ALPINE_FIXTURES")]
fn the_elf_reader_reads_every_architectures_real_binaries() {
    let fixtures = need_env("ALPINE_FIXTURES");
    for (arch, loader) in LOADERS {
        let tar = fixtures.join(format!("alpine-minirootfs-3.20.3-{arch}.tar.gz"));
        let t = tempfile::tempdir().unwrap();
        let st = Command::new("tar")
            .arg("xzf")
            .arg(&tar)
            .arg("-C")
            .arg(t.path())
            .args(["./usr/bin/ssl_client", "./bin/busybox"])
            .status()
            .unwrap();
        assert!(st.success(), "{arch}");
        let needed = |p: &str| {
            let f = fs::File::open(t.path().join(p)).unwrap();
            let len = f.metadata().unwrap().len();
            alpine_strip::fuzzing::elf_needed(&f, len)
                .into_iter()
                .map(|n| String::from_utf8(n).unwrap())
                .collect::<Vec<_>>()
        };
        let libc = format!("libc.musl-{loader}.so.1");
        assert_eq!(
            needed("usr/bin/ssl_client"),
            ["libcrypto.so.3", "libssl.so.3", libc.as_str()],
            "{arch}"
        );
        assert_eq!(needed("bin/busybox"), [libc.as_str()], "{arch}");
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn the_run_closes_with_what_a_program_may_still_ask_for_by_name() {
    let tar = minirootfs();
    let note = |err: &str| -> Option<String> {
        err.lines()
            .find(|l| l.contains("at run time"))
            .map(String::from)
    };
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let o = run_step_installed(t.path(), &["--force", "--prune"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let line = note(&err).unwrap_or_else(|| panic!("no closing note in {err}"));
    assert_eq!(err.lines().last(), Some(line.as_str()), "{err}");
    for said in [
        "note: once stripped, a program that asks by name at run time for the shell /bin/sh",
        "or the libraries of libcrypto3, libssl3, zlib (sh -c, system(), dlopen, ctypes) fails",
        "--keep",
        "--entrypoint",
    ] {
        assert!(line.contains(said), "{said} not in {line}");
    }
    // Without --prune, the shell alone; a dry run says it too; --check has nothing to say.
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let o = run_step_installed(t.path(), &["--dry-run"]);
    let line = note(&stderr(&o)).unwrap();
    let shell = "for the shell /bin/sh (and 1 more name for it) (sh -c";
    assert!(line.contains(shell), "{line}");
    assert!(!line.contains("libraries"), "{line}");
    let o = run_step_installed(t.path(), &["--check"]);
    assert_eq!(note(&stderr(&o)), None);
}
