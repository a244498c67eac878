//! The PostgreSQL connection URL: where it comes from (the configuration, a file, the
//! environment), its checks, and the redacted form every message shows, because the URL may
//! hold a password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A checked `postgres://` URL. `Debug` and [`PgUrl::redacted`] never show a password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.redacted())
    }
}

/// Where a URL was given, for messages: `"taxiid.toml: store.url"`, or a file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// The URL itself, and the place that gave it.
    Inline { url: PgUrlText, from: String },
    /// A file holding the URL, and the place that named it.
    File { path: PathBuf, from: String },
}

/// An unchecked URL as written; never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrlText(pub String);

impl fmt::Debug for PgUrlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl UrlSource {
    /// Reads the file if it is one, trims the text and checks it; the error starts with the
    /// place that gave the URL and never holds the URL.
    pub fn read(&self) -> Result<PgUrl, String> {
        match self {
            UrlSource::Inline { url, from } => {
                PgUrl::parse(&url.0).map_err(|e| format!("{from}: {e}"))
            }
            UrlSource::File { path, from } => {
                let text = read_url_file(path).map_err(|e| format!("{from}: {e}"))?;
                PgUrl::parse(&text)
                    .map_err(|e| format!("{from}: {}: holds no usable URL: {e}", path.display()))
            }
        }
    }
}

fn read_url_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot be read: {e}", path.display()))
}

impl PgUrl {
    /// Checks the text (surrounding whitespace, such as a file's trailing newline, is
    /// dropped): a `postgres://` or `postgresql://` URL that the driver accepts.
    pub fn parse(text: &str) -> Result<PgUrl, String> {
        let url = text.trim();
        if url.is_empty() {
            return Err("the PostgreSQL URL is empty".into());
        }
        let scheme = url.split("://").next().unwrap_or_default();
        if !url.contains("://")
            || !(scheme.eq_ignore_ascii_case("postgres")
                || scheme.eq_ignore_ascii_case("postgresql"))
        {
            return Err(
                "the PostgreSQL URL must start with postgres:// (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
                    .into(),
            );
        }
        sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|e| format!("the PostgreSQL URL is not valid: {e}"))?;
        Ok(PgUrl(url.to_owned()))
    }

    /// The URL, password included, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password (in the user part or a `password=` parameter) replaced by
    /// `***`, for logs and `--conf-check`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<postgres URL>".into();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_without_showing_them() {
        for ok in [
            "postgres://taxiid:s3cret@db.example:5432/taxii",
            "postgresql://db/taxii",
            "  postgres://localhost/taxii?sslmode=require\n",
            "postgres:///taxii?host=/var/run/postgresql",
        ] {
            assert!(PgUrl::parse(ok).is_ok(), "{ok}");
        }
        for (bad, needle) in [
            ("", "empty"),
            ("\n", "empty"),
            ("mysql://u:s3cret@h/d", "postgres://"),
            ("host=localhost password=s3cret", "postgres://"),
            ("postgres://u:s3cret@h:notaport/d", "not valid"),
        ] {
            let e = PgUrl::parse(bad).unwrap_err();
            assert!(e.contains(needle) && !e.contains("s3cret"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_redacted_form_hides_passwords_only() {
        let cases = [
            (
                "postgres://taxiid:s3cret@db.example:5432/taxii",
                "postgres://taxiid:***@db.example:5432/taxii",
            ),
            ("postgres://taxiid@db/taxii", "postgres://taxiid@db/taxii"),
            (
                "postgres://db/taxii?user=u&password=s3cret&sslmode=require",
                "postgres://db/taxii?user=u&password=***&sslmode=require",
            ),
            ("postgresql://db", "postgresql://db"),
            ("postgres://u:p%40ss@h/d", "postgres://u:***@h/d"),
        ];
        for (url, shown) in cases {
            let u = PgUrl::parse(url).unwrap();
            assert_eq!(u.redacted(), shown);
            assert_eq!(format!("{u:?}"), format!("PgUrl({shown})"));
            assert_eq!(u.expose(), url);
        }
    }

    #[test]
    fn a_url_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pg-url");
        std::fs::write(&path, "postgres://u:s3cret@h/d\n").unwrap();
        let from = "taxiid.toml: store.url_file".to_owned();
        let url = UrlSource::File {
            path: path.clone(),
            from: from.clone(),
        }
        .read()
        .unwrap();
        assert_eq!(url.expose(), "postgres://u:s3cret@h/d");
        std::fs::write(&path, "s3cret\n").unwrap();
        let e = UrlSource::File {
            path,
            from: from.clone(),
        }
        .read()
        .unwrap_err();
        assert!(
            e.starts_with(&from) && e.contains("pg-url") && !e.contains("s3cret"),
            "{e}"
        );
        let e = UrlSource::File {
            path: dir.path().join("missing"),
            from,
        }
        .read()
        .unwrap_err();
        assert!(e.contains("missing: cannot be read"), "{e}");
    }
}
