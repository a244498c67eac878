//! How the server listens: TLS files and client certificates, whether plain HTTP may face the
//! network, trusted proxies, the admin listener, and the connection and request limits (native
//! `[server]` keys, `TAXIID_TLS_CERT`/`TAXIID_TLS_KEY`, `TAXIID_ADMIN_LISTEN`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use taxii_server::listen::ConnLimits;
use taxii_server::telemetry::MetricsAccess;
use taxii_server::tls::{ClientAuth, Tls, TlsFiles};

use crate::native_config::ServerSection;

/// How often the TLS files are checked for a change.
const RELOAD_CHECK_EVERY: Duration = Duration::from_secs(5);

/// The listening settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    pub tls: Option<TlsFiles>,
    /// Plain HTTP on an address other than loopback was asked for (behind a TLS proxy).
    pub plain_http: bool,
    pub header_timeout_secs: u64,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub max_concurrent_requests: usize,
    pub body_timeout_secs: u64,
    pub max_auth_failures_per_minute: u32,
    pub metrics: MetricsAccess,
    /// 0: no limit.
    pub max_requests_per_user_per_second: u32,
    pub request_burst_per_user: u32,
    /// CA certificates of client certificates, and whether a client must present one.
    pub client_ca: Option<PathBuf>,
    pub client_cert_required: bool,
    /// `HOST:PORT` of the admin listener (probes and metrics).
    pub admin_listen: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for Transport {
    fn default() -> Self {
        let conn = ConnLimits::default();
        Transport {
            tls: None,
            plain_http: false,
            header_timeout_secs: conn.header_timeout.as_secs(),
            max_header_bytes: conn.max_header_bytes,
            max_connections: conn.max_connections,
            max_connections_per_client: conn.max_connections_per_client,
            max_concurrent_requests: 512,
            body_timeout_secs: 60,
            max_auth_failures_per_minute: 100,
            metrics: MetricsAccess::Authenticated,
            max_requests_per_user_per_second: 0,
            request_burst_per_user: 0,
            client_ca: None,
            client_cert_required: false,
            admin_listen: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Checks a `HOST:PORT` listening address (the host may be a name, or `[v6]`); `what` names
/// where it came from.
pub fn check_listen_address(address: &str, what: &str) -> Result<String, String> {
    let address = address.trim();
    let port_ok = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(format!(
            "{what} must be HOST:PORT (e.g. 127.0.0.1:9100), not '{address}'"
        ));
    }
    Ok(address.to_owned())
}

/// A trusted proxy: an address (one host) or a CIDR network.
fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!(
                "'server.trusted_proxies' holds '{text}', which is neither an address nor a network (CIDR)"
            )
        })
}

/// Both files or neither; `what` names where they came from.
pub fn tls_files(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    what: &str,
) -> Result<Option<TlsFiles>, String> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (None, None) => Ok(None),
        _ => Err(format!(
            "{what}: give both the certificate and the key, or neither"
        )),
    }
}

