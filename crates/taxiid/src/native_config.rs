//! taxiid's own configuration file: TOML (or JSON of the same shape), read into typed structs
//! that refuse unknown keys, then checked and turned into a [`NativeConfig`]. The commented
//! example `config/taxiid.example.toml` documents every key and is what
//! `--print-default-config` prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value};
use taxii_model::media::TAXII_21;
use taxii_store::Grant;

/// The commented example configuration (every key, with its default).
pub const EXAMPLE: &str = include_str!("../../../config/taxiid.example.toml");

/// Where the SQLite store lives unless configured otherwise (relative to the working directory).
pub const DEFAULT_SQLITE_PATH: &str = "taxiid-data/taxiid.sqlite3";
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 10 * 1024 * 1024;
/// postgres: connections per node unless configured otherwise.
pub const DEFAULT_PG_POOL_SIZE: u32 = 10;
/// postgres: seconds a statement may run unless configured otherwise.
pub const DEFAULT_PG_STATEMENT_TIMEOUT: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NativeFile {
    pub server: ServerSection,
    pub store: StoreSection,
    pub taxii: TaxiiSection,
    pub discovery: Option<DiscoverySection>,
    pub api_roots: Vec<ApiRootSection>,
    pub users: BTreeMap<String, String>,
    /// Group name → user names; a collection's `read`/`write` list names a group as `@name`.
    pub groups: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub host: String,
    pub port: u16,
    /// PEM certificate chain and private key: serve HTTPS (`transport.rs`).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP on an address other than loopback (behind a TLS-terminating proxy).
    pub plain_http: Option<bool>,
    pub header_timeout: Option<u64>,
    pub max_header_bytes: Option<usize>,
    pub max_connections: Option<usize>,
    pub max_connections_per_client: Option<usize>,
    pub max_concurrent_requests: Option<usize>,
    pub body_timeout: Option<u64>,
    pub max_auth_failures_per_minute: Option<u32>,
    /// Who may read `/metrics`: "authenticated" (default), "public" or "off".
    pub metrics: Option<String>,
    pub max_requests_per_user_per_second: Option<u32>,
    pub request_burst_per_user: Option<u32>,
    /// PEM CA certificates that sign client certificates: ask TLS clients for one (mTLS).
    pub tls_client_ca: Option<PathBuf>,
    /// "optional" (default: clients without a certificate log in otherwise) or "required".
    pub tls_client_auth: Option<String>,
    /// `HOST:PORT` of a second, plain-HTTP listener for probes and metrics only.
    pub admin_listen: Option<String>,
    /// Addresses or networks (CIDR) of proxies whose `X-Forwarded-For`/`-Proto` are believed.
    pub trusted_proxies: Option<Vec<String>>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            host: "127.0.0.1".into(),
            port: 5000,
            tls_cert: None,
            tls_key: None,
            plain_http: None,
            header_timeout: None,
            max_header_bytes: None,
            max_connections: None,
            max_connections_per_client: None,
            max_concurrent_requests: None,
            body_timeout: None,
            max_auth_failures_per_minute: None,
            metrics: None,
            max_requests_per_user_per_second: None,
            request_burst_per_user: None,
            tls_client_ca: None,
            tls_client_auth: None,
            admin_listen: None,
            trusted_proxies: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    #[serde(rename = "type")]
    pub kind: StoreKind,
    /// sqlite: the database file.
    pub path: Option<PathBuf>,
    /// memory: a medallion data file to load.
    pub data_file: Option<PathBuf>,
    /// memory: write the data file back on shutdown.
    pub save_on_shutdown: bool,
    /// postgres: the connection URL (`postgres://user:password@host:port/database`).
    pub url: Option<String>,
    /// postgres: a file holding the connection URL (so the password need not sit here).
    pub url_file: Option<PathBuf>,
    /// postgres: connections per node (default [`DEFAULT_PG_POOL_SIZE`]).
    pub pool_size: Option<u32>,
    /// postgres: seconds a statement may run (default [`DEFAULT_PG_STATEMENT_TIMEOUT`]).
    pub statement_timeout: Option<u64>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            kind: StoreKind::Sqlite,
            path: None,
            data_file: None,
            save_on_shutdown: false,
            url: None,
            url_file: None,
            pool_size: None,
            statement_timeout: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxiiSection {
    pub max_page_size: u64,
    pub status_retention: i64,
    pub status_check_interval: u64,
    pub max_content_length: u64,
    pub next_token_secret: Option<String>,
    /// Leave collections the caller may neither read nor write out of listings, and answer
    /// 404 for them, as if they did not exist.
    pub hide_inaccessible_collections: bool,
    /// Serve STIX 2.1 objects to TAXII 2.0 clients too (by default they get STIX 2.0 only).
    pub taxii20_serves_stix21: bool,
}

impl Default for TaxiiSection {
    fn default() -> Self {
        TaxiiSection {
            max_page_size: 100,
            status_retention: 86_400,
            status_check_interval: 10,
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            next_token_secret: None,
            hide_inaccessible_collections: false,
            taxii20_serves_stix21: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoverySection {
    pub title: Option<String>,
    pub description: Option<String>,
    pub contact: Option<String>,
    /// An API root path (`api1`), or a URL, served as the discovery `default`.
    pub default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRootSection {
    pub path: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub max_content_length: Option<u64>,
    #[serde(default)]
    pub collections: Vec<CollectionSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionSection {
    pub id: Option<String>,
    pub alias: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub media_types: Option<Vec<String>>,
    #[serde(default = "everyone")]
    pub read: Access,
    #[serde(default = "nobody")]
    pub write: Access,
}

/// `true`, `false`, `"public"` (unauthenticated callers too; read only) or a list of user
/// names and `@group`s (expanded by [`check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access(pub Grant);

fn everyone() -> Access {
    Access(Grant::Everyone)
}

fn nobody() -> Access {
    Access(Grant::Nobody)
}

impl<'de> Deserialize<'de> for Access {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Access;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false, \"public\" or a list of user names and @groups")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Access, E> {
                Ok(Access(Grant::from_flag(b)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Access, E> {
                match s {
                    "public" => Ok(Access(Grant::Public)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Access, A::Error> {
                let mut users = BTreeSet::new();
                while let Some(u) = seq.next_element::<String>()? {
                    users.insert(u);
                }
                Ok(Access(Grant::Users(users)))
            }
        }
        d.deserialize_any(V)
    }
}

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Toml,
    Json,
}

/// Reads the file's text; the error is one line (with the line and column of the problem).
pub fn parse(text: &str, syntax: Syntax) -> Result<NativeFile, String> {
    match syntax {
        Syntax::Json => {
            taxii_model::json::check_unique_names(text)?;
            serde_json::from_str(text).map_err(|e| format!("is not a valid configuration: {e}"))
        }
        Syntax::Toml => toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line} column {column}")
            });
            let message = e.message().trim().replace('\n', "; ");
            format!(
                "is not a valid configuration: {message}{}",
                at.unwrap_or_default()
            )
        }),
    }
}

/// The API roots, collections and discovery information a native config declares; written
/// into the store at every start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub discovery: Option<DiscoverySection>,
    pub api_roots: Vec<RootPlan>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RootPlan {
    pub name: String,
    pub information: Map<String, Value>,
    pub collections: Vec<CollectionPlan>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectionPlan {
    /// `None`: keep the id of the stored collection with the same alias, else generate one.
    pub id: Option<String>,
    pub alias: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub media_types: Option<Vec<String>>,
    pub read: Grant,
    pub write: Grant,
}

/// Whether `name` can be an API root path: segments of URL-safe characters, no empty ones.
fn valid_root_name(name: &str) -> bool {
    name != "taxii2"
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
        })
}

/// A UUID in canonical lowercase form (TAXII collection ids).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// Checks the sections that need more than their types, and builds the layout.
pub fn check(file: &NativeFile) -> Result<Layout, String> {
    let t = &file.taxii;
    if t.max_page_size == 0 {
        return Err("'taxii.max_page_size' must be at least 1".into());
    }
    if t.status_retention < -1 {
        return Err("'taxii.status_retention' must be -1 (keep forever) or seconds".into());
    }
    if t.status_check_interval == 0 {
        return Err("'taxii.status_check_interval' must be at least 1 second".into());
    }
    if t.max_content_length == 0 {
        return Err("'taxii.max_content_length' must be at least 1 byte".into());
    }
    if t.next_token_secret.as_ref().is_some_and(|s| s.len() < 16) {
        return Err("'taxii.next_token_secret' must be at least 16 characters".into());
    }
    check_store(&file.store)?;
    check_users(&file.users)?;
    check_groups(&file.groups)?;
    let mut names = BTreeSet::new();
    let mut api_roots = Vec::new();
    for (i, r) in file.api_roots.iter().enumerate() {
        let at = format!("api_roots[{i}]");
        let name = r.path.trim_matches('/').to_owned();
        if !valid_root_name(&name) {
            return Err(format!(
                "'{at}.path' = '{}' is not a usable API root path (segments of letters, digits, '-', '.', '_', '~'; not 'taxii2')",
                r.path
            ));
        }
        if !names.insert(name.clone()) {
            return Err(format!("API root '{name}' is configured twice"));
        }
        let mcl = r.max_content_length.unwrap_or(t.max_content_length);
        if mcl == 0 {
            return Err(format!("'{at}.max_content_length' must be at least 1 byte"));
        }
        let mut information = Map::new();
        information.insert(
            "title".into(),
            r.title.clone().unwrap_or(name.clone()).into(),
        );
        if let Some(d) = &r.description {
            information.insert("description".into(), d.clone().into());
        }
        information.insert("versions".into(), Value::Array(vec![TAXII_21.into()]));
        information.insert("max_content_length".into(), mcl.into());
        let collections = check_collections(&r.collections, &at, &file.groups)?;
        api_roots.push(RootPlan {
            name,
            information,
            collections,
        });
    }
    Ok(Layout {
        discovery: file.discovery.clone(),
        api_roots,
    })
}

fn check_store(s: &StoreSection) -> Result<(), String> {
    let misplaced = |key: &str, kind: &str| {
        Err(format!(
            "'store.{key}' applies to the {kind} store only (store.type is \"{}\")",
            s.kind.name()
        ))
    };
    if s.path.is_some() && s.kind != StoreKind::Sqlite {
        return misplaced("path", "sqlite");
    }
    if s.data_file.is_some() && s.kind != StoreKind::Memory {
        return misplaced("data_file", "memory");
    }
    if s.save_on_shutdown && s.kind != StoreKind::Memory {
        return misplaced("save_on_shutdown", "memory");
    }
    if s.save_on_shutdown && s.data_file.is_none() {
        return Err("'store.save_on_shutdown' needs 'store.data_file' to save to".into());
    }
    let postgres_keys = [
        ("url", s.url.is_some()),
        ("url_file", s.url_file.is_some()),
        ("pool_size", s.pool_size.is_some()),
        ("statement_timeout", s.statement_timeout.is_some()),
    ];
    if s.kind != StoreKind::Postgres
        && let Some((key, _)) = postgres_keys.iter().find(|(_, set)| *set)
    {
        return misplaced(key, "postgres");
    }
    if s.url.is_some() && s.url_file.is_some() {
        return Err("give 'store.url' or 'store.url_file', not both".into());
    }
    if s.pool_size == Some(0) {
        return Err("'store.pool_size' must be at least 1 connection".into());
    }
    if s.statement_timeout == Some(0) {
        return Err("'store.statement_timeout' must be at least 1 second".into());
    }
    Ok(())
}

fn check_users(users: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, secret) in users {
        if name.is_empty() || name.contains(':') {
            return Err(format!(
                "user name '{name}' cannot be used with HTTP Basic (empty or contains ':')"
            ));
        }
        if taxii_server::auth::is_password_hash(secret)
            && let Some(problem) = taxii_server::auth::password_hash_problem(secret)
        {
            return Err(format!("the password hash of user '{name}' {problem}"));
        }
    }
    Ok(())
}

fn check_groups(groups: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    for (name, members) in groups {
        if name.is_empty() || name.starts_with('@') {
            return Err(format!(
                "group name '{name}' must be non-empty and is written without '@'"
            ));
        }
        if let Some(m) = members.iter().find(|m| m.is_empty() || m.contains(':')) {
            return Err(format!(
                "'groups.{name}' lists '{m}', which cannot be a user name"
            ));
        }
    }
    Ok(())
}

/// A grant with its `@group`s replaced by their members.
fn expand_groups(
    access: &Access,
    at: &str,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<Grant, String> {
    let Grant::Users(names) = &access.0 else {
        return Ok(access.0.clone());
    };
    let mut users = BTreeSet::new();
    for name in names {
        match name.strip_prefix('@') {
            Some(group) => {
                let members = groups.get(group).ok_or_else(|| {
                    format!("'{at}' names group '@{group}', which [groups] does not define")
                })?;
                users.extend(members.iter().cloned());
            }
            None => {
                users.insert(name.clone());
            }
        }
    }
    Ok(Grant::Users(users))
}

fn check_collections(
    cs: &[CollectionSection],
    root_at: &str,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<CollectionPlan>, String> {
    let mut ids = BTreeSet::new();
    let mut aliases = BTreeSet::new();
    let mut out = Vec::new();
    for (j, c) in cs.iter().enumerate() {
        let at = format!("{root_at}.collections[{j}]");
        if let Some(id) = &c.id {
            if !is_uuid(id) {
                return Err(format!(
                    "'{at}.id' = '{id}' is not a UUID in lowercase canonical form"
                ));
            }
            if !ids.insert(id.clone()) {
                return Err(format!("{at}: collection id '{id}' appears twice"));
            }
        }
        if let Some(alias) = &c.alias {
            if alias.is_empty() || alias.contains('/') {
                return Err(format!("'{at}.alias' must be non-empty and without '/'"));
            }
            if !aliases.insert(alias.clone()) {
                return Err(format!("{at}: alias '{alias}' is used by two collections"));
            }
        }
        if c.id.is_none() && c.alias.is_none() {
            return Err(format!(
                "{at}: a collection needs an 'id' or an 'alias' (so that restarts find it again)"
            ));
        }
        if c.write.0 == Grant::Public {
            return Err(format!(
                "'{at}.write' cannot be \"public\": adding objects always needs credentials"
            ));
        }
        let title = match (&c.title, &c.alias, &c.id) {
            (Some(t), _, _) => t.clone(),
            (None, Some(a), _) => a.clone(),
            (None, None, id) => format!("Collection {}", id.as_deref().unwrap_or_default()),
        };
        out.push(CollectionPlan {
            id: c.id.clone(),
            alias: c.alias.clone(),
            title,
            description: c.description.clone(),
            media_types: c.media_types.clone(),
            read: expand_groups(&c.read, &format!("{at}.read"), groups)?,
            write: expand_groups(&c.write, &format!("{at}.write"), groups)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "native_config_tests.rs"]
mod tests;
