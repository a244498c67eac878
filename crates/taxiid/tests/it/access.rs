//! Per-collection access beyond plain user lists: `@group`s, public (unauthenticated) read,
//! and hiding the collections a caller may neither read nor write.

use reqwest::Method;
use serde_json::{Value, json};

use crate::general::{envelope, indicator, write_files};
use crate::helpers::*;

fn config(hide: bool) -> String {
    format!(
        r#"
[taxii]
hide_inaccessible_collections = {hide}

[groups]
analysts = ["alice", "bob"]

[[api_roots]]
path = "open"

[[api_roots.collections]]
alias = "feed"
read = "public"
write = ["@analysts"]

[[api_roots.collections]]
alias = "internal"
read = ["@analysts"]
write = ["alice"]

[[api_roots.collections]]
alias = "secret"
read = ["carol"]
write = ["carol"]

[[api_roots]]
path = "closed"

[[api_roots.collections]]
alias = "members"
read = true
write = true

[users]
alice = "Alice-pass"
bob = "Bob-pass"
carol = "Carol-pass"
"#
    )
}

fn start(hide: bool) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("taxiid.toml", config(hide))]);
    TestServer::start_in(dir, &["-c", "taxiid.toml"], &[])
}

/// A request as `user` (`None`: no Authorization header at all).
async fn call(s: &TestServer, user: Option<(&str, &str)>, method: Method, path: &str) -> Resp {
    let mut r = s.bare(method.clone(), path).header("Accept", T21);
    if let Some((name, password)) = user {
        r = r.basic_auth(name, Some(password));
    }
    if method == Method::POST {
        r = r
            .header("Content-Type", T21)
            .body(envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]).to_string());
    }
    Resp::from(r.send().await.unwrap()).await
}

