//! TAXII 2.0 (medallion 1.x's protocol) beside 2.1: the V20 rows of the checklist. Most tests
//! run against `examples/medallion-1.x` (a 1.x configuration and data file).

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::ids;

const IND: &str = "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade";
const MAL: &str = "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111";
const REL: &str = "relationship--6598bf44-1c10-4218-af9f-75b5b71c23a7";
const MARK: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const STATUS_1X: &str = "2d086da7-4bdc-4f91-900e-d77486753710";

fn objects_path(collection: &str) -> String {
    format!("{ROOT}collections/{collection}/objects/")
}

fn manifest_path(collection: &str) -> String {
    format!("{ROOT}collections/{collection}/manifest/")
}

/// A request as the admin with this `Accept`.
fn with_accept(s: &TestServer, method: Method, path: &str, accept: &str) -> RequestBuilder {
    s.bare(method, path)
        .basic_auth("admin", Some("Password0"))
        .header("Accept", accept)
}

async fn send(r: RequestBuilder) -> Resp {
    Resp::from(r.send().await.unwrap()).await
}

async fn get(s: &TestServer, path: &str, accept: &str) -> Resp {
    send(with_accept(s, Method::GET, path, accept)).await
}

async fn get_range(s: &TestServer, path: &str, range: &str) -> Resp {
    send(with_accept(s, Method::GET, path, S20).header("Range", range)).await
}

/// Asserts a TAXII error resource labelled as TAXII 2.0.
fn assert_error20(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
    assert_eq!(r.header("content-type"), Some(T20));
    let body = r.json();
    assert!(body["title"].is_string(), "{body}");
    assert_eq!(body["http_status"], status.to_string());
    body
}

/// Asserts the STIX 2.0 bundle shape and returns it.
fn assert_bundle(r: &Resp) -> Value {
    assert_eq!(r.header("content-type"), Some(S20));
    let b = r.json();
    assert_eq!(b["type"], "bundle", "{b}");
    assert_eq!(b["spec_version"], "2.0", "{b}");
    let id = b["id"].as_str().unwrap();
    let uuid = id.strip_prefix("bundle--").unwrap();
    let bytes = uuid.as_bytes();
    assert_eq!(uuid.len(), 36, "{id}");
    assert_eq!(bytes[14], b'4', "a version-4 UUID: {id}");
    assert!(b"89ab".contains(&bytes[19]), "an RFC 4122 variant: {id}");
    b
}

/// medallion 1.x's configuration with `adjust` applied, in a fresh directory with its data.
fn medallion_1x_dir(adjust: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace_root().join("examples/medallion-1.x");
    std::fs::copy(example.join("data.json"), dir.path().join("data.json")).unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(example.join("config.json")).unwrap())
            .unwrap();
    adjust(&mut config);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

#[tokio::test]
async fn discovery_is_at_taxii_with_the_2_0_type_and_each_family_refuses_the_other() {
    let s = TestServer::medallion_1x();
    let r = get(&s, "/taxii/", T20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T20));
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/medallion-1.x/data.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(r.json(), stored["/discovery"]);
    // Without Accept, /taxii/ is 2.0's; a 2.1 Accept there, or a 2.0 one on /taxii2/, is 406.
    let r = send(
        s.bare(Method::GET, "/taxii")
            .basic_auth("admin", Some("Password0")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T20));
    let body = get(&s, "/taxii/", T21).await.assert_error(406);
    assert!(
        body["description"].as_str().unwrap().contains(T20),
        "{body}"
    );
    assert_error20(&get(&s, "/taxii2/", T20).await, 406);
    assert_eq!(get(&s, "/taxii2/", T21).await.status, 200);
}

#[tokio::test]
async fn the_2_0_api_root_lists_taxii_2_0_and_the_2_1_view_keeps_its_versions() {
    let s = TestServer::medallion();
    let r = get(&s, ROOT, T20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T20));
    let info = r.json();
    assert_eq!(info["versions"], json!(["taxii-2.0"]));
    assert_eq!(info["title"], "Malware Research Group");
    assert_eq!(info["max_content_length"], 9765625);
    assert_eq!(get(&s, ROOT, T21).await.json()["versions"], json!([T21]));
}

