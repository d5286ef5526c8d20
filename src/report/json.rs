//! The report as one JSON document (`--json`): the schema, `"schema": 1`.
//!
//! # Schema
//!
//! `--json` prints one document on stdout (`"schema": 1`; stable: fields are only ever added).
//! Annotated:
//!
//! ```text
//! {
//!   "schema": 1,
//!   "tool": "alpine-strip 0.1.0",
//!   "mode": "strip",                      // "strip" | "dry-run" | "check"
//!   "root": "/",
//!   "outcome": "stripped",                // stripped | already-stripped | planned | distroless |
//!                                         // not-distroless | strict | failed | refused | usage |
//!                                         // will-not-start (an --entrypoint would not start or
//!                                         // is not on PATH: nothing removed) |
//!                                         // interrupted (a signal, nothing removed)
//!   "exit_code": 0,
//!   "error": null,                        // the one-line error, when the run failed
//!   "removed": {                          // planned, in a dry run
//!     "applet_links": ["/bin/arch", "..."], "apk": ["/sbin/apk", "/lib/libapk.so.2.14.0"],
//!     "ssl_client": ["/usr/bin/ssl_client"], "package_files": ["/etc/securetty", "..."],
//!     "busybox": ["/bin/busybox"], "pruned_files": [], "self": ["/strip"]
//!   },
//!   "bytes_freed": 1213753,
//!   "skipped": [{"path": "/strip", "reason": "left in place: it is mounted in (RUN --mount), ..."}],
//!   "apk_db": {"status": "updated",       // absent | kept | malformed | updated | unchanged | planned;
//!                                         // the whole of apk_db is null where the run did not
//!                                         // look at it (--check, a refusal, bad usage)
//!              "dropped": [{"name": "busybox", "version": "1.36.1-r29"}],
//!              "trimmed": [],             // packages kept without the entries of removed files
//!              "error": null},
//!   "findings": [{"severity": "note",     // "error" | "warning" | "note" (below)
//!                 "kind": "missing-interpreter",
//!                 "path": "/sbin/ldconfig", "detail": "#!/bin/sh is removed by the strip (busybox-binsh)",
//!                 // missing-interpreter and missing-library only, one finding per missing piece:
//!                 "missing": "/bin/sh",           // interpreter path, env's NAME, or soname
//!                 "cause": "removed-by-strip",    // removed-by-strip | already-missing
//!                 "package": "busybox-binsh",     // what the strip removed it with, or null
//!                 "needed_by": null,              // a library: the object that needs it
//!                 "target": null,                 // a program that is a link: where it ends
//!                 "tree": null}],                 // a script that is a note as part of a library
//!                                                 // tree: the tree ("/usr/lib/python3.12")
//!   "glibc_objects": ["/opt/java/openjdk/bin/java", "..."],
//!                                         // glibc programs and libraries met: judged by glibc's
//!                                         // search rules (what they lack is in findings); a
//!                                         // glibc library no program loads is listed but passed
//!                                         // over when no glibc program of the image starts
//!   "pruned": [],                         // --prune: [{"name", "version", "bytes"}]
//!   "prunable": [{"name": "libcrypto3", "version": "3.3.2-r0", "bytes": 4702192}, "..."],
//!                                         // without --prune: what it would remove (a note)
//!   "entrypoints_on_path": [{"name": "docker-entrypoint.sh",
//!                            "path": "/usr/local/bin/docker-entrypoint.sh"}],
//!                                         // --entrypoint NAME: where PATH has it
//!   "container_signals": ["running as PID 1"]
//! }
//! ```
//!
//! Paths are JSON strings; a path that is not valid UTF-8 becomes `{"bytes": "<base64>"}`, so the
//! document is always valid JSON and no byte is lost. Finding kinds: `busybox`, `applet-link`,
//! `apk`, `shell` (errors); `dangling-link`, `missing-interpreter`, `missing-library`, `setuid`,
//! `world-writable`, `stale-apk-record`, `unreadable-apk-db` (warnings).
//!
//! `severity` is what the report for people says ("Three severities" in the docs of the
//! crate's `stage` module): `error` (not distroless), `warning` (to act on: `--strict` fails on both),
//! `note` (never fails a run). A `missing-interpreter` finding is a note for a script apk
//! installed whose shell or `env` a distroless image has not (`/sbin/ldconfig`,
//! `/usr/bin/ldd`), and for a script inside a library tree, which has `tree`; the report for
//! people groups those one line a tree, the JSON document keeps every one. `glibc_objects` and
//! `entrypoints_on_path` are empty lists when there is none.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::apkdb::DbState;
use crate::report::{Outcome, Report};
use crate::stage::plan::StepKind;
use crate::stage::start::locate::Cause;
use crate::stage::start::{Piece, Standing, Text};

