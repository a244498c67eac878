//! Get Object Manifests (`GET {r}collections/{c}/manifest/`): checklist MAN, SORT-2 and the
//! page headers on this endpoint.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::*;

/// The default manifest of the sample's read-write collection: one record per object, its
/// latest version of its latest spec version, in `date_added` order.
fn default_manifest() -> Vec<Value> {
    vec![
        record(RELATIONSHIP, REL_D, REL_V, STIX21),
        record(MARKING, MARKING_D, MARKING_V, STIX21),
        record(INDICATOR, IND_D3, IND_V3, STIX21),
        record(MALWARE, IND_D3, MAL_V21, STIX21),
        record(IPV4, IPV4_D, IPV4_V, STIX21),
        record(WIDGET, WIDGET_D, WIDGET_V, STIX21),
    ]
}

#[tokio::test]
async fn the_manifest_lists_one_record_per_object_with_its_latest_version() {
    let s = TestServer::medallion();
    let r = s.get(&manifest_url(RW)).await;
    assert_page(&r, REL_D, WIDGET_D);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": default_manifest()})
    );
}

#[tokio::test]
async fn the_manifest_with_match_version_all_has_one_record_per_stored_version() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!("{}?match[version]=all", manifest_url(RW)))
        .await;
    assert_page(&r, REL_D, WIDGET_D);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [
            record(RELATIONSHIP, REL_D, REL_V, STIX21),
            record(INDICATOR, IND_D1, IND_V1, STIX21),
            record(INDICATOR, IND_D2, IND_V2, STIX21),
            record(MARKING, MARKING_D, MARKING_V, STIX21),
            record(INDICATOR, IND_D3, IND_V3, STIX21),
            record(MALWARE, IND_D3, MAL_V21, STIX21),
            record(IPV4, IPV4_D, IPV4_V, STIX21),
            record(WIDGET, WIDGET_D, WIDGET_V, STIX21),
        ]})
    );
    let r = s
        .get(&format!(
            "{}?match[version]=all&match[id]={INDICATOR}",
            manifest_url(RW)
        ))
        .await;
    assert_page(&r, IND_D1, IND_D3);
    assert_eq!(
        pairs(&r.json()),
        [IND_V1, IND_V2, IND_V3].map(|v| (INDICATOR.to_owned(), v.to_owned()))
    );
}

