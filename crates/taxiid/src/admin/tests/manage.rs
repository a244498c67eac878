//! `api-root`, `collection` and `user` subcommands.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::sync::Arc;

use serde_json::json;
use taxii_server::auth::verify_password;
use taxii_store::{Grant, Store};

use super::super::user::read_password_line;
use super::{fails, memory, ok, ok_json, sample};

const ID: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

#[tokio::test]
async fn api_roots_are_added_and_listed() {
    let store = memory();
    assert_eq!(
        ok(&store, &["api-root", "list"]).await.trim(),
        "no API roots"
    );
    let added = ok_json(
        &store,
        &[
            "api-root",
            "add",
            "/org/a/api1/",
            "--title",
            "Team A",
            "--description",
            "d",
            "--max-content-length",
            "1000",
            "--json",
        ],
    )
    .await;
    assert_eq!(added["path"], "org/a/api1");
    assert_eq!(added["information"]["title"], "Team A");
    assert_eq!(added["information"]["max_content_length"], 1000);
    assert_eq!(
        added["information"]["versions"],
        json!(["application/taxii+json;version=2.1"])
    );
    assert_eq!(added["discovery_entry"], json!(null));
    ok(&store, &["api-root", "add", "api2", "--title", "Two"]).await;
    ok(
        &store,
        &["collection", "add", "--api-root", "api2", "--title", "c"],
    )
    .await;

    let list = ok_json(&store, &["api-root", "list", "--json"]).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let two = list.iter().find(|r| r["path"] == "api2").unwrap();
    assert_eq!(two["collections"], 1);
    assert_eq!(two["information"]["max_content_length"], 10 * 1024 * 1024);
    let table = ok(&store, &["api-root", "list"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("PATH"), "{table}");
    assert!(table.contains("/org/a/api1/") && table.contains("Team A"));

    let e = fails(&store, &["api-root", "add", "api2", "--title", "again"]).await;
    assert!(e.contains("API root 'api2' already exists"), "{e}");
    for bad in ["a//b", "taxii2", "a b", "../x", "/"] {
        let e = fails(&store, &["api-root", "add", bad, "--title", "t"]).await;
        assert!(e.contains("is not a usable API root path"), "{bad}: {e}");
    }
    let e = fails(&store, &["api-root", "add", "api3", "--title", " "]).await;
    assert!(e.contains("--title"), "{e}");
}

#[tokio::test]
async fn a_stored_discovery_resource_lists_a_new_api_root_like_the_others() {
    let store: Arc<dyn Store> = Arc::new(sample());
    let added = ok_json(
        &store,
        &["api-root", "add", "api3", "--title", "Three", "--json"],
    )
    .await;
    assert_eq!(added["discovery_entry"], "http://localhost:5000/api3/");
    let d = store.discovery().await.unwrap().unwrap();
    let roots = d["api_roots"].as_array().unwrap();
    assert_eq!(roots.len(), 4);
    assert_eq!(roots[3], "http://localhost:5000/api3/");
}

#[tokio::test]
async fn collections_are_added_listed_and_removed() {
    let store = memory();
    ok(&store, &["api-root", "add", "api1", "--title", "One"]).await;
    assert_eq!(
        ok(&store, &["collection", "list"]).await.trim(),
        "no collections"
    );
    let added = ok_json(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "Indicators",
            "--id",
            &ID.to_uppercase(),
            "--alias",
            "indicators",
            "--description",
            "all of them",
            "--read",
            "everyone",
            "--write",
            "bob, alice",
            "--media-type",
            "application/stix+json;version=2.1",
            "--json",
        ],
    )
    .await;
    assert_eq!(
        added,
        json!({"api_root": "api1", "id": ID, "title": "Indicators", "description": "all of them",
               "alias": "indicators", "read": true, "write": ["alice", "bob"],
               "media_types": ["application/stix+json;version=2.1"]})
    );
    let stored = store
        .collection("api1", "indicators")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, ID);
    assert_eq!(
        stored.write,
        Grant::Users(BTreeSet::from(["alice".to_owned(), "bob".to_owned()]))
    );
    assert_eq!(stored.read, Grant::Everyone);

    let second = ok_json(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "Private",
            "--read",
            "nobody",
            "--write",
            "nobody",
            "--json",
        ],
    )
    .await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert!(taxii_model::object::is_uuid(&second_id));
    assert_eq!(second["media_types"], json!(null));
    assert_eq!(second["read"], false);

    let list = ok_json(
        &store,
        &["collection", "list", "--api-root", "/api1/", "--json"],
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let table = ok(&store, &["collection", "list"]).await;
    assert!(table.starts_with("API ROOT"), "{table}");
    assert!(
        table.contains("alice,bob") && table.contains("indicators"),
        "{table}"
    );

    let removed = ok_json(
        &store,
        &[
            "collection",
            "remove",
            "--api-root",
            "api1",
            "indicators",
            "--json",
        ],
    )
    .await;
    assert_eq!(removed["id"], ID);
    assert_eq!(removed["removed"], true);
    let text = ok(
        &store,
        &["collection", "remove", "--api-root", "api1", &second_id],
    )
    .await;
    assert!(
        text.contains(&format!("removed collection {second_id}")),
        "{text}"
    );
    assert!(store.collections("api1").await.unwrap().is_empty());
    let e = fails(&store, &["collection", "remove", "--api-root", "api1", ID]).await;
    assert_eq!(e, format!("API root 'api1' has no collection '{ID}'"));
}

