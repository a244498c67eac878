//! API tokens end to end: made with the admin CLI beside a running server (embedded SQLite),
//! sent as `Bearer` or `Token`, refused once revoked or expired.

use reqwest::Method;
use serde_json::Value;

use crate::durability::ADMIN_ENV;
use crate::general::{Exit, run_to_exit};
use crate::helpers::*;

/// Runs an admin command beside the server (same directory, so the same SQLite store).
fn admin(s: &TestServer, args: &[&str]) -> Exit {
    let mut all = vec!["--no-conf-dir"];
    all.extend_from_slice(args);
    run_to_exit(s.dir.path(), &all, &ADMIN_ENV)
}

/// An admin command's `--json` output, after checking it succeeded.
fn cli(s: &TestServer, args: &[&str]) -> Value {
    let e = admin(s, args);
    assert_eq!(e.status.code(), Some(0), "{args:?}: {e:?}");
    serde_json::from_str(&e.stdout).unwrap_or_else(|err| panic!("{args:?}: {err}: {e:?}"))
}

async fn with(s: &TestServer, authorization: &str) -> Resp {
    let r = s
        .bare(Method::GET, "/api1/collections/")
        .header("Accept", T21)
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap();
    Resp::from(r).await
}

#[tokio::test]
async fn a_token_from_the_cli_authenticates_as_its_user_until_revoked() {
    let s = TestServer::start_in(tempfile::tempdir().unwrap(), &[], &ADMIN_ENV);
    let made = cli(
        &s,
        &["token", "create", "admin", "--label", "test", "--json"],
    );
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();

    let basic = s.get("/api1/collections/").await;
    assert_eq!(basic.status, 200, "{basic:?}");
    for scheme in ["Bearer", "Token"] {
        let r = with(&s, &format!("{scheme} {token}")).await;
        assert_eq!(r.status, 200, "{scheme}: {r:?}");
        assert_eq!(r.text, basic.text, "{scheme}");
        assert_eq!(r.header("content-type"), Some(T21));
    }

    let (_, secret) = token.rsplit_once('_').unwrap();
    let wrong = token.replace(secret, &"A".repeat(secret.len()));
    for bad in [
        format!("Bearer {wrong}"),
        format!("Bearer {token}x"),
        "Bearer ".to_owned(),
        format!("Digest {token}"),
    ] {
        let r = with(&s, &bad).await;
        r.assert_error(401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));
    }

    let revoked = cli(&s, &["token", "revoke", &id, "--json"]);
    assert_eq!(revoked["revoked"], true);
    with(&s, &format!("Bearer {token}")).await.assert_error(401);
    // The user's password still works.
    assert_eq!(s.get("/api1/collections/").await.status, 200);
}

#[tokio::test]
async fn an_expired_token_or_one_of_a_removed_user_is_refused() {
    let s = TestServer::start_in(tempfile::tempdir().unwrap(), &[], &ADMIN_ENV);
    let short = cli(
        &s,
        &["token", "create", "admin", "--expires-in", "2s", "--json"],
    );
    let short = format!("Bearer {}", short["token"].as_str().unwrap());
    assert_eq!(with(&s, &short).await.status, 200);

    let e = admin(&s, &["user", "add", "bob", "--password", "b0b-pass"]);
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    let bob = cli(&s, &["token", "create", "bob", "--json"]);
    assert_eq!(bob["user_in_store"], true);
    let bob = format!("Bearer {}", bob["token"].as_str().unwrap());
    assert_eq!(with(&s, &bob).await.status, 200);
    let e = admin(&s, &["user", "remove", "bob"]);
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    with(&s, &bob).await.assert_error(401);

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    with(&s, &short).await.assert_error(401);
    let listed = cli(&s, &["token", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["expired"], true, "{listed}");
}
