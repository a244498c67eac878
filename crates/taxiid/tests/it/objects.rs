//! Get Objects (`GET {r}collections/{c}/objects/`): checklist OBJ, SORT-1 and the page
//! headers (HDR) on this endpoint. The helpers at the top are shared by the other object-level
//! modules (manifest, add, object, versions, filters, paging, stix).

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Shared fixtures and assertions
// ---------------------------------------------------------------------------------------------

/// Objects of the sample's read-write collection.
pub(crate) const INDICATOR: &str = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e";
pub(crate) const MALWARE: &str = "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec";
pub(crate) const MARKING: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
pub(crate) const RELATIONSHIP: &str = "relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463";
pub(crate) const IPV4: &str = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd";
pub(crate) const WIDGET: &str = "x-acme-widget--a1b2c3d4-0000-4000-8000-00000000abcd";
/// The only object of the read-only collection.
pub(crate) const RO_INDICATOR: &str = "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f";
/// The only object of the no-access collection.
pub(crate) const SECRET_INDICATOR: &str = "indicator--b81f86b9-975b-4b0b-875e-810c5bd45b4f";

/// The three versions of [`INDICATOR`], oldest first, with their `date_added`.
pub(crate) const IND_V1: &str = "2016-11-03T12:30:59.000Z";
pub(crate) const IND_V2: &str = "2016-12-25T12:30:59.444Z";
pub(crate) const IND_V3: &str = "2017-01-27T13:49:53.935Z";
pub(crate) const IND_D1: &str = "2016-11-01T03:04:05.000000Z";
pub(crate) const IND_D2: &str = "2016-12-27T13:49:59.000000Z";
pub(crate) const IND_D3: &str = "2017-01-27T13:49:59.997000Z";
/// [`MALWARE`]: a STIX 2.0 version modified later than its STIX 2.1 version; both share the
/// `date_added` of [`IND_D3`].
pub(crate) const MAL_V20: &str = "2018-02-23T18:30:00.000Z";
pub(crate) const MAL_V21: &str = "2017-01-27T13:49:53.997Z";
pub(crate) const MARKING_V: &str = "2017-01-20T00:00:00.000Z";
pub(crate) const MARKING_D: &str = "2017-01-20T00:00:00.000000Z";
pub(crate) const REL_V: &str = "2014-05-08T09:00:00.000Z";
pub(crate) const REL_D: &str = "2014-05-08T09:00:00.000000Z";
pub(crate) const IPV4_V: &str = "2017-02-01T10:00:00.000000Z";
pub(crate) const IPV4_D: &str = "2017-02-01T10:00:00.000000Z";
pub(crate) const WIDGET_V: &str = "2018-01-01T00:00:00.123456789Z";
pub(crate) const WIDGET_D: &str = "2018-01-01T00:00:01.000000Z";

pub(crate) const STIX20: &str = "application/stix+json;version=2.0";
pub(crate) const STIX21: &str = "application/stix+json;version=2.1";

pub(crate) fn coll_url(c: &str) -> String {
    format!("{ROOT}collections/{c}/")
}
pub(crate) fn objects_url(c: &str) -> String {
    format!("{ROOT}collections/{c}/objects/")
}
pub(crate) fn manifest_url(c: &str) -> String {
    format!("{ROOT}collections/{c}/manifest/")
}
pub(crate) fn object_url(c: &str, id: &str) -> String {
    format!("{ROOT}collections/{c}/objects/{id}/")
}
pub(crate) fn versions_url(c: &str, id: &str) -> String {
    format!("{ROOT}collections/{c}/objects/{id}/versions/")
}

/// The sample data file as JSON.
pub(crate) fn sample() -> Value {
    serde_json::from_str(&std::fs::read_to_string(sample_data()).unwrap()).unwrap()
}

