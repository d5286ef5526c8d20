//! Exactly what it should, or nothing (issue 28): no wrong deletion through another spelling of
//! a path, nothing outside the image touched, nothing half done. Each case runs in a RUN step
//! ([`run_step`]: `unshare -m`, proc, sysfs, /dev, the engine's bind mounts) on a copy of the
//! official 3.20.3 minirootfs; the tree is compared file by file before and after, and a
//! sentinel folder outside the root, which a link inside the root names by its host path, is
//! checked unchanged. These tests need root.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

const WORLD: &str = "etc/apk/world";

/// A folder outside the root with a file in it, and a link to it inside the root (by its host
/// path, which a chrooted process resolves inside the root): what a run must never change.
struct Sentinel {
    dir: tempfile::TempDir,
    before: std::collections::BTreeMap<PathBuf, Node>,
}

impl Sentinel {
    fn plant(root: &Path) -> Sentinel {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        fs::write(dir.path().join("bin/busybox"), b"host's own").unwrap();
        symlink("/bin/busybox", dir.path().join("bin/ls")).unwrap();
        symlink(dir.path(), root.join("host-sentinel")).unwrap();
        let before = snapshot(dir.path());
        Sentinel { dir, before }
    }

    fn unchanged(&self) {
        assert_eq!(
            snapshot(self.dir.path()),
            self.before,
            "outside the root changed"
        );
    }
}

/// The JSON report of a run.
fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

/// Every path the report says it removed, relative to the root.
fn all_removed(v: &serde_json::Value) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (_, list) in v["removed"].as_object().unwrap() {
        for p in list.as_array().unwrap() {
            out.push(PathBuf::from(p.as_str().unwrap().trim_start_matches('/')));
        }
    }
    out.sort();
    out
}

/// The files a strip rewrites (the database, world and apk's state beside the database), in a
/// classic or a /usr-merged tree.
fn apk_state() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from(WORLD)];
    for dir in ["lib/apk/db", "usr/lib/apk/db"] {
        for f in ["installed", "triggers", "scripts.tar", "scripts.tar.gz"] {
            out.push(Path::new(dir).join(f));
        }
    }
    out
}

/// Appends `records` to the database and `names` to world.
fn add_packages(root: &Path, records: &str, names: &str) {
    let mut db = fs::read(root.join(DB)).unwrap();
    db.extend_from_slice(records.as_bytes());
    fs::write(root.join(DB), db).unwrap();
    let mut world = fs::read(root.join(WORLD)).unwrap();
    world.extend_from_slice(names.as_bytes());
    fs::write(root.join(WORLD), world).unwrap();
}

/// The names of the database's records.
fn packages(root: &Path) -> Vec<String> {
    let db = fs::read(root.join(DB)).unwrap();
    apk_records(&db).into_iter().map(|(n, _)| n).collect()
}

