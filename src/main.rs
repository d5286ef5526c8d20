//! The `/strip` binary: parse the command line, run the pipeline, report, exit.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use alpine_strip::cli::{self, Command};
use alpine_strip::error::Exit;
use alpine_strip::report::{Action, Report, human, json};
use alpine_strip::{ALLOCATOR, Allocator, app};

/// musl's `malloc`, as std's own allocator, except that a failed allocation ends the run with
/// one line and exit status 1, the files the run made taken back, instead of a silent abort.
#[global_allocator]
static GLOBAL: Allocator = ALLOCATOR;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let json_asked = cli::wants_json(&args);
    let cmd = match cli::parse(args) {
        Ok(cmd) => cmd,
        Err(e) => {
            let line = format!("alpine-strip: error: {e}\n");
            let _ = to(Stream::Err, line.as_bytes());
            let exit = e.exit();
            if json_asked {
                let report = Report::failed(Action::Strip, PathBuf::from("/"), e);
                let _ = to(Stream::Out, json::render(&report).as_bytes());
            }
            return code(exit);
        }
    };
    let opts = match cmd {
        Command::Help => {
            let _ = to(Stream::Out, cli::help().as_bytes());
            return code(Exit::Ok);
        }
        Command::Version => {
            let version = concat!("alpine-strip ", env!("CARGO_PKG_VERSION"), "\n");
            let _ = to(Stream::Out, version.as_bytes());
            return code(Exit::Ok);
        }
        Command::Run(opts) => opts,
    };
    let (report, held) = app::run(&opts);
    let _ = to(
        Stream::Err,
        human::render(&report, opts.verbosity).as_bytes(),
    );
    if opts.json {
        let _ = to(Stream::Out, json::render(&report).as_bytes());
    }
    // A signal held while the tree changed takes effect now: the tree whole, the report out.
    drop(held);
    code(report.exit())
}

fn code(e: Exit) -> ExitCode {
    ExitCode::from(e.code())
}

/// A standard stream the tool writes to: the report and errors to standard error, `--json`,
/// `--help` and `--version` to standard output.
#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Writes all of `bytes` to `stream`, flushed. Errors: `write`'s (`EBADF` when the stream is
/// closed, `EPIPE`).
fn to(stream: Stream, bytes: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
        Stream::Err => io::stderr().write_all(bytes),
    }
}
