//! The options described, from the one table the parser reads ([`super::ROWS`], with
//! [`super::EXCLUDE`] and [`Exit::ALL`]): `--help`, README.md's options table
//! ([`markdown`], put there by `make readme`) and the man page ([`man`], `make man`). Only
//! `--help` is in the binary; the other two are for `cargo run --example usage`.

use std::fmt::Write as _;

use super::{EXCLUDE, ROWS, Row, long};
use crate::error::Exit;

/// What the tool does, in one line.
const SUMMARY: &str =
    "make an Alpine root distroless (no busybox, no shell, no apk), then remove itself";

/// The usage errors that are not a pair of [`EXCLUDE`] (the parser's `into_options` checks them).
const ALSO_USAGE: [&str; 2] = [
    "--keep without --prune",
    "--env with --no-audit and no --entrypoint",
];

/// The `--help` text: the options' table, then [`Exit`]'s.
pub fn help() -> String {
    let mut o = format!(
        "alpine-strip: {SUMMARY}.\n\n\
         Usage: /strip [OPTIONS]          (as the last RUN step of an image build: RUN [\"/strip\"])\n\n\
         Options:\n"
    );
    for r in &ROWS {
        let start = o.len();
        o.push_str(&spelling(r));
        option_help(&mut o, start, r.help);
    }
    for (left, text) in [
        ("  -h, --help", "print this help"),
        ("  -V, --version", "print the version"),
    ] {
        let start = o.len();
        o.push_str(left);
        option_help(&mut o, start, text);
    }
    o.push_str("\nExit status:\n");
    for e in Exit::ALL {
        let _ = writeln!(o, "  {}  {}", e.code(), e.meaning());
    }
    o
}

/// `  -n, --dry-run` or `  --root DIR`.
fn spelling(r: &Row) -> String {
    let mut o = String::from("  ");
    if let Some(c) = r.short {
        let _ = write!(o, "-{c}, ");
    }
    let _ = write!(o, "--{}", r.long);
    if let Some(v) = r.value {
        let _ = write!(o, " {v}");
    }
    o
}

/// Pads the option that starts at `start` of `o` to its column, then writes `text` (a further
/// line of it goes under the first).
fn option_help(o: &mut String, start: usize, text: &str) {
    const COLUMN: usize = 2 + 18 + 1;
    let mut lines = text.lines();
    let width = o.len() - start;
    let pad = COLUMN.saturating_sub(width).max(1);
    let _ = writeln!(o, "{:pad$}{}", "", lines.next().unwrap_or(""));
    for more in lines {
        let _ = writeln!(o, "{:COLUMN$}{more}", "");
    }
}

