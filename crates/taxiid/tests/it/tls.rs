//! Built-in TLS: certificates made in the test (rcgen), HTTPS with a client that trusts only
//! them, reloads on SIGHUP and on file change that keep established connections, and the
//! start-up rules for certificates and plain HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::general::{run_to_exit, write_files};
use crate::helpers::*;

/// A self-signed certificate for `localhost` and its key, both PEM.
pub(crate) fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn install(dir: &Path, (cert, key): &(String, String)) {
    // The key first: a reload that sees the new certificate with the old key must fail and keep
    // the old pair, never serve a mismatch.
    std::fs::write(dir.join("key.pem"), key).unwrap();
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
}

const CONFIG: &str = r#"
[server]
tls_cert = "cert.pem"
tls_key = "key.pem"

[users]
alice = "Alice-pass"
"#;

/// A client that trusts only `cert` and reaches `localhost` at `addr`.
fn client(cert: &str, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap()
}

async fn discovery(client: &reqwest::Client, addr: SocketAddr) -> Result<u16, reqwest::Error> {
    let r = client
        .get(format!("https://localhost:{}/taxii2/", addr.port()))
        .basic_auth("alice", Some("Alice-pass"))
        .header("Accept", T21)
        .send()
        .await?;
    Ok(r.status().as_u16())
}

fn start() -> (TestServer, SocketAddr, (String, String)) {
    let dir = tempfile::tempdir().unwrap();
    let first = certificate();
    install(dir.path(), &first);
    write_files(dir.path(), &[("taxiid.toml", CONFIG.to_owned())]);
    let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    let addr = https_address(&s);
    (s, addr, first)
}

/// The address of a server that must be serving HTTPS.
pub(crate) fn https_address(s: &TestServer) -> SocketAddr {
    s.base
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not served over HTTPS: {}", s.base))
        .parse()
        .unwrap()
}

