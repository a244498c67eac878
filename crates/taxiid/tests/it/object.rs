//! Get an Object (`GET {r}collections/{c}/objects/{o}/`) and Delete an Object (`DELETE` on
//! the same URL): checklist OID and DEL, SORT-1 for this endpoint.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::*;

async fn delete(s: &TestServer, path: &str) -> Resp {
    Resp::from(s.req(Method::DELETE, path).send().await.unwrap()).await
}

/// A successful DELETE: 200, the TAXII content type, no body.
fn assert_deleted(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_t21(r);
    assert_eq!(r.text, "");
}

/// Stores three versions of indicator 1 in the empty collection; returns them with their
/// manifest records.
async fn three_versions(s: &TestServer) -> (Vec<Value>, Vec<Value>) {
    let v = vec![
        indicator(1, "2016-01-01T00:00:00.000Z"),
        indicator(1, "2017-01-01T00:00:00.000Z"),
        indicator(1, "2018-01-01T00:00:00.000Z"),
    ];
    add_ok(s, EMPTY, &v).await;
    (v, manifest_all(s, EMPTY).await)
}

fn date(m: &[Value], i: usize) -> &str {
    m[i]["date_added"].as_str().unwrap()
}

// ---------------------------------------------------------------------------------------------
// OID
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_an_object_returns_only_its_latest_version_by_default() {
    let s = TestServer::medallion();
    let r = s.get(&object_url(RW, INDICATOR)).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(INDICATOR, IND_V3)]})
    );
}

#[tokio::test]
async fn get_an_object_with_match_version_all_returns_every_version_in_date_added_order() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!("{}?match[version]=all", object_url(RW, INDICATOR)))
        .await;
    assert_page(&r, IND_D1, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [
            sample_object(INDICATOR, IND_V1),
            sample_object(INDICATOR, IND_V2),
            sample_object(INDICATOR, IND_V3),
        ]})
    );
    // Added out of version order: still listed by date_added.
    let v = [
        indicator(1, "2018-01-01T00:00:00.000Z"),
        indicator(1, "2016-01-01T00:00:00.000Z"),
        indicator(1, "2017-01-01T00:00:00.000Z"),
    ];
    add_ok(&s, EMPTY, &v).await;
    let m = manifest_all(&s, EMPTY).await;
    let r = s
        .get(&format!(
            "{}?match[version]=all",
            object_url(EMPTY, &indicator_id(1))
        ))
        .await;
    assert_page(&r, date(&m, 0), date(&m, 2));
    assert_eq!(r.json(), json!({"more": false, "objects": v}));
}

#[tokio::test]
async fn get_an_object_with_match_version_first_returns_the_smallest_modified() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!(
            "{}?match[version]=first",
            object_url(RW, INDICATOR)
        ))
        .await;
    assert_page(&r, IND_D1, IND_D1);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(INDICATOR, IND_V1)]})
    );
    // First by modified, not by arrival.
    add_ok(
        &s,
        EMPTY,
        &[
            indicator(1, "2018-01-01T00:00:00.000Z"),
            indicator(1, "2016-01-01T00:00:00.000Z"),
        ],
    )
    .await;
    let r = s
        .get(&format!(
            "{}?match[version]=first",
            object_url(EMPTY, &indicator_id(1))
        ))
        .await;
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [indicator(1, "2016-01-01T00:00:00.000Z")]})
    );
}

#[tokio::test]
async fn get_an_object_with_an_exact_version_returns_exactly_that_version() {
    let s = TestServer::medallion();
    // As stored, and written with another number of fractional digits.
    for v in [
        IND_V2,
        "2016-12-25T12:30:59.444000Z",
        "2016-12-25T12:30:59.444000000Z",
    ] {
        let r = s
            .get(&format!("{}?match[version]={v}", object_url(RW, INDICATOR)))
            .await;
        assert_page(&r, IND_D2, IND_D2);
        assert_eq!(
            r.json(),
            json!({"more": false, "objects": [sample_object(INDICATOR, IND_V2)]})
        );
    }
}

#[tokio::test]
async fn get_an_object_honours_match_spec_version() {
    let s = TestServer::medallion();
    let url = object_url(RW, MALWARE);
    let r = s.get(&url).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V21)]})
    );
    let r = s.get(&format!("{url}?match[spec_version]=2.0")).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V20)]})
    );
    let r = s
        .get(&format!(
            "{url}?match[spec_version]=2.0,2.1&match[version]=all"
        ))
        .await;
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V20), sample_object(MALWARE, MAL_V21)]})
    );
    // The latest across both spec versions is the 2.0 one (modified 2018).
    let r = s.get(&format!("{url}?match[spec_version]=2.0,2.1")).await;
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V20)]})
    );
}

