//! The guard: stripping `/` is only for container builds.
//!
//! A RUN step sees its builder in different ways: the classic Docker builder leaves
//! `/.dockerenv`, buildah and podman `/run/.containerenv`, kaniko `/kaniko`; rootful BuildKit
//! runs the step as PID 1; podman and systemd-nspawn set `$container`; rootless BuildKit leaves a
//! user namespace (`/proc/self/uid_map` is not the identity) and an overlay root. Any one of
//! them is enough. Without any, stripping `/` is refused unless `--force` is given.

use crate::root::read::read_up_to;
use std::fs;
use std::path::Path;

/// Signs of a container, as named in messages and reports.
pub fn signals() -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["/.dockerenv", "/run/.containerenv", "/kaniko"] {
        if Path::new(marker).exists() {
            found.push(format!("{marker} exists"));
        }
    }
    if std::process::id() == 1 {
        found.push("running as PID 1".to_string());
    }
    if let Some(v) = std::env::var_os("container").filter(|v| !v.is_empty()) {
        found.push(format!("$container={}", v.to_string_lossy()));
    }
    if let Some(map) = read_proc("/proc/self/uid_map")
        && !uid_map_is_identity(&String::from_utf8_lossy(&map))
    {
        found.push("in a user namespace".to_string());
    }
    if let Some(info) = read_proc("/proc/self/mountinfo")
        && let Some(fs) = root_fstype(&String::from_utf8_lossy(&info)).filter(|fs| is_overlay(fs))
    {
        found.push(format!("/ is {fs}"));
    }
    found
}

/// Whether this process runs in the host's own PID namespace, as apk 3 tells it before it
/// syncs (apk-tools `src/commit.c`, `running_on_host`): there PID 2 is the kernel's
/// `kthreadd`. In a container (or a chroot without `/proc`) it is not.
pub fn on_host() -> bool {
    read_proc("/proc/2/stat").is_some_and(|stat| is_kthreadd(&stat))
}

/// Whether a `/proc/PID/stat` is the one of PID 2, the kernel's `kthreadd`.
pub fn is_kthreadd(stat: &[u8]) -> bool {
    stat.starts_with(b"2 (kthreadd) ")
}

/// The most bytes read of a `/proc` file (a mount table with thousands of mounts fits).
const PROC_LIMIT: u64 = 16 << 20;

/// The host's `/proc` file `path`, at most [`PROC_LIMIT`] bytes of it; `None` when it cannot be
/// read (no `/proc`: no signal from it).
fn read_proc(path: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let file = fs::File::open(path).ok()?;
    read_up_to(&file, PROC_LIMIT - 1, &mut bytes).ok()?;
    Some(bytes)
}

/// The refusal, when no signal was seen.
pub const REFUSAL: &str = "refusing to strip /: this does not look like a container build \
(no /.dockerenv, /run/.containerenv or /kaniko, not PID 1, no $container, no user namespace, \
/ is not an overlay); run it as a RUN step of an image build, pass --root DIR to strip a \
directory tree, or --force if you really mean this machine";

/// Whether a `/proc/self/uid_map` maps every uid to itself (the host's own namespace).
pub fn uid_map_is_identity(map: &str) -> bool {
    words(map).eq(["0", "0", "4294967295"])
}

/// The filesystem type of `/` in a `/proc/self/mountinfo` (the last mount of `/` wins): the
/// fifth field is the mount point, the field after the lone `-` the type.
pub fn root_fstype(mountinfo: &str) -> Option<&str> {
    let mut fstype = None;
    for line in mountinfo.split('\n') {
        let mut fields = words(line);
        if fields.nth(4) == Some("/") {
            fstype = fields.skip_while(|f| *f != "-").nth(1).or(fstype);
        }
    }
    fstype
}

/// The words of `text`, split at spaces, tabs and newlines.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', '\t', '\n']).filter(|w| !w.is_empty())
}

fn is_overlay(fstype: &str) -> bool {
    fstype == "overlay" || fstype == "fuse.fuse-overlayfs"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_uid_map_is_the_identity_and_a_user_namespace_is_not() {
        assert!(uid_map_is_identity("         0          0 4294967295\n"));
        assert!(!uid_map_is_identity("         0       1000          1\n"));
        assert!(!uid_map_is_identity("0 1000 1\n1 100000 65536\n"));
        assert!(!uid_map_is_identity(""));
    }

    #[test]
    fn finds_the_fstype_of_the_last_root_mount() {
        let host =
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n30 27 0:5 / /proc rw - proc proc rw\n";
        assert_eq!(root_fstype(host), Some("ext4"));
        let buildkit = "1 0 0:50 / / rw - overlay overlay rw,lowerdir=/a,upperdir=/b\n";
        assert_eq!(root_fstype(buildkit), Some("overlay"));
        assert!(is_overlay("overlay"));
        let rootless = "2 1 0:51 / / rw - fuse.fuse-overlayfs fuse-overlayfs rw\n";
        assert_eq!(root_fstype(rootless).map(is_overlay), Some(true));
        assert_eq!(root_fstype("30 27 0:5 / /proc rw - proc proc rw\n"), None);
    }

    #[test]
    fn pid_2_is_kthreadd_only_in_the_hosts_pid_namespace() {
        assert!(is_kthreadd(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0"));
        // In a container PID 2 is whatever the step started second.
        assert!(!is_kthreadd(b"2 (sh) S 1 1 1 0 -1 4194560 0 0 0 0"));
        assert!(!is_kthreadd(b"22 (kthreadd) S"));
        assert!(!is_kthreadd(b""));
        // Where this test runs: /proc/2/stat says the same as the host's own answer.
        let stat = std::fs::read("/proc/2/stat").unwrap_or_default();
        assert_eq!(on_host(), is_kthreadd(&stat));
    }
}
