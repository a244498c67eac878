//! The `taxiid` binary: reads the configuration, opens the store, serves.

mod admin;
mod cli;
mod config;
mod copy;
mod env_overrides;
mod native_config;
mod provision;
mod resolve;
mod setup;
mod store_open;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
