//! The `taxiid` binary: reads the configuration, opens the store, serves.

mod admin;
mod cli;
mod config;
mod config_v1;
mod copy;
mod env_overrides;
mod log_writer;
mod native_config;
mod postgres_url;
mod provision;
mod resolve;
mod setup;
mod store_open;
mod transport;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc malloc: under concurrent page requests glibc's arena locks and
/// consolidation took a fifth of the CPU (bench/README.md), and its per-thread arenas kept
/// freed memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parses the command line. Usage errors are one line (and exit 2), as scripts expect;
/// `--help` and `--version` print as clap prints them.
fn parse_cli() -> Result<cli::Cli, ExitCode> {
    use clap::error::ErrorKind;
    cli::Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
        _ => {
            // clap's first paragraph (the error and what it names) on one line.
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .collect();
            eprintln!(
                "taxiid: {} (see taxiid --help)",
                first.join(" ").trim_start_matches("error: ")
            );
            ExitCode::from(2)
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("taxiid: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(setup::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("taxiid: error: {message}");
            ExitCode::FAILURE
        }
    }
}
