//! The client's address behind trusted proxies. A request that arrives from a trusted proxy
//! (`Settings::trusted_proxies`) is taken to come from the address its `X-Forwarded-For`
//! names: the right-most entry that is not itself a trusted proxy, since each proxy appends the
//! address it received the request from and only the entries added by trusted proxies can be
//! believed. From anyone else the header is ignored (a client could write anything there).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

const HEADER: &str = "x-forwarded-for";

/// The address a request is logged, rate-limited and locked out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub IpAddr);

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// One `X-Forwarded-For` entry: an address, also written `[v6]`, `v4:port` or `[v6]:port`.
fn entry(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// The client's address: `peer`, unless `peer` is a trusted proxy and `X-Forwarded-For`
/// names an address beyond it.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all(HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for text in entries.iter().rev() {
        // An entry that is not an address ("unknown", garbage) ends what can be believed.
        let Some(ip) = entry(text) else {
            break;
        };
        client = ip;
        if !trusted(ip, proxies) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(HEADER, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let from = |peer: &str, values: &[&str]| {
            client_address(ip(peer), &headers(values), &proxies).to_string()
        };
        // Not a proxy: the header is whatever the client wrote.
        assert_eq!(from("203.0.113.9", &["198.51.100.1"]), "203.0.113.9");
        // A proxy without the header is the client.
        assert_eq!(from("10.1.1.1", &[]), "10.1.1.1");
        // The right-most entry that is not a trusted proxy, across lines and commas; what a
        // client put to the left of it is not believed.
        assert_eq!(from("10.1.1.1", &["6.6.6.6, 198.51.100.1"]), "198.51.100.1");
        assert_eq!(
            from("10.1.1.1", &["6.6.6.6, 198.51.100.1, 10.2.2.2"]),
            "198.51.100.1"
        );
        assert_eq!(
            from("10.1.1.1", &["6.6.6.6", "198.51.100.1", "10.2.2.2"]),
            "198.51.100.1"
        );
        // Ports and brackets are dropped.
        assert_eq!(from("::1", &["198.51.100.1:4711"]), "198.51.100.1");
        assert_eq!(from("::1", &["[2001:db8::7]:443"]), "2001:db8::7");
        assert_eq!(from("::1", &["[2001:db8::7]"]), "2001:db8::7");
        // Only proxies: the left-most of them. Garbage stops the walk at the last good hop.
        assert_eq!(from("10.1.1.1", &["10.3.3.3, 10.2.2.2"]), "10.3.3.3");
        assert_eq!(
            from("10.1.1.1", &["198.51.100.1, unknown, 10.2.2.2"]),
            "10.2.2.2"
        );
        assert_eq!(from("10.1.1.1", &["unknown"]), "10.1.1.1");
        // Nothing trusted: every header ignored.
        assert_eq!(
            client_address(ip("10.1.1.1"), &headers(&["198.51.100.1"]), &[]).to_string(),
            "10.1.1.1"
        );
    }
}