/// One version of a sample object as the server must serve it: every member except the hidden
/// `_…` ones. `version` is its `modified`, else `created`, else `_date_added`.
pub(crate) fn sample_object(id: &str, version: &str) -> Value {
    let doc = sample();
    for c in doc["trustgroup1"]["collections"].as_array().unwrap() {
        for o in c["objects"].as_array().unwrap() {
            let v = o
                .get("modified")
                .or_else(|| o.get("created"))
                .or_else(|| o.get("_date_added"));
            if o["id"] == id && v.and_then(Value::as_str) == Some(version) {
                let mut o = o.as_object().unwrap().clone();
                o.retain(|k, _| !k.starts_with('_'));
                return Value::Object(o);
            }
        }
    }
    panic!("no sample object {id} {version}")
}

/// A manifest record as the server must serve it.
pub(crate) fn record(id: &str, date_added: &str, version: &str, media_type: &str) -> Value {
    json!({"id": id, "date_added": date_added, "version": version, "media_type": media_type})
}

/// `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`
pub(crate) fn is_taxii_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

pub(crate) fn assert_t21(r: &Resp) {
    assert_eq!(r.header("content-type"), Some(T21), "{r:?}");
}

/// A 200 TAXII page whose page headers are exactly `first` and `last`.
pub(crate) fn assert_page(r: &Resp, first: &str, last: &str) {
    assert_eq!(r.status, 200, "body: {}", r.text);
    assert_t21(r);
    let f = r.header("x-taxii-date-added-first");
    let l = r.header("x-taxii-date-added-last");
    assert!(
        f.is_some_and(is_taxii_timestamp),
        "X-TAXII-Date-Added-First {f:?}"
    );
    assert!(
        l.is_some_and(is_taxii_timestamp),
        "X-TAXII-Date-Added-Last {l:?}"
    );
    assert_eq!(f, Some(first), "X-TAXII-Date-Added-First");
    assert_eq!(l, Some(last), "X-TAXII-Date-Added-Last");
}

/// A 200 TAXII page with no records: body `{}`, no page header.
pub(crate) fn assert_empty_page(r: &Resp) {
    assert_eq!(r.status, 200, "body: {}", r.text);
    assert_t21(r);
    assert_eq!(r.header("x-taxii-date-added-first"), None);
    assert_eq!(r.header("x-taxii-date-added-last"), None);
    assert_eq!(r.json(), json!({}));
}