impl ServerSection {
    /// The listening settings, checked; errors name the `server.` key.
    pub fn transport(&self) -> Result<Transport, String> {
        let d = Transport::default();
        let at_least = |key: &str, value: Option<usize>, min: usize, default: usize| {
            let v = value.unwrap_or(default);
            if v < min {
                return Err(format!("'server.{key}' must be at least {min}"));
            }
            Ok(v)
        };
        let header_timeout_secs = self.header_timeout.unwrap_or(d.header_timeout_secs);
        if header_timeout_secs == 0 {
            return Err("'server.header_timeout' must be at least 1 second".into());
        }
        let body_timeout_secs = self.body_timeout.unwrap_or(d.body_timeout_secs);
        if body_timeout_secs == 0 {
            return Err("'server.body_timeout' must be at least 1 second".into());
        }
        let max_header_bytes = at_least(
            "max_header_bytes",
            self.max_header_bytes,
            8192,
            d.max_header_bytes,
        )?;
        if max_header_bytes > 1024 * 1024 {
            return Err("'server.max_header_bytes' must be at most 1048576".into());
        }
        let metrics = match self.metrics.as_deref() {
            None => d.metrics,
            Some(text) => MetricsAccess::parse(text).ok_or_else(|| {
                format!("'server.metrics' must be \"authenticated\", \"public\" or \"off\", not '{text}'")
            })?,
        };
        let per_second = self.max_requests_per_user_per_second.unwrap_or(0);
        let burst = self
            .request_burst_per_user
            .unwrap_or(per_second.saturating_mul(2));
        if self.request_burst_per_user.is_some() && per_second == 0 {
            return Err(
                "'server.request_burst_per_user' needs 'server.max_requests_per_user_per_second'"
                    .into(),
            );
        }
        let client_cert_required = match self.tls_client_auth.as_deref() {
            None | Some("optional") => false,
            Some("required") => true,
            Some(other) => {
                return Err(format!(
                    "'server.tls_client_auth' must be \"optional\" or \"required\", not '{other}'"
                ));
            }
        };
        if self.tls_client_auth.is_some() && self.tls_client_ca.is_none() {
            return Err("'server.tls_client_auth' needs 'server.tls_client_ca'".into());
        }
        let admin_listen = self
            .admin_listen
            .as_deref()
            .map(|a| check_listen_address(a, "'server.admin_listen'"))
            .transpose()?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .flatten()
            .map(|p| parse_proxy(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Transport {
            client_ca: self.tls_client_ca.clone(),
            client_cert_required,
            admin_listen,
            trusted_proxies,
            metrics,
            max_requests_per_user_per_second: per_second,
            request_burst_per_user: burst,
            tls: tls_files(
                self.tls_cert.clone(),
                self.tls_key.clone(),
                "'server.tls_cert' and 'server.tls_key'",
            )?,
            plain_http: self.plain_http.unwrap_or(false),
            header_timeout_secs,
            max_header_bytes,
            max_connections: at_least(
                "max_connections",
                self.max_connections,
                1,
                d.max_connections,
            )?,
            max_connections_per_client: at_least(
                "max_connections_per_client",
                self.max_connections_per_client,
                1,
                d.max_connections_per_client,
            )?,
            max_concurrent_requests: at_least(
                "max_concurrent_requests",
                self.max_concurrent_requests,
                1,
                d.max_concurrent_requests,
            )?,
            body_timeout_secs,
            max_auth_failures_per_minute: self
                .max_auth_failures_per_minute
                .unwrap_or(d.max_auth_failures_per_minute),
        })
    }
}

impl Transport {
    pub fn conn_limits(&self) -> ConnLimits {
        ConnLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            max_header_bytes: self.max_header_bytes,
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            ..ConnLimits::default()
        }
    }
}

/// The TLS set-up of the configured files (their errors are start-up errors), or `None` for
/// plain HTTP, which a native configuration must ask for (`server.plain_http`, or trusted
/// proxies in front) on an address other than loopback; medallion configurations and the
/// defaults only get a warning, as medallion served plain HTTP everywhere.
pub fn prepare_tls(transport: &Transport, host: &str, strict: bool) -> Result<Option<Tls>, String> {
    if let Some(files) = &transport.tls {
        let client_auth = match &transport.client_ca {
            None => ClientAuth::None,
            Some(ca) => ClientAuth::Verify {
                ca: ca.clone(),
                required: transport.client_cert_required,
            },
        };
        return Tls::new(files.clone(), client_auth).map(Some);
    }
    if transport.client_ca.is_some() {
        return Err(
            "'server.tls_client_ca' asks for client certificates, which need TLS: set server.tls_cert and server.tls_key (or TAXIID_TLS_CERT and TAXIID_TLS_KEY)"
                .into(),
        );
    }
    let behind_proxy = transport.plain_http || !transport.trusted_proxies.is_empty();
    if !behind_proxy && !is_loopback(host) {
        let why = format!(
            "plain HTTP on {host} would send passwords and intelligence over the network unencrypted: set server.tls_cert and server.tls_key (or TAXIID_TLS_CERT and TAXIID_TLS_KEY), or server.plain_http = true (or server.trusted_proxies) behind a TLS-terminating proxy"
        );
        if strict {
            return Err(why);
        }
        tracing::warn!("{why}");
    }
    Ok(None)
}

