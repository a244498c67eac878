//! Which configuration applies. Finds the configuration file, tells its format by its content
//! (native TOML/JSON, or medallion JSON), reads it, then layers the `TAXIID_*` environment
//! variables and the command-line flags over it: flags beat the environment, the environment
//! beats the file, the file beats the defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::config::{self, BackendConfig, Sources};
use crate::env_overrides::EnvOverrides;
use crate::native_config::{
    self, DEFAULT_MAX_CONTENT_LENGTH, DEFAULT_PG_POOL_SIZE, DEFAULT_PG_STATEMENT_TIMEOUT,
    DEFAULT_SQLITE_PATH, Layout, StoreKind, Syntax,
};
use crate::postgres_url::{PgUrl, PgUrlText, UrlSource};
use crate::transport::Transport;

/// What the command line says about configuration.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `--conf-file` or the positional path.
    pub conf_file: Option<PathBuf>,
    pub conf_dir: Option<PathBuf>,
    pub use_conf_dir: bool,
    pub host: Option<String>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Native,
    Medallion,
    /// No configuration file: defaults (and the environment).
    Defaults,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Native => "native format",
            Format::Medallion => "medallion format",
            Format::Defaults => "no configuration file, defaults",
        })
    }
}

/// Which store serves, and what it starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorePlan {
    Memory {
        data_file: Option<PathBuf>,
        save_on_shutdown: bool,
    },
    Sqlite {
        path: PathBuf,
        /// A medallion data file copied into the store when it has no API root yet.
        seed: Option<PathBuf>,
    },
    Postgres(PgPlan),
}

/// A PostgreSQL store shared by every node that names the same database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgPlan {
    pub url: PgUrl,
    pub pool_size: u32,
    pub statement_timeout: Duration,
    /// A medallion data file copied into the database when it has no API root yet.
    pub seed: Option<PathBuf>,
}

/// The PostgreSQL settings while the sources are read: the URL is read and checked last,
/// once it is known which source gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PgDraft {
    url: Option<UrlSource>,
    pool_size: u32,
    statement_timeout: u64,
    seed: Option<PathBuf>,
}

impl PgDraft {
    fn new(seed: Option<PathBuf>) -> PgDraft {
        PgDraft {
            url: None,
            pool_size: DEFAULT_PG_POOL_SIZE,
            statement_timeout: DEFAULT_PG_STATEMENT_TIMEOUT,
            seed,
        }
    }
}

/// The first-start account (`TAXIID_ADMIN_USER` / `TAXIID_ADMIN_PASSWORD`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AdminAccount {
    pub user: Option<String>,
    pub password: Option<String>,
}

/// The configuration in force, whatever its sources.
#[derive(Clone, PartialEq)]
pub struct Resolved {
    pub format: Format,
    pub files: Vec<PathBuf>,
    pub host: String,
    pub port: u16,
    pub store: StorePlan,
    /// Configured users: name → argon2 hash or plaintext password.
    pub users: BTreeMap<String, String>,
    pub max_page_size: usize,
    /// Seconds a status is kept; `None` keeps statuses forever.
    pub status_retention: Option<i64>,
    pub check_interval: u64,
    pub default_max_content_length: u64,
    pub next_token_secret: Option<String>,
    /// `taxii.hide_inaccessible_collections` (native configs).
    pub hide_inaccessible_collections: bool,
    /// `taxii.taxii20_serves_stix21` (native configs).
    pub taxii20_serves_stix21: bool,
    /// medallion 1.x API keys (`auth.api_keys`): key → user.
    pub api_keys: BTreeMap<String, String>,
    /// TLS and limits: native `[server]` keys, `TAXIID_TLS_CERT`/`_KEY`.
    pub transport: Transport,
    /// API roots, collections and discovery to write into the store (native configs).
    pub layout: Layout,
    pub admin: AdminAccount,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("format", &self.format)
            .field("files", &self.files)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("store", &self.store)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("max_page_size", &self.max_page_size)
            .field("status_retention", &self.status_retention)
            .field("check_interval", &self.check_interval)
            .field("layout", &self.layout)
            .field("admin_user", &self.admin.user)
            .finish_non_exhaustive()
    }
}

const NATIVE_KEYS: [&str; 4] = ["server", "store", "api_roots", "discovery"];
const MEDALLION_ONLY_KEYS: [&str; 1] = ["backend"];

