//! Collections (COLL) and the interop permission fixture (IOP-2, IOP-4).

use reqwest::Method;
use serde_json::{Value, json};

use crate::general::{
    Kind, check_resource, coll, envelope, indicator, is_uuid_v4, memory_config, one_root,
    run_to_exit, serve, write_files,
};
use crate::helpers::*;

const SAMPLE_IDS: [&str; 5] = [RW, EMPTY, WRITE_ONLY, READ_ONLY, NO_ACCESS];

fn ids(list: &Value) -> Vec<String> {
    list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_collections_list_gives_id_title_and_both_flags_for_every_collection() {
    let s = TestServer::medallion();
    let r = s.get(&format!("{ROOT}collections/")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T21));
    let v = r.json();
    check_resource(Kind::Collections, &v);
    let list = v["collections"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    for c in list {
        assert!(c["id"].is_string() && c["title"].is_string(), "{c}");
        assert!(
            c["can_read"].is_boolean() && c["can_write"].is_boolean(),
            "{c}"
        );
    }
    let mut got = ids(&v);
    got.sort();
    let mut want: Vec<String> = SAMPLE_IDS.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn an_api_root_without_collections_lists_an_empty_object() {
    let s = TestServer::medallion();
    for root in ["/api1/", "/api2/"] {
        let r = s.get(&format!("{root}collections/")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(T21));
        assert_eq!(r.json(), json!({}));
    }
}

#[tokio::test]
async fn repeating_the_list_request_gives_the_same_order() {
    let s = TestServer::medallion();
    let first = s.get(&format!("{ROOT}collections/")).await.text;
    for _ in 0..5 {
        assert_eq!(s.get(&format!("{ROOT}collections/")).await.text, first);
    }
}

#[tokio::test]
async fn the_list_is_ordered_by_id_ascending_whatever_the_file_order() {
    let s = TestServer::medallion();
    let got = ids(&s.get(&format!("{ROOT}collections/")).await.json());
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted);
    // The data file lists them in descending order here.
    let mut data = json!({"api1": {"information": {"title": "A", "versions": [T21], "max_content_length": 1000}, "status": [], "collections": []}});
    for id in [
        "f0000000-0000-4000-8000-000000000000",
        "a0000000-0000-4000-8000-000000000000",
        "50000000-0000-4000-8000-000000000000",
        "00000000-0000-4000-8000-000000000000",
    ] {
        data["api1"]["collections"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "id": id, "title": id, "can_read": true, "can_write": true,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []
            }));
    }
    let s = serve(&data, |_| {});
    let got = ids(&s.get("/api1/collections/").await.json());
    assert_eq!(
        got,
        [
            "00000000-0000-4000-8000-000000000000",
            "50000000-0000-4000-8000-000000000000",
            "a0000000-0000-4000-8000-000000000000",
            "f0000000-0000-4000-8000-000000000000"
        ]
    );
}

#[tokio::test]
async fn collection_ids_the_server_creates_are_uuid_v4_strings() {
    let s = TestServer::start(&[]);
    let v = s.get("/api1/collections/").await.json();
    for id in ids(&v) {
        assert!(is_uuid_v4(&id), "{id}");
    }
    // Ids of a loaded data file are canonical UUID strings, kept as stored (IMP-2).
    let s = TestServer::medallion();
    for id in ids(&s.get(&format!("{ROOT}collections/")).await.json()) {
        assert_eq!(id.len(), 36, "{id}");
    }
}

#[tokio::test]
async fn a_data_file_giving_two_collections_one_alias_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = one_root("api1", "00000000-0000-4000-8000-000000000001");
    let mut second = data["api1"]["collections"][0].clone();
    second["id"] = json!("00000000-0000-4000-8000-000000000002");
    data["api1"]["collections"][0]["alias"] = json!("intel");
    second["alias"] = json!("intel");
    data["api1"]["collections"]
        .as_array_mut()
        .unwrap()
        .push(second);
    write_files(
        dir.path(),
        &[
            ("data.json", data.to_string()),
            ("config.json", memory_config().to_string()),
        ],
    );
    let exit = run_to_exit(
        dir.path(),
        &["--no-conf-dir", "--port", "0", "-c", "config.json"],
        &[],
    );
    exit.assert_one_line_error(&["data.json", "alias", "intel"]);
    // The same alias in two different API roots is fine.
    let mut data = one_root("api1", "00000000-0000-4000-8000-000000000001");
    data["api1"]["collections"][0]["alias"] = json!("intel");
    data["api2"] = data["api1"].clone();
    let s = serve(&data, |_| {});
    assert_eq!(s.get("/api2/collections/intel/").await.status, 200);
}

