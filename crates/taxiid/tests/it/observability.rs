//! Request ids, the access log line of every request, the audit trail of adds and deletes,
//! and JSON logs.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::general::{coll, envelope, indicator};
use crate::helpers::*;

fn log_of(s: &TestServer) -> Vec<String> {
    s.log.lock().unwrap().clone()
}

/// Waits a moment for a log line containing every needle (the server logs after answering).
pub(crate) async fn line_with(s: &TestServer, needles: &[&str]) -> String {
    for _ in 0..50 {
        if let Some(line) = log_of(s)
            .into_iter()
            .find(|l| needles.iter().all(|n| l.contains(n)))
        {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no log line with {needles:?}: {:#?}", log_of(s));
}

#[tokio::test]
async fn request_ids_are_echoed_and_every_request_is_logged_once() {
    let s = TestServer::medallion();
    let r = s
        .req(Method::GET, "/taxii2/")
        .header("X-Request-Id", "client-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "client-id-42");
    let line = line_with(&s, &["client-id-42"]).await;
    for part in [
        "method=GET",
        "path=/taxii2/",
        "status=200",
        "user=admin",
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    // Without one (or with one unfit for a log line), the server makes one.
    for sent in [None, Some("two words")] {
        let mut req = s.bare(Method::GET, "/taxii2/");
        if let Some(v) = sent {
            req = req.header("X-Request-Id", v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "{id}");
        let line = line_with(&s, &[&id]).await;
        assert!(
            line.contains("status=401") && line.contains("user=-"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn adds_and_deletes_leave_an_audit_trail() {
    let s = TestServer::medallion();
    let objects = format!("{}objects/", coll(RW));
    let posted = s
        .post_objects(
            &objects,
            &envelope(&[indicator(5, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(posted.status, 202);
    let status_id = posted.json()["id"].as_str().unwrap().to_owned();
    let line = line_with(&s, &["added objects", &status_id]).await;
    for part in ["taxiid::audit", "user=admin", RW, "total=1"] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    let id = indicator(5, "2020-01-01T00:00:00.000Z")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = Resp::from(
        s.req(Method::DELETE, &format!("{objects}{id}/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let line = line_with(&s, &["deleted object versions", &id]).await;
    assert!(
        line.contains("taxiid::audit") && line.contains("user=admin"),
        "{line}"
    );
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
    let config = serde_json::json!({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": "data.json"},
        "users": {"admin": "Password0"}
    });
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let s = TestServer::start_in(dir, &["-c", "config.json", "--log-format", "json"], &[]);
    let r = s
        .req(Method::GET, "/taxii2/")
        .header("X-Request-Id", "json-line")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let line = line_with(&s, &["json-line"]).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["target"], "taxiid::access");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["fields"]["request_id"], "json-line");
    assert_eq!(v["fields"]["status"], 200);
    assert_eq!(v["fields"]["user"], "admin");
    // Every line but the listening notice (plain text, for people and test harnesses alike) is
    // a JSON object.
    for l in log_of(&s) {
        if !l.starts_with("taxiid: listening on ") {
            assert!(
                serde_json::from_str::<Value>(&l).is_ok_and(|v| v.is_object()),
                "{l}"
            );
        }
    }
}

/// The value of the first sample line starting with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_objects_and_versions_for_authenticated_scrapers() {
    let s = TestServer::medallion();
    // Without credentials: the same 401 as everywhere.
    let r = Resp::from(s.bare(Method::GET, "/metrics").send().await.unwrap()).await;
    r.assert_error(401);
    assert_eq!(s.get("/taxii2/").await.status, 200);
    let before = Resp::from(s.req(Method::GET, "/metrics").send().await.unwrap()).await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(
        before.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = &before.text;
    let requests = r#"taxiid_requests_total{endpoint="discovery",method="GET",status="200"}"#;
    assert_eq!(sample(text, requests), Some(1.0), "{text}");
    assert!(
        text.contains(
            r#"taxiid_request_duration_seconds_bucket{endpoint="discovery",le="0.0005"}"#
        ),
        "{text}"
    );
    let versions = sample(text, "taxiid_object_versions").expect("no taxiid_object_versions");
    assert!(versions > 0.0, "{text}");

    let objects = format!("{}objects/", coll(RW));
    let posted = s
        .post_objects(
            &objects,
            &envelope(&[indicator(8, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(posted.status, 202);
    let after = Resp::from(s.req(Method::GET, "/metrics").send().await.unwrap()).await;
    let text = &after.text;
    assert_eq!(
        sample(text, "taxiid_object_versions"),
        Some(versions + 1.0),
        "{text}"
    );
    assert_eq!(
        sample(text, "taxiid_objects_received_total"),
        Some(1.0),
        "{text}"
    );
    let adds = r#"taxiid_requests_total{endpoint="objects",method="POST",status="202"}"#;
    assert_eq!(sample(text, adds), Some(1.0), "{text}");
    // Unauthenticated requests are counted too, under the endpoint they could not reach.
    assert!(text.contains(r#"status="401""#), "{text}");
}

#[tokio::test]
async fn metrics_can_be_public_or_off() {
    for (setting, anonymous, admin) in [("public", 200, 200), ("off", 401, 404)] {
        let dir = tempfile::tempdir().unwrap();
        let config = format!("[server]\nmetrics = \"{setting}\"\n[users]\nadmin = \"Password0\"\n");
        std::fs::write(dir.path().join("taxiid.toml"), config).unwrap();
        let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
        let r = s.bare(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(r.status(), anonymous, "{setting}");
        let r = s.req(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(r.status(), admin, "{setting}");
    }
}

/// The admin listener's base URL, from the line the server prints when it binds it.
fn admin_base(s: &TestServer) -> String {
    log_of(s)
        .iter()
        .find_map(|l| l.strip_prefix("taxiid: admin listener on "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no admin listener: {:#?}", log_of(s)))
        .to_owned()
}

#[tokio::test]
async fn the_admin_listener_serves_probes_and_metrics_without_credentials_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // Metrics off on the main listener: the admin listener still records and serves them.
    let config = "[server]\nmetrics = \"off\"\nadmin_listen = \"127.0.0.1:0\"\n\
                  [users]\nadmin = \"Password0\"\n";
    std::fs::write(dir.path().join("taxiid.toml"), config).unwrap();
    let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    let admin = admin_base(&s);
    assert_ne!(admin, s.base);
    let plain = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("{admin}{path}");
        let plain = plain.clone();
        async move { Resp::from(plain.get(url).send().await.unwrap()).await }
    };

    let live = get("/healthz").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json(), serde_json::json!({"status": "live"}));
    let ready = get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.json(),
        serde_json::json!({"status": "ready", "store": "sqlite"})
    );

    assert_eq!(s.get("/taxii2/").await.status, 200);
    let metrics = get("/metrics").await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let requests = r#"taxiid_requests_total{endpoint="discovery",method="GET",status="200"}"#;
    assert_eq!(
        sample(&metrics.text, requests),
        Some(1.0),
        "{}",
        metrics.text
    );
    // The admin listener's own requests are not counted.
    assert!(
        !metrics.text.contains(r#"endpoint="health""#),
        "{}",
        metrics.text
    );

    // Nothing of TAXII there, and the main listener keeps metrics off.
    let taxii = get("/taxii2/").await;
    let body = taxii.assert_error(404);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("/healthz, /readyz and /metrics only"),
        "{body}"
    );
    assert_eq!(s.get("/metrics").await.status, 404);
    let r = plain.post(format!("{admin}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}