#[tokio::test]
async fn wrong_collection_input_is_a_one_line_error() {
    let store = memory();
    ok(&store, &["api-root", "add", "api1", "--title", "One"]).await;
    let add = |extra: &[&str]| {
        let mut args = vec!["collection", "add", "--api-root", "api1", "--title", "T"];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = async |extra: &[&str]| {
        let args = add(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&store, &args).await
    };
    ok(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "T",
            "--id",
            ID,
            "--alias",
            "a",
        ],
    )
    .await;

    let e = fails(
        &store,
        &["collection", "add", "--api-root", "nope", "--title", "T"],
    )
    .await;
    assert!(
        e.contains("no API root 'nope' (the store has: api1)"),
        "{e}"
    );
    assert!(run(&["--id", "not-a-uuid"]).await.contains("is not a UUID"));
    assert!(run(&["--id", ID]).await.contains("already has collection"));
    assert!(
        run(&["--alias", "a"])
            .await
            .contains("already has collection")
    );
    assert!(
        run(&["--alias", ID])
            .await
            .contains("already has collection")
    );
    assert!(run(&["--id", "a"]).await.contains("is not a UUID"));
    assert!(
        run(&["--alias", "x/y"])
            .await
            .contains("not usable in a URL")
    );
    let e = run(&["--media-type", "application/json"]).await;
    assert!(e.contains("not a supported STIX media type"), "{e}");
    let e = run(&["--media-type", "application/stix+json;version=9.9"]).await;
    assert!(e.contains("not a supported STIX media type"), "{e}");
    let e = fails(&store, &["collection", "list", "--api-root", "nope"]).await;
    assert!(e.contains("no API root 'nope'"), "{e}");
    let e = fails(
        &store,
        &["collection", "remove", "--api-root", "api1", "zzz"],
    )
    .await;
    assert_eq!(e, "API root 'api1' has no collection 'zzz'");
    assert_eq!(store.collections("api1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn users_are_kept_as_argon2_hashes_and_never_printed() {
    let store = memory();
    assert_eq!(
        ok(&store, &["user", "list"]).await.trim(),
        "no users in the store"
    );
    let added = ok_json(
        &store,
        &["user", "add", "alice", "--password", "s3cret", "--json"],
    )
    .await;
    assert_eq!(added, json!({"name": "alice", "generated": false}));
    let hash = store.user("alice").await.unwrap().unwrap().password_hash;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(verify_password("s3cret", &hash));

    // Generated: printed once, stored hashed.
    let bob = ok_json(&store, &["user", "add", "bob", "--json"]).await;
    let password = bob["password"].as_str().unwrap().to_owned();
    assert_eq!(bob["generated"], true);
    assert_eq!(password.len(), 24);
    let bob_hash = store.user("bob").await.unwrap().unwrap().password_hash;
    assert!(verify_password(&password, &bob_hash));
    let text = ok(&store, &["user", "add", "carol"]).await;
    assert!(
        text.contains("added user carol") && text.contains("password: "),
        "{text}"
    );

    let list = ok_json(&store, &["user", "list", "--json"]).await;
    assert_eq!(
        list,
        json!([{"name": "alice", "password_scheme": "argon2id"},
               {"name": "bob", "password_scheme": "argon2id"},
               {"name": "carol", "password_scheme": "argon2id"}])
    );
    let table = ok(&store, &["user", "list"]).await;
    assert!(
        table.starts_with("NAME") && table.contains("carol"),
        "{table}"
    );
    for out in [table, list.to_string()] {
        assert!(
            !out.contains("$argon2") && !out.contains(&password),
            "{out}"
        );
    }

    let changed = ok(&store, &["user", "passwd", "alice", "--password", "n3w"]).await;
    assert_eq!(changed.trim(), "changed the password of user alice");
    let new_hash = store.user("alice").await.unwrap().unwrap().password_hash;
    assert!(verify_password("n3w", &new_hash) && !verify_password("s3cret", &new_hash));
    let generated = ok_json(&store, &["user", "passwd", "alice", "--json"]).await;
    let hash = store.user("alice").await.unwrap().unwrap().password_hash;
    assert!(verify_password(
        generated["password"].as_str().unwrap(),
        &hash
    ));

    let removed = ok_json(&store, &["user", "remove", "bob", "--json"]).await;
    assert_eq!(removed, json!({"name": "bob", "removed": true}));
    assert!(store.user("bob").await.unwrap().is_none());
    assert_eq!(
        ok(&store, &["user", "remove", "carol"]).await.trim(),
        "removed user carol"
    );
}

#[tokio::test]
async fn wrong_user_input_is_a_one_line_error() {
    let store = memory();
    ok(&store, &["user", "add", "alice", "--password", "p"]).await;
    let e = fails(&store, &["user", "add", "alice", "--password", "q"]).await;
    assert!(e.contains("user 'alice' already exists"), "{e}");
    assert!(verify_password(
        "p",
        &store.user("alice").await.unwrap().unwrap().password_hash
    ));
    let e = fails(&store, &["user", "passwd", "nobody", "--password", "q"]).await;
    assert_eq!(e, "there is no user 'nobody' in the store");
    let e = fails(&store, &["user", "remove", "nobody"]).await;
    assert_eq!(e, "there is no user 'nobody' in the store");
    for bad in ["a:b", "", " x", "tab\there"] {
        let e = fails(&store, &["user", "add", bad, "--password", "p"]).await;
        assert!(e.contains("is not a usable user name"), "{bad:?}: {e}");
    }
    let e = fails(&store, &["user", "add", "dave", "--password", ""]).await;
    assert_eq!(e, "--password must not be empty");
    assert_eq!(store.users().await.unwrap().len(), 1);
}

#[test]
fn a_password_is_the_first_line_of_standard_input() {
    let read = |s: &str| read_password_line(&mut Cursor::new(s.as_bytes().to_vec()));
    assert_eq!(read("pass word\r\nnext\n").unwrap(), "pass word");
    assert_eq!(read("no newline").unwrap(), "no newline");
    assert!(
        read("")
            .unwrap_err()
            .contains("no password on standard input")
    );
    assert!(read("\n").is_err());
}