#[tokio::test]
async fn get_objects_answers_a_fresh_stix_2_0_bundle_in_date_added_order() {
    let s = TestServer::medallion_1x();
    let r = get(&s, &objects_path(RW), S20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = assert_bundle(&r);
    assert_eq!(ids(&b), [REL, IND, MARK, MAL]);
    // The latest version of the indicator, as stored.
    assert_eq!(b["objects"][1]["modified"], "2017-01-27T13:49:53.935Z");
    assert_eq!(r.header("accept-ranges"), Some("items"));
    assert_eq!(r.header("content-range"), None);
    assert_eq!(
        r.header("x-taxii-date-added-first"),
        Some("2014-05-08T09:00:00.000000Z")
    );
    assert_eq!(
        r.header("x-taxii-date-added-last"),
        Some("2017-01-27T13:49:59.000000Z")
    );
    let again = assert_bundle(&get(&s, &objects_path(RW), S20).await);
    assert_ne!(again["id"], b["id"], "every bundle gets its own id");
    // Nothing matches: a bundle without objects.
    let r = get(
        &s,
        &format!("{}?match[type]=campaign", objects_path(RW)),
        S20,
    )
    .await;
    assert_eq!(r.status, 200);
    let empty = assert_bundle(&r);
    assert_eq!(empty.as_object().unwrap().len(), 3, "{empty}");
    assert_eq!(r.header("x-taxii-date-added-first"), None);
    // Objects need the STIX type; the TAXII 2.0 type there is 406.
    assert_error20(&get(&s, &objects_path(RW), T20).await, 406);
}

#[tokio::test]
async fn objects_whose_latest_spec_version_is_2_1_are_left_out_of_2_0_answers() {
    // Every object of medallion 3's sample collection has a STIX 2.1 version, the malware with
    // an older-spec 2.0 version included: none is served over 2.0.
    let s = TestServer::medallion();
    let b = assert_bundle(&get(&s, &objects_path(RW), S20).await);
    assert!(b.get("objects").is_none(), "{b}");
    // A STIX 2.0 object added over 2.1 is served to 2.0 clients; a STIX 2.1 one is not.
    let old = json!({"type": "malware", "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "STIX 2.0", "labels": ["trojan"]});
    let new = json!({"type": "malware", "spec_version": "2.1",
        "id": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0062",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "STIX 2.1", "is_family": false});
    let r = s
        .post_objects(&objects_path(EMPTY), &json!({"objects": [old, new]}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let b = assert_bundle(&get(&s, &objects_path(EMPTY), S20).await);
    assert_eq!(b["objects"], json!([old]));
    let m = get(&s, &manifest_path(EMPTY), T20).await.json();
    assert_eq!(m["objects"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["objects"][0]["id"], old["id"]);
    let one = format!("{}{}/", objects_path(EMPTY), new["id"].as_str().unwrap());
    assert_error20(&get(&s, &one, S20).await, 404);
}

#[tokio::test]
async fn taxii20_serves_stix21_hands_2_1_objects_to_2_0_clients_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
    std::fs::write(
        dir.path().join("taxiid.toml"),
        "[store]\ntype = \"memory\"\ndata_file = \"data.json\"\n\n[taxii]\ntaxii20_serves_stix21 = true\n\n[users]\nadmin = \"Password0\"\n",
    )
    .unwrap();
    let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    let over20 = get(&s, &objects_path(RW), S20).await;
    let over21 = get(&s, &objects_path(RW), T21).await;
    assert_eq!(over20.status, 200, "{}", over20.text);
    assert_eq!(assert_bundle(&over20)["objects"], over21.json()["objects"]);
    assert_eq!(ids(&over21.json()).len(), 6);
}

#[tokio::test]
async fn item_ranges_cut_objects_into_206_pages_and_416_past_the_end() {
    let s = TestServer::medallion_1x();
    let path = objects_path(RW);
    let r = get_range(&s, &path, "items=0-1").await;
    assert_eq!(r.status, 206, "{}", r.text);
    assert_eq!(r.header("content-range"), Some("items 0-1/4"));
    assert_eq!(r.header("accept-ranges"), Some("items"));
    assert_eq!(ids(&assert_bundle(&r)), [REL, IND]);
    assert_eq!(
        r.header("x-taxii-date-added-last"),
        Some("2016-11-01T03:04:05.000000Z")
    );
    // The space form of the 2.0 examples is the same request.
    let r = get_range(&s, &path, "items 2-3").await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("items 2-3/4"));
    assert_eq!(ids(&assert_bundle(&r)), [MARK, MAL]);
    // A range reaching past the end gets what there is.
    let r = get_range(&s, &path, "items=3-10").await;
    assert_eq!(r.header("content-range"), Some("items 3-3/4"));
    assert_eq!(ids(&assert_bundle(&r)), [MAL]);
    let r = get_range(&s, &path, "items=4-5").await;
    assert_error20(&r, 416);
    assert_eq!(r.header("content-range"), Some("items */4"));
    let body = assert_error20(&get_range(&s, &path, "items=a-b").await, 400);
    assert!(
        body["description"].as_str().unwrap().contains("items"),
        "{body}"
    );
    // An empty result has no items to range over.
    let r = get_range(&s, &format!("{path}?match[type]=campaign"), "items=0-9").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-range"), Some("items */0"));
}

#[tokio::test]
async fn a_result_larger_than_a_page_is_answered_206_without_a_range() {
    let dir = medallion_1x_dir(|c| c["taxii"]["max_page_size"] = json!(3));
    let s = TestServer::start_in(dir, &["--conf-file", "config.json"], &[]);
    let r = get(&s, &objects_path(RW), S20).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("items 0-2/4"));
    assert_eq!(ids(&assert_bundle(&r)), [REL, IND, MARK]);
    // A range larger than a page is cut to a page.
    let r = get_range(&s, &objects_path(RW), "items=1-100").await;
    assert_eq!(r.header("content-range"), Some("items 1-3/4"));
}

#[tokio::test]
async fn collections_and_manifest_take_ranges_in_a_stable_order() {
    let s = TestServer::medallion_1x();
    let all = get(&s, &format!("{ROOT}collections/"), T20).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.header("content-type"), Some(T20));
    assert_eq!(all.header("accept-ranges"), Some("items"));
    let every: Vec<Value> = all.json()["collections"].as_array().unwrap().clone();
    let every_id: Vec<&str> = every.iter().map(|c| c["id"].as_str().unwrap()).collect();
    // Ordered by id.
    assert_eq!(every_id, [EMPTY, READ_ONLY, RW]);
    assert_eq!(every[0]["media_types"], json!([S20]));
    let mut paged = Vec::new();
    for (range, content_range) in [("items=0-1", "items 0-1/3"), ("items=2-3", "items 2-2/3")] {
        let r = send(
            with_accept(&s, Method::GET, &format!("{ROOT}collections/"), T20)
                .header("Range", range),
        )
        .await;
        assert_eq!(r.status, 206);
        assert_eq!(r.header("content-range"), Some(content_range));
        paged.extend(r.json()["collections"].as_array().unwrap().clone());
    }
    assert_eq!(paged, every);
    let r = send(
        with_accept(&s, Method::GET, &format!("{ROOT}collections/"), T20)
            .header("Range", "items=3-4"),
    )
    .await;
    assert_error20(&r, 416);
    assert_eq!(r.header("content-range"), Some("items */3"));

    let r =
        send(with_accept(&s, Method::GET, &manifest_path(RW), T20).header("Range", "items=1-2"))
            .await;
    assert_eq!(r.status, 206, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T20));
    assert_eq!(r.header("content-range"), Some("items 1-2/4"));
    let entries = r.json()["objects"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["id"], IND);
    assert_eq!(entries[1]["id"], MARK);
}

#[tokio::test]
async fn the_2_0_manifest_has_one_entry_per_object_with_its_versions_newest_first() {
    let s = TestServer::medallion_1x();
    let r = get(&s, &manifest_path(RW), T20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T20));
    assert_eq!(r.header("accept-ranges"), Some("items"));
    assert_eq!(
        r.header("x-taxii-date-added-first"),
        Some("2014-05-08T09:00:00.000000Z")
    );
    let m = r.json();
    let entries = m["objects"].as_array().unwrap();
    let listed: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [REL, IND, MARK, MAL]);
    assert_eq!(
        entries[1],
        json!({
            "id": IND,
            "date_added": "2016-11-01T03:04:05.000000Z",
            "versions": ["2017-01-27T13:49:53.935Z", "2016-11-03T12:30:59.000Z"],
            "media_types": [S20],
        })
    );
    // match[version] narrows the versions listed.
    let r = get(
        &s,
        &format!("{}?match[version]=first", manifest_path(RW)),
        T20,
    )
    .await;
    let first = &r.json()["objects"][1];
    assert_eq!(first["versions"], json!(["2016-11-03T12:30:59.000Z"]));
}

#[tokio::test]
async fn the_2_0_filters_select_objects_and_one_object_takes_match_version() {
    let s = TestServer::medallion_1x();
    let objects = objects_path(RW);
    let q = |query: &str| format!("{objects}?{query}");
    for (query, expected) in [
        (q(&format!("match[id]={MAL},{REL}")), vec![REL, MAL]),
        (q("match[type]=indicator,malware"), vec![IND, MAL]),
        (q("added_after=2016-11-01T03:04:05Z"), vec![MARK, MAL]),
        (q("match[version]=all"), vec![REL, IND, IND, MARK, MAL]),
        (q("match[version]=first&match[type]=indicator"), vec![IND]),
        // 2.1's limit and match[spec_version] mean nothing to 2.0 and are ignored.
        (
            q("limit=1&match[spec_version]=2.1"),
            vec![REL, IND, MARK, MAL],
        ),
    ] {
        let r = get(&s, &query, S20).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(ids(&assert_bundle(&r)), expected, "{query}");
    }
    let first = get(&s, &q("match[version]=first&match[type]=indicator"), S20).await;
    assert_eq!(
        assert_bundle(&first)["objects"][0]["modified"],
        "2016-11-03T12:30:59.000Z"
    );
    // Get an Object: the latest version, or the one match[version] names.
    let one = format!("{objects}{IND}/");
    let r = get(&s, &one, S20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = assert_bundle(&r);
    assert_eq!(ids(&b), [IND]);
    assert_eq!(b["objects"][0]["modified"], "2017-01-27T13:49:53.935Z");
    let r = get(
        &s,
        &format!("{one}?match[version]=2016-11-03T12:30:59.000Z"),
        S20,
    )
    .await;
    assert_eq!(
        assert_bundle(&r)["objects"][0]["modified"],
        "2016-11-03T12:30:59.000Z"
    );
    let r = get(&s, &format!("{one}?match[version]=all"), S20).await;
    assert_eq!(ids(&assert_bundle(&r)), [IND, IND]);
    assert_error20(
        &get(
            &s,
            &format!("{objects}indicator--00000000-0000-4000-8000-000000000000/"),
            S20,
        )
        .await,
        404,
    );
    assert_error20(&get(&s, &q("added_after=yesterday"), S20).await, 400);
}

#[tokio::test]
async fn delete_and_versions_do_not_exist_in_2_0() {
    let s = TestServer::medallion_1x();
    let one = format!("{}{IND}/", objects_path(RW));
    let r = send(with_accept(&s, Method::DELETE, &one, S20)).await;
    assert_error20(&r, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_error20(&get(&s, &format!("{one}versions/"), S20).await, 404);
    // The object is still there, for both protocols.
    assert_eq!(get(&s, &one, S20).await.status, 200);
    assert_eq!(get(&s, &one, T21).await.status, 200);
}

#[tokio::test]
async fn a_bundle_added_over_2_0_gets_a_2_0_status_and_is_seen_alike_over_2_1() {
    let s = TestServer::medallion_1x();
    let good = json!({"type": "malware", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "Added over 2.0", "labels": ["trojan"]});
    let good2 = json!({"type": "indicator", "id": "indicator--31b940d4-6f7f-459a-80ea-9c1f17b58abd",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.1']", "labels": ["malicious-activity"],
        "valid_from": "2017-01-01T00:00:00Z"});
    let bad = json!({"type": "indicator", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abe",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z"});
    let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "spec_version": "2.0", "objects": [good, bad, good2]});
    let r = send(
        with_accept(&s, Method::POST, &objects_path(EMPTY), T20)
            .header("Content-Type", S20)
            .body(bundle.to_string()),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("content-type"), Some(T20));
    let status = r.json();
    assert_eq!(status["status"], "complete");
    assert_eq!(status["total_count"], 3);
    assert_eq!(status["success_count"], 2);
    assert_eq!(status["pending_count"], 0);
    assert_eq!(status["successes"], json!([good["id"], good2["id"]]));
    assert_eq!(status["failure_count"], 1);
    let failures = status["failures"].as_array().unwrap();
    assert_eq!(failures[0]["id"], bad["id"]);
    assert!(failures[0]["message"].is_string(), "{status}");
    assert_eq!(failures[0].as_object().unwrap().len(), 2, "{status}");
    // The same status over 2.0's status endpoint, and in 2.1's shape over 2.1.
    let at = format!("{ROOT}status/{}/", status["id"].as_str().unwrap());
    let r = get(&s, &at, T20).await;
    assert_eq!(r.header("content-type"), Some(T20));
    assert_eq!(r.json(), status);
    let v21 = get(&s, &at, T21).await.json();
    assert_eq!(v21["successes"][0]["id"], good["id"]);
    assert_eq!(v21["successes"][0]["version"], "2017-01-01T00:00:00.000Z");

    // Over 2.0 and 2.1 the objects are the same text with the same date_added.
    let over20 = get(&s, &objects_path(EMPTY), S20).await;
    let over21 = get(&s, &objects_path(EMPTY), T21).await;
    assert_eq!(assert_bundle(&over20)["objects"], over21.json()["objects"]);
    for h in ["x-taxii-date-added-first", "x-taxii-date-added-last"] {
        assert_eq!(over20.header(h), over21.header(h), "{h}");
    }
    let m20 = get(&s, &manifest_path(EMPTY), T20).await.json();
    let m21 = get(&s, &manifest_path(EMPTY), T21).await.json();
    assert_eq!(
        m20["objects"][0]["date_added"],
        m21["objects"][0]["date_added"]
    );

    // And the other way: a STIX 2.0 object added over 2.1 is served to 2.0 clients.
    let later = json!({"type": "malware", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abf",
        "created": "2017-02-01T00:00:00.000Z", "modified": "2017-02-01T00:00:00.000Z",
        "name": "Added over 2.1", "labels": ["worm"]});
    assert_eq!(
        s.post_objects(&objects_path(EMPTY), &json!({"objects": [later]}))
            .await
            .status,
        202
    );
    let r = get(
        &s,
        &format!(
            "{}?match[id]={}",
            objects_path(EMPTY),
            later["id"].as_str().unwrap()
        ),
        S20,
    )
    .await;
    assert_eq!(assert_bundle(&r)["objects"][0], later);
    let r21 = get(
        &s,
        &format!("{}{}/", objects_path(EMPTY), later["id"].as_str().unwrap()),
        T21,
    )
    .await;
    assert_eq!(
        r.header("x-taxii-date-added-first"),
        r21.header("x-taxii-date-added-first")
    );
}

#[tokio::test]
async fn a_2_0_add_needs_the_stix_2_0_type_and_write_permission() {
    let s = TestServer::medallion_1x();
    let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "spec_version": "2.0", "objects": [{"type": "malware",
        "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc", "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z", "name": "x", "labels": ["trojan"]}]});
    for content_type in [T21, "application/json", T20] {
        let r = send(
            with_accept(&s, Method::POST, &objects_path(EMPTY), T20)
                .header("Content-Type", content_type)
                .body(bundle.to_string()),
        )
        .await;
        let body = assert_error20(&r, 415);
        assert!(
            body["description"].as_str().unwrap().contains(S20),
            "{body}"
        );
    }
    let r = send(
        with_accept(&s, Method::POST, &objects_path(READ_ONLY), T20)
            .header("Content-Type", S20)
            .body(bundle.to_string()),
    )
    .await;
    assert_error20(&r, 403);
    // Nothing was stored.
    let r = get(&s, &objects_path(EMPTY), S20).await;
    assert!(assert_bundle(&r).get("objects").is_none(), "{}", r.text);
}