#[tokio::test]
async fn manifest_dates_are_taxii_timestamps_and_versions_follow_modified_created_and_the_sco_rule()
{
    let s = TestServer::medallion();
    add_ok(
        &s,
        EMPTY,
        &[
            indicator(1, "2016-01-01T00:00:00.5Z"),
            json!({"type": "marking-definition", "spec_version": "2.1",
                "id": "marking-definition--00000000-0000-4000-8000-000000000001",
                "created": "2017-01-20T00:00:00Z", "definition_type": "statement",
                "definition": {"statement": "copyright"}}),
            json!({"type": "domain-name", "id": "domain-name--00000000-0000-4000-8000-000000000001",
                "value": "example.com"}),
        ],
    )
    .await;
    let r = s.get(&manifest_url(EMPTY)).await;
    let body = r.json();
    let records = body["objects"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_page(
        &r,
        records[0]["date_added"].as_str().unwrap(),
        records[2]["date_added"].as_str().unwrap(),
    );
    for rec in records {
        assert!(
            is_taxii_timestamp(rec["date_added"].as_str().unwrap()),
            "{rec}"
        );
        assert_eq!(rec.as_object().unwrap().len(), 4, "{rec}");
        assert_eq!(rec["media_type"], STIX21);
    }
    // modified, as written; created for the marking definition; the SCO's first date_added.
    assert_eq!(records[0]["version"], "2016-01-01T00:00:00.5Z");
    assert_eq!(records[1]["version"], "2017-01-20T00:00:00Z");
    assert_eq!(records[2]["version"], records[2]["date_added"]);
}

#[tokio::test]
async fn manifest_media_types_are_among_the_collection_media_types() {
    let s = TestServer::medallion();
    let c = s.get(&coll_url(RW)).await.json();
    let allowed: Vec<&str> = c["media_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let records = manifest_all(&s, RW).await;
    assert_eq!(records.len(), 9);
    let mut seen: Vec<&str> = Vec::new();
    for rec in &records {
        let m = rec["media_type"].as_str().unwrap();
        assert!(allowed.contains(&m), "{m} not in {allowed:?}");
        assert!(m == STIX20 || m == STIX21, "{m}");
        seen.push(m);
    }
    assert!(seen.contains(&STIX20) && seen.contains(&STIX21));
    // A server without configured media types: the default collection advertises every
    // version it accepts, and a STIX 2.0 object's record uses one of them.
    let s = TestServer::start(&[]);
    let st = s
        .post_objects(
            "/api1/collections/default/objects/",
            &json!({"objects": [{"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000001",
                "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
                "name": "x", "labels": ["trojan"]}]}),
        )
        .await;
    assert_eq!(st.status, 202);
    let c = s.get("/api1/collections/default/").await.json();
    let r = s.get("/api1/collections/default/manifest/").await;
    assert_eq!(r.json()["objects"][0]["media_type"], STIX20);
    assert!(
        c["media_types"]
            .as_array()
            .unwrap()
            .contains(&json!(STIX20)),
        "{c}"
    );
}

#[tokio::test]
async fn manifest_records_are_in_ascending_date_added_order() {
    let s = TestServer::medallion();
    // Add objects whose versions run backwards, in three requests.
    add_ok(&s, EMPTY, &[indicator(3, "2020-01-01T00:00:00.000Z")]).await;
    add_ok(
        &s,
        EMPTY,
        &[
            indicator(2, "2019-01-01T00:00:00.000Z"),
            indicator(1, "2018-01-01T00:00:00.000Z"),
        ],
    )
    .await;
    add_ok(&s, EMPTY, &[indicator(3, "2017-01-01T00:00:00.000Z")]).await;
    let r = s
        .get(&format!("{}?match[version]=all", manifest_url(EMPTY)))
        .await;
    let body = r.json();
    let records = body["objects"].as_array().unwrap();
    let got: Vec<(String, String)> = pairs(&body);
    assert_eq!(
        got,
        [
            (indicator_id(3), "2020-01-01T00:00:00.000Z"),
            (indicator_id(2), "2019-01-01T00:00:00.000Z"),
            (indicator_id(1), "2018-01-01T00:00:00.000Z"),
            (indicator_id(3), "2017-01-01T00:00:00.000Z"),
        ]
        .map(|(i, v)| (i, v.to_owned()))
    );
    let dates: Vec<&str> = records
        .iter()
        .map(|r| r["date_added"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
    assert_page(&r, dates[0], dates[3]);
    // The sample: repeated requests give the same order, ties included.
    let a = s
        .get(&format!("{}?match[version]=all", manifest_url(RW)))
        .await;
    let b = s
        .get(&format!("{}?match[version]=all", manifest_url(RW)))
        .await;
    assert_eq!(a.text, b.text);
}

#[tokio::test]
async fn manifest_filters_act_on_the_underlying_objects() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!("{}?match[type]=indicator", manifest_url(RW)))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [record(INDICATOR, IND_D3, IND_V3, STIX21)]})
    );
    let r = s
        .get(&format!(
            "{}?match[type]=marking-definition,x-acme-widget",
            manifest_url(RW)
        ))
        .await;
    assert_page(&r, MARKING_D, WIDGET_D);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [
            record(MARKING, MARKING_D, MARKING_V, STIX21),
            record(WIDGET, WIDGET_D, WIDGET_V, STIX21),
        ]})
    );
}

#[tokio::test]
async fn every_manifest_filter_is_honoured() {
    let s = TestServer::medallion();
    let get = |q: &'static str| {
        let s = &s;
        async move { s.get(&format!("{}?{q}", manifest_url(RW))).await }
    };
    // added_after: strictly after.
    let r = get("added_after=2017-01-20T00:00:00.000000Z").await;
    assert_page(&r, IND_D3, WIDGET_D);
    assert_eq!(r.json()["objects"], json!(default_manifest()[2..].to_vec()));
    // match[id]
    let r = get(
        "match[id]=relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463,ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
    )
    .await;
    assert_page(&r, REL_D, IPV4_D);
    assert_eq!(
        r.json()["objects"],
        json!([
            record(RELATIONSHIP, REL_D, REL_V, STIX21),
            record(IPV4, IPV4_D, IPV4_V, STIX21)
        ])
    );
    // match[version]=first
    let r = get("match[version]=first&match[type]=indicator").await;
    assert_page(&r, IND_D1, IND_D1);
    assert_eq!(
        r.json()["objects"],
        json!([record(INDICATOR, IND_D1, IND_V1, STIX21)])
    );
    // match[spec_version]
    let r = get("match[spec_version]=2.0").await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [record(MALWARE, IND_D3, MAL_V20, STIX20)]})
    );
    // limit and next
    let r = get("limit=4").await;
    assert_page(&r, REL_D, IND_D3);
    let body = r.json();
    assert_eq!(body["more"], true);
    assert_eq!(body["objects"], json!(default_manifest()[..4].to_vec()));
    let next = body["next"].as_str().unwrap().to_owned();
    let r = s
        .get(&format!("{}?limit=4&next={next}", manifest_url(RW)))
        .await;
    assert_page(&r, IPV4_D, WIDGET_D);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": default_manifest()[4..].to_vec()})
    );
}

