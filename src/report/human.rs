//! The report for people, on stderr: one summary line, one line per note, `-v` for every path.

use std::io::Write;

use crate::apkdb::prune::Pruned;
use crate::cli::Verbosity;
use crate::error::Exit;
use crate::report::show;
use crate::report::{Kind, Outcome, Report};
use crate::stage::audit::FindingKind;
use crate::stage::plan::StepKind;
use crate::stage::start::Text;

/// Writes the report; [`Verbosity::Verbose`] lists every path, [`Verbosity::Quiet`] prints
/// only a failure.
pub fn write(out: &mut impl Write, r: &Report, verbosity: Verbosity) -> std::io::Result<()> {
    if verbosity == Verbosity::Quiet && r.exit() == Exit::Ok {
        return Ok(());
    }
    let verbose = verbosity == Verbosity::Verbose;
    let p = "alpine-strip";
    if let Some(e) = r.error() {
        return writeln!(out, "{p}: error: {e}");
    }
    if verbose {
        let verb = if r.kind == Kind::DryRun {
            "would remove"
        } else {
            "removed"
        };
        for s in &r.steps {
            writeln!(out, "{p}: {verb} {} {}", s.kind.noun(), show(&s.item.path))?;
        }
        for s in &r.signals {
            writeln!(out, "{p}: container detected: {s}")?;
        }
    }
    let links = r.count(StepKind::AppletLink);
    let files = r.steps.len() - links;
    let root = r.root.display();
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
        let names: Vec<String> = dropped
            .iter()
            .map(|d| format!("{} {}", d.name, d.version))
            .collect();
        let verb = if r.kind == Kind::DryRun {
            "would drop"
        } else {
            "dropped"
        };
        writeln!(out, "{p}: apk database: {verb} {}", names.join(", "))?;
    }
    if !r.pruned.is_empty() {
        let verb = if r.kind == Kind::DryRun {
            "would prune"
        } else {
            "pruned"
        };
        write!(out, "{p}: {verb}")?;
        packages(out, &r.pruned)?;
    }
    if !r.prunable.is_empty() {
        write!(out, "{p}: note: --prune would also remove")?;
        packages(out, &r.prunable)?;
    }
    if !trimmed.is_empty() {
        let names: Vec<&str> = trimmed.iter().map(|d| d.name.as_str()).collect();
        writeln!(
            out,
            "{p}: apk database: {} kept without the entries of removed files",
            names.join(", ")
        )?;
    }
    for s in &r.skipped {
        writeln!(out, "{p}: skipped {}: {}", show(&s.path), s.reason)?;
    }
    let links: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::AppletLink)
        .collect();
    if let (Some(first), false) = (links.first(), verbose) {
        writeln!(
            out,
            "{p}: error: applet-link: {} symlinks end at busybox ({} and more; -v lists them)",
            links.len(),
            show(&first.path)
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
        let detail = if f.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", f.detail)
        };
        writeln!(
            out,
            "{p}: {level}: {} {}{detail}",
            f.kind.label(),
            show(&f.path)
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
fn broken(out: &mut impl Write, r: &Report, verbose: bool) -> std::io::Result<()> {
    let p = "alpine-strip";
    for b in &r.broken {
        let mut program = show(&b.program);
        if let Some(t) = &b.target {
            program.push_str(&format!(" (-> {})", show(t)));
        }
        let shown = if verbose { b.missing.len() } else { 1 };
        for m in b.missing.iter().take(shown) {
            let kind = if verbose { m.piece.kind() } else { b.kind() };
            let text = Text {
                missing: m,
                strip: r.strips(),
            };
            let mut line = format!("{p}: warning: {} {program}: {text}", kind.label());
            let more = b.missing.len() - shown;
            if more > 0 {
                line.push_str(&format!(" (and {more} more; -v lists them)"));
            }
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// ` NAME VERSION (N bytes), ...: TOTAL bytes` and the end of the line.
fn packages(out: &mut impl Write, list: &[Pruned]) -> std::io::Result<()> {
    let mut total = 0;
    for (i, p) in list.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let (name, version, bytes) = (&p.package.name, &p.package.version, p.bytes);
        write!(out, "{sep}{name} {version} ({bytes} bytes)")?;
        total += bytes;
    }
    writeln!(out, ": {total} bytes")
}
