//! Wrong files: one-line errors that name the file, and nothing written.

use std::sync::Arc;

use serde_json::{Value, json};
use taxii_store::Store;

use super::{dump, fails, indicator, ok, path_str, sample, sample_path, write_file};

const TG: &str = "trustgroup1";

#[tokio::test]
async fn wrong_files_are_one_line_errors_and_change_nothing() {
    let store: Arc<dyn Store> = Arc::new(sample());
    ok(
        &store,
        &[
            "collection",
            "add",
            "--api-root",
            TG,
            "--title",
            "T",
            "--alias",
            "c",
        ],
    )
    .await;
    let before = dump(store.as_ref()).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let e = fails(&store, &["import", path_str(&missing)]).await;
    assert!(
        e.starts_with(&format!("{}: cannot be read: ", missing.display())),
        "{e}"
    );
    let bundle_args =
        |f: &str| ["import", f, "--api-root", TG, "--collection", "c"].map(str::to_owned);
    let e = fails(
        &store,
        &bundle_args(path_str(&missing))
            .each_ref()
            .map(String::as_str),
    )
    .await;
    assert!(e.contains("missing.json: cannot be read"), "{e}");

    let broken = dir.path().join("broken.json");
    let good = indicator(1, "2021-01-01T00:00:00.000Z");
    std::fs::write(&broken, format!("{{\"objects\": [{good}, {{\"type\": ]}}")).unwrap();
    let e = fails(&store, &["import", path_str(&broken)]).await;
    assert!(
        e.starts_with(&format!("{}: invalid JSON: ", broken.display())) && e.contains("line 1"),
        "{e}"
    );
    let e = fails(
        &store,
        &bundle_args(path_str(&broken))
            .each_ref()
            .map(String::as_str),
    )
    .await;
    assert!(e.contains("broken.json: invalid JSON: "), "{e}");
    std::fs::write(&broken, format!("{{\"objects\": [{good}]}} trailing")).unwrap();
    let e = fails(
        &store,
        &bundle_args(path_str(&broken))
            .each_ref()
            .map(String::as_str),
    )
    .await;
    assert!(
        e.contains("broken.json: invalid JSON: trailing characters"),
        "{e}"
    );

    let bundle = write_file(
        &dir,
        "b.json",
        &json!({"type": "bundle", "objects": [good]}),
    );
    let e = fails(&store, &["import", &bundle]).await;
    assert!(
        e.contains("b.json: is a STIX bundle or TAXII envelope, not a medallion data file"),
        "{e}"
    );
    let sdo = write_file(
        &dir,
        "sdo.json",
        &json!({"type": "indicator", "objects": []}),
    );
    let e = fails(&store, &bundle_args(&sdo).each_ref().map(String::as_str)).await;
    assert!(
        e.contains("its 'type' is \"indicator\", not \"bundle\""),
        "{e}"
    );
    let no_list = write_file(&dir, "n.json", &json!({"objects": {"a": 1}}));
    let e = fails(
        &store,
        &bundle_args(&no_list).each_ref().map(String::as_str),
    )
    .await;
    assert!(e.contains("expected 'objects' to be a list"), "{e}");
    let list = write_file(&dir, "l.json", &json!([good]));
    let e = fails(&store, &bundle_args(&list).each_ref().map(String::as_str)).await;
    assert!(
        e.contains("expected a STIX bundle or TAXII envelope"),
        "{e}"
    );
    let e = fails(
        &store,
        &bundle_args(&sample_path()).each_ref().map(String::as_str),
    )
    .await;
    assert!(
        e.contains("there is no 'objects' list (a medallion data file is imported without"),
        "{e}"
    );
    let e = fails(
        &store,
        &["import", &bundle, "--api-root", "nope", "--collection", "c"],
    )
    .await;
    assert!(
        e.starts_with("no API root 'nope' (the store has: api1, api2, trustgroup1)"),
        "{e}"
    );
    let e = fails(
        &store,
        &["import", &bundle, "--api-root", TG, "--collection", "nope"],
    )
    .await;
    assert_eq!(e, "API root 'trustgroup1' has no collection 'nope'");
    let bad_medallion = write_file(&dir, "bad.json", &json!({"r": {"collections": []}}));
    let e = fails(&store, &["import", &bad_medallion]).await;
    assert!(
        e.ends_with("bad.json: not a usable medallion data file: r: 'information' is missing"),
        "{e}"
    );

    // A file whose collection would take an alias already in use is refused before any write.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap();
    doc["trustgroup1"]["collections"][1]["alias"] = "c".into();
    doc["api9"] = json!({"information": {"title": "new"}});
    let clash = write_file(&dir, "clash.json", &doc);
    let e = fails(&store, &["import", &clash]).await;
    assert!(
        e.contains("'c' is already the id or alias of collection"),
        "{e}"
    );
    assert!(
        store
            .api_roots()
            .await
            .unwrap()
            .iter()
            .all(|r| r.name != "api9")
    );
    assert_eq!(dump(store.as_ref()).await, before);
}
