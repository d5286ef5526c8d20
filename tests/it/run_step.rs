//! The strip where it runs: a RUN step, with proc, sysfs, a /dev and the engine's files bound
//! over /etc/hosts, /etc/resolv.conf and /etc/hostname ([`common::run_step`]). Every feature
//! that reads the walk of the whole root, every form busybox takes, and a database that moved
//! to /usr/lib, on copies of the official 3.20.3 minirootfs; the trees afterwards are checked
//! file by file. These tests need root (mounts, namespaces, chroot).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

const DB: &str = "lib/apk/db/installed";
const WORLD: &str = "etc/apk/world";

/// The JSON report of a run (`--json` among its arguments).
fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

/// The paths of the findings of `kind`.
fn findings(v: &serde_json::Value, kind: &str) -> BTreeSet<String> {
    let all = v["findings"].as_array().unwrap();
    all.iter()
        .filter(|f| f["kind"] == kind)
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// The paths removed as `label` (`busybox`, `applet_links`, ...).
fn removed(v: &serde_json::Value, label: &str) -> BTreeSet<String> {
    let list = v["removed"][label].as_array().unwrap();
    list.iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// `paths` inside the root, shown with a leading slash.
fn slashed(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| format!("/{p}")).collect()
}

/// What a strip of the 3.20.3 tree removes (worked out without the tool) that is there, plus
/// `more`.
fn removals(root: &Path, db: &[u8], more: &[&str]) -> Vec<PathBuf> {
    let mut out = expected_removals(root, db, false);
    out.retain(|p| fs::symlink_metadata(root.join(p)).is_ok());
    out.extend(more.iter().map(PathBuf::from));
    out
}

/// Strips `root` in a RUN step, checks the tree lost exactly `gone` (the database and world
/// may change), and gives the report.
fn strip_exactly(root: &Path, args: &[&str], gone: &[PathBuf]) -> serde_json::Value {
    let before = snapshot(root);
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = run_step(root, &all);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = snapshot(root);
    assert_only_removed(&before, &after, gone, &apk_state(Path::new(DB)));
    report(&o)
}

/// The files a strip rewrites: the database at `db`, world, and the triggers file and scripts
/// archives beside the database (tests/it/apk_state.rs).
fn apk_state(db: &Path) -> Vec<PathBuf> {
    let dir = db.parent().unwrap();
    let mut out = vec![db.to_path_buf(), PathBuf::from(WORLD)];
    out.extend(["triggers", "scripts.tar", "scripts.tar.gz"].map(|f| dir.join(f)));
    out
}

/// `--check` in a RUN step, with the binary put back first: the report, the tree unchanged.
fn check(root: &Path, bin: &Path) -> (Option<i32>, serde_json::Value) {
    install_strip(bin, root);
    let before = snapshot(root);
    let o = run_step(root, &["--check", "--json"]);
    assert_eq!(snapshot(root), before, "--check changed the tree");
    fs::remove_file(root.join("strip")).unwrap();
    (o.status.code(), report(&o))
}

/// Asserts `--check` passes the tree in a RUN step.
fn distroless(root: &Path, bin: &Path) {
    let (code, v) = check(root, bin);
    assert_eq!(code, Some(0), "{v}");
}

/// Writes `bytes` at `path` inside `root` with `mode`.
fn plant(root: &Path, path: &str, bytes: &[u8], mode: u32) {
    let host = root.join(path);
    fs::create_dir_all(host.parent().unwrap()).unwrap();
    fs::write(&host, bytes).unwrap();
    fs::set_permissions(&host, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn the_audit_sees_every_folder_and_not_the_files_the_engine_mounts() {
    let (t, bin) = tree_with_strip();
    let r = t.path();
    let planted = [
        "etc/ww",
        "home/ww",
        "lib/ww",
        "opt/ww",
        "root/ww",
        "srv/ww",
        "usr/local/ww",
        "var/ww",
        "var/lib/deep/er/ww",
    ];
    for p in planted {
        plant(r, p, b"open to all", 0o666);
    }
    plant(r, "var/lib/suid", b"", 0o4755);
    plant(r, "tmp/scratch", b"", 0o666);
    let (code, v) = check(r, &bin);
    assert_eq!(code, Some(4));
    assert_eq!(findings(&v, "world-writable"), slashed(&planted));
    assert_eq!(findings(&v, "setuid"), slashed(&["var/lib/suid"]));
    install_strip(&bin, r);

    let db = fs::read(r.join(DB)).unwrap();
    let v = strip_exactly(r, &[], &removals(r, &db, &[]));
    assert_eq!(findings(&v, "world-writable"), slashed(&planted));
    assert_eq!(findings(&v, "setuid"), slashed(&["var/lib/suid"]));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_hard_link_of_busybox_outside_the_bin_folders_goes_and_check_sees_it() {
    let (t, bin) = tree_with_strip();
    let r = t.path();
    fs::create_dir_all(r.join("usr/libexec")).unwrap();
    fs::hard_link(r.join("bin/busybox"), r.join("usr/libexec/bb")).unwrap();
    let (code, v) = check(r, &bin);
    assert_eq!(code, Some(4));
    assert!(findings(&v, "busybox").contains("/usr/libexec/bb"), "{v}");
    install_strip(&bin, r);

    let db = fs::read(r.join(DB)).unwrap();
    let v = strip_exactly(r, &[], &removals(r, &db, &["usr/libexec/bb"]));
    assert_eq!(
        removed(&v, "busybox"),
        slashed(&["bin/busybox", "usr/libexec/bb"])
    );
    distroless(r, &bin);
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_keeps_what_an_unowned_program_needs_and_the_program_still_loads() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    // ssl_client links libssl and libcrypto; a copy in /usr/local/bin belongs to no package.
    fs::copy(
        r.join("usr/bin/ssl_client"),
        r.join("usr/local/bin/tlsclient"),
    )
    .unwrap();
    let db = fs::read(r.join(DB)).unwrap();
    let zlib: Vec<PathBuf> = apk_records(&db)
        .into_iter()
        .filter(|(n, _)| n == "zlib")
        .flat_map(|(_, rec)| record_files(&rec))
        .collect();
    // The note of a plain run reads the walk too: it names only zlib, and changes nothing.
    let before = snapshot(r);
    let v = report(&run_step(r, &["--dry-run", "--json"]));
    assert_eq!(snapshot(r), before);
    let prunable = names_in(&v["prunable"]);
    assert_eq!(prunable, ["zlib"]);
    let mut gone = removals(r, &db, &[]);
    gone.extend(zlib);
    let v = strip_exactly(r, &["--prune"], &gone);
    let pruned: Vec<&str> = v["pruned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(pruned, ["zlib"]);
    let o = chroot(r, &["/usr/local/bin/tlsclient"], &[], false);
    let out = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
    assert!(!out.contains("Error loading shared library"), "{out}");
    assert_ne!(o.status.code(), Some(127), "{out}");
}

/// busybox-suid's helper and its eight links, as the package installs them.
const SUID_LINKS: [&str; 8] = [
    "bin/mount",
    "bin/umount",
    "bin/su",
    "usr/bin/crontab",
    "usr/bin/passwd",
    "usr/bin/traceroute",
    "usr/bin/traceroute6",
    "usr/bin/vlock",
];

fn add_bbsuid(r: &Path) {
    plant(r, "bin/bbsuid", b"\x7fELF stand-in for bbsuid", 0o4111);
    for l in SUID_LINKS {
        fs::remove_file(r.join(l)).unwrap();
        symlink("/bin/bbsuid", r.join(l)).unwrap();
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn bbsuid_and_its_links_go_with_a_database_and_without() {
    for with_db in [true, false] {
        let (t, bin) = tree_with_strip();
        let r = t.path();
        add_bbsuid(r);
        if with_db {
            let mut db = fs::read(r.join(DB)).unwrap();
            db.extend_from_slice(b"P:busybox-suid\nV:1.36.1-r29\nA:x86_64\nD:busybox=1.36.1-r29\nF:bin\nR:bbsuid\na:0:0:4111\n\n");
            fs::write(r.join(DB), db).unwrap();
        } else {
            fs::remove_file(r.join(DB)).unwrap();
        }
        let db = fs::read(r.join(DB)).unwrap_or_default();
        let mut more = SUID_LINKS.to_vec();
        more.push("bin/bbsuid");
        let v = strip_exactly(r, &[], &removals(r, &db, &more));
        assert!(removed(&v, "busybox").contains("/bin/bbsuid"), "{v}");
        assert!(removed(&v, "applet_links").is_superset(&slashed(&SUID_LINKS)));
        if with_db {
            let left = apk_records(&fs::read(r.join(DB)).unwrap());
            assert!(left.iter().all(|(n, _)| n != "busybox-suid"));
            let dropped = v["apk_db"]["dropped"].to_string();
            assert!(dropped.contains("busybox-suid"), "{dropped}");
        }
        assert!(findings(&v, "dangling-link").is_empty(), "{v}");
        distroless(r, &bin);
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn applet_links_left_dangling_go() {
    // `rm /bin/busybox` by hand, and the seed one-liner, which leaves /usr/sbin's links.
    for seed in [false, true] {
        let (t, bin) = tree_with_strip();
        let r = t.path();
        if seed {
            let cmd = r"find /sbin /bin /usr/bin /usr/local/bin/ -type l -exec busybox rm -rf {} \;; busybox rm /sbin/apk /bin/busybox";
            chroot(r, &["/bin/busybox", "sh", "-c", cmd], &[], false);
            assert_eq!(fs::read_dir(r.join("usr/sbin")).unwrap().count(), 27);
        } else {
            fs::remove_file(r.join("bin/busybox")).unwrap();
        }
        let db = fs::read(r.join(DB)).unwrap();
        let v = strip_exactly(r, &[], &removals(r, &db, &[]));
        assert!(findings(&v, "dangling-link").is_empty(), "{v}");
        assert_eq!(fs::read_dir(r.join("usr/sbin")).unwrap().count(), 0);
        distroless(r, &bin);
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn copies_of_busybox_go_and_another_build_is_named_and_kept() {
    let (t, bin) = tree_with_strip();
    let r = t.path();
    let busybox = fs::read(r.join("bin/busybox")).unwrap();
    plant(r, "bin/sh.real", &busybox, 0o755);
    plant(r, "usr/local/bin/wget", &busybox, 0o755);
    // Another build: not the same bytes, the banner still in it; a file of busybox's size is
    // no copy.
    let mut other = busybox.clone();
    other.extend_from_slice(b"another build");
    plant(r, "opt/tools/bb", &other, 0o755);
    let mut same_size = busybox.clone();
    let last = same_size.len() - 1;
    same_size[last] ^= 0xff;
    plant(r, "opt/tools/data.bin", &same_size, 0o644);
    let (code, v) = check(r, &bin);
    assert_eq!(code, Some(4));
    let named = findings(&v, "busybox");
    for p in ["/bin/sh.real", "/usr/local/bin/wget", "/opt/tools/bb"] {
        assert!(named.contains(p), "{p} not named: {named:?}");
    }
    assert!(!named.contains("/strip"), "the tool carries no banner");
    assert!(!named.contains("/opt/tools/data.bin"));
    install_strip(&bin, r);

    let db = fs::read(r.join(DB)).unwrap();
    let gone = removals(r, &db, &["bin/sh.real", "usr/local/bin/wget"]);
    let v = strip_exactly(r, &[], &gone);
    assert_eq!(
        removed(&v, "busybox"),
        slashed(&["bin/busybox", "bin/sh.real", "usr/local/bin/wget"])
    );
    assert_eq!(findings(&v, "busybox"), slashed(&["opt/tools/bb"]));
    let (code, v) = check(r, &bin);
    assert_eq!(code, Some(4));
    assert_eq!(findings(&v, "busybox"), slashed(&["opt/tools/bb"]));
}

/// The files a strip in a RUN step fsyncs, inside the root (`strace -y` names each
/// descriptor's file), sorted; checking that it stripped and updated the database.
fn fsynced_files(args: &[&str]) -> Vec<String> {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let trace = tempfile::NamedTempFile::new().unwrap();
    // Under the tracer the strip is not PID 1: podman's $container says where it runs.
    let wrap = format!(
        "env container=podman strace -f -qq -y -e trace=fsync,fdatasync,syncfs,sync,sync_file_range -o {}",
        trace.path().display()
    );
    let o = run_step_under(r, &wrap, args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::symlink_metadata(r.join("bin/busybox")).is_err());
    let db = String::from_utf8(fs::read(r.join(DB)).unwrap()).unwrap();
    assert!(!db.contains("\nP:busybox\n"), "the database was updated");
    let calls = fs::read_to_string(trace.path()).unwrap();
    let mut files: Vec<String> = calls
        .lines()
        .filter(|l| !l.contains("exited with") && !l.contains("+++"))
        .map(|l| {
            let at = l.find('<').unwrap_or_else(|| panic!("no file named: {l}"));
            let host = Path::new(l[at + 1..].split('>').next().unwrap());
            host.strip_prefix(r).unwrap().display().to_string()
        })
        .collect();
    files.sort();
    files
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn the_new_database_is_fsynced_as_apk_would_only_with_sync_in_a_run_step() {
    // apk's --sync=auto: a container build's step is not synced.
    assert_eq!(fsynced_files(&[]), Vec::<String>::new());
    // --sync: each new file of the database, once, before it is renamed into place.
    assert_eq!(
        fsynced_files(&["--sync"]),
        [
            "etc/apk/world.alpine-strip.tmp",
            "lib/apk/db/installed.alpine-strip.tmp",
            "lib/apk/db/scripts.tar.alpine-strip.tmp",
            "lib/apk/db/triggers.alpine-strip.tmp",
        ]
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_database_under_usr_lib_is_read_updated_and_locked_there() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::rename(r.join("lib/apk"), r.join("usr/lib/apk")).unwrap();
    let db_path = PathBuf::from("usr/lib/apk/db/installed");
    let db = fs::read(r.join(&db_path)).unwrap();

    // apk's lock, held beside the database: the strip refuses and changes nothing.
    let lock = r.join("usr/lib/apk/db/lock");
    fs::write(&lock, b"").unwrap();
    let holder = fs::File::open(&lock).unwrap();
    holder.lock().unwrap();
    let before = snapshot(r);
    let o = run_step(r, &[]);
    drop(holder);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/usr/lib/apk/db/lock: held by another apk or strip"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(r), before);

    let gone = removals(r, &db, &[]);
    let before = snapshot(r);
    let o = run_step(r, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = snapshot(r);
    assert_only_removed(&before, &after, &gone, &apk_state(&db_path));
    let v = report(&o);
    assert_eq!(v["apk_db"]["status"], "updated", "{v}");
    let expected: Vec<(String, String)> = apk_records(&db)
        .into_iter()
        .filter(|(n, _)| !BY_DEFINITION.contains(&n.as_str()))
        .collect();
    assert_eq!(apk_records(&fs::read(r.join(&db_path)).unwrap()), expected);
    assert!(!r.join("lib/apk").exists(), "nothing made at the old place");
    let world = fs::read_to_string(r.join(WORLD)).unwrap();
    assert!(
        !world.contains("busybox") && !world.contains("apk-tools"),
        "{world}"
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn alpine_3_23_with_its_database_under_usr_lib_loses_busybox_in_every_form() {
    let (tar, bin) = (rootfs_323(), static_bin());
    let t = unpack(&tar);
    let r = t.path();
    install_strip(&bin, r);
    fs::rename(r.join("lib/apk"), r.join("usr/lib/apk")).unwrap();
    let db_path = PathBuf::from("usr/lib/apk/db/installed");
    let db = fs::read(r.join(&db_path)).unwrap();
    let busybox = fs::read(r.join("bin/busybox")).unwrap();
    plant(r, "usr/local/bin/wget", &busybox, 0o755);
    fs::create_dir_all(r.join("usr/libexec")).unwrap();
    fs::hard_link(r.join("bin/busybox"), r.join("usr/libexec/bb")).unwrap();
    plant(r, "var/ww", b"", 0o666);
    let planted = ["usr/local/bin/wget", "usr/libexec/bb"];
    let mut gone = removals(r, &db, &planted);
    // 3.23 names apk's library package libapk: it goes with its only file.
    for (name, rec) in apk_records(&db) {
        if name == "libapk" {
            gone.extend(record_files(&rec));
        }
    }

    let before = snapshot(r);
    let o = run_step(r, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_only_removed(&before, &snapshot(r), &gone, &apk_state(&db_path));
    let v = report(&o);
    let mut bb = slashed(&planted);
    bb.insert("/bin/busybox".into());
    assert_eq!(removed(&v, "busybox"), bb);
    assert_eq!(findings(&v, "world-writable"), slashed(&["var/ww"]));
    assert!(findings(&v, "dangling-link").is_empty(), "{v}");
    let left: Vec<String> = apk_records(&fs::read(r.join(&db_path)).unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for name in [
        "busybox",
        "busybox-binsh",
        "ssl_client",
        "apk-tools",
        "libapk",
    ] {
        assert!(!left.iter().any(|n| n == name), "{name} still listed");
    }
    assert!(!r.join("lib/apk").exists(), "nothing made at the old place");
    distroless(r, &bin);
}

/// What a strip in a RUN step was given and did: the tree, its snapshot and database before,
/// what a whole strip removes from it, and the exit.
struct Signalled {
    tree: tempfile::TempDir,
    before: BTreeMap<PathBuf, Node>,
    db: Vec<u8>,
    gone: Vec<PathBuf>,
    out: Output,
}

/// A strip in a RUN step on a fresh copy of the tree (with `lib/apk/db/lock` unless
/// `no_lock`), under strace, which acts as each of `inject` (`SYSCALL:signal=SIG:when=N` sends
/// SIG as the strip enters its Nth SYSCALL); `prefix` runs strace (`nohup` to start it ignoring
/// SIGHUP).
fn strip_signalled(prefix: &str, inject: &[&str], no_lock: bool) -> Signalled {
    let (tree, _) = tree_with_strip();
    let r = tree.path();
    if no_lock {
        fs::remove_file(r.join("lib/apk/db/lock")).unwrap();
    }
    let before = snapshot(r);
    let db = fs::read(r.join(DB)).unwrap();
    let gone = removals(r, &db, &[]);
    let calls: Vec<&str> = inject
        .iter()
        .map(|i| i.split(':').next().unwrap())
        .collect();
    let injections: Vec<String> = inject.iter().map(|i| format!("-e inject={i}")).collect();
    // Under the tracer the strip is not PID 1: podman's $container says where it runs.
    let wrap = format!(
        "env container=podman {prefix} strace -f -qq -o /dev/null -e trace={} {}",
        calls.join(","),
        injections.join(" ")
    );
    let out = run_step_under(r, &wrap, &["--json"]);
    Signalled {
        tree,
        before,
        db,
        gone,
        out,
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_signal_before_the_first_removal_stops_the_strip_with_the_tree_as_it_was() {
    // The staging of the new database is the only place the strip calls fchmod and fchown:
    // SIGTERM, then SIGINT, come while the first staged file is being written. The first
    // readlink is discovery's, after the strip made apk's lock file in a tree that had none.
    for (inject, no_lock, first) in [
        (&["fchmod:signal=TERM:when=1"][..], false, "SIGTERM"),
        (
            &["fchown:signal=TERM:when=1", "fchmod:signal=INT:when=1"],
            false,
            "SIGINT",
        ),
        (&["readlinkat:signal=HUP:when=1"], true, "SIGHUP"),
    ] {
        let s = strip_signalled("", inject, no_lock);
        let o = &s.out;
        assert_eq!(o.status.code(), Some(6), "{inject:?}: {}", stderr(o));
        assert_eq!(
            stderr(o),
            format!(
                "alpine-strip: error: interrupted by {first} before the first removal: nothing was removed\n"
            )
        );
        let v = report(o);
        assert_eq!(v["outcome"], "interrupted", "{v}");
        assert_eq!(v["exit_code"], 6, "{v}");
        // Nothing removed, no staged file left beside the database or world, no lock file made.
        assert_eq!(snapshot(s.tree.path()), s.before, "{inject:?}");
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_signal_during_the_removals_ends_the_strip_once_it_is_done_and_reported() {
    // Ctrl-C at the 50th of the 315 removals, in a tree without apk's lock file (the run
    // makes it): held until the new database is in place, the lock file gone again and the
    // report written; then it ends the process (strace, PID 1 here, exits 128 + SIGINT).
    let s = strip_signalled("", &["unlinkat:signal=INT:when=50"], true);
    let r = s.tree.path();
    assert_eq!(s.out.status.code(), Some(130), "{}", stderr(&s.out));
    assert_eq!(report(&s.out)["outcome"], "stripped");
    assert_only_removed(&s.before, &snapshot(r), &s.gone, &apk_state(Path::new(DB)));
    let expected: Vec<(String, String)> = apk_records(&s.db)
        .into_iter()
        .filter(|(n, _)| !BY_DEFINITION.contains(&n.as_str()))
        .collect();
    let db = fs::read(r.join(DB)).unwrap();
    assert_eq!(apk_records(&db), expected, "the new database is in place");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_failure_with_a_signal_held_is_reported_before_the_signal_ends_the_strip() {
    // The 60th removal fails (EIO, which no preflight can foresee) as SIGINT comes.
    let s = strip_signalled("", &["unlinkat:error=EIO:signal=INT:when=60"], false);
    assert_eq!(s.out.status.code(), Some(130), "{}", stderr(&s.out));
    let err = stderr(&s.out);
    assert!(
        err.starts_with("alpine-strip: error: /")
            && err.contains(": cannot remove: I/O error (os error 5)"),
        "{err}"
    );
    // The other removals were made and apk's state tells what is there (tests/it/exact.rs).
    assert_eq!(report(&s.out)["outcome"], "incomplete");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_signal_the_strip_was_started_ignoring_changes_nothing() {
    // nohup: SIGHUP is ignored, so it is not held, and its coming does not stop the strip.
    let s = strip_signalled("nohup", &["fchmod:signal=HUP:when=1"], false);
    assert!(s.out.status.success(), "{}", stderr(&s.out));
    assert_eq!(report(&s.out)["outcome"], "stripped");
    let after = snapshot(s.tree.path());
    assert_only_removed(&s.before, &after, &s.gone, &apk_state(Path::new(DB)));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn in_a_run_step_scripts_start_with_the_images_path() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    // A program no package owns stands in for coreutils' env (busybox's goes with it), and
    // python3 lies only in a virtualenv.
    fs::remove_file(r.join("usr/bin/env")).unwrap();
    fs::copy(r.join("usr/bin/iconv"), r.join("usr/bin/env")).unwrap();
    fs::create_dir_all(r.join("opt/venv/bin")).unwrap();
    fs::copy(r.join("usr/bin/iconv"), r.join("opt/venv/bin/python3")).unwrap();
    plant(r, "app/tool.py", b"#!/usr/bin/env python3\n", 0o755);
    let dead = |o: &Output| findings(&report(o), "missing-interpreter");
    // Docker's default PATH: python3 is not on it.
    let o = run_step(r, &["--dry-run", "--json"]);
    assert!(dead(&o).contains("/app/tool.py"), "{}", stderr(&o));
    // The image's ENV PATH=/opt/venv/bin:$PATH, which the RUN step (and the strip) has.
    let wrap =
        "env PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let o = run_step_under(r, wrap, &["--dry-run", "--json"]);
    assert!(!dead(&o).contains("/app/tool.py"), "{}", stderr(&o));
    assert!(dead(&o).contains("/sbin/ldconfig"), "#!/bin/sh still goes");
    // Under --root the tool's environment is not the tree's: Docker's default again, unless
    // --env gives the image's (as `docker inspect` shows it).
    let o = run_on(r, &["--dry-run", "--json"]);
    assert!(dead(&o).contains("/app/tool.py"), "{}", stderr(&o));
    let o = run_on(
        r,
        &["--dry-run", "--json", "--env", "PATH=/opt/venv/bin:/bin"],
    );
    assert!(!dead(&o).contains("/app/tool.py"), "{}", stderr(&o));
}

/// `RUN ["/strip", "--strict", ARGS]` on a fresh copy of `tar` (/usr-merged when `merged`),
/// with the x86_64 binary (the audit judges the tree's own architecture, whatever the tool's):
/// the exit status and report.
fn strict_run_step(
    tar: &Path,
    bin: &Path,
    merged: bool,
    args: &[&str],
) -> (Option<i32>, serde_json::Value) {
    let t = unpack(tar);
    if merged {
        usr_merge(t.path());
    }
    install_strip(bin, t.path());
    let mut all = vec!["--strict", "--json"];
    all.extend_from_slice(args);
    let o = run_step(t.path(), &all);
    (o.status.code(), report(&o))
}

/// (severity, kind, path, missing) of every finding that is not a note.
fn acted_on(v: &serde_json::Value) -> Vec<[String; 4]> {
    let s = |x: &serde_json::Value| x.as_str().unwrap_or("-").to_string();
    let all = v["findings"].as_array().unwrap();
    all.iter()
        .filter(|f| f["severity"] != "note")
        .map(|f| {
            [
                s(&f["severity"]),
                s(&f["kind"]),
                s(&f["path"]),
                s(&f["missing"]),
            ]
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(all(fixture_fixtures, fixture_strip_bin)),
    ignore = "needs ALPINE_FIXTURES and ALPINE_STRIP_BIN"
)]
fn strict_passes_every_architectures_stock_tree_with_and_without_prune() {
    let (fixtures, bin) = (need_env("ALPINE_FIXTURES"), static_bin());
    for arch in [
        "x86_64", "x86", "aarch64", "armhf", "armv7", "ppc64le", "riscv64", "s390x",
    ] {
        let tar = fixtures.join(format!("alpine-minirootfs-3.20.3-{arch}.tar.gz"));
        // x86_64 /usr-merged too (the other architectures' layouts are the same).
        let merges: &[bool] = if arch == "x86_64" {
            &[false, true]
        } else {
            &[false]
        };
        let runs = merges
            .iter()
            .flat_map(|&m| [(m, &[][..]), (m, &["--prune"][..])]);
        for (merged, args) in runs {
            let (code, v) = strict_run_step(&tar, &bin, merged, args);
            assert_eq!(code, Some(0), "{arch} {args:?}: {v}");
            assert_eq!(v["outcome"], "stripped", "{arch} {args:?}: {v}");
            // What is left dead is the base's own shell scripts, each a note.
            let notes: Vec<&str> = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap())
                .collect();
            let want = if merged {
                ["/usr/bin/ldd", "/usr/sbin/ldconfig"]
            } else {
                ["/sbin/ldconfig", "/usr/bin/ldd"]
            };
            assert_eq!(notes, want, "{arch} merged: {merged}");
            assert!(acted_on(&v).is_empty(), "{arch}: {v}");
        }
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree_3_23),
    ignore = "needs ALPINE_ROOTFS_3_23 and ALPINE_STRIP_BIN"
)]
fn strict_on_the_323_export_fails_only_for_the_libcrypto_it_lacks() {
    let (tar, bin) = (rootfs_323(), static_bin());
    let (code, v) = strict_run_step(&tar, &bin, false, &[]);
    assert_eq!(code, Some(4), "{v}");
    assert_eq!(v["outcome"], "strict");
    let acted = acted_on(&v);
    let crypto = ["/usr/lib/libcrypto.so.3", "libcrypto.so.3"];
    assert!(
        acted
            .iter()
            .any(|f| f[1] == "stale-apk-record" && f[2] == crypto[0]),
        "{acted:?}"
    );
    // Every other warning is a library that cannot load without it.
    for f in &acted {
        assert!(f[2] == crypto[0] || f[3] == crypto[1], "{f:?} in {acted:?}");
    }
    assert!(
        acted.iter().any(|f| f[2] == "/usr/lib/libssl.so.3"),
        "{acted:?}"
    );
    // --prune takes libssl and libcrypto's record with it: nothing is left to act on.
    let (code, v) = strict_run_step(&tar, &bin, false, &["--prune"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(acted_on(&v).is_empty(), "{v}");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn strict_notes_the_scripts_apk_installed_and_fails_on_the_authors_own() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    // OpenSSL's CA.pl as 3.12 to 3.19 ship it, in libcrypto's record.
    plant(
        r,
        "etc/ssl/misc/CA.pl",
        b"#!/usr/bin/env perl\nprint 1;\n",
        0o755,
    );
    let db = fs::read_to_string(r.join(DB)).unwrap();
    let db = db.replacen(
        "P:libcrypto3\n",
        "P:libcrypto3\nF:etc/ssl/misc\nR:CA.pl\na:0:0:755\n",
        1,
    );
    fs::write(r.join(DB), db).unwrap();
    let o = run_step(r, &["--strict", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = report(&o);
    let notes: BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "note")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        notes,
        slashed(&["etc/ssl/misc/CA.pl", "sbin/ldconfig", "usr/bin/ldd"])
    );
    // The same script of the author's own, on PATH: a warning, and --strict fails.
    let (t, _) = tree_with_strip();
    let r = t.path();
    plant(
        r,
        "usr/local/bin/report.pl",
        b"#!/usr/bin/env perl\n",
        0o755,
    );
    let o = run_step(r, &["--strict"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: missing-interpreter /usr/local/bin/report.pl: #!/usr/bin/env is removed by the strip (busybox applet link)"),
        "{}",
        stderr(&o)
    );
}
