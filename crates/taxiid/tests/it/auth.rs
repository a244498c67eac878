//! Authentication and authorisation (AUTH, single-user parts) and IOP-7.

use reqwest::{Method, RequestBuilder};
use serde_json::json;

use crate::general::{coll, envelope, indicator};
use crate::helpers::*;

const IND: &str = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e";

/// Every endpoint and method, without credentials.
fn every_endpoint(s: &TestServer) -> Vec<RequestBuilder> {
    let objects = format!("{}objects/", coll(RW));
    let body = envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]).to_string();
    vec![
        s.bare(Method::GET, "/taxii2/"),
        s.bare(Method::GET, ROOT),
        s.bare(
            Method::GET,
            &format!("{ROOT}status/2d086da7-4bdc-4f91-900e-d77486753710/"),
        ),
        s.bare(Method::GET, &format!("{ROOT}collections/")),
        s.bare(Method::GET, &coll(RW)),
        s.bare(Method::GET, &format!("{}manifest/", coll(RW))),
        s.bare(Method::GET, &objects),
        s.bare(Method::GET, &format!("{objects}{IND}/")),
        s.bare(Method::GET, &format!("{objects}{IND}/versions/")),
        s.bare(Method::POST, &objects)
            .header("Content-Type", T21)
            .body(body),
        s.bare(Method::DELETE, &format!("{objects}{IND}/")),
        s.bare(Method::HEAD, &objects),
    ]
}

fn assert_challenge(r: &Resp) {
    let challenge = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate: {r:?}"));
    assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
}

async fn send(req: RequestBuilder) -> Resp {
    Resp::from(req.send().await.unwrap()).await
}

async fn assert_unauthorized(req: RequestBuilder) {
    let head = req.try_clone().unwrap().build().unwrap().method() == Method::HEAD;
    let r = send(req).await;
    if head {
        assert_eq!(r.status, 401);
        assert_eq!(r.header("content-type"), Some(T21));
    } else {
        r.assert_error(401);
    }
    assert_challenge(&r);
}