/// Waits until a client that trusts only `cert` gets an answer (a new handshake sees it).
async fn served_within(cert: &str, addr: SocketAddr, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if discovery(&client(cert, addr), addr).await.ok() == Some(200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn https_serves_the_certificate_and_reloads_it_without_dropping_connections() {
    let (s, addr, first) = start();
    let old = client(&first.0, addr);
    assert_eq!(discovery(&old, addr).await.unwrap(), 200);
    // Plain HTTP gets no answer on the TLS port.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/taxii2/"))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // A new pair, then SIGHUP: new handshakes present it...
    let second = certificate();
    install(s.dir.path(), &second);
    s.signal("HUP");
    served_within(&second.0, addr, Duration::from_secs(5)).await;
    // ...while the connection opened before still serves (this client trusts only the old
    // certificate, so a new connection would fail its handshake).
    assert_eq!(discovery(&old, addr).await.unwrap(), 200);
    assert!(discovery(&client(&first.0, addr), addr).await.is_err());

    // A change of the files alone is noticed too.
    let third = certificate();
    install(s.dir.path(), &third);
    served_within(&third.0, addr, Duration::from_secs(15)).await;

    // A broken pair is refused and the certificate in use stays.
    std::fs::write(s.dir.path().join("cert.pem"), "not a certificate").unwrap();
    s.signal("HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(discovery(&client(&third.0, addr), addr).await.unwrap(), 200);
    let log = s.log.lock().unwrap().join("\n");
    assert!(
        log.contains("reloaded the TLS certificate (SIGHUP)"),
        "{log}"
    );
    assert!(log.contains("kept the TLS certificate in use"), "{log}");
}

#[test]
fn unusable_certificates_and_exposed_plain_http_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate();
    let (_, other_key) = certificate();
    write_files(
        dir.path(),
        &[
            ("cert.pem", cert),
            ("key.pem", other_key),
            ("taxiid.toml", CONFIG.to_owned()),
            (
                "missing.toml",
                CONFIG.replace("cert.pem", "no-such-file.pem"),
            ),
            (
                "exposed.toml",
                "[server]\nhost = \"0.0.0.0\"\nport = 0\n".to_owned(),
            ),
        ],
    );
    let start = |config: &str| {
        run_to_exit(
            dir.path(),
            &[
                "--no-conf-dir",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "-c",
                config,
            ],
            &[],
        )
    };
    // The key does not belong to the certificate.
    start("taxiid.toml").assert_one_line_error(&["cert.pem", "key.pem"]);
    start("missing.toml").assert_one_line_error(&["no-such-file.pem"]);
    let e = run_to_exit(dir.path(), &["--no-conf-dir", "-c", "exposed.toml"], &[]);
    e.assert_one_line_error(&["plain HTTP on 0.0.0.0", "server.plain_http"]);
}

#[tokio::test]
async fn plain_http_on_the_network_is_served_when_asked_for() {
    // Asked for outright, or implied by trusted proxies (which terminate TLS in front).
    for keys in ["plain_http = true", "trusted_proxies = [\"10.0.0.0/8\"]"] {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[(
                "proxied.toml",
                format!(
                    "[server]\nhost = \"0.0.0.0\"\nport = 0\n{keys}\n[users]\nalice = \"Alice-pass\"\n"
                ),
            )],
        );
        let s = TestServer::start_exact(dir, &["--no-conf-dir", "-c", "proxied.toml"], &[]);
        assert!(s.base.starts_with("http://0.0.0.0:"), "{}", s.base);
        let port = s.base.rsplit(':').next().unwrap().to_owned();
        let r = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/taxii2/"))
            .basic_auth("alice", Some("Alice-pass"))
            .header("Accept", T21)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{keys}");
        // No HSTS over plain HTTP.
        assert!(r.headers().get("strict-transport-security").is_none());
    }
}

/// A handshake by Python's `ssl` module (OpenSSL) offering only the protocol versions from
/// `lowest` to `highest` (names of `ssl.TLSVersion`) and, unless "-", the OpenSSL cipher list
/// `ciphers`: "ok VERSION CIPHER", or "refused" and OpenSSL's message.
fn openssl_handshake(addr: SocketAddr, lowest: &str, highest: &str, ciphers: &str) -> String {
    const SCRIPT: &str = r#"
import socket, ssl, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
port, lowest, highest, ciphers = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = getattr(ssl.TLSVersion, lowest)
ctx.maximum_version = getattr(ssl.TLSVersion, highest)
if ciphers != "-":
    ctx.set_ciphers(ciphers)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            print("ok", tls.version(), tls.cipher()[0])
except ssl.SSLError as e:
    print("refused", e)
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &addr.port().to_string(),
            lowest,
            highest,
            ciphers,
        ])
        .output()
        .expect("python3 (with its ssl module) is needed for the TLS protocol tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_served_and_legacy_protocols_and_suites_are_refused() {
    let (_s, addr, first) = start();
    let tls12 = openssl_handshake(addr, "TLSv1_2", "TLSv1_2", "-");
    assert!(tls12.starts_with("ok TLSv1.2 ECDHE-"), "{tls12}");
    let tls13 = openssl_handshake(addr, "TLSv1_3", "TLSv1_3", "-");
    assert!(tls13.starts_with("ok TLSv1.3 TLS_"), "{tls13}");
    // The server itself answers with an alert (the client did offer them): TLS 1.0 and 1.1,
    // and a TLS 1.2 client offering only RFC 7540's blocklisted suites (RSA key exchange, CBC).
    for (lowest, highest, ciphers) in [
        ("TLSv1", "TLSv1", "DEFAULT:@SECLEVEL=0"),
        ("TLSv1_1", "TLSv1_1", "DEFAULT:@SECLEVEL=0"),
        ("TLSv1_2", "TLSv1_2", "AES128-SHA:@SECLEVEL=0"),
        ("TLSv1_2", "TLSv1_2", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"),
    ] {
        let r = openssl_handshake(addr, lowest, highest, ciphers);
        assert!(
            r.starts_with("refused") && r.contains("ALERT"),
            "{lowest}..{highest} {ciphers}: {r}"
        );
    }
    // Responses over TLS carry HSTS; reqwest (rustls) negotiates TLS 1.3 by default and 1.2
    // when capped there.
    for version in [
        reqwest::tls::Version::TLS_1_2,
        reqwest::tls::Version::TLS_1_3,
    ] {
        let capped = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(first.0.as_bytes()).unwrap())
            .resolve("localhost", addr)
            .min_tls_version(version)
            .max_tls_version(version)
            .build()
            .unwrap();
        let r = capped
            .get(format!("https://localhost:{}/taxii2/", addr.port()))
            .basic_auth("alice", Some("Alice-pass"))
            .header("Accept", T21)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    }
}
