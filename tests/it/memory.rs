//! A failed allocation (issue 28, "memory"): the strip runs in a RUN step in shell form under an
//! address-space limit (`RUN ulimit -v KB && exec /strip`, the root's own shell setting
//! `RLIMIT_AS` as `prlimit --as` does, for the strip alone), at limits from the lowest at which
//! the kernel can load the binary up to the lowest at which the strip succeeds, both found by
//! bisection. Every run that fails must end with exit status 1 and one line saying so (never a
//! signal: 132 and 134 were the silent aborts), and leave the tree either as it was, file by
//! file (apk's lock file the run made and the staged database files gone), or stripped exactly
//! as a run without a limit strips it. The line is the tool's own `out of memory`, or, when
//! the C library's own allocation failed (musl's `opendir` allocates its buffer), the ordinary
//! error line naming the path and `Out of memory (os error 12)`.
//!
//! An address-space limit reaches only the peak (the walk of the whole root, before anything
//! is written), so a second test fails the Nth `mmap` of the strip and every one after it
//! (`strace -e inject`), for every N: the same outcomes, except that a failure during the
//! removals (the line says so) leaves a tree a second run strips. These tests need root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

/// The shell form of the RUN step, with the limit in KiB.
fn limited(kib: u64) -> String {
    format!("ulimit -v {kib} && exec /strip \"$@\"")
}

/// A fresh tree from `tar`, with the binary in it as `/strip`.
fn fresh(tar: &Path) -> tempfile::TempDir {
    let t = unpack(tar);
    install_strip(&static_bin(), t.path());
    t
}

/// Whether the binary runs at all under `kib` (`--version`: not killed by the kernel in
/// `execve`, which cannot map it and the stack under a lower limit).
fn loads(tar: &Path, kib: u64) -> bool {
    let t = fresh(tar);
    let o = run_step_shell(t.path(), &limited(kib), &["--version"]);
    matches!(o.status.code(), Some(0 | 1))
}

/// Whether a strip under `kib` succeeds.
fn strips_under(tar: &Path, kib: u64) -> bool {
    let t = fresh(tar);
    run_step_shell(t.path(), &limited(kib), &[])
        .status
        .success()
}

/// The lowest limit in `lo..=hi` for which `ok` holds, `ok` failing at `lo` and holding at
/// `hi` (checked).
fn lowest(lo: u64, hi: u64, ok: impl Fn(u64) -> bool) -> u64 {
    assert!(!ok(lo), "already at {lo} KiB");
    assert!(ok(hi), "not even at {hi} KiB");
    let (mut lo, mut hi) = (lo, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { hi = mid } else { lo = mid }
    }
    hi
}

/// Checks a run's outcome on `root` (`what` names it): success and the tree stripped, or exit
/// status 1, one line saying memory ran out, and the tree as it was (when the line says nothing
/// was removed) or stripped; or, when the line says the removals had begun, a tree a second run
/// strips (made here). Whether it failed.
fn whole(
    what: &str,
    o: &Output,
    root: &Path,
    untouched: &BTreeMap<PathBuf, Node>,
    stripped: &BTreeMap<PathBuf, Node>,
) -> bool {
    let after = snapshot(root);
    if o.status.success() {
        assert!(after == *stripped, "{what}: stripped otherwise");
        return false;
    }
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {:?} {err}", o.status);
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    let ours = err.starts_with("alpine-strip: error: out of memory (an allocation of ");
    let libc = err.starts_with("alpine-strip: error: /") && err.contains("(os error 12)");
    assert!(ours || libc, "{what}: {err}");
    let staged = |p: &&PathBuf| p.to_string_lossy().ends_with(".alpine-strip.tmp");
    assert_eq!(
        after.keys().find(staged),
        None,
        "{what}: a staged file was left"
    );
    if err.contains("nothing was removed") {
        assert!(after == *untouched, "{what}: the tree changed: {err}");
    } else if err.contains("the removals had begun") {
        // The binary may be gone with the rest: the user runs it again all the same.
        install_strip(&static_bin(), root);
        let again = run_step(root, &[]);
        assert!(again.status.success(), "{what}: {}", stderr(&again));
        assert!(
            snapshot(root) == *stripped,
            "{what}: not finished by a second run"
        );
    } else {
        assert!(
            after == *untouched || after == *stripped,
            "{what}: half done: {err}"
        );
    }
    true
}

