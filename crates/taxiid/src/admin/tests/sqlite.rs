//! The same import and export cases against `taxii_store::sqlite::SqliteStore` in a
//! temporary file: what the server serves by default.

use std::sync::Arc;

use taxii_store::Store;
use taxii_store::sqlite::SqliteStore;

use taxii_store::UserRecord;

use super::export::{busy_store, round_trip};
use super::import::{bundle_import_is_idempotent, medallion_import_matches_memory};
use super::{descriptions, dump, fails, memory, ok, ok_json, path_str, served};
use crate::provision::CURSOR_KEY_META;

fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.path().join("taxiid.db")).unwrap())
}

#[tokio::test]
async fn a_medallion_file_imported_into_sqlite_serves_as_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    medallion_import_matches_memory(open(&dir)).await;
}

#[tokio::test]
async fn export_then_import_round_trips_through_sqlite_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let source = busy_store().await;
    let expected = dump(source.as_ref()).await;
    round_trip(Arc::clone(&source), open(&dir)).await;
    // Reopened: the same data, and it exports back to a memory store unchanged.
    let reopened = open(&dir);
    assert_eq!(dump(reopened.as_ref()).await, expected);
    assert_eq!(
        served(reopened.as_ref()).await,
        served(source.as_ref()).await
    );
    round_trip(reopened, memory()).await;
}

#[tokio::test]
async fn importing_a_bundle_into_sqlite_twice_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    bundle_import_is_idempotent(open(&dir)).await;
}

/// Copies a whole SQLite store into `target` with `import --from-sqlite`: everything a client
/// sees, the users and the cursor key; twice adds nothing.
pub(super) async fn a_sqlite_store_copies_whole_into(target: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let source = open(&dir);
    crate::copy::copy_store(&*busy_store().await, &*source, crate::copy::Scope::All)
        .await
        .unwrap();
    source
        .put_user(UserRecord {
            name: "alice".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        })
        .await
        .unwrap();
    source
        .set_meta(CURSOR_KEY_META, "the sqlite node's key")
        .await
        .unwrap();
    let file = dir.path().join("taxiid.db");
    let report = ok_json(
        &target,
        &["import", "--from-sqlite", path_str(&file), "--json"],
    )
    .await;
    assert_eq!(report["added"], 15, "{report}");
    assert_eq!(report["users"], serde_json::json!(["alice"]));
    assert_eq!(report["cursor_key"], true);
    assert_eq!(dump(target.as_ref()).await, dump(source.as_ref()).await);
    assert_eq!(
        descriptions(target.as_ref()).await,
        descriptions(source.as_ref()).await
    );
    assert_eq!(served(target.as_ref()).await, served(source.as_ref()).await);
    assert_eq!(target.users().await.unwrap(), source.users().await.unwrap());
    assert_eq!(
        target.meta(CURSOR_KEY_META).await.unwrap().as_deref(),
        Some("the sqlite node's key")
    );
    // Again: nothing new, and a target's own key is never replaced.
    target
        .set_meta(CURSOR_KEY_META, "the target's key")
        .await
        .unwrap();
    let text = ok(&target, &["import", "--from-sqlite", path_str(&file)]).await;
    assert!(
        text.contains("15 object versions (0 added, 15 already present)")
            && text.contains("1 users")
            && !text.contains("cursor key"),
        "{text}"
    );
    assert_eq!(
        target.meta(CURSOR_KEY_META).await.unwrap().as_deref(),
        Some("the target's key")
    );
}

#[tokio::test]
async fn a_sqlite_store_is_copied_whole_with_import_from_sqlite() {
    a_sqlite_store_copies_whole_into(memory()).await;
    // A missing file is an error, not a new empty store.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.sqlite3");
    let e = fails(&memory(), &["import", "--from-sqlite", path_str(&missing)]).await;
    assert!(e.contains("nope.sqlite3: no such SQLite file"), "{e}");
    assert!(!missing.exists());
}
