use super::*;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn req(file: Option<&Path>) -> Request {
    Request {
        conf_file: file.map(Path::to_owned),
        ..Request::default()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const NATIVE: &str = r#"
[server]
host = "10.0.0.1"
port = 6000
[store]
path = "db/x.sqlite3"
[taxii]
max_page_size = 20
status_retention = -1
"#;

#[test]
fn the_format_is_told_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let native = |p: &Path| detect(p).unwrap().map(|(s, _)| s);
    assert_eq!(native(&write(d, "a.toml", "")), Some(Syntax::Toml));
    assert_eq!(
        native(&write(d, "a.conf", "[server]\nport = 1\n")),
        Some(Syntax::Toml)
    );
    assert_eq!(
        native(&write(d, "a.json", r#"{"store": {"type": "memory"}}"#)),
        Some(Syntax::Json)
    );
    assert_eq!(
        native(&write(d, "b.conf", r#"{"api_roots": []}"#)),
        Some(Syntax::Json)
    );
    for medallion in [
        r#"{"backend": {"module_class": "MemoryBackend"}}"#,
        r#"{"users": {"admin": "Password0"}, "taxii": {"max_page_size": 5}}"#,
        "{}",
        "{\"users\": ",
        "[]",
    ] {
        assert_eq!(native(&write(d, "m.json", medallion)), None, "{medallion}");
    }
    let e = detect(&write(d, "mixed.json", r#"{"backend": {}, "store": {}}"#)).unwrap_err();
    assert!(
        e.contains("mixed.json") && e.contains("backend") && e.contains("store"),
        "{e}"
    );
    let e = detect(&d.join("absent.toml")).unwrap_err();
    assert!(e.contains("absent.toml"), "{e}");
}

#[test]
fn without_any_configuration_the_store_is_sqlite_in_the_working_directory() {
    let r = resolve(&req(None), &env_of(&[])).unwrap();
    assert_eq!(r.format, Format::Defaults);
    assert_eq!(
        r.store,
        StorePlan::Sqlite {
            path: DEFAULT_SQLITE_PATH.into(),
            seed: None
        }
    );
    assert_eq!((r.host.as_str(), r.port), ("127.0.0.1", 5000));
    assert!(r.users.is_empty() && r.layout.api_roots.is_empty());
    assert_eq!(r.max_page_size, 100);
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "taxiid.toml", NATIVE);
    let r = resolve(&req(Some(&file)), &env_of(&[])).unwrap();
    assert_eq!(r.format, Format::Native);
    assert_eq!(
        (r.host.as_str(), r.port, r.max_page_size),
        ("10.0.0.1", 6000, 20)
    );
    assert_eq!(r.status_retention, None);
    let env = env_of(&[
        ("TAXIID_HOST", "127.0.0.2"),
        ("TAXIID_PORT", "7000"),
        ("TAXIID_MAX_PAGE_SIZE", "3"),
        ("TAXIID_SQLITE_PATH", "other.sqlite3"),
        ("TAXIID_NEXT_TOKEN_SECRET", "0123456789abcdef0"),
        ("TAXIID_ADMIN_USER", "root"),
    ]);
    let r = resolve(&req(Some(&file)), &env).unwrap();
    assert_eq!(
        (r.host.as_str(), r.port, r.max_page_size),
        ("127.0.0.2", 7000, 3)
    );
    assert_eq!(
        r.store,
        StorePlan::Sqlite {
            path: "other.sqlite3".into(),
            seed: None
        }
    );
    assert_eq!(r.next_token_secret.as_deref(), Some("0123456789abcdef0"));
    assert_eq!(r.admin.user.as_deref(), Some("root"));
    let mut flags = req(Some(&file));
    flags.host = Some("::1".into());
    flags.port = Some(0);
    let r = resolve(&flags, &env).unwrap();
    assert_eq!((r.host.as_str(), r.port), ("::1", 0));
    let memory = resolve(&req(Some(&file)), &env_of(&[("TAXIID_STORE", "memory")])).unwrap();
    assert_eq!(
        memory.store,
        StorePlan::Memory {
            data_file: None,
            save_on_shutdown: false
        }
    );
}

#[test]
fn taxiid_config_names_the_file_after_the_flags_and_before_medallion_conffile() {
    let dir = tempfile::tempdir().unwrap();
    let native = write(dir.path(), "taxiid.toml", NATIVE);
    let medallion = write(dir.path(), "m.json", r#"{"users": {"a": "b"}}"#);
    let n = native.to_str().unwrap();
    let m = medallion.to_str().unwrap();
    let r = resolve(&req(None), &env_of(&[("TAXIID_CONFIG", n)])).unwrap();
    assert_eq!(r.format, Format::Native);
    let both = env_of(&[("TAXIID_CONFIG", n), ("MEDALLION_CONFFILE", m)]);
    assert_eq!(resolve(&req(None), &both).unwrap().format, Format::Native);
    let r = resolve(&req(Some(&medallion)), &both).unwrap();
    assert_eq!(r.format, Format::Medallion);
    assert_eq!(r.users.len(), 1);
}

#[test]
fn a_medallion_config_with_taxiid_store_sqlite_is_seeded_from_its_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "medallion.json",
        r#"{"backend": {"module_class": "MemoryBackend", "filename": "data.json", "save_on_shutdown": true},
            "users": {"admin": "Password0"}, "taxii": {"max_page_size": 7}}"#,
    );
    let r = resolve(&req(Some(&file)), &env_of(&[])).unwrap();
    assert_eq!(
        r.store,
        StorePlan::Memory {
            data_file: Some("data.json".into()),
            save_on_shutdown: true
        }
    );
    let env = env_of(&[("TAXIID_STORE", "sqlite"), ("TAXIID_SQLITE_PATH", "s.db")]);
    let r = resolve(&req(Some(&file)), &env).unwrap();
    assert_eq!(r.format, Format::Medallion);
    assert_eq!(
        r.store,
        StorePlan::Sqlite {
            path: "s.db".into(),
            seed: Some("data.json".into())
        }
    );
    assert_eq!((r.max_page_size, r.users.len()), (7, 1));
    // MEDALLION_* variables still apply to medallion configurations.
    let env = env_of(&[("MEDALLION_TAXII_MAX_PAGE_SIZE", "9"), ("TAXIID_PORT", "1")]);
    let r = resolve(&req(Some(&file)), &env).unwrap();
    assert_eq!((r.max_page_size, r.port), (9, 1));
    // …and TAXIID_* beat them.
    let env = env_of(&[
        ("MEDALLION_TAXII_MAX_PAGE_SIZE", "9"),
        ("TAXIID_MAX_PAGE_SIZE", "4"),
    ]);
    assert_eq!(resolve(&req(Some(&file)), &env).unwrap().max_page_size, 4);
}

fn pg(r: &Resolved) -> &PgPlan {
    match &r.store {
        StorePlan::Postgres(p) => p,
        other => panic!("not postgres: {other:?}"),
    }
}

#[test]
fn postgres_takes_its_url_from_the_file_a_url_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "pg.toml",
        "[store]\ntype = \"postgres\"\nurl = \"postgres://taxiid:s3cret@db/taxii\"\npool_size = 4\nstatement_timeout = 7\n",
    );
    let r = resolve(&req(Some(&file)), &env_of(&[])).unwrap();
    let p = pg(&r);
    assert_eq!(p.url.expose(), "postgres://taxiid:s3cret@db/taxii");
    assert_eq!(
        (p.pool_size, p.statement_timeout, &p.seed),
        (4, Duration::from_secs(7), &None)
    );
    // Defaults, and the URL from a file (trailing newline trimmed).
    let secret = write(dir.path(), "pg-url", "postgres://u:s3cret@db2/taxii\n");
    let file = write(
        dir.path(),
        "pg2.toml",
        &format!(
            "[store]\ntype = \"postgres\"\nurl_file = \"{}\"\n",
            secret.display()
        ),
    );
    let r = resolve(&req(Some(&file)), &env_of(&[])).unwrap();
    let p = pg(&r);
    assert_eq!(p.url.expose(), "postgres://u:s3cret@db2/taxii");
    assert_eq!(
        (p.pool_size, p.statement_timeout),
        (10, Duration::from_secs(30))
    );
    // The environment beats the file.
    let env = env_of(&[("TAXIID_POSTGRES_URL", "postgres://env@db3/t")]);
    let r = resolve(&req(Some(&file)), &env).unwrap();
    assert_eq!(pg(&r).url.expose(), "postgres://env@db3/t");
    let env = env_of(&[
        ("TAXIID_STORE", "postgres"),
        ("TAXIID_POSTGRES_URL_FILE", secret.to_str().unwrap()),
    ]);
    let r = resolve(&req(None), &env).unwrap();
    assert_eq!(pg(&r).url.expose(), "postgres://u:s3cret@db2/taxii");
    // The Debug form shows no password.
    let shown = format!("{r:?}");
    assert!(
        shown.contains("u:***@db2") && !shown.contains("s3cret"),
        "{shown}"
    );
    // Overriding a postgres file with sqlite or memory works, and needs no URL.
    let bare = write(dir.path(), "bare.toml", "[store]\ntype = \"postgres\"\n");
    let r = resolve(&req(Some(&bare)), &env_of(&[("TAXIID_STORE", "sqlite")])).unwrap();
    assert!(matches!(r.store, StorePlan::Sqlite { .. }));
    let r = resolve(&req(Some(&bare)), &env_of(&[("TAXIID_STORE", "memory")])).unwrap();
    assert!(matches!(r.store, StorePlan::Memory { .. }));
}

#[test]
fn a_medallion_config_with_taxiid_store_postgres_seeds_from_its_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "m.json",
        r#"{"backend": {"module_class": "MemoryBackend", "filename": "data.json", "save_on_shutdown": true}}"#,
    );
    let env = env_of(&[
        ("TAXIID_STORE", "postgres"),
        ("TAXIID_POSTGRES_URL", "postgres://db/taxii"),
    ]);
    let r = resolve(&req(Some(&file)), &env).unwrap();
    assert_eq!(pg(&r).seed, Some(PathBuf::from("data.json")));
    assert_eq!(r.format, Format::Medallion);
}

