//! Filtering (TAXII 2.1 §3.4): checklist FILT, on the objects and manifest endpoints of the
//! sample's read-write collection unless a row needs its own fixture.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::*;

async fn objects(s: &TestServer, q: &str) -> Resp {
    s.get(&format!("{}?{q}", objects_url(RW))).await
}

async fn manifest(s: &TestServer, q: &str) -> Resp {
    s.get(&format!("{}?{q}", manifest_url(RW))).await
}

fn envelope(objects: &[Value]) -> Value {
    json!({"more": false, "objects": objects})
}

#[tokio::test]
async fn without_parameters_every_object_comes_in_its_latest_version_and_spec_version() {
    let s = TestServer::medallion();
    let r = s.get(&objects_url(RW)).await;
    assert_page(&r, REL_D, WIDGET_D);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(RELATIONSHIP, REL_V),
            sample_object(MARKING, MARKING_V),
            sample_object(INDICATOR, IND_V3),
            sample_object(MALWARE, MAL_V21),
            sample_object(IPV4, IPV4_V),
            sample_object(WIDGET, WIDGET_V),
        ])
    );
}

#[tokio::test]
async fn added_after_keeps_only_records_added_strictly_later() {
    let s = TestServer::medallion();
    // Exactly the marking's date_added: the marking is excluded.
    let r = objects(&s, &format!("added_after={MARKING_D}")).await;
    assert_page(&r, IND_D3, WIDGET_D);
    assert_eq!(ids(&r.json()), [INDICATOR, MALWARE, IPV4, WIDGET]);
    // One microsecond earlier: included.
    let r = objects(&s, "added_after=2017-01-19T23:59:59.999999Z").await;
    assert_page(&r, MARKING_D, WIDGET_D);
    assert_eq!(ids(&r.json()), [MARKING, INDICATOR, MALWARE, IPV4, WIDGET]);
    // The other timestamps inside the objects play no part: the relationship was created in
    // 2014 and added in 2014; the widget was created in 2018 just before it was added.
    let r = manifest(&s, "added_after=2018-01-01T00:00:00.5Z").await;
    assert_page(&r, WIDGET_D, WIDGET_D);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [record(WIDGET, WIDGET_D, WIDGET_V, STIX21)]})
    );
}

#[tokio::test]
async fn two_added_after_parameters_are_400() {
    let s = TestServer::medallion();
    let q = "added_after=2016-01-01T00:00:00Z&added_after=2017-01-01T00:00:00Z";
    objects(&s, q).await.assert_error(400);
    manifest(&s, q).await.assert_error(400);
    // Even when both are the same value.
    objects(
        &s,
        "added_after=2016-01-01T00:00:00Z&added_after=2016-01-01T00:00:00Z",
    )
    .await
    .assert_error(400);
}

#[tokio::test]
async fn a_limit_that_is_not_a_positive_integer_is_400() {
    let s = TestServer::medallion();
    for bad in ["0", "-1", "abc", "1.5", "", "1e2", "%201"] {
        objects(&s, &format!("limit={bad}")).await.assert_error(400);
        manifest(&s, &format!("limit={bad}"))
            .await
            .assert_error(400);
        s.get(&format!("{}?limit={bad}", versions_url(RW, INDICATOR)))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn limit_n_never_returns_more_than_n_records() {
    let s = TestServer::medallion();
    for n in 1..=10 {
        for q in [
            format!("limit={n}"),
            format!("limit={n}&match[version]=all"),
        ] {
            let r = objects(&s, &q).await;
            let body = r.json();
            let got = body["objects"].as_array().unwrap().len();
            assert!(got <= n, "{q}: {got}");
            let total = if q.contains("all") { 8 } else { 6 };
            assert_eq!(got, n.min(total), "{q}");
            assert_eq!(body["more"], n < total, "{q}");
        }
    }
}

#[tokio::test]
async fn match_id_with_two_ids_returns_those_objects_only() {
    let s = TestServer::medallion();
    let r = objects(&s, &format!("match[id]={INDICATOR},{IPV4}")).await;
    assert_page(&r, IND_D3, IPV4_D);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(INDICATOR, IND_V3),
            sample_object(IPV4, IPV4_V)
        ])
    );
}

