//! Command line, with medallion's flags and meanings.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

/// taxiid: a TAXII 2.1 server, drop-in compatible with OASIS medallion.
///
/// Point it at a medallion configuration file (and so at its data file) and it serves the same
/// API roots, collections, objects and statuses. With no configuration at all it serves one
/// API root and collection and prints how to log in.
#[derive(Debug, Parser)]
#[command(name = "taxiid", version, about, long_about)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 5000)]
    pub port: u16,

    /// Log at DEBUG level. Unlike medallion's Flask debug mode this opens no debugger and no
    /// reloader: it is safe on a public address.
    #[arg(long)]
    pub debug_mode: bool,

    /// Log level (medallion's names, case-insensitive).
    #[arg(long, value_enum, ignore_case = true, default_value = "INFO")]
    pub log_level: LogLevel,

    /// Configuration file (medallion JSON). Default: $MEDALLION_CONFFILE, else
    /// /etc/xdg/medallion/3/medallion.conf if it exists.
    #[arg(short = 'c', long, conflicts_with = "config_path")]
    pub conf_file: Option<PathBuf>,

    /// Directory whose *.json and *.conf files are merged over the configuration file, in
    /// file-name order. Default: $MEDALLION_CONFDIR, else /etc/xdg/medallion/3/config.d if it
    /// exists.
    #[arg(long, conflicts_with = "no_conf_dir")]
    pub conf_dir: Option<PathBuf>,

    /// Do not read a configuration directory.
    #[arg(long)]
    pub no_conf_dir: bool,

    /// Check the configuration and the data file it names, print a summary (never passwords)
    /// and exit: 0 when valid, 1 otherwise.
    #[arg(long)]
    pub conf_check: bool,

    /// Deprecated: the configuration file as a positional argument (use --conf-file).
    #[arg(value_name = "CONFIG_PATH")]
    pub config_path: Option<PathBuf>,
}
