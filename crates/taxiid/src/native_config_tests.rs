use super::*;

fn toml(text: &str) -> Result<Layout, String> {
    check(&parse(text, Syntax::Toml)?)
}

const TWO_ROOTS: &str = r#"
[server]
host = "0.0.0.0"
port = 8080

[store]
type = "memory"
data_file = "data.json"
save_on_shutdown = true

[taxii]
max_page_size = 50
status_retention = -1
max_content_length = 1000

[discovery]
title = "Intel"
default = "org/a/api1"

[[api_roots]]
path = "org/a/api1"
title = "Nested"

[[api_roots.collections]]
id = "0b8a8c2a-5c1f-4c5e-9a43-6e7a1f1c2d3e"
alias = "shared"
read = ["alice", "bob"]
write = ["alice"]
media_types = ["application/stix+json;version=2.1"]

[[api_roots]]
path = "/api2/"
max_content_length = 99

[[api_roots.collections]]
alias = "closed"
read = false

[users]
alice = "Password1"
bob = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$8T5mR2Cz2vXgZ1Xb8dqyGJ2Vq3mB1a9cXwJ3xGmW5nE"
"#;

#[test]
fn the_example_is_valid_and_describes_the_first_start_layout() {
    let file = parse(EXAMPLE, Syntax::Toml).unwrap();
    let layout = check(&file).unwrap();
    assert_eq!(file.server.host, "127.0.0.1");
    assert_eq!(file.server.port, 5000);
    assert_eq!(file.store.kind, StoreKind::Sqlite);
    assert_eq!(file.store.path, Some(DEFAULT_SQLITE_PATH.into()));
    assert_eq!(file.taxii.max_page_size, 100);
    assert_eq!(file.taxii.max_content_length, DEFAULT_MAX_CONTENT_LENGTH);
    assert!(file.users.is_empty());
    assert_eq!(layout.api_roots.len(), 1);
    let root = &layout.api_roots[0];
    assert_eq!(root.name, "api1");
    assert_eq!(root.information["versions"], serde_json::json!([TAXII_21]));
    let c = &root.collections[0];
    assert_eq!(
        (c.id.as_deref(), c.alias.as_deref()),
        (None, Some("default"))
    );
    assert_eq!((&c.read, &c.write), (&Grant::Everyone, &Grant::Everyone));
}

#[test]
fn an_empty_file_means_every_default() {
    let file = parse("", Syntax::Toml).unwrap();
    assert_eq!(file.store.kind, StoreKind::Sqlite);
    assert_eq!(file.taxii.status_retention, 86_400);
    assert_eq!(file.taxii.status_check_interval, 10);
    assert_eq!(check(&file).unwrap(), Layout::default());
    assert!(parse("{}", Syntax::Json).is_ok());
}

#[test]
fn roots_collections_and_grants_are_read() {
    let layout = toml(TWO_ROOTS).unwrap();
    let [nested, api2] = layout.api_roots.as_slice() else {
        panic!("{layout:?}")
    };
    assert_eq!(nested.name, "org/a/api1");
    assert_eq!(nested.information["title"], "Nested");
    assert_eq!(nested.information["max_content_length"], 1000);
    assert_eq!(api2.name, "api2");
    assert_eq!(api2.information["title"], "api2");
    assert_eq!(api2.information["max_content_length"], 99);
    let shared = &nested.collections[0];
    assert_eq!(
        shared.read,
        Grant::Users(["alice".to_owned(), "bob".to_owned()].into())
    );
    assert_eq!(shared.write, Grant::Users(["alice".to_owned()].into()));
    assert_eq!(shared.title, "shared");
    let closed = &api2.collections[0];
    assert_eq!(
        (&closed.read, &closed.write),
        (&Grant::Nobody, &Grant::Nobody)
    );
    assert_eq!(
        layout.discovery.unwrap().default.as_deref(),
        Some("org/a/api1")
    );
}

#[test]
fn json_with_the_same_structure_reads_the_same() {
    let file = parse(TWO_ROOTS, Syntax::Toml).unwrap();
    let json = serde_json::json!({
        "server": {"host": "0.0.0.0", "port": 8080},
        "store": {"type": "memory", "data_file": "data.json", "save_on_shutdown": true},
        "taxii": {"max_page_size": 50, "status_retention": -1, "max_content_length": 1000},
        "discovery": {"title": "Intel", "default": "org/a/api1"},
        "api_roots": [
            {"path": "org/a/api1", "title": "Nested", "collections": [
                {"id": "0b8a8c2a-5c1f-4c5e-9a43-6e7a1f1c2d3e", "alias": "shared",
                 "read": ["alice", "bob"], "write": ["alice"],
                 "media_types": ["application/stix+json;version=2.1"]}]},
            {"path": "/api2/", "max_content_length": 99, "collections": [
                {"alias": "closed", "read": false}]}
        ],
        "users": file.users,
    });
    let from_json = parse(&json.to_string(), Syntax::Json).unwrap();
    assert_eq!(check(&from_json).unwrap(), check(&file).unwrap());
    assert_eq!(from_json.users, file.users);
}