#[tokio::test]
async fn match_type_with_two_types_returns_only_those_types() {
    let s = TestServer::medallion();
    let r = objects(&s, "match[type]=indicator,malware").await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(INDICATOR, IND_V3),
            sample_object(MALWARE, MAL_V21)
        ])
    );
}

#[tokio::test]
async fn different_match_fields_are_combined_with_and() {
    let s = TestServer::medallion();
    let r = objects(&s, &format!("match[type]=indicator&match[id]={INDICATOR}")).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(r.json(), envelope(&[sample_object(INDICATOR, IND_V3)]));
    assert_empty_page(&objects(&s, &format!("match[type]=malware&match[id]={INDICATOR}")).await);
    let r = objects(
        &s,
        &format!("match[type]=indicator,malware&match[id]={MALWARE},{IPV4}&match[version]=first"),
    )
    .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(r.json(), envelope(&[sample_object(MALWARE, MAL_V21)]));
}

#[tokio::test]
async fn a_repeated_match_field_is_400() {
    let s = TestServer::medallion();
    for q in [
        "match[type]=indicator&match[type]=malware",
        "match[type]=indicator&match[type]=indicator",
        "match[id]=a&match[id]=b",
        "match[version]=all&match[version]=last",
        "match[spec_version]=2.0&match[spec_version]=2.1",
        "limit=1&limit=2",
        // The same field spelt plainly and percent-encoded is still the same field.
        "match[type]=indicator&match%5Btype%5D=malware",
    ] {
        objects(&s, q).await.assert_error(400);
        manifest(&s, q).await.assert_error(400);
    }
}

#[tokio::test]
async fn every_stix_2_1_type_name_is_a_valid_match_type() {
    let s = TestServer::medallion();
    for t in [
        "attack-pattern",
        "campaign",
        "course-of-action",
        "grouping",
        "identity",
        "incident",
        "infrastructure",
        "intrusion-set",
        "location",
        "malware-analysis",
        "note",
        "observed-data",
        "opinion",
        "report",
        "threat-actor",
        "tool",
        "vulnerability",
        "sighting",
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
        "language-content",
        "extension-definition",
    ] {
        assert_empty_page(&objects(&s, &format!("match[type]={t}")).await);
        assert_empty_page(&manifest(&s, &format!("match[type]={t}")).await);
    }
    // And those the collection holds are found.
    for (t, id, v, d) in [
        ("relationship", RELATIONSHIP, REL_V, REL_D),
        ("marking-definition", MARKING, MARKING_V, MARKING_D),
        ("ipv4-addr", IPV4, IPV4_V, IPV4_D),
    ] {
        let r = objects(&s, &format!("match[type]={t}")).await;
        assert_page(&r, d, d);
        assert_eq!(r.json(), envelope(&[sample_object(id, v)]));
    }
}

#[tokio::test]
async fn a_custom_type_in_match_type_is_served_like_any_other_type() {
    let s = TestServer::medallion();
    let r = objects(&s, "match[type]=x-acme-widget").await;
    assert_page(&r, WIDGET_D, WIDGET_D);
    assert_eq!(r.json(), envelope(&[sample_object(WIDGET, WIDGET_V)]));
    assert_empty_page(&objects(&s, "match[type]=x-acme-other").await);
}

#[tokio::test]
async fn match_version_last_first_returns_both_versions_once() {
    let s = TestServer::medallion();
    let r = objects(&s, "match[version]=last,first&match[type]=indicator").await;
    assert_page(&r, IND_D1, IND_D3);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(INDICATOR, IND_V1),
            sample_object(INDICATOR, IND_V3)
        ])
    );
    // A single-version object is listed once, not twice.
    for q in [
        "match[version]=first,last&match[type]=marking-definition",
        "match[version]=first,last,2017-01-20T00:00:00.000Z&match[type]=marking-definition",
    ] {
        let r = objects(&s, q).await;
        assert_page(&r, MARKING_D, MARKING_D);
        assert_eq!(r.json(), envelope(&[sample_object(MARKING, MARKING_V)]));
    }
}