/// The trees before and after a strip without a limit.
fn before_and_after(tar: &Path) -> (BTreeMap<PathBuf, Node>, BTreeMap<PathBuf, Node>) {
    let untouched = snapshot(fresh(tar).path());
    let t = fresh(tar);
    let o = run_step(t.path(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    (untouched, snapshot(t.path()))
}

/// Sweeps the limits between the lowest that loads the binary and the lowest that strips, on
/// trees from `tar`; returns how many runs failed with the line.
fn every_failure_is_one_line_and_a_whole_tree(tar: &Path) -> usize {
    let (untouched, stripped) = before_and_after(tar);
    let load = lowest(64, 4096, |kib| loads(tar, kib));
    let strips = lowest(load, 65536, |kib| strips_under(tar, kib));
    // From a little above the lowest that loads (the kernel's need varies by a page with the
    // stack's placement) to just below the lowest that strips.
    let from = load + 16;
    let mut limits: Vec<u64> = (0..12).map(|i| from + (strips - from) * i / 12).collect();
    limits.extend((1..=4).map(|d| strips - d));
    limits.sort();
    limits.dedup();
    let mut failed = 0;
    for kib in limits {
        let t = fresh(tar);
        let o = run_step_shell(t.path(), &limited(kib), &[]);
        failed += usize::from(whole(
            &format!("{kib} KiB"),
            &o,
            t.path(),
            &untouched,
            &stripped,
        ));
    }
    eprintln!("limits: loads at {load} KiB, strips at {strips} KiB; {failed} runs failed");
    failed
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, can_mount)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and root"
)]
fn a_failed_allocation_is_one_line_exit_1_and_the_tree_as_it_was_or_stripped() {
    assert!(every_failure_is_one_line_and_a_whole_tree(&minirootfs()) >= 8);
}

#[test]
#[cfg_attr(
    not(all(fixture_tree_3_23, can_mount)),
    ignore = "needs ALPINE_ROOTFS_3_23, ALPINE_STRIP_BIN and root"
)]
fn a_lock_file_the_run_made_goes_with_a_failed_allocation() {
    // 3.23 has no apk lock file: the run makes one, which must not outlive a failure.
    let tar = rootfs_323();
    let before = snapshot(fresh(&tar).path());
    assert!(before.contains_key(Path::new("lib/apk/db/installed")));
    assert!(!before.contains_key(Path::new("lib/apk/db/lock")));
    assert!(every_failure_is_one_line_and_a_whole_tree(&tar) >= 8);
}

/// The `mmap` calls of a RUN step's strip (every allocation of musl's `malloc` that needs
/// memory from the kernel): how many the process makes before it is `/strip` (chroot's), and
/// how many after.
fn mmaps(tar: &Path) -> (usize, usize) {
    let t = fresh(tar);
    let log = tempfile::NamedTempFile::new().unwrap();
    // Not PID 1 under strace: the engine's variable tells the guard it is a container build.
    let wrap = format!(
        "env container=podman strace -o {} -e trace=mmap,execve",
        log.path().display()
    );
    let o = run_step_under(t.path(), &wrap, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(log.path()).unwrap();
    let (before, after) = text.split_once("execve(\"/strip\"").unwrap();
    let count = |s: &str| s.lines().filter(|l| l.starts_with("mmap(")).count();
    (count(before), count(after))
}

#[test]
#[cfg_attr(
    not(all(fixture_tree, can_mount)),
    ignore = "needs ALPINE_MINIROOTFS, ALPINE_STRIP_BIN and root"
)]
fn an_allocation_failing_at_every_point_is_one_line_exit_1_and_a_whole_tree() {
    // The Nth allocation from the kernel and every one after it fail (`strace -e inject`), for
    // each N of a strip: before apk's lock, after the staging, during and after the removals.
    let tar = minirootfs();
    let (untouched, stripped) = before_and_after(&tar);
    let (chroot, strip) = mmaps(&tar);
    assert!(strip >= 4, "{strip} mmap calls");
    let mut seen = Vec::new();
    for n in 1..=strip {
        let t = fresh(&tar);
        let wrap = format!(
            "env container=podman strace -o /dev/null -e trace=mmap -e inject=mmap:error=ENOMEM:when={}+",
            chroot + n
        );
        let o = run_step_under(t.path(), &wrap, &[]);
        let failed = whole(
            &format!("mmap {n} of {strip}"),
            &o,
            t.path(),
            &untouched,
            &stripped,
        );
        let err = stderr(&o);
        let phase = [
            "nothing was removed",
            "the removals had begun",
            "after the strip",
        ]
        .into_iter()
        .position(|p| err.contains(p));
        seen.push((n, failed, phase));
    }
    eprintln!("mmap calls: {strip}; (N, failed, phase): {seen:?}");
    assert!(seen.iter().all(|&(_, failed, _)| failed), "{seen:?}");
    assert_eq!(seen.first().map(|s| s.2), Some(Some(0)), "{seen:?}");
}
