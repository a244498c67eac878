//! Opens the configured store (memory, optionally from a medallion data file; SQLite, seeded
//! from a medallion data file when new), describes it for `--conf-check` without creating
//! anything, and saves a memory store back to its data file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use taxii_model::Timestamp;
use taxii_store::Store;
use taxii_store::memory::MemoryStore;
use taxii_store::sqlite::SqliteStore;

use crate::copy::{Scope, copy_store};
use crate::native_config::Layout;
use crate::resolve::StorePlan;

pub const POSTGRES_UNAVAILABLE: &str =
    "the postgres store is not available yet; use sqlite (the default) or memory";

pub struct Opened {
    pub store: Arc<dyn Store>,
    /// The memory store and its file, when the data can be saved back.
    pub saveable: Option<(Arc<MemoryStore>, PathBuf)>,
    pub description: String,
}

/// The one place a SQLite store is opened: it creates the file and its directory if missing,
/// applies migrations and refuses a file from a newer schema.
async fn open_sqlite(path: &Path) -> Result<Arc<dyn Store>, String> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || SqliteStore::open(&owned))
        .await
        .map_err(|e| format!("{}: cannot be opened: {e}", path.display()))?
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub async fn open(plan: &StorePlan, now: Timestamp) -> Result<Opened, String> {
    match plan {
        StorePlan::Memory {
            data_file: Some(path),
            ..
        } => {
            let store = Arc::new(load_data_file(path, now)?);
            require_api_roots(&*store, path).await?;
            Ok(Opened {
                store: Arc::clone(&store) as Arc<dyn Store>,
                saveable: Some((store, path.clone())),
                description: format!("memory store loaded from {}", path.display()),
            })
        }
        StorePlan::Memory {
            data_file: None, ..
        } => Ok(Opened {
            store: Arc::new(MemoryStore::new()),
            saveable: None,
            description: "memory store (data is not kept across restarts)".into(),
        }),
        StorePlan::Sqlite { path, seed } => {
            let store = open_sqlite(path).await?;
            let mut description = format!("sqlite store at {}", path.display());
            if let Some(seed) = seed
                && store
                    .api_roots()
                    .await
                    .map_err(|e| e.to_string())?
                    .is_empty()
            {
                let source = load_data_file(seed, now)?;
                require_api_roots(&source, seed).await?;
                let copied = copy_store(&source, &*store, Scope::All)
                    .await
                    .map_err(|e| {
                        format!("{}: cannot be copied into the store: {e}", seed.display())
                    })?;
                tracing::info!(
                    file = %seed.display(),
                    api_roots = copied.api_roots.len(),
                    collections = copied.collections.len(),
                    versions = copied.added(),
                    statuses = copied.statuses,
                    "seeded the new store from the data file"
                );
                description.push_str(&format!(", seeded from {}", seed.display()));
            }
            Ok(Opened {
                store,
                saveable: None,
                description,
            })
        }
        StorePlan::Postgres => Err(POSTGRES_UNAVAILABLE.into()),
    }
}

async fn require_api_roots(store: &dyn Store, path: &Path) -> Result<(), String> {
    if store
        .api_roots()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Err(format!("{}: defines no API root", path.display()));
    }
    Ok(())
}

/// `--conf-check`: what would be served, checking data files but creating nothing.
pub async fn describe(plan: &StorePlan, layout: &Layout, now: Timestamp) -> Result<String, String> {
    let mut parts = Vec::new();
    match plan {
        StorePlan::Memory {
            data_file: Some(path),
            ..
        } => {
            let store = load_data_file(path, now)?;
            require_api_roots(&store, path).await?;
            parts.push(format!("memory store loaded from {}", path.display()));
            parts.push(summary(&store).await?);
        }
        StorePlan::Memory {
            data_file: None, ..
        } => {
            parts.push("memory store (data is not kept across restarts)".into());
        }
        StorePlan::Sqlite { path, seed } => {
            let state = if path.is_file() {
                "exists"
            } else if path.exists() {
                return Err(format!("{}: is not a file", path.display()));
            } else {
                "created at first start"
            };
            parts.push(format!("sqlite store at {} ({state})", path.display()));
            if let Some(seed) = seed {
                let store = load_data_file(seed, now)?;
                require_api_roots(&store, seed).await?;
                parts.push(format!(
                    "seeded when new from {}: {}",
                    seed.display(),
                    summary(&store).await?
                ));
            }
        }
        StorePlan::Postgres => return Err(POSTGRES_UNAVAILABLE.into()),
    }
    if !layout.api_roots.is_empty() {
        let collections: usize = layout.api_roots.iter().map(|r| r.collections.len()).sum();
        parts.push(format!(
            "configures {} API root(s), {collections} collection(s)",
            layout.api_roots.len()
        ));
    }
    Ok(parts.join("; "))
}

/// "N API root(s), M collection(s)".
pub async fn summary(store: &dyn Store) -> Result<String, String> {
    let roots = store.api_roots().await.map_err(|e| e.to_string())?;
    let mut collections = 0;
    for r in &roots {
        collections += store
            .collections(&r.name)
            .await
            .map_err(|e| e.to_string())?
            .len();
    }
    Ok(format!(
        "{} API root(s), {collections} collection(s)",
        roots.len()
    ))
}

pub fn load_data_file(path: &Path, now: Timestamp) -> Result<MemoryStore, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: is not valid JSON: {e}", path.display()))?;
    // Two API roots (or collections, users…) under one name would otherwise lose one silently.
    taxii_model::json::check_unique_names(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    warn_about_discovery(&doc);
    MemoryStore::from_medallion(&doc, now).map_err(|e| format!("{}: {e}", path.display()))
}

/// medallion serves its discovery document as stored, and so do we, but entries TAXII 2.1
/// §4.1.1 does not allow are worth a warning: clients may refuse them.
fn warn_about_discovery(doc: &Value) {
    let Some(d) = doc.get("/discovery") else {
        return;
    };
    let roots: Vec<&str> = d
        .get("api_roots")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for url in &roots {
        let relative_ok = url.starts_with('/') && !url.starts_with("//");
        if !(relative_ok || url.starts_with("https://")) || url.contains('?') {
            tracing::warn!(
                url,
                "discovery api_roots entry is neither an https:// URL nor an absolute path; served as stored"
            );
        }
    }
    if let Some(default) = d.get("default").and_then(Value::as_str)
        && !roots.contains(&default)
    {
        tracing::warn!(
            default,
            "discovery default is not one of its api_roots; served as stored"
        );
    }
}

/// Writes the store as a medallion data file, atomically (temporary file, fsync, rename).
pub fn save_data_file(store: &MemoryStore, path: &Path) -> Result<(), String> {
    let text = serde_json::to_string_pretty(&store.to_medallion())
        .map_err(|e| format!("cannot serialise the store: {e}"))?;
    let tmp = path.with_extension("json.taxiid-tmp");
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("{}: cannot be written: {e}", path.display()))
}
