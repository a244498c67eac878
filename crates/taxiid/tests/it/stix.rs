//! STIX-derived storage rules: checklist STIX and IOP-10.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::*;

const CONFLICT: &str = "a different object with this id and version is already stored";
const DUPLICATE: &str = "this version was already present; the stored copy is unchanged";

/// Posts the raw envelope text; returns the 202 status.
async fn post_raw(s: &TestServer, c: &str, body: String) -> Value {
    let r = Resp::from(
        s.req(Method::POST, &objects_url(c))
            .header("Content-Type", T21)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_t21(&r);
    r.json()
}

#[tokio::test]
async fn one_id_and_modified_pair_never_makes_two_versions() {
    let s = TestServer::medallion();
    let v = indicator(1, "2020-01-01T00:00:00.000Z");
    add_ok(&s, EMPTY, std::slice::from_ref(&v)).await;
    // The same instant written differently is the same version: the new text conflicts.
    let mut same_instant = v.clone();
    same_instant["modified"] = json!("2020-01-01T00:00:00Z");
    let mut changed = v.clone();
    changed["name"] = json!("other");
    let st = s
        .post_objects(
            &objects_url(EMPTY),
            &json!({"objects": [v, same_instant, changed]}),
        )
        .await
        .json();
    assert_eq!(st["success_count"], 1);
    assert_eq!(st["failure_count"], 2);
    assert_eq!(
        st["failures"],
        json!([
            {"id": indicator_id(1), "version": "2020-01-01T00:00:00Z", "message": CONFLICT},
            {"id": indicator_id(1), "version": "2020-01-01T00:00:00.000Z", "message": CONFLICT}
        ])
    );
    let r = s.get(&versions_url(EMPTY, &indicator_id(1))).await;
    assert_eq!(
        r.json(),
        json!({"more": false, "versions": ["2020-01-01T00:00:00.000Z"]})
    );
    // The same pair in two collections is two independent records.
    add_ok(&s, RW, &[indicator(1, "2020-01-01T00:00:00.000Z")]).await;
    let r = s.get(&versions_url(RW, &indicator_id(1))).await;
    assert_eq!(r.json()["versions"], json!(["2020-01-01T00:00:00.000Z"]));
}

#[tokio::test]
async fn a_marking_definition_is_versioned_by_created() {
    let s = TestServer::medallion();
    let id = "marking-definition--00000000-0000-4000-8000-000000000001";
    let m = json!({"type": "marking-definition", "spec_version": "2.1", "id": id,
        "created": "2017-01-20T00:00:00.000Z", "definition_type": "statement",
        "definition": {"statement": "copyright"}});
    let st = add_ok(&s, EMPTY, std::slice::from_ref(&m)).await;
    assert_eq!(
        st["successes"],
        json!([{"id": id, "version": "2017-01-20T00:00:00.000Z"}])
    );
    let st = s
        .post_objects(&objects_url(EMPTY), &json!({"objects": [m]}))
        .await
        .json();
    assert_eq!(
        st["successes"],
        json!([{"id": id, "version": "2017-01-20T00:00:00.000Z", "message": DUPLICATE}])
    );
    let mut other = m.clone();
    other["definition"] = json!({"statement": "changed"});
    let st = s
        .post_objects(&objects_url(EMPTY), &json!({"objects": [other]}))
        .await
        .json();
    assert_eq!(st["failure_count"], 1);
    let r = s
        .get(&format!(
            "{}?match[version]=2017-01-20T00:00:00Z",
            object_url(EMPTY, id)
        ))
        .await;
    assert_eq!(r.json(), json!({"more": false, "objects": [m]}));
    let r = s.get(&manifest_url(EMPTY)).await;
    assert_eq!(
        r.json()["objects"][0]["version"],
        "2017-01-20T00:00:00.000Z"
    );
}

#[tokio::test]
async fn an_sco_keeps_the_date_added_of_its_first_post_as_its_only_version() {
    let s = TestServer::medallion();
    let id = "ipv4-addr--00000000-0000-4000-8000-000000000001";
    let sco = json!({"type": "ipv4-addr", "id": id, "value": "10.0.0.1"});
    let st = add_ok(&s, EMPTY, std::slice::from_ref(&sco)).await;
    let m = s.get(&manifest_url(EMPTY)).await.json();
    let date = m["objects"][0]["date_added"].as_str().unwrap().to_owned();
    assert_eq!(m["objects"][0]["version"], date);
    assert_eq!(st["successes"], json!([{"id": id, "version": date}]));
    // Identical again (members reordered): a duplicate of that version.
    let st = post_raw(
        &s,
        EMPTY,
        format!(
            "{{\"objects\":[{{\"value\":\"10.0.0.1\",\"id\":\"{id}\",\"type\":\"ipv4-addr\"}}]}}"
        ),
    )
    .await;
    assert_eq!(
        st["successes"],
        json!([{"id": id, "version": date, "message": DUPLICATE}])
    );
    // Different content under the same id: a conflict with the stable version.
    let mut changed = sco.clone();
    changed["value"] = json!("10.0.0.2");
    let st = s
        .post_objects(&objects_url(EMPTY), &json!({"objects": [changed]}))
        .await
        .json();
    assert_eq!(
        st["failures"],
        json!([{"id": id, "version": date, "message": CONFLICT}])
    );
    let r = s.get(&versions_url(EMPTY, id)).await;
    assert_page(&r, &date, &date);
    assert_eq!(r.json(), json!({"more": false, "versions": [date]}));
    let r = s
        .get(&format!("{}?match[version]={date}", object_url(EMPTY, id)))
        .await;
    assert_page(&r, &date, &date);
    assert_eq!(r.json(), json!({"more": false, "objects": [sco]}));
    // The sample's SCO re-posted is a duplicate of its imported version.
    let st = s
        .post_objects(
            &objects_url(RW),
            &json!({"objects": [sample_object(IPV4, IPV4_V)]}),
        )
        .await
        .json();
    assert_eq!(
        st["successes"],
        json!([{"id": IPV4, "version": IPV4_V, "message": DUPLICATE}])
    );
}

#[tokio::test]
async fn the_latest_version_is_the_one_with_the_greatest_modified() {
    let s = TestServer::medallion();
    let versions = [
        "2019-06-01T00:00:00.000Z",
        "2019-06-01T00:00:00.001Z",
        "2018-01-01T00:00:00Z",
        "2019-06-01T00:00:00.000999999Z",
    ];
    let objects: Vec<Value> = versions.iter().map(|v| indicator(1, v)).collect();
    add_ok(&s, EMPTY, &objects).await;
    let m = manifest_all(&s, EMPTY).await;
    let r = s.get(&object_url(EMPTY, &indicator_id(1))).await;
    let d = m[1]["date_added"].as_str().unwrap();
    assert_page(&r, d, d);
    assert_eq!(r.json(), json!({"more": false, "objects": [objects[1]]}));
    let r = s
        .get(&format!("{}?match[version]=first", objects_url(EMPTY)))
        .await;
    assert_eq!(r.json(), json!({"more": false, "objects": [objects[2]]}));
}

#[tokio::test]
async fn an_id_whose_prefix_differs_from_the_type_is_refused() {
    let s = TestServer::medallion();
    let mut o = indicator(1, "2020-01-01T00:00:00.000Z");
    o["type"] = json!("malware");
    let st = s
        .post_objects(&objects_url(EMPTY), &json!({"objects": [o]}))
        .await
        .json();
    assert_eq!(st["success_count"], 0);
    assert_eq!(
        st["failures"],
        json!([{"id": indicator_id(1), "version": "2020-01-01T00:00:00.000Z",
            "message": "the id prefix 'indicator' does not match the type 'malware'"}])
    );
    assert_empty_page(&s.get(&objects_url(EMPTY)).await);
}

#[tokio::test]
async fn an_object_modified_before_it_was_created_is_refused() {
    let s = TestServer::medallion();
    let mut o = indicator(1, "2009-12-31T23:59:59.999Z");
    o["created"] = json!("2010-01-01T00:00:00.000Z");
    let ok = indicator(2, "2010-01-01T00:00:00.000Z");
    let st = s
        .post_objects(&objects_url(EMPTY), &json!({"objects": [o, ok]}))
        .await
        .json();
    assert_eq!(st["success_count"], 1);
    assert_eq!(
        st["failures"],
        json!([{"id": indicator_id(1), "version": "2009-12-31T23:59:59.999Z",
            "message": "'modified' is earlier than 'created'"}])
    );
    assert_eq!(
        ids(&s.get(&objects_url(EMPTY)).await.json()),
        [indicator_id(2)]
    );
}

#[tokio::test]
async fn timestamps_inside_objects_are_never_reformatted() {
    let s = TestServer::medallion();
    let written = [
        ("2016-01-01T00:00:00.000Z", 1),
        ("2016-01-01T00:00:01Z", 2),
        ("2016-01-01T00:00:02.1Z", 3),
        ("2016-01-01T00:00:03.123456789Z", 4),
        ("2016-01-01T00:00:04.000000Z", 5),
    ];
    let mut texts = Vec::new();
    for (v, n) in written {
        let text = format!(
            "{{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"{}\",\"created\":\"{v}\",\"modified\":\"{v}\",\"pattern\":\"[ipv4-addr:value = '10.0.0.{n}']\",\"pattern_type\":\"stix\",\"valid_from\":\"{v}\"}}",
            indicator_id(n)
        );
        texts.push(text);
    }
    let st = post_raw(&s, EMPTY, format!("{{\"objects\":[{}]}}", texts.join(","))).await;
    assert_eq!(st["success_count"], 5);
    let versions: Vec<&str> = written.iter().map(|(v, _)| *v).collect();
    let reported: Vec<&str> = st["successes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_str().unwrap())
        .collect();
    assert_eq!(reported, versions);
    let r = s.get(&objects_url(EMPTY)).await;
    assert_eq!(
        r.text,
        format!("{{\"more\":false,\"objects\":[{}]}}", texts.join(","))
    );
    let m = s.get(&manifest_url(EMPTY)).await.json();
    let listed: Vec<&str> = m["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, versions);
    for ((v, n), text) in written.iter().zip(&texts) {
        let r = s.get(&versions_url(EMPTY, &indicator_id(*n))).await;
        assert_eq!(r.json(), json!({"more": false, "versions": [v]}));
        let r = s.get(&object_url(EMPTY, &indicator_id(*n))).await;
        assert_eq!(r.text, format!("{{\"more\":false,\"objects\":[{text}]}}"));
    }
    // The sample's 9-digit custom object too.
    let r = s.get(&object_url(RW, WIDGET)).await;
    assert!(
        r.text.contains("\"2018-01-01T00:00:00.123456789Z\""),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn the_spec_version_of_an_object_follows_its_property_or_the_stix_default() {
    let s = TestServer::medallion();
    let explicit20 = json!({"type": "malware", "spec_version": "2.0",
        "id": "malware--00000000-0000-4000-8000-000000000001",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "a", "labels": ["trojan"]});
    let implicit20 = json!({"type": "malware",
        "id": "malware--00000000-0000-4000-8000-000000000002",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "b", "labels": ["trojan"]});
    let explicit21 = json!({"type": "malware", "spec_version": "2.1",
        "id": "malware--00000000-0000-4000-8000-000000000003",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "name": "c", "is_family": false});
    let sco = json!({"type": "url", "id": "url--00000000-0000-4000-8000-000000000004",
        "value": "https://example.com/"});
    let sco21 = json!({"type": "url", "spec_version": "2.1",
        "id": "url--00000000-0000-4000-8000-000000000005", "value": "https://example.org/"});
    add_ok(
        &s,
        EMPTY,
        &[
            explicit20.clone(),
            implicit20.clone(),
            explicit21.clone(),
            sco.clone(),
            sco21.clone(),
        ],
    )
    .await;
    let m = s.get(&manifest_url(EMPTY)).await.json();
    let media: Vec<&str> = m["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["media_type"].as_str().unwrap())
        .collect();
    assert_eq!(media, [STIX20, STIX20, STIX21, STIX21, STIX21]);
    let r = s
        .get(&format!("{}?match[spec_version]=2.0", objects_url(EMPTY)))
        .await;
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [explicit20, implicit20]})
    );
    let r = s
        .get(&format!("{}?match[spec_version]=2.1", objects_url(EMPTY)))
        .await;
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [explicit21, sco, sco21]})
    );
}

