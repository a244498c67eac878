//! Command line, with medallion's flags and meanings.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// taxiid: a TAXII 2.1 server, drop-in compatible with OASIS medallion.
///
/// Point it at a medallion configuration file (and so at its data file) and it serves the same
/// API roots, collections, objects and statuses. With no configuration at all it keeps its data
/// in taxiid-data/taxiid.sqlite3 (below the working directory), serves one API root and
/// collection, and prints how to log in on first start. `--print-default-config` shows the
/// native configuration file.
#[derive(Debug, Parser)]
#[command(name = "taxiid", version, about, long_about)]
pub struct Cli {
    /// Address to listen on [default: 127.0.0.1, or server.host of a native config, or
    /// $TAXIID_HOST].
    #[arg(long)]
    pub host: Option<String>,

    /// Port to listen on; 0 picks a free one and prints it [default: 5000, or server.port of a
    /// native config, or $TAXIID_PORT].
    #[arg(long)]
    pub port: Option<u16>,

    /// Log at DEBUG level. Unlike medallion's Flask debug mode this opens no debugger and no
    /// reloader: it is safe on a public address.
    #[arg(long)]
    pub debug_mode: bool,

    /// Log level (medallion's names, case-insensitive).
    #[arg(long, value_enum, ignore_case = true, default_value = "INFO")]
    pub log_level: LogLevel,

    /// Log format: text (for people) or json (one object per line, for log collectors).
    #[arg(long, value_enum, env = "TAXIID_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Configuration file: native (TOML, or JSON with server/store/api_roots/discovery
    /// sections) or medallion JSON, told apart by content. Default: $TAXIID_CONFIG, else
    /// $MEDALLION_CONFFILE, else /etc/xdg/medallion/3/medallion.conf if it exists.
    #[arg(short = 'c', long, conflicts_with = "config_path")]
    pub conf_file: Option<PathBuf>,

    /// Directory whose *.json and *.conf files are merged over a medallion configuration
    /// file, in file-name order. Default: $MEDALLION_CONFDIR, else /etc/xdg/medallion/3/config.d if it
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

    /// Print a commented example of the native configuration (every key, with its default)
    /// and exit.
    #[arg(long, conflicts_with = "conf_check")]
    pub print_default_config: bool,

    /// Deprecated: the configuration file as a positional argument (use --conf-file).
    #[arg(value_name = "CONFIG_PATH")]
    pub config_path: Option<PathBuf>,

    /// Without a command, taxiid serves. The commands manage the configured store.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Admin(crate::admin::AdminCommand),
    /// Print the argon2id hash of a password, for the [users] table of a native configuration.
    #[command(
        after_help = "Examples:\n  taxiid hash-password --password 's3cret'\n  printf '%s' \"$PASSWORD\" | taxiid hash-password"
    )]
    HashPassword {
        /// The password; without it, it is read from standard input (one line).
        #[arg(long)]
        password: Option<String>,
    },
}
