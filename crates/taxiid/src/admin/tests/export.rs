//! `export`: round trips through medallion files and bundles, scopes, failed writes.

use std::sync::Arc;

use serde_json::{Value, json};
use taxii_model::{NewObject, Timestamp};
use taxii_store::Store;

use super::{Row, dump, fails, indicator, memory, ok, ok_json, path_str, sample, served, versions};

const TG: &str = "trustgroup1";

/// A store with the sample data plus objects added the way POST adds them.
pub(super) async fn busy_store() -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(sample());
    ok(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "Added",
            "--alias",
            "added",
        ],
    )
    .await;
    let c = store.collection("api1", "added").await.unwrap().unwrap();
    let objects = [
        indicator(1, "2021-01-01T00:00:00.000Z"),
        indicator(1, "2022-01-01T00:00:00.000Z"),
        json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "1.2.3.4"}),
        json!({"type": "x-custom", "id": "x-custom--6770298f-0fd8-471a-ab8c-1c658a46574e",
               "created": "2019-01-01T00:00:00Z", "x_deep": {"b": 1, "a": [true, null, 1.5]}}),
    ];
    let new: Vec<NewObject> = objects
        .iter()
        .map(|o| {
            let raw = serde_json::value::to_raw_value(o).unwrap();
            NewObject::from_raw(&raw).unwrap()
        })
        .collect();
    let now = Timestamp::parse("2025-06-01T12:00:00.123456Z").unwrap();
    store.add_objects("api1", &c.id, new, now).await.unwrap();
    store
}

pub(super) async fn round_trip(store: Arc<dyn Store>, target: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.json");
    let text = ok(&store, &["export", "-o", path_str(&file)]).await;
    assert!(
        text.starts_with("wrote 15 object versions of 6 collections in 3 API roots"),
        "{text}"
    );
    assert!(!dir.path().join("export.json.taxiid-tmp").exists());
    // To standard output: the same document.
    let stdout: Value = serde_json::from_str(&ok(&store, &["export"]).await).unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(stdout, saved);

    let report = ok_json(&target, &["import", path_str(&file), "--json"]).await;
    assert_eq!(report["added"], 15);
    let expected = dump(store.as_ref()).await;
    assert_eq!(dump(target.as_ref()).await, expected);
    assert_eq!(served(target.as_ref()).await, served(store.as_ref()).await);
    let report = ok_json(&target, &["import", path_str(&file), "--json"]).await;
    assert_eq!(report["added"], 0);
    assert_eq!(report["already_present"], 15);
    assert_eq!(dump(target.as_ref()).await, expected);
}

#[tokio::test]
async fn export_then_import_reproduces_objects_versions_and_dates_added() {
    round_trip(busy_store().await, memory()).await;
}

#[tokio::test]
async fn one_api_root_or_one_collection_can_be_exported() {
    let store = busy_store().await;
    let root: Value =
        serde_json::from_str(&ok(&store, &["export", "--api-root", TG]).await).unwrap();
    let keys: Vec<&String> = root.as_object().unwrap().keys().collect();
    assert_eq!(keys, [TG]);
    assert_eq!(root[TG]["collections"].as_array().unwrap().len(), 5);
    assert_eq!(root[TG]["status"].as_array().unwrap().len(), 2);

    let one: Value = serde_json::from_str(
        &ok(
            &store,
            &["export", "--api-root", "/api1/", "--collection", "added"],
        )
        .await,
    )
    .unwrap();
    let colls = one["api1"]["collections"].as_array().unwrap();
    assert_eq!(colls.len(), 1);
    assert_eq!(colls[0]["alias"], "added");
    assert_eq!(colls[0]["manifest"].as_array().unwrap().len(), 4);
    let e = fails(
        &store,
        &["export", "--api-root", "api1", "--collection", "nope"],
    )
    .await;
    assert_eq!(e, "API root 'api1' has no collection 'nope'");
    let e = fails(&store, &["export", "--api-root", "nope"]).await;
    assert!(e.starts_with("no API root 'nope'"), "{e}");
}

#[tokio::test]
async fn a_collection_exports_as_a_bundle_that_imports_back() {
    let store = busy_store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    let text = ok(
        &store,
        &[
            "export",
            "--api-root",
            "api1",
            "--collection",
            "added",
            "--format",
            "bundle",
            "-o",
            path_str(&file),
        ],
    )
    .await;
    assert!(text.contains("wrote 4 object versions"), "{text}");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let id = bundle["id"].as_str().unwrap();
    assert!(
        id.starts_with("bundle--") && taxii_model::object::is_uuid(&id[8..]),
        "{id}"
    );
    let source = store.collection("api1", "added").await.unwrap().unwrap();
    let rows = versions(store.as_ref(), "api1", &source.id).await;
    let objects: Vec<Value> = rows.iter().map(|r| r.json.clone()).collect();
    assert_eq!(bundle["objects"], Value::Array(objects));

    ok(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "Copy",
            "--alias",
            "copy",
        ],
    )
    .await;
    let report = ok_json(
        &store,
        &[
            "import",
            path_str(&file),
            "--api-root",
            "api1",
            "--collection",
            "copy",
            "--json",
        ],
    )
    .await;
    assert_eq!(report["added"], 4);
    let copy = store.collection("api1", "copy").await.unwrap().unwrap();
    let key = |r: &Row| (r.id.clone(), r.version.clone(), r.json.clone());
    let copied: Vec<_> = versions(store.as_ref(), "api1", &copy.id)
        .await
        .iter()
        .map(key)
        .collect();
    // The SCO's version is its first date_added, so it differs; everything else is equal.
    assert_eq!(copied.len(), 4);
    for (a, b) in rows.iter().map(key).zip(&copied) {
        assert_eq!(a.0, b.0);
        assert_eq!(a.2, b.2);
        if !a.0.starts_with("ipv4-addr--") {
            assert_eq!(a.1, b.1);
        }
    }
}

#[tokio::test]
async fn an_export_that_cannot_be_written_leaves_no_file() {
    let store = busy_store().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-dir").join("x.json");
    let e = fails(&store, &["export", "-o", path_str(&target)]).await;
    assert!(e.contains("x.json.taxiid-tmp: cannot be created"), "{e}");
}