/// The report as a JSON document, with a trailing newline.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(4096);
    head(&mut o, r);
    removed(&mut o, r);
    o.push_str(",\"skipped\":");
    list(&mut o, &r.skipped, |o, s| {
        o.push_str("{\"path\":");
        path(o, &s.path);
        o.push_str(",\"reason\":");
        string(o, &s.reason);
        o.push('}');
    });
    o.push_str(",\"apk_db\":");
    match &r.db {
        Some(db) => apk_db(&mut o, db),
        None => o.push_str("null"),
    }
    o.push_str(",\"findings\":");
    list(&mut o, &r.findings, |o, f| {
        let severity = if f.kind.is_error() {
            "error"
        } else {
            "warning"
        };
        finding(o, severity, f.kind.label(), &f.path, &f.detail);
        o.push('}');
    });
    broken(&mut o, r);
    o.push_str(",\"glibc_objects\":[");
    for (i, g) in r.glibc.iter().enumerate() {
        comma(&mut o, i);
        path(&mut o, g);
    }
    o.push(']');
    for (key, packages) in [("pruned", &r.pruned), ("prunable", &r.prunable)] {
        let _ = write!(o, ",\"{key}\":");
        list(&mut o, packages, |o, p| {
            package(o, &p.package);
            o.pop();
            let _ = write!(o, ",\"bytes\":{}}}", p.bytes);
        });
    }
    o.push_str(",\"entrypoints_on_path\":[");
    for (i, e) in r.on_path.iter().enumerate() {
        comma(&mut o, i);
        o.push_str("{\"name\":");
        raw(&mut o, e.name.as_os_str().as_bytes());
        o.push_str(",\"path\":");
        path(&mut o, &e.found);
        o.push('}');
    }
    o.push(']');
    o.push_str(",\"container_signals\":");
    list(&mut o, &r.signals, |o, s| string(o, s));
    o.push_str("}\n");
    o
}

/// `{"schema":1,"tool":..,"mode":..,"root":..,"outcome":..,"exit_code":..,"error":..`.
fn head(o: &mut String, r: &Report) {
    o.push('{');
    o.push_str("\"schema\":1,\"tool\":");
    string(o, concat!("alpine-strip ", env!("CARGO_PKG_VERSION")));
    o.push_str(",\"mode\":");
    string(o, r.action.label());
    o.push_str(",\"root\":");
    host_path(o, &r.root);
    o.push_str(",\"outcome\":");
    string(o, r.outcome.label());
    let _ = write!(o, ",\"exit_code\":{}", r.exit().code());
    o.push_str(",\"error\":");
    match (r.error(), &r.outcome) {
        (Some(e), _) => string(o, &e.to_string()),
        (None, Outcome::Incomplete(failed)) => {
            let lines: Vec<String> = failed.iter().map(|e| e.to_string()).collect();
            string(o, &lines.join("\n"));
        }
        (None, _) => o.push_str("null"),
    }
}

/// `,"removed":{"applet_links":[..],..},"bytes_freed":N`: the removals by kind.
fn removed(o: &mut String, r: &Report) {
    o.push_str(",\"removed\":{");
    for (i, kind) in StepKind::ALL.iter().enumerate() {
        comma(o, i);
        string(o, kind.label());
        o.push(':');
        let of_kind = r.steps.iter().filter(|s| s.kind == *kind);
        list(o, of_kind, |o, s| path(o, &s.item.path));
    }
    let _ = write!(o, "}},\"bytes_freed\":{}", r.bytes_freed);
}

/// `[a,b,..]`, each item written by `each`.
fn list<T>(
    o: &mut String,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut String, T),
) {
    o.push('[');
    for (i, item) in items.into_iter().enumerate() {
        comma(o, i);
        each(o, item);
    }
    o.push(']');
}

/// `{"status":..,"dropped":[..],"trimmed":[..],"error":..}`.
fn apk_db(o: &mut String, db: &DbState) {
    o.push_str("{\"status\":");
    string(o, db.label());
    for (key, packages) in [("dropped", db.dropped()), ("trimmed", db.trimmed())] {
        let _ = write!(o, ",\"{key}\":[");
        for (i, p) in packages.iter().enumerate() {
            comma(o, i);
            package(o, p);
        }
        o.push(']');
    }
    o.push_str(",\"error\":");
    match db {
        DbState::Malformed(m) => string(o, &m.to_string()),
        _ => o.push_str("null"),
    }
    o.push('}');
}

