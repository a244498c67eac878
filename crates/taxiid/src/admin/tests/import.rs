//! `import`: medallion files and bundles, idempotence, streaming.

use std::sync::Arc;

use serde_json::{Value, json};
use taxii_store::Store;

use super::super::bundle::{Sink, scan};
use super::{
    descriptions, dump, exec, indicator, memory, ok, ok_json, path_str, sample, sample_path,
    served, versions, write_file,
};

const TG: &str = "trustgroup1";
const COLL: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

#[tokio::test]
async fn a_medallion_file_imports_as_serving_it_from_memory_would_answer() {
    medallion_import_matches_memory(memory()).await;
}

/// Importing the sample file into `store` gives what the file loaded in memory serves.
pub(super) async fn medallion_import_matches_memory(store: Arc<dyn Store>) {
    let reference = sample();
    let report = ok_json(&store, &["import", &sample_path(), "--json"]).await;
    assert_eq!(report["versions"], 11);
    assert_eq!(report["added"], 11);
    assert_eq!(report["already_present"], 0);
    assert_eq!(report["statuses"], 2);
    assert_eq!(report["discovery"], true);
    assert_eq!(report["api_roots"], json!(["api1", "api2", TG]));

    let expected = dump(&reference).await;
    assert_eq!(expected.len(), 5);
    assert_eq!(expected.iter().map(|(_, v)| v.len()).sum::<usize>(), 11);
    assert_eq!(dump(store.as_ref()).await, expected);
    assert_eq!(
        descriptions(store.as_ref()).await,
        descriptions(&reference).await
    );
    assert_eq!(served(store.as_ref()).await, served(&reference).await);

    // Again: nothing new.
    let text = ok(&store, &["import", &sample_path()]).await;
    assert!(
        text.contains("11 object versions (0 added, 11 already present), 2 statuses"),
        "{text}"
    );
    assert!(text.contains("COLLECTION") && text.contains(COLL), "{text}");
    assert_eq!(dump(store.as_ref()).await, expected);
    assert_eq!(store.statuses(TG).await.unwrap().len(), 2);
}

#[tokio::test]
async fn importing_a_bundle_twice_adds_nothing_and_refusals_are_reported() {
    bundle_import_is_idempotent(memory()).await;
}

