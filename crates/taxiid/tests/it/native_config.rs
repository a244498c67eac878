//! The native configuration (TOML or JSON), the `TAXIID_*` variables, the default SQLite store
//! in the working directory and the first start.

use reqwest::Method;
use serde_json::{Value, json};

use crate::general::{Exit, envelope, indicator, run_to_exit, write_files};
use crate::helpers::*;

const SHARED_ID: &str = "0b8a8c2a-5c1f-4c5e-9a43-6e7a1f1c2d3e";

fn two_roots(bob_hash: &str) -> String {
    format!(
        r#"
[taxii]
max_page_size = 50

[discovery]
title = "Two roots"
contact = "soc@example.org"
default = "api1"

[[api_roots]]
path = "api1"
title = "First"

[[api_roots.collections]]
id = "{SHARED_ID}"
alias = "shared"
title = "Shared"
read = ["alice", "bob"]
write = ["alice"]

[[api_roots]]
path = "org/a/api2"
title = "Nested"
max_content_length = 5000

[[api_roots.collections]]
alias = "alice-only"
read = ["alice"]
write = ["alice"]

[[api_roots.collections]]
alias = "public"
read = true
write = false

[users]
alice = "Alice-pass"
bob = "{bob_hash}"
"#
    )
}

async fn call(s: &TestServer, user: (&str, &str), method: Method, path: &str) -> Resp {
    let mut r = s
        .bare(method.clone(), path)
        .basic_auth(user.0, Some(user.1))
        .header("Accept", T21);
    if method == Method::POST {
        r = r
            .header("Content-Type", T21)
            .body(envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]).to_string());
    }
    Resp::from(r.send().await.unwrap()).await
}

fn exit(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Exit {
    run_to_exit(dir, args, env)
}

/// Moves the working directory out of a stopped server, to start another one in it.
fn take_dir(s: &mut TestServer) -> tempfile::TempDir {
    std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap())
}