/// The `id`s of a body's `objects`.
pub(crate) fn ids(body: &Value) -> Vec<String> {
    body["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `(id, version)` of each record of a manifest body, or of each object of an envelope
/// (`modified`, else `created`, else "" for an SCO).
pub(crate) fn pairs(body: &Value) -> Vec<(String, String)> {
    body["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    let v = o
                        .get("version")
                        .or_else(|| o.get("modified"))
                        .or_else(|| o.get("created"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    (o["id"].as_str().unwrap().to_owned(), v.to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A STIX 2.1 indicator numbered `n`.
pub(crate) fn indicator(n: u32, modified: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2010-01-01T00:00:00.000Z", "modified": modified,
        "name": format!("indicator {n}"),
        "pattern": format!("[ipv4-addr:value = '10.0.{}.{}']", n / 256, n % 256),
        "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z"
    })
}

pub(crate) fn indicator_id(n: u32) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012}")
}

/// Posts the objects to the collection under [`ROOT`] and asserts that each one was stored.
pub(crate) async fn add_ok(s: &TestServer, c: &str, objects: &[Value]) -> Value {
    let r = s
        .post_objects(&objects_url(c), &json!({ "objects": objects }))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status = r.json();
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["success_count"], objects.len(), "{status}");
    assert_eq!(status["failure_count"], 0, "{status}");
    status
}

/// Every manifest record of the collection (every version, every spec version), walking the
/// pages with `next`.
pub(crate) async fn manifest_all(s: &TestServer, c: &str) -> Vec<Value> {
    let base = format!(
        "{}?match[version]=all&match[spec_version]=2.0,2.1",
        manifest_url(c)
    );
    let mut out = Vec::new();
    let mut url = base.clone();
    loop {
        let r = s.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = r.json();
        out.extend(body["objects"].as_array().cloned().unwrap_or_default());
        match body["next"].as_str() {
            Some(n) if body["more"] == true => url = format!("{base}&next={n}"),
            _ => break,
        }
    }
    out
}

/// The manifest `date_added` of an object version (found by id and `modified`/`created`, or by
/// id alone for an object without either).
pub(crate) fn date_added_of(manifest: &[Value], o: &Value) -> String {
    let id = o["id"].as_str().unwrap();
    let version = o
        .get("modified")
        .or_else(|| o.get("created"))
        .and_then(Value::as_str);
    let found: Vec<&Value> = manifest
        .iter()
        .filter(|m| m["id"] == id && version.is_none_or(|v| m["version"] == v))
        .collect();
    assert_eq!(found.len(), 1, "{id} {version:?} in {manifest:?}");
    found[0]["date_added"].as_str().unwrap().to_owned()
}

/// Asserts a non-empty 200 envelope whose page headers are the manifest `date_added` of its
/// first and last object.
pub(crate) fn assert_envelope_page(r: &Resp, manifest: &[Value]) {
    let body = r.json();
    let objects = body["objects"].as_array().expect("objects");
    assert!(!objects.is_empty());
    let first = date_added_of(manifest, &objects[0]);
    let last = date_added_of(manifest, objects.last().unwrap());
    assert_page(r, &first, &last);
}

/// Now, as a TAXII timestamp.
pub(crate) fn now_taxii() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = i64::try_from(d.as_secs()).unwrap();
    let micros = d.subsec_micros();
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// A GET as `user1` (the sample's second user).
pub(crate) async fn get_as(s: &TestServer, user: &str, password: &str, path: &str) -> Resp {
    Resp::from(
        s.bare(Method::GET, path)
            .basic_auth(user, Some(password))
            .header("Accept", T21)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Asserts 401 with a Basic challenge and a TAXII error body.
pub(crate) fn assert_unauthorized(r: &Resp) {
    r.assert_error(401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic ")),
        "{r:?}"
    );
}

/// The same request without credentials and with a wrong password: both 401.
pub(crate) async fn assert_needs_credentials(s: &TestServer, method: Method, path: &str) {
    let body = json!({"objects": [indicator(1, "2016-01-01T00:00:00.000Z")]}).to_string();
    let anonymous = s
        .bare(method.clone(), path)
        .header("Accept", T21)
        .header("Content-Type", T21)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_unauthorized(&Resp::from(anonymous).await);
    let wrong = s
        .bare(method, path)
        .basic_auth("admin", Some("not the password"))
        .header("Accept", T21)
        .header("Content-Type", T21)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_unauthorized(&Resp::from(wrong).await);
}

// ---------------------------------------------------------------------------------------------
// OBJ
// ---------------------------------------------------------------------------------------------

/// The default listing of the sample's read-write collection, in `date_added` order.
fn default_listing() -> Value {
    json!({"more": false, "objects": [
        sample_object(RELATIONSHIP, REL_V),
        sample_object(MARKING, MARKING_V),
        sample_object(INDICATOR, IND_V3),
        sample_object(MALWARE, MAL_V21),
        sample_object(IPV4, IPV4_V),
        sample_object(WIDGET, WIDGET_V),
    ]})
}

#[tokio::test]
async fn get_objects_returns_the_latest_version_of_every_object_in_date_added_order() {
    let s = TestServer::medallion();
    let r = s.get(&objects_url(RW)).await;
    assert_page(&r, REL_D, WIDGET_D);
    assert_eq!(r.json(), default_listing());
}

#[tokio::test]
async fn an_empty_collection_gives_an_empty_envelope_without_page_headers() {
    let s = TestServer::medallion();
    assert_empty_page(&s.get(&objects_url(EMPTY)).await);
}

#[tokio::test]
async fn filters_that_match_nothing_give_an_empty_envelope() {
    let s = TestServer::medallion();
    for q in [
        "match[type]=grouping",
        "match[id]=indicator--00000000-0000-4000-8000-000000000000",
        "added_after=2018-01-01T00:00:01.000000Z",
        "match[spec_version]=2.2",
        "match[version]=2000-01-01T00:00:00Z",
    ] {
        let r = s.get(&format!("{}?{q}", objects_url(RW))).await;
        assert_empty_page(&r);
    }
}

#[tokio::test]
async fn a_posted_object_comes_back_byte_for_byte() {
    let s = TestServer::start(&[]);
    // Unusual but valid formatting, escapes, a 9-digit and a fraction-less timestamp, custom
    // properties with numbers that a re-serialisation would change.
    let raw = "{ \"type\" : \"indicator\",\n  \"spec_version\":\"2.1\",\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"created\":\"2016-04-06T20:03:48Z\",\"modified\":\"2016-04-06T20:03:48.123456789Z\",\"name\":\"caf\\u00e9 \\\"quoted\\\" \u{00e9}\",\"pattern\":\"[ipv4-addr:value = '1.2.3.4']\",\"pattern_type\":\"stix\",\"valid_from\":\"2016-01-01T00:00:00.000Z\",\"x_acme_score\":1.50,\"x_acme_big\":1e3,\"x_acme_list\":[ ],\"x_acme_nested\":{\"b\":1,\"a\":[true,null]} }";
    let body = format!("{{\"objects\":[{raw}]}}");
    let r = Resp::from(
        s.req(Method::POST, "/api1/collections/default/objects/")
            .header("Content-Type", T21)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["success_count"], 1);
    let r = s.get("/api1/collections/default/objects/").await;
    assert_eq!(r.status, 200);
    assert_t21(&r);
    assert_eq!(r.text, format!("{{\"more\":false,\"objects\":[{raw}]}}"));
    let r = s
        .get("/api1/collections/default/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, format!("{{\"more\":false,\"objects\":[{raw}]}}"));
}

#[tokio::test]
async fn only_the_latest_version_of_an_object_is_returned_by_default() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!("{}?match[type]=indicator", objects_url(RW)))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(INDICATOR, IND_V3)]})
    );
    // The latest is the greatest `modified`, even when an older version arrives last.
    add_ok(
        &s,
        EMPTY,
        &[
            indicator(1, "2018-01-01T00:00:00.000Z"),
            indicator(1, "2016-01-01T00:00:00.000Z"),
        ],
    )
    .await;
    let r = s.get(&objects_url(EMPTY)).await;
    let manifest = manifest_all(&s, EMPTY).await;
    assert_envelope_page(&r, &manifest);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [indicator(1, "2018-01-01T00:00:00.000Z")]})
    );
}

