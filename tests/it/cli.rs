//! The command line through the binary: every contradictory pair is a usage error (exit 2, one
//! line naming both flags) that changes nothing, short flags combine, and `--help`'s exit table
//! is README.md's, as is its options table.

use std::fs;
use std::path::Path;

use crate::common::*;

/// A small tree with busybox and one applet link (the run must leave it untouched).
fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("bin")).unwrap();
    fs::write(t.path().join("bin/busybox"), b"busybox").unwrap();
    std::os::unix::fs::symlink("/bin/busybox", t.path().join("bin/ls")).unwrap();
    t
}

/// Each contradictory pair, as typed, and the two flags the message must name.
const CONTRADICTIONS: [(&[&str], &str, &str); 16] = [
    (&["--check", "--prune"], "--check", "--prune"),
    (&["--check", "--dry-run"], "--check", "--dry-run"),
    (&["--check", "-n"], "--check", "--dry-run"),
    (&["--check", "--force"], "--check", "--force"),
    (&["--check", "--keep-apk-db"], "--check", "--keep-apk-db"),
    (&["--check", "--no-audit"], "--check", "--no-audit"),
    (&["--check", "--keep", "x"], "--check", "--keep"),
    (&["--keep", "foo"], "--keep", "--prune"),
    (&["--no-audit", "--env", "PATH=/x"], "--env", "--no-audit"),
    (&["--no-audit", "--strict"], "--no-audit", "--strict"),
    (&["--dry-run", "--strict"], "--dry-run", "--strict"),
    (&["--dry-run", "--force"], "--dry-run", "--force"),
    (&["--prune", "--keep-apk-db"], "--prune", "--keep-apk-db"),
    (&["-v", "-q"], "--verbose", "--quiet"),
    (&["-vq"], "--verbose", "--quiet"),
    (&["--quiet", "--verbose"], "--verbose", "--quiet"),
];

#[test]
fn every_contradiction_is_a_usage_error_naming_both_flags_and_changes_nothing() {
    let t = tree();
    let before = snapshot(t.path());
    for (args, a, b) in CONTRADICTIONS {
        let o = run_on(t.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("alpine-strip: error: ") && err.contains(a) && err.contains(b),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
    assert_eq!(snapshot(t.path()), before);
}

#[test]
fn short_flags_combine() {
    let t = tree();
    for args in [&["-nv"][..], &["-vn"], &["-n", "-v"]] {
        let o = run_on(t.path(), args);
        let err = stderr(&o);
        assert!(o.status.success(), "{args:?}: {err}");
        assert!(
            err.contains("would remove applet link /bin/ls"),
            "{args:?}: {err}"
        );
        assert!(err.contains("dry run on"), "{args:?}: {err}");
    }
    let o = run_on(t.path(), &["-nq"]);
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    assert!(
        t.path().join("bin/busybox").exists(),
        "a dry run removes nothing"
    );
}

#[test]
fn help_shows_the_exit_table_that_readme_shows() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    let from_help: Vec<(String, String)> = help
        .split_once("Exit status:\n")
        .unwrap()
        .1
        .lines()
        .map(|l| {
            let (code, meaning) = l.trim_start().split_once("  ").unwrap();
            (code.to_string(), meaning.to_string())
        })
        .collect();
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme
        .split_once("### Exit status\n\n| code | meaning |\n|---|---|\n")
        .unwrap()
        .1;
    let from_readme: Vec<(String, String)> = table
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            (cells[0].trim().to_string(), cells[1].trim().to_string())
        })
        .collect();
    assert_eq!(from_help, from_readme);
    assert_eq!(from_help.len(), alpine_strip::error::Exit::ALL.len());
    assert!(from_help[5].1.contains("nothing was removed"));
    assert!(from_help[6].1.contains("nothing was removed"));
}

/// README.md's options section is what `make readme` generates from the table `--help` is made
/// from (`cargo run --example usage -- markdown`): a flag added or reworded fails here until
/// `make readme` runs.
#[test]
fn readme_shows_the_options_section_the_parser_generates() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split_once("<!-- make options -->\n")
        .and_then(|(_, rest)| rest.split_once("<!-- /make options -->"))
        .unwrap()
        .0;
    assert_eq!(block, alpine_strip::cli::markdown());
    let help = alpine_strip::cli::help();
    for line in help.lines().filter(|l| l.starts_with("  -")) {
        let flag = line.trim().split("  ").next().unwrap();
        assert!(
            block.contains(&format!("`{flag}`"))
                || flag.starts_with("-h")
                || flag.starts_with("-V"),
            "{flag} is not in README's options table"
        );
    }
}

#[test]
fn check_json_says_the_database_was_not_looked_at() {
    let t = tree();
    let o = run_on(t.path(), &["--check", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["apk_db"], serde_json::Value::Null);
    assert_eq!(v["outcome"], "not-distroless");
}

#[test]
fn a_usage_error_with_json_is_a_json_document_too() {
    let o = run(&["--json", "--check", "--prune"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["outcome"].as_str(), v["exit_code"].as_i64()),
        (Some("usage"), Some(2))
    );
    assert_eq!(v["apk_db"], serde_json::Value::Null);
}
