//! Status resources (STAT).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::general::{
    Kind, check_resource, coll, envelope, get_accept, indicator, is_taxii_timestamp, is_uuid_v4,
    one_root, serve,
};
use crate::helpers::*;

const SCO_ID: &str = "ipv4-addr--00000000-0000-4000-8000-0000000000a1";
const MARKING_ID: &str = "marking-definition--00000000-0000-4000-8000-0000000000b1";

/// An envelope of an indicator, a marking definition, an SCO and an invalid object.
fn mixed() -> Value {
    envelope(&[
        indicator(1, "2020-02-02T02:02:02.123Z"),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": MARKING_ID,
               "created": "2019-01-01T00:00:00.000Z", "definition_type": "statement",
               "definition": {"statement": "Copyright ACME"}}),
        json!({"type": "ipv4-addr", "spec_version": "2.1", "id": SCO_ID, "value": "10.1.1.1"}),
        // Its id prefix is not its type: a per-object failure.
        json!({"type": "indicator", "spec_version": "2.1", "id": "malware--00000000-0000-4000-8000-0000000000c1",
               "created": "2020-01-01T00:00:00.000Z", "modified": "2020-03-03T03:03:03.000Z"}),
    ])
}

async fn add_mixed(s: &TestServer) -> (Value, Resp) {
    let r = s
        .post_objects(&format!("{}objects/", coll(EMPTY)), &mixed())
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T21));
    let posted = r.json();
    let id = posted["id"].as_str().unwrap().to_owned();
    let got = s.get(&format!("{ROOT}status/{id}/")).await;
    (posted, got)
}

fn entry<'a>(status: &'a Value, list: &str, id: &str) -> &'a Value {
    status[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {status}"))
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}: {status}"))
}

#[tokio::test]
async fn the_status_of_an_add_has_id_status_and_the_four_counts() {
    let s = TestServer::medallion();
    let (_, got) = add_mixed(&s).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some(T21));
    let v = got.json();
    check_resource(Kind::Status, &v);
    for k in [
        "id",
        "status",
        "total_count",
        "success_count",
        "failure_count",
        "pending_count",
    ] {
        assert!(v.get(k).is_some(), "{k}: {v}");
    }
    assert_eq!(v["total_count"], 4);
    assert_eq!(v["success_count"], 3);
    assert_eq!(v["failure_count"], 1);
    assert_eq!(v["pending_count"], 0);
}

#[tokio::test]
async fn status_is_complete_or_pending() {
    let s = TestServer::medallion();
    let (posted, got) = add_mixed(&s).await;
    assert_eq!(posted["status"], "complete");
    assert_eq!(got.json()["status"], "complete");
    // The loaded sample status is pending and stays so.
    let v = s
        .get(&format!(
            "{ROOT}status/2d086da7-4bdc-4f91-900e-d77486753710/"
        ))
        .await
        .json();
    assert_eq!(v["status"], "pending");
}

#[tokio::test]
async fn the_counts_are_non_negative_integers_that_add_up_to_the_total() {
    let s = TestServer::medallion();
    let cases = [
        mixed(),
        envelope(&[indicator(9, "2020-01-01T00:00:00.000Z")]),
        // All duplicates of what was just posted, and one failure.
        envelope(&[
            indicator(9, "2020-01-01T00:00:00.000Z"),
            json!({"type": "x"}),
        ]),
    ];
    for env in cases {
        let r = s
            .post_objects(&format!("{}objects/", coll(EMPTY)), &env)
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        for v in [
            r.json(),
            s.get(&format!(
                "{ROOT}status/{}/",
                r.json()["id"].as_str().unwrap()
            ))
            .await
            .json(),
        ] {
            let n = |k: &str| {
                v[k].as_u64()
                    .unwrap_or_else(|| panic!("{k} is not a non-negative integer: {v}"))
            };
            assert_eq!(
                n("success_count") + n("failure_count") + n("pending_count"),
                n("total_count"),
                "{v}"
            );
            assert_eq!(
                n("total_count"),
                env["objects"].as_array().unwrap().len() as u64
            );
        }
    }
}