#[tokio::test]
async fn a_manifest_matching_nothing_is_an_empty_object_without_page_headers() {
    let s = TestServer::medallion();
    assert_empty_page(&s.get(&manifest_url(EMPTY)).await);
    for q in [
        "match[type]=grouping",
        "added_after=2018-01-01T00:00:01.000000Z",
        "match[id]=indicator--00000000-0000-4000-8000-000000000000",
    ] {
        assert_empty_page(&s.get(&format!("{}?{q}", manifest_url(RW))).await);
    }
}

#[tokio::test]
async fn the_manifest_needs_read_permission() {
    let s = TestServer::medallion();
    s.get(&manifest_url(WRITE_ONLY)).await.assert_error(403);
    s.get(&manifest_url(NO_ACCESS)).await.assert_error(403);
    let r = s.get(&manifest_url(READ_ONLY)).await;
    assert_page(
        &r,
        "2016-12-27T13:49:53.000000Z",
        "2016-12-27T13:49:53.000000Z",
    );
}

#[tokio::test]
async fn the_manifest_without_valid_credentials_is_401() {
    let s = TestServer::medallion();
    assert_needs_credentials(&s, Method::GET, &manifest_url(RW)).await;
}

#[tokio::test]
async fn a_manifest_page_with_more_also_carries_next() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(2));
    let mut url = manifest_url(RW);
    let mut got = Vec::new();
    for _ in 0..10 {
        let r = s.get(&url).await;
        assert_eq!(r.status, 200);
        let body = r.json();
        got.extend(body["objects"].as_array().unwrap().iter().cloned());
        if body["more"] == true {
            let next = body["next"].as_str().expect("next with more: true");
            assert!(!next.is_empty());
            url = format!("{}?next={next}", manifest_url(RW));
        } else {
            assert_eq!(body.get("next"), None);
            break;
        }
    }
    assert_eq!(got, default_manifest());
}

#[tokio::test]
async fn a_malformed_manifest_filter_is_400() {
    let s = TestServer::medallion();
    for q in [
        "added_after=2016-13-01T00:00:00Z",
        "limit=-1",
        "match[version]=all,last",
        "match[spec_version]=2",
        "match[id]=a,,b",
        "added_after=2016-01-01T00:00:00Z&added_after=2017-01-01T00:00:00Z",
    ] {
        s.get(&format!("{}?{q}", manifest_url(RW)))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn manifest_and_objects_select_the_same_versions_for_the_same_filters() {
    let s = TestServer::medallion();
    for q in [
        "",
        "match[version]=all",
        "match[version]=first",
        "match[version]=first,last",
        "match[spec_version]=2.0",
        "match[spec_version]=2.0,2.1&match[version]=all",
        "match[spec_version]=2.0,2.1",
        "match[type]=indicator,malware&match[version]=all",
        "added_after=2016-12-01T00:00:00Z&match[version]=first",
        "match[version]=2016-12-25T12:30:59.444Z,2017-01-20T00:00:00Z",
        "limit=3",
    ] {
        let m = s.get(&format!("{}?{q}", manifest_url(RW))).await;
        let o = s.get(&format!("{}?{q}", objects_url(RW))).await;
        assert_eq!(m.status, 200);
        assert_eq!(o.status, 200);
        let (m, o) = (m.json(), o.json());
        let mp = pairs(&m);
        let op = pairs(&o);
        assert!(!mp.is_empty(), "{q}");
        assert_eq!(mp.len(), op.len(), "{q}");
        for ((mi, mv), (oi, ov)) in mp.iter().zip(&op) {
            assert_eq!(mi, oi, "{q}");
            // An SCO carries no version of its own; every other version must agree.
            if !ov.is_empty() {
                assert_eq!(mv, ov, "{q}");
            }
        }
        assert_eq!(m["more"], o["more"], "{q}");
    }
}
