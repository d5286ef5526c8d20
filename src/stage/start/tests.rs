//! The start check on made-up trees: scripts, `env`, ELF objects with `$ORIGIN`, causes.

use super::locate::{Cause, Gone, Removal};
use super::*;
use crate::format::elf::fake;
use crate::root::InRoot;
use crate::stage::discover::Item;
use crate::stage::plan::Step;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

const LD: &str = "/lib/ld-musl-x86_64.so.1";

fn put(root: &Path, rel: &str, bytes: &[u8], mode: u32) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

/// A root with musl's loader, busybox with `/bin/sh` and `/usr/bin/env` linked to it.
fn image() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let p = t.path();
    put(p, &LD[1..], &fake::object(62, None, &[], None), 0o755);
    put(
        p,
        "bin/busybox",
        &fake::object(62, Some(LD), &["libc.musl-x86_64.so.1"], None),
        0o755,
    );
    symlink("/bin/busybox", p.join("bin/sh")).unwrap();
    fs::create_dir_all(p.join("usr/bin")).unwrap();
    symlink("/bin/busybox", p.join("usr/bin/env")).unwrap();
    t
}

/// `paths` removed by the strip as applet links, each owned by `package`.
fn removing(root: &mut Root, paths: &[&str], package: Option<&str>) -> Gone {
    let steps: Vec<Step> = paths
        .iter()
        .map(|p| Step {
            kind: StepKind::AppletLink,
            item: Item {
                path: InRoot::unchecked(p),
                meta: root.lstat(&InRoot::unchecked(p)).unwrap().unwrap(),
            },
        })
        .collect();
    let mut gone = Gone::of(&steps);
    for p in paths {
        if let Some(package) = package {
            gone.owned(Path::new(p), package.as_bytes());
        }
    }
    gone
}

/// (program, missing pieces as text) of every broken program among `programs`.
fn broken(t: &tempfile::TempDir, programs: &[&str], gone: Option<&Gone>) -> Vec<(String, String)> {
    broken_in(t, programs, gone, &Environment::default())
}

/// [`broken`], the programs started in `env`.
fn broken_in(
    t: &tempfile::TempDir,
    programs: &[&str],
    gone: Option<&Gone>,
    env: &Environment,
) -> Vec<(String, String)> {
    let mut root = Root::open(t.path()).unwrap();
    let none = Gone::default();
    let programs: Vec<PathBuf> = programs.iter().map(PathBuf::from).collect();
    check(&mut root, &programs, gone.unwrap_or(&none), env)
        .unwrap()
        .broken
        .into_iter()
        .map(|b| {
            let texts: Vec<String> = b
                .missing
                .iter()
                .map(|m| {
                    Text {
                        missing: m,
                        strip: true,
                    }
                    .to_string()
                })
                .collect();
            (b.program.display().to_string(), texts.join("; "))
        })
        .collect()
}

