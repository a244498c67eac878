//! The SQLite default store keeps every acknowledged write across SIGKILL, never half an
//! envelope; and an import into SQLite serves exactly what the same file serves from memory.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) const ADMIN_ENV: [(&str, &str); 2] = [
    ("TAXIID_ADMIN_USER", "admin"),
    ("TAXIID_ADMIN_PASSWORD", "Password0"),
];

pub(crate) fn indicator(writer: u32, envelope: u32, n: u32) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{writer:08x}-{envelope:04x}-4000-8000-{n:012x}"),
        "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
        "valid_from": "2020-01-01T00:00:00Z"
    })
}

/// Every (id, version) in a collection, following `next` to the end.
pub(crate) async fn stored_ids(s: &TestServer, collection_path: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = format!("{collection_path}manifest/?match[version]=all&limit=1000");
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        let r = s.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = r.json();
        for rec in body["objects"].as_array().into_iter().flatten() {
            ids.insert(rec["id"].as_str().unwrap().to_owned());
        }
        match body["next"].as_str() {
            Some(n) if body["more"] == true => next = Some(n.to_owned()),
            _ => return ids,
        }
    }
}

/// Four writers post envelopes of 50 objects to `objects_url` as fast as they can, and `s` is
/// killed (SIGKILL: no shutdown code runs) while they do. Returns the envelopes each writer
/// saw acknowledged.
pub(crate) async fn ingest_until_killed(
    s: &mut TestServer,
    objects_url: String,
) -> BTreeMap<u32, Vec<u32>> {
    let mut writers = Vec::new();
    for w in 0..4u32 {
        let url = objects_url.clone();
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acknowledged = Vec::new();
            for e in 0..10_000u32 {
                let objects: Vec<Value> = (0..50).map(|n| indicator(w, e, n)).collect();
                let sent = client
                    .post(&url)
                    .basic_auth("admin", Some("Password0"))
                    .header("Accept", T21)
                    .header("Content-Type", T21)
                    .body(json!({ "objects": objects }).to_string())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 202 => acknowledged.push(e),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
            (w, acknowledged)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.kill();
    let mut acknowledged: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for t in writers {
        let (w, acks) = t.await.unwrap();
        acknowledged.insert(w, acks);
    }
    let total: usize = acknowledged.values().map(Vec::len).sum();
    assert!(
        total >= 4,
        "too few envelopes were acknowledged to test anything: {total}"
    );
    acknowledged
}

/// Every acknowledged object is among `ids`, and whatever else was stored (an envelope
/// committed but not yet answered) is a whole envelope.
pub(crate) fn assert_acknowledged_kept_and_envelopes_whole(
    ids: &BTreeSet<String>,
    acknowledged: &BTreeMap<u32, Vec<u32>>,
) {
    for (w, acks) in acknowledged {
        for e in acks {
            for n in 0..50 {
                let id = indicator(*w, *e, n)["id"].as_str().unwrap().to_owned();
                assert!(ids.contains(&id), "acknowledged object {id} was lost");
            }
        }
    }
    let mut per_envelope: BTreeMap<String, usize> = BTreeMap::new();
    for id in ids {
        *per_envelope.entry(id[..25].to_owned()).or_default() += 1;
    }
    assert!(
        per_envelope.values().all(|n| *n == 50),
        "half-stored envelopes: {:?}",
        per_envelope
            .iter()
            .filter(|(_, n)| **n != 50)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn acknowledged_adds_survive_sigkill_and_no_envelope_is_half_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_in(dir, &[], &ADMIN_ENV);
    let collection = "/api1/collections/default/".to_owned();
    let url = s.url(&format!("{collection}objects/"));
    let acknowledged = ingest_until_killed(&mut s, url).await;

    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    drop(s);
    let s = TestServer::start_in(dir, &[], &ADMIN_ENV);
    assert!(
        s.generated_password.is_none(),
        "a restart must not create a new admin"
    );
    let ids = stored_ids(&s, &collection).await;
    assert_acknowledged_kept_and_envelopes_whole(&ids, &acknowledged);
}

/// GET answers worth comparing between two servers holding the same data.
pub(crate) fn probe_paths() -> Vec<String> {
    let mut paths = vec![
        "/taxii2/".to_owned(),
        "/api1/".to_owned(),
        "/api1/collections/".to_owned(),
        "/api2/collections/".to_owned(),
        format!("{ROOT}"),
        format!("{ROOT}collections/"),
        format!("{ROOT}status/2d086da7-4bdc-4f91-900e-d77486753710/"),
        format!("{ROOT}status/2d086da7-4bdc-4f91-900e-f4566be4b780/"),
    ];
    for c in [RW, EMPTY, WRITE_ONLY, READ_ONLY, NO_ACCESS] {
        let base = format!("{ROOT}collections/{c}/");
        paths.push(base.clone());
        for q in [
            "",
            "?match[version]=all",
            "?match[version]=all&match[spec_version]=2.0,2.1",
            "?match[version]=first",
            "?match[type]=indicator,malware",
            "?added_after=2017-01-01T00:00:00Z",
            "?limit=2",
        ] {
            paths.push(format!("{base}objects/{q}"));
            paths.push(format!("{base}manifest/{q}"));
        }
    }
    for id in [
        "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e",
        "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec",
        "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
    ] {
        let base = format!("{ROOT}collections/{RW}/objects/{id}/");
        paths.push(base.clone());
        paths.push(format!(
            "{base}?match[version]=all&match[spec_version]=2.0,2.1"
        ));
        paths.push(format!("{base}versions/"));
        paths.push(format!("{base}versions/?match[spec_version]=2.0,2.1"));
    }
    paths
}

#[tokio::test]
async fn a_medallion_file_imported_into_sqlite_serves_what_it_serves_from_memory() {
    let memory = TestServer::medallion();
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .args(["import", sample_data().to_str().unwrap()])
        .current_dir(dir.path())
        .envs(ADMIN_ENV)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Importing again changes nothing.
    let again = binary()
        .args(["import", "--json", sample_data().to_str().unwrap()])
        .current_dir(dir.path())
        .envs(ADMIN_ENV)
        .output()
        .unwrap();
    assert!(again.status.success());
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["added"], 0, "{report}");
    let sqlite = TestServer::start_in(dir, &[], &ADMIN_ENV);
    for path in probe_paths() {
        let (a, b) = (memory.get(&path).await, sqlite.get(&path).await);
        assert_eq!(a.status, b.status, "{path}");
        for h in [
            "content-type",
            "x-taxii-date-added-first",
            "x-taxii-date-added-last",
        ] {
            assert_eq!(a.header(h), b.header(h), "{path}: {h}");
        }
        let (mut ja, mut jb) = (a.json(), b.json());
        // next tokens are keyed per server; their presence must agree, their text not.
        for j in [&mut ja, &mut jb] {
            if let Some(n) = j.get_mut("next") {
                *n = json!("<token>");
            }
        }
        assert_eq!(ja, jb, "{path}");
    }
    // Writes work the same way too.
    let env = json!({"objects": [indicator(7, 7, 7)]});
    let a = memory
        .post_objects(&format!("{ROOT}collections/{EMPTY}/objects/"), &env)
        .await;
    let b = sqlite
        .post_objects(&format!("{ROOT}collections/{EMPTY}/objects/"), &env)
        .await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (202, 202));
    let del = format!(
        "{ROOT}collections/{RW}/objects/indicator--6770298f-0fd8-471a-ab8c-1c658a46574e/?match[version]=first"
    );
    for s in [&memory, &sqlite] {
        let r = s.req(Method::DELETE, &del).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let versions = format!(
        "{ROOT}collections/{RW}/objects/indicator--6770298f-0fd8-471a-ab8c-1c658a46574e/versions/"
    );
    assert_eq!(
        memory.get(&versions).await.json(),
        sqlite.get(&versions).await.json()
    );
}
