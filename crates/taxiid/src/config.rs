//! medallion-compatible configuration: a JSON config file, a directory of JSON files merged in
//! file-name order, then the `MEDALLION_*` environment variables (later wins; objects merge
//! recursively, other values are replaced, as medallion's jsonmerge does).
//!
//! Accepted shapes: medallion 3.x (`backend.module_class` = `MemoryBackend` + `filename`,
//! `module` ignored), and the older `{"backend": {"type": "memory", "data_file": …}}`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// medallion's default locations (appdirs' site config dir on Linux); missing defaults are
/// skipped silently, missing explicit paths are errors.
pub const DEFAULT_CONF_FILE: &str = "/etc/xdg/medallion/3/medallion.conf";
pub const DEFAULT_CONF_DIR: &str = "/etc/xdg/medallion/3/config.d";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or "environment", "configuration") the problem is in.
    pub source: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn cfg_err<T>(source: impl Into<String>, problem: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError {
        source: source.into(),
        problem: problem.into(),
    })
}

/// Where configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `None` means the default file, used only if it exists.
    pub conf_file: Option<PathBuf>,
    /// `None` means the default directory, used only if it exists.
    pub conf_dir: Option<PathBuf>,
    pub use_conf_dir: bool,
}

/// Which store serves the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// No backend configured: the built-in default API root and collection.
    Default,
    /// medallion's memory backend, optionally loaded from a data file.
    Memory { filename: Option<PathBuf> },
}

/// The interpreted configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub backend: BackendConfig,
    /// `None` when the configuration names no users.
    pub users: Option<BTreeMap<String, String>>,
    pub max_page_size: usize,
    pub interop_requirements: bool,
    /// Seconds a status is kept; `None` keeps statuses forever.
    pub status_retention: Option<i64>,
    /// Seconds between status purges.
    pub check_interval: u64,
    /// Write the memory store back to its data file on shutdown (a taxiid extension).
    pub save_on_shutdown: bool,
    /// Key for `next` tokens (a taxiid extension, `taxii.next_token_secret`).
    pub next_token_secret: Option<String>,
    /// medallion 1.x's `auth.api_keys`: key → user.
    pub api_keys: BTreeMap<String, String>,
    /// What the configuration asks for and taxiid leaves out, for the start-up log.
    pub notices: Vec<String>,
    /// Files that were read, in merge order.
    pub files: Vec<PathBuf>,
}

/// Recursive merge: objects merge key by key, anything else is replaced.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn read_json_object(path: &Path) -> Result<Value, ConfigError> {
    let src = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return cfg_err(src, format!("cannot be read: {e}")),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(_)) if let Err(e) = taxii_model::json::check_unique_names(&text) => {
            cfg_err(src, e)
        }
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => cfg_err(src, "must contain a JSON object"),
        Err(e) => cfg_err(src, format!("is not valid JSON: {e}")),
    }
}

/// Reads and merges the file, the directory and the environment into one JSON document.
pub fn load_document(
    sources: &Sources,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Value, Vec<PathBuf>), ConfigError> {
    let mut doc = Value::Object(Map::new());
    let mut files = Vec::new();
    let file = match &sources.conf_file {
        Some(p) if !p.is_file() => {
            return cfg_err(p.display().to_string(), "no such configuration file");
        }
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(DEFAULT_CONF_FILE)).filter(|p| p.is_file()),
    };
    if let Some(p) = file {
        merge(&mut doc, read_json_object(&p)?);
        files.push(p);
    }
    if sources.use_conf_dir {
        let dir = match &sources.conf_dir {
            Some(d) if !d.is_dir() => {
                return cfg_err(d.display().to_string(), "no such configuration directory");
            }
            Some(d) => Some(d.clone()),
            None => Some(PathBuf::from(DEFAULT_CONF_DIR)).filter(|d| d.is_dir()),
        };
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(&dir)
                .or_else(|e| cfg_err(dir.display().to_string(), format!("cannot be read: {e}")))?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && matches!(
                            p.extension().and_then(|e| e.to_str()),
                            Some("json" | "conf")
                        )
                })
                .collect();
            paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
            for p in paths {
                merge(&mut doc, read_json_object(&p)?);
                files.push(p);
            }
        }
    }
    apply_env(&mut doc, env)?;
    Ok((doc, files))
}