#[test]
fn scripts_need_their_interpreter_and_env_its_program_on_path() {
    let t = image();
    let p = t.path();
    put(p, "app/run.sh", b"#!/bin/sh\nexec app\n", 0o755);
    put(p, "app/cli.js", b"#!/usr/bin/env node\n", 0o755);
    put(p, "app/tool.py", b"#!/usr/bin/env -S python3 -u\n", 0o755);
    put(p, "usr/bin/python3", b"#!/bin/sh\n", 0o755);
    put(p, "app/plain", b"#!/usr/bin/env plain\n", 0o755);
    put(p, "usr/local/bin/plain", b"not executable", 0o644);
    put(p, "app/data", b"just data", 0o755);
    let all = [
        "app/run.sh",
        "app/cli.js",
        "app/tool.py",
        "app/plain",
        "app/data",
        "app/none",
    ];
    assert_eq!(
        broken(&t, &all, None),
        [
            (
                "app/cli.js".into(),
                "node (#!/usr/bin/env node, on PATH) was already missing".into()
            ),
            (
                "app/plain".into(),
                "plain (#!/usr/bin/env plain, on PATH) was already missing".into()
            ),
        ]
    );
    let mut root = Root::open(p).unwrap();
    let gone = removing(&mut root, &["bin/sh", "usr/bin/env"], Some("busybox-binsh"));
    assert_eq!(
        broken(&t, &all, Some(&gone)),
        [
            (
                "app/run.sh".into(),
                "#!/bin/sh is removed by the strip (busybox-binsh)".into()
            ),
            (
                "app/cli.js".into(),
                "#!/usr/bin/env is removed by the strip (busybox-binsh)".into()
            ),
            (
                "app/tool.py".into(),
                "#!/usr/bin/env is removed by the strip (busybox-binsh)".into()
            ),
            (
                "app/plain".into(),
                "#!/usr/bin/env is removed by the strip (busybox-binsh)".into()
            ),
        ]
    );
    // NAME removed from PATH by the strip: named with its removal.
    let gone = removing(&mut root, &["usr/bin/python3"], None);
    assert_eq!(
        broken(&t, &["app/tool.py"], Some(&gone)),
        [(
            "app/tool.py".into(),
            "python3 (#!/usr/bin/env python3, on PATH) is removed by the strip (busybox applet link)"
                .into()
        )]
    );
}

#[test]
fn libraries_are_found_through_origin_the_needers_rpath_and_the_system_path() {
    let t = image();
    let p = t.path();
    let prog = fake::object(
        62,
        Some(LD),
        &["libfoo.so.1", "libc.musl-x86_64.so.1"],
        Some("$ORIGIN/../lib"),
    );
    put(p, "app/bin/prog", &prog, 0o755);
    // libfoo has no rpath: libbar is found through prog's, the object that needed libfoo.
    put(
        p,
        "app/lib/libfoo.so.1",
        &fake::object(62, None, &["libbar.so.2"], None),
        0o644,
    );
    put(
        p,
        "app/lib/libbar.so.2",
        &fake::object(62, None, &[], None),
        0o644,
    );
    // Another machine's binary (aarch64) is not a program of this image.
    put(
        p,
        "app/bin/arm",
        &fake::object(183, Some("/lib/ld-arm"), &["libnone.so"], None),
        0o755,
    );
    let progs = ["app/bin/prog", "app/bin/arm", "bin/busybox"];
    assert_eq!(broken(&t, &progs, None), []);

    fs::remove_file(p.join("app/lib/libbar.so.2")).unwrap();
    assert_eq!(
        broken(&t, &progs, None),
        [(
            "app/bin/prog".into(),
            "libbar.so.2 was already missing".into()
        )]
    );
    let mut root = Root::open(p).unwrap();
    let b = check(
        &mut root,
        &[PathBuf::from("app/bin/prog")],
        &Gone::default(),
        &Environment::default(),
    )
    .unwrap()
    .broken;
    assert_eq!(
        b[0].missing[0].piece,
        Piece::Library {
            soname: "libbar.so.2".into(),
            needed_by: "app/lib/libfoo.so.1".into()
        }
    );
    assert_eq!(b[0].kind(), FindingKind::MissingLibrary);

    // The system path: /usr/lib by default, what /etc/ld-musl-ARCH.path says when it exists.
    put(
        p,
        "usr/lib/libbar.so.2",
        &fake::object(62, None, &[], None),
        0o644,
    );
    assert_eq!(broken(&t, &progs, None), []);
    put(
        p,
        "etc/ld-musl-x86_64.path",
        b"/opt/lib\n/usr/local/lib",
        0o644,
    );
    assert_eq!(
        broken(&t, &progs, None),
        [(
            "app/bin/prog".into(),
            "libbar.so.2 was already missing".into()
        )]
    );
    fs::create_dir_all(p.join("opt/lib")).unwrap();
    symlink("/usr/lib/libbar.so.2", p.join("opt/lib/libbar.so.2")).unwrap();
    assert_eq!(broken(&t, &progs, None), []);

    // The loader removed: every executable that names it will not start.
    let mut root = Root::open(p).unwrap();
    let gone = removing(&mut root, &[&LD[1..]], Some("musl"));
    let got = broken(&t, &progs, Some(&gone));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0].1,
        "/lib/ld-musl-x86_64.so.1 (PT_INTERP) is removed by the strip (musl)"
    );
}