#[tokio::test]
async fn a_toml_config_serves_its_api_roots_with_per_user_rights() {
    let hash = taxii_server::auth::hash_password("Bob-pass").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("taxiid.toml", two_roots(&hash))]);
    let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    assert!(s.generated_password.is_none(), "{:?}", s.log);
    let (alice, bob) = (("alice", "Alice-pass"), ("bob", "Bob-pass"));
    let d = call(&s, bob, Method::GET, "/taxii2/").await.json();
    assert_eq!(
        d,
        json!({"title": "Two roots", "contact": "soc@example.org", "default": "/api1/",
               "api_roots": ["/api1/", "/org/a/api2/"]})
    );
    let nested = call(&s, alice, Method::GET, "/org/a/api2/").await.json();
    assert_eq!(nested["title"], "Nested");
    assert_eq!(nested["max_content_length"], 5000);
    assert_eq!(
        call(&s, alice, Method::GET, "/api1/").await.json()["max_content_length"],
        10_485_760
    );
    // One collection, different rights per user.
    let shared = "/api1/collections/shared/";
    let a = call(&s, alice, Method::GET, shared).await.json();
    assert_eq!(
        (a["id"].as_str(), &a["can_read"], &a["can_write"]),
        (Some(SHARED_ID), &json!(true), &json!(true))
    );
    let b = call(&s, bob, Method::GET, shared).await.json();
    assert_eq!(
        (&b["can_read"], &b["can_write"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        call(&s, alice, Method::POST, &format!("{shared}objects/"))
            .await
            .status,
        202
    );
    call(&s, bob, Method::POST, &format!("{shared}objects/"))
        .await
        .assert_error(403);
    let objects = call(&s, bob, Method::GET, &format!("{shared}objects/")).await;
    assert_eq!(objects.json()["objects"].as_array().unwrap().len(), 1);
    // A collection only alice may use.
    let only = "/org/a/api2/collections/alice-only/";
    assert_eq!(
        call(&s, alice, Method::GET, &format!("{only}objects/"))
            .await
            .status,
        200
    );
    call(&s, bob, Method::GET, &format!("{only}objects/"))
        .await
        .assert_error(403);
    call(&s, bob, Method::POST, &format!("{only}objects/"))
        .await
        .assert_error(403);
    let listed = call(&s, bob, Method::GET, "/org/a/api2/collections/")
        .await
        .json();
    let ids: Vec<&Value> = listed["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["alias"])
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    let public = call(&s, bob, Method::GET, "/org/a/api2/collections/public/")
        .await
        .json();
    assert_eq!(
        (&public["can_read"], &public["can_write"]),
        (&json!(true), &json!(false))
    );
    assert!(
        crate::general::is_uuid_v4(public["id"].as_str().unwrap()),
        "{public}"
    );
    // Plaintext passwords are accepted, with a warning; wrong ones are not.
    assert_eq!(
        call(&s, ("alice", "Bob-pass"), Method::GET, "/taxii2/")
            .await
            .status,
        401
    );
    let log = s.log.lock().unwrap().join("\n");
    assert!(
        log.contains("plaintext") && log.contains("alice") && !log.contains("Alice-pass"),
        "{log}"
    );
}

#[tokio::test]
async fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let config = json!({
        "server": {"host": "127.0.0.9", "port": 6001},
        "store": {"type": "sqlite", "path": "from-file.sqlite3"},
        "taxii": {"max_page_size": 50}
    });
    write_files(dir.path(), &[("taxiid.json", config.to_string())]);
    let check = |env: &[(&str, &str)], args: &[&str]| {
        let mut a = vec!["--conf-check", "--no-conf-dir"];
        a.extend_from_slice(args);
        let e = exit(dir.path(), &a, env);
        assert_eq!(e.status.code(), Some(0), "{e:?}");
        e.stdout
    };
    let out = check(&[("TAXIID_CONFIG", "taxiid.json")], &[]);
    assert!(
        out.contains("native format") && out.contains("127.0.0.9:6001"),
        "{out}"
    );
    assert!(
        out.contains("from-file.sqlite3") && out.contains("max_page_size 50"),
        "{out}"
    );
    let env = [
        ("TAXIID_CONFIG", "taxiid.json"),
        ("TAXIID_HOST", "127.0.0.8"),
        ("TAXIID_PORT", "6002"),
        ("TAXIID_SQLITE_PATH", "from-env.sqlite3"),
        ("TAXIID_MAX_PAGE_SIZE", "2"),
    ];
    let out = check(&env, &[]);
    assert!(
        out.contains("127.0.0.8:6002") && out.contains("from-env.sqlite3"),
        "{out}"
    );
    assert!(out.contains("max_page_size 2"), "{out}");
    let out = check(&env, &["--host", "127.0.0.7", "--port", "6003"]);
    assert!(out.contains("127.0.0.7:6003"), "{out}");
    // And when serving: the page size and the store come from the environment.
    let s = TestServer::start_in(dir, &[], &env);
    let p = "/api1/collections/default/objects/";
    for n in 1..=3 {
        let r = s
            .post_objects(p, &envelope(&[indicator(n, "2020-01-01T00:00:00.000Z")]))
            .await;
        assert_eq!(r.status, 202);
    }
    let page = s.get(p).await.json();
    assert_eq!(page["objects"].as_array().unwrap().len(), 2);
    assert_eq!(page["more"], true);
    assert!(s.dir.path().join("from-env.sqlite3").is_file());
    assert!(!s.dir.path().join("from-file.sqlite3").exists());
    let e = exit(
        s.dir.path(),
        &["--conf-check", "--no-conf-dir", "-c", "taxiid.json"],
        &[("TAXIID_PORT", "port")],
    );
    e.assert_one_line_error(&["environment", "TAXIID_PORT"]);
}

#[tokio::test]
async fn an_unknown_key_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("typo.toml", "[taxii]\nmax_page_sise = 10\n".to_owned()),
            ("nested.toml", "[[api_roots]]\npath = \"a\"\n[[api_roots.collections]]\nalias = \"x\"\nwirte = true\n".to_owned()),
            ("typo.json", r#"{"store": {"type": "memory", "datafile": "x.json"}}"#.to_owned()),
            ("pg.toml", "[store]\ntype = \"postgres\"\n".to_owned()),
        ],
    );
    for (file, key) in [
        ("typo.toml", "max_page_sise"),
        ("nested.toml", "wirte"),
        ("typo.json", "datafile"),
    ] {
        for check in [true, false] {
            let mut args = vec!["--no-conf-dir", "-c", file];
            if check {
                args.push("--conf-check");
            }
            let line = exit(dir.path(), &args, &[]).assert_one_line_error(&[file, key]);
            assert!(
                line.starts_with(&format!("taxiid: error: {file}: ")),
                "{line}"
            );
        }
    }
    // A postgres store needs a URL, from the file or the environment.
    exit(dir.path(), &["--no-conf-dir", "-c", "pg.toml"], &[])
        .assert_one_line_error(&["pg.toml", "store.url"]);
    exit(
        dir.path(),
        &["--no-conf-dir"],
        &[("TAXIID_STORE", "postgres")],
    )
    .assert_one_line_error(&["TAXIID_STORE=postgres", "TAXIID_POSTGRES_URL"]);
    assert!(!dir.path().join("taxiid-data").exists());
}

