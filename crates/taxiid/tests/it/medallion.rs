//! Loading a medallion data file into the memory store (IMP-1..IMP-5) and writing it back.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::general::{
    coll, envelope, indicator, is_taxii_timestamp, memory_config, one_root, sample, serve,
};
use crate::helpers::*;

const SCO: &str = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd";

/// The collections of `root` in the sample, by id.
fn stored_collections(root: &str) -> Vec<Value> {
    sample()[root]["collections"].as_array().unwrap().clone()
}

/// (id, date_added, version, media_type) of manifest records.
fn records(list: &Value) -> BTreeSet<(String, String, String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap().to_owned();
            (f("id"), f("date_added"), f("version"), f("media_type"))
        })
        .collect()
}

#[tokio::test]
async fn the_discovery_document_is_served_as_stored() {
    let s = TestServer::medallion();
    let r = s.get("/taxii2/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(r.json(), sample()["/discovery"]);
    // Relative api_roots and a relative default too.
    let mut data = one_root("api1", "00000000-0000-4000-8000-000000000001");
    let discovery = json!({"title": "Relative", "default": "/api1/", "api_roots": ["/api1/"], "contact": "ops@example.com"});
    data["/discovery"] = discovery.clone();
    let s = serve(&data, |_| {});
    assert_eq!(s.get("/taxii2/").await.json(), discovery);
}

#[tokio::test]
async fn api_roots_and_collections_are_served_as_stored() {
    let s = TestServer::medallion();
    let data = sample();
    for root in ["api1", "api2", "trustgroup1"] {
        let r = s.get(&format!("/{root}/")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), data[root]["information"], "{root}");
    }
    let list = s.get(&format!("{ROOT}collections/")).await.json();
    let served = list["collections"].as_array().unwrap();
    let stored = stored_collections("trustgroup1");
    assert_eq!(served.len(), stored.len());
    for c in &stored {
        let mut expected = c.clone();
        let m = expected.as_object_mut().unwrap();
        m.remove("objects");
        m.remove("manifest");
        let got = served
            .iter()
            .find(|x| x["id"] == c["id"])
            .unwrap_or_else(|| panic!("{} missing", c["id"]));
        assert_eq!(got, &expected);
        assert_eq!(
            s.get(&coll(c["id"].as_str().unwrap())).await.json(),
            expected
        );
    }
}

#[tokio::test]
async fn manifest_records_keep_their_stored_date_added_version_and_media_type() {
    let s = TestServer::medallion();
    for c in stored_collections("trustgroup1") {
        if c["can_read"] != true {
            continue;
        }
        let id = c["id"].as_str().unwrap();
        let r = s
            .get(&format!(
                "{}manifest/?match[version]=all&match[spec_version]=2.0,2.1",
                coll(id)
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        let stored = &c["manifest"];
        if stored.as_array().unwrap().is_empty() {
            assert_eq!(v, json!({}));
            continue;
        }
        assert_eq!(records(&v["objects"]), records(stored), "{id}");
        // Served in ascending date_added order, the headers from the first and last record.
        let dates: Vec<&str> = v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["date_added"].as_str().unwrap())
            .collect();
        let mut sorted = dates.clone();
        sorted.sort_unstable();
        assert_eq!(dates, sorted);
        assert_eq!(r.header("x-taxii-date-added-first"), dates.first().copied());
        assert_eq!(r.header("x-taxii-date-added-last"), dates.last().copied());
    }
    // The objects endpoint pages by the same stored date_added values.
    let r = s.get(&format!("{}objects/?added_after=2017-01-27T13:49:59.997000Z&match[spec_version]=2.0,2.1&match[version]=all", coll(RW))).await;
    let v = r.json();
    let ids: BTreeSet<&str> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([SCO, "x-acme-widget--a1b2c3d4-0000-4000-8000-00000000abcd"])
    );
    // The versions list echoes each stored version string exactly (9 digits included).
    let r = s
        .get(&format!(
            "{}objects/x-acme-widget--a1b2c3d4-0000-4000-8000-00000000abcd/versions/",
            coll(RW)
        ))
        .await;
    assert_eq!(
        r.json()["versions"],
        json!(["2018-01-01T00:00:00.123456789Z"])
    );
    assert_eq!(
        r.header("x-taxii-date-added-first"),
        Some("2018-01-01T00:00:01.000000Z")
    );
}

