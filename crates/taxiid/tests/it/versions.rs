//! Get Object Versions (`GET {r}collections/{c}/objects/{o}/versions/`): checklist VER,
//! HDR-6, SORT-5 and IOP-5.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::*;

#[tokio::test]
async fn the_versions_endpoint_lists_one_string_per_stored_version() {
    let s = TestServer::medallion();
    let r = s.get(&versions_url(RW, INDICATOR)).await;
    assert_page(&r, IND_D1, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "versions": [IND_V1, IND_V2, IND_V3]})
    );
}

#[tokio::test]
async fn version_strings_echo_modified_or_created_exactly_as_stored() {
    let s = TestServer::medallion();
    for (id, v, d) in [
        (MARKING, MARKING_V, MARKING_D),
        (WIDGET, WIDGET_V, WIDGET_D),
        (RELATIONSHIP, REL_V, REL_D),
    ] {
        let r = s.get(&versions_url(RW, id)).await;
        assert_page(&r, d, d);
        assert_eq!(r.json(), json!({"more": false, "versions": [v]}));
    }
    // Posted with 0, 1, 3 and 9 fractional digits: echoed as written.
    let written = [
        "2016-01-01T00:00:00Z",
        "2016-01-01T00:00:00.5Z",
        "2016-01-01T00:00:00.700Z",
        "2016-01-01T00:00:00.123456789Z",
    ];
    let objects: Vec<Value> = written.iter().map(|v| indicator(1, v)).collect();
    add_ok(&s, EMPTY, &objects).await;
    let marking = json!({"type": "marking-definition", "spec_version": "2.1",
        "id": "marking-definition--00000000-0000-4000-8000-000000000001",
        "created": "2017-01-20T00:00:00.10Z", "definition_type": "statement",
        "definition": {"statement": "copyright"}});
    add_ok(&s, EMPTY, &[marking]).await;
    let r = s.get(&versions_url(EMPTY, &indicator_id(1))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"more": false, "versions": written}));
    let r = s
        .get(&versions_url(
            EMPTY,
            "marking-definition--00000000-0000-4000-8000-000000000001",
        ))
        .await;
    assert_eq!(
        r.json(),
        json!({"more": false, "versions": ["2017-01-20T00:00:00.10Z"]})
    );
}

#[tokio::test]
async fn versions_are_listed_in_date_added_order_not_version_order() {
    let s = TestServer::medallion();
    let order = [
        "2018-01-01T00:00:00.000Z",
        "2016-01-01T00:00:00.000Z",
        "2017-01-01T00:00:00.000Z",
    ];
    for v in order {
        add_ok(&s, EMPTY, &[indicator(1, v)]).await;
    }
    let m = manifest_all(&s, EMPTY).await;
    let r = s.get(&versions_url(EMPTY, &indicator_id(1))).await;
    assert_page(
        &r,
        m[0]["date_added"].as_str().unwrap(),
        m[2]["date_added"].as_str().unwrap(),
    );
    assert_eq!(r.json(), json!({"more": false, "versions": order}));
}

#[tokio::test]
async fn the_versions_endpoint_honours_added_after_limit_next_and_spec_version() {
    let s = TestServer::medallion();
    let url = versions_url(RW, INDICATOR);
    let r = s.get(&format!("{url}?added_after={IND_D1}")).await;
    assert_page(&r, IND_D2, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "versions": [IND_V2, IND_V3]})
    );
    let r = s.get(&format!("{url}?limit=2")).await;
    assert_page(&r, IND_D1, IND_D2);
    let body = r.json();
    assert_eq!(body["more"], true);
    assert_eq!(body["versions"], json!([IND_V1, IND_V2]));
    let next = body["next"].as_str().unwrap();
    let r = s.get(&format!("{url}?limit=2&next={next}")).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(r.json(), json!({"more": false, "versions": [IND_V3]}));
    let r = s
        .get(&format!(
            "{}?match[spec_version]=2.0",
            versions_url(RW, MALWARE)
        ))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(r.json(), json!({"more": false, "versions": [MAL_V20]}));
    assert_empty_page(&s.get(&format!("{url}?match[spec_version]=2.0")).await);
}

#[tokio::test]
async fn version_page_headers_come_from_date_added_not_from_the_version_strings() {
    let s = TestServer::medallion();
    // Each indicator version was added days after its `modified`.
    let after = format!("?added_after={IND_D2}");
    for (q, first, last) in [
        ("", IND_D1, IND_D3),
        ("?limit=1", IND_D1, IND_D1),
        (after.as_str(), IND_D3, IND_D3),
    ] {
        let r = s.get(&format!("{}{q}", versions_url(RW, INDICATOR))).await;
        assert_page(&r, first, last);
    }
    // The 9-digit version of the widget was added one second later.
    let r = s.get(&versions_url(RW, WIDGET)).await;
    assert_page(&r, WIDGET_D, WIDGET_D);
    assert_ne!(WIDGET_D, WIDGET_V);
}

