//! glibc brought into an Alpine image as users do (`COPY --from=debian /lib/x86_64-linux-gnu`
//! and the `/lib64` loader): Debian's real `libc6` unpacked into the 3.20.3 tree and a glibc
//! program from `libc-bin` beside it, fetched pinned by tests/npm-fetch.sh. Its libraries are
//! looked for by glibc's rules: the verdict agrees with running it chrooted in the tree.
//! Each run of the tool is a RUN step ([`run_step`]); these tests need root.

use std::fs;

use crate::common::*;
use crate::shells::dpkg_x;
use crate::start::npm_tarballs;

const ICONV: &str = "/opt/glibc/bin/iconv";

#[test]
#[cfg_attr(
    not(all(fixture_tree, fixture_npm)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and ALPINE_NPM_CACHE (tests/npm-fetch.sh)"
)]
fn a_glibc_entrypoint_without_its_libc_is_refused_and_with_it_starts_after_the_strip() {
    let (tar, cache) = (minirootfs(), npm_tarballs());
    let t = unpack(&tar);
    install_strip(&static_bin(), t.path());
    let r = t.path();
    dpkg_x(&cache.join("libc6_2.36-9+deb12u14_amd64.deb"), r);
    let bin = tempfile::tempdir().unwrap();
    dpkg_x(
        &cache.join("libc-bin_2.36-9+deb12u14_amd64.deb"),
        bin.path(),
    );
    fs::create_dir_all(r.join("opt/glibc/bin")).unwrap();
    fs::copy(bin.path().join("usr/bin/iconv"), r.join(&ICONV[1..])).unwrap();
    let libc = r.join("lib/x86_64-linux-gnu/libc.so.6");
    let aside = r.join("libc.so.6.aside");
    fs::rename(&libc, &aside).unwrap();
    // Without libc.so.6 it will not start (glibc's loader says so), and the run stops before
    // the first removal, naming it; --check --strict fails on it too.
    let o = chroot(r, &[ICONV, "-l"], &[], false);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("error while loading shared libraries: libc.so.6"),
        "{}",
        stderr(&o)
    );
    let before = snapshot(r);
    let o = run_step_installed(r, &["--strict", "--entrypoint", ICONV]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "alpine-strip: error: {ICONV}: libc.so.6 was already missing; nothing was removed\n"
        )
    );
    assert_only_removed(&before, &snapshot(r), &[], &[]);
    let o = run_step_installed(r, &["--check", "--json", "--entrypoint", ICONV]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // With it, the strip keeps it starting, and says so: --strict passes.
    fs::rename(&aside, &libc).unwrap();
    let o = run_step_installed(r, &["--strict", "--entrypoint", ICONV]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!r.join("bin/busybox").exists());
    let err = stderr(&o);
    assert!(
        err.contains("glibc objects (") && err.contains("judged by glibc's search rules"),
        "{err}"
    );
    let o = chroot(r, &[ICONV, "-l"], &[], false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("UTF-8"));
}
