//! The admin CLI: subcommands of the `taxiid` binary that manage the configured store's data
//! (import, export, API roots, collections, users, API tokens) instead of serving it.
//!
//! The binary parses an [`AdminCommand`], opens the store and calls [`run`]. Every failure is
//! one line of text (the binary prints it and exits 1); clap's own argument errors exit 2.
//! Human output is aligned tables; `--json` prints one JSON document that scripts can parse.
//! Progress of long imports goes to stderr, never into `out`.

mod api_root;
mod bundle;
mod collection;
mod export;
mod import;
mod token;
mod user;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;
use taxii_model::{Clock, Timestamp};
use taxii_store::{ApiRootRecord, CollectionRecord, Store};

pub use api_root::ApiRootCommand;
pub use collection::CollectionCommand;
pub use export::ExportArgs;
pub use import::ImportArgs;
pub use token::TokenCommand;
pub use user::UserCommand;

/// Data management subcommands, run against the configured store.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Import a medallion data file, or a STIX bundle or TAXII envelope into one collection.
    ///
    /// A medallion data file brings its API roots, collections (with can_read/can_write and
    /// media types), statuses and every object version with its date_added. A bundle or
    /// envelope (with --api-root and --collection) is added object by object, like a POST to
    /// the collection, streaming so that memory stays constant. Re-importing the same file
    /// adds nothing. API roots, collections and statuses the store already has (same path or
    /// id) take the file's description; their objects are kept.
    #[command(after_help = import::EXAMPLES)]
    Import(ImportArgs),

    /// Export everything, an API root or one collection as a medallion data file, or one
    /// collection as a STIX 2.1 bundle.
    #[command(after_help = export::EXAMPLES)]
    Export(ExportArgs),

    /// Add, list or remove collections.
    #[command(after_help = collection::EXAMPLES)]
    Collection {
        #[command(subcommand)]
        command: CollectionCommand,
    },

    /// Add or list API roots.
    #[command(after_help = api_root::EXAMPLES)]
    ApiRoot {
        #[command(subcommand)]
        command: ApiRootCommand,
    },

    /// Add, list or remove users kept in the store, or change their passwords.
    #[command(after_help = user::EXAMPLES)]
    User {
        #[command(subcommand)]
        command: UserCommand,
    },

    /// Create, list or revoke API tokens (`Authorization: Bearer …`).
    #[command(after_help = token::EXAMPLES)]
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// Runs one admin command against `store`, writing its report (or exported data) to `out`.
pub async fn run(
    cmd: AdminCommand,
    store: Arc<dyn Store>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let store = store.as_ref();
    match cmd {
        AdminCommand::Import(args) => import::run(args, store, out).await,
        AdminCommand::Export(args) => export::run(args, store, out).await,
        AdminCommand::Collection { command } => collection::run(command, store, out).await,
        AdminCommand::ApiRoot { command } => api_root::run(command, store, out).await,
        AdminCommand::User { command } => user::run(command, store, out).await,
        AdminCommand::Token { command } => token::run(command, store, out).await,
    }
}

// ---- shared helpers ----

pub(crate) use crate::copy::store_err;

pub(crate) fn write_err(e: std::io::Error) -> String {
    format!("cannot write the output: {e}")
}

pub(crate) fn now() -> Timestamp {
    taxii_server::SystemClock.now()
}

/// An API root path as users type it (`api1`, `/api1/`, `org/a/api1`), without slashes around.
pub(crate) fn root_name(input: &str) -> &str {
    input.trim_matches('/')
}

/// The API root, or an error naming the known ones.
pub(crate) async fn require_root(store: &dyn Store, input: &str) -> Result<ApiRootRecord, String> {
    let name = root_name(input);
    let roots = store.api_roots().await.map_err(store_err)?;
    let names: Vec<String> = roots.iter().map(|r| r.name.clone()).collect();
    roots
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| match names.as_slice() {
            [] => format!("no API root '{name}': the store has no API roots"),
            _ => format!("no API root '{name}' (the store has: {})", names.join(", ")),
        })
}

/// A collection of an API root by id or alias.
pub(crate) async fn require_collection(
    store: &dyn Store,
    root: &str,
    id_or_alias: &str,
) -> Result<CollectionRecord, String> {
    store
        .collection(root, id_or_alias)
        .await
        .map_err(store_err)?
        .ok_or_else(|| format!("API root '{root}' has no collection '{id_or_alias}'"))
}

/// One JSON document on its own line.
pub(crate) fn write_json(out: &mut dyn Write, v: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    writeln!(out, "{text}").map_err(write_err)
}

/// An aligned table with a header row; `empty` is printed instead when there are no rows.
pub(crate) fn write_table(
    out: &mut dyn Write,
    headers: &[&str],
    rows: &[Vec<String>],
    empty: &str,
) -> Result<(), String> {
    if rows.is_empty() {
        return writeln!(out, "{empty}").map_err(write_err);
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        parts.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(&mut headers.iter().copied())).map_err(write_err)?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str))).map_err(write_err)?;
    }
    Ok(())
}

fn random_bytes(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("the operating system's random source failed: {e}"))
}

/// A random (version 4) UUID in canonical form.
pub(crate) fn uuid_v4() -> Result<String, String> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A 24-character password without look-alike characters (about 140 bits).
pub(crate) fn generate_password() -> Result<String, String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    random_bytes(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// Whether `name` can be a user name: 1 to 256 characters, no `:` (HTTP Basic splits on it),
/// no control characters, no spaces around.
pub(crate) fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 256 {
        return Err(format!(
            "'{name}' is not a usable user name: it must have 1 to 256 characters"
        ));
    }
    if name.contains(':') || name.chars().any(char::is_control) || name.trim() != name {
        return Err(format!(
            "'{name}' is not a usable user name: no ':', control characters or surrounding spaces"
        ));
    }
    Ok(())
}