/// Each missing piece of each program that will not start, appended to the findings list just
/// written: the keys of every finding, then `missing` (the piece: interpreter path, command
/// name or soname), `cause` (`removed-by-strip` or `already-missing`), `package` (the package
/// the strip removed it with, or null), `needed_by` (a library's needer, or null), `target`
/// (where a program that is a link ends, or null) and `tree` (the library tree of a script
/// that is a note for it, or null). `severity` is `warning`, or `note` for a script apk
/// installed that needs a shell, or one inside a library tree.
fn broken(o: &mut String, r: &Report) {
    let mut first = r.findings.is_empty();
    o.pop();
    for b in &r.broken {
        for m in &b.missing {
            if !first {
                o.push(',');
            }
            first = false;
            let text = Text {
                missing: m,
                strip: r.strips(),
            };
            let detail = text.to_string();
            let severity = if b.standing.is_warning() {
                "warning"
            } else {
                "note"
            };
            finding(o, severity, m.piece.kind().label(), &b.program, &detail);
            o.push_str(",\"missing\":");
            let (missing, needed_by) = match &m.piece {
                Piece::Interpreter(p) | Piece::Loader(p) => (p, None),
                Piece::Command { name, .. } => (name, None),
                Piece::Library { soname, needed_by } => (soname, Some(needed_by)),
            };
            raw(o, missing.as_os_str().as_bytes());
            let (cause, package) = match &m.cause {
                Cause::Removed(r) => ("removed-by-strip", r.package.as_deref()),
                Cause::AlreadyMissing => ("already-missing", None),
            };
            o.push_str(",\"cause\":");
            string(o, cause);
            o.push_str(",\"package\":");
            match package {
                Some(p) => string(o, p),
                None => o.push_str("null"),
            }
            let tree = match &b.standing {
                Standing::InTree(t) => Some(t),
                _ => None,
            };
            let keys = [
                ("needed_by", needed_by),
                ("target", b.target.as_ref()),
                ("tree", tree),
            ];
            for (key, p) in keys {
                let _ = write!(o, ",\"{key}\":");
                match p {
                    Some(p) => path(o, p),
                    None => o.push_str("null"),
                }
            }
            o.push('}');
        }
    }
    o.push(']');
}

/// The `,` before every item of a list but the first (`i` counts from 0).
fn comma(o: &mut String, i: usize) {
    if i > 0 {
        o.push(',');
    }
}

/// The keys every finding has, without the closing `}`.
fn finding(o: &mut String, severity: &str, kind: &str, at: &Path, detail: &str) {
    o.push_str("{\"severity\":");
    string(o, severity);
    o.push_str(",\"kind\":");
    string(o, kind);
    o.push_str(",\"path\":");
    path(o, at);
    o.push_str(",\"detail\":");
    string(o, detail);
}

/// A path inside the root, shown with its leading slash.
fn path(o: &mut String, rel: &Path) {
    let mut bytes = vec![b'/'];
    bytes.extend_from_slice(rel.as_os_str().as_bytes());
    raw(o, &bytes);
}

/// A host path, as it is.
fn host_path(o: &mut String, p: &Path) {
    raw(o, p.as_os_str().as_bytes());
}

fn raw(o: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => string(o, s),
        Err(_) => {
            o.push_str("{\"bytes\":\"");
            base64(o, bytes);
            o.push_str("\"}");
        }
    }
}

/// A JSON string literal.
pub fn string(o: &mut String, s: &str) {
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

fn base64(o: &mut String, bytes: &[u8]) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                o.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
}

/// A package as `{"name":..,"version":..}`.
fn package(o: &mut String, p: &crate::apkdb::Package) {
    o.push_str("{\"name\":");
    string(o, &p.name);
    o.push_str(",\"version\":");
    string(o, &p.version);
    o.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn odd_bytes_in_paths_still_give_valid_json() {
        let mut o = String::new();
        path(&mut o, Path::new("usr/bin/a\"b\nc\\d\u{1}"));
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(v, "/usr/bin/a\"b\nc\\d\u{1}");
        let mut o = String::new();
        path(&mut o, Path::new(OsStr::from_bytes(b"bin/\xff\xfeq")));
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(v["bytes"], "L2Jpbi///nE=");
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\xfd", "//79"),
        ] {
            let mut o = String::new();
            base64(&mut o, input);
            assert_eq!(o, want);
        }
    }
}
