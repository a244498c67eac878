//! The health probes: `/healthz` and `/readyz`, without credentials. (`/readyz` of a node whose
//! PostgreSQL database is down is checked in postgres.rs.)

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Resp, TestServer};

async fn send(s: &TestServer, method: Method, path: &str) -> Resp {
    Resp::from(s.bare(method, path).send().await.unwrap()).await
}

#[tokio::test]
async fn probes_answer_without_credentials() {
    let s = TestServer::medallion();
    let live = send(&s, Method::GET, "/healthz").await;
    assert_eq!(live.status, 200, "{}", live.text);
    assert_eq!(live.header("content-type"), Some("application/json"));
    assert_eq!(live.header("cache-control"), Some("no-store"));
    assert_eq!(live.json(), json!({"status": "live"}));
    let ready = send(&s, Method::GET, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json(), json!({"status": "ready", "store": "memory"}));
    let head = send(&s, Method::HEAD, "/readyz").await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
}

#[tokio::test]
async fn probes_refuse_other_methods_with_a_taxii_error() {
    let s = TestServer::medallion();
    for path in ["/healthz", "/readyz"] {
        let r = send(&s, Method::POST, path).await;
        let body = r.assert_error(405);
        assert!(body["title"].is_string(), "{body}");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
        let r = send(&s, Method::OPTIONS, path).await;
        assert_eq!(r.status, 204);
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
    // Only the exact paths: anything below them is an ordinary (authenticated) request.
    assert_eq!(send(&s, Method::GET, "/healthz/").await.status, 401);
    assert_eq!(send(&s, Method::GET, "/readyz/x").await.status, 401);
}