#[tokio::test]
async fn the_printed_default_config_passes_conf_check() {
    let dir = tempfile::tempdir().unwrap();
    let printed = exit(dir.path(), &["--print-default-config"], &[]);
    assert_eq!(printed.status.code(), Some(0), "{printed:?}");
    let example =
        std::fs::read_to_string(workspace_root().join("config/taxiid.example.toml")).unwrap();
    assert_eq!(printed.stdout, example);
    write_files(dir.path(), &[("taxiid.conf", printed.stdout)]);
    let e = exit(
        dir.path(),
        &["--conf-check", "--no-conf-dir", "-c", "taxiid.conf"],
        &[],
    );
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    assert!(
        e.stdout.contains("native format") && e.stdout.contains("taxiid-data/taxiid.sqlite3"),
        "{e:?}"
    );
    // Checking creates nothing.
    assert!(!dir.path().join("taxiid-data").exists());
    // A medallion configuration is reported as one.
    write_files(
        dir.path(),
        &[(
            "m.json",
            json!({"users": {"admin": "Password0"}}).to_string(),
        )],
    );
    let e = exit(
        dir.path(),
        &["--conf-check", "--no-conf-dir", "-c", "m.json"],
        &[],
    );
    assert!(
        e.stdout.contains("medallion format") && !e.stdout.contains("Password0"),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_first_start_creates_the_sqlite_file_and_a_restart_keeps_everything() {
    let mut first = TestServer::start(&[]);
    let db = first.dir.path().join("taxiid-data/taxiid.sqlite3");
    assert!(db.is_file(), "{:?}", first.log);
    let password = first
        .generated_password
        .clone()
        .expect("a generated password");
    let p = "/api1/collections/default/objects/";
    for n in 1..=2 {
        let r = first
            .post_objects(p, &envelope(&[indicator(n, "2020-01-01T00:00:00.000Z")]))
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
    }
    let page = first.get(&format!("{p}?limit=1")).await.json();
    let next = page["next"].as_str().unwrap().to_owned();
    let collection = first.get("/api1/collections/default/").await.json();
    assert!(first.terminate().success());
    let mut second = TestServer::start_in(take_dir(&mut first), &[], &[]);
    assert!(second.generated_password.is_none(), "{:?}", second.log);
    assert!(!second.log.lock().unwrap().join("\n").contains(&password));
    second.user = ("admin".into(), password);
    assert_eq!(
        second.get("/api1/collections/default/").await.json(),
        collection
    );
    let all = second.get(p).await.json();
    assert_eq!(all["objects"].as_array().unwrap().len(), 2, "{all}");
    // The cursor key was kept too: a `next` from before the restart still works.
    let rest = second.get(&format!("{p}?limit=1&next={next}")).await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.json()["objects"][0]["id"], indicator(2, "")["id"]);
    second.kill();
}

#[tokio::test]
async fn taxiid_admin_user_and_password_name_the_first_account() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TAXIID_ADMIN_USER", "root"),
        ("TAXIID_ADMIN_PASSWORD", "Root-pass-1"),
    ];
    let s = TestServer::start_in(dir, &[], &env);
    assert!(s.generated_password.is_none(), "{:?}", s.log);
    assert!(!s.log.lock().unwrap().join("\n").contains("Root-pass-1"));
    let root = call(&s, ("root", "Root-pass-1"), Method::GET, "/taxii2/").await;
    assert_eq!(root.status, 200);
    assert_eq!(
        call(&s, ("admin", "Root-pass-1"), Method::GET, "/taxii2/")
            .await
            .status,
        401
    );
    // Only the password: the account is `admin`.
    let s = TestServer::start_in(
        tempfile::tempdir().unwrap(),
        &[],
        &[("TAXIID_ADMIN_PASSWORD", "Admin-pass-1")],
    );
    assert!(s.generated_password.is_none());
    assert_eq!(
        call(&s, ("admin", "Admin-pass-1"), Method::GET, "/taxii2/")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_medallion_config_with_taxiid_store_sqlite_serves_a_seeded_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
    let config = json!({
        "backend": {"module_class": "MemoryBackend", "filename": "data.json"},
        "users": {"admin": "Password0", "user1": "Password1"},
        "taxii": {"max_page_size": 100}
    });
    write_files(dir.path(), &[("config.json", config.to_string())]);
    let env = [
        ("TAXIID_STORE", "sqlite"),
        ("TAXIID_SQLITE_PATH", "state/medallion.sqlite3"),
    ];
    let e = exit(
        dir.path(),
        &["--conf-check", "--no-conf-dir", "-c", "config.json"],
        &env,
    );
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    assert!(
        e.stdout.contains("medallion format")
            && e.stdout.contains("seeded when new from data.json"),
        "{e:?}"
    );
    let mut s = TestServer::start_in(dir, &["-c", "config.json"], &env);
    assert!(s.dir.path().join("state/medallion.sqlite3").is_file());
    let collections = s.get(&format!("{ROOT}collections/")).await.json();
    assert_eq!(collections["collections"].as_array().unwrap().len(), 5);
    let manifest = s.get(&format!("{ROOT}collections/{RW}/manifest/")).await;
    assert_eq!(manifest.status, 200);
    assert_eq!(
        call(&s, ("user1", "Password1"), Method::GET, ROOT)
            .await
            .status,
        200
    );
    let r = s
        .post_objects(
            &format!("{ROOT}collections/{RW}/objects/"),
            &envelope(&[indicator(7, "2021-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(s.terminate().success());
    // The store is no longer new: the data file is not read again (nor written).
    let dir = take_dir(&mut s);
    std::fs::remove_file(dir.path().join("data.json")).unwrap();
    let s = TestServer::start_in(dir, &["-c", "config.json"], &env);
    let added = s
        .get(&format!(
            "{ROOT}collections/{RW}/objects/{}/",
            indicator(7, "")["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    // Every manifest entry (date_added to the microsecond) survived, plus the added one.
    let before = manifest.json()["objects"].as_array().unwrap().clone();
    let after = s
        .get(&format!("{ROOT}collections/{RW}/manifest/"))
        .await
        .json();
    let after = after["objects"].as_array().unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        before.iter().all(|m| after.contains(m)),
        "{before:?}\n{after:?}"
    );
}
