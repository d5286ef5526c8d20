//! Marks the integration tests whose fixtures are missing as ignored, at compile time.
//!
//! Each fixture variable sets a `cfg` (`fixture_minirootfs` for `ALPINE_MINIROOTFS`, ...) when
//! it names something, or when `CI=true` (and `fixture_tree` etc. for sets needed together): a
//! fixture test carries
//! `#[cfg_attr(not(fixture_...), ignore = "...")]`, so without its input `cargo test` reports it
//! as ignored, never `ok`; under CI it runs and fails on the missing input.
//!
//! The same for what a test needs of the machine rather than a fixture: `can_chattr` when
//! `chattr +i` works on a file of the temporary folder (the filesystem and the capability),
//! `can_mount` when the build runs as root (mounts in `unshare -m`); set under CI whatever the
//! probe says.

/// The fixture variables and the `cfg` each one sets.
const FIXTURES: [(&str, &str); 6] = [
    ("ALPINE_MINIROOTFS", "fixture_minirootfs"),
    ("ALPINE_ROOTFS_3_23", "fixture_rootfs_3_23"),
    ("ALPINE_FIXTURES", "fixture_fixtures"),
    ("ALPINE_STRIP_BIN", "fixture_strip_bin"),
    ("ALPINE_STRIP_OUT", "fixture_strip_out"),
    // The npm tarballs of tests/npm-fetch.sh (real third-party musl programs).
    ("ALPINE_NPM_CACHE", "fixture_npm"),
];

/// `cfg`s for the sets of fixtures tests need together, each set when all of its own are.
const SETS: [(&str, [&str; 2]); 3] = [
    // The x86_64 minirootfs and the static binary.
    ("fixture_tree", ["fixture_minirootfs", "fixture_strip_bin"]),
    // The 3.23.3 root and the static binary.
    (
        "fixture_tree_3_23",
        ["fixture_rootfs_3_23", "fixture_strip_bin"],
    ),
    // Every architecture's minirootfs and binary.
    ("fixture_archs", ["fixture_fixtures", "fixture_strip_out"]),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    let ci = std::env::var_os("CI").is_some_and(|v| v == "true");
    let mut set = Vec::new();
    for (var, cfg) in FIXTURES {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if ci || std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
            set.push(cfg);
        }
    }
    for (cfg, all) in SETS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if all.iter().all(|c| set.contains(c)) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rerun-if-env-changed=TMPDIR");
    for (cfg, probe) in [
        ("can_chattr", can_chattr as fn() -> bool),
        ("can_mount", is_root),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if ci || probe() {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

/// Whether `chattr +i` (and `-i` again) works on a new file of the temporary folder.
fn can_chattr() -> bool {
    let file = std::env::temp_dir().join(format!("alpine-strip-chattr-{}", std::process::id()));
    if std::fs::write(&file, b"").is_err() {
        return false;
    }
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(&file)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let pinned = chattr("+i");
    let unpinned = !pinned || chattr("-i");
    let _ = std::fs::remove_file(&file);
    pinned && unpinned
}

/// Whether the build runs as root (`id -u` prints 0).
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}
