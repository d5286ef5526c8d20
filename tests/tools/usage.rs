//! Prints the options described from the table `--help` is made from:
//! `cargo run --example usage -- markdown` (README.md's options section, `make readme`) or
//! `-- man` (alpine-strip(1), `make man`).

use std::process::ExitCode;

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("markdown") => print!("{}", alpine_strip::cli::markdown()),
        Some("man") => print!("{}", alpine_strip::cli::man()),
        _ => {
            eprintln!("usage: cargo run --example usage -- markdown|man");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
