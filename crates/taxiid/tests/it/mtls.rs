//! Client certificates (mutual TLS): a CA made in the test (rcgen) signs client certificates
//! whose common name is the user; certificates of another CA fail the handshake, and
//! `tls_client_auth = "required"` turns away clients without one.

use std::net::SocketAddr;

use crate::general::write_files;
use crate::helpers::*;
use crate::tls::{certificate, https_address};

/// A certificate authority: its PEM certificate and what signs with its key.
struct Ca {
    pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: rcgen::Issuer::new(params, key),
    }
}

/// A client certificate for `cn`, signed by `ca`, with its key: what reqwest presents.
fn identity(ca: &Ca, cn: &str) -> reqwest::Identity {
    identity_with(ca, cn, |_| {})
}

fn identity_with(
    ca: &Ca,
    cn: &str,
    adjust: impl FnOnce(&mut rcgen::CertificateParams),
) -> reqwest::Identity {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Partner Org");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    adjust(&mut params);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let pem = format!("{}{}", cert.pem(), key.serialize_pem());
    reqwest::Identity::from_pem(pem.as_bytes()).unwrap()
}

/// Starts an HTTPS server (certificate for `localhost`) asking for client certificates of
/// `clients`; returns it with its address and the server certificate a client must trust.
fn start(clients: &Ca, auth: &str) -> (TestServer, SocketAddr, String) {
    let dir = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = certificate();
    let config = format!(
        "[server]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\
         tls_client_ca = \"clients-ca.pem\"\ntls_client_auth = \"{auth}\"\n\
         [users]\nalice = \"Alice-pass\"\nbob = \"Bob-pass\"\n\
         [[api_roots]]\npath = \"api1\"\ntitle = \"API root\"\n\
         [[api_roots.collections]]\nalias = \"private\"\ntitle = \"Bob's\"\n\
         read = [\"bob\"]\nwrite = [\"bob\"]\n"
    );
    write_files(
        dir.path(),
        &[
            ("cert.pem", server_cert.clone()),
            ("key.pem", server_key),
            ("clients-ca.pem", clients.pem.clone()),
            ("taxiid.toml", config),
        ],
    );
    let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    let addr = https_address(&s);
    (s, addr, server_cert)
}

/// A client trusting the server's certificate, presenting `identity` if given.
fn client(
    server_cert: &str,
    addr: SocketAddr,
    identity: Option<reqwest::Identity>,
) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(server_cert.as_bytes()).unwrap())
        .resolve("localhost", addr);
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build().unwrap()
}

async fn get(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    basic: Option<(&str, &str)>,
) -> Result<Resp, reqwest::Error> {
    let mut req = client
        .get(format!("https://localhost:{}{path}", addr.port()))
        .header("Accept", T21);
    if let Some((user, password)) = basic {
        req = req.basic_auth(user, Some(password));
    }
    Ok(Resp::from(req.send().await?).await)
}

#[tokio::test]
async fn a_client_certificate_logs_in_as_the_user_its_common_name_names() {
    let partners = ca("Partner CA");
    let (s, addr, server_cert) = start(&partners, "optional");
    let alice = client(&server_cert, addr, Some(identity(&partners, "alice")));

    // No Authorization header: the certificate's CN is the user, with that user's rights.
    let r = get(&alice, addr, "/taxii2/", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    let r = get(&alice, addr, "/api1/collections/", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    let private = r.json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alias"] == "private")
        .cloned()
        .unwrap_or_else(|| panic!("{}", r.text));
    assert_eq!(
        (private["can_read"].clone(), private["can_write"].clone()),
        (false.into(), false.into())
    );
    get(&alice, addr, "/api1/collections/private/objects/", None)
        .await
        .unwrap()
        .assert_error(403);
    let line =
        crate::observability::line_with(&s, &["path=/api1/collections/private/objects/"]).await;
    assert!(line.contains("user=alice"), "{line}");

    // An Authorization header decides alone: bob's password makes it bob, a wrong one fails.
    let r = get(
        &alice,
        addr,
        "/api1/collections/private/objects/",
        Some(("bob", "Bob-pass")),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    get(&alice, addr, "/taxii2/", Some(("bob", "wrong")))
        .await
        .unwrap()
        .assert_error(401);

    // A certificate of the right CA for nobody configured: 401, not anonymous.
    let mallory = client(&server_cert, addr, Some(identity(&partners, "mallory")));
    get(&mallory, addr, "/taxii2/", None)
        .await
        .unwrap()
        .assert_error(401);

    // Optional: without a certificate, passwords still work.
    let bare = client(&server_cert, addr, None);
    get(&bare, addr, "/taxii2/", None)
        .await
        .unwrap()
        .assert_error(401);
    let r = get(&bare, addr, "/taxii2/", Some(("alice", "Alice-pass")))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);

    // A certificate from another CA, even for alice, fails the handshake; so does an expired
    // one from the right CA.
    let forged = client(&server_cert, addr, Some(identity(&ca("Other CA"), "alice")));
    let e = get(&forged, addr, "/taxii2/", None).await;
    assert!(e.is_err(), "{:?}", e.map(|r| r.status));
    let expired = identity_with(&partners, "alice", |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let e = get(
        &client(&server_cert, addr, Some(expired)),
        addr,
        "/taxii2/",
        None,
    )
    .await;
    assert!(e.is_err(), "{:?}", e.map(|r| r.status));
}

#[tokio::test]
async fn a_required_client_certificate_turns_away_clients_without_one() {
    let partners = ca("Partner CA");
    let (_s, addr, server_cert) = start(&partners, "required");
    let bare = client(&server_cert, addr, None);
    let e = get(&bare, addr, "/taxii2/", Some(("alice", "Alice-pass"))).await;
    assert!(e.is_err(), "{:?}", e.map(|r| r.status));
    let alice = client(&server_cert, addr, Some(identity(&partners, "alice")));
    let r = get(&alice, addr, "/taxii2/", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn client_certificates_without_tls_or_with_a_broken_ca_file_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate();
    let tls = "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n";
    write_files(
        dir.path(),
        &[
            ("cert.pem", cert),
            ("key.pem", key),
            ("not-a-ca.pem", "garbage".to_owned()),
            (
                "no-tls.toml",
                "[server]\ntls_client_ca = \"not-a-ca.pem\"\n".to_owned(),
            ),
            (
                "broken-ca.toml",
                format!("[server]\n{tls}tls_client_ca = \"not-a-ca.pem\"\n"),
            ),
        ],
    );
    for (config, expected) in [
        ("no-tls.toml", "need TLS"),
        ("broken-ca.toml", "not-a-ca.pem"),
    ] {
        let out = binary()
            .args(["--no-conf-dir", "--port", "0", "-c", config])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{config}: {stderr}");
        assert!(stderr.contains(expected), "{config}: {stderr}");
    }
}
