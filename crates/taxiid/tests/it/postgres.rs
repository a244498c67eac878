//! Several taxiid processes on one PostgreSQL database: what one node writes, every node
//! serves; `next` cursors and statuses work on every node; a killed node loses nothing it
//! acknowledged; concurrent adds of one version store it once; a database that goes away
//! gives 503s and the nodes recover by themselves; a SQLite store moves into PostgreSQL.
//!
//! The PostgreSQL servers are started by the tests themselves (`taxii_testkit`): the shared
//! one for tests that only need a fresh database, a cluster of its own for the test that
//! stops and starts its server.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taxii_testkit::PgCluster;

use crate::durability::{
    ADMIN_ENV, assert_acknowledged_kept_and_envelopes_whole, indicator, ingest_until_killed,
    probe_paths, stored_ids,
};
use crate::general::run_to_exit;
use crate::helpers::*;

const COLLECTION: &str = "/api1/collections/default/";

/// A fresh database on the test process's shared PostgreSQL server.
fn fresh_database() -> String {
    taxii_testkit::shared().create_database()
}

fn pg_env(url: &str, admin: bool) -> Vec<(&str, &str)> {
    let mut env = vec![("TAXIID_STORE", "postgres"), ("TAXIID_POSTGRES_URL", url)];
    if admin {
        env.extend(ADMIN_ENV);
    }
    env
}

/// A taxiid node on the database at `url`, knowing the account admin/Password0.
fn node(url: &str) -> TestServer {
    TestServer::start_in(tempfile::tempdir().unwrap(), &[], &pg_env(url, true))
}

/// Two nodes on one fresh database (the first has provisioned it when the second starts).
fn two_nodes() -> (TestServer, TestServer) {
    let url = fresh_database();
    let a = node(&url);
    let b = node(&url);
    (a, b)
}

fn objects_path() -> String {
    format!("{COLLECTION}objects/")
}