#[tokio::test]
async fn hidden_underscore_members_are_used_for_the_record_but_never_served() {
    let s = TestServer::medallion();
    let r = s.get(&format!("{}objects/{SCO}/", coll(RW))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["objects"][0],
        json!({"type": "ipv4-addr", "id": SCO, "value": "198.51.100.3"})
    );
    assert!(!r.text.contains("_date_added"));
    let r = s.get(&format!("{}objects/{SCO}/versions/", coll(RW))).await;
    assert_eq!(r.json()["versions"], json!(["2017-02-01T10:00:00.000000Z"]));
    for path in [
        format!(
            "{}objects/?match[version]=all&match[spec_version]=2.0,2.1",
            coll(RW)
        ),
        format!(
            "{}manifest/?match[version]=all&match[spec_version]=2.0,2.1",
            coll(RW)
        ),
    ] {
        let r = s.get(&path).await;
        assert!(!r.text.contains("\"_"), "{path}: {}", r.text);
    }
    // Any `_` member of any stored object is bookkeeping, not content.
    let mut data = sample();
    data["trustgroup1"]["collections"][0]["objects"][3]["_internal_note"] =
        json!("not for clients");
    let s = serve(&data, |_| {});
    let r = s
        .get(&format!(
            "{}objects/marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da/",
            coll(RW)
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("_internal_note"), "{}", r.text);
    assert_eq!(r.json()["objects"][0]["name"], "TLP:GREEN");
}

#[tokio::test]
async fn loaded_statuses_are_served_as_stored_including_the_malformed_one() {
    let s = TestServer::medallion();
    for stored in sample()["trustgroup1"]["status"].as_array().unwrap() {
        let r = s
            .get(&format!("{ROOT}status/{}/", stored["id"].as_str().unwrap()))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("content-type"), Some(T21));
        assert_eq!(&r.json(), stored);
    }
    let quirky = s
        .get(&format!(
            "{ROOT}status/2d086da7-4bdc-4f91-900e-f4566be4b780/"
        ))
        .await
        .json();
    assert_eq!(quirky["total_objects"], 2);
    assert!(quirky.get("total_count").is_none());
    assert_eq!(quirky["status"], "pending");
}

#[tokio::test]
async fn loaded_statuses_are_retained_from_the_time_they_were_loaded() {
    // request_timestamp is 2016: counted from then, they would be gone at once.
    let s = TestServer::medallion_with(|c| {
        c["backend"]["status_retention"] = json!(2);
        c["backend"]["check_interval"] = json!(1);
    });
    let path = format!("{ROOT}status/2d086da7-4bdc-4f91-900e-d77486753710/");
    assert_eq!(s.get(&path).await.status, 200);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    s.get(&path).await.assert_error(404);
}

/// GETs whose answers must survive a save and reload unchanged.
fn comparable_paths(status_id: &str) -> Vec<String> {
    let mut paths = vec![
        "/taxii2/".to_owned(),
        ROOT.to_owned(),
        "/api1/".to_owned(),
        format!("{ROOT}collections/"),
        format!("{ROOT}status/{status_id}/"),
        format!("{ROOT}status/2d086da7-4bdc-4f91-900e-d77486753710/"),
        format!("{ROOT}status/2d086da7-4bdc-4f91-900e-f4566be4b780/"),
    ];
    for c in [RW, EMPTY, READ_ONLY] {
        paths.push(coll(c));
        paths.push(format!(
            "{}manifest/?match[version]=all&match[spec_version]=2.0,2.1",
            coll(c)
        ));
        paths.push(format!(
            "{}objects/?match[version]=all&match[spec_version]=2.0,2.1",
            coll(c)
        ));
        paths.push(format!("{}objects/", coll(c)));
    }
    for o in [
        SCO,
        "ipv4-addr--00000000-0000-4000-8000-0000000000a1",
        "indicator--00000002-0000-4000-8000-000000000000",
    ] {
        paths.push(format!("{}objects/{o}/versions/", coll(EMPTY)));
        paths.push(format!("{}objects/{o}/versions/", coll(RW)));
    }
    paths
}