/// Tells a native file from a medallion one: `.toml` and TOML text are native; a JSON object
/// with any of `server`, `store`, `api_roots`, `discovery` is native; other JSON is medallion.
/// `Ok(None)` means medallion (whose reader reports its own syntax errors, as before).
pub fn detect(path: &Path) -> Result<Option<(Syntax, String)>, String> {
    let name = path.display();
    if !path.is_file() {
        return Err(format!("{name}: no such configuration file"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot be read: {e}"))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("toml") {
        return Ok(Some((Syntax::Toml, text)));
    }
    // A TOML file may start with '[' (a table) too: such text is JSON only if it parses.
    let start = text.trim_start();
    let parsed = serde_json::from_str::<Value>(&text);
    let json = ext.eq_ignore_ascii_case("json")
        || start.starts_with('{')
        || (start.starts_with('[') && parsed.is_ok());
    if !json {
        return Ok(Some((Syntax::Toml, text)));
    }
    let Ok(Value::Object(top)) = parsed else {
        return Ok(None);
    };
    let native: Vec<&str> = NATIVE_KEYS
        .into_iter()
        .filter(|k| top.contains_key(*k))
        .collect();
    match (
        native.first(),
        MEDALLION_ONLY_KEYS.iter().find(|k| top.contains_key(**k)),
    ) {
        (Some(n), Some(m)) => Err(format!(
            "{name}: mixes the medallion section '{m}' with the native section '{n}'; use one format"
        )),
        (Some(_), None) => Ok(Some((Syntax::Json, text))),
        (None, _) => Ok(None),
    }
}

fn env_path(env: &dyn Fn(&str) -> Option<String>, k: &str) -> Option<PathBuf> {
    env(k).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Reads every source and returns the configuration in force, or a one-line
/// `<source>: <problem>` message.
pub fn resolve(req: &Request, env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, String> {
    let over = EnvOverrides::read(env).map_err(|e| format!("environment: {e}"))?;
    let conf_file = req
        .conf_file
        .clone()
        .or_else(|| over.config.clone())
        .or_else(|| env_path(env, "MEDALLION_CONFFILE"));
    let detected = match &conf_file {
        Some(p) => detect(p)?.map(|d| (p.clone(), d)),
        None => None,
    };
    let (mut r, mut pg) = match detected {
        Some((path, (syntax, text))) => from_native(&path, syntax, &text, req, env)?,
        None => (from_medallion(conf_file, req, env)?, None),
    };
    let file_source = r
        .files
        .first()
        .map_or_else(|| "configuration".to_owned(), |f| f.display().to_string());
    apply_env(&mut r, &mut pg, &over);
    if let Some(draft) = pg {
        let source = match &draft.url {
            Some(s) => s,
            None if over.store.is_some() => {
                return Err(
                    "environment: TAXIID_STORE=postgres needs TAXIID_POSTGRES_URL or TAXIID_POSTGRES_URL_FILE (a file holding the URL)"
                        .into(),
                );
            }
            None => {
                return Err(format!(
                    "{file_source}: store.type = \"postgres\" needs 'store.url' or 'store.url_file' (or TAXIID_POSTGRES_URL / TAXIID_POSTGRES_URL_FILE)"
                ));
            }
        };
        r.store = StorePlan::Postgres(PgPlan {
            url: source.read()?,
            pool_size: draft.pool_size,
            statement_timeout: Duration::from_secs(draft.statement_timeout),
            seed: draft.seed,
        });
    } else if over.postgres_url.is_some() || over.postgres_url_file.is_some() {
        tracing::warn!(
            "TAXIID_POSTGRES_URL/TAXIID_POSTGRES_URL_FILE are ignored: the store is not postgres"
        );
    }
    if let Some(h) = &req.host {
        r.host.clone_from(h);
    }
    if let Some(p) = req.port {
        r.port = p;
    }
    Ok(r)
}

fn from_native(
    path: &Path,
    syntax: Syntax,
    text: &str,
    req: &Request,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Resolved, Option<PgDraft>), String> {
    let name = path.display();
    let file = native_config::parse(text, syntax).map_err(|e| format!("{name}: {e}"))?;
    let layout = native_config::check(&file).map_err(|e| format!("{name}: {e}"))?;
    let transport = file
        .server
        .transport()
        .map_err(|e| format!("{name}: {e}"))?;
    if req.use_conf_dir && (req.conf_dir.is_some() || env_path(env, "MEDALLION_CONFDIR").is_some())
    {
        tracing::warn!(
            "the configuration directory is read for medallion configurations only; {name} is a native one, so it is ignored"
        );
    }
    for k in [
        "MEDALLION_BACKEND_MODULE_CLASS",
        "MEDALLION_BACKEND_MEMORY_FILENAME",
        "MEDALLION_TAXII_MAX_PAGE_SIZE",
    ] {
        if env(k).is_some() {
            tracing::warn!(
                "{k} applies to medallion configurations only and is ignored; use the TAXIID_* variables"
            );
        }
    }
    for (user, secret) in &file.users {
        if !taxii_server::auth::is_password_hash(secret) {
            tracing::warn!(
                user,
                file = %name,
                "plaintext password in the configuration; prefer an argon2 hash"
            );
        }
    }
    let s = file.store;
    let pg = (s.kind == StoreKind::Postgres).then(|| PgDraft {
        url: match (s.url, s.url_file) {
            (Some(url), _) => Some(UrlSource::Inline {
                url: PgUrlText(url),
                from: format!("{name}: store.url"),
            }),
            (None, Some(path)) => Some(UrlSource::File {
                path,
                from: format!("{name}: store.url_file"),
            }),
            (None, None) => None,
        },
        pool_size: s.pool_size.unwrap_or(DEFAULT_PG_POOL_SIZE),
        statement_timeout: s.statement_timeout.unwrap_or(DEFAULT_PG_STATEMENT_TIMEOUT),
        seed: None,
    });
    let store = match s.kind {
        StoreKind::Sqlite => StorePlan::Sqlite {
            path: s.path.unwrap_or_else(|| DEFAULT_SQLITE_PATH.into()),
            seed: None,
        },
        StoreKind::Memory => StorePlan::Memory {
            data_file: s.data_file,
            save_on_shutdown: s.save_on_shutdown,
        },
        // Replaced by the finished plan once the environment is read.
        StoreKind::Postgres => StorePlan::Memory {
            data_file: None,
            save_on_shutdown: false,
        },
    };
    let t = file.taxii;
    let resolved = Resolved {
        format: Format::Native,
        files: vec![path.to_owned()],
        host: file.server.host,
        port: file.server.port,
        store,
        users: file.users,
        max_page_size: usize::try_from(t.max_page_size).unwrap_or(usize::MAX),
        status_retention: (t.status_retention != -1).then_some(t.status_retention),
        check_interval: t.status_check_interval,
        default_max_content_length: t.max_content_length,
        next_token_secret: t.next_token_secret,
        hide_inaccessible_collections: t.hide_inaccessible_collections,
        taxii20_serves_stix21: t.taxii20_serves_stix21,
        api_keys: BTreeMap::new(),
        transport,
        layout,
        admin: AdminAccount::default(),
    };
    Ok((resolved, pg))
}

fn from_medallion(
    conf_file: Option<PathBuf>,
    req: &Request,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, String> {
    // As in medallion, --no-conf-dir wins over $MEDALLION_CONFDIR.
    let sources = Sources {
        conf_file,
        conf_dir: req
            .conf_dir
            .clone()
            .or_else(|| env_path(env, "MEDALLION_CONFDIR")),
        use_conf_dir: req.use_conf_dir,
    };
    let (doc, files) = config::load_document(&sources, env).map_err(|e| e.to_string())?;
    let read: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let c = config::interpret(&doc, files).map_err(|e| {
        // Name the files a problem of the merged configuration can come from.
        if e.source == "configuration" && !read.is_empty() {
            format!("configuration ({}): {}", read.join(", "), e.problem)
        } else {
            e.to_string()
        }
    })?;
    for notice in &c.notices {
        tracing::warn!("{notice}");
    }
    let users = c.users.unwrap_or_default();
    for (name, secret) in &users {
        if !taxii_server::auth::is_password_hash(secret) {
            tracing::warn!(
                user = %name,
                "plaintext password in the configuration; prefer a hash (taxiid hash-password)"
            );
        } else if let Some(problem) = taxii_server::auth::password_hash_problem(secret) {
            return Err(format!("the password hash of user '{name}' {problem}"));
        }
    }
    let store = match c.backend {
        BackendConfig::Default => StorePlan::Sqlite {
            path: DEFAULT_SQLITE_PATH.into(),
            seed: None,
        },
        BackendConfig::Memory { filename } => StorePlan::Memory {
            data_file: filename,
            save_on_shutdown: c.save_on_shutdown,
        },
    };
    Ok(Resolved {
        format: if c.files.is_empty() {
            Format::Defaults
        } else {
            Format::Medallion
        },
        files: c.files,
        host: "127.0.0.1".into(),
        port: 5000,
        store,
        users,
        max_page_size: c.max_page_size,
        status_retention: c.status_retention,
        check_interval: c.check_interval,
        default_max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
        next_token_secret: c.next_token_secret,
        hide_inaccessible_collections: false,
        taxii20_serves_stix21: false,
        api_keys: c.api_keys,
        transport: Transport::default(),
        layout: Layout::default(),
        admin: AdminAccount::default(),
    })
}

/// Layers the `TAXIID_*` variables over `r`. While the store is postgres, `pg` holds its
/// settings (and `r.store` is a placeholder).
fn apply_env(r: &mut Resolved, pg: &mut Option<PgDraft>, over: &EnvOverrides) {
    if let Some(h) = &over.host {
        r.host.clone_from(h);
    }
    if let Some(p) = over.port {
        r.port = p;
    }
    match over.store {
        Some(StoreKind::Sqlite) if pg.is_some() => {
            *pg = None;
            r.store = StorePlan::Sqlite {
                path: DEFAULT_SQLITE_PATH.into(),
                seed: None,
            };
        }
        Some(StoreKind::Sqlite) => {
            if let StorePlan::Memory {
                data_file,
                save_on_shutdown,
            } = &r.store
            {
                if *save_on_shutdown {
                    tracing::warn!(
                        "save_on_shutdown is ignored with TAXIID_STORE=sqlite: the store keeps every write"
                    );
                }
                r.store = StorePlan::Sqlite {
                    path: DEFAULT_SQLITE_PATH.into(),
                    seed: data_file.clone(),
                };
            }
        }
        Some(StoreKind::Memory) if pg.is_some() || !matches!(r.store, StorePlan::Memory { .. }) => {
            *pg = None;
            r.store = StorePlan::Memory {
                data_file: None,
                save_on_shutdown: false,
            };
        }
        Some(StoreKind::Postgres) if pg.is_none() => {
            // As with sqlite, a medallion data file seeds a new database.
            let seed = match &r.store {
                StorePlan::Memory {
                    data_file,
                    save_on_shutdown,
                } => {
                    if *save_on_shutdown {
                        tracing::warn!(
                            "save_on_shutdown is ignored with TAXIID_STORE=postgres: the database keeps every write"
                        );
                    }
                    data_file.clone()
                }
                _ => None,
            };
            *pg = Some(PgDraft::new(seed));
        }
        _ => {}
    }
    if let Some(draft) = pg.as_mut() {
        if let Some(url) = &over.postgres_url {
            draft.url = Some(UrlSource::Inline {
                url: PgUrlText(url.clone()),
                from: "environment: TAXIID_POSTGRES_URL".into(),
            });
        } else if let Some(path) = &over.postgres_url_file {
            draft.url = Some(UrlSource::File {
                path: path.clone(),
                from: "environment: TAXIID_POSTGRES_URL_FILE".into(),
            });
        }
    }
    if let Some(p) = &over.sqlite_path {
        match &mut r.store {
            StorePlan::Sqlite { path, .. } => path.clone_from(p),
            _ => tracing::warn!("TAXIID_SQLITE_PATH is ignored: the store is not sqlite"),
        }
    }
    if let Some(n) = over.max_page_size {
        r.max_page_size = n;
    }
    if let Some(s) = &over.next_token_secret {
        r.next_token_secret = Some(s.clone());
    }
    if let Some(files) = &over.tls {
        r.transport.tls = Some(files.clone());
    }
    if let Some(address) = &over.admin_listen {
        r.transport.admin_listen = Some(address.clone());
    }
    r.admin = AdminAccount {
        user: over.admin_user.clone(),
        password: over.admin_password.clone(),
    };
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