fn apply_env(doc: &mut Value, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    let mut overlay = Map::new();
    let mut backend = Map::new();
    if let Some(class) = env("MEDALLION_BACKEND_MODULE_CLASS") {
        backend.insert("module_class".into(), class.into());
    }
    let class = backend
        .get("module_class")
        .or_else(|| doc.pointer("/backend/module_class"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // As in medallion, each backend's variables apply only when that backend is selected.
    match class.as_deref() {
        Some("MemoryBackend") => {
            if let Some(f) = env("MEDALLION_BACKEND_MEMORY_FILENAME") {
                backend.insert("filename".into(), f.into());
            }
        }
        Some("MongoBackend") => {
            if let Some(u) = env("MEDALLION_BACKEND_MONGO_URI") {
                backend.insert("uri".into(), u.into());
            }
        }
        _ => {}
    }
    if !backend.is_empty() {
        overlay.insert("backend".into(), Value::Object(backend));
    }
    if let Some(size) = env("MEDALLION_TAXII_MAX_PAGE_SIZE") {
        let Ok(n) = size.trim().parse::<u64>() else {
            return cfg_err(
                "environment",
                format!("MEDALLION_TAXII_MAX_PAGE_SIZE must be an integer, not '{size}'"),
            );
        };
        let mut taxii = Map::new();
        taxii.insert("max_page_size".into(), n.into());
        overlay.insert("taxii".into(), Value::Object(taxii));
    }
    merge(doc, Value::Object(overlay));
    Ok(())
}

fn section<'a>(
    doc: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
    match doc.get(name) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => cfg_err("configuration", format!("'{name}' must be a JSON object")),
    }
}

fn int(m: &Map<String, Value>, key: &str, at: &str) -> Result<Option<i64>, ConfigError> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) => Ok(Some(n)),
            None => cfg_err("configuration", format!("'{at}.{key}' must be an integer")),
        },
    }
}

fn flag(m: &Map<String, Value>, key: &str, at: &str) -> Result<Option<bool>, ConfigError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => cfg_err(
            "configuration",
            format!("'{at}.{key}' must be true or false"),
        ),
    }
}

fn path(m: &Map<String, Value>, key: &str) -> Result<Option<PathBuf>, ConfigError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(PathBuf::from(s))),
        Some(_) => cfg_err(
            "configuration",
            format!("'backend.{key}' must be a path string"),
        ),
    }
}

const MONGO_UNSUPPORTED: &str = "the MongoDB backend is not supported by taxiid; use \"module_class\": \"MemoryBackend\" with a medallion data file (\"filename\"), or leave out the backend section to use the built-in store";

fn backend_config(backend: Option<&Map<String, Value>>) -> Result<BackendConfig, ConfigError> {
    let Some(b) = backend else {
        return Ok(BackendConfig::Default);
    };
    match (b.get("module_class"), b.get("type")) {
        (Some(Value::String(class)), _) => match class.as_str() {
            "MemoryBackend" => Ok(BackendConfig::Memory {
                filename: path(b, "filename")?,
            }),
            "MongoBackend" => cfg_err("configuration", MONGO_UNSUPPORTED),
            other => cfg_err(
                "configuration",
                format!(
                    "unknown backend '{other}' in backend.module_class (taxiid serves MemoryBackend data)"
                ),
            ),
        },
        (Some(_), _) => cfg_err("configuration", "'backend.module_class' must be a string"),
        (None, Some(Value::String(t))) if t == "memory" => Ok(BackendConfig::Memory {
            filename: path(b, "data_file")?,
        }),
        (None, Some(Value::String(t))) if t == "mongodb" => {
            cfg_err("configuration", MONGO_UNSUPPORTED)
        }
        (None, Some(t)) => cfg_err("configuration", format!("unknown backend type {t}")),
        (None, None) => cfg_err("configuration", "the backend section has no 'module_class'"),
    }
}