fn modified(files: &TlsFiles) -> [Option<SystemTime>; 2] {
    [&files.cert, &files.key].map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// Reads the certificate and key again on SIGHUP, and when either file changes (checked every
/// few seconds), for as long as the runtime lives. A failed reload keeps the certificate in
/// use and says why.
pub fn spawn_tls_reload(tls: Tls) {
    // Registered before the task runs, so that an early SIGHUP is not the default "terminate".
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RELOAD_CHECK_EVERY);
        let mut seen = modified(tls.files());
        loop {
            #[cfg(unix)]
            let why = tokio::select! {
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => "SIGHUP",
                _ = tick.tick() => "",
            };
            #[cfg(not(unix))]
            let why = {
                tick.tick().await;
                ""
            };
            let now = modified(tls.files());
            let why = match why {
                "" if now == seen => continue,
                "" => "the files changed",
                signal => signal,
            };
            seen = now;
            match tls.reload() {
                Ok(()) => tracing::info!(
                    cert = %tls.files().cert.display(),
                    "reloaded the TLS certificate ({why})"
                ),
                Err(e) => tracing::warn!("kept the TLS certificate in use ({why}): {e}"),
            }
        }
    });
}

/// Whether `host` names only this machine (plain HTTP there exposes nothing).
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe_and_bad_values_are_named() {
        let t = ServerSection::default().transport().unwrap();
        assert_eq!(t, Transport::default());
        assert_eq!(t.header_timeout_secs, 10);
        assert!(!t.plain_http && t.tls.is_none());
        let bad = |keys: ServerSection, key: &str| {
            let e = keys.transport().unwrap_err();
            assert!(e.contains(key), "{e}");
        };
        bad(
            ServerSection {
                header_timeout: Some(0),
                ..Default::default()
            },
            "server.header_timeout",
        );
        bad(
            ServerSection {
                max_header_bytes: Some(100),
                ..Default::default()
            },
            "server.max_header_bytes",
        );
        bad(
            ServerSection {
                max_concurrent_requests: Some(0),
                ..Default::default()
            },
            "server.max_concurrent_requests",
        );
        bad(
            ServerSection {
                tls_cert: Some("c.pem".into()),
                ..Default::default()
            },
            "server.tls_cert",
        );
    }

    #[test]
    fn client_certificates_admin_listener_and_proxies_are_checked() {
        let t = ServerSection {
            tls_client_ca: Some("ca.pem".into()),
            tls_client_auth: Some("required".into()),
            admin_listen: Some(" 127.0.0.1:9100 ".into()),
            trusted_proxies: Some(vec!["10.0.0.0/8".into(), "::1".into(), "192.0.2.7".into()]),
            ..Default::default()
        }
        .transport()
        .unwrap();
        assert!(t.client_cert_required);
        assert_eq!(t.admin_listen.as_deref(), Some("127.0.0.1:9100"));
        let shown: Vec<String> = t.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "::1/128", "192.0.2.7/32"]);
        let bad = |keys: ServerSection, key: &str| {
            let e = keys.transport().unwrap_err();
            assert!(e.contains(key), "{e}");
        };
        bad(
            ServerSection {
                tls_client_auth: Some("required".into()),
                ..Default::default()
            },
            "server.tls_client_ca",
        );
        bad(
            ServerSection {
                tls_client_ca: Some("ca.pem".into()),
                tls_client_auth: Some("sometimes".into()),
                ..Default::default()
            },
            "server.tls_client_auth",
        );
        for address in ["9100", "localhost", ":9100", "127.0.0.1:99999"] {
            bad(
                ServerSection {
                    admin_listen: Some(address.into()),
                    ..Default::default()
                },
                "server.admin_listen",
            );
        }
        bad(
            ServerSection {
                trusted_proxies: Some(vec!["proxy.example.org".into()]),
                ..Default::default()
            },
            "server.trusted_proxies",
        );
        // Client certificates need TLS; trusted proxies stand for a TLS-terminating proxy.
        let e = prepare_tls(&t, "127.0.0.1", true).unwrap_err();
        assert!(e.contains("server.tls_cert"), "{e}");
        let proxied = Transport {
            trusted_proxies: t.trusted_proxies,
            ..Transport::default()
        };
        assert!(prepare_tls(&proxied, "0.0.0.0", true).unwrap().is_none());
        assert!(prepare_tls(&Transport::default(), "0.0.0.0", true).is_err());
    }

    #[test]
    fn loopback_hosts_are_told_apart() {
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "example.org"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
