//! `segcore`, the command line: import data into an audience directory, define segments, ask
//! who is in them, export consent-safe lists, watch membership change, and a guided demo.
//!
//! Exit codes: 0 ok, 1 failed (a bad file, a bad predicate, a locked directory), 2 bad usage.

mod args;
mod commands;
mod output;
mod segments_file;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's convention); `--help` and `--version` with 0.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(a) => commands::import::run(&cli.dir, a),
        Command::Define(a) => commands::define::run(&cli.dir, a),
        Command::Count(a) => commands::query::count(&cli.dir, a),
        Command::Members(a) => commands::query::members(&cli.dir, a),
        Command::Sample(a) => commands::query::sample(&cli.dir, a),
        Command::Export(a) => commands::query::export(&cli.dir, a),
        Command::Sizes(a) => commands::inspect::sizes(&cli.dir, a),
        Command::Why(a) => commands::inspect::why(&cli.dir, a),
        Command::Advise(a) => commands::inspect::advise(&cli.dir, a),
        Command::Watch(a) => commands::watch::run(&cli.dir, a),
        Command::Demo(a) => commands::demo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
