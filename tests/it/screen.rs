//! A report that fits a screen, and every line of it true: an application image with hundreds
//! of library scripts (a made-up stdlib's and numpy's wheel's), a few programs of its author's
//! that the strip leaves dead, and a CRLF entrypoint, stripped in a RUN step; then every
//! program a user starts (the bin folders, the root) is run in the stripped tree.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::libraries::unpack_numpy_wheel;
use crate::start::npm_tarballs;

fn plant(root: &Path, path: &str, bytes: &[u8], mode: u32) {
    let host = root.join(path);
    fs::create_dir_all(host.parent().unwrap()).unwrap();
    fs::write(&host, bytes).unwrap();
    fs::set_permissions(&host, fs::Permissions::from_mode(mode)).unwrap();
}

/// Whether `program` fails to start in `root` (run chrooted, no arguments, no input): exit
/// status 127, which the kernel's ENOENT (chroot) and musl's loader both give.
fn fails_to_start(root: &Path, program: &str) -> bool {
    let o = Command::new("timeout")
        .args(["5", "chroot"])
        .arg(root)
        .arg(program)
        .stdin(std::process::Stdio::null())
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .output()
        .unwrap();
    o.status.code() == Some(127)
}

/// Every entry a user starts by path: files and links in the bin folders, executable files at
/// the root (but the tool itself).
fn started_programs(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in BIN_DIRS {
        let Ok(list) = fs::read_dir(root.join(d)) else {
            continue;
        };
        for e in list {
            out.push(format!("/{d}/{}", e.unwrap().file_name().to_string_lossy()));
        }
    }
    for e in fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let m = fs::symlink_metadata(e.path()).unwrap();
        if m.is_file() && m.permissions().mode() & 0o111 != 0 {
            out.push(format!("/{}", e.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_npm)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and ALPINE_NPM_CACHE"
)]
fn the_report_fits_a_screen_and_names_exactly_the_programs_that_fail() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let cache = npm_tarballs();
    // A stdlib's worth of executable modules, as CPython installs them.
    for i in 0..300 {
        let body = format!("#!/usr/bin/env python3\nprint({i})\n");
        plant(
            r,
            &format!("usr/lib/python3.12/mod{i}.py"),
            body.as_bytes(),
            0o755,
        );
    }
    let site = r.join("usr/lib/python3.12/site-packages");
    unpack_numpy_wheel(&cache, &site);
    // The author's programs: a shell script, a program needing the library apk takes with it,
    // a CRLF entrypoint; and one that starts.
    plant(r, "usr/local/bin/app", b"#!/bin/sh\nexec /app/run\n", 0o755);
    fs::copy(r.join("sbin/apk"), r.join("usr/local/bin/fetcher")).unwrap();
    plant(
        r,
        "docker-entrypoint.sh",
        b"#!/bin/sh\r\nexec app\r\n",
        0o755,
    );
    fs::copy(r.join("usr/bin/getent"), r.join("usr/local/bin/lookup")).unwrap();

    // The library tree's scripts, counted here: executable files that start with `#!`.
    let scripts = walkdir::WalkDir::new(r.join("usr/lib/python3.12"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.metadata().unwrap().permissions().mode() & 0o111 != 0)
        .filter(|e| fs::read(e.path()).unwrap().starts_with(b"#!"))
        .count();
    assert!(scripts > 300);

    let o = run_step(r, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let human = stderr(&o);
    assert!(human.lines().count() <= 12, "{human}");
    // The library tree in one line.
    let tree = format!("note: /usr/lib/python3.12: {scripts} scripts of this library tree");
    assert!(human.contains(&tree), "{human}");

    // JSON (the same tree, --check: nothing left to remove) keeps every one of them.
    install_strip(&static_bin(), r);
    let o = run_step(r, &["--check", "--json"]);
    fs::remove_file(r.join("strip")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let of = |severity: &str| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f["severity"] == severity)
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    let (warned, noted) = (of("warning"), of("note"));
    assert_eq!(noted.len(), scripts + 2, "{noted:?}");
    assert_eq!(
        warned,
        [
            "/docker-entrypoint.sh",
            "/usr/local/bin/app",
            "/usr/local/bin/fetcher"
        ]
        .map(String::from)
        .into()
    );

    // Each program a user starts: it fails exactly when the report names it.
    let mut failing = BTreeSet::new();
    for p in started_programs(r) {
        if fails_to_start(r, &p) {
            failing.insert(p);
        }
    }
    let named: BTreeSet<String> = warned.union(&noted).cloned().collect();
    let started: BTreeSet<String> = started_programs(r).into_iter().collect();
    let named_started: BTreeSet<String> = named.intersection(&started).cloned().collect();
    assert_eq!(failing, named_started);
    assert!(failing.contains("/sbin/ldconfig") && failing.contains("/usr/local/bin/app"));
    assert!(!failing.contains("/usr/local/bin/lookup"));
}
