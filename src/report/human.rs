//! The report for people, on stderr: one summary line, one line per note, `-v` for every path.

use std::fmt::{self, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::apkdb::prune::Pruned;
use crate::cli::Verbosity;
use crate::error::Exit;
use crate::report::{Kind, Outcome, Report};
use crate::stage::finding::FindingKind;
use crate::stage::plan::StepKind;
use crate::stage::start::Text;

/// The report, one line per `\n`; [`Verbosity::Verbose`] lists every path,
/// [`Verbosity::Quiet`] says only a failure (an empty string otherwise).
pub fn render(r: &Report, verbosity: Verbosity) -> String {
    let mut out = String::new();
    if verbosity == Verbosity::Quiet && r.exit() == Exit::Ok {
        return out;
    }
    let _ = lines(&mut out, r, verbosity == Verbosity::Verbose);
    out
}

/// Every line of the report (see [`render`]).
fn lines(out: &mut String, r: &Report, verbose: bool) -> fmt::Result {
    let p = "alpine-strip";
    if let Some(e) = r.error() {
        return writeln!(out, "{p}: error: {}", Esc(e.to_string().as_bytes()));
    }
    if let Outcome::Incomplete(failed) = &r.outcome {
        for e in failed {
            writeln!(out, "{p}: error: {}", Esc(e.to_string().as_bytes()))?;
        }
    }
    let dry = r.kind == Kind::DryRun;
    if verbose {
        let verb = if dry { "would remove" } else { "removed" };
        for s in &r.steps {
            writeln!(out, "{p}: {verb} {} /{}", s.kind.noun(), esc(&s.item.path))?;
        }
        for s in &r.signals {
            writeln!(out, "{p}: container detected: {}", Esc(s.as_bytes()))?;
        }
    }
    let links = r.count(StepKind::AppletLink);
    let files = r.steps.len() - links;
    let root = esc(&r.root);
    match r.kind {
        Kind::Strip if matches!(r.outcome, Outcome::AlreadyStripped) => {
            writeln!(out, "{p}: {root} is already stripped: nothing to remove")?
        }
        Kind::Strip => writeln!(
            out,
            "{p}: stripped {root}: removed {links} applet links and {files} files, freed {} bytes",
            r.bytes_freed
        )?,
        Kind::DryRun => writeln!(
            out,
            "{p}: dry run on {root}, nothing changed: would remove {links} applet links and {files} files, freeing {} bytes",
            r.bytes_freed
        )?,
        Kind::Check => {}
    }
    let (dropped, trimmed) = match &r.db {
        Some(db) => (db.dropped(), db.trimmed()),
        None => (&[][..], &[][..]),
    };
    if !dropped.is_empty() {
        let verb = if dry { "would drop" } else { "dropped" };
        write!(out, "{p}: apk database: {verb}")?;
        for (i, d) in dropped.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(
                out,
                "{sep}{} {}",
                Esc(d.name.as_bytes()),
                Esc(d.version.as_bytes())
            )?;
        }
        out.push('\n');
    }
    if !r.pruned.is_empty() {
        let verb = if dry { "would prune" } else { "pruned" };
        write!(out, "{p}: {verb}")?;
        packages(out, &r.pruned)?;
    }
    if !r.prunable.is_empty() {
        write!(out, "{p}: note: --prune would also remove")?;
        packages(out, &r.prunable)?;
    }
    if !trimmed.is_empty() {
        write!(out, "{p}: apk database:")?;
        for (i, d) in trimmed.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{}", Esc(d.name.as_bytes()))?;
        }
        out.push_str(" kept without the entries of removed files\n");
    }
    for s in &r.skipped {
        writeln!(
            out,
            "{p}: skipped /{}: {}",
            esc(&s.path),
            Esc(s.reason.as_bytes())
        )?;
    }
    let mut links = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::AppletLink);
    if let (Some(first), false) = (links.next(), verbose) {
        writeln!(
            out,
            "{p}: error: applet-link: {} symlinks end at busybox (/{} and more; -v lists them)",
            links.count() + 1,
            esc(&first.path)
        )?;
    }
    for f in &r.findings {
        if f.kind == FindingKind::AppletLink && !verbose {
            continue;
        }
        let level = if f.kind.is_error() {
            "error"
        } else {
            "warning"
        };
        let (sep, detail) = if f.detail.is_empty() {
            ("", "")
        } else {
            (": ", f.detail.as_str())
        };
        writeln!(
            out,
            "{p}: {level}: {} /{}{sep}{detail}",
            f.kind.label(),
            esc(&f.path),
            detail = Esc(detail.as_bytes())
        )?;
    }
    broken(out, r, verbose)?;
    let (errors, warnings) = r.tally();
    if r.kind == Kind::Check {
        let verdict = if errors == 0 {
            "is distroless"
        } else {
            "is NOT distroless"
        };
        writeln!(
            out,
            "{p}: {root} {verdict}: {errors} errors, {warnings} warnings"
        )?;
    } else if matches!(r.outcome, Outcome::Strict) {
        writeln!(
            out,
            "{p}: --strict: {} findings ({errors} errors, {warnings} warnings) fail the run",
            errors + warnings
        )?;
    }
    Ok(())
}

