//! Shells other than busybox's, as people install or copy them into an image: Debian's
//! `bash-static` and `mksh` (its glibc build, the static `lksh`, and static builds with musl,
//! klibc and dietlibc, with the `rmksh`/`rlksh`/`mksh-static` links), fetched pinned by
//! tests/npm-fetch.sh and unpacked into the 3.20.3 tree as dpkg lays them out. Each is an
//! audit error, by its name, the name it links to, or the words it carries.
//! Each run of the tool is a RUN step ([`run_step`]); these tests need root.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::start::npm_tarballs;

/// Unpacks the Debian package `deb` into `root`, as dpkg would lay it out.
pub fn dpkg_x(deb: &Path, root: &Path) {
    let st = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(root)
        .status()
        .unwrap();
    assert!(st.success(), "dpkg-deb -x {}", deb.display());
}

/// The paths of the `shell` errors of a JSON report.
fn shells(o: &std::process::Output) -> BTreeSet<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)));
    let all = v["findings"].as_array().unwrap();
    all.iter()
        .filter(|f| f["kind"] == "shell" && f["severity"] == "error")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_npm)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and ALPINE_NPM_CACHE (tests/npm-fetch.sh)"
)]
fn debians_bash_static_and_mksh_are_shells_under_any_name() {
    let (tar, cache) = (minirootfs(), npm_tarballs());
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let r = t.path();
    dpkg_x(&cache.join("bash-static_5.2.15-2+b13_amd64.deb"), r);
    dpkg_x(&cache.join("mksh_59c-28+deb12u1_amd64.deb"), r);
    // A copy under a name that says nothing, outside the bin folders.
    fs::create_dir_all(r.join("opt/tools")).unwrap();
    fs::copy(r.join("bin/bash-static"), r.join("opt/tools/runner")).unwrap();
    // Each is a working shell: run the static ones in the tree.
    for sh in [
        "/bin/bash-static",
        "/bin/lksh",
        "/bin/mksh-static",
        "/usr/lib/x86_64-linux-musl/bin/mksh",
        "/opt/tools/runner",
    ] {
        let o = chroot(r, &[sh, "-c", "echo started"], &[], false);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "started\n", "{sh}");
    }

    let o = run_step_installed(r, &["--check", "--json"]);
    assert_eq!(o.status.code(), Some(4));
    let busybox_shells = ["/bin/ash", "/bin/sh"];
    let want: BTreeSet<String> = [
        // By name, or by the name a link ends at.
        "/bin/bash-static",
        "/bin/mksh",
        "/bin/lksh",
        "/bin/rmksh",
        "/bin/rlksh",
        "/bin/mksh-static",
        // By the words they carry.
        "/usr/lib/klibc/bin/mksh",
        "/usr/lib/diet/bin/mksh",
        "/usr/lib/x86_64-linux-musl/bin/mksh",
        "/opt/tools/runner",
    ]
    .into_iter()
    .chain(busybox_shells)
    .map(String::from)
    .collect();
    assert_eq!(shells(&o), want, "{}", stderr(&o));
    let o = run_step_installed(r, &["--check"]);
    let err = stderr(&o);
    // Debian's dynamic mksh is glibc's: counted once, though /bin/rmksh names it too.
    assert!(
        err.contains("note: 1 glibc objects (/bin/mksh): judged by glibc's search rules"),
        "{err}"
    );
    assert!(
        err.contains(
            "error: shell /opt/tools/runner: a build of bash (its own words), owned by no package"
        ),
        "{err}"
    );
    assert!(
        err.contains("error: shell /usr/lib/x86_64-linux-musl/bin/mksh: a build of mksh"),
        "{err}"
    );

    // The strip leaves them (they are the image author's), and says so: --strict fails.
    let o = run_step_installed(r, &["--force", "--strict", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let left: BTreeSet<String> = want
        .iter()
        .filter(|p| !busybox_shells.contains(&p.as_str()))
        .cloned()
        .collect();
    assert_eq!(shells(&o), left, "{}", stderr(&o));
    let o = chroot(r, &["/bin/bash-static", "-c", "echo still"], &[], false);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "still\n");
}