#[tokio::test]
async fn a_saved_data_file_loads_again_with_identical_answers() {
    let mut s = TestServer::medallion_with(|c| c["backend"]["save_on_shutdown"] = json!(true));
    let sco = json!({"type": "ipv4-addr", "id": "ipv4-addr--00000000-0000-4000-8000-0000000000a1", "value": "10.9.9.9"});
    let r = s
        .post_objects(
            &format!("{}objects/", coll(EMPTY)),
            &envelope(&[
                indicator(2, "2020-01-01T00:00:00.000Z"),
                indicator(2, "2021-06-01T12:00:00.5Z"),
                sco,
            ]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status_id = r.json()["id"].as_str().unwrap().to_owned();
    let r = s
        .req(
            Method::DELETE,
            &format!(
                "{}objects/relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463/",
                coll(RW)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut before = Vec::new();
    for p in comparable_paths(&status_id) {
        let r = s.get(&p).await;
        before.push((
            p,
            r.status,
            r.text.clone(),
            r.header("x-taxii-date-added-first").map(str::to_owned),
        ));
    }
    assert!(s.terminate().success());
    let saved_text = std::fs::read_to_string(s.dir.path().join("data.json")).unwrap();
    let saved: Value = serde_json::from_str(&saved_text).unwrap();
    // medallion's shape: discovery, then per root information, status and collections.
    assert_eq!(saved["/discovery"], sample()["/discovery"]);
    for root in ["api1", "api2", "trustgroup1"] {
        for k in ["information", "status", "collections"] {
            assert!(saved[root].get(k).is_some(), "{root}.{k}");
        }
    }
    let empty = saved["trustgroup1"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == EMPTY)
        .unwrap();
    assert_eq!(empty["objects"].as_array().unwrap().len(), 3);
    for m in empty["manifest"].as_array().unwrap() {
        assert!(is_taxii_timestamp(m["date_added"].as_str().unwrap()), "{m}");
        assert!(
            m["media_type"].is_string() && m["version"].is_string(),
            "{m}"
        );
    }
    // The SCO carries medallion's hidden _date_added, equal to its manifest version.
    let stored_sco = empty["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "ipv4-addr")
        .unwrap();
    let hidden = stored_sco["_date_added"].as_str().unwrap();
    assert!(
        empty["manifest"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == stored_sco["id"] && m["version"] == hidden)
    );
    // The new status is in the file.
    assert!(
        saved["trustgroup1"]["status"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["id"] == status_id)
    );
    // Load it again.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.json"), &saved_text).unwrap();
    std::fs::write(dir.path().join("config.json"), memory_config().to_string()).unwrap();
    let again = TestServer::start_in(dir, &["--conf-file", "config.json"], &[]);
    for (path, status, text, first) in before {
        let r = again.get(&path).await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(
            r.json(),
            serde_json::from_str::<Value>(&text).unwrap(),
            "{path}"
        );
        assert_eq!(
            r.header("x-taxii-date-added-first").map(str::to_owned),
            first,
            "{path}"
        );
    }
}

#[tokio::test]
async fn loaded_objects_keep_the_member_order_of_the_data_file() {
    let s = TestServer::medallion();
    let id = "x-acme-widget--a1b2c3d4-0000-4000-8000-00000000abcd";
    let r = s
        .get(&format!("{ROOT}collections/{RW}/objects/{id}/"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let stored = sample()["trustgroup1"]["collections"][0]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap()
        .to_string();
    let served = r.json()["objects"][0].to_string();
    assert_eq!(served, stored);
    assert!(
        r.text.contains(&format!(
            r#"{{"type":"x-acme-widget","spec_version":"2.1","id":"{id}","#
        )),
        "{}",
        r.text
    );
}