/// One line per program that will not start, naming its first missing piece (`-v`: one line
/// per missing piece): `warning: KIND /PROGRAM[ (-> /TARGET)]: PIECE CAUSE[ (and N more; -v
/// lists them)]`.
fn broken(out: &mut String, r: &Report, verbose: bool) -> fmt::Result {
    for b in &r.broken {
        let shown = if verbose { b.missing.len() } else { 1 };
        for m in b.missing.iter().take(shown) {
            let kind = if verbose { m.piece.kind() } else { b.kind() };
            write!(
                out,
                "alpine-strip: warning: {} /{}",
                kind.label(),
                esc(&b.program)
            )?;
            if let Some(t) = &b.target {
                write!(out, " (-> /{})", esc(t))?;
            }
            let text = Text {
                missing: m,
                strip: r.strips(),
            };
            write!(out, ": {}", Esc(text.to_string().as_bytes()))?;
            let more = b.missing.len() - shown;
            if more > 0 {
                write!(out, " (and {more} more; -v lists them)")?;
            }
            out.push('\n');
        }
    }
    Ok(())
}

/// ` NAME VERSION (N bytes), ...: TOTAL bytes` and the end of the line.
fn packages(out: &mut String, list: &[Pruned]) -> fmt::Result {
    let mut total = 0;
    for (i, p) in list.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let (name, version, bytes) = (&p.package.name, &p.package.version, p.bytes);
        let (name, version) = (Esc(name.as_bytes()), Esc(version.as_bytes()));
        write!(out, "{sep}{name} {version} ({bytes} bytes)")?;
        total += bytes;
    }
    writeln!(out, ": {total} bytes")
}

/// A path as the report shows it, escaped ([`Esc`]).
fn esc(path: &Path) -> Esc<'_> {
    Esc(path.as_os_str().as_bytes())
}

/// Text as `ls -b` shows a name: a backslash, every control character (a newline, a carriage
/// return, an escape sequence) and every byte that is not UTF-8 escaped (`\\`, `\n`, `\t`,
/// `\r`, else `\ooo` in octal, byte by byte), so that no name from the tree can forge a line
/// of the report or move the terminal's cursor. The JSON report has its own escaping.
struct Esc<'a>(&'a [u8]);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\t' => f.write_str("\\t")?,
                    '\r' => f.write_str("\\r")?,
                    c if c.is_control() => {
                        let mut utf8 = [0; 4];
                        for b in c.encode_utf8(&mut utf8).bytes() {
                            write!(f, "\\{b:03o}")?;
                        }
                    }
                    c => f.write_char(c)?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\{b:03o}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_as_ls_b_shows_them() {
        let shown = |b: &[u8]| Esc(b).to_string();
        assert_eq!(shown(b"usr/bin/ls"), "usr/bin/ls");
        assert_eq!(
            shown(b"x\nalpine-strip: error: forged"),
            "x\\nalpine-strip: error: forged"
        );
        assert_eq!(shown(b"a\tb\rc\\d"), "a\\tb\\rc\\\\d");
        assert_eq!(shown(b"\x1b[2J"), "\\033[2J");
        assert_eq!(shown(b"\xff\xfe"), "\\377\\376");
        assert_eq!(shown("caf\u{e9} \u{85}".as_bytes()), "caf\u{e9} \\302\\205");
    }
}