#[test]
fn an_entrypoint_is_refused_with_the_interpreter_it_runs_through() {
    let t = image();
    let p = t.path();
    put(p, "app/ep", b"#!/usr/bin/env node\n", 0o755);
    put(
        p,
        "usr/local/bin/node",
        &fake::object(62, Some(LD), &["libnode.so"], None),
        0o755,
    );
    put(p, "etc/conf", b"x", 0o644);
    let mut root = Root::open(p).unwrap();
    let eps: Vec<PathBuf> = ["/app/ep", "/etc/conf", "/nowhere"]
        .iter()
        .map(PathBuf::from)
        .collect();
    let (refused, _) =
        entrypoints(&mut root, &eps, &Gone::default(), &Environment::default()).unwrap();
    let lines: Vec<String> = refused.iter().map(|r| r.line(true)).collect();
    assert_eq!(
        lines,
        [
            "/app/ep: /usr/local/bin/node: libnode.so was already missing",
            "/etc/conf: the entrypoint is not an executable file",
            "/nowhere: the entrypoint does not exist in the root",
        ]
    );
    // With the library there, it starts; what it uses is named for --prune to keep.
    put(
        p,
        "usr/lib/libnode.so",
        &fake::object(62, None, &[], None),
        0o644,
    );
    let mut root = Root::open(p).unwrap();
    let (refused, used) = entrypoints(
        &mut root,
        &eps[..1],
        &Gone::default(),
        &Environment::default(),
    )
    .unwrap();
    assert_eq!(refused, []);
    for u in ["app/ep", "usr/local/bin/node", "usr/lib/libnode.so"] {
        assert!(used.contains(&PathBuf::from(u)), "{u} in {used:?}");
    }
    // The strip removing env: refused before anything is removed, naming the package.
    let gone = removing(&mut root, &["usr/bin/env"], Some("busybox"));
    let (refused, _) = entrypoints(&mut root, &eps[..1], &gone, &Environment::default()).unwrap();
    assert_eq!(
        refused[0].line(true),
        "/app/ep: #!/usr/bin/env is removed by the strip (busybox)"
    );
    assert!(
        matches!(&refused[0], Refusal::WillNotStart(_, b) if matches!(b.missing[0].cause, Cause::Removed(Removal { .. })))
    );
}

#[test]
fn shared_objects_are_known_by_name() {
    for (name, is) in [
        ("libz.so", true),
        ("libz.so.1.3.1", true),
        ("sharp-linuxmusl-x64.node", true),
        ("libsomething.sox", false),
        ("readme.md", false),
    ] {
        assert_eq!(
            crate::format::elf::is_shared_object_name(OsStr::new(name)),
            is,
            "{name}"
        );
    }
}

#[test]
fn the_environment_decides_path_and_library_path_as_env_and_musl_read_them() {
    let env = Environment::from_vars(
        Some("/opt/venv/bin::relative:/usr/bin".into()),
        Some("/opt/lib\n/usr/lib/x:lib:".into()),
    );
    assert_eq!(
        env.path,
        [PathBuf::from("/opt/venv/bin"), "/usr/bin".into()]
    );
    assert_eq!(
        env.library_path,
        [PathBuf::from("/opt/lib"), "/usr/lib/x".into()]
    );
    // No PATH: Docker's; no LD_LIBRARY_PATH: none.
    assert_eq!(Environment::from_vars(None, None), Environment::default());
    // A tree under --root is not started with the tool's environment, but with --env's.
    let t = tempfile::tempdir().unwrap();
    let root = Root::open(t.path()).unwrap();
    assert_eq!(Environment::of(&root, None, None), Environment::default());
    let env = Environment::of(&root, Some("/opt/venv/bin".into()), Some("/opt/lib".into()));
    assert_eq!(env.path, [PathBuf::from("/opt/venv/bin")]);
    assert_eq!(env.library_path, [PathBuf::from("/opt/lib")]);
}

