//! The `TAXIID_*` environment variables: fixed names that override the configuration file,
//! whatever its format (native or medallion), and are overridden by command-line flags.

use std::path::PathBuf;

use crate::native_config::StoreKind;

/// The values set (an empty variable counts as unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvOverrides {
    pub config: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub store: Option<StoreKind>,
    pub sqlite_path: Option<PathBuf>,
    /// `TAXIID_POSTGRES_URL`: may hold a password, so it is never shown.
    pub postgres_url: Option<String>,
    /// `TAXIID_POSTGRES_URL_FILE`: a file holding the URL.
    pub postgres_url_file: Option<PathBuf>,
    pub max_page_size: Option<usize>,
    pub next_token_secret: Option<String>,
    pub admin_user: Option<String>,
    pub admin_password: Option<String>,
    /// `TAXIID_TLS_CERT` and `TAXIID_TLS_KEY` (both or neither).
    pub tls: Option<taxii_server::tls::TlsFiles>,
    /// `TAXIID_ADMIN_LISTEN`: `HOST:PORT` of the admin listener.
    pub admin_listen: Option<String>,
}

impl EnvOverrides {
    /// Reads and checks the variables; the error names the variable (never its value when it
    /// is a secret).
    pub fn read(env: &dyn Fn(&str) -> Option<String>) -> Result<EnvOverrides, String> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let port = match get("TAXIID_PORT") {
            None => None,
            Some(p) => Some(p.trim().parse::<u16>().map_err(|_| {
                format!("TAXIID_PORT must be a port number (0 to 65535), not '{p}'")
            })?),
        };
        let store = match get("TAXIID_STORE").as_deref().map(str::trim) {
            None => None,
            Some(s) if s.eq_ignore_ascii_case("memory") => Some(StoreKind::Memory),
            Some(s) if s.eq_ignore_ascii_case("sqlite") => Some(StoreKind::Sqlite),
            Some(s) if s.eq_ignore_ascii_case("postgres") => Some(StoreKind::Postgres),
            Some(s) => {
                return Err(format!(
                    "TAXIID_STORE must be memory, sqlite or postgres, not '{s}'"
                ));
            }
        };
        let max_page_size = match get("TAXIID_MAX_PAGE_SIZE") {
            None => None,
            Some(n) => match n.trim().parse::<usize>() {
                Ok(v) if v >= 1 => Some(v),
                _ => {
                    return Err(format!(
                        "TAXIID_MAX_PAGE_SIZE must be a whole number of at least 1, not '{n}'"
                    ));
                }
            },
        };
        let next_token_secret = get("TAXIID_NEXT_TOKEN_SECRET");
        if next_token_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err("TAXIID_NEXT_TOKEN_SECRET must be at least 16 characters".into());
        }
        let postgres_url = get("TAXIID_POSTGRES_URL");
        let postgres_url_file = get("TAXIID_POSTGRES_URL_FILE").map(PathBuf::from);
        if postgres_url.is_some() && postgres_url_file.is_some() {
            return Err(
                "TAXIID_POSTGRES_URL and TAXIID_POSTGRES_URL_FILE are both set; set one".into(),
            );
        }
        let admin_user = get("TAXIID_ADMIN_USER");
        if admin_user.as_ref().is_some_and(|u| u.contains(':')) {
            return Err("TAXIID_ADMIN_USER cannot contain ':' (HTTP Basic)".into());
        }
        let tls = crate::transport::tls_files(
            get("TAXIID_TLS_CERT").map(PathBuf::from),
            get("TAXIID_TLS_KEY").map(PathBuf::from),
            "TAXIID_TLS_CERT and TAXIID_TLS_KEY",
        )?;
        let admin_listen = get("TAXIID_ADMIN_LISTEN")
            .map(|a| crate::transport::check_listen_address(&a, "TAXIID_ADMIN_LISTEN"))
            .transpose()?;
        Ok(EnvOverrides {
            config: get("TAXIID_CONFIG").map(PathBuf::from),
            host: get("TAXIID_HOST"),
            port,
            store,
            sqlite_path: get("TAXIID_SQLITE_PATH").map(PathBuf::from),
            postgres_url,
            postgres_url_file,
            max_page_size,
            next_token_secret,
            admin_user,
            admin_password: get("TAXIID_ADMIN_PASSWORD"),
            tls,
            admin_listen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<EnvOverrides, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvOverrides::read(&move |k: &str| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn every_variable_is_read() {
        let e = with(&[
            ("TAXIID_CONFIG", "/etc/taxiid.toml"),
            ("TAXIID_HOST", "0.0.0.0"),
            ("TAXIID_PORT", "8080"),
            ("TAXIID_STORE", "Memory"),
            ("TAXIID_SQLITE_PATH", "/var/lib/taxiid/db.sqlite3"),
            ("TAXIID_MAX_PAGE_SIZE", "25"),
            ("TAXIID_NEXT_TOKEN_SECRET", "0123456789abcdef"),
            ("TAXIID_ADMIN_USER", "root"),
            ("TAXIID_ADMIN_PASSWORD", "pw"),
            ("TAXIID_POSTGRES_URL", "postgres://u:p@db/taxii"),
        ])
        .unwrap();
        assert_eq!(e.postgres_url.as_deref(), Some("postgres://u:p@db/taxii"));
        let f = with(&[("TAXIID_POSTGRES_URL_FILE", "/run/secrets/pg")]).unwrap();
        assert_eq!(f.postgres_url_file, Some("/run/secrets/pg".into()));
        assert_eq!(e.config, Some("/etc/taxiid.toml".into()));
        assert_eq!(e.host.as_deref(), Some("0.0.0.0"));
        assert_eq!(e.port, Some(8080));
        assert_eq!(e.store, Some(StoreKind::Memory));
        assert_eq!(e.sqlite_path, Some("/var/lib/taxiid/db.sqlite3".into()));
        assert_eq!(e.max_page_size, Some(25));
        assert_eq!(e.admin_user.as_deref(), Some("root"));
        assert_eq!(e.admin_password.as_deref(), Some("pw"));
        assert_eq!(with(&[]).unwrap(), EnvOverrides::default());
        assert_eq!(with(&[("TAXIID_HOST", "")]).unwrap().host, None);
    }

    #[test]
    fn bad_values_name_the_variable_but_not_secrets() {
        for (k, v) in [
            ("TAXIID_PORT", "70000"),
            ("TAXIID_PORT", "http"),
            ("TAXIID_STORE", "mongodb"),
            ("TAXIID_MAX_PAGE_SIZE", "0"),
            ("TAXIID_MAX_PAGE_SIZE", "many"),
            ("TAXIID_NEXT_TOKEN_SECRET", "short-secret"),
            ("TAXIID_ADMIN_USER", "a:b"),
        ] {
            let e = with(&[(k, v)]).unwrap_err();
            assert!(e.starts_with(k), "{e}");
            if k == "TAXIID_NEXT_TOKEN_SECRET" {
                assert!(!e.contains(v), "{e}");
            }
        }
        let e = with(&[
            ("TAXIID_POSTGRES_URL", "postgres://u:secret@db/taxii"),
            ("TAXIID_POSTGRES_URL_FILE", "/run/secrets/pg"),
        ])
        .unwrap_err();
        assert!(e.contains("set one") && !e.contains("secret@"), "{e}");
    }
}