/// A row's help as one line.
fn one_line(help: &str) -> String {
    help.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// The contradictory pairs, grouped by their first flag (`` `--a` with `--b` or `--c` ``),
/// then [`ALSO_USAGE`]; `code` marks up a flag.
fn usage_errors(code: impl Fn(&str) -> String) -> Vec<String> {
    let flag = |f| code(&format!("--{}", long(f)));
    let mut firsts = Vec::new();
    for (a, _, _) in EXCLUDE {
        if !firsts.contains(&a) {
            firsts.push(a);
        }
    }
    let pairs = firsts.into_iter().map(|a| {
        let others: Vec<String> = EXCLUDE
            .iter()
            .filter(|e| e.0 == a)
            .map(|e| flag(e.1))
            .collect();
        format!("{} with {}", flag(a), others.join(" or "))
    });
    let also = ALSO_USAGE.iter().map(|s| {
        s.split(' ')
            .map(|w| {
                if w.starts_with("--") {
                    code(w)
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    pairs.chain(also).collect()
}

/// README.md's options section: the options' table, the usage errors and the exit table.
pub fn markdown() -> String {
    let mut o = String::from("| option | meaning |\n|---|---|\n");
    for r in &ROWS {
        let _ = writeln!(o, "| `{}` | {} |", spelling(r).trim(), one_line(r.help));
    }
    o.push_str("| `-h`, `--help` / `-V`, `--version` | print the help / the version |\n\n");
    o.push_str(
        "Short flags combine (`-nv`). Options of which one makes the other meaningless are usage \
         errors (exit 2, one line naming both), never ignored: ",
    );
    o.push_str(&usage_errors(|s| format!("`{s}`")).join("; "));
    o.push_str(".\n\n### Exit status\n\n| code | meaning |\n|---|---|\n");
    for e in Exit::ALL {
        let _ = writeln!(o, "| {} | {} |", e.code(), e.meaning());
    }
    o
}

/// Text for roff: `-` and `\` escaped, `` `code` `` in bold.
fn roff(text: &str) -> String {
    let mut o = String::new();
    let mut bold = false;
    for c in text.chars() {
        match c {
            '\\' => o.push_str("\\e"),
            '-' => o.push_str("\\-"),
            '`' => {
                o.push_str(if bold { "\\fR" } else { "\\fB" });
                bold = !bold;
            }
            _ => o.push(c),
        }
    }
    if o.starts_with(['.', '\'']) {
        o.insert_str(0, "\\&");
    }
    o
}

/// The man page, alpine-strip(1), in roff.
pub fn man() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut o = format!(
        ".TH ALPINE\\-STRIP 1 \"\" \"alpine\\-strip {version}\" \"User Commands\"\n\
         .SH NAME\nalpine\\-strip \\- {}\n\
         .SH SYNOPSIS\n.B /strip\n[\\fIOPTIONS\\fR]\n\
         .SH DESCRIPTION\n{}\n",
        roff(SUMMARY),
        roff(
            "The last RUN step of an Alpine-based image build: `RUN [\"/strip\"]`, the tool \
             copied in with `COPY --from=TOOL /strip /strip` or bind-mounted with \
             `RUN --mount=type=bind,from=TOOL,source=/strip,target=/strip`. It removes \
             busybox, its applet links, apk and what only they own, keeps the apk database \
             true, audits the result and deletes itself. It strips / only where it sees a \
             container build (exit 3 otherwise)."
        ),
    );
    o.push_str(".SH OPTIONS\n");
    for r in &ROWS {
        let _ = writeln!(
            o,
            ".TP\n.B {}\n{}",
            roff(spelling(r).trim()),
            roff(&one_line(r.help))
        );
    }
    o.push_str(".TP\n.B \\-h, \\-\\-help\nprint the help\n.TP\n.B \\-V, \\-\\-version\nprint the version\n");
    let errors = usage_errors(|s| format!("`{s}`")).join("; ");
    let _ = writeln!(
        o,
        ".PP\n{}.",
        roff(&format!(
            "Short flags combine (`-nv`). Usage errors (exit 2): {errors}"
        ))
    );
    o.push_str(".SH EXIT STATUS\n");
    for e in Exit::ALL {
        let _ = writeln!(o, ".TP\n.B {}\n{}", e.code(), roff(e.meaning()));
    }
    o.push_str(".SH SEE ALSO\nREADME.md of alpine\\-strip: the Dockerfile forms, the guard, \\fB\\-\\-prune\\fR, the JSON report.\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_and_the_markdown_name_every_option_and_every_exit_status() {
        let (man, md) = (man(), markdown());
        assert!(man.starts_with(".TH ALPINE\\-STRIP 1 "));
        for r in &ROWS {
            assert!(
                man.contains(&format!(".B {}", roff(spelling(r).trim()))),
                "{}",
                r.long
            );
            assert!(
                md.contains(&format!("| `{}` |", spelling(r).trim())),
                "{}",
                r.long
            );
        }
        for e in Exit::ALL {
            assert!(man.contains(&format!(".B {}\n{}\n", e.code(), roff(e.meaning()))));
            assert!(md.contains(&format!("| {} | {} |\n", e.code(), e.meaning())));
        }
        // Every pair of EXCLUDE is named, in both.
        for (a, b, _) in EXCLUDE {
            let (a, b) = (long(a), long(b));
            assert!(md.contains(&format!("`--{a}` with ")), "{a}");
            assert!(md.contains(&format!("`--{b}`")), "{b}");
            assert!(man.contains(&roff(&format!("`--{a}` with "))), "{a}");
        }
        // roff: no text line starts a request, `-` is escaped, code is bold.
        assert!(man.lines().all(|l| !l.starts_with('\'')));
        assert_eq!(roff("`--x` a-b"), "\\fB\\-\\-x\\fR a\\-b");
        assert_eq!(roff(".x"), "\\&.x");
    }
}