/// Makes the setuid file at `path` owned by user 1000 (a chown clears the setuid bit: set again).
fn owned_by_1000(path: &Path) {
    std::os::unix::fs::chown(path, Some(1000), None).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o4755)).unwrap();
}

#[test]
fn programs_start_with_the_images_path_and_ld_library_path() {
    let t = image();
    let p = t.path();
    // A virtualenv's script and a program whose library lies on LD_LIBRARY_PATH only.
    put(p, "opt/venv/bin/python", b"#!/bin/sh\n", 0o755);
    put(p, "app/tool.py", b"#!/usr/bin/env python\n", 0o755);
    let prog = fake::object(62, Some(LD), &["libapp.so.1"], None);
    put(p, "app/bin/prog", &prog, 0o755);
    // Setuid to root (run as root: not "secure") and to another user (secure).
    put(p, "app/bin/suid", &prog, 0o4755);
    put(p, "app/bin/suid-user", &prog, 0o4755);
    owned_by_1000(&p.join("app/bin/suid-user"));
    let lib = fake::object(62, None, &[], None);
    put(p, "opt/app/lib/libapp.so.1", &lib, 0o644);
    let progs = [
        "app/tool.py",
        "app/bin/prog",
        "app/bin/suid",
        "app/bin/suid-user",
    ];
    let missing = |who: &str, what: &str| (who.to_string(), what.to_string());
    assert_eq!(
        broken(&t, &progs, None),
        [
            missing(
                "app/tool.py",
                "python (#!/usr/bin/env python, on PATH) was already missing"
            ),
            missing("app/bin/prog", "libapp.so.1 was already missing"),
            missing("app/bin/suid", "libapp.so.1 was already missing"),
            missing("app/bin/suid-user", "libapp.so.1 was already missing"),
        ]
    );
    let env = Environment::from_vars(
        Some("/opt/venv/bin:/usr/bin:/bin".into()),
        Some("/opt/app/lib".into()),
    );
    // musl ignores LD_LIBRARY_PATH for a program whose exec changes the user id.
    assert_eq!(
        broken_in(&t, &progs, None, &env),
        [missing(
            "app/bin/suid-user",
            "libapp.so.1 was already missing"
        )]
    );
    // ... and $ORIGIN in its own rpath, which works for the same program run plainly.
    let origin = fake::object(62, Some(LD), &["libapp.so.1"], Some("$ORIGIN/../lib"));
    put(p, "opt/app/bin/plain", &origin, 0o755);
    put(p, "opt/app/bin/secure", &origin, 0o4755);
    owned_by_1000(&p.join("opt/app/bin/secure"));
    assert_eq!(
        broken(&t, &["opt/app/bin/plain", "opt/app/bin/secure"], None),
        [missing(
            "opt/app/bin/secure",
            "libapp.so.1 was already missing"
        )]
    );
    // LD_LIBRARY_PATH comes before the system path: its libapp, which needs a library that is
    // not there, is the one loaded.
    put(p, "usr/lib/libapp.so.1", &lib, 0o644);
    let needy = fake::object(62, None, &["libdeep.so.3"], None);
    put(p, "opt/app/lib/libapp.so.1", &needy, 0o644);
    assert_eq!(broken(&t, &progs[1..2], None), []);
    assert_eq!(
        broken_in(&t, &progs[1..2], None, &env),
        [missing("app/bin/prog", "libdeep.so.3 was already missing")]
    );
}

