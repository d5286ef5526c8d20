//! Golden tests: the complete report for people and the complete JSON document (the schema is
//! promised stable) of one strip of one synthetic tree, compared whole. Each run is a RUN step
//! ([`run_step`]: the root is `/`, `/strip` is in it); these tests need root.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::*;

/// busybox with three applet links, apk, a package file of busybox's, a script of a staying
/// package whose `#!` interpreter goes with busybox (a note), the same script no package owns
/// (a warning), and the database and world that say so.
fn tree(r: &Path) {
    for d in ["bin", "sbin", "usr/bin", "lib/apk/db", "etc/apk"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(r.join("bin/busybox"), [0u8; 100]).unwrap();
    // Executable, as busybox is: the kernel execs no #! interpreter without an execute bit.
    let exec = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(r.join("bin/busybox"), exec).unwrap();
    symlink("/bin/busybox", r.join("bin/ls")).unwrap();
    symlink("busybox", r.join("bin/sh")).unwrap();
    symlink("../../bin/busybox", r.join("usr/bin/env")).unwrap();
    fs::write(r.join("sbin/apk"), [0u8; 10]).unwrap();
    fs::write(r.join("etc/securetty"), b"tty1\n").unwrap();
    fs::write(r.join("lib/ld-musl-x86_64.so.1"), b"musl").unwrap();
    fs::write(r.join("usr/bin/app"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::write(r.join("usr/bin/start"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::write(
        r.join(DB),
        "P:musl\nV:1.2.5-r0\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
         P:busybox\nV:1.36.1-r29\nF:bin\nR:busybox\nF:etc\nR:securetty\n\n\
         P:apk-tools\nV:2.14.4-r0\nF:sbin\nR:apk\n\n\
         P:app\nV:1.0-r0\nF:usr/bin\nR:app\n\n",
    )
    .unwrap();
    fs::write(r.join("etc/apk/world"), b"musl\nbusybox\napk-tools\napp\n").unwrap();
}

/// The output with the version and the bytes a strip frees (the tree's 115 and the size of
/// `/strip`, which changes with each build) put back to fixed words.
fn fixed(out: &[u8]) -> String {
    let strip = fs::metadata(static_bin()).unwrap().len();
    String::from_utf8_lossy(out)
        .replace(&(115 + strip).to_string(), "115+STRIP")
        .replace(env!("CARGO_PKG_VERSION"), "VERSION")
}

/// `json` without the whitespace between its tokens, and one newline at the end: the tool's
/// one-line form, byte for byte (key order included).
fn compact(json: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c.is_whitespace() {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out + "\n"
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn the_whole_report_of_a_strip_for_people_and_as_json() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().canonicalize().unwrap();
    tree(&root);
    let o = run_step_installed(&root, &["--json", "-v"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fixed(&o.stderr), HUMAN);
    assert_eq!(fixed(&o.stdout), compact(JSON));
}

#[test]
#[cfg_attr(not(fixture_strip_bin), ignore = "needs ALPINE_STRIP_BIN")]
fn the_whole_report_of_a_dry_run_and_of_a_check() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().canonicalize().unwrap();
    tree(&root);
    let o = run_step_installed(&root, &["-n", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fixed(&o.stderr), DRY_RUN);
    assert_eq!(fixed(&o.stdout), compact(DRY_RUN_JSON));
    let o = run_step_installed(&root, &["--check", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(fixed(&o.stderr), CHECK);
    assert_eq!(fixed(&o.stdout), compact(CHECK_JSON));
}

const HUMAN: &str = r##"alpine-strip: removed applet link /bin/ls
alpine-strip: removed applet link /bin/sh
alpine-strip: removed applet link /usr/bin/env
alpine-strip: removed apk /sbin/apk
alpine-strip: removed package file /etc/securetty
alpine-strip: removed busybox /bin/busybox
alpine-strip: removed itself /strip
alpine-strip: container detected: running as PID 1
alpine-strip: stripped /: removed 3 applet links and 4 files, freed 115+STRIP bytes
alpine-strip: apk database: dropped busybox 1.36.1-r29, apk-tools 2.14.4-r0
alpine-strip: note: missing-interpreter /usr/bin/app: #!/bin/sh is removed by the strip (busybox applet link)
alpine-strip: warning: missing-interpreter /usr/bin/start: #!/bin/sh is removed by the strip (busybox applet link)
alpine-strip: note: once stripped, a program that asks by name at run time for the shell /bin/sh (sh -c, system(), dlopen, ctypes) fails, and no audit sees it; keep a package with --prune --keep NAME, name the programs you start with --entrypoint
"##;

/// The tool writes one line: this is the same document, indented (see [`compact`]).
const JSON: &str = r##"{
  "schema": 1,
  "tool": "alpine-strip VERSION",
  "mode": "strip",
  "root": "/",
  "outcome": "stripped",
  "exit_code": 0,
  "error": null,
  "removed": {
    "applet_links": [
      "/bin/ls",
      "/bin/sh",
      "/usr/bin/env"
    ],
    "apk": [
      "/sbin/apk"
    ],
    "ssl_client": [],
    "package_files": [
      "/etc/securetty"
    ],
    "pruned_files": [],
    "busybox": [
      "/bin/busybox"
    ],
    "self": [
      "/strip"
    ]
  },
  "bytes_freed": 115+STRIP,
  "skipped": [],
  "apk_db": {
    "status": "updated",
    "dropped": [
      {
        "name": "busybox",
        "version": "1.36.1-r29"
      },
      {
        "name": "apk-tools",
        "version": "2.14.4-r0"
      }
    ],
    "trimmed": [],
    "error": null
  },
  "findings": [
    {
      "severity": "note",
      "kind": "missing-interpreter",
      "path": "/usr/bin/app",
      "detail": "#!/bin/sh is removed by the strip (busybox applet link)",
      "missing": "/bin/sh",
      "cause": "removed-by-strip",
      "package": null,
      "needed_by": null,
      "target": null,
      "tree": null
    },
    {
      "severity": "warning",
      "kind": "missing-interpreter",
      "path": "/usr/bin/start",
      "detail": "#!/bin/sh is removed by the strip (busybox applet link)",
      "missing": "/bin/sh",
      "cause": "removed-by-strip",
      "package": null,
      "needed_by": null,
      "target": null,
      "tree": null
    }
  ],
  "glibc_objects": [],
  "pruned": [],
  "prunable": [],
  "entrypoints_on_path": [],
  "container_signals": [
    "running as PID 1"
  ]
}
"##;

const DRY_RUN: &str = r##"alpine-strip: dry run on /, nothing changed: would remove 3 applet links and 4 files, freeing 115+STRIP bytes
alpine-strip: apk database: would drop busybox 1.36.1-r29, apk-tools 2.14.4-r0
alpine-strip: warning: missing-interpreter /usr/bin/start: #!/bin/sh is removed by the strip (busybox applet link)
alpine-strip: note: 1 scripts apk installed need a shell or env, which a distroless image has not, and cannot run (/usr/bin/app; #!/bin/sh is removed by the strip (busybox applet link))
alpine-strip: note: once stripped, a program that asks by name at run time for the shell /bin/sh (sh -c, system(), dlopen, ctypes) fails, and no audit sees it; keep a package with --prune --keep NAME, name the programs you start with --entrypoint
"##;

const DRY_RUN_JSON: &str = r##"{
  "schema": 1,
  "tool": "alpine-strip VERSION",
  "mode": "dry-run",
  "root": "/",
  "outcome": "planned",
  "exit_code": 0,
  "error": null,
  "removed": {
    "applet_links": [
      "/bin/ls",
      "/bin/sh",
      "/usr/bin/env"
    ],
    "apk": [
      "/sbin/apk"
    ],
    "ssl_client": [],
    "package_files": [
      "/etc/securetty"
    ],
    "pruned_files": [],
    "busybox": [
      "/bin/busybox"
    ],
    "self": [
      "/strip"
    ]
  },
  "bytes_freed": 115+STRIP,
  "skipped": [],
  "apk_db": {
    "status": "planned",
    "dropped": [
      {
        "name": "busybox",
        "version": "1.36.1-r29"
      },
      {
        "name": "apk-tools",
        "version": "2.14.4-r0"
      }
    ],
    "trimmed": [],
    "error": null
  },
  "findings": [
    {
      "severity": "note",
      "kind": "missing-interpreter",
      "path": "/usr/bin/app",
      "detail": "#!/bin/sh is removed by the strip (busybox applet link)",
      "missing": "/bin/sh",
      "cause": "removed-by-strip",
      "package": null,
      "needed_by": null,
      "target": null,
      "tree": null
    },
    {
      "severity": "warning",
      "kind": "missing-interpreter",
      "path": "/usr/bin/start",
      "detail": "#!/bin/sh is removed by the strip (busybox applet link)",
      "missing": "/bin/sh",
      "cause": "removed-by-strip",
      "package": null,
      "needed_by": null,
      "target": null,
      "tree": null
    }
  ],
  "glibc_objects": [],
  "pruned": [],
  "prunable": [],
  "entrypoints_on_path": [],
  "container_signals": []
}
"##;

const CHECK: &str = r##"alpine-strip: error: applet-link: 3 symlinks end at busybox (/bin/ls and more; -v lists them)
alpine-strip: error: busybox /bin/busybox
alpine-strip: error: apk /sbin/apk
alpine-strip: error: shell /bin/sh: -> /bin/busybox
alpine-strip: / is NOT distroless: 6 errors, 0 warnings
"##;

const CHECK_JSON: &str = r##"{
  "schema": 1,
  "tool": "alpine-strip VERSION",
  "mode": "check",
  "root": "/",
  "outcome": "not-distroless",
  "exit_code": 4,
  "error": null,
  "removed": {
    "applet_links": [],
    "apk": [],
    "ssl_client": [],
    "package_files": [],
    "pruned_files": [],
    "busybox": [],
    "self": []
  },
  "bytes_freed": 0,
  "skipped": [],
  "apk_db": null,
  "findings": [
    {
      "severity": "error",
      "kind": "busybox",
      "path": "/bin/busybox",
      "detail": ""
    },
    {
      "severity": "error",
      "kind": "applet-link",
      "path": "/bin/ls",
      "detail": ""
    },
    {
      "severity": "error",
      "kind": "applet-link",
      "path": "/bin/sh",
      "detail": ""
    },
    {
      "severity": "error",
      "kind": "applet-link",
      "path": "/usr/bin/env",
      "detail": ""
    },
    {
      "severity": "error",
      "kind": "apk",
      "path": "/sbin/apk",
      "detail": ""
    },
    {
      "severity": "error",
      "kind": "shell",
      "path": "/bin/sh",
      "detail": "-> /bin/busybox"
    }
  ],
  "glibc_objects": [],
  "pruned": [],
  "prunable": [],
  "entrypoints_on_path": [],
  "container_signals": []
}
"##;
