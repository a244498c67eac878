//! `token` subcommands.

use super::*;

#[tokio::test]
async fn tokens_are_created_listed_and_revoked_without_their_secret_being_kept() {
    let store = memory();
    assert_eq!(
        ok(&store, &["token", "list"]).await.trim(),
        "no tokens in the store"
    );
    ok(&store, &["user", "add", "alice", "--password", "p"]).await;
    let made = ok_json(
        &store,
        &[
            "token",
            "create",
            "alice",
            "--label",
            "SIEM pull",
            "--expires-in",
            "90d",
            "--json",
        ],
    )
    .await;
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with(&format!("taxiid_{id}_")), "{made}");
    assert_eq!(made["user"], "alice");
    assert_eq!(made["label"], "SIEM pull");
    assert_eq!(made["expired"], false);
    assert_eq!(made["user_in_store"], true);
    let created = Timestamp::parse(made["created"].as_str().unwrap()).unwrap();
    let expires = Timestamp::parse(made["expires"].as_str().unwrap()).unwrap();
    assert_eq!(
        expires.nanos() - created.nanos(),
        90 * 86_400 * 1_000_000_000
    );

    // The store has a digest, never the token or its secret.
    let kept = store.token(&id).await.unwrap().unwrap();
    let secret = token.rsplit_once(&format!("{id}_")).unwrap().1;
    assert!(!kept.secret_sha256.contains(secret));
    assert_eq!(kept.secret_sha256.len(), 64);

    let text = ok(&store, &["token", "create", "bob"]).await;
    assert!(
        text.contains("created token ") && text.contains("for user bob"),
        "{text}"
    );
    assert!(text.contains("token: taxiid_"), "{text}");
    assert!(text.contains("the store keeps no user 'bob'"), "{text}");

    let list = ok_json(&store, &["token", "list", "--json"]).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|t| t.get("token").is_none()), "{list:?}");
    let table = ok(&store, &["token", "list"]).await;
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&id) && table.contains("SIEM pull"),
        "{table}"
    );
    assert!(!table.contains(secret), "{table}");

    let revoked = ok_json(&store, &["token", "revoke", &id, "--json"]).await;
    assert_eq!(revoked, json!({"id": id, "revoked": true}));
    assert!(store.token(&id).await.unwrap().is_none());
    let e = fails(&store, &["token", "revoke", &id]).await;
    assert!(e.starts_with(&format!("there is no token '{id}'")), "{e}");
}

#[tokio::test]
async fn wrong_token_input_is_a_one_line_error_and_stores_nothing() {
    let store = memory();
    for args in [
        &["token", "create", "a:b"][..],
        &["token", "create", "alice", "--expires-in", "0d"],
        &["token", "create", "alice", "--expires-in", "soon"],
        &[
            "token",
            "create",
            "alice",
            "--expires",
            "2001-01-01T00:00:00Z",
        ],
        &["token", "create", "alice", "--expires", "tomorrow"],
    ] {
        fails(&store, args).await;
    }
    assert!(store.tokens().await.unwrap().is_empty());
}
