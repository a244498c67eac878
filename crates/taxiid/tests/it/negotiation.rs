//! Content negotiation (NEG): Accept on every endpoint, Content-Type on Add Objects.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::general::{coll, envelope, get_accept, indicator};
use crate::helpers::*;

const IND: &str = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e";

/// One request per endpoint and method with the given `Accept`, and the status it gets when
/// the Accept header is honoured. The DELETE removes a fresh object, so call this once per
/// server.
async fn every_endpoint(s: &TestServer, accept: Option<&str>) -> Vec<(u16, RequestBuilder)> {
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(77, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status = r.json()["id"].as_str().unwrap().to_owned();
    let with = |method: Method, path: &str| {
        let b = s.bare(method, path).basic_auth(&s.user.0, Some(&s.user.1));
        match accept {
            Some(a) => b.header("Accept", a),
            None => b,
        }
    };
    let objects = format!("{}objects/", coll(RW));
    vec![
        (200, with(Method::GET, "/taxii2/")),
        (200, with(Method::GET, ROOT)),
        (200, with(Method::GET, &format!("{ROOT}status/{status}/"))),
        (200, with(Method::GET, &format!("{ROOT}collections/"))),
        (200, with(Method::GET, &coll(RW))),
        (200, with(Method::GET, &format!("{}manifest/", coll(RW)))),
        (200, with(Method::GET, &objects)),
        (200, with(Method::GET, &format!("{objects}{IND}/"))),
        (200, with(Method::GET, &format!("{objects}{IND}/versions/"))),
        (
            202,
            with(Method::POST, &format!("{}objects/", coll(EMPTY)))
                .header("Content-Type", T21)
                .body(envelope(&[indicator(78, "2020-01-01T00:00:00.000Z")]).to_string()),
        ),
        (
            200,
            with(
                Method::DELETE,
                &format!(
                    "{}objects/indicator--0000004d-0000-4000-8000-000000000000/",
                    coll(EMPTY)
                ),
            ),
        ),
    ]
}

/// Asserts every endpoint answers normally, labelled T21.
async fn assert_served(accept: Option<&str>) {
    let s = TestServer::medallion();
    for (status, req) in every_endpoint(&s, accept).await {
        let r = Resp::from(req.send().await.unwrap()).await;
        assert_eq!(r.status.as_u16(), status, "Accept {accept:?}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(T21), "Accept {accept:?}");
    }
}

/// Asserts every endpoint answers 406 with a TAXII error.
async fn assert_refused(accept: &str) {
    let s = TestServer::medallion();
    for (_, req) in every_endpoint(&s, Some(accept)).await {
        let r = Resp::from(req.send().await.unwrap()).await;
        let body = r.assert_error(406);
        assert!(
            body["description"].as_str().unwrap().contains(T21),
            "{body}"
        );
    }
}

async fn post_with_content_type(s: &TestServer, content_type: Option<&str>, n: u32) -> Resp {
    let mut b = s
        .req(Method::POST, &format!("{}objects/", coll(EMPTY)))
        .body(envelope(&[indicator(n, "2020-01-01T00:00:00.000Z")]).to_string());
    if let Some(ct) = content_type {
        b = b.header("Content-Type", ct);
    }
    Resp::from(b.send().await.unwrap()).await
}

fn assert_added(r: &Resp) {
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(r.json()["success_count"], 1, "{}", r.text);
}

#[tokio::test]
async fn every_endpoint_answers_the_taxii_21_accept_with_its_normal_status_and_label() {
    assert_served(Some(T21)).await;
}

#[tokio::test]
async fn accept_without_a_version_is_served_as_21_and_labelled_with_the_version() {
    assert_served(Some("application/taxii+json")).await;
}

#[tokio::test]
async fn an_accept_list_with_other_types_q_values_and_spaces_is_served() {
    assert_served(Some(
        "text/html;q=0.9, application/taxii+json; version=2.1;q=0.5",
    ))
    .await;
    let s = TestServer::medallion();
    for accept in [
        "application/json, application/taxii+json;version=2.1",
        "application/taxii+json ; version=\"2.1\" ; q=1",
        "application/xml;q=1.0,application/taxii+json;q=0.001",
    ] {
        let r = get_accept(&s, ROOT, accept).await;
        assert_eq!(r.status, 200, "{accept}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(T21));
    }
}

#[tokio::test]
async fn media_type_names_are_matched_case_insensitively() {
    assert_served(Some("Application/TAXII+JSON;Version=2.1")).await;
    let s = TestServer::medallion();
    assert_added(&post_with_content_type(&s, Some("APPLICATION/Taxii+Json;VERSION=2.1"), 1).await);
}

#[tokio::test]
async fn other_taxii_versions_in_accept_get_406_with_an_error_body() {
    for accept in [
        "application/taxii+json;version=2.0",
        "application/taxii+json;version=2.2",
        "application/taxii+json;version=3.0",
    ] {
        assert_refused(accept).await;
    }
}

#[tokio::test]
async fn the_stix_media_type_alone_in_accept_gets_406() {
    assert_refused("application/stix+json;version=2.1").await;
    let s = TestServer::medallion();
    get_accept(
        &s,
        &format!("{}objects/", coll(RW)),
        "application/stix+json",
    )
    .await
    .assert_error(406);
}

#[tokio::test]
async fn wildcard_accept_ranges_are_served_as_taxii_21() {
    assert_served(Some("*/*")).await;
    assert_served(Some("application/*")).await;
    // OpenCTI's Accept header.
    let s = TestServer::medallion();
    let r = get_accept(&s, ROOT, "application/json, text/plain, */*").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T21));
}

#[tokio::test]
async fn a_request_without_accept_is_served_as_taxii_21() {
    assert_served(None).await;
}

#[tokio::test]
async fn accept_application_json_alone_gets_406() {
    assert_refused("application/json").await;
}

#[tokio::test]
async fn an_accept_whose_taxii_ranges_all_have_q_0_gets_406() {
    let s = TestServer::medallion();
    for accept in [
        "application/taxii+json;version=2.1;q=0",
        "application/taxii+json;q=0, text/html",
        "*/*, application/taxii+json;q=0",
        "application/taxii+json;version=2.1;q=0, application/*;q=0.5",
    ] {
        get_accept(&s, ROOT, accept).await.assert_error(406);
    }
    // q=0 on one range does not hide a positive one of the same type.
    let r = get_accept(
        &s,
        ROOT,
        "application/taxii+json;q=0, application/taxii+json;version=2.1",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_post_labelled_taxii_21_is_never_answered_415() {
    let s = TestServer::medallion();
    assert_added(&post_with_content_type(&s, Some(T21), 1).await);
}

#[tokio::test]
async fn a_post_labelled_taxii_without_version_is_processed_as_21() {
    let s = TestServer::medallion();
    assert_added(&post_with_content_type(&s, Some("application/taxii+json"), 1).await);
}

#[tokio::test]
async fn a_post_content_type_with_spaces_and_a_charset_is_accepted() {
    let s = TestServer::medallion();
    assert_added(
        &post_with_content_type(
            &s,
            Some("application/taxii+json; version=2.1; charset=utf-8"),
            1,
        )
        .await,
    );
}

#[tokio::test]
async fn a_post_labelled_json_stix_or_taxii_20_gets_415_with_an_error_body() {
    let s = TestServer::medallion();
    for (n, ct) in [
        "application/json",
        "application/stix+json;version=2.1",
        "application/taxii+json;version=2.0",
        "application/vnd.oasis.stix+json; version=2.0",
        "text/plain",
        "*/*",
    ]
    .into_iter()
    .enumerate()
    {
        let r = post_with_content_type(&s, Some(ct), u32::try_from(n).unwrap()).await;
        r.assert_error(415);
    }
    // Nothing was stored.
    let r = s.get(&format!("{}objects/", coll(EMPTY))).await;
    assert_eq!(r.json(), json!({}));
}

#[tokio::test]
async fn a_post_without_content_type_gets_415() {
    let s = TestServer::medallion();
    let r = post_with_content_type(&s, None, 1).await;
    r.assert_error(415);
}

#[tokio::test]
async fn responses_406_and_415_are_labelled_taxii_21() {
    let s = TestServer::medallion();
    let r = get_accept(&s, ROOT, "text/html").await;
    assert_eq!(r.status, 406);
    assert_eq!(r.header("content-type"), Some(T21));
    let r = post_with_content_type(&s, Some("application/json"), 1).await;
    assert_eq!(r.status, 415);
    assert_eq!(r.header("content-type"), Some(T21));
}

#[tokio::test]
async fn a_manifest_request_accepting_taxii_and_stix_gets_a_taxii_manifest() {
    let s = TestServer::medallion();
    let r = get_accept(
        &s,
        &format!("{}manifest/", coll(RW)),
        "application/taxii+json;version=2.1,application/stix+json;version=2.1",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    let v = r.json();
    let records = v["objects"].as_array().unwrap();
    assert_eq!(records.len(), 6, "{v}");
    assert!(
        records
            .iter()
            .all(|r| r["date_added"].is_string() && r["version"].is_string())
    );
}

#[tokio::test]
async fn taxii_20_types_are_refused_where_2_0_has_no_such_representation() {
    // TAXII 2.0 is served beside 2.1 (tests/it/taxii20.rs); 2.1's discovery has no 2.0 form,
    // and an API root is no STIX document. Both 406s speak 2.0, as the client asked.
    let s = TestServer::medallion();
    for (path, accept) in [
        ("/taxii2/", "application/vnd.oasis.taxii+json; version=2.0"),
        ("/taxii2/", "application/vnd.oasis.stix+json; version=2.0"),
        (ROOT, "application/vnd.oasis.stix+json; version=2.0"),
    ] {
        let r = get_accept(&s, path, accept).await;
        assert_eq!(r.status, 406, "{path} {accept}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.oasis.taxii+json; version=2.0")
        );
    }
}

#[tokio::test]
async fn an_accept_naming_no_taxii_type_and_no_wildcard_gets_406_with_an_error_body() {
    for accept in ["application/xml", "text/html"] {
        assert_refused(accept).await;
    }
    let s = TestServer::medallion();
    for accept in ["image/*", "text/*, application/stix+json", "garbage", ";;;"] {
        let r = get_accept(&s, ROOT, accept).await;
        let body: Value = r.assert_error(406);
        assert_eq!(body["http_status"], "406");
    }
}