#[tokio::test]
async fn an_object_held_in_stix_2_0_and_2_1_is_returned_only_in_2_1_by_default() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!("{}?match[type]=malware", objects_url(RW)))
        .await;
    assert_page(&r, IND_D3, IND_D3);
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V21)]})
    );
    // Even asked for every version: the 2.0 one stays hidden without match[spec_version].
    let r = s
        .get(&format!(
            "{}?match[type]=malware&match[version]=all",
            objects_url(RW)
        ))
        .await;
    assert_eq!(
        r.json(),
        json!({"more": false, "objects": [sample_object(MALWARE, MAL_V21)]})
    );
}

#[tokio::test]
async fn objects_are_listed_in_the_order_they_were_added() {
    let s = TestServer::medallion();
    // Added in an order unrelated to ids, types or timestamps.
    let a = indicator(9, "2019-01-01T00:00:00.000Z");
    let b = json!({"type": "malware", "spec_version": "2.1", "id": "malware--00000000-0000-4000-8000-000000000001",
        "created": "2010-01-01T00:00:00.000Z", "modified": "2010-01-01T00:00:00.000Z", "name": "b", "is_family": false});
    let c = indicator(1, "2015-01-01T00:00:00.000Z");
    add_ok(&s, EMPTY, std::slice::from_ref(&a)).await;
    add_ok(&s, EMPTY, &[b.clone(), c.clone()]).await;
    let r = s.get(&objects_url(EMPTY)).await;
    let manifest = manifest_all(&s, EMPTY).await;
    assert_envelope_page(&r, &manifest);
    assert_eq!(r.json(), json!({"more": false, "objects": [a, b, c]}));
    let dates: Vec<&str> = manifest
        .iter()
        .map(|m| m["date_added"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
}

#[tokio::test]
async fn a_caller_without_read_permission_gets_403_from_get_objects() {
    let s = TestServer::medallion();
    for c in [WRITE_ONLY, NO_ACCESS] {
        s.get(&objects_url(c)).await.assert_error(403);
    }
}

#[tokio::test]
async fn get_objects_without_valid_credentials_gets_401() {
    let s = TestServer::medallion();
    assert_needs_credentials(&s, Method::GET, &objects_url(RW)).await;
}

#[tokio::test]
async fn get_objects_pages_carry_the_date_added_of_their_first_and_last_object() {
    let s = TestServer::medallion();
    // One header set per page: limit 2 over the six default records.
    let expected = [
        (REL_D, MARKING_D, true),
        (IND_D3, IND_D3, true),
        (IPV4_D, WIDGET_D, false),
    ];
    let mut url = format!("{}?limit=2", objects_url(RW));
    for (first, last, more) in expected {
        let r = s.get(&url).await;
        assert_page(&r, first, last);
        let body = r.json();
        assert_eq!(body["more"], more);
        if more {
            url = format!(
                "{}?limit=2&next={}",
                objects_url(RW),
                body["next"].as_str().unwrap()
            );
        }
    }
}

#[tokio::test]
async fn get_objects_on_an_unknown_api_root_or_collection_is_404() {
    let s = TestServer::medallion();
    s.get("/nope/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/")
        .await
        .assert_error(404);
    s.get(&objects_url("00000000-0000-4000-8000-000000000000"))
        .await
        .assert_error(404);
    // api1 exists in the sample but holds no collection.
    s.get(&format!("/api1/collections/{RW}/objects/"))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn every_returned_entry_is_a_plain_stix_object_without_taxii_bookkeeping() {
    let s = TestServer::medallion();
    let r = s
        .get(&format!(
            "{}?match[version]=all&match[spec_version]=2.0,2.1",
            objects_url(RW)
        ))
        .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    let objects = body["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 9);
    for o in objects {
        let o = o.as_object().unwrap();
        assert!(o["type"].is_string() && o["id"].is_string(), "{o:?}");
        assert!(
            o["id"]
                .as_str()
                .unwrap()
                .starts_with(o["type"].as_str().unwrap())
        );
        for bookkeeping in [
            "date_added",
            "_date_added",
            "media_type",
            "version",
            "_id",
            "_collection_id",
        ] {
            assert!(!o.contains_key(bookkeeping), "{bookkeeping} in {o:?}");
        }
        assert!(!o.keys().any(|k| k.starts_with('_')), "{o:?}");
    }
}

#[tokio::test]
async fn a_malformed_filter_on_get_objects_is_400() {
    let s = TestServer::medallion();
    for q in [
        "added_after=yesterday",
        "limit=0",
        "match[version]=newest",
        "match[spec_version]=two",
        "match[type]=indicator&match[type]=malware",
        "next=garbage",
    ] {
        s.get(&format!("{}?{q}", objects_url(RW)))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn the_envelope_never_holds_objects_of_another_collection() {
    let s = TestServer::medallion();
    let mine = indicator(7, "2020-01-01T00:00:00.000Z");
    add_ok(&s, EMPTY, std::slice::from_ref(&mine)).await;
    let r = s.get(&objects_url(EMPTY)).await;
    assert_eq!(r.json(), json!({"more": false, "objects": [mine]}));
    // The other collections are unchanged, with every version and spec version.
    let all = "?match[version]=all&match[spec_version]=2.0,2.1";
    let r = s.get(&format!("{}{all}", objects_url(RW))).await;
    let got = ids(&r.json());
    assert_eq!(got.len(), 9);
    for id in &got {
        assert!(
            [INDICATOR, MALWARE, MARKING, RELATIONSHIP, IPV4, WIDGET].contains(&id.as_str()),
            "{id}"
        );
    }
    let r = s.get(&format!("{}{all}", objects_url(READ_ONLY))).await;
    assert_page(
        &r,
        "2016-12-27T13:49:53.000000Z",
        "2016-12-27T13:49:53.000000Z",
    );
    assert_eq!(ids(&r.json()), [RO_INDICATOR]);
}