#[tokio::test]
async fn a_medallion_1_status_is_served_as_stored_and_basic_and_api_keys_log_in() {
    let s = TestServer::medallion_1x();
    let at = format!("{ROOT}status/{STATUS_1X}/");
    let r = get(&s, &at, T20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let status = r.json();
    assert_eq!(
        status["pendings"],
        json!([
            "indicator--252c7c11-daf2-42bd-843b-be65edca9f61",
            "relationship--045585ad-a22f-4333-af33-bfd503a683b5"
        ])
    );
    assert_eq!(status["failures"][0]["message"], "Unsupported object type");
    // medallion 1.x's API key, as its clients send it.
    let r = send(
        s.bare(Method::GET, "/taxii/")
            .header("Accept", T20)
            .header("Authorization", "Token 123456"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for wrong in ["Token 12345", "Token 1234567", "Token "] {
        let r = send(
            s.bare(Method::GET, "/taxii/")
                .header("Accept", T20)
                .header("Authorization", wrong),
        )
        .await;
        assert_error20(&r, 401);
    }
    // Basic is always offered: a 2.0 client without credentials is challenged for it.
    let r = send(s.bare(Method::GET, &objects_path(RW)).header("Accept", S20)).await;
    assert_error20(&r, 401);
    assert!(
        r.headers
            .get_all("www-authenticate")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("Basic ")),
        "{:?}",
        r.headers
    );
    let r = send(
        s.bare(Method::GET, "/taxii/")
            .header("Accept", T20)
            .basic_auth("user1", Some("Password1")),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn what_a_medallion_1_configuration_asks_for_and_taxiid_leaves_out_is_said_at_start() {
    // JWT logins and the flask section: a warning, and the other ways in keep working.
    let dir = medallion_1x_dir(|c| {
        c["multi-auth"] = json!(["basic", "api_key", "jwt"]);
        c["flask"] = json!({"SECRET_KEY": "not used", "JWT_EXP": 60});
    });
    let s = TestServer::start_in(dir, &["--conf-file", "config.json"], &[]);
    let log = s.log.lock().unwrap().join("\n");
    assert!(log.contains("jwt") && log.contains("/login"), "{log}");
    let check = crate::general::run_to_exit(
        s.dir.path(),
        &[
            "--no-conf-dir",
            "--conf-check",
            "--conf-file",
            "config.json",
        ],
        &[],
    );
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    assert!(
        check.stdout.contains("2 user(s), 1 API key(s)"),
        "{check:?}"
    );
    // The key is never printed (stderr's timestamps could hold the digits by chance).
    assert!(!check.stdout.contains("123456"), "{check:?}");
    assert!(log.contains("'flask' section is ignored"), "{log}");
    assert_eq!(get(&s, "/taxii/", T20).await.status, 200);

    // The directory backend and MongoDB users would change what is served or who gets in:
    // start-up stops and says what to do instead.
    for (adjust, needles) in [
        (
            json!({"backend": {"module": "medallion.backends.taxii.directory_backend",
                "module_class": "DirectoryBackend", "path": "./data/", "load_from_path": true}}),
            ["DirectoryBackend", "taxiid import"],
        ),
        (
            json!({"auth": {"module_class": "AuthMongodbBackend", "uri": "mongodb://localhost:27017/"}}),
            ["AuthMongodbBackend", "auth.users"],
        ),
    ] {
        let dir = medallion_1x_dir(|c| {
            for (k, v) in adjust.as_object().unwrap() {
                c[k] = v.clone();
            }
        });
        crate::general::run_to_exit(
            dir.path(),
            &["--no-conf-dir", "--conf-file", "config.json", "--port", "0"],
            &[],
        )
        .assert_one_line_error(&needles);
    }
}
