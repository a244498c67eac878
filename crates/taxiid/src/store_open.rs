//! Opens the configured store (memory, optionally from a medallion data file; SQLite or
//! PostgreSQL, seeded from a medallion data file when new), describes it for `--conf-check`
//! without creating anything, and saves a memory store back to its data file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use taxii_model::Timestamp;
use taxii_store::memory::MemoryStore;
use taxii_store::postgres::{PgOptions, PgStore};
use taxii_store::sqlite::SqliteStore;
use taxii_store::{Store, StoreError};

use crate::copy::{Scope, copy_store};
use crate::native_config::Layout;
use crate::resolve::{PgPlan, StorePlan};

/// How long `--conf-check` waits for PostgreSQL to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Opened {
    pub store: Arc<dyn Store>,
    /// The memory store and its file, when the data can be saved back.
    pub saveable: Option<(Arc<MemoryStore>, PathBuf)>,
    pub description: String,
    /// Several nodes may use the store at once (PostgreSQL): first-start steps reconcile
    /// with theirs, and a store that does not answer may come back.
    pub shared: bool,
    /// Why the database did not answer at start-up. A server starts anyway (and answers 503
    /// until it does); an admin command stops.
    pub unreachable: Option<String>,
    /// A medallion data file to copy into the store once it answers, if it is still new.
    pub pending_seed: Option<PathBuf>,
}

impl Opened {
    fn local(store: Arc<dyn Store>, description: String) -> Opened {
        Opened {
            store,
            saveable: None,
            description,
            shared: false,
            unreachable: None,
            pending_seed: None,
        }
    }
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
            let mut opened = Opened::local(
                Arc::clone(&store) as Arc<dyn Store>,
                format!("memory store loaded from {}", path.display()),
            );
            opened.saveable = Some((store, path.clone()));
            Ok(opened)
        }
        StorePlan::Memory {
            data_file: None, ..
        } => Ok(Opened::local(
            Arc::new(MemoryStore::new()),
            "memory store (data is not kept across restarts)".into(),
        )),
        StorePlan::Sqlite { path, seed } => {
            let store = open_sqlite(path).await?;
            let mut description = format!("sqlite store at {}", path.display());
            if let Some(seed) = seed
                && seed_if_new(&*store, seed, now).await?
            {
                description.push_str(&format!(", seeded from {}", seed.display()));
            }
            Ok(Opened::local(store, description))
        }
        StorePlan::Postgres(pg) => open_postgres(pg, now).await,
    }
}

/// The options the PostgreSQL store is opened with.
pub fn pg_options(pg: &PgPlan) -> PgOptions {
    let mut options = PgOptions::new(pg.url.expose());
    options.max_connections = pg.pool_size;
    options.statement_timeout = pg.statement_timeout;
    options
}

/// The one place a PostgreSQL store is opened. The pool connects lazily; the migrations are
/// tried once here. A database that does not answer is no error: the store answers
/// `Unavailable` until it does, and migrates on its first call that reaches it.
async fn open_postgres(pg: &PgPlan, now: Timestamp) -> Result<Opened, String> {
    let shown = pg.url.redacted();
    let pg_store = Arc::new(
        PgStore::connect_lazy(&pg_options(pg))
            .map_err(|e| format!("postgres store at {shown}: {e}"))?,
    );
    let store: Arc<dyn Store> = Arc::clone(&pg_store) as Arc<dyn Store>;
    let mut opened = Opened::local(Arc::clone(&store), format!("postgres store at {shown}"));
    opened.shared = true;
    match pg_store.migrate().await {
        Ok(()) => {
            if let Some(seed) = &pg.seed
                && seed_if_new(&*store, seed, now).await?
            {
                opened
                    .description
                    .push_str(&format!(", seeded from {}", seed.display()));
            }
        }
        Err(StoreError::Unavailable(why)) => {
            opened.unreachable = Some(format!("the database at {shown} does not answer: {why}"));
            opened.pending_seed.clone_from(&pg.seed);
        }
        Err(e) => return Err(format!("postgres store at {shown}: {e}")),
    }
    Ok(opened)
}

/// `--conf-check`: whether the database answers, without creating anything in it (the store
/// itself would apply its migrations on first contact).
async fn probe(pg: &PgPlan) -> String {
    use sqlx::Connection;
    let options = match sqlx::postgres::PgConnectOptions::from_str(pg.url.expose()) {
        Ok(o) => o,
        Err(e) => return format!("the URL is not usable: {e}"),
    };
    let waited =
        tokio::time::timeout(PROBE_TIMEOUT, sqlx::PgConnection::connect_with(&options)).await;
    match waited {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            "the database answered".into()
        }
        Ok(Err(sqlx::Error::Database(e))) => format!(
            "the database answered but refused the connection: {e}; taxiid would not start until that is fixed"
        ),
        Ok(Err(e)) => format!(
            "the database did not answer: {e}; the configuration itself is valid, and taxiid would start and answer 503 until the database answers"
        ),
        Err(_) => format!(
            "the database did not answer within {} s; the configuration itself is valid, and taxiid would start and answer 503 until the database answers",
            PROBE_TIMEOUT.as_secs()
        ),
    }
}

/// Copies a medallion data file into `store` if the store has no API root yet; `true` when
/// it did.
pub async fn seed_if_new(store: &dyn Store, seed: &Path, now: Timestamp) -> Result<bool, String> {
    if !store
        .api_roots()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(false);
    }
    let source = load_data_file(seed, now)?;
    require_api_roots(&source, seed).await?;
    let copied = copy_store(&source, store, Scope::All)
        .await
        .map_err(|e| format!("{}: cannot be copied into the store: {e}", seed.display()))?;
    tracing::info!(
        file = %seed.display(),
        api_roots = copied.api_roots.len(),
        collections = copied.collections.len(),
        versions = copied.added(),
        statuses = copied.statuses,
        "seeded the new store from the data file"
    );
    Ok(true)
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
                parts.push(describe_seed(seed, now).await?);
            }
        }
        StorePlan::Postgres(pg) => {
            parts.push(format!(
                "postgres store at {} (pool_size {}, statement_timeout {} s; {})",
                pg.url.redacted(),
                pg.pool_size,
                pg.statement_timeout.as_secs(),
                probe(pg).await
            ));
            if let Some(seed) = &pg.seed {
                parts.push(describe_seed(seed, now).await?);
            }
        }
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

/// What a new database would be filled with: the data file, checked as a start would.
async fn describe_seed(seed: &Path, now: Timestamp) -> Result<String, String> {
    let store = load_data_file(seed, now)?;
    require_api_roots(&store, seed).await?;
    Ok(format!(
        "seeded when new from {}: {}",
        seed.display(),
        summary(&store).await?
    ))
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