#[tokio::test]
async fn the_manifest_media_type_names_each_version_s_spec_version() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!(
            "{}?match[id]={MALWARE}&match[spec_version]=2.0,2.1&match[version]=all",
            manifest_url(RW)
        ))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [
            record(MALWARE, IND_D3, MAL_V20, STIX20),
            record(MALWARE, IND_D3, MAL_V21, STIX21),
        ]})
    );
}

#[tokio::test]
async fn a_revoked_version_stays_retrievable_like_any_other() {
    let s = TestServer::medallion();
    let v1 = indicator(1, "2020-01-01T00:00:00.000Z");
    let mut revoked = indicator(1, "2020-02-01T00:00:00.000Z");
    revoked["revoked"] = json!(true);
    add_ok(&s, EMPTY, &[v1.clone(), revoked.clone()]).await;
    let m = manifest_all(&s, EMPTY).await;
    let r = s.get(&object_url(EMPTY, &indicator_id(1))).await;
    let d = m[1]["date_added"].as_str().unwrap();
    assert_page(&r, d, d);
    assert_eq!(r.json(), json!({"more": false, "objects": [revoked]}));
    let r = s.get(&objects_url(EMPTY)).await;
    assert_eq!(r.json(), json!({"more": false, "objects": [revoked]}));
    let r = s
        .get(&format!("{}?match[version]=all", objects_url(EMPTY)))
        .await;
    assert_eq!(r.json(), json!({"more": false, "objects": [v1, revoked]}));
}