/// Strips in a RUN step (`--json` and `args`); asserts success and that the tree lost exactly
/// `gone` (apk's state may change) and the sentinel nothing; gives the report.
fn strip_exactly(root: &Path, args: &[&str], gone: &[PathBuf]) -> serde_json::Value {
    let sentinel = Sentinel::plant(root);
    let before = snapshot(root);
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = run_step(root, &all);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_only_removed(&before, &snapshot(root), gone, &apk_state());
    sentinel.unchanged();
    report(&o)
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_usr_merged_sh_a_staying_package_lists_as_usr_bin_sh_stays_with_its_package() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    usr_merge(r);
    let db = fs::read(r.join(DB)).unwrap();
    // busybox-binsh lists bin/sh; dash-binsh, staying, lists usr/bin/sh: one file.
    let mut gone = expected_removals(r, &db, true);
    gone.retain(|p| p != Path::new("usr/bin/sh"));
    fs::remove_file(r.join("usr/bin/sh")).unwrap();
    symlink("dash", r.join("usr/bin/sh")).unwrap();
    fs::write(r.join("usr/bin/dash"), b"#!/usr/bin/getconf\n").unwrap();
    add_packages(
        r,
        "P:dash\nV:0.5.12-r3\nF:usr/bin\nR:dash\n\nP:dash-binsh\nV:0.5.12-r3\nF:usr/bin\nR:sh\n\n",
        "dash-binsh\n",
    );
    let v = strip_exactly(r, &[], &gone);
    assert_eq!(
        fs::read_link(r.join("usr/bin/sh")).unwrap(),
        Path::new("dash")
    );
    let names = packages(r);
    assert!(names.contains(&"dash-binsh".to_string()), "{names:?}");
    assert!(!names.contains(&"busybox-binsh".to_string()), "{names:?}");
    let world = fs::read_to_string(r.join(WORLD)).unwrap();
    assert!(world.lines().any(|l| l == "dash-binsh"), "{world}");
    assert_eq!(names_in(&v["apk_db"]["dropped"]).len(), 4, "{v}");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_file_a_staying_package_lists_through_a_folder_link_stays() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let db = fs::read(r.join(DB)).unwrap();
    // busybox lists etc/securetty; `tty-config` lists it as opt/etcalias/securetty.
    let mut gone = expected_removals(r, &db, false);
    gone.retain(|p| p != Path::new("etc/securetty"));
    fs::create_dir_all(r.join("opt")).unwrap();
    symlink("/etc", r.join("opt/etcalias")).unwrap();
    add_packages(
        r,
        "P:tty-config\nV:1\nF:opt/etcalias\nR:securetty\n\n",
        "tty-config\n",
    );
    strip_exactly(r, &[], &gone);
    assert!(r.join("etc/securetty").is_file());
    assert!(packages(r).contains(&"tty-config".to_string()));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_leaves_a_library_a_staying_package_owns_through_a_linked_folder() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::create_dir_all(r.join("opt/app")).unwrap();
    symlink("/lib", r.join("opt/app/lib")).unwrap();
    add_packages(r, "P:app\nV:1\nF:opt/app/lib\nR:libz.so.1.3.1\n\n", "app\n");
    let sentinel = Sentinel::plant(r);
    let before = snapshot(r);
    let o = run_step(r, &["--json", "--prune"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = report(&o);
    let gone = all_removed(&v);
    assert_only_removed(&before, &snapshot(r), &gone, &apk_state());
    sentinel.unchanged();
    assert!(names_in(&v["pruned"]).contains(&"zlib".to_string()), "{v}");
    assert!(r.join("lib/libz.so.1.3.1").is_file(), "{gone:?}");
    let db = fs::read(r.join(DB)).unwrap();
    let app = apk_records(&db).into_iter().find(|(n, _)| n == "app");
    let (_, app) = app.expect("app stays in the database");
    assert!(app.contains("R:libz.so.1.3.1"), "{app}");
}

/// A script for [`run_step_under`] that makes `mounts` (`SOURCE TARGET-INSIDE-THE-ROOT`, bind
/// mounts) in the RUN step's namespace, then runs the strip: `sh SCRIPT chroot ROOT /strip ...`.
fn with_binds(dir: &Path, mounts: &[(&Path, &str)]) -> String {
    let mut s = String::from("set -e\nr=$2\n");
    for (source, target) in mounts {
        s.push_str(&format!(
            "mount --bind '{}' \"$r/{target}\"\n",
            source.display()
        ));
    }
    s.push_str("exec \"$@\"\n");
    let script = dir.join("binds.sh");
    fs::write(&script, s).unwrap();
    format!("sh {}", script.display())
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn what_is_mounted_in_is_neither_entered_nor_removed_and_the_report_says_so() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let db = fs::read(r.join(DB)).unwrap();
    let mut gone = expected_removals(r, &db, false);
    // Under what is bound over them, /etc/network/if-up.d keeps busybox's `dad` and
    // /etc/securetty stays.
    gone.retain(|p| p != Path::new("etc/network/if-up.d/dad") && p != Path::new("etc/securetty"));
    // Host folders on the same filesystem as the root (the hard case: one device): a cache
    // bound over /usr/local/bin holding applet links, a folder over if-up.d, a file over
    // /etc/securetty (busybox's own file).
    let host = tempfile::tempdir().unwrap();
    let h = host.path();
    fs::create_dir(h.join("bin")).unwrap();
    for applet in ["ls", "sh", "wget"] {
        symlink("/bin/busybox", h.join("bin").join(applet)).unwrap();
    }
    fs::create_dir(h.join("if-up.d")).unwrap();
    fs::write(h.join("if-up.d/dad"), b"host's dad").unwrap();
    fs::write(h.join("securetty"), b"host's securetty").unwrap();
    let host_before = snapshot(h);
    let scripts = tempfile::tempdir().unwrap();
    let wrap = with_binds(
        scripts.path(),
        &[
            (&h.join("bin"), "usr/local/bin"),
            (&h.join("if-up.d"), "etc/network/if-up.d"),
            (&h.join("securetty"), "etc/securetty"),
        ],
    );
    let sentinel = Sentinel::plant(r);
    let before = snapshot(r);
    let o = run_step_under(r, &wrap, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_only_removed(&before, &snapshot(r), &gone, &apk_state());
    assert_eq!(snapshot(h), host_before, "the host's folders changed");
    sentinel.unchanged();
    // The image's own if-up.d/dad and securetty stay under what is bound over them: busybox
    // stays in the database with them, without the entries of the files that went.
    let db_after = fs::read(r.join(DB)).unwrap();
    let records = apk_records(&db_after);
    let busybox = records.iter().find(|(name, _)| name == "busybox");
    let (_, busybox) = busybox.expect("busybox stays in the database");
    assert!(busybox.contains("R:securetty"), "{busybox}");
    assert!(busybox.contains("R:dad"), "{busybox}");
    assert!(!busybox.contains("R:busybox\n"), "{busybox}");
    let v = report(&o);
    let skipped: Vec<String> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["path"].as_str().unwrap(), s["reason"]))
        .collect();
    for path in [
        "/usr/local/bin ",
        "/etc/network/if-up.d ",
        "/etc/securetty ",
    ] {
        assert!(
            skipped
                .iter()
                .any(|s| s.starts_with(path) && s.contains("mount")),
            "{path}: {skipped:?}"
        );
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_strip_that_loses_the_lock_never_removes_the_lock_file_another_holds() {
    // No lock file (as in 3.23): the strip makes one, then (its flock delayed by strace) an
    // apk-like holder opens that same file and locks it first. The strip must refuse, change
    // nothing, and leave the holder's file in place.
    let (t, _) = tree_with_strip();
    let r = t.path();
    let lock = r.join("lib/apk/db/lock");
    fs::remove_file(&lock).unwrap();
    let before = snapshot(r);
    let holder = std::process::Command::new("sh")
        .arg("-c")
        .arg("i=0; while [ ! -e \"$1\" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; exec flock -n \"$1\" sleep 4")
        .arg("sh")
        .arg(&lock)
        .spawn()
        .unwrap();
    let wrap = "strace -f -o /dev/null -e inject=flock:delay_enter=1500000";
    // Under strace the strip is not PID 1: --force.
    let o = run_step_under(r, wrap, &["--force"]);
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("held by another apk or strip"), "{err}");
    assert!(lock.exists(), "the holder's lock file was removed: {err}");
    let mut holder = holder;
    assert!(holder.wait().unwrap().success(), "the holder got its lock");
    let mut after = snapshot(r);
    after.remove(Path::new("lib/apk/db/lock"));
    assert_eq!(after, before, "a refused strip changed the tree");
}

/// How a run under an injected fault left the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// As it was.
    Untouched,
    /// Exactly as a clean strip leaves it.
    Stripped,
    /// Part stripped, every file the database lists there, the run reported failed.
    Consistent,
    /// The database lists files that are gone; a second run (no fault) finished the strip.
    FinishedByASecondRun,
}

/// Every file the database lists (`F:` + `R:`) is in `root` (as an entry: a dangling link
/// counts), world names only packages the database lists, and no temporary file is left.
fn consistent(root: &Path) -> Result<(), String> {
    let db = fs::read(root.join(DB)).unwrap();
    let records = apk_records(&db);
    for (name, rec) in &records {
        for f in record_files(rec) {
            if fs::symlink_metadata(root.join(&f)).is_err() {
                return Err(format!("{name} lists /{} but it is gone", f.display()));
            }
        }
    }
    // A package's name, or a name it provides (`p:libc-utils=0.7.2-r5`).
    let mut names: Vec<&str> = records.iter().map(|(n, _)| n.as_str()).collect();
    for (_, rec) in &records {
        for p in rec.lines().filter_map(|l| l.strip_prefix("p:")) {
            names.extend(p.split_whitespace().map(|w| w.split('=').next().unwrap()));
        }
    }
    let world = fs::read_to_string(root.join(WORLD)).unwrap();
    for w in world.split_whitespace() {
        if !names.contains(&w) {
            return Err(format!("world names {w}, which the database does not list"));
        }
    }
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if e.file_name()
            .to_string_lossy()
            .ends_with(".alpine-strip.tmp")
        {
            return Err(format!("{} left", e.path().display()));
        }
    }
    Ok(())
}