#[tokio::test]
async fn added_after_limit_and_next_work_over_the_versions_of_one_object() {
    let s = TestServer::medallion();
    let url = format!("{}?match[version]=all", object_url(RW, INDICATOR));
    let r = s.get(&format!("{url}&added_after={IND_D1}")).await;
    assert_page(&r, IND_D2, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(INDICATOR, IND_V2), sample_object(INDICATOR, IND_V3)]})
    );
    let r = s.get(&format!("{url}&limit=2")).await;
    assert_page(&r, IND_D1, IND_D2);
    let body = r.json();
    assert_eq!(body["more"], true);
    assert_eq!(
        body["objects"],
        json!([
            sample_object(INDICATOR, IND_V1),
            sample_object(INDICATOR, IND_V2)
        ])
    );
    let next = body["next"].as_str().unwrap();
    let r = s.get(&format!("{url}&limit=2&next={next}")).await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(INDICATOR, IND_V3)]})
    );
}

#[tokio::test]
async fn get_an_object_that_the_collection_does_not_hold_is_404() {
    let s = TestServer::medallion();
    for id in [
        "indicator--00000000-0000-4000-8000-000000000000",
        "not-an-id",
    ] {
        s.get(&object_url(RW, id)).await.assert_error(404);
    }
}

#[tokio::test]
async fn a_known_object_whose_versions_are_all_filtered_out_is_404() {
    let s = TestServer::medallion();
    for q in [
        "match[version]=2000-01-01T00:00:00Z",
        "added_after=2017-01-27T13:49:59.997000Z",
        "match[spec_version]=2.0",
    ] {
        s.get(&format!("{}?{q}", object_url(RW, INDICATOR)))
            .await
            .assert_error(404);
    }
}

#[tokio::test]
async fn get_an_object_needs_read_permission_and_credentials() {
    let s = TestServer::medallion();
    s.get(&object_url(WRITE_ONLY, INDICATOR))
        .await
        .assert_error(403);
    s.get(&object_url(NO_ACCESS, SECRET_INDICATOR))
        .await
        .assert_error(403);
    assert_needs_credentials(&s, Method::GET, &object_url(RW, INDICATOR)).await;
}

#[tokio::test]
async fn match_id_and_match_type_are_ignored_by_get_an_object() {
    let s = TestServer::medallion();
    let plain = s.get(&object_url(RW, INDICATOR)).await;
    for q in [
        format!("match[id]={MALWARE}"),
        "match[type]=malware".to_owned(),
        format!("match[type]=malware&match[id]={MALWARE}"),
    ] {
        let r = s.get(&format!("{}?{q}", object_url(RW, INDICATOR))).await;
        assert_page(&r, IND_D3, IND_D3);
        assert_eq!(r.text, plain.text, "{q}");
    }
}

#[tokio::test]
async fn an_object_stored_only_in_another_collection_is_404_here() {
    let s = TestServer::medallion();
    s.get(&object_url(RW, RO_INDICATOR)).await.assert_error(404);
    s.get(&object_url(EMPTY, INDICATOR)).await.assert_error(404);
    let r = s.get(&object_url(READ_ONLY, RO_INDICATOR)).await;
    assert_page(
        &r,
        "2016-12-27T13:49:53.000000Z",
        "2016-12-27T13:49:53.000000Z",
    );
}

#[tokio::test]
async fn the_envelope_of_get_an_object_holds_only_that_object() {
    let s = TestServer::medallion();
    for id in [INDICATOR, MALWARE, MARKING, RELATIONSHIP, IPV4, WIDGET] {
        let r = s
            .get(&format!(
                "{}?match[version]=all&match[spec_version]=2.0,2.1",
                object_url(RW, id)
            ))
            .await;
        assert_eq!(r.status, 200);
        let got = ids(&r.json());
        assert!(!got.is_empty());
        assert!(got.iter().all(|i| i == id), "{id}: {got:?}");
    }
    // The relationship's refs name other objects; they are not pulled in.
    let r = s.get(&object_url(RW, RELATIONSHIP)).await;
    assert_page(&r, REL_D, REL_D);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(RELATIONSHIP, REL_V)]})
    );
}

// ---------------------------------------------------------------------------------------------
// DEL
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_with_read_and_write_rights_answers_200_without_a_body() {
    let s = TestServer::medallion();
    three_versions(&s).await;
    assert_deleted(&delete(&s, &object_url(EMPTY, &indicator_id(1))).await);
}