#[tokio::test]
async fn each_detail_list_is_as_long_as_its_count() {
    let s = TestServer::medallion();
    let (_, got) = add_mixed(&s).await;
    let v = got.json();
    for (list, count) in [
        ("successes", "success_count"),
        ("failures", "failure_count"),
        ("pendings", "pending_count"),
    ] {
        let len = v.get(list).map_or(0, |l| l.as_array().unwrap().len());
        assert_eq!(len as u64, v[count].as_u64().unwrap(), "{list}: {v}");
    }
}

#[tokio::test]
async fn each_detail_names_the_posted_object_and_a_version() {
    let s = TestServer::medallion();
    let (_, got) = add_mixed(&s).await;
    let v = got.json();
    let posted: Vec<Value> = mixed()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    for list in ["successes", "failures"] {
        for d in v[list].as_array().unwrap() {
            assert!(posted.contains(&d["id"]), "{d}");
            assert!(d["version"].as_str().is_some_and(|x| !x.is_empty()), "{d}");
        }
    }
}

#[tokio::test]
async fn the_detail_version_is_modified_else_created_else_the_stable_sco_version() {
    let s = TestServer::medallion();
    let (_, got) = add_mixed(&s).await;
    let v = got.json();
    assert_eq!(
        entry(
            &v,
            "successes",
            "indicator--00000001-0000-4000-8000-000000000000"
        )["version"],
        "2020-02-02T02:02:02.123Z"
    );
    assert_eq!(
        entry(&v, "successes", MARKING_ID)["version"],
        "2019-01-01T00:00:00.000Z"
    );
    assert_eq!(
        entry(
            &v,
            "failures",
            "malware--00000000-0000-4000-8000-0000000000c1"
        )["version"],
        "2020-03-03T03:03:03.000Z"
    );
    let sco_version = entry(&v, "successes", SCO_ID)["version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(is_taxii_timestamp(&sco_version), "{sco_version}");
    // The SCO's version is its first date_added, and stays the same on a re-post.
    let m = s
        .get(&format!("{}manifest/?match[id]={SCO_ID}", coll(EMPTY)))
        .await
        .json();
    assert_eq!(m["objects"][0]["version"], sco_version.as_str());
    assert_eq!(m["objects"][0]["date_added"], sco_version.as_str());
    let again = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[json!({"type": "ipv4-addr", "spec_version": "2.1", "id": SCO_ID, "value": "10.1.1.1"})]),
        )
        .await
        .json();
    assert_eq!(
        entry(&again, "successes", SCO_ID)["version"],
        sco_version.as_str()
    );
}

#[tokio::test]
async fn failures_and_repeats_carry_a_message() {
    let s = TestServer::medallion();
    let (_, got) = add_mixed(&s).await;
    let v = got.json();
    let failure = entry(
        &v,
        "failures",
        "malware--00000000-0000-4000-8000-0000000000c1",
    );
    assert!(
        failure["message"]
            .as_str()
            .is_some_and(|m| m.contains("type")),
        "{failure}"
    );
    let again = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[indicator(1, "2020-02-02T02:02:02.123Z")]),
        )
        .await
        .json();
    let d = entry(
        &again,
        "successes",
        "indicator--00000001-0000-4000-8000-000000000000",
    );
    assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
}

#[tokio::test]
async fn request_timestamp_is_a_six_digit_taxii_timestamp() {
    let s = TestServer::medallion();
    let (posted, got) = add_mixed(&s).await;
    for v in [posted, got.json()] {
        assert!(
            is_taxii_timestamp(v["request_timestamp"].as_str().unwrap()),
            "{v}"
        );
    }
}

