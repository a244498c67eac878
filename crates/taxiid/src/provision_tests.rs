use super::*;
use crate::native_config::{Syntax, check, parse};
use crate::resolve::{Format, StorePlan};
use taxii_server::auth::verify_password;
use taxii_store::memory::MemoryStore;

fn resolved(layout: Layout) -> Resolved {
    Resolved {
        format: Format::Native,
        files: vec![],
        host: "127.0.0.1".into(),
        port: 0,
        store: StorePlan::Memory {
            data_file: None,
            save_on_shutdown: false,
        },
        users: BTreeMap::new(),
        max_page_size: 100,
        status_retention: None,
        check_interval: 10,
        default_max_content_length: 1000,
        next_token_secret: None,
        hide_inaccessible_collections: false,
        taxii20_serves_stix21: false,
        api_keys: BTreeMap::new(),
        transport: crate::transport::Transport::default(),
        layout,
        admin: AdminAccount::default(),
    }
}

fn layout(text: &str) -> Layout {
    check(&parse(text, Syntax::Toml).unwrap()).unwrap()
}

const LAYOUT: &str = r#"
[discovery]
title = "Intel"
contact = "soc@example.org"
default = "a"
[[api_roots]]
path = "a"
[[api_roots.collections]]
alias = "by-alias"
read = ["alice"]
[[api_roots.collections]]
id = "0b8a8c2a-5c1f-4c5e-9a43-6e7a1f1c2d3e"
title = "Fixed"
write = true
[[api_roots]]
path = "org/b"
"#;

#[tokio::test]
async fn an_empty_store_gets_the_default_root_an_admin_and_a_kept_cursor_key() {
    let store = MemoryStore::new();
    let r = resolved(Layout::default());
    let key = provision(&store, &r).await.unwrap();
    let roots = store.api_roots().await.unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].name, "api1");
    assert_eq!(roots[0].information["max_content_length"], 1000);
    let c = store.collection("api1", "default").await.unwrap().unwrap();
    assert!(crate::native_config::is_uuid(&c.id) && c.read == Grant::Everyone);
    let users = store.users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].name, "admin");
    assert!(users[0].password_hash.starts_with("$argon2id$"));
    // A second start changes nothing and reuses the key.
    let again = provision(&store, &r).await.unwrap();
    assert_eq!(again, key);
    assert_eq!(store.users().await.unwrap(), users);
    assert_eq!(store.collections("api1").await.unwrap(), vec![c]);
    assert_eq!(
        store
            .meta(CURSOR_KEY_META)
            .await
            .unwrap()
            .unwrap()
            .as_bytes(),
        key.as_slice()
    );
}

#[tokio::test]
async fn the_admin_variables_name_the_first_account() {
    let store = MemoryStore::new();
    let mut r = resolved(Layout::default());
    r.admin = AdminAccount {
        user: Some("root".into()),
        password: Some("s3cret-pass".into()),
    };
    r.next_token_secret = Some("configured secret value".into());
    let key = provision(&store, &r).await.unwrap();
    assert_eq!(key, b"configured secret value");
    let u = store.user("root").await.unwrap().unwrap();
    assert!(verify_password("s3cret-pass", &u.password_hash));
    assert!(store.user("admin").await.unwrap().is_none());
    // Configured users and no variables: no account in the store.
    let store = MemoryStore::new();
    let mut r = resolved(Layout::default());
    r.users.insert("alice".into(), "pw".into());
    provision(&store, &r).await.unwrap();
    assert!(store.users().await.unwrap().is_empty());
}

#[tokio::test]
async fn configured_roots_and_collections_are_upserted_and_keep_their_ids() {
    let store = MemoryStore::new();
    let r = resolved(layout(LAYOUT));
    provision(&store, &r).await.unwrap();
    let names: Vec<String> = store
        .api_roots()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        ["a", "org/b"],
        "no default root when roots are configured"
    );
    let by_alias = store.collection("a", "by-alias").await.unwrap().unwrap();
    assert_eq!(by_alias.read, Grant::Users(["alice".to_owned()].into()));
    assert_eq!(by_alias.write, Grant::Nobody);
    let fixed = store
        .collection("a", "0b8a8c2a-5c1f-4c5e-9a43-6e7a1f1c2d3e")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (fixed.title.as_str(), &fixed.write),
        ("Fixed", &Grant::Everyone)
    );
    // Members kept by the store (e.g. from a medallion file) survive an update.
    let mut with_extra = by_alias.clone();
    with_extra.extra.insert("custom".into(), "kept".into());
    store.put_collection("a", with_extra).await.unwrap();
    provision(&store, &r).await.unwrap();
    let again = store.collection("a", "by-alias").await.unwrap().unwrap();
    assert_eq!(again.id, by_alias.id);
    assert_eq!(again.extra["custom"], "kept");
    assert_eq!(store.collections("a").await.unwrap().len(), 2);
    let d = store.discovery().await.unwrap().unwrap();
    assert_eq!(
        Value::Object(d),
        json!({"title": "Intel", "contact": "soc@example.org", "default": "/a/",
               "api_roots": ["/a/", "/org/b/"]})
    );
}

#[tokio::test]
async fn an_alias_taken_by_another_stored_collection_is_an_error() {
    let store = MemoryStore::new();
    provision(&store, &resolved(layout(LAYOUT))).await.unwrap();
    let clash = layout(
        "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\nid = \"11111111-1111-4111-8111-111111111111\"\nalias = \"by-alias\"\n",
    );
    let e = provision(&store, &resolved(clash)).await.unwrap_err();
    assert!(e.contains("by-alias") && e.contains("already used"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_provisioning_one_store_at_once_agree_on_one_key_and_one_admin() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let r = resolved(Layout::default());
    let (a, b) = tokio::join!(provision(&*store, &r), provision(&*store, &r));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b, "both nodes must sign next tokens with the same key");
    let kept = store.meta(CURSOR_KEY_META).await.unwrap().unwrap();
    assert_eq!(kept.into_bytes(), a);
    assert_eq!(store.users().await.unwrap().len(), 1);
    assert_eq!(store.api_roots().await.unwrap().len(), 1);
    assert_eq!(store.collections("api1").await.unwrap().len(), 1);
}