#[tokio::test]
async fn versions_of_an_unknown_object_are_404() {
    let s = TestServer::medallion();
    s.get(&versions_url(
        RW,
        "indicator--00000000-0000-4000-8000-000000000000",
    ))
    .await
    .assert_error(404);
    s.get(&versions_url(RW, RO_INDICATOR))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn versions_filtered_to_nothing_are_an_empty_object_without_page_headers() {
    let s = TestServer::medallion();
    for q in [
        format!("added_after={IND_D3}"),
        "match[spec_version]=2.0".to_owned(),
        "added_after=2030-01-01T00:00:00Z".to_owned(),
    ] {
        assert_empty_page(&s.get(&format!("{}?{q}", versions_url(RW, INDICATOR))).await);
    }
}

#[tokio::test]
async fn a_versions_page_with_more_carries_next() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(1));
    let base = versions_url(RW, INDICATOR);
    let mut url = base.clone();
    let mut got = Vec::new();
    for _ in 0..5 {
        let r = s.get(&url).await;
        assert_eq!(r.status, 200);
        let body = r.json();
        assert_eq!(body["versions"].as_array().unwrap().len(), 1);
        got.push(body["versions"][0].clone());
        if body["more"] == true {
            url = format!("{base}?next={}", body["next"].as_str().expect("next"));
        } else {
            assert_eq!(body.get("next"), None);
            break;
        }
    }
    assert_eq!(got, [IND_V1, IND_V2, IND_V3]);
}

#[tokio::test]
async fn the_versions_endpoint_needs_read_permission_and_credentials() {
    let s = TestServer::medallion();
    s.get(&versions_url(WRITE_ONLY, INDICATOR))
        .await
        .assert_error(403);
    s.get(&versions_url(NO_ACCESS, SECRET_INDICATOR))
        .await
        .assert_error(403);
    assert_needs_credentials(&s, Method::GET, &versions_url(RW, INDICATOR)).await;
}

#[tokio::test]
async fn an_sco_has_a_single_server_chosen_version() {
    let s = TestServer::medallion();
    let r = s.get(&versions_url(RW, IPV4)).await;
    assert_page(&r, IPV4_D, IPV4_D);
    assert_eq!(r.json(), json!({"more": false, "versions": [IPV4_V]}));
    // A posted SCO: its version is its first date_added, and stays the only one when the
    // same SCO is posted again, identical or not.
    let id = "ipv4-addr--00000000-0000-4000-8000-000000000001";
    let sco = json!({"type": "ipv4-addr", "id": id, "value": "10.0.0.1"});
    add_ok(&s, EMPTY, std::slice::from_ref(&sco)).await;
    let date = s.get(&manifest_url(EMPTY)).await.json()["objects"][0]["date_added"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut changed = sco.clone();
    changed["x_acme_seen"] = json!(2);
    let r = s
        .post_objects(&objects_url(EMPTY), &json!({"objects": [sco, changed]}))
        .await;
    assert_eq!(r.status, 202);
    let r = s.get(&versions_url(EMPTY, id)).await;
    assert_page(&r, &date, &date);
    assert_eq!(r.json(), json!({"more": false, "versions": [date]}));
    let r = s.get(&object_url(EMPTY, id)).await;
    assert_eq!(r.json(), json!({"more": false, "objects": [sco]}));
}

#[tokio::test]
async fn versions_default_to_the_latest_spec_version_and_list_all_when_asked() {
    let s = TestServer::medallion();
    let r = s.get(&versions_url(RW, MALWARE)).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(r.json(), json!({"more": false, "versions": [MAL_V21]}));
    let r = s
        .get(&format!(
            "{}?match[spec_version]=2.0,2.1",
            versions_url(RW, MALWARE)
        ))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    // Same date_added: in the order they were stored.
    assert_eq!(
        r.json(),
        json!({"more": false, "versions": [MAL_V20, MAL_V21]})
    );
}

#[tokio::test]
async fn paging_versions_by_the_last_date_added_header_returns_every_version() {
    let s = TestServer::medallion();
    let written: Vec<String> = (0..7)
        .map(|i| format!("20{:02}-01-01T00:00:00.000Z", 20 - i))
        .collect();
    for chunk in written.chunks(3) {
        let objects: Vec<Value> = chunk.iter().map(|v| indicator(1, v)).collect();
        add_ok(&s, EMPTY, &objects).await;
    }
    let base = format!("{}?limit=2", versions_url(EMPTY, &indicator_id(1)));
    let mut url = base.clone();
    let mut got: Vec<String> = Vec::new();
    let mut last_seen: Option<String> = None;
    for _ in 0..10 {
        let r = s.get(&url).await;
        assert_eq!(r.status, 200);
        let body = r.json();
        let Some(page) = body["versions"].as_array() else {
            assert_empty_page(&r);
            break;
        };
        assert!(page.len() <= 2);
        let first = r.header("x-taxii-date-added-first").unwrap().to_owned();
        if let Some(prev) = &last_seen {
            assert!(first.as_str() > prev.as_str(), "{first} after {prev}");
        }
        got.extend(page.iter().map(|v| v.as_str().unwrap().to_owned()));
        let last = r.header("x-taxii-date-added-last").unwrap().to_owned();
        url = format!("{base}&added_after={last}");
        last_seen = Some(last);
        if body["more"] != true {
            break;
        }
    }
    assert_eq!(got, written);
}

#[tokio::test]
async fn limit_on_the_versions_endpoint_counts_version_strings() {
    let s = TestServer::medallion();
    for (limit, want) in [(1, 1), (2, 2), (3, 3), (4, 3)] {
        let r = s
            .get(&format!("{}?limit={limit}", versions_url(RW, INDICATOR)))
            .await;
        let body = r.json();
        assert_eq!(body["versions"].as_array().unwrap().len(), want);
        assert_eq!(body["more"], want < 3);
    }
}
