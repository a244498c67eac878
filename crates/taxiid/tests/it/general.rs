//! General endpoint behaviour (GEN), response headers (HDR-8/9), timestamps and data types
//! (TS-1/2/5/6/7), resource serialisation (RES) and custom properties (CUST).
//!
//! The shared checks of the protocol modules live here too: the TAXII 2.1 resource schemas,
//! the I-JSON check, data-file servers and a runner for start-ups that must fail.

use std::collections::HashSet;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// `{ROOT}collections/{c}/` of the medallion sample.
pub(crate) fn coll(c: &str) -> String {
    format!("{ROOT}collections/{c}/")
}

/// The medallion sample data file as JSON.
pub(crate) fn sample() -> Value {
    serde_json::from_str(&std::fs::read_to_string(sample_data()).unwrap()).unwrap()
}

/// A config document for a memory store loaded from `data.json`, with the sample's users.
pub(crate) fn memory_config() -> Value {
    json!({
        "backend": {"module_class": "MemoryBackend", "filename": "data.json"},
        "users": {"admin": "Password0", "user1": "Password1"},
        "taxii": {"max_page_size": 100}
    })
}

/// Starts a server on `data` (written to `data.json`) with `memory_config()` adjusted.
pub(crate) fn serve(data: &Value, adjust: impl FnOnce(&mut Value)) -> TestServer {
    serve_env(data, adjust, &[])
}

/// Like [`serve`], with extra environment variables.
pub(crate) fn serve_env(
    data: &Value,
    adjust: impl FnOnce(&mut Value),
    env: &[(&str, &str)],
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.json"), data.to_string()).unwrap();
    let mut config = memory_config();
    adjust(&mut config);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    TestServer::start_in(dir, &["--conf-file", "config.json"], env)
}

/// An API root's `information` for data files written by tests.
pub(crate) fn root_info(title: &str, max_content_length: u64) -> Value {
    json!({
        "title": title,
        "versions": [T21],
        "max_content_length": max_content_length
    })
}

/// A data file with one API root `name` holding one empty read-write collection `id`.
pub(crate) fn one_root(name: &str, id: &str) -> Value {
    json!({
        name: {
            "information": root_info("Test root", 9_765_625),
            "status": [],
            "collections": [{
                "id": id, "title": "Test collection", "can_read": true, "can_write": true,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": [], "manifest": []
            }]
        }
    })
}

/// How a process that was expected to exit ended.
pub(crate) struct Exit {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Debug for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
}

impl Exit {
    /// The stderr lines that are not log records of levels below ERROR.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("taxiid: error"))
            .collect()
    }

    /// Asserts exit code 1 and exactly one error line, which contains every `needle`.
    pub fn assert_one_line_error(&self, needles: &[&str]) -> String {
        assert_eq!(self.status.code(), Some(1), "{self:?}");
        let errors = self.error_lines();
        assert_eq!(errors.len(), 1, "{self:?}");
        assert_eq!(
            self.stderr.lines().last(),
            Some(errors[0]),
            "the error is the last line: {self:?}"
        );
        for n in needles {
            assert!(errors[0].contains(n), "missing {n:?}: {self:?}");
        }
        errors[0].to_owned()
    }
}

