use super::*;

#[test]
fn start_connect_databases_stop_and_start_again() {
    let pg = PgCluster::start();
    assert!(pg.dir().starts_with(CLUSTERS_DIR));
    assert_eq!(
        pg.url("postgres"),
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
    );
    assert_eq!(pg.psql("postgres", "select 41+1").as_deref(), Ok("42"));
    assert_eq!(pg.psql("postgres", "show fsync").as_deref(), Ok("off"));
    assert_eq!(
        pg.psql("postgres", "show max_connections").as_deref(),
        Ok("200")
    );
    assert_eq!(
        pg.psql("postgres", "show server_encoding").as_deref(),
        Ok("UTF8")
    );

    let a = pg.create_database();
    let b = pg.create_database();
    assert_ne!(a, b);
    for url in [&a, &b] {
        let prefix = format!("postgres://postgres@127.0.0.1:{}/", pg.port());
        let name = url.strip_prefix(&prefix).expect("url of the cluster");
        assert_eq!(
            pg.psql(name, "select current_database()").as_deref(),
            Ok(name)
        );
        pg.psql(name, "create table t (x int); insert into t values (7)")
            .expect("create table");
    }
    let name_a = a.rsplit('/').next().expect("database name");

    pg.stop();
    assert!(
        connection_refused(pg.port()),
        "the port still answers after stop"
    );
    let err = pg
        .psql("postgres", "select 1")
        .expect_err("psql must fail while stopped");
    assert!(
        err.contains("refused") || err.contains("could not connect"),
        "{err}"
    );
    pg.stop(); // idempotent

    pg.start_again();
    assert_eq!(
        pg.psql(name_a, "select x from t").as_deref(),
        Ok("7"),
        "data survives a restart"
    );
    pg.restart();
    assert_eq!(pg.psql(name_a, "select x + 35 from t").as_deref(), Ok("42"));
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let pg = PgCluster::start();
    let (dir, port) = (pg.dir().to_path_buf(), pg.port());
    assert!(dir.join("data/PG_VERSION").is_file());
    drop(pg);
    assert!(!dir.exists(), "{} is left over", dir.display());
    assert!(connection_refused(port), "the server still runs after drop");
}

#[test]
fn shared_is_one_cluster_with_fresh_databases() {
    let first = shared();
    let second = shared();
    assert!(std::ptr::eq(first, second));
    let url = first.create_database();
    assert!(url.starts_with(&format!("postgres://postgres@127.0.0.1:{}/", first.port())));
    assert_eq!(first.psql("postgres", "select 41+1").as_deref(), Ok("42"));
}

#[test]
fn start_removes_clusters_of_dead_test_processes_only() {
    let parent = Path::new(CLUSTERS_DIR);
    fs::create_dir_all(parent).expect("clusters dir");
    let make = |stamp: &str| {
        let dir = tempfile::Builder::new()
            .prefix("cluster-")
            .tempdir_in(parent)
            .expect("fake cluster dir")
            .keep();
        fs::write(dir.join("owner"), stamp).expect("owner file");
        dir
    };
    // Our own pid with another start time: a pid reused by a later process.
    let reused = make(&format!("{} 1\n", std::process::id()));
    // A process that has exited.
    let mut child = Command::new("true").spawn().expect("spawn true");
    let dead_pid = child.id();
    child.wait().expect("wait true");
    let dead = make(&format!("{dead_pid} 0\n"));
    // This very process: alive.
    let alive = make(&owner_stamp());

    let pg = PgCluster::start();
    assert!(!reused.exists(), "stale cluster of a reused pid kept");
    assert!(!dead.exists(), "stale cluster of a dead process kept");
    assert!(alive.exists(), "cluster of a live process removed");
    assert!(pg.dir().exists());
    fs::remove_dir_all(&alive).expect("clean up");
}

#[test]
fn owner_stamps() {
    let stamp = owner_stamp();
    assert_eq!(owner_alive(&stamp), Some(true));
    assert_eq!(
        owner_alive(&format!("{} 1", std::process::id())),
        Some(false)
    );
    assert_eq!(owner_alive("garbage"), None);
}