#[test]
fn a_jvms_libraries_find_libjvm_in_their_tree_and_a_library_no_one_ships_is_missing() {
    // Temurin's layout: bin/java loads lib/libjli.so through $ORIGIN/../lib; libjli opens
    // lib/server/libjvm.so by path; lib/*.so need libjvm.so by name with only $ORIGIN.
    let t = image();
    let p = t.path();
    let jdk = "usr/lib/jvm/java-21";
    let so = |needed: &[&str], rpath: Option<&str>| fake::object(62, None, needed, rpath);
    let java = fake::object(
        62,
        Some(LD),
        &["libjli.so", "libc.musl-x86_64.so.1"],
        Some("$ORIGIN/../lib"),
    );
    put(p, &format!("{jdk}/bin/java"), &java, 0o755);
    put(
        p,
        &format!("{jdk}/lib/libjli.so"),
        &so(&[], Some("$ORIGIN")),
        0o755,
    );
    put(
        p,
        &format!("{jdk}/lib/server/libjvm.so"),
        &so(&[], None),
        0o755,
    );
    let java_libs = [
        ("libjava.so", &["libjvm.so"][..]),
        ("libnet.so", &["libjava.so", "libjvm.so"]),
    ];
    for (name, needed) in java_libs {
        put(
            p,
            &format!("{jdk}/lib/{name}"),
            &so(needed, Some("$ORIGIN")),
            0o755,
        );
    }
    put(
        p,
        &format!("{jdk}/lib/libawt_xawt.so"),
        &so(&["libjvm.so", "libX11.so.6"], Some("$ORIGIN")),
        0o755,
    );
    let programs: Vec<String> = [
        "bin/java",
        "lib/libjli.so",
        "lib/server/libjvm.so",
        "lib/libjava.so",
        "lib/libnet.so",
        "lib/libawt_xawt.so",
    ]
    .iter()
    .map(|f| format!("{jdk}/{f}"))
    .collect();
    let programs: Vec<&str> = programs.iter().map(String::as_str).collect();
    assert_eq!(
        broken(&t, &programs, None),
        [(
            format!("{jdk}/lib/libawt_xawt.so"),
            "libX11.so.6 was already missing".to_string()
        )]
    );
    // Without libjvm.so in the tree, each library that needs it is named; libjava, which
    // libnet loads, in libnet's chain.
    fs::remove_file(p.join(format!("{jdk}/lib/server/libjvm.so"))).unwrap();
    let named: Vec<String> = broken(&t, &programs, None)
        .into_iter()
        .filter(|(_, what)| what.starts_with("libjvm.so"))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        named,
        ["libnet.so", "libawt_xawt.so"].map(|n| format!("{jdk}/lib/{n}"))
    );
}

#[test]
fn a_loader_or_interpreter_that_is_not_an_executable_file_is_missing() {
    // The kernel's exec of a folder, a FIFO or a file without an execute bit fails (EACCES).
    let t = image();
    let p = t.path();
    let elf = |interp| fake::object(62, Some(interp), &["libc.musl-x86_64.so.1"], None);
    fs::create_dir_all(p.join("lib/ld-folder")).unwrap();
    nix::unistd::mkfifo(&p.join("lib/ld-fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    put(
        p,
        "lib/ld-noexec",
        &fake::object(62, None, &[], None),
        0o644,
    );
    put(p, "app/by-folder", &elf("/lib/ld-folder"), 0o755);
    put(p, "app/by-fifo", &elf("/lib/ld-fifo"), 0o755);
    put(p, "app/by-noexec", &elf("/lib/ld-noexec"), 0o755);
    put(p, "app/fine", &elf(LD), 0o755);
    put(p, "bin/noexec-sh", b"#!/bin/sh\n", 0o644);
    put(p, "app/run.sh", b"#!/bin/noexec-sh\n", 0o755);
    put(p, "app/ok.sh", b"#!/bin/sh\n", 0o755);
    let all = [
        "app/by-folder",
        "app/by-fifo",
        "app/by-noexec",
        "app/fine",
        "app/run.sh",
        "app/ok.sh",
    ];
    let got: Vec<String> = broken(&t, &all, None).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        got,
        [
            "app/by-folder",
            "app/by-fifo",
            "app/by-noexec",
            "app/run.sh"
        ]
    );
}