#[tokio::test]
async fn a_deleted_object_is_404_on_get_an_object() {
    let s = TestServer::medallion();
    assert_deleted(&delete(&s, &object_url(RW, INDICATOR)).await);
    for q in ["", "?match[version]=all", "?match[version]=first"] {
        s.get(&format!("{}{q}", object_url(RW, INDICATOR)))
            .await
            .assert_error(404);
    }
    // A deleted version asked for by value is 404 even while another version remains.
    let s = TestServer::medallion();
    assert_deleted(
        &delete(
            &s,
            &format!("{}?match[version]={IND_V2}", object_url(RW, INDICATOR)),
        )
        .await,
    );
    s.get(&format!(
        "{}?match[version]={IND_V2}",
        object_url(RW, INDICATOR)
    ))
    .await
    .assert_error(404);
    let r = s.get(&object_url(RW, INDICATOR)).await;
    assert_page(&r, IND_D3, IND_D3);
}

#[tokio::test]
async fn deleted_versions_leave_the_manifest_and_objects_listings() {
    let s = TestServer::medallion();
    assert_deleted(&delete(&s, &object_url(RW, INDICATOR)).await);
    let all = "?match[version]=all&match[spec_version]=2.0,2.1";
    let m = s.get(&format!("{}{all}", manifest_url(RW))).await;
    assert_page(&m, REL_D, WIDGET_D);
    assert_eq!(
        m.json(),
        json!({"more": false, "objects": [
            record(RELATIONSHIP, REL_D, REL_V, STIX21),
            record(MARKING, MARKING_D, MARKING_V, STIX21),
            record(MALWARE, IND_D3, MAL_V20, STIX20),
            record(MALWARE, IND_D3, MAL_V21, STIX21),
            record(IPV4, IPV4_D, IPV4_V, STIX21),
            record(WIDGET, WIDGET_D, WIDGET_V, STIX21),
        ]})
    );
    let o = s.get(&format!("{}{all}", objects_url(RW))).await;
    assert_page(&o, REL_D, WIDGET_D);
    assert!(!ids(&o.json()).contains(&INDICATOR.to_owned()));
    assert_empty_page(
        &s.get(&format!("{}?match[type]=indicator", objects_url(RW)))
            .await,
    );
}

#[tokio::test]
async fn delete_without_match_version_removes_every_version() {
    let s = TestServer::medallion();
    let (_, m) = three_versions(&s).await;
    assert_eq!(m.len(), 3);
    let id = indicator_id(1);
    assert_deleted(&delete(&s, &object_url(EMPTY, &id)).await);
    s.get(&versions_url(EMPTY, &id)).await.assert_error(404);
    s.get(&object_url(EMPTY, &id)).await.assert_error(404);
    assert_empty_page(
        &s.get(&format!("{}?match[version]=all", manifest_url(EMPTY)))
            .await,
    );
    // Both spec versions of the sample malware go too.
    assert_deleted(&delete(&s, &object_url(RW, MALWARE)).await);
    s.get(&format!(
        "{}?match[spec_version]=2.0",
        object_url(RW, MALWARE)
    ))
    .await
    .assert_error(404);
    s.get(&versions_url(RW, MALWARE)).await.assert_error(404);
}

#[tokio::test]
async fn delete_with_an_exact_version_removes_only_that_version() {
    let s = TestServer::medallion();
    let (v, m) = three_versions(&s).await;
    let id = indicator_id(1);
    assert_deleted(
        &delete(
            &s,
            &format!(
                "{}?match[version]=2017-01-01T00:00:00Z",
                object_url(EMPTY, &id)
            ),
        )
        .await,
    );
    let r = s
        .get(&format!("{}?match[version]=all", object_url(EMPTY, &id)))
        .await;
    assert_page(&r, date(&m, 0), date(&m, 2));
    assert_eq!(r.json(), json!({"more": false, "objects": [v[0], v[2]]}));
    let r = s.get(&versions_url(EMPTY, &id)).await;
    assert_eq!(
        r.json(),
        json!({"more": false, "versions": ["2016-01-01T00:00:00.000Z", "2018-01-01T00:00:00.000Z"]})
    );
    // The same version again: nothing left to delete.
    delete(
        &s,
        &format!(
            "{}?match[version]=2017-01-01T00:00:00.000Z",
            object_url(EMPTY, &id)
        ),
    )
    .await
    .assert_error(404);
}