#[tokio::test]
async fn every_endpoint_without_credentials_answers_401_with_a_challenge() {
    let s = TestServer::medallion();
    for req in every_endpoint(&s) {
        assert_unauthorized(req.header("Accept", T21)).await;
    }
    // Nothing was deleted or added on the way.
    let r = s.get(&format!("{}objects/{IND}/", coll(RW))).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_answers_401_with_a_challenge() {
    let s = TestServer::medallion();
    for (user, password) in [
        ("admin", "Password1"),
        ("admin", ""),
        ("admin", "password0"),
        ("nobody", "Password0"),
        ("", ""),
    ] {
        for req in every_endpoint(&s) {
            assert_unauthorized(req.header("Accept", T21).basic_auth(user, Some(password))).await;
        }
    }
    // Malformed Authorization headers, and other schemes.
    for value in ["Basic", "Basic !!!", "Bearer abc", "Basic YWRtaW4="] {
        assert_unauthorized(
            s.bare(Method::GET, "/taxii2/")
                .header("Accept", T21)
                .header("Authorization", value),
        )
        .await;
    }
}

#[tokio::test]
async fn http_basic_authenticates_every_configured_user() {
    let s = TestServer::medallion();
    for (user, password) in [("admin", "Password0"), ("user1", "Password1")] {
        let r = send(
            s.bare(Method::GET, &format!("{ROOT}collections/"))
                .header("Accept", T21)
                .basic_auth(user, Some(password)),
        )
        .await;
        assert_eq!(r.status, 200, "{user}");
        assert_eq!(r.json()["collections"].as_array().unwrap().len(), 5);
    }
    // The scheme name is case-insensitive (RFC 7617).
    let r = send(
        s.bare(Method::GET, "/taxii2/")
            .header("Accept", T21)
            .header("Authorization", "basic dXNlcjE6UGFzc3dvcmQx"),
    )
    .await;
    assert_eq!(r.status, 200);
    // A password containing a colon.
    let p = TestServer::medallion_with(|c| c["users"] = json!({"ops": "a:b:c"}));
    let r = send(
        p.bare(Method::GET, "/taxii2/")
            .header("Accept", T21)
            .basic_auth("ops", Some("a:b:c")),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn medallion_1_werkzeug_and_bcrypt_password_hashes_authenticate() {
    // Hashes as medallion 1.x (werkzeug pbkdf2), later werkzeug (scrypt) and other servers
    // (bcrypt) keep them, in a medallion configuration; a plaintext password that starts like
    // a bcrypt hash stays plaintext.
    let s = TestServer::medallion_with(|c| {
        c["users"] = json!({
            "old": "pbkdf2:sha256:1000$N7gjlx4cXbSE$0274a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025",
            "crypt": "$2b$04$iiAXiNNcsHgEKgXBlpq.fOxPG4EW6wEdumRcJpzJGJxYFdXeMyW9W",
            "plain": "$2024Password",
            "newer": "scrypt:32768:8:1$2eSX04QGnpQnVNWF$2933e9989af87ae16a3021e5b43400c881fc9233c03c7eaf73c05ff170c553671c5f669640668792788c78701e74117d45d11090227f0f32ec29e935fe28dc32",
        })
    });
    for (user, password, status) in [
        ("old", "medallion pass", 200),
        ("crypt", "bcrypt pass", 200),
        ("plain", "$2024Password", 200),
        ("newer", "scrypt pass", 200),
        ("newer", "scrypt pass ", 401),
        (
            "old",
            "pbkdf2:sha256:1000$N7gjlx4cXbSE$0274a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025",
            401,
        ),
        ("crypt", "medallion pass", 401),
    ] {
        let r = send(
            s.bare(Method::GET, "/taxii2/")
                .header("Accept", T21)
                .basic_auth(user, Some(password)),
        )
        .await;
        assert_eq!(r.status, status, "{user} / {password}");
    }
}

#[test]
fn a_broken_password_hash_in_a_medallion_config_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf.json");
    std::fs::write(
        &conf,
        r#"{"users": {"old": "pbkdf2:sha256:1000$salt$not-hex"}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taxiid"))
        .args(["--no-conf-dir", "--conf-check", "-c"])
        .arg(&conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the password hash of user 'old' is not a valid"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_challenge_names_each_enabled_scheme_once() {
    let s = TestServer::medallion();
    let r = send(s.bare(Method::GET, "/taxii2/").header("Accept", T21)).await;
    // Passwords (Basic) and API tokens (Bearer; `Token` is the same scheme by another name).
    let challenges: Vec<&str> = r
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        [
            "Basic realm=\"taxii\", charset=\"UTF-8\"",
            "Bearer realm=\"taxii\""
        ]
    );
}

#[tokio::test]
async fn read_endpoints_of_a_collection_without_read_permission_answer_403() {
    let s = TestServer::medallion();
    for c in [WRITE_ONLY, NO_ACCESS] {
        let base = coll(c);
        for path in [
            format!("{base}objects/"),
            format!("{base}manifest/"),
            format!("{base}objects/indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f/"),
            format!("{base}objects/indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f/versions/"),
            format!("{base}objects/?next=x"),
        ] {
            let body = s.get(&path).await.assert_error(403);
            assert!(!body.to_string().contains("b81f86b9"), "{body}");
        }
    }
}

#[tokio::test]
async fn a_post_to_a_collection_without_write_permission_answers_403_and_stores_nothing() {
    let s = TestServer::medallion();
    for c in [READ_ONLY, NO_ACCESS] {
        let r = s
            .post_objects(
                &format!("{}objects/", coll(c)),
                &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
            )
            .await;
        r.assert_error(403);
    }
    let r = s.get(&format!("{}objects/", coll(READ_ONLY))).await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 1);
    // The permission check comes before the body is looked at.
    let r = send(
        s.req(Method::POST, &format!("{}objects/", coll(READ_ONLY)))
            .header("Content-Type", T21)
            .body("{not json"),
    )
    .await;
    r.assert_error(403);
}

#[tokio::test]
async fn delete_follows_the_permission_table() {
    let s = TestServer::medallion();
    let del = |c: &str, o: &str| s.req(Method::DELETE, &format!("{}objects/{o}/", coll(c)));
    send(del(
        READ_ONLY,
        "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
    ))
    .await
    .assert_error(403);
    send(del(
        WRITE_ONLY,
        "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
    ))
    .await
    .assert_error(403);
    send(del(
        NO_ACCESS,
        "indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f",
    ))
    .await
    .assert_error(404);
    let r = send(del(RW, IND)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    assert!(r.text.is_empty());
    s.get(&format!("{}objects/{IND}/", coll(RW)))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn a_continuation_request_is_authenticated_and_authorised_again() {
    let s = TestServer::medallion();
    let first = s.get(&format!("{}objects/?limit=2", coll(RW))).await;
    assert_eq!(first.status, 200);
    let next = first.json()["next"].as_str().unwrap().to_owned();
    let path = format!("{}objects/?limit=2&next={next}", coll(RW));
    assert_unauthorized(s.bare(Method::GET, &path).header("Accept", T21)).await;
    assert_unauthorized(
        s.bare(Method::GET, &path)
            .header("Accept", T21)
            .basic_auth("admin", Some("nope")),
    )
    .await;
    // Another user cannot ride on the admin's cursor.
    let r = send(
        s.bare(Method::GET, &path)
            .header("Accept", T21)
            .basic_auth("user1", Some("Password1")),
    )
    .await;
    r.assert_error(400);
    // A cursor of a readable collection does not open an unreadable one.
    s.get(&format!("{}objects/?limit=2&next={next}", coll(WRITE_ONLY)))
        .await
        .assert_error(403);
    s.get(&format!("{}objects/?limit=2&next={next}", coll(READ_ONLY)))
        .await
        .assert_error(400);
    // The owner continues.
    let r = s.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn credentials_are_checked_before_routes_methods_and_accept() {
    let s = TestServer::medallion();
    for req in [
        s.bare(Method::GET, "/nope/"),
        s.bare(
            Method::GET,
            &format!("{ROOT}collections/00000000-0000-4000-8000-000000000000/"),
        ),
        s.bare(
            Method::GET,
            &format!("{ROOT}status/00000000-0000-4000-8000-000000000000/"),
        ),
        s.bare(Method::PUT, &format!("{}objects/", coll(RW))),
        s.bare(Method::GET, "/taxii2/")
            .header("Accept", "application/xml"),
        s.bare(Method::GET, &format!("{}objects/", coll(WRITE_ONLY))),
        s.bare(Method::POST, &format!("{}objects/", coll(RW)))
            .header("Content-Type", "text/plain"),
        s.bare(Method::GET, &format!("{}objects/?limit=zero", coll(RW))),
    ] {
        let r = send(req).await;
        r.assert_error(401);
        assert_challenge(&r);
    }
}

#[tokio::test]
async fn passwords_are_never_logged() {
    let s = TestServer::start_in(
        {
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
            let config = json!({
                "backend": {"module_class": "MemoryBackend", "filename": "data.json"},
                "users": {"admin": "S3cret-Admin-Pw", "user1": "S3cret-User-Pw"}
            });
            std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
            dir
        },
        &["--conf-file", "config.json", "--debug-mode"],
        &[],
    );
    for (user, password) in [
        ("admin", "S3cret-Admin-Pw"),
        ("admin", "Wrong-Guess-Pw"),
        ("user1", "S3cret-User-Pw"),
    ] {
        let _ = send(
            s.bare(Method::GET, &format!("{}objects/", coll(RW)))
                .header("Accept", T21)
                .basic_auth(user, Some(password)),
        )
        .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = s.log.lock().unwrap().join("\n");
    assert!(log.contains("DEBUG"), "debug logging was on: {log}");
    // Plaintext passwords work, with a warning naming each such user (never the password).
    for user in ["admin", "user1"] {
        assert!(
            log.lines()
                .any(|l| l.contains("plaintext password") && l.contains(user)),
            "no plaintext warning for {user}: {log}"
        );
    }
    for secret in [
        "S3cret-Admin-Pw",
        "Wrong-Guess-Pw",
        "S3cret-User-Pw",
        // The Authorization header values.
        "YWRtaW46UzNjcmV0LUFkbWluLVB3",
        "YWRtaW46V3JvbmctR3Vlc3MtUHc",
        "dXNlcjE6UzNjcmV0LVVzZXItUHc",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

#[tokio::test]
async fn discovery_and_api_root_information_also_require_authentication() {
    let s = TestServer::medallion();
    for path in ["/taxii2/", ROOT, "/api1/", "/api2/"] {
        assert_unauthorized(s.bare(Method::GET, path).header("Accept", T21)).await;
    }
    let plain = TestServer::start(&[]);
    for path in ["/taxii2/", "/api1/", "/api1/collections/"] {
        assert_unauthorized(plain.bare(Method::GET, path).header("Accept", T21)).await;
    }
}

#[tokio::test]
async fn missing_and_wrong_credentials_both_get_401_with_a_basic_challenge() {
    let s = TestServer::medallion();
    let path = format!("{ROOT}collections/");
    for req in [
        s.bare(Method::GET, &path).header("Accept", T21),
        s.bare(Method::GET, &path)
            .header("Accept", T21)
            .basic_auth("admin", Some("wrong")),
    ] {
        let r = send(req).await;
        r.assert_error(401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));
    }
}
