//! "Will it still start?" on the real Alpine 3.20.3 tree with applications laid out as real
//! images lay them out: the nginx image's entrypoint scripts, npm's `#!/usr/bin/env node`
//! link, yarn's link into /opt, a program copied from the tree that links libssl, and a real
//! Node.js addon from the npm registry that loads libvips through `DT_RPATH $ORIGIN/...`.
//! Each run is a RUN step ([`run_step`]: `/strip` in the root, `unshare -m`, proc, sysfs, /dev and
//! the engine's bind mounts); these tests need root.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The 3.20.3 tree with the static binary as `/strip`, the nginx image's entrypoint scripts, npm and yarn as their images
/// install them, and `tlsclient`, a copy of ssl_client (it links libssl and libcrypto).
fn app_tree(tar: &Path) -> tempfile::TempDir {
    let t = unpack(tar);
    let r = t.path();
    install_strip(&static_bin(), r);
    put(
        r,
        "docker-entrypoint.sh",
        b"#!/bin/sh\nset -e\nexec \"$@\"\n",
    );
    put(
        r,
        "docker-entrypoint.d/10-listen.sh",
        b"#!/bin/sh\necho listen\n",
    );
    put(
        r,
        "usr/local/lib/node_modules/npm/bin/npm-cli.js",
        b"#!/usr/bin/env node\nrequire('../lib/cli.js')(process)\n",
    );
    symlink(
        "../lib/node_modules/npm/bin/npm-cli.js",
        r.join("usr/local/bin/npm"),
    )
    .unwrap();
    put(
        r,
        "opt/yarn/bin/yarn",
        b"#!/bin/sh\nexec node \"$0.js\" \"$@\"\n",
    );
    symlink("/opt/yarn/bin/yarn", r.join("usr/local/bin/yarn")).unwrap();
    fs::copy(
        r.join("usr/bin/ssl_client"),
        r.join("usr/local/bin/tlsclient"),
    )
    .unwrap();
    t
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

/// (kind, path, missing, cause, package) of every start finding of a JSON report.
fn start_findings(v: &serde_json::Value) -> Vec<[String; 5]> {
    let s = |x: &serde_json::Value| x.as_str().unwrap_or("-").to_string();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "missing-interpreter" || f["kind"] == "missing-library")
        .map(|f| {
            [
                s(&f["kind"]),
                s(&f["path"]),
                s(&f["missing"]),
                s(&f["cause"]),
                s(&f["package"]),
            ]
        })
        .collect()
}

/// The start findings of a JSON report about programs under /app, sorted.
fn app_findings(o: &Output) -> Vec<[String; 5]> {
    let mut rows: Vec<_> = start_findings(&json(o))
        .into_iter()
        .filter(|f| f[1].starts_with("/app/"))
        .collect();
    rows.sort();
    rows
}