#[test]
fn a_missing_or_bad_postgres_url_names_its_source_but_never_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let bare = write(dir.path(), "bare.toml", "[store]\ntype = \"postgres\"\n");
    let e = resolve(&req(Some(&bare)), &env_of(&[])).unwrap_err();
    assert!(
        e.starts_with(&bare.display().to_string()) && e.contains("store.url"),
        "{e}"
    );
    let e = resolve(&req(None), &env_of(&[("TAXIID_STORE", "postgres")])).unwrap_err();
    assert!(
        e.starts_with("environment") && e.contains("TAXIID_POSTGRES_URL"),
        "{e}"
    );
    let bad = write(
        dir.path(),
        "bad.toml",
        "[store]\ntype = \"postgres\"\nurl = \"mysql://u:s3cret@db/x\"\n",
    );
    let e = resolve(&req(Some(&bad)), &env_of(&[])).unwrap_err();
    assert!(
        e.starts_with(&format!("{}: store.url", bad.display())) && !e.contains("s3cret"),
        "{e}"
    );
    let missing = write(
        dir.path(),
        "missing.toml",
        "[store]\ntype = \"postgres\"\nurl_file = \"/nonexistent/pg-url\"\n",
    );
    let e = resolve(&req(Some(&missing)), &env_of(&[])).unwrap_err();
    assert!(
        e.contains("store.url_file") && e.contains("/nonexistent/pg-url"),
        "{e}"
    );
    let env = env_of(&[
        ("TAXIID_STORE", "postgres"),
        ("TAXIID_POSTGRES_URL", "postgres://u:s3cret@db:port/x"),
    ]);
    let e = resolve(&req(None), &env).unwrap_err();
    assert!(
        e.starts_with("environment: TAXIID_POSTGRES_URL") && !e.contains("s3cret"),
        "{e}"
    );
}

