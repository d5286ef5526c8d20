//! The report for people, on stderr: one summary line, one line per note, `-v` for every path.

use std::fmt::{self, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::apkdb::prune::Pruned;
use crate::error::Exit;
use crate::format::elf::is_shared_object_name;
use crate::options::Verbosity;
use crate::report::{Action, Outcome, Report, notes as notes_count};
use crate::stage::audit::is_shell_name;
use crate::stage::finding::FindingKind;
use crate::stage::plan::StepKind;
use crate::stage::start::{Broken, Standing, Text};

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
/// the database and `--prune`, where `PATH` has the entrypoints, what stayed in place, the
/// findings, the programs that will not start and the notes, the closing note, the verdict.
fn lines(out: &mut String, r: &Report, verbose: bool) -> fmt::Result {
    if let Some(e) = r.error() {
        return writeln!(out, "{P}: error: {}", text(e));
    }
    if let Outcome::Incomplete(failed) = &r.outcome {
        for e in failed {
            writeln!(out, "{P}: error: {}", text(e))?;
        }
    }
    if verbose {
        paths(out, r)?;
    }
    summary(out, r)?;
    database(out, r)?;
    on_path(out, r)?;
    for s in &r.skipped {
        writeln!(out, "{P}: skipped /{}: {}", esc(&s.path), text(&s.reason))?;
    }
    findings(out, r, verbose)?;
    broken(out, r, verbose)?;
    limits(out, r)?;
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
        let (noun, path) = (s.kind.noun(), esc(&s.item.path));
        writeln!(out, "{P}: {verb} {noun} /{path}")?;
    }
    for s in &r.signals {
        writeln!(out, "{P}: container detected: {}", text(s))?;
    }
    Ok(())
}

