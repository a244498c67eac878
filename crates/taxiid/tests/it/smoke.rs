use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_server_without_configuration_serves_its_default_collection_to_the_generated_admin() {
    let s = TestServer::start(&[]);
    assert!(s.generated_password.as_ref().is_some_and(|p| p.len() >= 20));
    let r = s.get("/taxii2/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(r.json()["api_roots"], json!(["/api1/"]));
    let r = s.get("/api1/collections/default/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["can_write"], true);
    let r = s
        .bare(Method::GET, "/taxii2/")
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_medallion_sample_is_served() {
    let s = TestServer::medallion();
    let r = s.get("/taxii2/").await;
    assert_eq!(r.json()["title"], "Some TAXII Server");
    let r = s.get(&format!("{ROOT}collections/{RW}/objects/")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("x-taxii-date-added-first").is_some());
}
