//! The same import and export cases against `taxii_store::sqlite::SqliteStore` in a
//! temporary file: what the server serves by default.

use std::sync::Arc;

use taxii_store::Store;
use taxii_store::sqlite::SqliteStore;

use super::export::{busy_store, round_trip};
use super::import::{bundle_import_is_idempotent, medallion_import_matches_memory};
use super::{dump, memory, served};

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
