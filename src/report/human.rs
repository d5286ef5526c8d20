//! The report for people, on stderr: one summary line, one line per note, `-v` for every path.

use std::fmt::{self, Write as _};

use crate::apkdb::prune::Pruned;
use crate::error::Exit;
use crate::options::Verbosity;
use crate::report::{Action, Outcome, Report};
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

/// The prefix of every line.
const P: &str = "alpine-strip";

/// Every line of the report (see [`render`]), in this order: every path (`-v`), the summary,
/// the database and `--prune`, what stayed in place, the findings, the verdict.
fn lines(out: &mut String, r: &Report, verbose: bool) -> fmt::Result {
    if let Some(e) = r.error() {
        return writeln!(out, "{P}: error: {e}");
    }
    if verbose {
        paths(out, r)?;
    }
    summary(out, r)?;
    database(out, r)?;
    for s in &r.skipped {
        writeln!(out, "{P}: skipped /{}: {}", s.path.display(), s.reason)?;
    }
    findings(out, r, verbose)?;
    broken(out, r, verbose)?;
    verdict(out, r)
}

/// `-v`: every removal (planned or made) and every container signal.
fn paths(out: &mut String, r: &Report) -> fmt::Result {
    let verb = if r.action == Action::DryRun {
        "would remove"
    } else {
        "removed"
    };
    for s in &r.steps {
        let (noun, path) = (s.kind.noun(), s.item.path.display());
        writeln!(out, "{P}: {verb} {noun} /{path}")?;
    }
    for s in &r.signals {
        writeln!(out, "{P}: container detected: {s}")?;
    }
    Ok(())
}

/// The summary line of a strip or a dry run: links and files removed, bytes freed.
fn summary(out: &mut String, r: &Report) -> fmt::Result {
    let links = r.count(StepKind::AppletLink);
    let files = r.steps.len() - links;
    let (root, bytes) = (r.root.display(), r.bytes_freed);
    match r.action {
        Action::Strip if matches!(r.outcome, Outcome::AlreadyStripped) => {
            writeln!(out, "{P}: {root} is already stripped: nothing to remove")
        }
        Action::Strip => writeln!(
            out,
            "{P}: stripped {root}: removed {links} applet links and {files} files, freed {bytes} bytes"
        ),
        Action::DryRun => writeln!(
            out,
            "{P}: dry run on {root}, nothing changed: would remove {links} applet links and {files} files, freeing {bytes} bytes"
        ),
        Action::Check => Ok(()),
    }
}

/// The packages dropped from the database, pruned, prunable (the note) and trimmed.
fn database(out: &mut String, r: &Report) -> fmt::Result {
    let dry = r.action == Action::DryRun;
    let (dropped, trimmed) = match &r.db {
        Some(db) => (db.dropped(), db.trimmed()),
        None => (&[][..], &[][..]),
    };
    if !dropped.is_empty() {
        let verb = if dry { "would drop" } else { "dropped" };
        write!(out, "{P}: apk database: {verb}")?;
        for (i, d) in dropped.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{} {}", d.name, d.version)?;
        }
        out.push('\n');
    }
    if !r.pruned.is_empty() {
        let verb = if dry { "would prune" } else { "pruned" };
        write!(out, "{P}: {verb}")?;
        packages(out, &r.pruned)?;
    }
    if !r.prunable.is_empty() {
        write!(out, "{P}: note: --prune would also remove")?;
        packages(out, &r.prunable)?;
    }
    if !trimmed.is_empty() {
        write!(out, "{P}: apk database:")?;
        for (i, d) in trimmed.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{}", d.name)?;
        }
        out.push_str(" kept without the entries of removed files\n");
    }
    Ok(())
}

/// One line per finding; applet links in one line unless `-v`.
fn findings(out: &mut String, r: &Report, verbose: bool) -> fmt::Result {
    let mut links = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::AppletLink);
    if let (Some(first), false) = (links.next(), verbose) {
        writeln!(
            out,
            "{P}: error: applet-link: {} symlinks end at busybox (/{} and more; -v lists them)",
            links.count() + 1,
            first.path.display()
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
        let (kind, path) = (f.kind.label(), f.path.display());
        writeln!(out, "{P}: {level}: {kind} /{path}{sep}{detail}")?;
    }
    Ok(())
}

/// `--check`'s verdict, or `--strict`'s failure.
fn verdict(out: &mut String, r: &Report) -> fmt::Result {
    let (errors, warnings) = r.tally();
    let root = r.root.display();
    if r.action == Action::Check {
        let verdict = if errors == 0 {
            "is distroless"
        } else {
            "is NOT distroless"
        };
        writeln!(
            out,
            "{P}: {root} {verdict}: {errors} errors, {warnings} warnings"
        )
    } else if matches!(r.outcome, Outcome::Strict) {
        writeln!(
            out,
            "{P}: --strict: {} findings ({errors} errors, {warnings} warnings) fail the run",
            errors + warnings
        )
    } else {
        Ok(())
    }
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
                "{P}: warning: {} /{}",
                kind.label(),
                b.program.display()
            )?;
            if let Some(t) = &b.target {
                write!(out, " (-> /{})", t.display())?;
            }
            let text = Text {
                missing: m,
                strip: r.strips(),
            };
            write!(out, ": {text}")?;
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
        write!(out, "{sep}{name} {version} ({bytes} bytes)")?;
        total += bytes;
    }
    writeln!(out, ": {total} bytes")
}
