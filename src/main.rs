//! The `/strip` binary: parse the command line, run the pipeline, report, exit.

use std::io::Write;
use std::process::ExitCode;

use alpine_strip::app;
use alpine_strip::cli::{self, Command, HELP};
use alpine_strip::error::exit;
use alpine_strip::os::alloc::Bump;
use alpine_strip::report::{Mode, Report, human, json};
use std::path::PathBuf;

#[global_allocator]
static ALLOC: Bump = Bump::new();

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let json_asked = cli::wants_json(&args);
    let cmd = match cli::parse(args) {
        Ok(cmd) => cmd,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "alpine-strip: error: {e}");
            if json_asked {
                let mut report = Report::new(Mode::Strip, PathBuf::from("/"));
                report.fail(&e);
                let _ = std::io::stdout().write_all(json::render(&report).as_bytes());
            }
            return code(e.exit_code());
        }
    };
    let opts = match cmd {
        Command::Help => {
            let _ = std::io::stdout().write_all(HELP.as_bytes());
            return code(exit::OK);
        }
        Command::Version => {
            let _ = writeln!(
                std::io::stdout(),
                "alpine-strip {}",
                env!("CARGO_PKG_VERSION")
            );
            return code(exit::OK);
        }
        Command::Run(opts) => opts,
    };
    let report = app::run(&opts);
    let _ = human::write(
        &mut std::io::stderr().lock(),
        &report,
        opts.verbose,
        opts.quiet,
    );
    if opts.json {
        let _ = std::io::stdout().write_all(json::render(&report).as_bytes());
    }
    code(report.exit_code)
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(1))
}