/// The aliases of a listing, sorted (collections are listed by id, and ids are random here).
fn aliases(listing: &Value) -> Vec<String> {
    let mut names: Vec<String> = listing["collections"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| c["alias"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

const ALICE: Option<(&str, &str)> = Some(("alice", "Alice-pass"));
const BOB: Option<(&str, &str)> = Some(("bob", "Bob-pass"));
const CAROL: Option<(&str, &str)> = Some(("carol", "Carol-pass"));

#[tokio::test]
async fn without_credentials_only_public_collections_and_the_way_to_them_are_readable() {
    let s = start(false);
    // Something to read.
    let posted = call(&s, ALICE, Method::POST, "/open/collections/feed/objects/").await;
    assert_eq!(posted.status, 202, "{}", posted.text);

    for path in ["/taxii2/", "/open/"] {
        assert_eq!(
            call(&s, None, Method::GET, path).await.status,
            200,
            "{path}"
        );
    }
    let listing = call(&s, None, Method::GET, "/open/collections/").await;
    assert_eq!(listing.status, 200);
    assert_eq!(aliases(&listing.json()), ["feed"]);
    let feed = call(&s, None, Method::GET, "/open/collections/feed/")
        .await
        .json();
    assert_eq!(
        (&feed["can_read"], &feed["can_write"]),
        (&json!(true), &json!(false))
    );
    let objects = call(&s, None, Method::GET, "/open/collections/feed/objects/").await;
    assert_eq!(objects.status, 200);
    assert_eq!(objects.json()["objects"].as_array().unwrap().len(), 1);
    for path in [
        "manifest/",
        "objects/indicator--00000001-0000-4000-8000-000000000000/versions/",
    ] {
        let r = call(
            &s,
            None,
            Method::GET,
            &format!("/open/collections/feed/{path}"),
        )
        .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let head = call(&s, None, Method::HEAD, "/open/collections/feed/objects/").await;
    assert_eq!(head.status, 200);

    // Everything else answers 401 with a challenge, as without public collections: writes,
    // other collections (existing or not), other API roots, statuses, unknown paths.
    for (method, path) in [
        (Method::POST, "/open/collections/feed/objects/"),
        (
            Method::DELETE,
            "/open/collections/feed/objects/indicator--00000001-0000-4000-8000-000000000000/",
        ),
        (Method::OPTIONS, "/open/collections/feed/objects/"),
        (Method::GET, "/open/collections/internal/"),
        (Method::GET, "/open/collections/secret/objects/"),
        (Method::GET, "/open/collections/no-such-collection/objects/"),
        (Method::GET, "/closed/"),
        (Method::GET, "/closed/collections/"),
        (Method::GET, "/closed/collections/members/objects/"),
        (
            Method::GET,
            "/open/status/2d086da7-4bdc-4f91-900e-d77486753710/",
        ),
        (Method::GET, "/nowhere/"),
    ] {
        let r = call(&s, None, method.clone(), path).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
        assert!(
            r.header("www-authenticate").unwrap().starts_with("Basic "),
            "{path}"
        );
    }
    // Wrong credentials are refused even where no credentials would do.
    let wrong = call(
        &s,
        Some(("alice", "nope")),
        Method::GET,
        "/open/collections/feed/objects/",
    )
    .await;
    wrong.assert_error(401);
    // Nothing was written by the refused requests.
    let objects = call(&s, ALICE, Method::GET, "/open/collections/feed/objects/").await;
    assert_eq!(objects.json()["objects"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn groups_grant_their_members_and_shown_collections_tell_each_user_their_rights() {
    let s = start(false);
    // bob is an analyst: he writes the public feed and reads the internal collection.
    let feed = call(&s, BOB, Method::GET, "/open/collections/feed/")
        .await
        .json();
    assert_eq!(
        (&feed["can_read"], &feed["can_write"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        call(&s, BOB, Method::POST, "/open/collections/feed/objects/")
            .await
            .status,
        202
    );
    let internal = call(&s, BOB, Method::GET, "/open/collections/internal/")
        .await
        .json();
    assert_eq!(
        (&internal["can_read"], &internal["can_write"]),
        (&json!(true), &json!(false))
    );
    call(&s, BOB, Method::POST, "/open/collections/internal/objects/")
        .await
        .assert_error(403);
    // carol is not: the public feed is readable, not writable; the internal collection is
    // listed (hiding is off) with no rights, and reading it is forbidden.
    call(&s, CAROL, Method::POST, "/open/collections/feed/objects/")
        .await
        .assert_error(403);
    let listing = call(&s, CAROL, Method::GET, "/open/collections/")
        .await
        .json();
    assert_eq!(aliases(&listing), ["feed", "internal", "secret"]);
    let internal = call(&s, CAROL, Method::GET, "/open/collections/internal/")
        .await
        .json();
    assert_eq!(
        (&internal["can_read"], &internal["can_write"]),
        (&json!(false), &json!(false))
    );
    call(
        &s,
        CAROL,
        Method::GET,
        "/open/collections/internal/objects/",
    )
    .await
    .assert_error(403);
}

#[tokio::test]
async fn hidden_collections_are_left_out_and_answer_404() {
    let s = start(true);
    let listing = call(&s, CAROL, Method::GET, "/open/collections/")
        .await
        .json();
    assert_eq!(aliases(&listing), ["feed", "secret"]);
    let listing = call(&s, ALICE, Method::GET, "/open/collections/")
        .await
        .json();
    assert_eq!(aliases(&listing), ["feed", "internal"]);
    for path in ["", "objects/", "manifest/"] {
        let r = call(
            &s,
            CAROL,
            Method::GET,
            &format!("/open/collections/internal/{path}"),
        )
        .await;
        r.assert_error(404);
        let unknown = call(
            &s,
            CAROL,
            Method::GET,
            &format!("/open/collections/nothing/{path}"),
        )
        .await;
        assert_eq!(r.json()["title"], unknown.json()["title"], "{path}");
    }
    call(
        &s,
        CAROL,
        Method::POST,
        "/open/collections/internal/objects/",
    )
    .await
    .assert_error(404);
    // A collection the caller may read but not write stays visible.
    let feed = call(&s, CAROL, Method::GET, "/open/collections/feed/")
        .await
        .json();
    assert_eq!(
        (&feed["can_read"], &feed["can_write"]),
        (&json!(true), &json!(false))
    );
}
