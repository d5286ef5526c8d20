//! Libraries judged where they are loaded, on real artefacts fetched pinned by
//! tests/npm-fetch.sh: numpy's musllinux wheel (auditwheel's `numpy.libs`: hashed libraries
//! without an rpath, found through the extension module's), and koffi 2.16.3, whose prebuilt
//! addons are for Linux with musl, Linux with glibc, FreeBSD and OpenBSD on the same machine.
//! Each run of the tool is a RUN step ([`run_step`]); these tests need root.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;
use crate::start::{npm_tarballs, unpack_npm};

/// (severity, kind, path, missing, needed_by) of every start finding under `under`.
fn start_rows(o: &Output, under: &str) -> Vec<[String; 5]> {
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)));
    let s = |x: &serde_json::Value| x.as_str().unwrap_or("-").to_string();
    let mut rows: Vec<[String; 5]> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "missing-library" || f["kind"] == "missing-interpreter")
        .filter(|f| f["path"].as_str().unwrap().starts_with(under))
        .map(|f| {
            [
                s(&f["severity"]),
                s(&f["kind"]),
                s(&f["path"]),
                s(&f["missing"]),
                s(&f["needed_by"]),
            ]
        })
        .collect();
    rows.sort();
    rows
}

const SITE: &str = "usr/lib/python3.12/site-packages";

/// The 3.20.3 tree with numpy's wheel unpacked into site-packages as pip lays it out.
fn numpy_tree() -> tempfile::TempDir {
    let (tar, cache) = (minirootfs(), npm_tarballs());
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let site = t.path().join(SITE);
    unpack_numpy_wheel(&cache, &site);
    t
}

/// numpy's musllinux wheel from `cache` (tests/npm-fetch.sh), unpacked into `site` as pip lays
/// it out.
pub fn unpack_numpy_wheel(cache: &Path, site: &Path) {
    fs::create_dir_all(site).unwrap();
    let st = Command::new("unzip")
        .arg("-q")
        .arg(cache.join("numpy-2.2.6-cp312-cp312-musllinux_1_2_x86_64.whl"))
        .arg("-d")
        .arg(site)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_npm)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and ALPINE_NPM_CACHE (tests/npm-fetch.sh)"
)]
fn an_auditwheel_libs_folder_is_judged_through_the_extension_that_loads_it() {
    let t = numpy_tree();
    let r = t.path();
    let libs = r.join(SITE).join("numpy.libs");
    // libstdc++ needs its sibling libgcc_s and has no rpath: found through the rpath of the
    // extension module that loads it (every program that loads it does so).
    let o = run_step_installed(r, &["--check", "--json"]);
    let under = format!("/{SITE}/");
    let libraries: Vec<_> = start_rows(&o, &under)
        .into_iter()
        .filter(|f| f[1] == "missing-library")
        .collect();
    assert!(libraries.is_empty(), "{libraries:?}");

    // Without that sibling, the extension module is named, through libstdc++: once.
    fs::remove_file(libs.join("libgcc_s-a3a07607.so.1")).unwrap();
    let o = run_step_installed(r, &["--check", "--json"]);
    let umath = format!("/{SITE}/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-musl.so");
    let libstdcxx = format!("/{SITE}/numpy.libs/libstdc++-496613c0.so.6.0.32");
    let rows: Vec<_> = start_rows(&o, &under)
        .into_iter()
        .filter(|f| f[1] == "missing-library")
        .collect();
    assert!(
        rows.iter()
            .any(|f| f[2] == umath && f[3] == "libgcc_s-a3a07607.so.1"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|f| f[3] == "libgcc_s-a3a07607.so.1" && f[2] != libstdcxx),
        "{rows:?}"
    );
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_npm)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and ALPINE_NPM_CACHE (tests/npm-fetch.sh)"
)]
fn addons_for_other_systems_are_passed_over_and_glibc_ones_counted_in_one_note() {
    let (tar, cache) = (minirootfs(), npm_tarballs());
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let r = t.path();
    let koffi = r.join("app/node_modules/koffi");
    unpack_npm(&cache.join("koffi-2.16.3.tgz"), &koffi);
    let build = "/app/node_modules/koffi/build/koffi";
    let o = run_step_installed(r, &["--check", "--json"]);
    // FreeBSD's (EI_OSABI 9) and OpenBSD's (its ABI note) are not this image's; glibc's is
    // counted, and passed over (no glibc program could load it); musl's is judged, and lacks the C++ runtime bare Alpine has not. (koffi's
    // build scripts are notes: scripts of a library tree.)
    let warned: Vec<_> = start_rows(&o, "/app/")
        .into_iter()
        .filter(|f| f[0] != "note")
        .collect();
    assert_eq!(
        warned,
        [[
            "warning",
            "missing-library",
            &format!("{build}/musl_x64/koffi.node"),
            "libstdc++.so.6",
            &format!("{build}/musl_x64/koffi.node"),
        ]
        .map(String::from)]
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["glibc_objects"],
        serde_json::json!([format!("{build}/linux_x64/koffi.node")])
    );
    let o = run_step_installed(r, &["--check"]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "note: 1 glibc objects ({build}/linux_x64/koffi.node): judged by glibc's search rules, not musl's (a glibc library is passed over when no glibc program"
        )),
        "{err}"
    );
    for other in ["freebsd_x64", "openbsd_x64", "linux_x64/koffi.node: "] {
        assert!(!err.contains(other), "{other} in {err}");
    }
    // With a C++ runtime in /usr/lib (a stand-in: the loader only needs the file), nothing.
    fs::copy(
        r.join("lib/libz.so.1.3.1"),
        r.join("usr/lib/libstdc++.so.6"),
    )
    .unwrap();
    let o = run_step_installed(r, &["--check", "--json"]);
    let rows = start_rows(&o, "/app/");
    assert!(rows.iter().all(|f| f[0] == "note"), "{rows:?}");
    assert!(Path::new(&r.join(&build[1..])).exists());
}