fn row(kind: &str, path: &str, missing: &str, cause: &str, package: &str) -> [String; 5] {
    [kind, path, missing, cause, package].map(String::from)
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn scripts_anywhere_in_the_image_whose_interpreter_the_strip_removes_are_named() {
    let tar = minirootfs();
    let t = app_tree(&tar);
    // The dry run names them too, changing nothing; then the strip.
    let before = snapshot(t.path());
    let planned = start_findings(&json(&run_step_installed(
        t.path(),
        &["--dry-run", "--json"],
    )));
    assert_eq!(snapshot(t.path()), before);
    let o = run_step_installed(t.path(), &["--force", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(start_findings(&json(&o)), planned);
    let binsh = |p: &str| {
        row(
            "missing-interpreter",
            p,
            "/bin/sh",
            "removed-by-strip",
            "busybox-binsh",
        )
    };
    let env = |p: &str| {
        row(
            "missing-interpreter",
            p,
            "/usr/bin/env",
            "removed-by-strip",
            "-",
        )
    };
    assert_eq!(
        start_findings(&json(&o)),
        [
            binsh("/docker-entrypoint.d/10-listen.sh"),
            binsh("/docker-entrypoint.sh"),
            binsh("/opt/yarn/bin/yarn"),
            binsh("/sbin/ldconfig"),
            binsh("/usr/bin/ldd"),
            env("/usr/local/bin/npm"),
            binsh("/usr/local/bin/yarn"),
            env("/usr/local/lib/node_modules/npm/bin/npm-cli.js"),
        ]
    );
    let err = stderr(&o);
    for line in [
        "alpine-strip: warning: missing-interpreter /docker-entrypoint.sh: #!/bin/sh is removed by the strip (busybox-binsh)\n",
        "alpine-strip: warning: missing-interpreter /usr/local/bin/npm (-> /usr/local/lib/node_modules/npm/bin/npm-cli.js): #!/usr/bin/env is removed by the strip (busybox applet link)\n",
        "alpine-strip: warning: missing-interpreter /usr/local/bin/yarn (-> /opt/yarn/bin/yarn): #!/bin/sh is removed by the strip (busybox-binsh)\n",
    ] {
        assert!(err.contains(line), "{line} not in:\n{err}");
    }
    // tlsclient still loads: libssl and libcrypto stay without --prune.
    assert!(!err.contains("tlsclient"), "{err}");
    // A script the entrypoint runs is a note of its own tree; the targets of the links the
    // warnings named are not named again.
    let listen = "alpine-strip: note: missing-interpreter /docker-entrypoint.d/10-listen.sh: #!/bin/sh is removed by the strip (busybox-binsh) (a script of a library tree, /docker-entrypoint.d: nobody starts it by path)\n";
    assert!(err.contains(listen), "{err}");
    for named_once in ["/opt/yarn/bin/yarn:", "/npm-cli.js:"] {
        assert!(!err.contains(named_once), "{named_once} in {err}");
    }

    // --check afterwards: the same programs, nothing removed by this run.
    let o = run_step_installed(t.path(), &["--check", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = start_findings(&json(&o));
    assert_eq!(after.len(), 8, "{after:?}");
    assert!(after.iter().all(|f| f[3] == "already-missing"), "{after:?}");
    assert!(
        stderr(&o).contains("missing-interpreter /docker-entrypoint.sh: #!/bin/sh is missing\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn env_scripts_say_whether_env_or_its_program_is_missing() {
    let tar = minirootfs();
    let t = app_tree(&tar);
    // Before the strip: env is busybox's applet, node was never installed.
    let o = run_step_installed(t.path(), &["--check", "--json"]);
    let rows: Vec<_> = start_findings(&json(&o))
        .into_iter()
        .filter(|f| f[1].contains("npm"))
        .collect();
    let node = |p: &str| row("missing-interpreter", p, "node", "already-missing", "-");
    assert_eq!(
        rows,
        [
            node("/usr/local/bin/npm"),
            node("/usr/local/lib/node_modules/npm/bin/npm-cli.js")
        ]
    );
    assert!(
        stderr(&o).contains(
            "missing-interpreter /usr/local/bin/npm (-> /usr/local/lib/node_modules/npm/bin/npm-cli.js): node (#!/usr/bin/env node, on PATH) is missing\n"
        ),
        "{}",
        stderr(&o)
    );
    // With a node on PATH (any executable file stands in), npm starts.
    fs::copy(
        t.path().join("usr/bin/getent"),
        t.path().join("usr/local/bin/node"),
    )
    .unwrap();
    let o = run_step_installed(t.path(), &["--check", "--json"]);
    assert!(
        !start_findings(&json(&o))
            .iter()
            .any(|f| f[1].contains("npm")),
        "{}",
        stderr(&o)
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn an_entrypoint_the_strip_would_break_stops_the_run_before_any_removal() {
    let tar = minirootfs();
    let t = app_tree(&tar);
    let before = snapshot(t.path());
    for (args, line) in [
        (
            &["--force", "--entrypoint", "/docker-entrypoint.sh"][..],
            "alpine-strip: error: /docker-entrypoint.sh: #!/bin/sh is removed by the strip (busybox-binsh); nothing was removed\n",
        ),
        (
            &["--force", "--entrypoint=/usr/local/bin/yarn"],
            "alpine-strip: error: /usr/local/bin/yarn: #!/bin/sh is removed by the strip (busybox-binsh); nothing was removed\n",
        ),
        (
            &["--force", "--prune", "--entrypoint", "/usr/local/bin/npm"],
            "alpine-strip: error: /usr/local/bin/npm: #!/usr/bin/env is removed by the strip (busybox applet link); nothing was removed\n",
        ),
        (
            &["--check", "--entrypoint", "/usr/local/bin/npm"],
            "alpine-strip: error: /usr/local/bin/npm: node (#!/usr/bin/env node, on PATH) is missing; nothing was removed\n",
        ),
        (
            &["--force", "--entrypoint", "/app/server"],
            "alpine-strip: error: /app/server: the entrypoint does not exist in the root; nothing was removed\n",
        ),
        (
            &["--force", "--entrypoint", "/etc/passwd"],
            "alpine-strip: error: /etc/passwd: the entrypoint is not an executable file; nothing was removed\n",
        ),
        (
            &[
                "--dry-run",
                "--entrypoint",
                "/docker-entrypoint.d/10-listen.sh",
            ],
            "alpine-strip: error: /docker-entrypoint.d/10-listen.sh: #!/bin/sh is removed by the strip (busybox-binsh); nothing was removed\n",
        ),
    ] {
        let o = run_step_installed(t.path(), args);
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), line, "{args:?}");
        assert_only_removed(&before, &snapshot(t.path()), &[], &[]);
    }
    let o = run_step_installed(
        t.path(),
        &["--force", "--json", "--entrypoint", "/docker-entrypoint.sh"],
    );
    let v = json(&o);
    assert_eq!(v["outcome"], "will-not-start");
    assert_eq!(v["exit_code"], 4);
    assert_only_removed(&before, &snapshot(t.path()), &[], &[]);

    // A program that needs nothing the strip removes is let through; --check asks the same.
    let o = run_step_installed(
        t.path(),
        &["--force", "--entrypoint", "/usr/local/bin/tlsclient"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!t.path().join("bin/busybox").exists());
    let o = run_step_installed(
        t.path(),
        &["--check", "--entrypoint", "/usr/local/bin/tlsclient"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_step_installed(
        t.path(),
        &["--check", "--entrypoint", "/docker-entrypoint.sh"],
    );
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(
        stderr(&o),
        "alpine-strip: error: /docker-entrypoint.sh: #!/bin/sh is missing; nothing was removed\n"
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_keeps_what_an_entrypoint_needs() {
    let tar = minirootfs();
    let t = app_tree(&tar);
    let r = t.path();
    let o = run_step(
        r,
        &[
            "--prune",
            "--force",
            "--json",
            "--entrypoint",
            "/usr/local/bin/tlsclient",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let pruned = names_in(&v["pruned"]);
    assert!(
        !pruned.iter().any(|p| p == "libssl3" || p == "libcrypto3"),
        "{pruned:?}"
    );
    for lib in ["lib/libssl.so.3", "lib/libcrypto.so.3"] {
        assert!(r.join(lib).is_file(), "{lib} was removed");
    }
    let db = fs::read_to_string(r.join("lib/apk/db/installed")).unwrap();
    assert!(db.contains("\nP:libssl3\n") && db.contains("\nP:libcrypto3\n"));
    assert!(
        !start_findings(&v)
            .iter()
            .any(|f| f[1].contains("tlsclient")),
        "{v}"
    );
    // It loads: the loader finds every library (ssl_client prints its usage and fails later).
    let o = chroot(r, &["/usr/local/bin/tlsclient"], &[], false);
    assert!(
        !stderr(&o).contains("Error loading shared library"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("Error relocating"), "{}", stderr(&o));
}

/// The pinned npm tarballs in $ALPINE_NPM_CACHE, fetched there by tests/npm-fetch.sh (`.ci/run`
/// runs it first; here it runs again, a no-op when the checksums match).
pub fn npm_tarballs() -> PathBuf {
    let dir = need_env("ALPINE_NPM_CACHE");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm-fetch.sh");
    let o = Command::new("bash").arg(script).arg(&dir).output().unwrap();
    assert!(o.status.success(), "tests/npm-fetch.sh: {}", stderr(&o));
    dir
}

/// Unpacks an npm tarball's `package/` into `dest`.
pub fn unpack_npm(tgz: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    let st = Command::new("tar")
        .args(["xzf"])
        .arg(tgz)
        .arg("-C")
        .arg(dest)
        .args(["--strip-components=1", "package"])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_npm)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and ALPINE_NPM_CACHE (tests/npm-fetch.sh)"
)]
fn a_real_nodejs_addon_loads_libvips_through_origin_and_lacks_only_the_cxx_runtime() {
    let tar = minirootfs();
    let npm = npm_tarballs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let r = t.path();
    let img = r.join("app/node_modules/@img");
    unpack_npm(
        &npm.join("img-sharp-linuxmusl-x64-0.35.5.tgz"),
        &img.join("sharp-linuxmusl-x64"),
    );
    unpack_npm(
        &npm.join("img-sharp-libvips-linuxmusl-x64-1.3.4.tgz"),
        &img.join("sharp-libvips-linuxmusl-x64"),
    );
    let addon = "/app/node_modules/@img/sharp-linuxmusl-x64/lib/sharp-linuxmusl-x64-0.35.5.node";
    let missing = |p: &str, soname: &str| row("missing-library", p, soname, "already-missing", "-");
    // libvips is judged where it is loaded, in the addon's chain (which names each missing
    // library once), not again on its own.
    let cxx = [
        missing(addon, "libstdc++.so.6"),
        missing(addon, "libgcc_s.so.1"),
    ];

    // libvips-cpp is found through the addon's DT_RPATH; bare Alpine has no C++ runtime.
    let o = run_step_installed(r, &["--check", "--json"]);
    let mut want = cxx.to_vec();
    want.sort();
    assert_eq!(app_findings(&o), want, "{}", stderr(&o));
    // One line a program, naming the first missing library; -v lists every one.
    let err = stderr(&o);
    let line = format!(
        "alpine-strip: warning: missing-library {addon}: libstdc++.so.6 is missing (and 1 more; -v lists them)\n"
    );
    assert!(err.contains(&line), "{line} not in:\n{err}");
    let o = run_step_installed(r, &["--check", "-v"]);
    let line =
        format!("alpine-strip: warning: missing-library {addon}: libgcc_s.so.1 is missing\n");
    assert!(stderr(&o).contains(&line), "{}", stderr(&o));

    // The strip does not cause them: named as already missing.
    let o = run_step_installed(r, &["--force", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(app_findings(&o), want);
    assert!(
        stderr(&o).contains(&format!(
            "missing-library {addon}: libstdc++.so.6 was already missing"
        )),
        "{}",
        stderr(&o)
    );

    // With the C++ runtime in /usr/lib (stand-ins: the loader only needs the files), nothing.
    for soname in ["libstdc++.so.6", "libgcc_s.so.1"] {
        fs::copy(r.join("lib/libz.so.1.3.1"), r.join("usr/lib").join(soname)).unwrap();
    }
    let o = run_step_installed(r, &["--check", "--json"]);
    assert!(app_findings(&o).is_empty(), "{}", stderr(&o));

    // Without the libvips package the addon loses libvips-cpp, and only that.
    fs::remove_dir_all(img.join("sharp-libvips-linuxmusl-x64")).unwrap();
    let o = run_step_installed(r, &["--check", "--json"]);
    assert_eq!(app_findings(&o), [missing(addon, "libvips-cpp.so.8.18.7")]);
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn an_entrypoint_saved_with_crlf_is_refused_as_already_missing_never_blamed_on_the_strip() {
    let tar = minirootfs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let r = t.path();
    let ep = r.join("docker-entrypoint.sh");
    fs::write(&ep, b"#!/bin/sh\r\necho started\r\n").unwrap();
    fs::set_permissions(&ep, fs::Permissions::from_mode(0o755)).unwrap();
    // The kernel looks for "/bin/sh\r": the script does not start even with busybox there.
    let o = chroot(r, &["/docker-entrypoint.sh"], &[], false);
    assert!(!o.status.success());
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let said = "/docker-entrypoint.sh: #!/bin/sh\\r (the #! line ends in CR: saved with Windows line ends)";
    let args = ["--entrypoint", "/docker-entrypoint.sh"];
    let o = run_step_installed(r, &[&["--check"][..], &args].concat());
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("alpine-strip: error: {said} is missing; nothing was removed\n")
    );
    // A strip refuses it before any removal, and blames the file, not the strip.
    let before = snapshot(r);
    let o = run_step_installed(r, &[&["--force"][..], &args].concat());
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("alpine-strip: error: {said} was already missing; nothing was removed\n")
    );
    assert_eq!(snapshot(r), before);
    // Without --entrypoint the dry run names it the same way, as a warning (it is at the root).
    let o = run_step_installed(r, &["--dry-run", "--json"]);
    let rows = start_findings(&json(&o));
    let crlf = row(
        "missing-interpreter",
        "/docker-entrypoint.sh",
        "/bin/sh\r",
        "already-missing",
        "-",
    );
    assert!(rows.contains(&crlf), "{rows:?}");
    let o = run_step_installed(r, &["--dry-run"]);
    assert!(
        stderr(&o).contains(&format!(
            "alpine-strip: warning: missing-interpreter {said} was already missing\n"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_bare_entrypoint_name_is_looked_up_on_the_images_path_as_runc_does() {
    let tar = minirootfs();
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let r = t.path();
    // What node, redis and postgres images write: ENTRYPOINT ["docker-entrypoint.sh"].
    let ep = r.join("usr/local/bin/docker-entrypoint.sh");
    fs::write(&ep, b"#!/bin/sh\nexec \"$@\"\n").unwrap();
    fs::set_permissions(&ep, fs::Permissions::from_mode(0o755)).unwrap();
    let args = ["--entrypoint", "docker-entrypoint.sh"];
    let o = run_step_installed(r, &[&["--dry-run"][..], &args].concat());
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "alpine-strip: error: /usr/local/bin/docker-entrypoint.sh: #!/bin/sh is removed by the strip (busybox-binsh); nothing was removed\n"
    );
    // A program there instead: found, said where, and the strip goes ahead.
    fs::copy(r.join("usr/bin/getent"), &ep).unwrap();
    let o = run_step_installed(r, &[&["--force"][..], &args].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let said = "alpine-strip: entrypoint docker-entrypoint.sh: /usr/local/bin/docker-entrypoint.sh (found on PATH)\n";
    assert!(stderr(&o).contains(said), "{}", stderr(&o));
    let o = run_step_installed(r, &[&["--check", "--json"][..], &args].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        json(&o)["entrypoints_on_path"],
        serde_json::json!([{"name": "docker-entrypoint.sh", "path": "/usr/local/bin/docker-entrypoint.sh"}])
    );
    // Looked up on the image's PATH (--env here), not found elsewhere: refused, saying where
    // it looked.
    let o = run_step_installed(
        r,
        &[&["--check", "--env", "PATH=/opt/bin:/bin"][..], &args].concat(),
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "alpine-strip: error: docker-entrypoint.sh: the entrypoint is not on PATH (/opt/bin:/bin): no executable file of that name; nothing was removed\n"
    );
}