#[tokio::test]
async fn language_content_and_extension_definitions_are_versioned_by_modified() {
    let s = TestServer::medallion();
    let lc = |modified: &str, title: &str| {
        json!({"type": "language-content", "spec_version": "2.1",
            "id": "language-content--00000000-0000-4000-8000-000000000001",
            "created": "2017-02-08T21:31:22.007Z", "modified": modified,
            "object_ref": "campaign--12a111f0-b824-4baf-a224-83b80237a094",
            "object_modified": "2017-02-08T21:31:22.007Z",
            "contents": {"de": {"name": title}}})
    };
    let ext = |modified: &str| {
        json!({"type": "extension-definition", "spec_version": "2.1",
            "id": "extension-definition--00000000-0000-4000-8000-000000000002",
            "created_by_ref": "identity--11b76a96-5d2b-45e0-8a5a-f6994f370731",
            "created": "2014-02-20T09:16:08.989Z", "modified": modified,
            "name": "ext", "schema": "https://example.com/schema.json", "version": "1.0.0",
            "extension_types": ["property-extension"]})
    };
    let objects = [
        lc("2017-02-08T21:31:22.007Z", "Bank Angriff 1"),
        lc("2017-03-08T21:31:22.007Z", "Bank Angriff 2"),
        ext("2014-02-20T09:16:08.989Z"),
        ext("2015-02-20T09:16:08.989Z"),
    ];
    let st = add_ok(&s, EMPTY, &objects).await;
    let versions: Vec<&str> = st["successes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "2017-02-08T21:31:22.007Z",
            "2017-03-08T21:31:22.007Z",
            "2014-02-20T09:16:08.989Z",
            "2015-02-20T09:16:08.989Z"
        ]
    );
    let r = s.get(&objects_url(EMPTY)).await;
    let m = manifest_all(&s, EMPTY).await;
    assert_envelope_page(&r, &m);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [objects[1], objects[3]]})
    );
    assert!(m.iter().all(|e| e["media_type"] == STIX21));
    let r = s
        .get(&versions_url(
            EMPTY,
            "language-content--00000000-0000-4000-8000-000000000001",
        ))
        .await;
    assert_eq!(
        r.json()["versions"],
        json!(["2017-02-08T21:31:22.007Z", "2017-03-08T21:31:22.007Z"])
    );
}