/// How many calls of `syscall` the process that became `/strip` made, from `strace -f -o`
/// output (one line a call, each starting with the caller's pid).
fn calls(trace: &str, syscall: &str) -> usize {
    let strip = trace
        .lines()
        .find(|l| l.contains("execve(\"/strip\""))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no execve of /strip in {trace}"));
    let call = format!(" {syscall}(");
    trace
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(strip) && l.contains(&call))
        .filter(|l| !l.contains("resumed>"))
        .count()
}

/// The injection points: every call of each syscall of the commit (writes, renames, fsyncs)
/// and every removal (`unlinkat`).
fn injection_points(trace: &str) -> Vec<(&'static str, usize)> {
    let mut points = Vec::new();
    for syscall in ["write", "fsync", "renameat", "renameat2", "rename"] {
        points.extend((1..=calls(trace, syscall)).map(|n| (syscall, n)));
    }
    let n = calls(trace, "unlinkat");
    assert!(n > 300, "{n} unlinkat calls");
    points.extend((1..=n).map(|k| ("unlinkat", k)));
    points
}

/// Copies the tree `from` to a new temporary folder (`cp -a`).
fn copy_tree(from: &Path) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("alpine-strip-fault")
        .tempdir()
        .unwrap();
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(t.path())
        .status()
        .unwrap();
    assert!(st.success());
    t
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn fault_injection_at_every_step_leaves_the_tree_untouched_stripped_or_true_to_its_database() {
    // The strip as it runs under strace (not PID 1: --force), the new database fsynced
    // (--sync) so that the fsyncs are steps too.
    let args = ["--force", "--sync"];
    let (base, _) = tree_with_strip();
    let untouched = snapshot(base.path());
    let clean = copy_tree(base.path());
    let trace_file = clean.path().with_extension("trace");
    let traced = format!(
        "strace -f -qq -o {} -e trace=execve,unlinkat,write,fsync,renameat,renameat2,rename",
        trace_file.display()
    );
    let o = run_step_under(clean.path(), &traced, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let stripped = snapshot(clean.path());
    assert_ne!(stripped, untouched);
    let trace = fs::read_to_string(&trace_file).unwrap();
    fs::remove_file(&trace_file).unwrap();
    let points = injection_points(&trace);

    let mut seen: Vec<((&str, usize), Left)> = Vec::new();
    for &(syscall, n) in &points {
        let case = copy_tree(base.path());
        let r = case.path();
        let wrap = format!(
            "strace -f -qq -o /dev/null -e trace={syscall} -e inject={syscall}:error=EIO:when={n}"
        );
        let o = run_step_under(r, &wrap, &args);
        let err = stderr(&o);
        let now = snapshot(r);
        let left = if now == untouched {
            assert_ne!(o.status.code(), Some(0), "{syscall}#{n}: {err}");
            Left::Untouched
        } else if now == stripped {
            Left::Stripped
        } else {
            // Nothing removed that a clean strip keeps, nothing new.
            for p in now.keys() {
                assert!(
                    untouched.contains_key(p),
                    "{syscall}#{n}: {} appeared",
                    p.display()
                );
            }
            for p in untouched.keys().filter(|p| !now.contains_key(*p)) {
                assert!(
                    !stripped.contains_key(p),
                    "{syscall}#{n}: {} removed",
                    p.display()
                );
            }
            assert_eq!(o.status.code(), Some(1), "{syscall}#{n}: {err}");
            assert!(
                err.contains("alpine-strip: error: "),
                "{syscall}#{n}: {err}"
            );
            match consistent(r) {
                Ok(()) => Left::Consistent,
                Err(why) => {
                    // Only the commit's own rename of the database can leave it untrue: the
                    // next run finishes the job.
                    assert!(syscall.starts_with("rename"), "{syscall}#{n}: {why}\n{err}");
                    assert!(err.contains("cannot replace"), "{syscall}#{n}: {err}");
                    install_strip(&static_bin(), r);
                    let again = run_step(r, &["--force"]);
                    assert!(again.status.success(), "{}", stderr(&again));
                    let after = snapshot(r);
                    let differ: Vec<&PathBuf> = stripped
                        .keys()
                        .chain(after.keys())
                        .filter(|p| stripped.get(*p) != after.get(*p))
                        .collect();
                    assert!(
                        differ.is_empty(),
                        "{syscall}#{n} ({why}): the second run: {differ:?}"
                    );
                    Left::FinishedByASecondRun
                }
            }
        };
        seen.push(((syscall, n), left));
    }
    let count = |l: Left| seen.iter().filter(|(_, s)| *s == l).count();
    let of = |syscall: &str| seen.iter().filter(|((s, _), _)| *s == syscall).count();
    let summary = format!(
        "fault injection: {} points (unlinkat {} of {}, write {}, fsync {}, renameat {}): {} \
         untouched, {} stripped, {} consistent and reported, {} finished by a second run",
        seen.len(),
        of("unlinkat"),
        calls(&trace, "unlinkat"),
        of("write"),
        of("fsync"),
        of("renameat"),
        count(Left::Untouched),
        count(Left::Stripped),
        count(Left::Consistent),
        count(Left::FinishedByASecondRun),
    );
    println!("{summary}");
    // Where the commit's own steps left the tree (the removals are all part-stripped).
    for ((syscall, n), left) in seen.iter().filter(|((s, _), _)| *s != "unlinkat") {
        println!("  {syscall} #{n}: {left:?}");
    }
    if let Ok(out) = std::env::var("ALPINE_STRIP_OUT") {
        let _ = fs::write(Path::new(&out).join("faults.txt"), format!("{summary}\n"));
    }
    assert!(count(Left::Consistent) > 0, "{summary}");
}

/// Runs the strip in a RUN step under `wrap` and asserts it refused with one line holding
/// `needle`, before changing anything (the tree and the sentinel as they were).
fn refused_up_front(root: &Path, wrap: &str, needle: &str) {
    refused_up_front_with(root, wrap, &["--force"], needle);
}

/// [`refused_up_front`] of a RUN step with `args`.
fn refused_up_front_with(root: &Path, wrap: &str, args: &[&str], needle: &str) {
    let sentinel = Sentinel::plant(root);
    let before = snapshot(root);
    let o = run_step_under(root, wrap, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{wrap} {args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle} not in {err}");
    assert_eq!(snapshot(root), before, "{wrap} {args:?}: the tree changed");
    sentinel.unchanged();
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, can_chattr)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and chattr"
)]
fn a_pinned_file_or_folder_of_the_commit_stops_the_run_before_the_first_removal() {
    for (path, flag) in [
        ("lib/apk/db/installed", "+i"),
        ("etc/apk/world", "+a"),
        ("lib/apk/db/triggers", "+i"),
        ("lib/apk/db/scripts.tar", "+a"),
        ("lib/apk/db", "+a"),
        ("etc/apk", "+a"),
    ] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        let chattr = |f: &str| {
            let st = std::process::Command::new("chattr")
                .arg(f)
                .arg(r.join(path))
                .status()
                .unwrap();
            assert!(st.success());
        };
        chattr(flag);
        let what = if r.join(path).is_dir() {
            "folder"
        } else {
            "file"
        };
        let wrap = "env";
        let sentinel = Sentinel::plant(r);
        let before = snapshot(r);
        let o = run_step_under(r, wrap, &[]);
        chattr(&flag.replace('+', "-"));
        let err = stderr(&o);
        assert_ne!(o.status.code(), Some(0), "{path} {flag}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(path), "{path} {flag} ({what}): {err}");
        assert_eq!(snapshot(r), before, "{path} {flag}: the tree changed");
        sentinel.unchanged();
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_file_size_limit_fails_the_staging_with_efbig_before_the_first_removal() {
    let (t, _) = tree_with_strip();
    // 4 KiB: less than the new database. Without SIGXFSZ held off, the signal ends the run
    // without a word.
    refused_up_front(t.path(), "prlimit --fsize=4096", "File too large");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn too_few_descriptors_are_refused_up_front_and_a_low_soft_limit_is_raised() {
    let (t, _) = tree_with_strip();
    refused_up_front(t.path(), "prlimit --nofile=8", "RLIMIT_NOFILE allows 8");
    // A low soft limit under a high hard one is raised: the strip completes.
    let r = t.path();
    let db = fs::read(r.join(DB)).unwrap();
    let gone = expected_removals(r, &db, false);
    let before = snapshot(r);
    let o = run_step_under(r, "prlimit --nofile=8:1024", &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_only_removed(&before, &snapshot(r), &gone, &apk_state());
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn an_overlay_whose_upper_layer_lacks_inodes_for_the_whiteouts_is_refused_up_front() {
    // The tree as the lower layer of an overlay whose upper layer is a tmpfs with few inodes:
    // each removal is a whiteout, an inode of the upper layer.
    let (t, _) = tree_with_strip();
    let r = t.path();
    let scripts = tempfile::tempdir().unwrap();
    let whiteouts = scripts.path().join("whiteouts");
    let script = scripts.path().join("overlay.sh");
    fs::write(
        &script,
        format!(
            r#"set -e
inodes=$1; r=$3; shift 3
u=$(mktemp -d); m=$(mktemp -d)
mount -t tmpfs -o nr_inodes=$inodes,size=16m tmpfs "$u"
mkdir "$u/up" "$u/work"
mount -t overlay overlay -o "lowerdir=$r,upperdir=$u/up,workdir=$u/work" "$m"
mount -t proc proc "$m/proc"
set +e
chroot "$m" "$@"
rc=$?
find "$u/up" -type c | wc -l > {}
exit $rc
"#,
            whiteouts.display()
        ),
    )
    .unwrap();
    let before = snapshot(r);
    let wrap = format!("sh {} 64", script.display());
    let o = run_step_under(r, &wrap, &["--force"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("free inodes"), "{err}");
    assert!(err.contains("whiteouts"), "{err}");
    assert_eq!(fs::read_to_string(&whiteouts).unwrap().trim(), "0", "{err}");
    assert_eq!(snapshot(r), before, "the lower layer changed");
    // With room, the same overlay is stripped: a whiteout per removal.
    let wrap = format!("sh {} 4096", script.display());
    let o = run_step_under(r, &wrap, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n: usize = fs::read_to_string(&whiteouts)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(n > 300, "{n} whiteouts");
    assert_eq!(snapshot(r), before, "the lower layer changed");
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_name_holding_a_newline_cannot_forge_a_line_of_the_human_report() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let name = "x\nalpine-strip: error: forged";
    symlink("/bin/busybox", r.join("usr/bin").join(name)).unwrap();
    let o = run_step(r, &["-v"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        !err.lines().any(|l| l.starts_with("alpine-strip: error")),
        "{err}"
    );
    assert!(
        err.contains("applet link /usr/bin/x\\nalpine-strip: error: forged\n"),
        "{err}"
    );
    // JSON is unchanged: the name as JSON escapes it.
    let (t, _) = tree_with_strip();
    symlink("/bin/busybox", t.path().join("usr/bin").join(name)).unwrap();
    let v = report(&run_step(t.path(), &["--json"]));
    let links: Vec<&str> = v["removed"]["applet_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        links.contains(&"/usr/bin/x\nalpine-strip: error: forged"),
        "{links:?}"
    );
}

/// The names of the entries of a tar at 512-byte boundaries that start with `prefix`.
fn tar_names_starting(tar: &[u8], prefix: &[u8]) -> Vec<String> {
    tar.chunks(512)
        .filter(|b| b.starts_with(prefix))
        .map(|b| {
            let end = b[..100].iter().position(|&c| c == 0).unwrap_or(100);
            String::from_utf8_lossy(&b[..end]).into_owned()
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn the_scripts_archive_is_read_as_apk_reads_it_past_a_lone_zero_block() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let scripts = r.join("lib/apk/db/scripts.tar");
    let tar = fs::read(&scripts).unwrap();
    let kept = tar_names_starting(&tar, b"alpine-baselayout");
    assert_eq!(kept.len(), 4, "{kept:?}");
    // A zero block after the first entry (header and its data): apk reads past it.
    let size = usize::from_str_radix(
        std::str::from_utf8(&tar[124..135])
            .unwrap()
            .trim_matches(char::from(0)),
        8,
    )
    .unwrap();
    let first = 512 + size.div_ceil(512) * 512;
    let patched = [&tar[..first], &[0u8; 512][..], &tar[first..]].concat();
    fs::write(&scripts, &patched).unwrap();
    let db = fs::read(r.join(DB)).unwrap();
    strip_exactly(r, &[], &expected_removals(r, &db, false));
    let after = fs::read(&scripts).unwrap();
    assert_eq!(tar_names_starting(&after, b"alpine-baselayout"), kept);
    assert!(tar_names_starting(&after, b"busybox").is_empty());
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_scripts_archive_over_its_limit_stops_the_run_with_exit_5_before_any_removal() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let scripts = fs::OpenOptions::new()
        .write(true)
        .open(r.join("lib/apk/db/scripts.tar"))
        .unwrap();
    scripts.set_len(65 << 20).unwrap();
    let before = snapshot(r);
    let o = run_step(r, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(
        err.contains("scripts.tar") && err.contains("larger than"),
        "{err}"
    );
    assert_eq!(snapshot(r), before);
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn the_links_of_a_busybox_that_is_a_fifo_are_applet_links_removed_in_the_same_run() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    let db = fs::read(r.join(DB)).unwrap();
    let gone = expected_removals(r, &db, false);
    fs::remove_file(r.join("bin/busybox")).unwrap();
    nix::unistd::mkfifo(&r.join("bin/busybox"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let v = strip_exactly(r, &[], &gone);
    assert_eq!(
        v["removed"]["applet_links"].as_array().unwrap().len(),
        304,
        "{v}"
    );
    install_strip(&static_bin(), r);
    let o = run_step(r, &[]);
    // The one thing it removes then is itself, and it says so.
    let said = "is already stripped: nothing to remove but this binary, /strip, removed";
    assert!(stderr(&o).contains(said), "{}", stderr(&o));
    assert!(fs::symlink_metadata(r.join("strip")).is_err());
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_folder_the_walk_cannot_read_is_a_finding_that_fails_check_and_strict() {
    use nix::fcntl::{OFlag, openat};
    use nix::sys::stat::{Mode, mkdirat};
    let (t, _) = tree_with_strip();
    let r = t.path();
    // 2,100 folders down (deeper than PATH_MAX as a host path), made relative to descriptors,
    // a setuid busybox copy.
    let busybox = fs::read(r.join("bin/busybox")).unwrap();
    fs::create_dir(r.join("deep")).unwrap();
    let mut dir = fs::File::open(r.join("deep")).unwrap();
    for _ in 0..2100 {
        mkdirat(&dir, "d", Mode::from_bits_truncate(0o755)).unwrap();
        let fd = openat(
            &dir,
            "d",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        dir = fs::File::from(fd);
    }
    let fd = openat(
        &dir,
        "bb",
        OFlag::O_WRONLY | OFlag::O_CREAT,
        Mode::from_bits_truncate(0o4755),
    )
    .unwrap();
    let mut copy = fs::File::from(fd);
    std::io::Write::write_all(&mut copy, &busybox).unwrap();
    copy.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o4755))
        .unwrap();
    drop(copy);

    let o = run_step(r, &["--check", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let v = report(&o);
    let unreadable: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unreadable-folder")
        .collect();
    assert!(!unreadable.is_empty(), "{v}");
    assert!(
        unreadable[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/deep/d/d/")
    );
    // --strict fails the strip on it; a strip without it says it.
    let o = run_step(r, &["--strict"]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error: unreadable-folder /deep/d/d/"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn apk_state_mounted_in_is_refused_before_it_decides_or_is_written() {
    // A host folder over lib/apk/db would get the new database (and the image keep its lying
    // one under it); a host file over world would decide what --prune takes; a file bound over
    // itself would fail the commit's rename (EBUSY) after every removal.
    for (from_host, target) in [
        (true, "lib/apk/db"),
        (true, "etc/apk"),
        (true, WORLD),
        (false, WORLD),
        (false, DB),
    ] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        let host = tempfile::tempdir().unwrap();
        let source = if from_host {
            let s = host.path().join("state");
            let out = Command::new("cp")
                .arg("-a")
                .arg(r.join(target))
                .arg(&s)
                .output()
                .unwrap();
            assert!(out.status.success());
            s
        } else {
            r.join(target)
        };
        let host_before = snapshot(host.path());
        let scripts = tempfile::tempdir().unwrap();
        let wrap = with_binds(scripts.path(), &[(&source, target)]);
        refused_up_front(r, &wrap, "apk's state is mounted in");
        assert_eq!(
            snapshot(host.path()),
            host_before,
            "{target}: the host's copy changed"
        );
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_refuses_a_world_naming_what_no_package_provides() {
    // apk refuses such a world ("unable to select packages"); --prune would have taken musl
    // and everything else, since nothing in world kept them.
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::write(r.join(WORLD), b"hostdata\n").unwrap();
    let sentinel = Sentinel::plant(r);
    let before = snapshot(r);
    let o = run_step(r, &["--prune"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(
        err.contains("names hostdata, which no installed package"),
        "{err}"
    );
    assert_eq!(snapshot(r), before, "the tree changed");
    sentinel.unchanged();
    // Without --prune, world decides nothing: the strip goes on.
    let o = run_step(r, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_database_or_world_over_its_limit_stops_the_run_with_exit_5_before_any_removal() {
    // The limits: 64 MiB for the database, 1 MiB for world (sparse files: nothing is written).
    for (path, len) in [(DB, (64 << 20) + 1), (WORLD, (1 << 20) + 1)] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        let f = fs::OpenOptions::new()
            .append(true)
            .open(r.join(path))
            .unwrap();
        f.set_len(len).unwrap();
        let before = snapshot(r);
        let o = run_step(r, &[]);
        assert_eq!(o.status.code(), Some(5), "{path}: {}", stderr(&o));
        assert_eq!(snapshot(r), before, "{path}: the tree changed");
    }
}

/// Every folder and regular file under `root` (not following links, not crossing mounts).
fn folders_and_files(root: &Path) -> Vec<PathBuf> {
    let walk = walkdir::WalkDir::new(root).same_file_system(true);
    let entries = walk.into_iter().map(Result::unwrap);
    let kept = entries.filter(|e| e.file_type().is_dir() || e.file_type().is_file());
    kept.map(|e| e.path().to_path_buf()).collect()
}

/// Sets the access time of `paths` to 2001-01-01 (older than every change here: on a relatime
/// mount the next read of each updates it) without reading them; that time, in seconds.
fn set_old_atime(paths: &[PathBuf]) -> i64 {
    let touched = Command::new("touch")
        .args(["-a", "-h", "-d", "2001-01-01 00:00:00 UTC"])
        .args(paths)
        .status();
    assert!(touched.unwrap().success());
    978307200
}

/// The access time of `path` (`lstat`, which does not change it).
fn atime(path: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).unwrap().atime()
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_strip_leaves_the_access_time_of_every_folder_and_file_it_reads_as_it_was() {
    let (t, _) = tree_with_strip();
    let r = t.path();
    // The control: on this filesystem a read updates an old access time.
    let control = tempfile::tempdir_in(r.parent().unwrap()).unwrap();
    let file = control.path().join("read-me");
    fs::write(&file, b"x").unwrap();
    let old = set_old_atime(std::slice::from_ref(&file));
    fs::read(&file).unwrap();
    assert_ne!(atime(&file), old, "reads do not update access times here");
    // apk's state files are replaced by new ones; what the strip removes goes.
    let replaced: Vec<PathBuf> = ["lib/apk/db/installed", "lib/apk/db/scripts.tar"]
        .iter()
        .chain(&["lib/apk/db/triggers", WORLD])
        .map(|p| r.join(p))
        .collect();
    let mut paths = folders_and_files(r);
    paths.retain(|p| !replaced.contains(p));
    let old = set_old_atime(&paths);
    // The default run reads the most: every folder, apk's state, the programs' headers.
    let o = run_step(r, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let left = paths.iter().filter(|p| fs::symlink_metadata(p).is_ok());
    let changed: Vec<&PathBuf> = left.filter(|p| atime(p) != old).collect();
    assert!(changed.is_empty(), "access times changed: {changed:?}");
    assert!(paths.len() > 150, "{} folders and files", paths.len());
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_build_without_cap_fowner_strips_a_tree_another_user_owns() {
    // Without CAP_FOWNER, O_NOATIME on another user's file is refused (EPERM): each is read
    // without it. Changing the mode of a file once given to another user is refused too:
    // apk's new state gets its mode while the strip still owns it.
    let (t, _) = tree_with_strip();
    let r = t.path();
    let owned = Command::new("chown")
        .args(["-R", "-h", "1000:1000"])
        .arg(r)
        .status();
    assert!(owned.unwrap().success());
    let trace = tempfile::NamedTempFile::new().unwrap();
    let wrap = format!(
        "setpriv --bounding-set=-fowner --inh-caps=-fowner strace -f -o {} -e trace=openat,openat2",
        trace.path().display()
    );
    let o = run_step_under(r, &wrap, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::symlink_metadata(r.join("bin/busybox")).is_err());
    // The refusals were O_NOATIME's, each file then opened without it by openat2 again, never
    // taken for a filter's refusal of openat2 (which opens one folder at a time, O_PATH).
    let opens = fs::read_to_string(trace.path()).unwrap();
    let refused = |l: &&str| l.contains("O_NOATIME") && l.contains("EPERM");
    assert!(opens.lines().filter(refused).count() > 10, "{opens}");
    let stepwise = |l: &&str| {
        l.starts_with(|c: char| c.is_ascii_digit())
            && l.contains(" openat(")
            && l.contains("O_PATH")
    };
    let stepwise: Vec<&str> = opens.lines().filter(stepwise).collect();
    assert!(stepwise.is_empty(), "{stepwise:?}");
    let db = r.join("lib/apk/db/installed");
    let meta = fs::metadata(&db).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1000, 1000, 0o644)
    );
    assert!(!packages(r).contains(&"busybox".to_string()));
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn apk_state_that_is_a_link_to_a_file_mounted_in_is_refused_before_it_is_read() {
    // Read through the link, world would be the engine's /etc/hosts, or pid 1's environment:
    // what is mounted in must not decide what --prune takes, nor be read at all. The same for
    // the database (its words would pick the exit status), triggers and the scripts.
    let files = [WORLD, DB, "lib/apk/db/triggers", "lib/apk/db/scripts.tar"];
    for file in files {
        // The engine's /etc/hostname by a relative link: one `..` a folder.
        let up = "../".repeat(file.matches('/').count());
        let relative = format!("{up}etc/hostname");
        for (target, args) in ["/etc/hosts", "/proc/1/environ", &relative]
            .into_iter()
            .flat_map(|t| [(t, &["--force", "--prune"][..]), (t, &["--force"])])
        {
            let (t, _) = tree_with_strip();
            let r = t.path();
            fs::remove_file(r.join(file)).unwrap();
            symlink(target, r.join(file)).unwrap();
            let trace = tempfile::NamedTempFile::new().unwrap();
            let wrap = format!(
                "strace -f -o {} -e trace=execve,openat,openat2",
                trace.path().display()
            );
            refused_up_front_with(r, &wrap, args, "apk's state is mounted in");
            // Refused before it was opened to be read (only its folder, O_PATH, may be).
            let opens = fs::read_to_string(trace.path()).unwrap();
            assert!(opens.contains("execve(\"/strip\""), "{opens}");
            let quoted = format!("\"{file}\"");
            let read = |l: &str| l.contains(&quoted) && !l.contains("O_PATH");
            assert!(
                !opens.lines().any(read),
                "{file} -> {target} was opened: {opens}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn apk_lock_is_not_made_in_a_folder_mounted_in() {
    // The lock is the run's first change: a host folder bound over lib/apk/db must be refused
    // before it, not after a lock file was made (and unlinked) on the host.
    let (t, _) = tree_with_strip();
    let r = t.path();
    let host = tempfile::tempdir().unwrap();
    let db = host.path().join("db");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(r.join("lib/apk/db"))
        .arg(&db)
        .status();
    assert!(copied.unwrap().success());
    fs::remove_file(db.join("lock")).unwrap();
    let scripts = tempfile::tempdir().unwrap();
    let trace = scripts.path().join("trace");
    let binds = with_binds(scripts.path(), &[(&db, "lib/apk/db")]);
    let wrap = format!(
        "strace -f -o {} -e trace=execve,openat,openat2 {binds}",
        trace.display()
    );
    refused_up_front(r, &wrap, "apk's state is mounted in");
    let opens = fs::read_to_string(&trace).unwrap();
    assert!(opens.contains("execve(\"/strip\""), "{opens}");
    let made = |l: &str| l.contains("\"lock\"") && l.contains("O_CREAT");
    assert!(!opens.lines().any(made), "{opens}");
    assert!(!db.join("lock").exists());
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_sticky_apk_state_folder_the_commit_may_not_replace_in_stops_the_run_before_any_removal() {
    // The commit renames over installed (and world): in a sticky folder another owns, without
    // CAP_FOWNER, that fails after every removal unless it is seen first.
    let no_fowner = "setpriv --bounding-set=-fowner --inh-caps=-fowner";
    for (folder, file) in [("lib/apk/db", DB), ("etc/apk", WORLD)] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        for args in [&["1000", folder][..], &["1000", file]] {
            let owned = Command::new("chown").args(args).current_dir(r).status();
            assert!(owned.unwrap().success());
        }
        let sticky = Command::new("chmod")
            .args(["1777", folder])
            .current_dir(r)
            .status();
        assert!(sticky.unwrap().success());
        let needle = format!("/{file}: cannot remove or replace: its folder is sticky");
        refused_up_front_with(r, no_fowner, &[], &needle);
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_refuses_a_world_that_names_nothing_and_the_note_says_nothing_without_one() {
    // Nothing would say what was asked for: --prune would take every package, musl with it.
    for (gone, said) in [
        ("missing", "is missing"),
        ("dangling", "is missing"),
        ("empty", "names no package"),
        ("conflicts", "names no package"),
    ] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        fs::remove_file(r.join(WORLD)).unwrap();
        match gone {
            "dangling" => symlink("/nowhere/world", r.join(WORLD)).unwrap(),
            "empty" => fs::write(r.join(WORLD), b"").unwrap(),
            "conflicts" => fs::write(r.join(WORLD), b"!busybox\n").unwrap(),
            _ => {}
        }
        let before = snapshot(r);
        let o = run_step(r, &["--prune"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(5), "{gone}: {err}");
        assert!(err.contains("etc/apk/world") && err.contains(said), "{err}");
        assert_eq!(snapshot(r), before, "{gone}: the tree changed");
        let v = report(&run_step(r, &["--json"]));
        assert_eq!(v["prunable"], serde_json::json!([]), "{gone}: {v}");
        assert!(fs::symlink_metadata(r.join("bin/busybox")).is_err());
    }
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn prune_refuses_to_keep_what_the_strip_removes_whatever_it_is_told() {
    // Kept silently before: busybox-binsh went all the same, and /bin/sh with it.
    for name in ["busybox-binsh", "busybox", "apk-tools", "/bin/sh"] {
        let (t, _) = tree_with_strip();
        let r = t.path();
        let before = snapshot(r);
        let o = run_step(r, &["--prune", "--keep", name]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("--keep {name}: the strip removes")),
            "{err}"
        );
        assert_eq!(snapshot(r), before, "{name}: the tree changed");
    }
    // An entrypoint that needs /bin/sh is the start check's to refuse, not a usage error.
    let (t, _) = tree_with_strip();
    let r = t.path();
    fs::write(r.join("entry.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    let made = Command::new("chmod")
        .args(["755"])
        .arg(r.join("entry.sh"))
        .status();
    assert!(made.unwrap().success());
    let o = run_step(r, &["--prune", "--entrypoint", "/entry.sh"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("/entry.sh: #!/bin/sh is removed by the strip"),
        "{err}"
    );
}

#[test]
#[cfg_attr(
    not(fixture_tree),
    ignore = "needs ALPINE_MINIROOTFS and ALPINE_STRIP_BIN"
)]
fn a_sticky_folder_a_build_may_not_remove_from_stops_the_run_before_the_first_removal() {
    // In a sticky folder another user owns, only the owner of an entry (or CAP_FOWNER) may
    // remove it: without CAP_FOWNER, /bin/ls would fail after 300 removals.
    let no_fowner = "setpriv --bounding-set=-fowner --inh-caps=-fowner";
    let prepare = |r: &Path| {
        for args in [&["1000", "bin"][..], &["-h", "1000", "bin/ls"]] {
            let owned = Command::new("chown").args(args).current_dir(r).status();
            assert!(owned.unwrap().success());
        }
        let sticky = Command::new("chmod")
            .args(["1755", "bin"])
            .current_dir(r)
            .status();
        assert!(sticky.unwrap().success());
    };
    let (t, _) = tree_with_strip();
    let r = t.path();
    prepare(r);
    let needle = "/bin/ls: cannot remove or replace: its folder is sticky";
    refused_up_front_with(r, no_fowner, &[], needle);
    // With CAP_FOWNER (an engine's default), the same tree strips.
    let o = run_step(r, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::symlink_metadata(r.join("bin/ls")).is_err());
}