/// Runs the binary to completion in `dir` (killing it after 20 s: a start-up that was meant to
/// fail but serves instead is a failure, not a hang).
pub(crate) fn run_to_exit(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Exit {
    let mut cmd: Command = binary();
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("taxiid {args:?} did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Exit {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Writes `files` into `dir`.
pub(crate) fn write_files(dir: &Path, files: &[(&str, String)]) {
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ssssssZ`, the only timestamp form TAXII allows.
pub(crate) fn is_taxii_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// An RFC 4122 version-4 UUID in canonical lowercase form.
pub(crate) fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// Seconds since the epoch of a TAXII timestamp.
pub(crate) fn epoch_seconds(ts: &str) -> i64 {
    taxii_model::Timestamp::parse(ts).unwrap().nanos() / 1_000_000_000
}

pub(crate) fn now_seconds() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Fails on a JSON text that is not I-JSON: duplicate member names, or numbers outside the
/// interoperable range.
pub(crate) fn assert_ijson(text: &str) {
    struct Unique;
    impl<'de> DeserializeSeed<'de> for Unique {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Unique {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
            check_int(n.unsigned_abs())
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
            check_int(n)
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
            if n.is_finite() {
                Ok(())
            } else {
                Err(E::custom("a number outside the double range"))
            }
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Unique)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(k) = map.next_key::<String>()? {
                if !seen.insert(k.clone()) {
                    return Err(de::Error::custom(format!("duplicate member name '{k}'")));
                }
                map.next_value_seed(Unique)?;
            }
            Ok(())
        }
    }
    fn check_int<E: de::Error>(n: u64) -> Result<(), E> {
        if n <= MAX_SAFE_INTEGER {
            Ok(())
        } else {
            Err(E::custom(format!("integer {n} is outside ±(2^53 − 1)")))
        }
    }
    let mut d = serde_json::Deserializer::from_str(text);
    Unique
        .deserialize(&mut d)
        .and_then(|()| d.end())
        .unwrap_or_else(|e| panic!("not I-JSON ({e}): {text}"));
}

pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The TAXII 2.1 resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Discovery,
    ApiRoot,
    Status,
    Collections,
    Collection,
    Manifest,
    Envelope,
    Versions,
    Error,
}

type Check = fn(&str, &Value);

fn string(at: &str, v: &Value) {
    assert!(v.is_string(), "{at} must be a string: {v}");
}
fn timestamp(at: &str, v: &Value) {
    assert!(
        v.as_str().is_some_and(is_taxii_timestamp),
        "{at} must be a TAXII timestamp: {v}"
    );
}
fn integer(at: &str, v: &Value) {
    assert!(
        v.as_i64()
            .is_some_and(|n| n.unsigned_abs() <= MAX_SAFE_INTEGER),
        "{at} must be an integer within ±(2^53 − 1): {v}"
    );
}
fn count(at: &str, v: &Value) {
    integer(at, v);
    assert!(v.as_i64().is_some_and(|n| n >= 0), "{at} must be ≥ 0: {v}");
}
fn positive(at: &str, v: &Value) {
    integer(at, v);
    assert!(v.as_i64().is_some_and(|n| n >= 1), "{at} must be ≥ 1: {v}");
}
fn boolean(at: &str, v: &Value) {
    assert!(v.is_boolean(), "{at} must be a JSON boolean: {v}");
}
fn identifier(at: &str, v: &Value) {
    assert!(
        v.as_str().is_some_and(|s| is_uuid_v4(s) || is_uuid_any(s)),
        "{at} must be an identifier: {v}"
    );
}
fn dictionary(at: &str, v: &Value) {
    assert!(v.is_object(), "{at} must be a JSON object: {v}");
}
fn status_word(at: &str, v: &Value) {
    assert!(
        v == "complete" || v == "pending",
        "{at} must be complete or pending: {v}"
    );
}
fn list_of(at: &str, v: &Value, each: Check) {
    let items = v
        .as_array()
        .unwrap_or_else(|| panic!("{at} must be a list: {v}"));
    assert!(!items.is_empty(), "{at} is an empty list; omit it instead");
    for (i, item) in items.iter().enumerate() {
        each(&format!("{at}[{i}]"), item);
    }
}
fn strings(at: &str, v: &Value) {
    list_of(at, v, string);
}
fn details(at: &str, v: &Value) {
    list_of(at, v, |at, d| {
        props(
            at,
            d,
            &[
                ("id", true, string),
                ("version", true, string),
                ("message", false, string),
            ],
        );
    });
}
fn collection_list(at: &str, v: &Value) {
    list_of(at, v, |at, c| check_at(Kind::Collection, at, c));
}
fn manifest_records(at: &str, v: &Value) {
    list_of(at, v, |at, r| {
        props(
            at,
            r,
            &[
                ("id", true, string),
                ("date_added", true, timestamp),
                ("version", true, string),
                ("media_type", false, string),
            ],
        );
    });
}
fn stix_objects(at: &str, v: &Value) {
    list_of(at, v, |at, o| {
        assert!(
            o.get("type").is_some_and(Value::is_string)
                && o.get("id").is_some_and(Value::is_string),
            "{at} must be a STIX object: {o}"
        );
    });
}

/// A canonical UUID of any version (loaded medallion data keeps its ids as stored).
fn is_uuid_any(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A property name a server may add (TAXII 2.1 §7.1.1, and our `x_` prefix rule).
fn is_custom_name(k: &str) -> bool {
    (3..=250).contains(&k.len())
        && k.starts_with("x_")
        && k.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn props(at: &str, v: &Value, table: &[(&str, bool, Check)]) {
    let m = v
        .as_object()
        .unwrap_or_else(|| panic!("{at} must be a JSON object: {v}"));
    for (name, required, check) in table {
        match m.get(*name) {
            Some(Value::Null) => panic!("{at}.{name} is null; omit it instead: {v}"),
            Some(x) => check(&format!("{at}.{name}"), x),
            None => assert!(!required, "{at}.{name} is required: {v}"),
        }
    }
    for (k, x) in m {
        if !table.iter().any(|(name, _, _)| name == k) {
            assert!(
                is_custom_name(k),
                "{at}.{k} is neither a property of the resource nor a valid custom property: {v}"
            );
            assert!(!x.is_null(), "{at}.{k} is null: {v}");
        }
    }
}

fn check_at(kind: Kind, at: &str, v: &Value) {
    match kind {
        Kind::Discovery => props(
            at,
            v,
            &[
                ("title", true, string),
                ("description", false, string),
                ("contact", false, string),
                ("default", false, string),
                ("api_roots", false, strings),
            ],
        ),
        Kind::ApiRoot => props(
            at,
            v,
            &[
                ("title", true, string),
                ("description", false, string),
                ("versions", true, strings),
                ("max_content_length", true, positive),
            ],
        ),
        Kind::Status => props(
            at,
            v,
            &[
                ("id", true, identifier),
                ("status", true, status_word),
                ("request_timestamp", false, timestamp),
                ("total_count", true, count),
                ("success_count", true, count),
                ("successes", false, details),
                ("failure_count", true, count),
                ("failures", false, details),
                ("pending_count", true, count),
                ("pendings", false, details),
            ],
        ),
        Kind::Collections => props(at, v, &[("collections", false, collection_list)]),
        Kind::Collection => props(
            at,
            v,
            &[
                ("id", true, identifier),
                ("title", true, string),
                ("description", false, string),
                ("alias", false, string),
                ("can_read", true, boolean),
                ("can_write", true, boolean),
                ("media_types", false, strings),
            ],
        ),
        // `next` on manifest and versions: REC A-2 (TC issue #110).
        Kind::Manifest => props(
            at,
            v,
            &[
                ("more", false, boolean),
                ("next", false, string),
                ("objects", false, manifest_records),
            ],
        ),
        Kind::Envelope => props(
            at,
            v,
            &[
                ("more", false, boolean),
                ("next", false, string),
                ("objects", false, stix_objects),
            ],
        ),
        Kind::Versions => props(
            at,
            v,
            &[
                ("more", false, boolean),
                ("next", false, string),
                ("versions", false, strings),
            ],
        ),
        Kind::Error => props(
            at,
            v,
            &[
                ("title", true, string),
                ("description", false, string),
                ("error_id", false, string),
                ("error_code", false, string),
                ("http_status", false, string),
                ("external_details", false, string),
                ("details", false, dictionary),
            ],
        ),
    }
}

/// Asserts that `v` is a valid `kind` resource: the spec's property names only (or valid
/// custom names), required ones present, types right, no `null`, no empty list.
pub(crate) fn check_resource(kind: Kind, v: &Value) {
    check_at(kind, &format!("{kind:?}"), v);
}

/// An indicator with a given id number and `modified`.
pub(crate) fn indicator(n: u32, modified: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-0000-4000-8000-000000000000"),
        "created": "2020-01-01T00:00:00.000Z", "modified": modified,
        "name": format!("indicator {n}"), "pattern": "[ipv4-addr:value = '10.0.0.1']",
        "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"
    })
}

/// `{"objects": [...]}`.
pub(crate) fn envelope(objects: &[Value]) -> Value {
    json!({ "objects": objects })
}

/// A GET with an explicit `Accept` value.
pub(crate) async fn get_accept(s: &TestServer, path: &str, accept: &str) -> Resp {
    Resp::from(
        authed(s, Method::GET, path)
            .header("Accept", accept)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A request with the admin's credentials and no `Accept` (reqwest appends headers, so a
/// request from `s.req` would send two Accept headers).
pub(crate) fn authed(s: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    s.bare(method, path).basic_auth(&s.user.0, Some(&s.user.1))
}

/// Every GET endpoint of the sample server, with the resource kind it answers with. Posts one
/// object first so a fresh status exists; returns the status id too.
pub(crate) async fn every_get_endpoint(s: &TestServer) -> (Vec<(String, Kind)>, String) {
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-02T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status_id = r.json()["id"].as_str().unwrap().to_owned();
    let ind = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e";
    let paths = vec![
        ("/taxii2/".to_owned(), Kind::Discovery),
        (ROOT.to_owned(), Kind::ApiRoot),
        (format!("{ROOT}status/{status_id}/"), Kind::Status),
        (format!("{ROOT}collections/"), Kind::Collections),
        (coll(RW), Kind::Collection),
        (format!("{}manifest/", coll(RW)), Kind::Manifest),
        (
            format!("{}manifest/?match[version]=all&limit=2", coll(RW)),
            Kind::Manifest,
        ),
        (format!("{}objects/", coll(RW)), Kind::Envelope),
        (format!("{}objects/?limit=1", coll(RW)), Kind::Envelope),
        (format!("{}objects/{ind}/", coll(RW)), Kind::Envelope),
        (
            format!("{}objects/{ind}/versions/", coll(RW)),
            Kind::Versions,
        ),
        (
            format!("{}objects/{ind}/versions/?limit=1", coll(RW)),
            Kind::Versions,
        ),
        (
            format!("{}objects/?match[type]=campaign", coll(RW)),
            Kind::Envelope,
        ),
        (
            format!("{}manifest/?match[type]=campaign", coll(RW)),
            Kind::Manifest,
        ),
    ];
    (paths, status_id)
}

/// Requests that fail, one per error status the server produces.
pub(crate) fn failing_requests(s: &TestServer) -> Vec<(u16, reqwest::RequestBuilder)> {
    let objects = format!("{}objects/", coll(RW));
    vec![
        (
            400,
            s.req(Method::GET, &format!("{objects}?added_after=yesterday")),
        ),
        (401, s.bare(Method::GET, "/taxii2/").header("Accept", T21)),
        (
            403,
            s.req(Method::GET, &format!("{}objects/", coll(WRITE_ONLY))),
        ),
        (404, s.req(Method::GET, &format!("{ROOT}nothing-here/"))),
        (405, s.req(Method::PUT, &objects)),
        (
            406,
            authed(s, Method::GET, "/taxii2/").header("Accept", "application/json"),
        ),
        (
            415,
            s.req(Method::POST, &objects)
                .header("Content-Type", "application/json")
                .body(envelope(&[indicator(9, "2020-01-01T00:00:00.000Z")]).to_string()),
        ),
        (
            422,
            s.req(Method::POST, &objects)
                .header("Content-Type", T21)
                .body("{\"objects\": []}"),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// GEN
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_discovery_document_is_served_at_taxii2_on_the_host_root() {
    let s = TestServer::medallion();
    let r = s.get("/taxii2/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(r.json()["title"], "Some TAXII Server");
    check_resource(Kind::Discovery, &r.json());
}

#[tokio::test]
async fn a_data_file_without_any_api_root_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = json!({"/discovery": {"title": "nothing"}});
    write_files(
        dir.path(),
        &[
            ("data.json", data.to_string()),
            ("config.json", memory_config().to_string()),
        ],
    );
    let exit = run_to_exit(
        dir.path(),
        &["--no-conf-dir", "--port", "0", "-c", "config.json"],
        &[],
    );
    exit.assert_one_line_error(&["data.json", "API root"]);
}

#[tokio::test]
async fn a_server_started_without_configuration_serves_one_api_root() {
    let s = TestServer::start(&[]);
    let r = s.get("/taxii2/").await;
    assert_eq!(r.status, 200);
    let roots = r.json()["api_roots"].as_array().unwrap().clone();
    assert!(!roots.is_empty());
    for root in roots {
        let r = s.get(root.as_str().unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        check_resource(Kind::ApiRoot, &r.json());
    }
}

#[tokio::test]
async fn a_data_file_naming_one_api_root_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = json!({"information": root_info("A", 1000), "status": [], "collections": []});
    // Two members with the same name: no JSON library can hold both, so write the text.
    let data = format!("{{\"api1\": {root}, \"api2\": {root}, \"api1\": {root}}}");
    write_files(
        dir.path(),
        &[
            ("data.json", data),
            ("config.json", memory_config().to_string()),
        ],
    );
    let exit = run_to_exit(
        dir.path(),
        &["--no-conf-dir", "--port", "0", "-c", "config.json"],
        &[],
    );
    exit.assert_one_line_error(&["data.json", "api1"]);
}

#[tokio::test]
async fn an_api_root_several_segments_deep_is_reachable_and_advertised() {
    let id = "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11";
    let s = serve(&one_root("org/a/api1", id), |_| {});
    let r = s.get("/taxii2/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["api_roots"], json!(["/org/a/api1/"]));
    let r = s.get("/org/a/api1/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(r.json()["title"], "Test root");
    let r = s.get("/org/a/api1/collections/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["collections"][0]["id"], id);
    let r = s
        .post_objects(
            &format!("/org/a/api1/collections/{id}/objects/"),
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status = r.json()["id"].as_str().unwrap().to_owned();
    let r = s.get(&format!("/org/a/api1/status/{status}/")).await;
    assert_eq!(r.status, 200);
    // A prefix of the nested root is not an API root.
    s.get("/org/a/").await.assert_error(404);
    s.get("/org/").await.assert_error(404);
}

#[tokio::test]
async fn a_path_without_its_trailing_slash_is_served_like_the_slashed_form() {
    let s = TestServer::medallion();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (paths, status_id) = every_get_endpoint(&s).await;
    for (path, _) in paths.iter().filter(|(p, _)| !p.contains('?')) {
        let slashed = s.get(path).await;
        let bare_path = path.strip_suffix('/').unwrap();
        let r = Resp::from(
            client
                .get(s.url(bare_path))
                .basic_auth("admin", Some("Password0"))
                .header("Accept", T21)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            !matches!(r.status.as_u16(), 301 | 302 | 303 | 307),
            "{bare_path}: {}",
            r.status
        );
        assert_eq!(r.status, 200, "{bare_path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(T21));
        assert_eq!(r.json(), slashed.json(), "{bare_path}");
    }
    // The OASIS client polls the status URL without a slash; and a POST is never redirected.
    let r = s.get(&format!("{ROOT}status/{status_id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], status_id);
    let r = Resp::from(
        client
            .post(s.url(&format!("{ROOT}collections/{EMPTY}/objects")))
            .basic_auth("admin", Some("Password0"))
            .header("Accept", T21)
            .header("Content-Type", T21)
            .body(envelope(&[indicator(2, "2020-01-01T00:00:00.000Z")]).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["success_count"], 1);
}

#[tokio::test]
async fn every_success_body_validates_against_its_resource_schema() {
    let s = TestServer::medallion();
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, kind) in &paths {
        let r = s.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(T21), "{path}");
        check_resource(*kind, &r.json());
    }
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[
                indicator(3, "2020-01-01T00:00:00.000Z"),
                json!({"type": "indicator", "id": "malware--a1b2c3d4-0000-4000-8000-000000000001",
                       "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"}),
            ]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    check_resource(Kind::Status, &r.json());
    // The generated discovery of a server without a data file.
    let plain = TestServer::start(&[]);
    for (path, kind) in [
        ("/taxii2/", Kind::Discovery),
        ("/api1/", Kind::ApiRoot),
        ("/api1/collections/", Kind::Collections),
        ("/api1/collections/default/", Kind::Collection),
        ("/api1/collections/default/objects/", Kind::Envelope),
        ("/api1/collections/default/manifest/", Kind::Manifest),
    ] {
        let r = plain.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        check_resource(kind, &r.json());
    }
}

#[tokio::test]
async fn every_body_is_utf8_json_without_duplicate_member_names() {
    let s = TestServer::medallion();
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, _) in &paths {
        let r = s.req(Method::GET, path).send().await.unwrap();
        let bytes = r.bytes().await.unwrap();
        let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_ijson(text);
    }
    for (status, req) in failing_requests(&s) {
        let r = Resp::from(req.send().await.unwrap()).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text);
        assert_ijson(&r.text);
    }
    // A posted object whose members repeat a name is refused, so it can never be served.
    let r = s
        .req(Method::POST, &format!("{}objects/", coll(EMPTY)))
        .header("Content-Type", T21)
        .body(r#"{"objects": [{"type": "indicator", "id": "indicator--a1b2c3d4-0000-4000-8000-0000000000dd", "spec_version": "2.1", "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": "a", "name": "b"}]}"#)
        .send()
        .await
        .unwrap();
    let r = Resp::from(r).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["failure_count"], 1, "{}", r.text);
    let r = s
        .get(&format!(
            "{}objects/indicator--a1b2c3d4-0000-4000-8000-0000000000dd/",
            coll(EMPTY)
        ))
        .await;
    r.assert_error(404);
}

#[tokio::test]
async fn a_method_the_url_does_not_define_gets_405_with_allow_and_an_error_body() {
    let s = TestServer::medallion();
    let cases = [
        (
            Method::PUT,
            format!("{}objects/", coll(RW)),
            "GET, HEAD, POST",
        ),
        (
            Method::PATCH,
            format!("{}objects/", coll(RW)),
            "GET, HEAD, POST",
        ),
        (
            Method::POST,
            format!(
                "{}objects/indicator--6770298f-0fd8-471a-ab8c-1c658a46574e/",
                coll(RW)
            ),
            "GET, HEAD, DELETE",
        ),
        (
            Method::DELETE,
            format!("{}objects/", coll(RW)),
            "GET, HEAD, POST",
        ),
        (Method::DELETE, coll(RW), "GET, HEAD"),
        (Method::POST, "/taxii2/".to_owned(), "GET, HEAD"),
        (Method::POST, format!("{ROOT}collections/"), "GET, HEAD"),
        (Method::PUT, format!("{}manifest/", coll(RW)), "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = Resp::from(s.req(method.clone(), &path).send().await.unwrap()).await;
        let body = r.assert_error(405);
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert!(body["description"].as_str().unwrap().contains(allow));
    }
}

#[tokio::test]
async fn head_answers_with_the_status_and_headers_of_get_and_no_body() {
    let s = TestServer::medallion();
    let (mut paths, _) = every_get_endpoint(&s).await;
    paths.push((
        format!("{ROOT}collections/{EMPTY}/objects/"),
        Kind::Envelope,
    ));
    for (path, _) in &paths {
        let get = s.get(path).await;
        let head = s.req(Method::HEAD, path).send().await.unwrap();
        assert_eq!(head.status(), get.status, "{path}");
        for name in [
            "content-type",
            "x-taxii-date-added-first",
            "x-taxii-date-added-last",
        ] {
            assert_eq!(
                head.headers().get(name).map(|v| v.to_str().unwrap()),
                get.header(name),
                "{name} of HEAD {path}"
            );
        }
        if let Some(len) = head.headers().get("content-length") {
            assert_eq!(
                len.to_str().unwrap(),
                get.text.len().to_string(),
                "HEAD {path}"
            );
        }
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path}");
    }
    // Errors keep their status, without a body.
    let head = s
        .req(Method::HEAD, &format!("{ROOT}collections/nope/"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
    assert_eq!(head.headers()["content-type"], T21);
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_request_without_user_agent_is_processed_normally() {
    let s = TestServer::medallion();
    let addr = s.base.strip_prefix("http://").unwrap().to_owned();
    // reqwest adds no User-Agent either, but a raw request proves the header is absent.
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "GET /trustgroup1/collections/ HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Basic YWRtaW46UGFzc3dvcmQw\r\nAccept: {T21}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains(&format!("content-type: {T21}")),
        "{response}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["collections"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn an_unknown_path_below_an_api_root_is_404_with_a_taxii_error() {
    let s = TestServer::medallion();
    for path in [
        format!("{ROOT}nothing/"),
        format!("{ROOT}collections/{RW}/nothing/"),
        format!("{ROOT}collections/{RW}/manifest/x/"),
        format!(
            "{ROOT}collections/{RW}/objects/indicator--6770298f-0fd8-471a-ab8c-1c658a46574e/versions/x/"
        ),
        format!("{ROOT}status/"),
        "/trustgroup1//collections/".to_owned(),
        "/".to_owned(),
        "/taxii2/extra/".to_owned(),
    ] {
        let r = s.get(&path).await;
        r.assert_error(404);
    }
}

#[tokio::test]
async fn channel_endpoints_are_not_exposed() {
    let s = TestServer::medallion();
    for path in [
        format!("{ROOT}channels/"),
        format!("{ROOT}channels/0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11/"),
        format!("{ROOT}channels/0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11/subscribe/"),
        "/taxii2/channels/".to_owned(),
    ] {
        s.get(&path).await.assert_error(404);
    }
    let r = s.get(ROOT).await;
    assert!(!r.text.contains("channel"), "{}", r.text);
}

#[tokio::test]
async fn options_lists_the_methods_without_changing_the_defined_endpoints() {
    let s = TestServer::medallion();
    let objects = format!("{}objects/", coll(RW));
    let before = s.get(&objects).await;
    let r = s.req(Method::OPTIONS, &objects).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
    let r = s.req(Method::OPTIONS, ROOT).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let after = s.get(&objects).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.text, before.text);
}

// ---------------------------------------------------------------------------------------------
// HDR-8/9
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_response_carries_a_date_header() {
    let s = TestServer::medallion();
    let (paths, _) = every_get_endpoint(&s).await;
    let mut requests: Vec<reqwest::RequestBuilder> =
        paths.iter().map(|(p, _)| s.req(Method::GET, p)).collect();
    requests.extend(failing_requests(&s).into_iter().map(|(_, r)| r));
    for req in requests {
        let r = req.send().await.unwrap();
        let date = r
            .headers()
            .get("date")
            .unwrap_or_else(|| panic!("no Date on {} {}", r.status(), r.url()));
        // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
        let date = date.to_str().unwrap();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }
}

#[tokio::test]
async fn every_taxii_response_success_or_error_is_labelled_with_the_versioned_media_type() {
    let s = TestServer::medallion();
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, _) in &paths {
        let r = s.get(path).await;
        assert_eq!(r.header("content-type"), Some(T21), "{path}");
    }
    for (status, req) in failing_requests(&s) {
        let r = Resp::from(req.send().await.unwrap()).await;
        r.assert_error(status);
    }
    // DELETE's empty 200 and the 202 of a POST.
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(5, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("content-type"), Some(T21));
    let r = Resp::from(
        s.req(
            Method::DELETE,
            &format!(
                "{}objects/indicator--00000005-0000-4000-8000-000000000000/",
                coll(EMPTY)
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
}

// ---------------------------------------------------------------------------------------------
// TS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_timestamp_the_server_produces_has_six_fractional_digits_and_z() {
    let s = TestServer::medallion();
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[
                indicator(1, "2020-01-01T00:00:00Z"),
                indicator(2, "2020-01-01T00:00:00.1Z"),
                json!({"type": "ipv4-addr", "id": "ipv4-addr--a1b2c3d4-0000-4000-8000-000000000001", "value": "10.0.0.1"}),
            ]),
        )
        .await;
    assert_eq!(r.status, 202);
    let status = r.json();
    assert!(is_taxii_timestamp(
        status["request_timestamp"].as_str().unwrap()
    ));
    let fetched = s
        .get(&format!("{ROOT}status/{}/", status["id"].as_str().unwrap()))
        .await;
    assert!(is_taxii_timestamp(
        fetched.json()["request_timestamp"].as_str().unwrap()
    ));
    for path in [
        format!("{}manifest/", coll(EMPTY)),
        format!("{}objects/", coll(EMPTY)),
        format!(
            "{}objects/ipv4-addr--a1b2c3d4-0000-4000-8000-000000000001/",
            coll(EMPTY)
        ),
        format!(
            "{}objects/ipv4-addr--a1b2c3d4-0000-4000-8000-000000000001/versions/",
            coll(EMPTY)
        ),
        format!("{}manifest/?match[version]=all", coll(RW)),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        for h in ["x-taxii-date-added-first", "x-taxii-date-added-last"] {
            let v = r
                .header(h)
                .unwrap_or_else(|| panic!("{h} missing on {path}"));
            assert!(is_taxii_timestamp(v), "{h} {v}");
        }
        if path.contains("manifest") {
            for rec in r.json()["objects"].as_array().unwrap() {
                assert!(
                    is_taxii_timestamp(rec["date_added"].as_str().unwrap()),
                    "{rec}"
                );
            }
        }
    }
    // The SCO's server-assigned version is a TAXII timestamp too.
    let r = s
        .get(&format!(
            "{}objects/ipv4-addr--a1b2c3d4-0000-4000-8000-000000000001/versions/",
            coll(EMPTY)
        ))
        .await;
    assert!(is_taxii_timestamp(
        r.json()["versions"][0].as_str().unwrap()
    ));
}

#[tokio::test]
async fn server_timestamps_are_utc_whatever_the_host_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
    std::fs::write(dir.path().join("config.json"), memory_config().to_string()).unwrap();
    let s = TestServer::start_in(
        dir,
        &["--conf-file", "config.json"],
        &[("TZ", "Asia/Kolkata")],
    );
    let before = now_seconds();
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    let after = now_seconds();
    assert_eq!(r.status, 202);
    // Kolkata is UTC+05:30: a local-time stamp would be 19800 s off.
    let stamp = epoch_seconds(r.json()["request_timestamp"].as_str().unwrap());
    assert!((before - 2..=after + 2).contains(&stamp), "{}", r.text);
    let r = s.get(&format!("{}manifest/", coll(EMPTY))).await;
    let added = r.json()["objects"][0]["date_added"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        (before - 2..=after + 2).contains(&epoch_seconds(&added)),
        "{added}"
    );
    let header = r.header("x-taxii-date-added-first").unwrap();
    assert_eq!(header, added);
    assert!(added.ends_with('Z'));
}

#[tokio::test]
async fn integers_the_server_emits_stay_within_the_i_json_range() {
    // An operator's data file may state a limit no JSON client can read exactly.
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    data["api1"]["information"]["max_content_length"] = json!(1_u64 << 60);
    let s = serve(&data, |_| {});
    let r = s.get("/api1/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ijson(&r.text);
    let limit = r.json()["max_content_length"].as_u64().unwrap();
    assert!((1..=MAX_SAFE_INTEGER).contains(&limit), "{limit}");
    // Counts, and every number of every resource of the sample.
    let s = TestServer::medallion();
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, _) in &paths {
        assert_ijson(&s.get(path).await.text);
    }
}

#[tokio::test]
async fn booleans_the_server_emits_are_json_literals() {
    let s = TestServer::medallion();
    let r = s.get(&format!("{ROOT}collections/")).await;
    for c in r.json()["collections"].as_array().unwrap() {
        assert!(
            c["can_read"].is_boolean() && c["can_write"].is_boolean(),
            "{c}"
        );
    }
    assert_eq!(r.json()["collections"][0]["can_read"], json!(true));
    assert!(r.text.contains("\"can_read\":true") || r.text.contains("\"can_read\": true"));
    for path in [
        format!("{}objects/?limit=1", coll(RW)),
        format!("{}manifest/?limit=1", coll(RW)),
        format!(
            "{}objects/indicator--6770298f-0fd8-471a-ab8c-1c658a46574e/versions/?limit=1",
            coll(RW)
        ),
        format!("{}objects/", coll(READ_ONLY)),
    ] {
        let v = s.get(&path).await.json();
        assert!(v["more"].is_boolean(), "{path}: {v}");
    }
    assert_eq!(
        s.get(&format!("{}objects/?limit=1", coll(RW))).await.json()["more"],
        json!(true)
    );
}

#[tokio::test]
async fn identifiers_the_server_mints_are_uuid_version_4() {
    let s = TestServer::medallion();
    let mut ids = HashSet::new();
    for n in 0..5 {
        let r = s
            .post_objects(
                &format!("{}objects/", coll(EMPTY)),
                &envelope(&[indicator(n, "2020-01-01T00:00:00.000Z")]),
            )
            .await;
        assert_eq!(r.status, 202);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        assert!(is_uuid_v4(&id), "{id}");
        assert!(ids.insert(id));
    }
    // The collection a server without configuration creates.
    let plain = TestServer::start(&[]);
    let r = plain.get("/api1/collections/").await;
    let id = r.json()["collections"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(is_uuid_v4(&id), "{id}");
}

// ---------------------------------------------------------------------------------------------
// RES
// ---------------------------------------------------------------------------------------------

/// Every key anywhere in `v` (object members only).
fn all_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                all_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_keys(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn resources_use_only_the_spec_property_names_in_lowercase_snake_case() {
    let s = TestServer::medallion();
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, kind) in &paths {
        let v = s.get(path).await.json();
        check_resource(*kind, &v);
        if *kind != Kind::Envelope {
            let mut keys = Vec::new();
            all_keys(&v, &mut keys);
            for k in keys {
                assert!(
                    k.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'),
                    "{path}: {k}"
                );
            }
        }
    }
}

#[tokio::test]
async fn required_properties_are_present_in_every_returned_resource() {
    let s = TestServer::medallion();
    let r = s.get(ROOT).await.json();
    for k in ["title", "versions", "max_content_length"] {
        assert!(r.get(k).is_some(), "{k}");
    }
    let r = s.get(&format!("{ROOT}collections/")).await.json();
    for c in r["collections"].as_array().unwrap() {
        for k in ["id", "title", "can_read", "can_write"] {
            assert!(c.get(k).is_some(), "{k} in {c}");
        }
    }
    let r = s
        .get(&format!("{}manifest/?match[version]=all", coll(RW)))
        .await
        .json();
    for rec in r["objects"].as_array().unwrap() {
        for k in ["id", "date_added", "version"] {
            assert!(rec.get(k).is_some(), "{k} in {rec}");
        }
    }
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await
        .json();
    for k in [
        "id",
        "status",
        "total_count",
        "success_count",
        "failure_count",
        "pending_count",
    ] {
        assert!(r.get(k).is_some(), "{k} in {r}");
    }
    assert!(r["successes"][0].get("version").is_some(), "{r}");
    let r = s.get(&format!("{ROOT}nothing/")).await.json();
    assert!(r["title"].is_string());
}

#[tokio::test]
async fn empty_lists_are_omitted_never_serialised_as_empty_arrays() {
    let s = TestServer::medallion();
    for (path, absent) in [
        ("/api1/collections/".to_owned(), "collections"),
        (format!("{}objects/", coll(EMPTY)), "objects"),
        (format!("{}manifest/", coll(EMPTY)), "objects"),
        (
            format!("{}objects/?match[type]=campaign", coll(RW)),
            "objects",
        ),
        (
            format!("{}manifest/?added_after=2030-01-01T00:00:00Z", coll(RW)),
            "objects",
        ),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.json().get(absent).is_none(), "{path}: {}", r.text);
        assert!(!r.text.contains("[]"), "{path}: {}", r.text);
    }
    // A fully successful add lists no failures or pendings.
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert!(!r.text.contains("[]"), "{}", r.text);
    assert!(r.json().get("failures").is_none() && r.json().get("pendings").is_none());
    // Every server-built resource, checked by the schema (which refuses `[]`).
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, kind) in &paths {
        check_resource(*kind, &s.get(path).await.json());
    }
}

#[tokio::test]
async fn optional_properties_without_a_value_are_omitted_not_null() {
    // A collection without description or alias, and an API root without description.
    let data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    let s = serve(&data, |_| {});
    let r = s
        .get("/api1/collections/0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11/")
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("null"), "{}", r.text);
    assert!(r.json().get("description").is_none() && r.json().get("alias").is_none());
    let r = s.get("/api1/").await;
    assert!(!r.text.contains("null"), "{}", r.text);
    assert!(r.json().get("description").is_none());
    let r = s.get("/taxii2/").await;
    assert!(!r.text.contains("null"), "{}", r.text);
    for k in ["description", "contact"] {
        assert!(r.json().get(k).is_none(), "{}", r.text);
    }
    let r = s
        .post_objects(
            "/api1/collections/0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11/objects/",
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert!(!r.text.contains("null"), "{}", r.text);
    let r = s
        .get("/api1/collections/0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11/manifest/")
        .await;
    assert!(!r.text.contains("null"), "{}", r.text);
    assert!(r.json().get("next").is_none(), "{}", r.text);
}

#[tokio::test]
async fn internal_bookkeeping_never_leaks_into_objects_or_resources() {
    let s = TestServer::medallion();
    s.post_objects(
        &format!("{}objects/", coll(EMPTY)),
        &envelope(&[
            indicator(1, "2020-01-01T00:00:00.000Z"),
            json!({"type": "ipv4-addr", "id": "ipv4-addr--a1b2c3d4-0000-4000-8000-000000000001", "value": "10.0.0.1"}),
        ]),
    )
    .await;
    let (mut paths, status_id) = every_get_endpoint(&s).await;
    paths.push((format!("{}objects/", coll(EMPTY)), Kind::Envelope));
    paths.push((format!("{}manifest/", coll(EMPTY)), Kind::Manifest));
    paths.push((
        format!(
            "{}objects/?match[version]=all&match[spec_version]=2.0,2.1",
            coll(RW)
        ),
        Kind::Envelope,
    ));
    for (path, _) in &paths {
        let v = s.get(path).await.json();
        let mut keys = Vec::new();
        all_keys(&v, &mut keys);
        for k in keys {
            assert!(!k.starts_with('_'), "{path}: {k}");
            assert!(
                ![
                    "owner",
                    "seq",
                    "position",
                    "collection_id",
                    "api_root",
                    "manifest",
                    "json",
                    "created_at"
                ]
                .contains(&k.as_str()),
                "{path}: {k}"
            );
        }
    }
    let status = s.get(&format!("{ROOT}status/{status_id}/")).await.json();
    assert!(status.get("owner").is_none() && status.get("created").is_none());
    let c = s.get(&coll(RW)).await.json();
    assert!(
        c.get("objects").is_none() && c.get("manifest").is_none(),
        "{c}"
    );
}

// ---------------------------------------------------------------------------------------------
// CUST
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_envelope_with_an_unknown_custom_property_is_processed() {
    let s = TestServer::medallion();
    let mut env = envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]);
    env["x_acme_note"] = json!("from the ACME feed");
    env["x_acme_batch"] = json!({"n": 1});
    let r = s
        .post_objects(&format!("{}objects/", coll(EMPTY)), &env)
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    let v = r.json();
    assert_eq!(v["total_count"], 1);
    assert_eq!(v["success_count"], 1);
    let r = s.get(&format!("{}objects/", coll(EMPTY))).await;
    assert_eq!(r.json()["objects"][0]["id"], indicator(1, "")["id"]);
}

#[tokio::test]
async fn custom_properties_inside_stix_objects_are_stored_and_returned_unchanged() {
    let s = TestServer::medallion();
    let text = r#"{"type":"x-acme-gadget","spec_version":"2.1","id":"x-acme-gadget--a1b2c3d4-0000-4000-8000-000000000001","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","x_acme_score":97.50,"x_acme_tags":["a","b"],"x_acme_nested":{"deep":{"n":1e3,"s":"\u00e9"}},"x_acme_empty":{}}"#;
    let r = s
        .req(Method::POST, &format!("{}objects/", coll(EMPTY)))
        .header("Content-Type", T21)
        .body(format!("{{\"objects\":[{text}]}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = s
        .get(&format!(
            "{}objects/x-acme-gadget--a1b2c3d4-0000-4000-8000-000000000001/",
            coll(EMPTY)
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains(text), "{}", r.text);
    // And the sample's custom object keeps its custom properties.
    let r = s
        .get(&format!(
            "{}objects/x-acme-widget--a1b2c3d4-0000-4000-8000-00000000abcd/",
            coll(RW)
        ))
        .await;
    let o = &r.json()["objects"][0];
    assert_eq!(o["x_acme_note"], "custom object with custom properties");
    assert_eq!(o["x_acme_score"], 97.5);
}

// ---------------------------------------------------------------------------------------------
// HDR-1..7 (page headers) and TS-3/TS-4/TS-8 (timestamp parameters and version instants)
// ---------------------------------------------------------------------------------------------

const IND3: &str = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e";

/// The page headers of a response.
fn page_headers(r: &Resp) -> (Option<String>, Option<String>) {
    (
        r.header("x-taxii-date-added-first").map(str::to_owned),
        r.header("x-taxii-date-added-last").map(str::to_owned),
    )
}

/// First and last `date_added` of a manifest response's records.
fn record_bounds(manifest: &Value) -> (Option<String>, Option<String>) {
    let dates: Vec<String> = manifest["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["date_added"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (dates.first().cloned(), dates.last().cloned())
}

#[tokio::test]
async fn every_non_empty_page_of_the_four_listing_endpoints_carries_both_page_headers() {
    let s = TestServer::medallion();
    let base = coll(RW);
    for path in [
        format!("{base}manifest/"),
        format!("{base}manifest/?limit=1"),
        format!("{base}objects/"),
        format!("{base}objects/?match[type]=indicator"),
        format!("{base}objects/{IND3}/"),
        format!("{base}objects/{IND3}/?match[version]=all"),
        format!("{base}objects/{IND3}/versions/"),
        format!("{base}objects/{IND3}/versions/?limit=2"),
        format!("{}objects/", coll(READ_ONLY)),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        let (first, last) = page_headers(&r);
        for h in [first, last] {
            let h = h.unwrap_or_else(|| panic!("{path}: a page header is missing"));
            assert!(is_taxii_timestamp(&h), "{path}: {h}");
        }
    }
}

#[tokio::test]
async fn page_headers_are_the_date_added_of_the_first_and_last_record_of_the_page() {
    let s = TestServer::medallion();
    let base = coll(RW);
    // The manifest states each record's date_added; every other endpoint must agree with it.
    for (path, manifest) in [
        (
            format!("{base}manifest/?match[version]=all&match[spec_version]=2.0,2.1"),
            format!("{base}manifest/?match[version]=all&match[spec_version]=2.0,2.1"),
        ),
        (format!("{base}objects/"), format!("{base}manifest/")),
        (
            format!("{base}objects/?match[type]=indicator,relationship&match[version]=all"),
            format!("{base}manifest/?match[type]=indicator,relationship&match[version]=all"),
        ),
        (
            format!("{base}objects/{IND3}/?match[version]=all"),
            format!("{base}manifest/?match[id]={IND3}&match[version]=all"),
        ),
        (
            format!("{base}objects/{IND3}/versions/"),
            format!("{base}manifest/?match[id]={IND3}&match[version]=all"),
        ),
        (
            format!("{base}objects/{IND3}/?match[version]=first"),
            format!("{base}manifest/?match[id]={IND3}&match[version]=first"),
        ),
    ] {
        let r = s.get(&path).await;
        let m = s.get(&manifest).await.json();
        let bounds = record_bounds(&m);
        assert!(bounds.0.is_some(), "{manifest}");
        assert_eq!(page_headers(&r), bounds, "{path}");
    }
    // On the manifest itself, for every page of a walk.
    let r = s
        .get(&format!(
            "{base}manifest/?match[version]=all&match[spec_version]=2.0,2.1&limit=4"
        ))
        .await;
    assert_eq!(page_headers(&r), record_bounds(&r.json()));
    assert_eq!(
        page_headers(&r),
        (
            Some("2014-05-08T09:00:00.000000Z".to_owned()),
            Some("2017-01-20T00:00:00.000000Z".to_owned())
        )
    );
}

#[tokio::test]
async fn each_page_of_a_walk_has_headers_describing_only_that_page() {
    let s = TestServer::medallion();
    for n in 0..5 {
        let r = s
            .post_objects(
                &format!("{}objects/", coll(EMPTY)),
                &envelope(&[indicator(n, "2020-01-01T00:00:00.000Z")]),
            )
            .await;
        assert_eq!(r.status, 202);
    }
    for endpoint in ["manifest", "objects"] {
        let mut path = format!("{}{endpoint}/?limit=2", coll(EMPTY));
        let mut previous_last: Option<String> = None;
        let mut pages = 0;
        loop {
            let r = s.get(&path).await;
            assert_eq!(r.status, 200, "{}", r.text);
            pages += 1;
            let (first, last) = page_headers(&r);
            let (first, last) = (first.unwrap(), last.unwrap());
            if endpoint == "manifest" {
                assert_eq!(
                    record_bounds(&r.json()),
                    (Some(first.clone()), Some(last.clone()))
                );
            }
            if let Some(p) = &previous_last {
                assert!(first > *p, "{first} after {p}");
            }
            assert!(first <= last);
            previous_last = Some(last);
            let v = r.json();
            match v["next"].as_str() {
                Some(next) => path = format!("{}{endpoint}/?limit=2&next={next}", coll(EMPTY)),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{endpoint}");
    }
}

#[tokio::test]
async fn an_empty_page_carries_no_page_header_and_no_placeholder() {
    let s = TestServer::medallion();
    for path in [
        format!("{}objects/", coll(EMPTY)),
        format!("{}manifest/", coll(EMPTY)),
        format!("{}objects/?match[type]=campaign", coll(RW)),
        format!("{}manifest/?added_after=2030-01-01T00:00:00Z", coll(RW)),
        format!(
            "{}objects/{IND3}/versions/?added_after=2030-01-01T00:00:00Z",
            coll(RW)
        ),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.json(), json!({}), "{path}");
        assert_eq!(page_headers(&r), (None, None), "{path}");
    }
    // Whatever any response carries is a timestamp, never `undefined` or empty.
    let (paths, _) = every_get_endpoint(&s).await;
    for (path, _) in paths {
        let r = s.get(&path).await;
        let (first, last) = page_headers(&r);
        for h in [first, last].into_iter().flatten() {
            assert!(is_taxii_timestamp(&h), "{path}: {h}");
        }
    }
}

#[tokio::test]
async fn version_list_headers_come_from_date_added_not_from_the_version_strings() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!("{}objects/{IND3}/versions/", coll(RW)))
        .await;
    assert_eq!(
        r.json()["versions"],
        json!([
            "2016-11-03T12:30:59.000Z",
            "2016-12-25T12:30:59.444Z",
            "2017-01-27T13:49:53.935Z"
        ])
    );
    assert_eq!(
        page_headers(&r),
        (
            Some("2016-11-01T03:04:05.000000Z".to_owned()),
            Some("2017-01-27T13:49:59.997000Z".to_owned())
        )
    );
}

#[tokio::test]
async fn added_after_accepts_zero_to_nine_fractional_digits() {
    let s = TestServer::medallion();
    for value in [
        "2016-01-01T00:00:00Z",
        "2016-01-01T00:00:00.5Z",
        "2016-01-01T00:00:00.123Z",
        "2016-01-01T00:00:00.123456Z",
        "2016-01-01T00:00:00.123456789Z",
    ] {
        for endpoint in ["objects/", "manifest/"] {
            let r = s
                .get(&format!("{}{endpoint}?added_after={value}", coll(RW)))
                .await;
            assert_eq!(r.status, 200, "{value}: {}", r.text);
            // Only the relationship (added 2014) is older.
            assert_eq!(r.json()["objects"].as_array().unwrap().len(), 5, "{value}");
        }
    }
    // The boundary is exact to the nanosecond: a record added at .997000 is after .996999999.
    let r = s
        .get(&format!(
            "{}manifest/?match[id]={IND3}&added_after=2017-01-27T13:49:59.996999999Z",
            coll(RW)
        ))
        .await;
    assert_eq!(
        r.json()["objects"][0]["version"],
        "2017-01-27T13:49:53.935Z"
    );
    let r = s
        .get(&format!(
            "{}manifest/?match[id]={IND3}&added_after=2017-01-27T13:49:59.997Z",
            coll(RW)
        ))
        .await;
    assert_eq!(r.json(), json!({}));
}

#[tokio::test]
async fn an_added_after_that_is_not_a_timestamp_is_400_never_500() {
    let s = TestServer::medallion();
    for value in [
        "yesterday",
        "2016-13-01T00:00:00Z",
        "",
        "2016-01-01",
        "2016-01-01T00:00:00",
        "2016-01-01T25:00:00Z",
        "2016-01-01T00:00:00.1234567890Z",
        "1451606400",
    ] {
        for endpoint in ["objects/", "manifest/"] {
            let path = format!("{}{endpoint}?added_after={value}", coll(RW));
            s.get(&path).await.assert_error(400);
        }
    }
}

#[tokio::test]
async fn versions_compare_as_full_precision_instants() {
    let s = TestServer::medallion();
    let id = "indicator--00000001-0000-4000-8000-000000000000";
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[
                indicator(1, "2020-01-01T00:00:01.000000001Z"),
                indicator(1, "2020-01-01T00:00:01Z"),
            ]),
        )
        .await;
    assert_eq!(r.json()["success_count"], 2, "{}", r.text);
    // `…01.000Z` names the version stored as `…01Z`.
    let r = s
        .get(&format!(
            "{}objects/{id}/?match[version]=2020-01-01T00:00:01.000Z",
            coll(EMPTY)
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["objects"][0]["modified"], "2020-01-01T00:00:01Z");
    // A repost of `…01Z` spelled `…01.000Z` is the same version.
    let again = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-01-01T00:00:01.000Z")]),
        )
        .await
        .json();
    assert_eq!(
        s.get(&format!("{}objects/{id}/versions/", coll(EMPTY)))
            .await
            .json()["versions"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{again}"
    );
    // The nanosecond-later version is the latest, although `…01Z` sorts after it as text.
    let r = s.get(&format!("{}objects/{id}/", coll(EMPTY))).await;
    assert_eq!(
        r.json()["objects"][0]["modified"],
        "2020-01-01T00:00:01.000000001Z"
    );
    let r = s
        .get(&format!(
            "{}objects/{id}/?match[version]=first",
            coll(EMPTY)
        ))
        .await;
    assert_eq!(r.json()["objects"][0]["modified"], "2020-01-01T00:00:01Z");
}