#[test]
fn errors_name_their_source_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "[taxii]\nmax_page_sise = 5\n");
    let e = resolve(&req(Some(&file)), &env_of(&[])).unwrap_err();
    assert!(
        e.contains("bad.toml") && e.contains("max_page_sise") && !e.contains('\n'),
        "{e}"
    );
    let e = resolve(&req(None), &env_of(&[("TAXIID_PORT", "x")])).unwrap_err();
    assert!(e.starts_with("environment: TAXIID_PORT"), "{e}");
    let file = write(dir.path(), "m.json", r#"{"taxii": {"max_page_size": 0}}"#);
    let e = resolve(&req(Some(&file)), &env_of(&[])).unwrap_err();
    assert!(e.contains("m.json") && e.contains("max_page_size"), "{e}");
}

#[test]
fn the_debug_form_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "s.toml",
        "[users]\nalice = \"Password1\"\n[taxii]\nnext_token_secret = \"0123456789abcdefXYZ\"\n",
    );
    let env = env_of(&[("TAXIID_ADMIN_PASSWORD", "hunter2hunter2")]);
    let r = resolve(&req(Some(&file)), &env).unwrap();
    let shown = format!("{r:?}");
    assert!(shown.contains("alice"), "{shown}");
    for secret in ["Password1", "0123456789abcdefXYZ", "hunter2hunter2"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