#[tokio::test]
async fn delete_with_first_or_last_removes_the_earliest_or_latest_version() {
    let s = TestServer::medallion();
    // Added out of version order, so first/last differ from first/last added.
    let v = [
        indicator(1, "2017-01-01T00:00:00.000Z"),
        indicator(1, "2018-01-01T00:00:00.000Z"),
        indicator(1, "2016-01-01T00:00:00.000Z"),
        indicator(1, "2019-01-01T00:00:00.000Z"),
    ];
    add_ok(&s, EMPTY, &v).await;
    let id = indicator_id(1);
    assert_deleted(
        &delete(
            &s,
            &format!("{}?match[version]=first", object_url(EMPTY, &id)),
        )
        .await,
    );
    assert_eq!(
        s.get(&versions_url(EMPTY, &id)).await.json()["versions"].clone(),
        json!([
            "2017-01-01T00:00:00.000Z",
            "2018-01-01T00:00:00.000Z",
            "2019-01-01T00:00:00.000Z"
        ])
    );
    assert_deleted(
        &delete(
            &s,
            &format!("{}?match[version]=last", object_url(EMPTY, &id)),
        )
        .await,
    );
    assert_eq!(
        s.get(&versions_url(EMPTY, &id)).await.json()["versions"].clone(),
        json!(["2017-01-01T00:00:00.000Z", "2018-01-01T00:00:00.000Z"])
    );
    assert_deleted(
        &delete(
            &s,
            &format!("{}?match[version]=first,last", object_url(EMPTY, &id)),
        )
        .await,
    );
    s.get(&versions_url(EMPTY, &id)).await.assert_error(404);
}

#[tokio::test]
async fn delete_with_match_spec_version_removes_only_that_representation() {
    let s = TestServer::medallion();
    assert_deleted(
        &delete(
            &s,
            &format!("{}?match[spec_version]=2.0", object_url(RW, MALWARE)),
        )
        .await,
    );
    s.get(&format!(
        "{}?match[spec_version]=2.0",
        object_url(RW, MALWARE)
    ))
    .await
    .assert_error(404);
    let r = s
        .get(&format!(
            "{}?match[spec_version]=2.0,2.1&match[version]=all",
            object_url(RW, MALWARE)
        ))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V21)]})
    );
    // Nothing of that spec version is left.
    delete(
        &s,
        &format!("{}?match[spec_version]=2.0", object_url(RW, MALWARE)),
    )
    .await
    .assert_error(404);
}

#[tokio::test]
async fn delete_without_read_or_write_follows_the_permission_table() {
    let s = TestServer::medallion();
    // Neither right: 404.
    delete(&s, &object_url(NO_ACCESS, SECRET_INDICATOR))
        .await
        .assert_error(404);
    // Read only: 403.
    delete(&s, &object_url(READ_ONLY, RO_INDICATOR))
        .await
        .assert_error(403);
    // Write only: 403.
    delete(&s, &object_url(WRITE_ONLY, INDICATOR))
        .await
        .assert_error(403);
    let r = s.get(&object_url(READ_ONLY, RO_INDICATOR)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn delete_without_valid_credentials_is_401_and_deletes_nothing() {
    let s = TestServer::medallion();
    assert_needs_credentials(&s, Method::DELETE, &object_url(RW, INDICATOR)).await;
    let r = s.get(&object_url(RW, INDICATOR)).await;
    assert_page(&r, IND_D3, IND_D3);
}

#[tokio::test]
async fn deleting_an_id_the_collection_does_not_hold_is_404() {
    let s = TestServer::medallion();
    delete(
        &s,
        &object_url(RW, "indicator--00000000-0000-4000-8000-000000000000"),
    )
    .await
    .assert_error(404);
    delete(&s, &object_url(EMPTY, INDICATOR))
        .await
        .assert_error(404);
    delete(&s, &object_url(RW, RO_INDICATOR))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn deleting_from_one_collection_keeps_the_object_in_another() {
    let s = TestServer::medallion();
    let obj = indicator(1, "2020-01-01T00:00:00.000Z");
    add_ok(&s, EMPTY, std::slice::from_ref(&obj)).await;
    add_ok(&s, RW, std::slice::from_ref(&obj)).await;
    assert_deleted(&delete(&s, &object_url(EMPTY, &indicator_id(1))).await);
    s.get(&object_url(EMPTY, &indicator_id(1)))
        .await
        .assert_error(404);
    let r = s.get(&object_url(RW, &indicator_id(1))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"more": false, "objects": [obj]}));
}

#[tokio::test]
async fn a_malformed_match_version_on_delete_is_400_and_deletes_nothing() {
    let s = TestServer::medallion();
    for q in [
        "match[version]=newest",
        "match[version]=all,last",
        "match[version]=last,last",
        "match[version]=",
        "match[spec_version]=two",
        "match[version]=2016-13-01T00:00:00Z",
    ] {
        delete(&s, &format!("{}?{q}", object_url(RW, INDICATOR)))
            .await
            .assert_error(400);
    }
    let r = s
        .get(&format!("{}?match[version]=all", object_url(RW, INDICATOR)))
        .await;
    assert_page(&r, IND_D1, IND_D3);
    assert_eq!(ids(&r.json()).len(), 3);
}