pub(super) async fn bundle_import_is_idempotent(store: Arc<dyn Store>) {
    ok(&store, &["api-root", "add", "api1", "--title", "One"]).await;
    ok(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "T",
            "--alias",
            "c",
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let objects = json!([indicator(1, "2021-01-01T00:00:00.000Z"), indicator(1, "2022-01-01T00:00:00.000Z"),
                         {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "1.2.3.4"}]);
    let bundle = write_file(
        &dir,
        "b.json",
        &json!({"type": "bundle", "id": "bundle--6770298f-0fd8-471a-ab8c-1c658a46574e", "objects": objects}),
    );
    let import = [
        "import",
        &bundle,
        "--api-root",
        "api1",
        "--collection",
        "c",
        "--json",
    ];
    let first = ok_json(&store, &import).await;
    assert_eq!(
        (
            first["total"].clone(),
            first["added"].clone(),
            first["already_present"].clone(),
            first["failed"].clone()
        ),
        (json!(3), json!(3), json!(0), json!(0))
    );
    let id = store.collection("api1", "c").await.unwrap().unwrap().id;
    let before = versions(store.as_ref(), "api1", &id).await;
    let again = ok_json(&store, &import).await;
    assert_eq!(
        (again["added"].clone(), again["already_present"].clone()),
        (json!(0), json!(3))
    );
    // A TAXII envelope with the same objects: the same versions.
    let envelope = write_file(&dir, "e.json", &json!({"more": false, "objects": objects}));
    let text = ok(
        &store,
        &[
            "import",
            &envelope,
            "--api-root",
            "api1",
            "--collection",
            &id,
        ],
    )
    .await;
    assert!(
        text.contains("3 objects: 0 added, 3 already present, 0 failed"),
        "{text}"
    );
    assert_eq!(versions(store.as_ref(), "api1", &id).await, before);

    // Refused objects are listed; the rest are imported; the command fails.
    let mut changed = indicator(1, "2022-01-01T00:00:00.000Z");
    changed["name"] = "different".into();
    let mixed = json!({"objects": [changed, {"type": "indicator", "id": "nope"}, 42,
                                   indicator(2, "2021-01-01T00:00:00.000Z")]});
    let mixed = write_file(&dir, "m.json", &mixed);
    let ran = exec(
        &store,
        &[
            "import",
            &mixed,
            "--api-root",
            "api1",
            "--collection",
            "c",
            "--json",
        ],
    )
    .await;
    assert_eq!(
        ran.result.unwrap_err(),
        "3 of 4 objects were refused (listed above); the others are imported"
    );
    let report: Value = serde_json::from_str(&ran.out).unwrap();
    assert_eq!(
        (report["added"].clone(), report["failed"].clone()),
        (json!(1), json!(3))
    );
    let failures = report["failures"].as_array().unwrap();
    let indexes: Vec<&Value> = failures.iter().map(|f| &f["index"]).collect();
    assert_eq!(indexes, [0, 1, 2]);
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap()
            .contains("already stored")
    );
    assert_eq!(failures[1]["id"], "nope");
    assert!(
        failures[2]["message"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
    let ran = exec(
        &store,
        &["import", &mixed, "--api-root", "api1", "--collection", "c"],
    )
    .await;
    assert!(
        ran.out
            .contains("  objects[1] nope: 'nope' is not a STIX identifier"),
        "{}",
        ran.out
    );
    assert_eq!(versions(store.as_ref(), "api1", &id).await.len(), 4);
}

#[tokio::test]
async fn a_large_bundle_streams_in_batches() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        write!(
            w,
            r#"{{"type":"bundle","id":"bundle--6770298f-0fd8-471a-ab8c-1c658a46574e","objects":["#
        )
        .unwrap();
        for n in 0..N {
            let sep = if n == 0 { "" } else { "," };
            write!(w, "{sep}{}", indicator(n, "2021-01-01T00:00:00.000Z")).unwrap();
        }
        write!(w, "],\"x_trailer\":{{\"ignored\":[1,2,3]}}}}").unwrap();
    }
    // The reader hands out batches of at most the batch size, in order.
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let p = path.clone();
    let count = tokio::task::spawn_blocking(move || {
        scan(
            &p,
            Some(Sink {
                tx: &tx,
                batch: 1000,
            }),
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(count, N as u64);
    let mut sizes = Vec::new();
    while let Some(b) = rx.recv().await {
        sizes.push(b.len());
    }
    assert_eq!(sizes, vec![1000; 20]);

    let store = memory();
    ok(&store, &["api-root", "add", "api1", "--title", "One"]).await;
    ok(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            "api1",
            "--title",
            "Big",
            "--alias",
            "big",
        ],
    )
    .await;
    let import = [
        "import",
        path_str(&path),
        "--api-root",
        "api1",
        "--collection",
        "big",
        "--json",
    ];
    let report = ok_json(&store, &import).await;
    assert_eq!(
        (report["total"].clone(), report["added"].clone()),
        (json!(N), json!(N))
    );
    let id = store.collection("api1", "big").await.unwrap().unwrap().id;
    let rows = versions(store.as_ref(), "api1", &id).await;
    assert_eq!(rows.len(), N);
    // In file order, each with its own date_added.
    assert!(rows.windows(2).all(|w| w[0].date_added < w[1].date_added));
    assert_eq!(
        rows[N - 1].id,
        format!("indicator--00000000-0000-4000-8000-{:012}", N - 1)
    );
    let mut again = import.to_vec();
    again.extend(["--batch-size", "777"]);
    let report = ok_json(&store, &again).await;
    assert_eq!(
        (report["added"].clone(), report["already_present"].clone()),
        (json!(0), json!(N))
    );
}