#[test]
fn unknown_keys_are_named_with_their_place() {
    let e = toml("[server]\nhost = \"::\"\nprot = 1\n").unwrap_err();
    assert!(
        e.contains("unknown field `prot`") && e.contains("line 3"),
        "{e}"
    );
    let e = toml("colour = \"blue\"\n").unwrap_err();
    assert!(e.contains("`colour`"), "{e}");
    let e = toml(
        "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\nalias = \"x\"\nreed = true\n",
    )
    .unwrap_err();
    assert!(e.contains("`reed`") && e.contains("line 5"), "{e}");
    let e = parse(
        r#"{"store": {"type": "sqlite", "file": "x"}}"#,
        Syntax::Json,
    )
    .unwrap_err();
    assert!(e.contains("`file`"), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn wrong_types_and_values_are_refused() {
    for (text, needle) in [
        ("[server]\nport = 70000", "u16"),
        ("[store]\ntype = \"mongodb\"", "mongodb"),
        ("[taxii]\nmax_page_size = 0", "max_page_size"),
        ("[taxii]\nstatus_retention = -2", "status_retention"),
        (
            "[taxii]\nstatus_check_interval = 0",
            "status_check_interval",
        ),
        (
            "[taxii]\nnext_token_secret = \"short\"",
            "next_token_secret",
        ),
        ("[store]\ntype = \"memory\"\npath = \"x\"", "store.path"),
        ("[store]\ndata_file = \"x\"", "store.data_file"),
        ("[store]\nurl = \"postgres://h/d\"", "store.url"),
        (
            "[store]\ntype = \"memory\"\nurl_file = \"u\"",
            "store.url_file",
        ),
        ("[store]\npool_size = 5", "store.pool_size"),
        ("[store]\nstatement_timeout = 5", "store.statement_timeout"),
        (
            "[store]\ntype = \"postgres\"\nurl = \"postgres://h/d\"\nurl_file = \"u\"",
            "not both",
        ),
        ("[store]\ntype = \"postgres\"\npool_size = 0", "pool_size"),
        (
            "[store]\ntype = \"postgres\"\nstatement_timeout = 0",
            "statement_timeout",
        ),
        ("[store]\ntype = \"postgres\"\npool_size = -1", "u32"),
        (
            "[store]\ntype = \"memory\"\nsave_on_shutdown = true",
            "data_file",
        ),
        ("[[api_roots]]\npath = \"taxii2\"", "taxii2"),
        ("[[api_roots]]\npath = \"a//b\"", "a//b"),
        (
            "[[api_roots]]\npath = \"a\"\n[[api_roots]]\npath = \"a/\"",
            "twice",
        ),
        ("[[api_roots]]\ntitle = \"no path\"", "path"),
        (
            "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\ntitle = \"t\"",
            "'id' or an 'alias'",
        ),
        (
            "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\nid = \"not-a-uuid\"",
            "UUID",
        ),
        (
            "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\nalias = \"x\"\n[[api_roots.collections]]\nalias = \"x\"",
            "two collections",
        ),
        (
            "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\nalias = \"x\"\nread = \"yes\"",
            "or a list of user names",
        ),
        ("[users]\n\"a:b\" = \"pw\"", "a:b"),
        ("[users]\nbob = \"$argon2id$garbage\"", "bob"),
        (
            "[users]\nold = \"pbkdf2:sha256$salt$abc\"",
            "werkzeug (pbkdf2, scrypt)",
        ),
    ] {
        let e = toml(text).unwrap_err();
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn werkzeug_and_bcrypt_user_hashes_are_accepted() {
    let text = "[users]\nold = \"pbkdf2:sha256:1000$N7gjlx4cXbSE$0274a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025\"\ncrypt = \"$2b$04$iiAXiNNcsHgEKgXBlpq.fOxPG4EW6wEdumRcJpzJGJxYFdXeMyW9W\"";
    assert!(toml(text).is_ok(), "{:?}", toml(text).err());
}

#[test]
fn collection_ids_must_be_canonical_uuids() {
    assert!(is_uuid("0b8a8c2a-5c1f-4c5e-9a43-6e7a1f1c2d3e"));
    assert!(!is_uuid("0B8A8C2A-5C1F-4C5E-9A43-6E7A1F1C2D3E"));
    assert!(!is_uuid("0b8a8c2a5c1f4c5e9a436e7a1f1c2d3e"));
}

const GROUPED: &str = r#"
[groups]
analysts = ["alice", "bob"]
leads = ["carol"]

[[api_roots]]
path = "api1"

[[api_roots.collections]]
alias = "feed"
read = "public"
write = ["@analysts", "@leads", "dave"]
"#;

#[test]
fn groups_expand_to_their_members_and_public_read_is_kept() {
    let layout = toml(GROUPED).unwrap();
    let feed = &layout.api_roots[0].collections[0];
    assert_eq!(feed.read, Grant::Public);
    let names = ["alice", "bob", "carol", "dave"].map(str::to_owned);
    assert_eq!(feed.write, Grant::Users(names.into()));
}

#[test]
fn unknown_groups_public_writes_and_odd_group_names_are_refused() {
    let unknown = GROUPED.replace("\"@leads\"", "\"@nobody-knows\"");
    let e = toml(&unknown).unwrap_err();
    assert!(
        e.contains("'@nobody-knows'") && e.contains("api_roots[0].collections[0].write"),
        "{e}"
    );
    let public_write = GROUPED.replace(
        "write = [\"@analysts\", \"@leads\", \"dave\"]",
        "write = \"public\"",
    );
    let e = toml(&public_write).unwrap_err();
    assert!(e.contains("cannot be \"public\""), "{e}");
    let other_word = GROUPED.replace("read = \"public\"", "read = \"everyone\"");
    let e = toml(&other_word).unwrap_err();
    assert!(e.contains("public"), "{e}");
    let at_name = GROUPED.replace("leads = [", "\"@leads\" = [");
    assert!(toml(&at_name).unwrap_err().contains("without '@'"));
    let colon = GROUPED.replace("[\"carol\"]", "[\"ca:rol\"]");
    assert!(toml(&colon).unwrap_err().contains("'ca:rol'"));
}