/// Interprets a merged document.
pub fn interpret(doc: &Value, files: Vec<PathBuf>) -> Result<Config, ConfigError> {
    let Value::Object(top) = doc else {
        return cfg_err("configuration", "must be a JSON object");
    };
    let backend_section = section(top, "backend")?;
    if let Some(b) = backend_section {
        crate::config_v1::refuse_directory_backend(b)?;
    }
    let backend = backend_config(backend_section)?;
    let v1 = crate::config_v1::read(top)?;
    let empty = Map::new();
    let b = backend_section.unwrap_or(&empty);
    let users = match section(top, "users")? {
        None => None,
        Some(m) => {
            let mut users = BTreeMap::new();
            for (name, v) in m {
                let Value::String(p) = v else {
                    return cfg_err(
                        "configuration",
                        format!("the password of user '{name}' must be a string"),
                    );
                };
                users.insert(name.clone(), p.clone());
            }
            Some(users)
        }
    };
    // medallion 1.x kept its users under `auth`; a top-level entry of the same name wins.
    let users = match (users, v1.users.is_empty()) {
        (users, true) => users,
        (None, false) => Some(v1.users),
        (Some(mut top_level), false) => {
            for (name, secret) in v1.users {
                top_level.entry(name).or_insert(secret);
            }
            Some(top_level)
        }
    };
    let taxii = section(top, "taxii")?.unwrap_or(&empty);
    let max_page_size = match int(taxii, "max_page_size", "taxii")? {
        None => 100,
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            return cfg_err(
                "configuration",
                format!("'taxii.max_page_size' must be at least 1, not {n}"),
            );
        }
    };
    let interop = flag(taxii, "interop_requirements", "taxii")?.unwrap_or(false);
    let cleanup = flag(b, "run_cleanup_threads", "backend")?.unwrap_or(true);
    let retention = int(b, "status_retention", "backend")?.unwrap_or(86_400);
    if retention < -1 {
        return cfg_err(
            "configuration",
            "'backend.status_retention' must be -1 (keep forever) or a number of seconds",
        );
    }
    if interop && (!cleanup || (retention != -1 && retention < 86_400)) {
        return cfg_err(
            "configuration",
            "with taxii.interop_requirements, statuses must be kept at least 24 hours (status_retention >= 86400 and run_cleanup_threads true)",
        );
    }
    let check_interval = match int(b, "check_interval", "backend")? {
        None => 10,
        Some(n) if n >= 1 => n.unsigned_abs(),
        Some(_) => {
            return cfg_err(
                "configuration",
                "'backend.check_interval' must be at least 1 second",
            );
        }
    };
    let next_token_secret = match taxii.get("next_token_secret") {
        None => None,
        Some(Value::String(s)) if s.len() >= 16 => Some(s.clone()),
        Some(_) => {
            return cfg_err(
                "configuration",
                "'taxii.next_token_secret' must be a string of at least 16 characters",
            );
        }
    };
    Ok(Config {
        backend,
        users,
        max_page_size,
        interop_requirements: interop,
        status_retention: (cleanup && retention != -1).then_some(retention),
        check_interval,
        save_on_shutdown: flag(b, "save_on_shutdown", "backend")?.unwrap_or(false),
        next_token_secret,
        api_keys: v1.api_keys,
        notices: v1.notices,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn from(v: Value) -> Result<Config, ConfigError> {
        interpret(&v, vec![])
    }

    #[test]
    fn medallion_3_memory_config_is_understood() {
        let c = from(json!({
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                        "filename": "data.json", "session_timeout": 30, "check_interval": 5, "status_retention": 3600},
            "users": {"admin": "Password0", "user1": "Password1"},
            "taxii": {"max_page_size": 20}
        })).unwrap();
        assert_eq!(
            c.backend,
            BackendConfig::Memory {
                filename: Some("data.json".into())
            }
        );
        assert_eq!(c.users.unwrap().len(), 2);
        assert_eq!(c.max_page_size, 20);
        assert_eq!(c.status_retention, Some(3600));
        assert_eq!(c.check_interval, 5);
    }

    #[test]
    fn the_old_type_memory_form_is_understood() {
        let c = from(json!({"backend": {"type": "memory", "data_file": "d.json"}})).unwrap();
        assert_eq!(
            c.backend,
            BackendConfig::Memory {
                filename: Some("d.json".into())
            }
        );
    }

    #[test]
    fn defaults_apply_without_sections() {
        let c = from(json!({})).unwrap();
        assert_eq!(c.backend, BackendConfig::Default);
        assert_eq!(c.users, None);
        assert_eq!(c.max_page_size, 100);
        assert_eq!(c.status_retention, Some(86_400));
        let forever =
            from(json!({"backend": {"module_class": "MemoryBackend", "status_retention": -1}}))
                .unwrap();
        assert_eq!(forever.status_retention, None);
    }

    #[test]
    fn mongo_and_unknown_backends_are_refused_with_advice() {
        let e = from(json!({"backend": {"module_class": "MongoBackend", "uri": "mongodb://x"}}))
            .unwrap_err();
        assert!(e.problem.contains("MemoryBackend"), "{e}");
        assert!(from(json!({"backend": {"type": "mongodb"}})).is_err());
        assert!(from(json!({"backend": {"module_class": "Nope"}})).is_err());
        assert!(from(json!({"backend": {"filename": "x"}})).is_err());
    }

    #[test]
    fn interop_mode_requires_a_day_of_status_retention() {
        let e = from(
            json!({"backend": {"module_class": "MemoryBackend", "status_retention": 60},
                            "taxii": {"interop_requirements": true}}),
        )
        .unwrap_err();
        assert!(e.problem.contains("24 hours"));
        assert!(
            from(
                json!({"backend": {"module_class": "MemoryBackend", "run_cleanup_threads": false},
                            "taxii": {"interop_requirements": true}})
            )
            .is_err()
        );
    }

    #[test]
    fn wrong_types_are_reported() {
        assert!(from(json!({"users": {"a": 1}})).is_err());
        assert!(from(json!({"taxii": {"max_page_size": "ten"}})).is_err());
        assert!(from(json!({"taxii": {"max_page_size": 0}})).is_err());
        assert!(from(json!({"backend": "memory"})).is_err());
    }

    #[test]
    fn objects_merge_and_arrays_replace() {
        let mut a = json!({"users": {"a": "1"}, "list": [1, 2], "taxii": {"max_page_size": 5}});
        merge(&mut a, json!({"users": {"b": "2"}, "list": [3]}));
        assert_eq!(
            a,
            json!({"users": {"a": "1", "b": "2"}, "list": [3], "taxii": {"max_page_size": 5}})
        );
    }

    #[test]
    fn files_directory_and_environment_merge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("main.json");
        std::fs::write(
            &file,
            r#"{"users": {"a": "1"}, "taxii": {"max_page_size": 5}}"#,
        )
        .unwrap();
        let confd = dir.path().join("config.d");
        std::fs::create_dir(&confd).unwrap();
        std::fs::write(
            confd.join("20-b.conf"),
            r#"{"taxii": {"max_page_size": 7}}"#,
        )
        .unwrap();
        std::fs::write(
            confd.join("10-a.json"),
            r#"{"users": {"b": "2"}, "taxii": {"max_page_size": 6}}"#,
        )
        .unwrap();
        std::fs::write(confd.join("ignored.txt"), "not json").unwrap();
        let sources = Sources {
            conf_file: Some(file),
            conf_dir: Some(confd.clone()),
            use_conf_dir: true,
        };
        let (doc, files) = load_document(&sources, &no_env).unwrap();
        assert_eq!(files.len(), 3);
        let c = interpret(&doc, files).unwrap();
        assert_eq!(c.max_page_size, 7);
        assert_eq!(c.users.unwrap().len(), 2);
        let env = |k: &str| match k {
            "MEDALLION_TAXII_MAX_PAGE_SIZE" => Some("9".to_owned()),
            "MEDALLION_BACKEND_MODULE_CLASS" => Some("MemoryBackend".to_owned()),
            "MEDALLION_BACKEND_MEMORY_FILENAME" => Some("/data.json".to_owned()),
            _ => None,
        };
        let (doc, files) = load_document(&sources, &env).unwrap();
        let c = interpret(&doc, files).unwrap();
        assert_eq!(c.max_page_size, 9);
        assert_eq!(
            c.backend,
            BackendConfig::Memory {
                filename: Some("/data.json".into())
            }
        );
        std::fs::write(confd.join("30-bad.json"), "[1]").unwrap();
        let e = load_document(&sources, &no_env).unwrap_err();
        assert!(
            e.source.ends_with("30-bad.json") && e.problem.contains("JSON object"),
            "{e}"
        );
    }

    #[test]
    fn a_name_given_twice_in_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dup.json");
        std::fs::write(&file, r#"{"users": {"a": "1", "a": "2"}}"#).unwrap();
        let s = Sources {
            conf_file: Some(file),
            conf_dir: None,
            use_conf_dir: false,
        };
        let e = load_document(&s, &no_env).unwrap_err();
        assert!(
            e.source.ends_with("dup.json") && e.problem.contains("'a' appears twice"),
            "{e}"
        );
    }

    #[test]
    fn explicit_missing_paths_are_errors() {
        let s = Sources {
            conf_file: Some("/nonexistent/taxiid.json".into()),
            conf_dir: None,
            use_conf_dir: false,
        };
        assert!(load_document(&s, &no_env).is_err());
        let s = Sources {
            conf_file: None,
            conf_dir: Some("/nonexistent/dir".into()),
            use_conf_dir: true,
        };
        assert!(load_document(&s, &no_env).is_err());
        let bad = |k: &str| (k == "MEDALLION_TAXII_MAX_PAGE_SIZE").then(|| "x".to_owned());
        let s = Sources::default();
        assert!(load_document(&s, &bad).is_err());
    }
}
