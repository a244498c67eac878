//! Error responses (ERR) and repeated filter parameters (IOP-3).

use reqwest::Method;
use serde_json::{Value, json};

use crate::general::{Kind, check_resource, coll, failing_requests, one_root, serve};
use crate::helpers::*;

const IND: &str = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e";

/// Every error the server can be made to produce, with its status: the shared list plus 413.
async fn every_error() -> Vec<(u16, Resp)> {
    let s = TestServer::medallion();
    let mut out = Vec::new();
    for (status, req) in failing_requests(&s) {
        out.push((status, Resp::from(req.send().await.unwrap()).await));
    }
    let id = "00000000-0000-4000-8000-000000000001";
    let mut data = one_root("api1", id);
    data["api1"]["information"]["max_content_length"] = json!(100);
    let small = serve(&data, |_| {});
    let r = small
        .req(Method::POST, &format!("/api1/collections/{id}/objects/"))
        .header("Content-Type", T21)
        .body(" ".repeat(101))
        .send()
        .await
        .unwrap();
    out.push((413, Resp::from(r).await));
    let r = small
        .req(Method::POST, &format!("/api1/collections/{id}/objects/"))
        .header("Content-Type", T21)
        .body("{not json")
        .send()
        .await
        .unwrap();
    out.push((400, Resp::from(r).await));
    out
}

#[tokio::test]
async fn every_4xx_carries_a_taxii_error_body() {
    let errors = every_error().await;
    let statuses: Vec<u16> = errors.iter().map(|(s, _)| *s).collect();
    for code in [400, 401, 403, 404, 405, 406, 413, 415, 422] {
        assert!(statuses.contains(&code), "{code} not exercised");
    }
    for (status, r) in &errors {
        let body = r.assert_error(*status);
        check_resource(Kind::Error, &body);
    }
}

#[tokio::test]
async fn an_error_body_always_has_a_title_string() {
    for (status, r) in every_error().await {
        let body = r.json();
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{status}: {body}"
        );
    }
}

#[tokio::test]
async fn http_status_is_a_string_equal_to_the_response_status() {
    for (status, r) in every_error().await {
        let body = r.json();
        assert_eq!(r.status.as_u16(), status);
        assert_eq!(body["http_status"], json!(status.to_string()), "{body}");
        assert!(body["http_status"].is_string());
    }
}

#[tokio::test]
async fn error_responses_are_labelled_taxii_21() {
    for (status, r) in every_error().await {
        assert_eq!(r.header("content-type"), Some(T21), "{status}");
    }
}

#[tokio::test]
async fn a_404_for_a_hidden_resource_is_indistinguishable_from_one_for_a_missing_resource() {
    let s = TestServer::medallion();
    // DELETE on a collection the caller has no rights on is a 404, like a missing collection.
    let hidden = Resp::from(
        s.req(
            Method::DELETE,
            &format!(
                "{}objects/indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f/",
                coll(NO_ACCESS)
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let missing_id = "64993447-4d7e-4f70-b94d-d7f33742ee64";
    let missing = Resp::from(
        s.req(
            Method::DELETE,
            &format!(
                "{}objects/indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f/",
                coll(missing_id)
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    hidden.assert_error(404);
    missing.assert_error(404);
    let normalise = |v: Value, id: &str| {
        let mut v = v;
        let d = v["description"].as_str().unwrap().replace(id, "X");
        v["description"] = json!(d);
        v
    };
    assert_eq!(
        normalise(hidden.json(), NO_ACCESS),
        normalise(missing.json(), missing_id)
    );
    let mut names: Vec<&str> = hidden.headers.keys().map(|k| k.as_str()).collect();
    let mut other: Vec<&str> = missing.headers.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    other.sort_unstable();
    assert_eq!(names, other);
}

#[tokio::test]
async fn an_error_body_explains_itself_without_internal_detail() {
    for (status, r) in every_error().await {
        let body = r.json();
        assert!(
            body["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        assert!(body["error_code"].is_string(), "{body}");
        if let Some(d) = body.get("details") {
            assert!(d.is_object(), "{body}");
        }
        for leak in [
            "panicked",
            "src/",
            ".rs:",
            "RUST_BACKTRACE",
            "serde_json",
            "thread '",
        ] {
            assert!(!r.text.contains(leak), "{status}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn malformed_query_parameters_on_every_filtering_endpoint_are_400() {
    let s = TestServer::medallion();
    let base = coll(RW);
    let endpoints = [
        format!("{base}objects/"),
        format!("{base}manifest/"),
        format!("{base}objects/{IND}/"),
        format!("{base}objects/{IND}/versions/"),
    ];
    let bad = [
        "added_after=yesterday",
        "added_after=2016-13-01T00:00:00Z",
        "added_after=",
        "added_after=2016-01-01T00:00:00+01:00",
        "limit=0",
        "limit=-1",
        "limit=ten",
        "limit=1.5",
        "next=not-a-token",
        "match[spec_version]=two",
    ];
    for e in &endpoints {
        for q in bad {
            let r = s.get(&format!("{e}?{q}")).await;
            r.assert_error(400);
        }
    }
    for e in &endpoints[..3] {
        for q in [
            "match[version]=yesterday",
            "match[version]=",
            "match[version]=first,,last",
        ] {
            s.get(&format!("{e}?{q}")).await.assert_error(400);
        }
    }
    for e in &endpoints[..2] {
        for q in ["match[type]=", "match[id]=", "match[type]=indicator,"] {
            s.get(&format!("{e}?{q}")).await.assert_error(400);
        }
    }
    // DELETE filters too.
    let r = s
        .req(
            Method::DELETE,
            &format!("{base}objects/{IND}/?match[version]=nope"),
        )
        .send()
        .await
        .unwrap();
    Resp::from(r).await.assert_error(400);
}

#[tokio::test]
async fn a_repeated_filter_parameter_is_400() {
    let s = TestServer::medallion();
    let base = coll(RW);
    for (e, q, name) in [
        (
            format!("{base}objects/"),
            "match[type]=indicator&match[type]=malware",
            "match[type]",
        ),
        (
            format!("{base}objects/"),
            "added_after=2016-01-01T00:00:00Z&added_after=2017-01-01T00:00:00Z",
            "added_after",
        ),
        (
            format!("{base}manifest/"),
            "match[id]={IND}&match[id]={IND}",
            "match[id]",
        ),
        (format!("{base}manifest/"), "limit=1&limit=2", "limit"),
        (
            format!("{base}objects/{IND}/"),
            "match[version]=all&match[version]=first",
            "match[version]",
        ),
        (
            format!("{base}objects/{IND}/versions/"),
            "match[spec_version]=2.1&match[spec_version]=2.0",
            "match[spec_version]",
        ),
    ] {
        let r = s.get(&format!("{e}?{}", q.replace("{IND}", IND))).await;
        let body = r.assert_error(400);
        assert!(
            body["description"].as_str().unwrap().contains(name),
            "{body}"
        );
    }
    // Once is fine.
    let r = s
        .get(&format!("{base}objects/?match[type]=indicator,malware"))
        .await;
    assert_eq!(r.status, 200);
}