/// `bytes` of a [`fake::object`] with its `DT_RUNPATH` made a `DT_RPATH`.
fn with_rpath(mut bytes: Vec<u8>) -> Vec<u8> {
    for at in (0x100..0x200).step_by(16) {
        if bytes[at] == 29 && bytes[at + 1..at + 8].iter().all(|&b| b == 0) {
            bytes[at] = 15;
        }
    }
    bytes
}

/// An Alpine root with a glibc JDK: Debian's `/lib/x86_64-linux-gnu` and the `/lib64`
/// loader copied in, `bin/java` finding `lib/libjli.so` through its `DT_RUNPATH`
/// `$ORIGIN/../lib`, libjli needing a `libz.so.1` that `/etc/ld.so.conf.d/*.conf` points at.
fn glibc_image(java: Vec<u8>) -> tempfile::TempDir {
    let t = image();
    let p = t.path();
    let so = |needed: &[&str]| fake::object(62, None, needed, None);
    let multiarch = "lib/x86_64-linux-gnu";
    put(p, "lib64/ld-linux-x86-64.so.2", &so(&[]), 0o755);
    put(
        p,
        &format!("{multiarch}/ld-linux-x86-64.so.2"),
        &so(&[]),
        0o755,
    );
    put(
        p,
        &format!("{multiarch}/libc.so.6"),
        &so(&["ld-linux-x86-64.so.2"]),
        0o755,
    );
    put(
        p,
        &format!("{multiarch}/libdl.so.2"),
        &so(&["libc.so.6"]),
        0o644,
    );
    put(p, "opt/zlib/lib/libz.so.1", &so(&["libc.so.6"]), 0o644);
    put(
        p,
        "etc/ld.so.conf",
        b"# glibc\ninclude /etc/ld.so.conf.d/*.conf\n",
        0o644,
    );
    put(
        p,
        "etc/ld.so.conf.d/zlib.conf",
        b"  /opt/zlib/lib  # ours\n",
        0o644,
    );
    put(p, "etc/ld.so.conf.d/zlib.conf.off", b"/nowhere\n", 0o644);
    // ldconfig ran: the loader reads ld.so.conf's folders through its cache.
    put(p, "etc/ld.so.cache", b"", 0o644);
    put(p, "opt/java/openjdk/bin/java", &java, 0o755);
    put(
        p,
        "opt/java/openjdk/lib/libjli.so",
        &so(&["libz.so.1", "libverify.so", "libc.so.6"]),
        0o644,
    );
    put(
        p,
        "opt/java/openjdk/lib/libverify.so",
        &so(&["libc.so.6"]),
        0o644,
    );
    t
}

const JAVA: &str = "opt/java/openjdk/bin/java";

