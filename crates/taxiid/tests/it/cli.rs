//! The command line, the configuration sources and save-on-shutdown, as medallion users know
//! them; IOP-1.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::general::{
    Exit, coll, envelope, indicator, memory_config, run_to_exit, sample, write_files,
};
use crate::helpers::*;

/// A server started with exactly the given arguments (no defaults added).
struct Running {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = binary();
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("taxiid: listening on http://") {
                    let _ = tx.send(
                        addr.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("taxiid did not start: {:?}", log.lock().unwrap()));
        Running {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    async fn get(&self, path: &str, user: &str, password: &str) -> Resp {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .basic_auth(user, Some(password))
            .header("Accept", T21)
            .send()
            .await
            .unwrap();
        Resp::from(r).await
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// A directory with the sample data file and `config.json` = `config`.
fn sample_dir(config: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn exit(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Exit {
    run_to_exit(dir, args, env)
}

#[tokio::test]
async fn host_and_port_choose_the_listening_address() {
    let dir = sample_dir(&memory_config());
    let port = free_port();
    let port_arg = port.to_string();
    let s = Running::start(
        dir.path(),
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port_arg,
            "--no-conf-dir",
            "-c",
            "config.json",
        ],
        &[],
    );
    assert_eq!(s.base, format!("http://127.0.0.1:{port}"));
    let r = s.get("/taxii2/", "admin", "Password0").await;
    assert_eq!(r.status, 200);
    // An address that cannot be bound is a one-line error.
    let e = exit(
        dir.path(),
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port_arg,
            "--no-conf-dir",
            "-c",
            "config.json",
        ],
        &[],
    );
    e.assert_one_line_error(&[&port_arg]);
    drop(s);
    let e = exit(dir.path(), &["--port", "70000", "--no-conf-dir"], &[]);
    assert_eq!(e.status.code(), Some(2), "{e:?}");
}

#[tokio::test]
async fn debug_mode_logs_requests_at_debug_level() {
    let dir = sample_dir(&memory_config());
    let args = [
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-conf-dir",
        "-c",
        "config.json",
    ];
    let quiet = Running::start(dir.path(), &args, &[]);
    let mut debug_args = args.to_vec();
    debug_args.push("--debug-mode");
    let loud = Running::start(dir.path(), &debug_args, &[]);
    for s in [&quiet, &loud] {
        assert_eq!(s.get(ROOT, "admin", "Password0").await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!quiet.log().contains("DEBUG"), "{}", quiet.log());
    assert!(loud.log().contains("DEBUG"), "{}", loud.log());
    assert!(loud.log().contains("/trustgroup1/"), "{}", loud.log());
}

#[tokio::test]
async fn log_level_sets_the_threshold_by_medallion_level_names() {
    let dir = sample_dir(&memory_config());
    let base = [
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-conf-dir",
        "-c",
        "config.json",
    ];
    let with = |level: &'static str| {
        let mut a = base.to_vec();
        a.extend(["--log-level", level]);
        Running::start(dir.path(), &a, &[])
    };
    // The start-up summary is INFO; the warnings about the sample's http:// api_roots WARN.
    let info = with("info");
    assert!(info.log().contains("INFO"), "{}", info.log());
    let warn = with("WARN");
    assert!(
        !warn.log().contains("INFO") && warn.log().contains("WARN"),
        "{}",
        warn.log()
    );
    for level in ["ERROR", "CRITICAL"] {
        let s = with(level);
        assert!(
            !s.log().contains("WARN") && !s.log().contains("INFO"),
            "{}",
            s.log()
        );
        assert_eq!(s.get("/taxii2/", "admin", "Password0").await.status, 200);
    }
    let debug = with("DEBUG");
    assert_eq!(
        debug.get("/taxii2/", "admin", "Password0").await.status,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(debug.log().contains("DEBUG"), "{}", debug.log());
    let e = exit(dir.path(), &["--log-level", "LOUD", "--no-conf-dir"], &[]);
    assert_eq!(e.status.code(), Some(2), "{e:?}");
    assert!(e.stderr.contains("LOUD"), "{e:?}");
}

#[tokio::test]
async fn the_short_and_long_config_flags_name_the_configuration_file() {
    let dir = sample_dir(&memory_config());
    for flag in ["-c", "--conf-file"] {
        let s = Running::start(
            dir.path(),
            &["--port", "0", "--no-conf-dir", flag, "config.json"],
            &[],
        );
        let r = s.get("/taxii2/", "user1", "Password1").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["title"], "Some TAXII Server");
    }
    // A configuration file that does not exist is an error, not the default.
    let e = exit(dir.path(), &["--no-conf-dir", "-c", "missing.json"], &[]);
    e.assert_one_line_error(&["missing.json"]);
}

#[tokio::test]
async fn the_configuration_directory_is_merged_over_the_file_in_name_order() {
    let dir = sample_dir(&memory_config());
    let confd = dir.path().join("conf.d");
    std::fs::create_dir(&confd).unwrap();
    write_files(
        &confd,
        &[
            (
                "20-page.conf",
                json!({"taxii": {"max_page_size": 2}}).to_string(),
            ),
            (
                "10-users.json",
                json!({"users": {"carol": "Password3"}, "taxii": {"max_page_size": 50}})
                    .to_string(),
            ),
            ("ignored.txt", "not json at all".to_owned()),
        ],
    );
    std::fs::create_dir(confd.join("sub.json")).unwrap();
    let s = Running::start(
        dir.path(),
        &["--port", "0", "-c", "config.json", "--conf-dir", "conf.d"],
        &[],
    );
    // Users were merged: both the file's and the directory's log in.
    for (u, p) in [("admin", "Password0"), ("carol", "Password3")] {
        assert_eq!(s.get("/taxii2/", u, p).await.status, 200, "{u}");
    }
    // The later file wins: pages hold 2 objects.
    let r = s
        .get(&format!("{}objects/", coll(RW)), "carol", "Password3")
        .await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 2);
    assert_eq!(r.json()["more"], true);
    // A bad file in the directory is named.
    write_files(&confd, &[("30-bad.json", "[1, 2]".to_owned())]);
    let e = exit(
        dir.path(),
        &["-c", "config.json", "--conf-dir", "conf.d"],
        &[],
    );
    e.assert_one_line_error(&["30-bad.json", "object"]);
    let e = exit(
        dir.path(),
        &["-c", "config.json", "--conf-dir", "nowhere.d"],
        &[],
    );
    e.assert_one_line_error(&["nowhere.d"]);
}

#[tokio::test]
async fn no_conf_dir_skips_the_directory_and_excludes_conf_dir() {
    let dir = sample_dir(&memory_config());
    let confd = dir.path().join("conf.d");
    std::fs::create_dir(&confd).unwrap();
    write_files(
        &confd,
        &[(
            "users.json",
            json!({"users": {"carol": "Password3"}}).to_string(),
        )],
    );
    let confd_str = confd.to_str().unwrap();
    let s = Running::start(
        dir.path(),
        &["--port", "0", "-c", "config.json", "--no-conf-dir"],
        &[("MEDALLION_CONFDIR", confd_str)],
    );
    assert_eq!(s.get("/taxii2/", "carol", "Password3").await.status, 401);
    assert_eq!(s.get("/taxii2/", "admin", "Password0").await.status, 200);
    let e = exit(
        dir.path(),
        &["-c", "config.json", "--no-conf-dir", "--conf-dir", "conf.d"],
        &[],
    );
    assert_eq!(e.status.code(), Some(2), "{e:?}");
}

#[tokio::test]
async fn conf_check_exits_0_for_a_valid_configuration_without_printing_passwords() {
    let dir = sample_dir(&memory_config());
    for extra in [
        &[][..],
        &["--debug-mode"][..],
        &["--log-level", "DEBUG"][..],
    ] {
        let mut args = vec!["--conf-check", "--no-conf-dir", "-c", "config.json"];
        args.extend_from_slice(extra);
        let e = exit(dir.path(), &args, &[]);
        assert_eq!(e.status.code(), Some(0), "{e:?}");
        assert!(
            e.stdout.contains("config.json") && e.stdout.contains("data.json"),
            "{e:?}"
        );
        for secret in ["Password0", "Password1"] {
            assert!(
                !e.stdout.contains(secret) && !e.stderr.contains(secret),
                "{secret}: {e:?}"
            );
        }
        assert!(!e.stderr.contains("listening"), "{e:?}");
    }
}

#[tokio::test]
async fn conf_check_exits_1_for_an_invalid_configuration_or_data_file() {
    let dir = sample_dir(&memory_config());
    write_files(
        dir.path(),
        &[
            ("bad-config.json", "{\"users\": {\"admin\": \"Password0\"}".to_owned()),
            (
                "bad-data-config.json",
                json!({"backend": {"module_class": "MemoryBackend", "filename": "bad-data.json"}, "users": {"admin": "Password0"}}).to_string(),
            ),
            ("bad-data.json", "{\"api1\": {\"information\": []}}".to_owned()),
        ],
    );
    for (config, named) in [
        ("bad-config.json", "bad-config.json"),
        ("bad-data-config.json", "bad-data.json"),
    ] {
        let e = exit(
            dir.path(),
            &["--conf-check", "--no-conf-dir", "-c", config],
            &[],
        );
        e.assert_one_line_error(&[named]);
        assert!(
            !e.stdout.contains("OK") && !e.stderr.contains("Password0"),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn the_positional_config_path_works_with_a_deprecation_warning() {
    let dir = sample_dir(&memory_config());
    let s = Running::start(
        dir.path(),
        &["--port", "0", "--no-conf-dir", "config.json"],
        &[],
    );
    assert_eq!(s.get("/taxii2/", "admin", "Password0").await.status, 200);
    assert!(s.log().to_lowercase().contains("deprecated"), "{}", s.log());
    let e = exit(
        dir.path(),
        &["--no-conf-dir", "-c", "config.json", "config.json"],
        &[],
    );
    assert_eq!(e.status.code(), Some(2), "{e:?}");
    // As in medallion, the positional path wins over $MEDALLION_CONFFILE.
    write_files(
        dir.path(),
        &[(
            "other.json",
            json!({"users": {"dave": "Password4"}}).to_string(),
        )],
    );
    let s = Running::start(
        dir.path(),
        &["--port", "0", "--no-conf-dir", "config.json"],
        &[("MEDALLION_CONFFILE", "other.json")],
    );
    assert_eq!(s.get("/taxii2/", "admin", "Password0").await.status, 200);
    assert_eq!(s.get("/taxii2/", "dave", "Password4").await.status, 401);
}

#[tokio::test]
async fn the_medallion_conffile_and_confdir_variables_name_the_configuration() {
    let dir = sample_dir(&memory_config());
    let confd = dir.path().join("conf.d");
    std::fs::create_dir(&confd).unwrap();
    write_files(
        &confd,
        &[(
            "users.json",
            json!({"users": {"carol": "Password3"}}).to_string(),
        )],
    );
    let s = Running::start(
        dir.path(),
        &["--port", "0"],
        &[
            ("MEDALLION_CONFFILE", "config.json"),
            ("MEDALLION_CONFDIR", confd.to_str().unwrap()),
        ],
    );
    assert_eq!(
        s.get("/taxii2/", "carol", "Password3").await.json()["title"],
        "Some TAXII Server"
    );
    // The flag wins over the variable.
    write_files(
        dir.path(),
        &[(
            "other.json",
            json!({"users": {"dave": "Password4"}}).to_string(),
        )],
    );
    let s = Running::start(
        dir.path(),
        &["--port", "0", "--no-conf-dir", "-c", "other.json"],
        &[("MEDALLION_CONFFILE", "config.json")],
    );
    assert_eq!(s.get("/taxii2/", "dave", "Password4").await.status, 200);
    assert_eq!(s.get("/taxii2/", "admin", "Password0").await.status, 401);
}

#[tokio::test]
async fn the_backend_variables_select_the_memory_backend_and_its_data_file() {
    let dir = sample_dir(&json!({"users": {"admin": "Password0"}}));
    let s = Running::start(
        dir.path(),
        &["--port", "0", "--no-conf-dir", "-c", "config.json"],
        &[
            ("MEDALLION_BACKEND_MODULE_CLASS", "MemoryBackend"),
            ("MEDALLION_BACKEND_MEMORY_FILENAME", "data.json"),
        ],
    );
    let r = s
        .get(&format!("{ROOT}collections/"), "admin", "Password0")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["collections"].as_array().unwrap().len(), 5);
    // The file variable overrides the configured file.
    write_files(dir.path(), &[("other.json", json!({"other": {"information": {"title": "Other", "versions": [T21], "max_content_length": 1000}, "status": [], "collections": []}}).to_string())]);
    let mut config = memory_config();
    config["users"] = json!({"admin": "Password0"});
    write_files(dir.path(), &[("config.json", config.to_string())]);
    let s = Running::start(
        dir.path(),
        &["--port", "0", "--no-conf-dir", "-c", "config.json"],
        &[("MEDALLION_BACKEND_MEMORY_FILENAME", "other.json")],
    );
    assert_eq!(
        s.get("/other/", "admin", "Password0").await.json()["title"],
        "Other"
    );
    // Without MemoryBackend selected the file variable means nothing (as in medallion).
    let plain = sample_dir(&json!({"users": {"admin": "Password0"}}));
    let s = Running::start(
        plain.path(),
        &["--port", "0", "--no-conf-dir", "-c", "config.json"],
        &[("MEDALLION_BACKEND_MEMORY_FILENAME", "data.json")],
    );
    assert_eq!(s.get(ROOT, "admin", "Password0").await.status, 404);
    assert_eq!(
        s.get("/api1/collections/default/", "admin", "Password0")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn max_page_size_from_the_environment_caps_every_page() {
    let dir = sample_dir(&memory_config());
    let s = Running::start(
        dir.path(),
        &["--port", "0", "--no-conf-dir", "-c", "config.json"],
        &[("MEDALLION_TAXII_MAX_PAGE_SIZE", "3")],
    );
    for path in [
        format!("{}objects/", coll(RW)),
        format!("{}objects/?limit=50", coll(RW)),
        format!("{}manifest/", coll(RW)),
    ] {
        let v = s.get(&path, "admin", "Password0").await.json();
        assert_eq!(v["objects"].as_array().unwrap().len(), 3, "{path}");
        assert_eq!(v["more"], true);
    }
    let e = exit(
        dir.path(),
        &["--no-conf-dir", "-c", "config.json"],
        &[("MEDALLION_TAXII_MAX_PAGE_SIZE", "lots")],
    );
    e.assert_one_line_error(&["MEDALLION_TAXII_MAX_PAGE_SIZE"]);
}

#[tokio::test]
async fn a_mongodb_backend_is_refused_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("mongo.json", json!({"backend": {"module": "medallion.backends.mongodb_backend", "module_class": "MongoBackend", "uri": "mongodb://root:example@mongo:27017/"}, "users": {"admin": "Password0"}}).to_string()),
            ("old.json", json!({"backend": {"type": "mongodb", "url": "mongodb://localhost:27017/"}}).to_string()),
            ("empty.json", "{}".to_owned()),
        ],
    );
    for (config, env) in [
        ("mongo.json", vec![]),
        ("old.json", vec![]),
        (
            "empty.json",
            vec![
                ("MEDALLION_BACKEND_MODULE_CLASS", "MongoBackend"),
                ("MEDALLION_BACKEND_MONGO_URI", "mongodb://x"),
            ],
        ),
    ] {
        let e = exit(dir.path(), &["--no-conf-dir", "-c", config], &env);
        let line = e.assert_one_line_error(&["MongoDB", "MemoryBackend"]);
        assert!(!line.contains("root:example"), "{line}");
    }
}

#[tokio::test]
async fn an_invalid_configuration_file_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("syntax.json", "{\"users\": ".to_owned()),
        ("array.json", "[]".to_owned()),
        (
            "page.json",
            json!({"taxii": {"max_page_size": "ten"}}).to_string(),
        ),
        ("users.json", json!({"users": {"admin": 5}}).to_string()),
        (
            "backend.json",
            json!({"backend": {"module_class": "FancyBackend"}}).to_string(),
        ),
        (
            "retention.json",
            json!({"backend": {"module_class": "MemoryBackend", "status_retention": "1d"}})
                .to_string(),
        ),
    ];
    let files: Vec<(&str, String)> = cases.iter().map(|(n, t)| (*n, t.clone())).collect();
    write_files(dir.path(), &files);
    for (name, _) in &cases {
        let e = exit(dir.path(), &["--no-conf-dir", "-c", name], &[]);
        e.assert_one_line_error(&[name]);
    }
}

#[tokio::test]
async fn an_invalid_data_file_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut no_manifest = sample();
    no_manifest["trustgroup1"]["collections"][0]["manifest"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let mut bad_flag = sample();
    bad_flag["trustgroup1"]["collections"][1]["can_read"] = json!("yes");
    let mut bad_date = sample();
    bad_date["trustgroup1"]["collections"][0]["manifest"][0]["date_added"] = json!("yesterday");
    let cases = [
        ("syntax.json", "{\"api1\": ".to_owned(), "syntax.json"),
        ("no-manifest.json", no_manifest.to_string(), "manifest"),
        ("bad-flag.json", bad_flag.to_string(), "can_read"),
        ("bad-date.json", bad_date.to_string(), "yesterday"),
        ("list.json", "[]".to_owned(), "list.json"),
    ];
    for (name, text, needle) in &cases {
        let mut config = memory_config();
        config["backend"]["filename"] = json!(name);
        write_files(
            dir.path(),
            &[(name, text.clone()), ("config.json", config.to_string())],
        );
        let e = exit(dir.path(), &["--no-conf-dir", "-c", "config.json"], &[]);
        e.assert_one_line_error(&[name, needle]);
    }
    let mut config = memory_config();
    config["backend"]["filename"] = json!("absent.json");
    write_files(dir.path(), &[("config.json", config.to_string())]);
    exit(dir.path(), &["--no-conf-dir", "-c", "config.json"], &[])
        .assert_one_line_error(&["absent.json"]);
}

#[tokio::test]
async fn interop_mode_refuses_a_status_retention_under_a_day() {
    let mut config = memory_config();
    config["taxii"]["interop_requirements"] = json!(true);
    config["backend"]["status_retention"] = json!(86_399);
    let dir = sample_dir(&config);
    let e = exit(dir.path(), &["--no-conf-dir", "-c", "config.json"], &[]);
    e.assert_one_line_error(&["24 hours"]);
    config["backend"]["status_retention"] = json!(86_400);
    write_files(dir.path(), &[("config.json", config.to_string())]);
    let e = exit(
        dir.path(),
        &["--conf-check", "--no-conf-dir", "-c", "config.json"],
        &[],
    );
    assert_eq!(e.status.code(), Some(0), "{e:?}");
    // Keeping statuses forever is fine; switching the cleanup off is not enough in interop mode.
    config["backend"]["status_retention"] = json!(-1);
    write_files(dir.path(), &[("config.json", config.to_string())]);
    assert_eq!(
        exit(
            dir.path(),
            &["--conf-check", "--no-conf-dir", "-c", "config.json"],
            &[]
        )
        .status
        .code(),
        Some(0)
    );
    config["backend"]["status_retention"] = json!(86_400);
    config["backend"]["run_cleanup_threads"] = json!(false);
    write_files(dir.path(), &[("config.json", config.to_string())]);
    exit(dir.path(), &["--no-conf-dir", "-c", "config.json"], &[])
        .assert_one_line_error(&["24 hours"]);
}

#[tokio::test]
async fn save_on_shutdown_writes_the_data_file_back_on_sigterm() {
    let mut s = TestServer::medallion_with(|c| c["backend"]["save_on_shutdown"] = json!(true));
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202);
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.path().join("data.json")).unwrap())
            .unwrap();
    let empty = saved["trustgroup1"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == EMPTY)
        .unwrap();
    assert_eq!(
        empty["objects"],
        json!([indicator(1, "2020-01-01T00:00:00.000Z")])
    );
    let m = &empty["manifest"][0];
    assert_eq!(m["id"], "indicator--00000001-0000-4000-8000-000000000000");
    assert_eq!(m["version"], "2020-01-01T00:00:00.000Z");
    assert_eq!(m["media_type"], "application/stix+json;version=2.1");
    // Everything else is still there, as medallion would read it.
    let before = sample();
    assert_eq!(saved["/discovery"], before["/discovery"]);
    assert_eq!(
        saved["trustgroup1"]["information"],
        before["trustgroup1"]["information"]
    );
    assert_eq!(saved["trustgroup1"]["status"].as_array().unwrap().len(), 3);
    assert_eq!(
        saved["trustgroup1"]["status"][0],
        before["trustgroup1"]["status"][0]
    );
    let rw = saved["trustgroup1"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == RW)
        .unwrap();
    assert_eq!(rw["manifest"].as_array().unwrap().len(), 9);
    assert!(!saved.to_string().contains("taxiid-tmp"));
    // Without the option the file is left alone.
    let mut s = TestServer::medallion();
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(s.terminate().success());
    let text = std::fs::read_to_string(s.dir.path().join("data.json")).unwrap();
    assert_eq!(text, std::fs::read_to_string(sample_data()).unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn usage_errors_are_one_line_and_exit_2_for_the_server_and_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--bogus"],
        vec!["--port", "70000"],
        vec!["user", "add"],
        vec!["collection", "add", "--title", "x"],
        vec!["export", "--format", "yaml"],
        vec!["user", "add", "a", "--password", "x", "--password-stdin"],
    ] {
        let out = binary()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("taxiid: "), "{stderr:?}");
    }
    // Nothing was created by refused command lines.
    assert!(!dir.path().join("taxiid-data").exists());
}