#[tokio::test]
async fn a_collection_alias_resolves_everywhere_and_responses_show_the_real_id() {
    let id = "00000000-0000-4000-8000-000000000001";
    let mut data = one_root("api1", id);
    data["api1"]["collections"][0]["alias"] = json!("intel");
    let s = serve(&data, |_| {});
    let by_alias = s.get("/api1/collections/intel/").await;
    assert_eq!(by_alias.status, 200);
    assert_eq!(by_alias.json()["id"], id);
    assert_eq!(by_alias.json()["alias"], "intel");
    assert_eq!(
        by_alias.json(),
        s.get(&format!("/api1/collections/{id}/")).await.json()
    );
    let r = s
        .post_objects(
            "/api1/collections/intel/objects/",
            &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let oid = "indicator--00000001-0000-4000-8000-000000000000";
    for path in [
        "/api1/collections/intel/objects/".to_owned(),
        "/api1/collections/intel/manifest/".to_owned(),
        format!("/api1/collections/intel/objects/{oid}/"),
        format!("/api1/collections/intel/objects/{oid}/versions/"),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let real = s.get(&path.replace("intel", id)).await;
        assert_eq!(r.text, real.text, "{path}");
    }
    let r = s
        .req(
            Method::DELETE,
            &format!("/api1/collections/intel/objects/{oid}/"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.get(&format!("/api1/collections/{id}/objects/"))
            .await
            .json(),
        json!({})
    );
}

#[tokio::test]
async fn media_types_list_every_accepted_type_even_while_the_collection_is_empty() {
    let s = TestServer::medallion();
    let v = s.get(&coll(EMPTY)).await.json();
    assert_eq!(
        v["media_types"],
        json!([
            "application/stix+json;version=2.1",
            "application/stix+json;version=2.0"
        ])
    );
    // A collection created without media_types lists every STIX version the server accepts.
    let plain = TestServer::start(&[]);
    let v = plain.get("/api1/collections/default/").await.json();
    let types = v["media_types"].as_array().unwrap();
    assert!(
        types.contains(&json!("application/stix+json;version=2.1")),
        "{v}"
    );
    assert!(
        types.contains(&json!("application/stix+json;version=2.0")),
        "{v}"
    );
    assert_eq!(
        plain.get("/api1/collections/default/objects/").await.json(),
        json!({})
    );
    // A 2.0 object added to a collection that listed only 2.1 gets its type listed.
    let id = "00000000-0000-4000-8000-000000000001";
    let s = serve(&one_root("api1", id), |_| {});
    let malware20 = json!({"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000009",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "x", "labels": ["trojan"]});
    let r = s
        .post_objects(
            &format!("/api1/collections/{id}/objects/"),
            &envelope(&[malware20]),
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.json()["success_count"], 1, "{}", r.text);
    let v = s.get(&format!("/api1/collections/{id}/")).await.json();
    assert_eq!(
        v["media_types"],
        json!([
            "application/stix+json;version=2.1",
            "application/stix+json;version=2.0"
        ])
    );
}

#[tokio::test]
async fn media_types_are_always_emitted_with_version_parameters() {
    let id = "00000000-0000-4000-8000-000000000001";
    let mut data = one_root("api1", id);
    data["api1"]["collections"][0]
        .as_object_mut()
        .unwrap()
        .remove("media_types");
    for (s, root) in [
        (TestServer::medallion(), ROOT),
        (serve(&data, |_| {}), "/api1/"),
    ] {
        let v = s.get(&format!("{root}collections/")).await.json();
        for c in v["collections"].as_array().unwrap() {
            let types = c["media_types"].as_array().unwrap_or_else(|| panic!("{c}"));
            assert!(!types.is_empty());
            for t in types {
                assert!(
                    t.as_str()
                        .unwrap()
                        .starts_with("application/stix+json;version="),
                    "{t}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_single_collection_is_the_same_representation_as_its_list_entry() {
    let s = TestServer::medallion();
    let list = s.get(&format!("{ROOT}collections/")).await.json();
    for entry in list["collections"].as_array().unwrap() {
        let id = entry["id"].as_str().unwrap();
        let r = s.get(&coll(id)).await;
        assert_eq!(r.status, 200, "{id}");
        assert_eq!(r.header("content-type"), Some(T21));
        assert_eq!(&r.json(), entry);
        check_resource(Kind::Collection, entry);
    }
}

#[tokio::test]
async fn an_unknown_collection_id_is_404() {
    let s = TestServer::medallion();
    for c in [
        "00000000-0000-4000-8000-000000000000",
        "nope",
        "91A7B528-80EB-42ED-A74D-C6FBD5A26116",
    ] {
        for suffix in [
            "",
            "objects/",
            "manifest/",
            "objects/indicator--6770298f-0fd8-471a-ab8c-1c658a46574e/",
        ] {
            s.get(&format!("{}{suffix}", coll(c)))
                .await
                .assert_error(404);
        }
        let r = s
            .post_objects(
                &format!("{}objects/", coll(c)),
                &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
            )
            .await;
        r.assert_error(404);
    }
}

#[tokio::test]
async fn missing_or_wrong_credentials_on_the_collection_endpoints_get_401() {
    let s = TestServer::medallion();
    for path in [format!("{ROOT}collections/"), coll(RW)] {
        let r = Resp::from(
            s.bare(Method::GET, &path)
                .header("Accept", T21)
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.assert_error(401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));
        let r = Resp::from(
            s.bare(Method::GET, &path)
                .header("Accept", T21)
                .basic_auth("admin", Some("Password1"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.assert_error(401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));
    }
}

async fn add(s: &TestServer, c: &str) -> Resp {
    s.post_objects(
        &format!("{}objects/", coll(c)),
        &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
    )
    .await
}

async fn delete(s: &TestServer, c: &str, o: &str) -> Resp {
    let path = format!("{}objects/{o}/", coll(c));
    Resp::from(s.req(Method::DELETE, &path).send().await.unwrap()).await
}

#[tokio::test]
async fn the_interop_permission_fixture_answers_403_and_404_as_required() {
    let s = TestServer::medallion();
    // Sorted by id (IOP-2), every collection listed, no-access with both flags false.
    let list = s.get(&format!("{ROOT}collections/")).await.json();
    let got = ids(&list);
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted);
    let flags: Vec<(String, Value, Value)> = list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["can_read"].clone(),
                c["can_write"].clone(),
            )
        })
        .collect();
    for (id, read, write) in [
        (RW, true, true),
        (WRITE_ONLY, false, true),
        (READ_ONLY, true, false),
        (NO_ACCESS, false, false),
    ] {
        assert!(
            flags.contains(&(id.to_owned(), json!(read), json!(write))),
            "{id}: {flags:?}"
        );
    }
    // Read on write-only → 403, on every read endpoint.
    for suffix in [
        "objects/",
        "manifest/",
        "objects/indicator--00000001-0000-4000-8000-000000000000/",
        "objects/indicator--00000001-0000-4000-8000-000000000000/versions/",
    ] {
        s.get(&format!("{}{suffix}", coll(WRITE_ONLY)))
            .await
            .assert_error(403);
    }
    // Write on read-only → 403.
    add(&s, READ_ONLY).await.assert_error(403);
    // Write on write-only works.
    assert_eq!(add(&s, WRITE_ONLY).await.status, 202);
    // Delete on read-only or write-only → 403; on no-access → 404; unknown collection → 404.
    delete(
        &s,
        READ_ONLY,
        "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
    )
    .await
    .assert_error(403);
    delete(
        &s,
        WRITE_ONLY,
        "indicator--00000001-0000-4000-8000-000000000000",
    )
    .await
    .assert_error(403);
    delete(
        &s,
        NO_ACCESS,
        "indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f",
    )
    .await
    .assert_error(404);
    delete(
        &s,
        "00000000-0000-4000-8000-00000000dead",
        "indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f",
    )
    .await
    .assert_error(404);
    s.get(&format!(
        "{}objects/",
        coll("00000000-0000-4000-8000-00000000dead")
    ))
    .await
    .assert_error(404);
    // The refused delete removed nothing.
    let r = s.get(&format!("{}objects/", coll(READ_ONLY))).await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 1);
    // The no-access collection is visible, but neither readable nor writable.
    assert_eq!(s.get(&coll(NO_ACCESS)).await.status, 200);
    s.get(&format!("{}objects/", coll(NO_ACCESS)))
        .await
        .assert_error(403);
    add(&s, NO_ACCESS).await.assert_error(403);
}