#[test]
fn glibc_programs_find_libraries_by_glibcs_rules_and_a_missing_one_is_named() {
    let glibc_ld = Some("/lib64/ld-linux-x86-64.so.2");
    let needed = ["libjli.so", "libdl.so.2", "libc.so.6"];
    let runpath = fake::object(62, glibc_ld, &needed, Some("$ORIGIN/../lib"));
    // glibc's DT_RPATH serves the whole chain: libjli finds libverify.so beside itself.
    let t = glibc_image(with_rpath(runpath.clone()));
    assert_eq!(broken(&t, &[JAVA], None), []);
    // A DT_RUNPATH serves the needer only: libjli's own need is not looked for there.
    let t = glibc_image(runpath);
    let p = t.path();
    let libverify = || {
        (
            JAVA.to_string(),
            "libverify.so was already missing".to_string(),
        )
    };
    assert_eq!(broken(&t, &[JAVA], None), [libverify()]);
    fs::remove_file(p.join("opt/java/openjdk/lib/libverify.so")).unwrap();
    put(
        p,
        "lib/x86_64-linux-gnu/libverify.so",
        &fake::object(62, None, &[], None),
        0o644,
    );
    assert_eq!(broken(&t, &[JAVA], None), []);
    // glibc's libdl is a file like any library (for musl, its loader itself): once it is gone,
    // java will not start, and as an entrypoint it is refused.
    fs::remove_file(p.join("lib/x86_64-linux-gnu/libdl.so.2")).unwrap();
    let libdl = "libdl.so.2 was already missing";
    assert_eq!(
        broken(&t, &[JAVA], None),
        [(JAVA.to_string(), libdl.to_string())]
    );
    let mut root = Root::open(p).unwrap();
    let env = Environment::default();
    let ep = [Path::new("/").join(JAVA)];
    let (refused, _) = entrypoints(&mut root, &ep, &Gone::default(), &env).unwrap();
    let lines: Vec<String> = refused.iter().map(|r| r.line(false)).collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("libdl.so.2 is missing"), "{lines:?}");
    // libz.so.1 is found only in the folder /etc/ld.so.conf.d/*.conf names.
    put(
        p,
        "lib/x86_64-linux-gnu/libdl.so.2",
        &fake::object(62, None, &[], None),
        0o644,
    );
    fs::remove_file(p.join("etc/ld.so.conf.d/zlib.conf")).unwrap();
    let libz = "libz.so.1 was already missing";
    assert_eq!(
        broken(&t, &[JAVA], None),
        [(JAVA.to_string(), libz.to_string())]
    );
}

#[test]
fn a_glibc_library_no_program_loads_is_judged_only_where_a_glibc_program_starts() {
    // koffi ships a glibc build beside its musl one: nothing in a musl image loads it.
    let t = glibc_image(fake::object(
        62,
        Some("/lib64/ld-linux-x86-64.so.2"),
        &["libc.so.6"],
        None,
    ));
    let p = t.path();
    let addon = "app/node_modules/koffi/build/linux_x64/koffi.node";
    let node = fake::object(62, None, &["libstdc++.so.6", "libc.so.6"], None);
    put(p, addon, &node, 0o644);
    assert_eq!(broken(&t, &[addon], None), []);
    let mut root = Root::open(p).unwrap();
    let programs = [PathBuf::from(addon)];
    let checked = check(
        &mut root,
        &programs,
        &Gone::default(),
        &Environment::default(),
    )
    .unwrap();
    assert_eq!(checked.glibc, [PathBuf::from(addon)]);
    // With a glibc program that starts, it is judged on its own by glibc's rules.
    let missing = "libstdc++.so.6 was already missing".to_string();
    assert_eq!(
        broken(&t, &[JAVA, addon], None),
        [(addon.to_string(), missing)]
    );
}

#[test]
fn a_glibc_program_whose_loader_is_musls_is_judged_by_musls_rules() {
    // gcompat: /lib64/ld-linux-x86-64.so.2 is a link to musl's loader, which searches
    // /lib:/usr/local/lib:/usr/lib (not Debian's multiarch folders).
    let t = image();
    let p = t.path();
    fs::create_dir_all(p.join("lib64")).unwrap();
    symlink(LD, p.join("lib64/ld-linux-x86-64.so.2")).unwrap();
    let glibc = "/lib64/ld-linux-x86-64.so.2";
    let program = |needed| fake::object(62, Some(glibc), &[needed], None);
    let so = fake::object(62, None, &[], None);
    put(p, "usr/local/lib/libfoo.so.1", &so, 0o755);
    put(p, "lib/x86_64-linux-gnu/libbar.so.1", &so, 0o755);
    put(p, "usr/bin/foo", &program("libfoo.so.1"), 0o755);
    put(p, "usr/bin/bar", &program("libbar.so.1"), 0o755);
    let got = broken(&t, &["usr/bin/foo", "usr/bin/bar"], None);
    assert_eq!(
        got,
        [(
            "usr/bin/bar".to_string(),
            "libbar.so.1 was already missing".to_string()
        )]
    );
}
