//! The sections only medallion 1.x (the TAXII 2.0 line) had: `auth` (users with werkzeug
//! hashes and `api_keys`), `multi-auth`, `flask`, and its directory backend. What taxiid can
//! serve is taken; what it cannot is a start-up error (it would change who gets in or what is
//! served) or a notice (it only loses a way in that has another).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::ConfigError;

/// What the 1.x sections add to a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V1Auth {
    /// `auth.users`: name → password hash (or plaintext).
    pub users: BTreeMap<String, String>,
    /// `auth.api_keys`: key → user, sent as `Authorization: Token <key>`.
    pub api_keys: BTreeMap<String, String>,
    /// Things the configuration asks for that taxiid leaves out, for the start-up log.
    pub notices: Vec<String>,
}

fn problem<T>(text: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError {
        source: "configuration".into(),
        problem: text.into(),
    })
}

fn strings(
    m: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let Some(v) = m.get(key) else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(entries) = v else {
        return problem(format!("'auth.{key}' must be a JSON object"));
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        let Value::String(s) = v else {
            return problem(format!(
                "the {what} of '{k}' in 'auth.{key}' must be a string"
            ));
        };
        out.insert(k.clone(), s.clone());
    }
    Ok(out)
}

/// Reads `auth`, `multi-auth` and `flask` of a merged configuration document.
pub fn read(top: &Map<String, Value>) -> Result<V1Auth, ConfigError> {
    let mut out = V1Auth::default();
    match top.get("auth") {
        None => {}
        Some(Value::Object(auth)) => {
            match auth.get("module_class").and_then(Value::as_str) {
                None | Some("AuthMemoryBackend") => {}
                Some("AuthMongodbBackend") => {
                    return problem(
                        "'auth.module_class' AuthMongodbBackend is not supported by taxiid: list the users in 'auth.users' (werkzeug hashes are accepted) or manage them with `taxiid user`",
                    );
                }
                Some(other) => {
                    return problem(format!("unknown 'auth.module_class' '{other}'"));
                }
            }
            out.users = strings(auth, "users", "password")?;
            out.api_keys = strings(auth, "api_keys", "user")?;
        }
        Some(_) => return problem("'auth' must be a JSON object"),
    }
    match top.get("multi-auth") {
        None => {}
        Some(Value::Array(ways)) => {
            for way in ways {
                match way.as_str() {
                    Some("basic" | "api_key") => {}
                    Some("jwt") => out.notices.push(
                        "'multi-auth' lists jwt: taxiid has no /login endpoint and accepts no JWTs; clients must use Basic or an API key (Authorization: Token <key>)".into(),
                    ),
                    _ => {
                        return problem(format!(
                            "'multi-auth' holds {way}; medallion knew basic, api_key and jwt"
                        ));
                    }
                }
            }
        }
        Some(_) => return problem("'multi-auth' must be a list"),
    }
    if top.contains_key("flask") {
        out.notices.push(
            "the 'flask' section is ignored (taxiid is not a Flask application; its SECRET_KEY and JWT_EXP served medallion's JWT logins)".into(),
        );
    }
    Ok(out)
}

/// The directory backend of medallion 1.x, refused with what to do instead.
pub fn refuse_directory_backend(backend: &Map<String, Value>) -> Result<(), ConfigError> {
    let class = backend.get("module_class").and_then(Value::as_str);
    if class == Some("DirectoryBackend") || backend.contains_key("load_from_path") {
        return problem(
            "medallion 1.x's DirectoryBackend (backend.path) is not supported: import each collection's bundles with `taxiid import <bundle.json> --api-root <root> --collection <id>`, or use a MemoryBackend data file",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_json(v: Value) -> Result<V1Auth, ConfigError> {
        match v {
            Value::Object(m) => read(&m),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn the_auth_section_gives_users_and_api_keys() {
        let a = read_json(json!({
            "auth": {
                "module": "medallion.backends.auth.memory_auth",
                "module_class": "AuthMemoryBackend",
                "users": {"admin": "pbkdf2:sha256:150000$x$y"},
                "api_keys": {"123456": "admin"}
            },
            "multi-auth": ["basic", "api_key"]
        }))
        .unwrap();
        assert_eq!(a.users["admin"], "pbkdf2:sha256:150000$x$y");
        assert_eq!(a.api_keys["123456"], "admin");
        assert!(a.notices.is_empty());
    }

    #[test]
    fn what_taxiid_leaves_out_is_said() {
        let a = read_json(json!({"multi-auth": ["basic", "jwt"], "flask": {"SECRET_KEY": "x"}}))
            .unwrap();
        assert_eq!(a.notices.len(), 2);
        assert!(a.notices[0].contains("jwt"), "{:?}", a.notices);
        assert!(a.notices[1].contains("flask"), "{:?}", a.notices);
    }

    #[test]
    fn unsupported_or_malformed_sections_are_errors() {
        for bad in [
            json!({"auth": {"module_class": "AuthMongodbBackend", "uri": "mongodb://x"}}),
            json!({"auth": {"module_class": "Other"}}),
            json!({"auth": []}),
            json!({"auth": {"users": {"a": 1}}}),
            json!({"auth": {"api_keys": ["k"]}}),
            json!({"multi-auth": ["kerberos"]}),
            json!({"multi-auth": "basic"}),
        ] {
            assert!(read_json(bad.clone()).is_err(), "{bad}");
        }
        let dir = json!({"module_class": "DirectoryBackend", "path": "/var/taxii"});
        let e = refuse_directory_backend(dir.as_object().unwrap()).unwrap_err();
        assert!(e.problem.contains("DirectoryBackend"), "{e}");
    }
}
