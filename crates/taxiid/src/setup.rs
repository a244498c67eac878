//! The composition root: configuration → store → settings → listener → serve, then save.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taxii_model::Clock;
use taxii_model::media::TAXII_21;
use taxii_server::{AppState, Settings, SystemClock};
use taxii_store::memory::MemoryStore;
use taxii_store::{ApiRootRecord, CollectionRecord, Grant, Store};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, LogLevel};
use crate::config::{self, BackendConfig, Config, Sources};

const DEFAULT_MAX_CONTENT_LENGTH: u64 = 10 * 1024 * 1024;

fn init_logging(cli: &Cli) {
    let level = if cli.debug_mode {
        "debug"
    } else {
        match cli.log_level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Critical => "error",
        }
    };
    let filter = EnvFilter::try_from_env("TAXIID_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    if cli.config_path.is_some() {
        tracing::warn!("the positional CONFIG_PATH is deprecated; use --conf-file");
    }
    // The variables are defaults, as in medallion: the positional path wins over
    // $MEDALLION_CONFFILE, and --no-conf-dir over $MEDALLION_CONFDIR (so they are read here,
    // not by clap, which would call those combinations conflicts).
    let env_path = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let sources = Sources {
        conf_file: cli
            .config_path
            .clone()
            .or_else(|| cli.conf_file.clone())
            .or_else(|| env_path("MEDALLION_CONFFILE")),
        conf_dir: cli
            .conf_dir
            .clone()
            .or_else(|| env_path("MEDALLION_CONFDIR")),
        use_conf_dir: !cli.no_conf_dir,
    };
    let env = |k: &str| std::env::var(k).ok();
    let (doc, files) = config::load_document(&sources, &env).map_err(|e| e.to_string())?;
    let read: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    config::interpret(&doc, files).map_err(|e| {
        // Name the files a problem of the merged configuration can come from.
        if e.source == "configuration" && !read.is_empty() {
            format!("configuration ({}): {}", read.join(", "), e.problem)
        } else {
            e.to_string()
        }
    })
}

fn load_data_file(path: &Path, now: taxii_model::Timestamp) -> Result<MemoryStore, String> {
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

/// The API root and collection a server without data starts with.
async fn seed_default(store: &dyn Store) -> Result<(), String> {
    let mut info = Map::new();
    info.insert("title".into(), "Default API root".into());
    info.insert("versions".into(), json!([TAXII_21]));
    info.insert(
        "max_content_length".into(),
        DEFAULT_MAX_CONTENT_LENGTH.into(),
    );
    store
        .put_api_root(ApiRootRecord {
            name: "api1".into(),
            information: info,
        })
        .await
        .map_err(|e| e.to_string())?;
    let collection = CollectionRecord {
        id: uuid_v4(),
        title: "Default collection".into(),
        description: Some("Created at first start; readable and writable by every user.".into()),
        alias: Some("default".into()),
        read: Grant::Everyone,
        write: Grant::Everyone,
        media_types: None,
        extra: Map::new(),
    };
    store
        .put_collection("api1", collection)
        .await
        .map_err(|e| e.to_string())
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn random_bytes(buf: &mut [u8]) {
    // The OS random source is always there on the platforms we build for; without it no
    // secret could be generated safely, so stopping is right.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random source is unavailable");
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    random_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
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

struct Opened {
    store: Arc<dyn Store>,
    /// The memory store and its file, when the data can be saved back.
    saveable: Option<(Arc<MemoryStore>, PathBuf)>,
    description: String,
}

async fn open_store(config: &Config, now: taxii_model::Timestamp) -> Result<Opened, String> {
    match &config.backend {
        BackendConfig::Memory {
            filename: Some(path),
        } => {
            let store = Arc::new(load_data_file(path, now)?);
            if store
                .api_roots()
                .await
                .map_err(|e| e.to_string())?
                .is_empty()
            {
                return Err(format!("{}: defines no API root", path.display()));
            }
            Ok(Opened {
                store: Arc::clone(&store) as Arc<dyn Store>,
                saveable: Some((store, path.clone())),
                description: format!("memory store loaded from {}", path.display()),
            })
        }
        BackendConfig::Memory { filename: None } | BackendConfig::Default => {
            let store = Arc::new(MemoryStore::new());
            seed_default(&*store).await?;
            Ok(Opened {
                store,
                saveable: None,
                description:
                    "memory store with the default API root (data is not kept across restarts)"
                        .into(),
            })
        }
    }
}

async fn summary(store: &dyn Store) -> Result<String, String> {
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

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// SIGUSR1 saves the memory store to its data file on request.
fn spawn_save_on_signal(store: Arc<MemoryStore>, path: PathBuf) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            return;
        };
        while usr1.recv().await.is_some() {
            match save_data_file(&store, &path) {
                Ok(()) => tracing::info!(file = %path.display(), "saved the data file"),
                Err(e) => tracing::error!("{e}"),
            }
        }
    });
}

pub async fn run(cli: Cli) -> Result<(), String> {
    init_logging(&cli);
    let config = load_config(&cli)?;
    let clock = Arc::new(SystemClock);
    let opened = open_store(&config, clock.now()).await?;
    let described = summary(&*opened.store).await?;
    if cli.conf_check {
        let files: Vec<String> = config
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let users = config.users.as_ref().map_or(0, BTreeMap::len);
        println!(
            "configuration OK: files [{}]; {}; {described}; {users} user(s); max_page_size {}",
            files.join(", "),
            opened.description,
            config.max_page_size
        );
        return Ok(());
    }
    let users = match &config.users {
        Some(u) if !u.is_empty() => u.clone(),
        _ => {
            let password = generated_password();
            eprintln!(
                "taxiid: no users are configured; log in as user 'admin' with password '{password}' (generated now, shown once)"
            );
            BTreeMap::from([("admin".to_owned(), password)])
        }
    };
    let cursor_key = match &config.next_token_secret {
        Some(s) => s.as_bytes().to_vec(),
        None => {
            let mut k = vec![0u8; 32];
            random_bytes(&mut k);
            k
        }
    };
    let settings = Settings {
        users,
        realm: "taxii".into(),
        max_page_size: config.max_page_size,
        status_retention_secs: config.status_retention,
        default_max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
        cursor_key,
        discovery_title: "taxiid TAXII 2.1 server".into(),
    };
    let state = AppState {
        store: Arc::clone(&opened.store),
        settings: Arc::new(settings),
        clock,
    };
    let listener = tokio::net::TcpListener::bind((cli.host.as_str(), cli.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", cli.host, cli.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!("{}; {described}", opened.description);
    eprintln!("taxiid: listening on http://{addr} (discovery at http://{addr}/taxii2/)");
    taxii_server::spawn_status_reaper(state.clone(), Duration::from_secs(config.check_interval));
    if let Some((store, path)) = &opened.saveable {
        spawn_save_on_signal(Arc::clone(store), path.clone());
    }
    taxii_server::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    if config.save_on_shutdown
        && let Some((store, path)) = &opened.saveable
    {
        save_data_file(store, path)?;
        tracing::info!(file = %path.display(), "saved the data file");
    }
    Ok(())
}
