//! What the HTTP service needs to know, built by the binary from its configuration. No file
//! or environment access here.

use std::collections::BTreeMap;
use std::fmt;

/// Service settings.
#[derive(Clone)]
pub struct Settings {
    /// User name → password (plaintext, as medallion configs hold them).
    pub users: BTreeMap<String, String>,
    /// The realm of the `WWW-Authenticate` challenge.
    pub realm: String,
    /// Default and maximum page size.
    pub max_page_size: usize,
    /// How long a status stays retrievable, in seconds; `None` keeps statuses forever.
    pub status_retention_secs: Option<i64>,
    /// `max_content_length` of API roots whose information does not set one.
    pub default_max_content_length: u64,
    /// Key of the `next` token MACs. Nodes that share a store must share it.
    pub cursor_key: Vec<u8>,
    /// Title of the generated discovery resource (when the store holds none).
    pub discovery_title: String,
    /// Collections the caller may neither read nor write are left out of listings and answer
    /// 404; otherwise they are listed with `can_read`/`can_write` false and answer 403.
    pub hide_inaccessible_collections: bool,
    /// Requests handled at once at most; more get 503 with `Retry-After` (health probes are
    /// not counted).
    pub max_concurrent_requests: usize,
    /// Time an Add Objects request's body may take to arrive; a slower one gets 408, so a
    /// client trickling a body cannot hold a request slot for long.
    pub body_timeout: std::time::Duration,
    /// Failed logins allowed per client address per minute before it gets 429; 0: no limit.
    pub max_auth_failures_per_minute: u32,
    /// Requests a second each authenticated user may make (0: no limit), with bursts of up
    /// to `request_burst_per_user`; past it, 429 with `Retry-After`.
    pub max_requests_per_user_per_second: u32,
    pub request_burst_per_user: u32,
    /// Proxies whose `X-Forwarded-For` names the client (`forwarded`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// TAXII 2.0 clients are served STIX 2.1 objects too (by default only STIX 2.0 ones: a
    /// 2.0 bundle says `spec_version: "2.0"`).
    pub taxii20_serves_stix21: bool,
    /// medallion 1.x API keys: key → user, sent as `Authorization: Token <key>`.
    pub api_keys: BTreeMap<String, String>,
}

impl Settings {
    /// Settings with no users, for tests that add their own.
    pub fn for_tests() -> Self {
        Settings {
            users: BTreeMap::new(),
            realm: "taxii".into(),
            max_page_size: 100,
            status_retention_secs: Some(86_400),
            default_max_content_length: 10 * 1024 * 1024,
            cursor_key: b"test key, not secret".to_vec(),
            discovery_title: "taxiid".into(),
            hide_inaccessible_collections: false,
            max_concurrent_requests: 512,
            body_timeout: std::time::Duration::from_secs(60),
            max_auth_failures_per_minute: 100,
            max_requests_per_user_per_second: 0,
            request_burst_per_user: 0,
            trusted_proxies: Vec::new(),
            taxii20_serves_stix21: false,
            api_keys: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("realm", &self.realm)
            .field("max_page_size", &self.max_page_size)
            .field("status_retention_secs", &self.status_retention_secs)
            .field(
                "default_max_content_length",
                &self.default_max_content_length,
            )
            .field("cursor_key", &"<redacted>")
            .field("discovery_title", &self.discovery_title)
            .field(
                "hide_inaccessible_collections",
                &self.hide_inaccessible_collections,
            )
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("body_timeout", &self.body_timeout)
            .field(
                "max_auth_failures_per_minute",
                &self.max_auth_failures_per_minute,
            )
            .field(
                "max_requests_per_user_per_second",
                &self.max_requests_per_user_per_second,
            )
            .field("request_burst_per_user", &self.request_burst_per_user)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("taxii20_serves_stix21", &self.taxii20_serves_stix21)
            .field("api_keys", &self.api_keys.values().collect::<Vec<_>>())
            .finish()
    }
}