#[tokio::test]
async fn a_status_is_served_until_its_retention_ends_then_404() {
    let s = TestServer::medallion_with(|c| {
        c["backend"]["status_retention"] = json!(2);
        c["backend"]["check_interval"] = json!(1);
    });
    let (posted, got) = add_mixed(&s).await;
    assert_eq!(got.status, 200);
    let path = format!("{ROOT}status/{}/", posted["id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = s.get(&path).await;
    assert_eq!(r.status, 200, "still within retention: {}", r.text);
    assert_eq!(r.json(), posted);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    s.get(&path).await.assert_error(404);
}

#[tokio::test]
async fn an_unknown_status_id_is_404() {
    let s = TestServer::medallion();
    for id in [
        "2d086da7-4bdc-4f91-900e-d77486753711",
        "not-a-uuid",
        "00000000-0000-4000-8000-000000000000",
    ] {
        s.get(&format!("{ROOT}status/{id}/"))
            .await
            .assert_error(404);
    }
}

#[tokio::test]
async fn a_complete_status_reads_the_same_every_time() {
    let s = TestServer::medallion();
    let (posted, got) = add_mixed(&s).await;
    let path = format!("{ROOT}status/{}/", posted["id"].as_str().unwrap());
    // More adds in between change nothing.
    s.post_objects(
        &format!("{}objects/", coll(EMPTY)),
        &envelope(&[indicator(1, "2021-01-01T00:00:00.000Z")]),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(s.get(&path).await.text, got.text);
    }
    assert_eq!(got.json(), posted);
}

#[tokio::test]
async fn the_status_id_is_a_uuid_v4_equal_to_the_one_in_the_202() {
    let s = TestServer::medallion();
    let (posted, got) = add_mixed(&s).await;
    let id = posted["id"].as_str().unwrap();
    assert!(is_uuid_v4(id), "{id}");
    assert_eq!(got.json()["id"], id);
}

#[tokio::test]
async fn a_status_is_hidden_from_other_users_but_imported_ones_are_shared() {
    let s = TestServer::medallion();
    let (posted, _) = add_mixed(&s).await;
    let path = format!("{ROOT}status/{}/", posted["id"].as_str().unwrap());
    let as_user1 = |p: &str| {
        s.bare(Method::GET, p)
            .header("Accept", T21)
            .basic_auth("user1", Some("Password1"))
            .send()
    };
    let r = Resp::from(as_user1(&path).await.unwrap()).await;
    r.assert_error(404);
    // Indistinguishable from a status that does not exist.
    let missing = Resp::from(
        as_user1(&format!(
            "{ROOT}status/00000000-0000-4000-8000-000000000000/"
        ))
        .await
        .unwrap(),
    )
    .await;
    let mut a = r.json();
    let mut b = missing.json();
    for v in [&mut a, &mut b] {
        let d = v["description"]
            .as_str()
            .unwrap()
            .replace(posted["id"].as_str().unwrap(), "X")
            .replace("00000000-0000-4000-8000-000000000000", "X");
        v["description"] = json!(d);
    }
    assert_eq!(a, b);
    let imported = format!("{ROOT}status/2d086da7-4bdc-4f91-900e-d77486753710/");
    assert_eq!(
        Resp::from(as_user1(&imported).await.unwrap()).await.status,
        200
    );
    assert_eq!(s.get(&path).await.status, 200);
}

#[tokio::test]
async fn a_status_is_not_found_under_another_api_root() {
    let s = TestServer::medallion();
    let (posted, _) = add_mixed(&s).await;
    let id = posted["id"].as_str().unwrap();
    for root in ["/api1/", "/api2/"] {
        s.get(&format!("{root}status/{id}/"))
            .await
            .assert_error(404);
        s.get(&format!(
            "{root}status/2d086da7-4bdc-4f91-900e-d77486753710/"
        ))
        .await
        .assert_error(404);
    }
    // Nested roots too.
    let data = one_root("org/a", "00000000-0000-4000-8000-000000000001");
    let n = serve(&data, |_| {});
    n.get(&format!("/org/a/status/{id}/"))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn the_status_endpoint_refuses_unacceptable_accept_headers_with_406() {
    let s = TestServer::medallion();
    let (posted, _) = add_mixed(&s).await;
    let path = format!("{ROOT}status/{}/", posted["id"].as_str().unwrap());
    for accept in [
        "application/taxii+json;version=2.0",
        "application/stix+json;version=2.1",
        "application/json",
    ] {
        get_accept(&s, &path, accept).await.assert_error(406);
    }
}