/// The summary line of a strip or a dry run: links and files removed, bytes freed.
fn summary(out: &mut String, r: &Report) -> fmt::Result {
    let links = r.count(StepKind::AppletLink);
    let files = r.steps.len() - links;
    let (root, bytes) = (esc(&r.root), r.bytes_freed);
    match r.action {
        Action::Strip if matches!(r.outcome, Outcome::AlreadyStripped) => {
            let me = r.steps.iter().find(|s| s.kind == StepKind::SelfExe);
            match me {
                Some(s) => writeln!(
                    out,
                    "{P}: {root} is already stripped: nothing to remove but this binary, /{}, removed",
                    esc(&s.item.path)
                ),
                None => writeln!(out, "{P}: {root} is already stripped: nothing to remove"),
            }
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
            write!(out, "{sep}{} {}", text(&d.name), text(&d.version))?;
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
            write!(out, "{sep}{}", text(&d.name))?;
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
        let detail = text(detail);
        let (kind, path) = (f.kind.label(), esc(&f.path));
        writeln!(out, "{P}: {level}: {kind} /{path}{sep}{detail}")?;
    }
    Ok(())
}

/// `--check`'s verdict, or `--strict`'s failure.
fn verdict(out: &mut String, r: &Report) -> fmt::Result {
    let (errors, warnings) = r.tally();
    let root = esc(&r.root);
    if r.action == Action::Check {
        let verdict = if errors == 0 {
            "is distroless"
        } else {
            "is NOT distroless"
        };
        let notes = match notes_count(&r.broken) {
            0 => String::new(),
            n => format!(", {}", counted(n, "note")),
        };
        let (errors, warnings) = (counted(errors, "error"), counted(warnings, "warning"));
        writeln!(out, "{P}: {root} {verdict}: {errors}, {warnings}{notes}")
    } else if matches!(r.outcome, Outcome::Strict) {
        let verb = if errors + warnings == 1 {
            "fails"
        } else {
            "fail"
        };
        let findings = counted(errors + warnings, "finding");
        let (errors, warnings) = (counted(errors, "error"), counted(warnings, "warning"));
        writeln!(
            out,
            "{P}: --strict: {findings} ({errors}, {warnings}) {verb} the run"
        )
    } else {
        Ok(())
    }
}

/// `1 warning`, `2 warnings`.
fn counted(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// One line per program that will not start and is a warning, naming its first missing piece
/// (`-v`: one line per missing piece): `warning: KIND /PROGRAM[ (-> /TARGET)]: PIECE
/// CAUSE[ (and N more; -v lists them)]`. The notes after them: `-v` lists each the same way;
/// else one line for the scripts apk installed, one line a library tree.
fn broken(out: &mut String, r: &Report, verbose: bool) -> fmt::Result {
    for b in r
        .broken
        .iter()
        .filter(|b| b.standing.is_warning() || verbose)
    {
        let level = if b.standing.is_warning() {
            "warning"
        } else {
            "note"
        };
        let shown = if verbose { b.missing.len() } else { 1 };
        for m in b.missing.iter().take(shown) {
            let kind = if verbose { m.piece.kind() } else { b.kind() };
            write!(
                out,
                "alpine-strip: {level}: {} /{}",
                kind.label(),
                esc(&b.program)
            )?;
            if let Some(t) = &b.target {
                write!(out, " (-> /{})", esc(t))?;
            }
            let missing = Text {
                missing: m,
                strip: r.strips(),
            };
            write!(out, ": {}", text(missing))?;
            let more = b.missing.len() - shown;
            if more > 0 {
                write!(out, " (and {more} more; -v lists them)")?;
            }
            out.push('\n');
        }
    }
    if !verbose {
        notes(out, r)?;
    }
    if let Some(first) = r.glibc.first() {
        write!(
            out,
            "alpine-strip: note: {} glibc objects (/{}",
            r.glibc.len(),
            esc(first)
        )?;
        match (r.glibc.len(), verbose) {
            (1, _) => {}
            (_, true) => {
                for g in &r.glibc[1..] {
                    write!(out, ", /{}", esc(g))?;
                }
            }
            (n, false) => write!(out, " and {} more; -v lists them", n - 1)?,
        }
        out.push_str("): judged by glibc's search rules, not musl's (a glibc library is passed over when no glibc program of the image starts)\n");
    }
    Ok(())
}

/// The notes, grouped: the scripts apk installed that need a shell (one line), then the
/// scripts of each library tree (one line a tree, with a count and the first one's piece).
fn notes(out: &mut String, r: &Report) -> fmt::Result {
    let packaged: Vec<&Broken> = r
        .broken
        .iter()
        .filter(|b| matches!(b.standing, Standing::Packaged(_)))
        .collect();
    if let Some(first) = packaged.first() {
        write!(
            out,
            "alpine-strip: note: {} scripts apk installed need a shell or env, which a distroless image has not, and cannot run (",
            packaged.len()
        )?;
        for (i, b) in packaged.iter().take(3).enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(out, "{sep}/{}", esc(&b.program))?;
        }
        if packaged.len() > 3 {
            write!(out, " and {} more", packaged.len() - 3)?;
        }
        if let Some(m) = first.missing.first() {
            let missing = Text {
                missing: m,
                strip: r.strips(),
            };
            write!(out, "; {}", text(missing))?;
        }
        out.push_str(")\n");
    }
    library_trees(out, r)
}

/// One note a library tree: its scripts that will not start, counted (`-v` lists them).
fn library_trees(out: &mut String, r: &Report) -> fmt::Result {
    // A script a warning already named through its link (`/usr/local/bin/tool ->
    // /opt/tool/tool.js`) is not named again.
    let warned: Vec<&Path> = r
        .broken
        .iter()
        .filter(|b| b.standing.is_warning())
        .filter_map(|b| b.target.as_deref())
        .collect();
    let mut trees: Vec<(&Path, Vec<&Broken>)> = Vec::new();
    for b in &r.broken {
        let Standing::InTree(tree) = &b.standing else {
            continue;
        };
        if warned.contains(&b.program.as_path()) {
            continue;
        }
        match trees.iter_mut().find(|(t, _)| *t == tree.as_path()) {
            Some((_, list)) => list.push(b),
            None => trees.push((tree.as_path(), vec![b])),
        }
    }
    for (tree, list) in trees {
        let (Some(first), Some(m)) = (list.first(), list.first().and_then(|b| b.missing.first()))
        else {
            continue;
        };
        let text = text(Text {
            missing: m,
            strip: r.strips(),
        });
        let (kind, program) = (first.kind().label(), esc(&first.program));
        if list.len() == 1 {
            writeln!(
                out,
                "alpine-strip: note: {kind} /{program}: {text} (a script of a library tree, /{}: nobody starts it by path)",
                esc(tree)
            )?;
            continue;
        }
        writeln!(
            out,
            "alpine-strip: note: /{}: {} scripts of this library tree will not start (nobody starts them by path; -v lists them), e.g. /{program}: {text}",
            esc(tree),
            list.len()
        )?;
    }
    Ok(())
}

/// Where `PATH` has each `--entrypoint` named without a slash.
fn on_path(out: &mut String, r: &Report) -> fmt::Result {
    for e in &r.on_path {
        writeln!(
            out,
            "alpine-strip: entrypoint {}: /{} (found on PATH)",
            esc(&e.name),
            esc(&e.found)
        )?;
    }
    Ok(())
}

/// The closing note of a strip that removed what a program may still ask for by name at run
/// time, which no audit sees: a shell (`sh -c`, `system()`), or libraries `--prune` removed
/// (`dlopen`, ctypes, koffi). It points at `--keep` and `--entrypoint`.
fn limits(out: &mut String, r: &Report) -> fmt::Result {
    if r.action == Action::Check {
        return Ok(());
    }
    let shells: Vec<&Path> = r
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::AppletLink && is_shell_name(s.item.path.name()))
        .map(|s| s.item.path.as_path())
        .collect();
    // `/bin/sh` first: the name programs ask for.
    let sh = Some(std::ffi::OsStr::new("sh"));
    let first = shells
        .iter()
        .find(|p| p.file_name() == sh)
        .or(shells.first());
    let libraries = r.steps.iter().any(|s| {
        s.kind == StepKind::PrunedFile && s.item.path.file_name().is_some_and(is_shared_object_name)
    });
    if shells.is_empty() && !libraries {
        return Ok(());
    }
    out.push_str("alpine-strip: note: once stripped, a program that asks by name at run time for");
    if let Some(first) = first {
        write!(out, " the shell /{}", esc(first))?;
        if shells.len() > 1 {
            let more = shells.len() - 1;
            let names = if more == 1 { "name" } else { "names" };
            write!(out, " (and {more} more {names} for it)")?;
        }
    }
    if libraries {
        let or = if shells.is_empty() { "" } else { " or" };
        write!(out, "{or} the libraries of")?;
        for (i, p) in r.pruned.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{}", text(&p.package.name))?;
        }
    }
    out.push_str(
        " (sh -c, system(), dlopen, ctypes) fails, and no audit sees it; keep a package with --prune --keep NAME, name the programs you start with --entrypoint\n",
    );
    Ok(())
}

/// ` NAME VERSION (N bytes), ...: TOTAL bytes` and the end of the line.
fn packages(out: &mut String, list: &[Pruned]) -> fmt::Result {
    let mut total = 0;
    for (i, p) in list.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let (name, version, bytes) = (text(&p.package.name), text(&p.package.version), p.bytes);
        write!(out, "{sep}{name} {version} ({bytes} bytes)")?;
        total += bytes;
    }
    writeln!(out, ": {total} bytes")
}

/// Any text as the report shows it, escaped ([`Esc`]).
fn text(t: impl fmt::Display) -> String {
    Esc(t.to_string().as_bytes()).to_string()
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