/// The ids of a page of objects, in order.
fn ids_of(body: &Value) -> Vec<String> {
    body["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Posts `objects` and asserts that every one of them succeeded.
async fn add(s: &TestServer, objects: Vec<Value>) -> Value {
    let n = objects.len();
    let r = s
        .post_objects(&objects_path(), &json!({ "objects": objects }))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status = r.json();
    assert_eq!(status["success_count"], n, "{status}");
    assert_eq!(status["failure_count"], 0, "{status}");
    status
}

#[tokio::test]
async fn objects_added_through_one_node_are_served_by_the_other() {
    let (a, b) = two_nodes();
    // Both nodes serve the same collections (one default collection, made once).
    let (ca, cb) = (
        a.get("/api1/collections/").await,
        b.get("/api1/collections/").await,
    );
    assert_eq!((ca.status.as_u16(), cb.status.as_u16()), (200, 200));
    assert_eq!(ca.json(), cb.json());
    assert_eq!(ca.json()["collections"].as_array().unwrap().len(), 1);

    let objects: Vec<Value> = (0..3).map(|n| indicator(1, 0, n)).collect();
    add(&a, objects.clone()).await;
    for o in &objects {
        let id = o["id"].as_str().unwrap();
        let r = b.get(&format!("{}{id}/", objects_path())).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["objects"][0], *o);
    }
    // Whole answers agree, headers included.
    for path in [
        objects_path(),
        format!("{COLLECTION}manifest/"),
        format!("{COLLECTION}objects/?match[type]=indicator&limit=2"),
    ] {
        let (ra, rb) = (a.get(&path).await, b.get(&path).await);
        assert_eq!(ra.status, rb.status, "{path}");
        for h in ["x-taxii-date-added-first", "x-taxii-date-added-last"] {
            assert_eq!(ra.header(h), rb.header(h), "{path}: {h}");
        }
        let (mut ja, mut jb) = (ra.json(), rb.json());
        // A `next` token is minted per response; both must be usable, their text may differ.
        for j in [&mut ja, &mut jb] {
            if let Some(n) = j.get_mut("next") {
                *n = json!("<token>");
            }
        }
        assert_eq!(ja, jb, "{path}");
    }
    // A delete through B is seen by A.
    let id = objects[0]["id"].as_str().unwrap();
    let r = b
        .req(reqwest::Method::DELETE, &format!("{}{id}/", objects_path()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    a.get(&format!("{}{id}/", objects_path()))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn a_page_walk_alternating_nodes_sees_every_object_exactly_once() {
    let (a, b) = two_nodes();
    // 30 objects in 6 envelopes, through both nodes.
    for e in 0..6 {
        let s = if e % 2 == 0 { &a } else { &b };
        add(s, (0..5).map(|n| indicator(2, e, n)).collect()).await;
    }
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let s = if pages % 2 == 0 { &a } else { &b };
        let mut url = format!("{}?limit=4", objects_path());
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        let r = s.get(&url).await;
        assert_eq!(r.status, 200, "page {pages} on {}: {}", s.base, r.text);
        let body = r.json();
        seen.extend(ids_of(&body));
        pages += 1;
        if pages == 3 {
            // Objects added during the walk come after everything already listed.
            add(&b, (0..5).map(|n| indicator(2, 99, n)).collect()).await;
        }
        match body["next"].as_str() {
            Some(n) if body["more"] == true => next = Some(n.to_owned()),
            _ => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an object was listed twice");
    assert_eq!(seen.len(), 35, "{seen:?}");
    assert!(pages >= 9, "{pages} pages");
}

#[tokio::test]
async fn a_status_created_on_one_node_is_read_on_the_other() {
    let (a, b) = two_nodes();
    let status = add(&a, vec![indicator(3, 0, 0), indicator(3, 0, 1)]).await;
    let id = status["id"].as_str().unwrap();
    let r = b.get(&format!("/api1/status/{id}/")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), status);
}

#[tokio::test]
async fn killing_a_node_mid_ingest_loses_nothing_it_acknowledged() {
    let (mut a, b) = two_nodes();
    // A is killed mid-ingest; B then serves every acknowledged object, and only whole
    // envelopes.
    let url = a.url(&objects_path());
    let acknowledged = ingest_until_killed(&mut a, url).await;
    let ids = stored_ids(&b, COLLECTION).await;
    assert_acknowledged_kept_and_envelopes_whole(&ids, &acknowledged);
}

#[tokio::test]
async fn the_same_version_added_through_two_nodes_at_once_is_stored_once() {
    let (a, b) = two_nodes();
    let path = objects_path();
    for round in 0..10u32 {
        let objects: Vec<Value> = (0..20).map(|n| indicator(4, round, n)).collect();
        let envelope = json!({ "objects": objects });
        let (ra, rb) = tokio::join!(
            a.post_objects(&path, &envelope),
            b.post_objects(&path, &envelope)
        );
        for r in [ra, rb] {
            assert_eq!(r.status, 202, "{}", r.text);
            let status = r.json();
            assert_eq!(
                (&status["success_count"], &status["failure_count"]),
                (&json!(20), &json!(0)),
                "round {round}: {status}"
            );
        }
    }
    let records = manifest(&b).await;
    assert_eq!(records.len(), 200, "one stored version per object");
    let ids: BTreeSet<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 200);
}

/// Every (id, version) record of the collection's manifest, following `next` to the end.
async fn manifest(s: &TestServer) -> Vec<(String, String)> {
    let mut records = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = format!("{COLLECTION}manifest/?match[version]=all");
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        let r = s.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = r.json();
        for rec in body["objects"].as_array().into_iter().flatten() {
            records.push((
                rec["id"].as_str().unwrap().to_owned(),
                rec["version"].as_str().unwrap().to_owned(),
            ));
        }
        match body["next"].as_str() {
            Some(n) if body["more"] == true => next = Some(n.to_owned()),
            _ => return records,
        }
    }
}

#[tokio::test]
async fn nodes_starting_together_on_a_new_database_agree() {
    // No TAXIID_ADMIN_*: each node may generate an admin password; only the one kept may be
    // printed. Both must use the cursor key that was kept, and make one default collection.
    let url = fresh_database();
    let (mut a, mut b) = std::thread::scope(|scope| {
        let start =
            || TestServer::start_in(tempfile::tempdir().unwrap(), &[], &pg_env(&url, false));
        let ha = scope.spawn(start);
        let hb = scope.spawn(start);
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let printed: Vec<String> = [&a.generated_password, &b.generated_password]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    assert!(!printed.is_empty(), "no node printed the admin password");
    for password in &printed {
        for s in [&a, &b] {
            let r = s
                .bare(reqwest::Method::GET, "/taxii2/")
                .basic_auth("admin", Some(password))
                .header("Accept", T21)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "a printed password does not work");
        }
    }
    a.user = ("admin".into(), printed[0].clone());
    b.user = a.user.clone();
    let (ca, cb) = (
        a.get("/api1/collections/").await.json(),
        b.get("/api1/collections/").await.json(),
    );
    assert_eq!(ca, cb);
    assert_eq!(ca["collections"].as_array().unwrap().len(), 1, "{ca}");
    add(&a, (0..5).map(|n| indicator(5, 0, n)).collect()).await;
    let first = a.get(&format!("{}?limit=2", objects_path())).await.json();
    let next = first["next"].as_str().unwrap();
    let rest = b
        .get(&format!("{}?limit=10&next={next}", objects_path()))
        .await;
    assert_eq!(rest.status, 200, "A's cursor fails on B: {}", rest.text);
    let mut all = ids_of(&first);
    all.extend(ids_of(&rest.json()));
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 5, "{all:?}");
}

/// Polls `path` until it answers 200, for at most `within`; returns the answer.
async fn wait_for_200(s: &TestServer, path: &str, within: Duration) -> Resp {
    let deadline = Instant::now() + within;
    loop {
        let r = s.get(path).await;
        if r.status == 200 {
            return r;
        }
        assert_eq!(r.status, 503, "while recovering: {}", r.text);
        assert!(
            Instant::now() < deadline,
            "{} did not recover within {within:?}: {}",
            s.base,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A 503 TAXII error with `Retry-After`.
fn assert_unavailable(r: &Resp) {
    let body = r.assert_error(503);
    assert_eq!(body["error_code"], "unavailable", "{body}");
    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
}

#[tokio::test]
async fn a_database_restart_gives_503s_then_the_nodes_recover_by_themselves() {
    let cluster = PgCluster::start();
    let url = cluster.create_database();
    let a = node(&url);
    add(&a, vec![indicator(6, 0, 0)]).await;
    // A database that a newer taxiid wrote: a node waiting for it stops once it answers.
    let newer = cluster.create_database();
    cluster
        .psql(
            newer.rsplit('/').next().unwrap(),
            "CREATE TABLE taxiid_schema (version INTEGER NOT NULL); INSERT INTO taxiid_schema VALUES (999)",
        )
        .unwrap();

    assert_eq!(a.get("/readyz").await.status, 200);
    cluster.stop();
    let r = a.get(&objects_path()).await;
    assert_unavailable(&r);
    // The readiness probe says so too; the liveness probe does not (the process is fine).
    assert_unavailable(&a.get("/readyz").await);
    assert_eq!(a.get("/healthz").await.status, 200);
    let r = a
        .post_objects(&objects_path(), &json!({"objects": [indicator(6, 0, 1)]}))
        .await;
    assert_unavailable(&r);
    // A node started while the database is down serves too: 503 until the database answers.
    let c = node(&url);
    assert!(
        c.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("does not answer") && l.contains("Serving anyway")),
        "{:?}",
        c.log.lock().unwrap()
    );
    assert_unavailable(&c.get("/taxii2/").await);
    assert_unavailable(&c.get(&objects_path()).await);
    let d = node(&newer);
    assert_unavailable(&d.get("/taxii2/").await);

    cluster.start_again();
    wait_for_200(&a, "/readyz", Duration::from_secs(15)).await;
    let r = wait_for_200(&a, &objects_path(), Duration::from_secs(15)).await;
    assert_eq!(
        ids_of(&r.json()),
        vec![indicator(6, 0, 0)["id"].as_str().unwrap()]
    );
    add(&a, vec![indicator(6, 0, 2)]).await;
    // C checks for the database every second, each check waiting up to the pool's acquire
    // timeout (5 s), so it may take a little longer than A.
    let r = wait_for_200(&c, &objects_path(), Duration::from_secs(20)).await;
    assert_eq!(ids_of(&r.json()).len(), 2, "{}", r.text);
    add(&c, vec![indicator(6, 0, 3)]).await;
    assert_eq!(ids_of(&a.get(&objects_path()).await.json()).len(), 3);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stopped = d
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("taxiid: error:") && l.contains("newer taxiid"));
        if stopped {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a node on a newer database did not stop: {:?}",
            d.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_sqlite_store_copied_into_postgres_serves_the_same_answers() {
    // One node on SQLite with the medallion sample, as a deployment that is about to grow.
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .args(["import", sample_data().to_str().unwrap()])
        .current_dir(dir.path())
        .envs(ADMIN_ENV)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sqlite = TestServer::start_in(dir, &[], &ADMIN_ENV);
    let file = sqlite.dir.path().join("taxiid-data/taxiid.sqlite3");

    let url = fresh_database();
    let work = tempfile::tempdir().unwrap();
    let copy = |json: bool| {
        let mut args = vec!["import", "--from-sqlite", file.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        run_to_exit(work.path(), &args, &pg_env(&url, false))
    };
    let first = copy(true);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let report: Value = serde_json::from_str(&first.stdout).unwrap();
    assert!(report["added"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["users"], json!(["admin"]), "{report}");
    assert_eq!(report["cursor_key"], true, "{report}");
    let again = copy(false);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert!(again.stdout.contains("(0 added,"), "{again:?}");

    // The PostgreSQL node knows the copied account (no new one is made) and answers alike.
    let pg = TestServer::start_in(tempfile::tempdir().unwrap(), &[], &pg_env(&url, false));
    assert!(pg.generated_password.is_none());
    for path in probe_paths() {
        let (a, b) = (sqlite.get(&path).await, pg.get(&path).await);
        assert_eq!(a.status, b.status, "{path}");
        for h in [
            "content-type",
            "x-taxii-date-added-first",
            "x-taxii-date-added-last",
        ] {
            assert_eq!(a.header(h), b.header(h), "{path}: {h}");
        }
        let (mut ja, mut jb) = (a.json(), b.json());
        for j in [&mut ja, &mut jb] {
            if let Some(n) = j.get_mut("next") {
                *n = json!("<token>");
            }
        }
        assert_eq!(ja, jb, "{path}");
    }
    // The cursor key came along: a `next` the SQLite node gave continues on PostgreSQL.
    let first_page = format!("{ROOT}collections/{RW}/objects/?limit=2");
    let page = sqlite.get(&first_page).await.json();
    let next = page["next"].as_str().unwrap();
    let continued = format!("{first_page}&next={next}");
    let (a, b) = (sqlite.get(&continued).await, pg.get(&continued).await);
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(ids_of(&a.json()), ids_of(&b.json()));
}

/// A port of 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn conf_check_says_whether_the_database_answers_and_creates_nothing() {
    let url = fresh_database();
    let dir = tempfile::tempdir().unwrap();
    // The URL from a file named in a native config (its trailing newline is dropped).
    std::fs::write(dir.path().join("pg-url"), format!("{url}\n")).unwrap();
    std::fs::write(
        dir.path().join("taxiid.toml"),
        "[store]\ntype = \"postgres\"\nurl_file = \"pg-url\"\npool_size = 3\n",
    )
    .unwrap();
    let e = run_to_exit(
        dir.path(),
        &["--conf-check", "--no-conf-dir", "-c", "taxiid.toml"],
        &[],
    );
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    assert!(
        e.stdout.contains("postgres store at")
            && e.stdout.contains("pool_size 3")
            && e.stdout.contains("the database answered"),
        "{e:?}"
    );
    let database = url.rsplit('/').next().unwrap();
    let tables = taxii_testkit::shared()
        .psql(
            database,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        )
        .unwrap();
    assert_eq!(tables, "0", "--conf-check created tables");

    // A database that does not answer: the configuration is still valid (exit 0), and the
    // password is never shown.
    let down = format!("postgres://taxiid:s3cret@127.0.0.1:{}/taxii", closed_port());
    let env = pg_env(&down, false);
    let e = run_to_exit(dir.path(), &["--conf-check", "--no-conf-dir"], &env);
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    assert!(
        e.stdout.contains("did not answer")
            && e.stdout.contains("configuration itself is valid")
            && e.stdout.contains("taxiid:***@127.0.0.1"),
        "{e:?}"
    );
    assert!(!format!("{e:?}").contains("s3cret"), "{e:?}");
    // An admin command needs the database: one line, exit 1.
    let e = run_to_exit(dir.path(), &["user", "list"], &env);
    e.assert_one_line_error(&["does not answer"]);
    assert!(!e.stderr.contains("s3cret"), "{e:?}");
    // A URL that is not one is a configuration error.
    let e = run_to_exit(
        dir.path(),
        &["--conf-check", "--no-conf-dir"],
        &pg_env("mysql://u:s3cret@db/x", false),
    );
    e.assert_one_line_error(&["TAXIID_POSTGRES_URL", "postgres://"]);
    assert!(!e.stderr.contains("s3cret"), "{e:?}");
}