#[tokio::test]
async fn match_version_all_returns_every_version() {
    let s = TestServer::medallion();
    let r = objects(&s, "match[version]=all").await;
    assert_page(&r, REL_D, WIDGET_D);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(RELATIONSHIP, REL_V),
            sample_object(INDICATOR, IND_V1),
            sample_object(INDICATOR, IND_V2),
            sample_object(MARKING, MARKING_V),
            sample_object(INDICATOR, IND_V3),
            sample_object(MALWARE, MAL_V21),
            sample_object(IPV4, IPV4_V),
            sample_object(WIDGET, WIDGET_V),
        ])
    );
}

#[tokio::test]
async fn all_combined_with_anything_else_is_400() {
    let s = TestServer::medallion();
    for v in [
        "all,last",
        "first,all",
        "all,2016-11-03T12:30:59.000Z",
        "all,all",
    ] {
        objects(&s, &format!("match[version]={v}"))
            .await
            .assert_error(400);
        manifest(&s, &format!("match[version]={v}"))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn a_repeated_keyword_or_version_inside_match_version_is_400() {
    let s = TestServer::medallion();
    for v in [
        "last,last",
        "first,first",
        "first,last,first",
        "2016-11-03T12:30:59.000Z,2016-11-03T12:30:59.000Z",
        // The same instant written twice differently is the same value.
        "2016-11-03T12:30:59.000Z,2016-11-03T12:30:59Z",
    ] {
        objects(&s, &format!("match[version]={v}"))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn two_exact_versions_return_both_versions() {
    let s = TestServer::medallion();
    let r = objects(&s, &format!("match[version]={IND_V1},{IND_V3}")).await;
    assert_page(&r, IND_D1, IND_D3);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(INDICATOR, IND_V1),
            sample_object(INDICATOR, IND_V3)
        ])
    );
    let r = manifest(&s, &format!("match[version]={IND_V1},{IND_V2},last")).await;
    assert_page(&r, REL_D, WIDGET_D);
    let got = pairs(&r.json());
    assert_eq!(got.len(), 8, "{got:?}");
    assert_eq!(got[1], (INDICATOR.to_owned(), IND_V1.to_owned()));
    assert_eq!(got[2], (INDICATOR.to_owned(), IND_V2.to_owned()));
    assert_eq!(got[4], (INDICATOR.to_owned(), IND_V3.to_owned()));
}

#[tokio::test]
async fn a_match_version_item_that_is_neither_keyword_nor_timestamp_is_400() {
    let s = TestServer::medallion();
    for v in [
        "latest",
        "LAST",
        "2016-11-03",
        "2016-11-03T12:30:59.000",
        "2016-13-03T12:30:59.000Z",
        "2016-11-03T12:30:59.0000000000Z",
        "last,yesterday",
    ] {
        objects(&s, &format!("match[version]={v}"))
            .await
            .assert_error(400);
        manifest(&s, &format!("match[version]={v}"))
            .await
            .assert_error(400);
        s.get(&format!("{}?match[version]={v}", object_url(RW, INDICATOR)))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn a_marking_definition_is_matched_by_its_created_timestamp() {
    let s = TestServer::medallion();
    for v in [
        MARKING_V,
        "2017-01-20T00:00:00Z",
        "2017-01-20T00:00:00.000000Z",
    ] {
        let r = objects(&s, &format!("match[version]={v}")).await;
        assert_page(&r, MARKING_D, MARKING_D);
        assert_eq!(r.json(), envelope(&[sample_object(MARKING, MARKING_V)]));
        let r = manifest(&s, &format!("match[version]={v}")).await;
        assert_eq!(
            r.json(),
            json!({"more": false, "objects": [record(MARKING, MARKING_D, MARKING_V, STIX21)]})
        );
    }
}

#[tokio::test]
async fn match_spec_version_selects_stix_2_0_2_1_or_both() {
    let s = TestServer::medallion();
    let r = objects(&s, "match[spec_version]=2.0").await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(r.json(), envelope(&[sample_object(MALWARE, MAL_V20)]));
    let r = objects(&s, "match[spec_version]=2.1&match[type]=malware").await;
    assert_eq!(r.json(), envelope(&[sample_object(MALWARE, MAL_V21)]));
    let r = objects(
        &s,
        "match[spec_version]=2.0,2.1&match[type]=malware&match[version]=all",
    )
    .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        envelope(&[
            sample_object(MALWARE, MAL_V20),
            sample_object(MALWARE, MAL_V21)
        ])
    );
    let r = manifest(&s, "match[spec_version]=2.1").await;
    let body = r.json();
    let records = body["objects"].as_array().unwrap();
    assert_eq!(records.len(), 6);
    assert!(records.iter().all(|m| m["media_type"] == STIX21));
}

#[tokio::test]
async fn an_unknown_match_field_is_ignored() {
    let s = TestServer::medallion();
    let plain = s.get(&objects_url(RW)).await;
    for q in [
        "match[foo]=bar",
        "match[created_by_ref]=identity--x",
        "foo=bar",
    ] {
        let r = objects(&s, q).await;
        assert_page(&r, REL_D, WIDGET_D);
        assert_eq!(r.text, plain.text, "{q}");
    }
}

#[tokio::test]
async fn spaces_around_list_items_are_tolerated_and_empty_items_are_400() {
    let s = TestServer::medallion();
    let plain = objects(&s, "match[type]=indicator,malware").await;
    for q in [
        "match[type]=indicator,%20malware",
        "match[type]=indicator%20,malware",
        "match[type]=indicator,+malware",
    ] {
        let r = objects(&s, q).await;
        assert_page(&r, IND_D3, IND_D3);
        assert_eq!(r.text, plain.text, "{q}");
    }
    for q in [
        "match[type]=indicator,,malware",
        "match[type]=indicator,",
        "match[type]=,indicator",
        "match[type]=",
        "match[id]=",
        "match[version]=",
        "match[spec_version]=",
        "match[version]=first,%20,last",
        "added_after=",
    ] {
        objects(&s, q).await.assert_error(400);
    }
}

#[tokio::test]
async fn percent_encoded_names_and_values_behave_like_plain_ones() {
    let s = TestServer::medallion();
    for (plain, encoded) in [
        (
            "match[type]=indicator,malware".to_owned(),
            "match%5Btype%5D=indicator%2Cmalware".to_owned(),
        ),
        (
            format!("added_after={MARKING_D}"),
            "added_after=2017-01-20T00%3A00%3A00.000000Z".to_owned(),
        ),
        (
            format!("match[version]={IND_V1},last"),
            "match%5Bversion%5D=2016-11-03T12%3A30%3A59.000Z%2Clast".to_owned(),
        ),
        (
            "match[spec_version]=2.0".to_owned(),
            "match%5Bspec%5Fversion%5D=2%2E0".to_owned(),
        ),
        (
            format!("match[id]={IPV4}"),
            "match%5Bid%5D=ipv4%2Daddr--ff26c055-6336-5bc5-b98d-13d6226742dd".to_owned(),
        ),
    ] {
        let a = objects(&s, &plain).await;
        let b = objects(&s, &encoded).await;
        assert_eq!(a.status, 200, "{plain}");
        assert!(a.json()["objects"].is_array(), "{plain}");
        assert_eq!(a.text, b.text, "{plain} vs {encoded}");
        assert_eq!(
            a.header("x-taxii-date-added-first"),
            b.header("x-taxii-date-added-first")
        );
        assert_eq!(
            a.header("x-taxii-date-added-last"),
            b.header("x-taxii-date-added-last")
        );
    }
}

#[tokio::test]
async fn added_after_applies_before_first_and_last_are_chosen() {
    let s = TestServer::medallion();
    // v1 was added before the boundary, so the first version added after it is v2.
    let r = objects(
        &s,
        &format!("match[version]=first&match[type]=indicator&added_after={IND_D1}"),
    )
    .await;
    assert_page(&r, IND_D2, IND_D2);
    assert_eq!(r.json(), envelope(&[sample_object(INDICATOR, IND_V2)]));
    let r = s
        .get(&format!(
            "{}?match[version]=first&added_after={IND_D1}",
            object_url(RW, INDICATOR)
        ))
        .await;
    assert_page(&r, IND_D2, IND_D2);
    assert_eq!(r.json(), envelope(&[sample_object(INDICATOR, IND_V2)]));
}

#[tokio::test]
async fn last_means_the_greatest_modified_not_the_most_recently_added() {
    let s = TestServer::medallion();
    let newest = indicator(1, "2020-01-01T00:00:00.000Z");
    let oldest = indicator(1, "2010-01-01T00:00:00.000Z");
    let middle = indicator(1, "2015-01-01T00:00:00.000Z");
    add_ok(&s, EMPTY, std::slice::from_ref(&newest)).await;
    add_ok(&s, EMPTY, &[oldest.clone(), middle]).await;
    let m = manifest_all(&s, EMPTY).await;
    for q in ["", "?match[version]=last"] {
        let r = s.get(&format!("{}{q}", objects_url(EMPTY))).await;
        assert_envelope_page(&r, &m);
        assert_eq!(r.json(), envelope(std::slice::from_ref(&newest)));
    }
    let r = s
        .get(&format!("{}?match[version]=first", objects_url(EMPTY)))
        .await;
    assert_eq!(r.json(), envelope(std::slice::from_ref(&oldest)));
    // The page headers are those of the version served (added first), not of the last added.
    assert_page(
        &r,
        m[1]["date_added"].as_str().unwrap(),
        m[1]["date_added"].as_str().unwrap(),
    );
}

#[tokio::test]
async fn a_match_spec_version_item_not_of_the_form_major_minor_is_400() {
    let s = TestServer::medallion();
    for v in [
        "2", "two", "2.1.1", "2.", ".1", "v2.1", "2.x", "2.0,", "2.0,,2.1",
    ] {
        objects(&s, &format!("match[spec_version]={v}"))
            .await
            .assert_error(400);
        manifest(&s, &format!("match[spec_version]={v}"))
            .await
            .assert_error(400);
        s.get(&format!(
            "{}?match[spec_version]={v}",
            versions_url(RW, INDICATOR)
        ))
        .await
        .assert_error(400);
    }
}

#[tokio::test]
async fn filter_results_are_the_same_with_or_without_pagination() {
    let s = TestServer::medallion();
    for q in [
        "",
        "match[version]=all",
        "match[version]=first,last",
        "match[spec_version]=2.0,2.1&match[version]=all",
        "match[type]=indicator,malware,x-acme-widget&match[version]=all",
        "added_after=2016-12-01T00:00:00Z",
        "added_after=2016-12-01T00:00:00Z&match[version]=first",
        "match[id]=indicator--6770298f-0fd8-471a-ab8c-1c658a46574e&match[version]=all",
    ] {
        for url in [objects_url(RW), manifest_url(RW)] {
            let whole = s.get(&format!("{url}?{q}")).await.json();
            let whole = whole["objects"].as_array().unwrap().clone();
            let mut paged = Vec::new();
            let mut next: Option<String> = None;
            for _ in 0..20 {
                let page_url = match &next {
                    Some(n) => format!("{url}?{q}&limit=1&next={n}"),
                    None => format!("{url}?{q}&limit=1"),
                };
                let r = s.get(&page_url).await;
                assert_eq!(r.status, 200, "{page_url}: {}", r.text);
                let body = r.json();
                paged.extend(body["objects"].as_array().cloned().unwrap_or_default());
                if body["more"] == true {
                    next = Some(body["next"].as_str().unwrap().to_owned());
                } else {
                    break;
                }
            }
            assert_eq!(paged, whole, "{url}?{q}");
        }
    }
}