#[tokio::test]
async fn an_envelope_with_custom_properties_is_accepted_and_the_status_stays_standard() {
    let s = TestServer::medallion();
    let text = "{\"type\":\"x-acme-widget\",\"spec_version\":\"2.1\",\"id\":\"x-acme-widget--00000000-0000-4000-8000-000000000001\",\"created\":\"2020-01-01T00:00:00.000Z\",\"modified\":\"2020-01-01T00:00:00.000Z\",\"x_acme_note\":\"n\",\"x_acme_score\":97.50,\"x_acme_tags\":[\"a\",\"b\"]}";
    let st = post_raw(
        &s,
        EMPTY,
        format!("{{\"x_acme_envelope_note\":\"hi\",\"objects\":[{text}],\"x_acme_count\":1}}"),
    )
    .await;
    assert_eq!(st["status"], "complete");
    assert_eq!(st["success_count"], 1);
    assert_eq!(st["total_count"], 1);
    let mut keys: Vec<&str> = st.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "failure_count",
            "id",
            "pending_count",
            "request_timestamp",
            "status",
            "success_count",
            "successes",
            "total_count"
        ]
    );
    let r = s.get(&objects_url(EMPTY)).await;
    assert_eq!(r.text, format!("{{\"more\":false,\"objects\":[{text}]}}"));
}
