//! The SQLite store: the embedded default. One file, WAL mode, `synchronous=FULL` so that a
//! write the server acknowledged survives a crash. One writer connection (SQLite allows one
//! writer at a time anyway, so envelopes are serialised here rather than by busy retries) and
//! a bounded pool of long-lived reader connections; every call runs on tokio's blocking pool.
//!
//! Objects are stored as the JSON text received plus indexed columns for every filter.

mod checkpoint;
mod objects;
mod schema;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use taxii_model::{Filter, NewObject, Timestamp};

use crate::{
    AddOutcome, ApiRootRecord, CollectionRecord, Grant, ListQuery, Page, RangePage, RangeQuery,
    StatusOf, StatusRecord, Store, StoreError, StoreResult, StoredVersion, TokenRecord, UserRecord,
};

/// Reader connections kept open. Requests beyond this wait for a connection instead of opening
/// one each: a fresh connection re-reads the schema, re-prepares every statement and starts
/// with a cold page cache, which cost more than the queries themselves under load.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(4, |n| (n.get() * 2).clamp(4, 16))
}

/// Prepared statements kept per connection (rusqlite's default of 16 is below the number of
/// distinct statements one page of objects can use).
const STATEMENT_CACHE: usize = 64;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    checkpointer: checkpoint::Checkpointer,
    readers: Mutex<Vec<Connection>>,
    /// One permit per reader connection: at most `reader_count()` exist at once.
    reader_slots: Arc<tokio::sync::Semaphore>,
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        Some(ErrorCode::NotADatabase) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

fn json_err(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Backend(format!("{}: cannot be opened: {e}", path.display())))?;
    // The page size only takes effect in a new file (an existing one keeps its own). 16 KiB
    // pages put more random-id index entries on each page, so an envelope's commit writes fewer
    // WAL frames: +10% ingest over 4 KiB at equal or better read speed (bench/README.md).
    conn.execute_batch(
        "PRAGMA page_size = 16384;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            StoreError::Corrupt(format!("{} is not a SQLite database", path.display()))
        }
        _ => db_err(e),
    })?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating the file and its directory if needed) and migrates the database.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("{}: cannot be created: {e}", dir.display()))
            })?;
        }
        let mut writer = connect(path)?;
        schema::migrate(&mut writer, &path.display().to_string())?;
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(db_err)?;
        let checkpointer = checkpoint::Checkpointer::start(path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                checkpointer,
                readers: Mutex::new(Vec::new()),
                reader_slots: Arc::new(tokio::sync::Semaphore::new(reader_count())),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let permit = Arc::clone(&inner.reader_slots)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Backend(format!("reader pool closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = match inner.readers.lock().pop() {
                Some(c) => c,
                None => connect(&inner.path)?,
            };
            let result = f(&conn);
            inner.readers.lock().push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut writer = inner.writer.lock();
            let result = f(&mut writer);
            inner.checkpointer.after_commit(&writer);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
    }
}

/// The collection's row key, or an error naming it.
pub(crate) fn ckey(conn: &Connection, api_root: &str, id: &str) -> StoreResult<i64> {
    conn.query_row(
        "SELECT ckey FROM collections WHERE api_root = ?1 AND id = ?2",
        params![api_root, id],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err)?
    .ok_or_else(|| StoreError::Backend(format!("no collection '{id}' in API root '{api_root}'")))
}

fn save_status(conn: &Connection, status: &StatusRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO statuses (api_root, id, owner, created, json) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (api_root, id) DO UPDATE SET
           owner = excluded.owner, created = excluded.created, json = excluded.json",
    )
    .map_err(db_err)?
    .execute(params![
        status.api_root,
        status.id,
        status.owner,
        status.created.nanos(),
        status.json
    ])
    .map_err(db_err)?;
    Ok(())
}

const COLLECTION_COLUMNS: &str =
    "id, title, description, alias, read_grant, write_grant, media_types, extra";

fn collection_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 8]> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ])
}

fn collection_record(cols: [Option<String>; 8]) -> StoreResult<CollectionRecord> {
    let [
        id,
        title,
        description,
        alias,
        read,
        write,
        media_types,
        extra,
    ] = cols;
    let grant = |g: Option<String>| -> StoreResult<Grant> {
        let v: Value = serde_json::from_str(g.as_deref().unwrap_or("false"))
            .map_err(json_err("collection grant"))?;
        Grant::from_json(&v).ok_or_else(|| StoreError::Corrupt(format!("bad grant {v}")))
    };
    Ok(CollectionRecord {
        id: id.unwrap_or_default(),
        title: title.unwrap_or_default(),
        description,
        alias,
        read: grant(read)?,
        write: grant(write)?,
        media_types: media_types
            .map(|m| serde_json::from_str(&m).map_err(json_err("collection media types")))
            .transpose()?,
        extra: serde_json::from_str(extra.as_deref().unwrap_or("{}"))
            .map_err(json_err("collection members"))?,
    })
}

fn status_row(api_root: &str, r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusRecord> {
    Ok(StatusRecord {
        api_root: api_root.to_owned(),
        id: r.get(0)?,
        owner: r.get(1)?,
        created: Timestamp::from_nanos(r.get(2)?),
        json: r.get(3)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn discovery(&self) -> StoreResult<Option<Map<String, Value>>> {
        self.read(|c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM discovery WHERE id = 1", [], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            doc.map(|d| serde_json::from_str(&d).map_err(json_err("discovery")))
                .transpose()
        })
        .await
    }

    async fn set_discovery(&self, discovery: Option<Map<String, Value>>) -> StoreResult<()> {
        self.write(move |c| {
            match discovery {
                Some(d) => c.execute(
                    "INSERT INTO discovery (id, doc) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    params![Value::Object(d).to_string()],
                ),
                None => c.execute("DELETE FROM discovery", []),
            }
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn api_roots(&self) -> StoreResult<Vec<ApiRootRecord>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT name, information FROM api_roots ORDER BY name")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(db_err)?;
            rows.map(|row| {
                let (name, info) = row.map_err(db_err)?;
                Ok(ApiRootRecord {
                    name,
                    information: serde_json::from_str(&info)
                        .map_err(json_err("API root information"))?,
                })
            })
            .collect()
        })
        .await
    }

    async fn put_api_root(&self, root: ApiRootRecord) -> StoreResult<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO api_roots (name, information) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET information = excluded.information",
                params![root.name, Value::Object(root.information).to_string()],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn collections(&self, api_root: &str) -> StoreResult<Vec<CollectionRecord>> {
        let api_root = api_root.to_owned();
        self.read(move |c| {
            let sql = format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE api_root = ?1 ORDER BY id"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params![api_root], collection_row)
                .map_err(db_err)?;
            rows.map(|r| collection_record(r.map_err(db_err)?))
                .collect()
        })
        .await
    }

    async fn collection(
        &self,
        api_root: &str,
        id_or_alias: &str,
    ) -> StoreResult<Option<CollectionRecord>> {
        let (api_root, key) = (api_root.to_owned(), id_or_alias.to_owned());
        self.read(move |c| {
            // An id wins over another collection's alias.
            let sql = format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections
                 WHERE api_root = ?1 AND (id = ?2 OR alias = ?2) ORDER BY id = ?2 DESC LIMIT 1"
            );
            c.prepare_cached(&sql)
                .map_err(db_err)?
                .query_row(params![api_root, key], collection_row)
                .optional()
                .map_err(db_err)?
                .map(collection_record)
                .transpose()
        })
        .await
    }

    async fn put_collection(
        &self,
        api_root: &str,
        collection: CollectionRecord,
    ) -> StoreResult<()> {
        let api_root = api_root.to_owned();
        self.write(move |c| {
            let media_types = collection
                .media_types
                .as_ref()
                .map(|m| serde_json::json!(m).to_string());
            c.execute(
                "INSERT INTO collections
                   (api_root, id, title, description, alias, read_grant, write_grant, media_types, extra)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (api_root, id) DO UPDATE SET
                   title = excluded.title, description = excluded.description,
                   alias = excluded.alias, read_grant = excluded.read_grant,
                   write_grant = excluded.write_grant, media_types = excluded.media_types,
                   extra = excluded.extra",
                params![
                    api_root,
                    collection.id,
                    collection.title,
                    collection.description,
                    collection.alias,
                    collection.read.to_json().to_string(),
                    collection.write.to_json().to_string(),
                    media_types,
                    Value::Object(collection.extra).to_string(),
                ],
            )
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Backend(format!(
                    "API root '{api_root}' has no such API root, or another collection uses this alias: {e}"
                )),
                _ => db_err(e),
            })?;
            Ok(())
        })
        .await
    }

    async fn remove_collection(&self, api_root: &str, id: &str) -> StoreResult<bool> {
        let (api_root, id) = (api_root.to_owned(), id.to_owned());
        self.write(move |c| {
            let n = c
                .execute(
                    "DELETE FROM collections WHERE api_root = ?1 AND id = ?2",
                    params![api_root, id],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn add_objects(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
    ) -> StoreResult<Vec<AddOutcome>> {
        let (api_root, id) = (api_root.to_owned(), collection_id.to_owned());
        self.write(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let outcomes = objects::add_in(&tx, &api_root, &id, objects, now)?;
            tx.commit().map_err(db_err)?;
            Ok(outcomes)
        })
        .await
    }

    async fn add_envelope(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
        status_of: StatusOf,
    ) -> StoreResult<StatusRecord> {
        let (api_root, id) = (api_root.to_owned(), collection_id.to_owned());
        self.write(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let outcomes = objects::add_in(&tx, &api_root, &id, objects, now)?;
            let status = status_of(&outcomes);
            save_status(&tx, &status)?;
            tx.commit().map_err(db_err)?;
            Ok(status)
        })
        .await
    }

    async fn import_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        versions: Vec<StoredVersion>,
    ) -> StoreResult<u64> {
        let (api_root, id) = (api_root.to_owned(), collection_id.to_owned());
        self.write(move |c| objects::import(c, &api_root, &id, versions))
            .await
    }

    async fn list(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &ListQuery<'_>,
    ) -> StoreResult<Page<StoredVersion>> {
        let owned = objects::OwnedQuery::from(query);
        let (api_root, id) = (api_root.to_owned(), collection_id.to_owned());
        self.read(move |c| objects::list(c, &api_root, &id, &owned))
            .await
    }

    async fn list_range(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &RangeQuery<'_>,
    ) -> StoreResult<RangePage> {
        let owned = objects::OwnedRange::from(query);
        let (root, id) = (api_root.to_owned(), collection_id.to_owned());
        let counted = self
            .read(move |c| objects::range_by_flags(c, &root, &id, &owned))
            .await?;
        match counted {
            Some(page) => Ok(page),
            None => crate::walk_range(self, api_root, collection_id, query).await,
        }
    }

    async fn count_versions(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row("SELECT count(*) FROM objects", [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(db_err)
        })
        .await
    }

    async fn object_exists(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
    ) -> StoreResult<bool> {
        let (api_root, id, object) = (
            api_root.to_owned(),
            collection_id.to_owned(),
            object_id.to_owned(),
        );
        self.read(move |c| {
            let key = ckey(c, &api_root, &id)?;
            c.prepare_cached("SELECT 1 FROM objects WHERE ckey = ?1 AND id = ?2 LIMIT 1")
                .map_err(db_err)?
                .exists(params![key, object])
                .map_err(db_err)
        })
        .await
    }

    async fn delete_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
        filter: &Filter,
    ) -> StoreResult<u64> {
        let (api_root, id, object, filter) = (
            api_root.to_owned(),
            collection_id.to_owned(),
            object_id.to_owned(),
            filter.clone(),
        );
        self.write(move |c| objects::delete(c, &api_root, &id, &object, &filter))
            .await
    }

    async fn put_status(&self, status: StatusRecord) -> StoreResult<()> {
        self.write(move |c| save_status(c, &status)).await
    }

    async fn statuses(&self, api_root: &str) -> StoreResult<Vec<StatusRecord>> {
        let api_root = api_root.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, owner, created, json FROM statuses WHERE api_root = ?1 ORDER BY created, rowid",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![api_root], |r| status_row(&api_root, r))
                .map_err(db_err)?;
            rows.map(|r| r.map_err(db_err)).collect()
        })
        .await
    }

    async fn status(&self, api_root: &str, id: &str) -> StoreResult<Option<StatusRecord>> {
        let (api_root, id) = (api_root.to_owned(), id.to_owned());
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, owner, created, json FROM statuses WHERE api_root = ?1 AND id = ?2",
            )
            .map_err(db_err)?
            .query_row(params![api_root, id], |r| status_row(&api_root, r))
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn purge_statuses(&self, created_before: Timestamp) -> StoreResult<u64> {
        self.write(move |c| {
            let n = c
                .execute(
                    "DELETE FROM statuses WHERE created < ?1",
                    params![created_before.nanos()],
                )
                .map_err(db_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT name, password_hash FROM users ORDER BY name")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(UserRecord {
                        name: r.get(0)?,
                        password_hash: r.get(1)?,
                    })
                })
                .map_err(db_err)?;
            rows.map(|r| r.map_err(db_err)).collect()
        })
        .await
    }

    async fn user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let name = name.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT name, password_hash FROM users WHERE name = ?1")
                .map_err(db_err)?
                .query_row(params![name], |r| {
                    Ok(UserRecord {
                        name: r.get(0)?,
                        password_hash: r.get(1)?,
                    })
                })
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn put_user(&self, user: UserRecord) -> StoreResult<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO users (name, password_hash) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
                params![user.name, user.password_hash],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn insert_user(&self, user: UserRecord) -> StoreResult<bool> {
        self.write(move |c| {
            let n = c
                .execute(
                    "INSERT INTO users (name, password_hash) VALUES (?1, ?2)
                     ON CONFLICT (name) DO NOTHING",
                    params![user.name, user.password_hash],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn remove_user(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let n = tx
                .execute("DELETE FROM users WHERE name = ?1", params![name])
                .map_err(db_err)?;
            tokens::remove_of_user(&tx, &name)?;
            tx.commit().map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.read(tokens::all).await
    }

    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let id = id.to_owned();
        self.read(move |c| tokens::one(c, &id)).await
    }

    async fn insert_token(&self, token: TokenRecord) -> StoreResult<bool> {
        self.write(move |c| tokens::insert(c, &token)).await
    }

    async fn remove_token(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| tokens::remove(c, &id)).await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn init_meta(&self, key: &str, value: &str) -> StoreResult<String> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )
            .map_err(db_err)?;
            c.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .map_err(db_err)
        })
        .await
    }

    async fn health(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_passes_the_store_test_suite() {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        crate::testsuite::run_all(|| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = dir.path().join(format!("store-{n}.sqlite3"));
            async move { Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store> }
        })
        .await;
    }

    #[test]
    fn new_databases_use_16_kib_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |path: &Path| -> i64 {
            let conn = Connection::open(path).unwrap();
            conn.query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let fresh = dir.path().join("new.sqlite3");
        drop(SqliteStore::open(&fresh).unwrap());
        assert_eq!(page_size(&fresh), 16384);

        let old = dir.path().join("old.sqlite3");
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x);")
            .unwrap();
        drop(conn);
        drop(SqliteStore::open(&old).unwrap());
        assert_eq!(page_size(&old), 4096);
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_without_an_automatic_checkpoint() {
        // The writer's automatic checkpoint is off (it would hold up the commit that crosses
        // 1,000 pages); the checkpoint thread copies each commit into the file instead.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_api_root(ApiRootRecord {
                name: "r".into(),
                information: Map::new(),
            })
            .await
            .unwrap();
        let coll = CollectionRecord {
            id: "c".into(),
            title: "c".into(),
            description: None,
            alias: None,
            read: Grant::Everyone,
            write: Grant::Everyone,
            media_types: None,
            extra: Map::new(),
        };
        store.put_collection("r", coll).await.unwrap();
        let file_size = || std::fs::metadata(&path).map_or(0, |m| m.len());
        let before = file_size();
        let objects = (0..300)
            .map(|n| {
                let text = format!(
                    r#"{{"type":"note","spec_version":"2.1","id":"note--00000000-0000-4000-8000-{n:012}","created":"2016-01-01T00:00:00.000Z","modified":"2016-01-01T00:00:00.000Z","content":"{}"}}"#,
                    "x".repeat(1000)
                );
                let raw: Box<serde_json::value::RawValue> = serde_json::from_str(&text).unwrap();
                NewObject::from_raw(&raw).unwrap()
            })
            .collect();
        let now = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        store.add_objects("r", "c", objects, now).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while file_size() < before + 300_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {} bytes (was {before})",
                file_size()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_version_1_database_gets_its_selection_flags_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
                .unwrap();
            conn.execute_batch(
                r#"PRAGMA user_version = 1;
                INSERT INTO api_roots VALUES ('r', '{}');
                INSERT INTO collections (ckey, api_root, id, title, read_grant, write_grant, extra)
                    VALUES (1, 'r', 'c', 'c', 'true', 'true', '{}');
                INSERT INTO objects (ckey, date_added, id, type, version, version_text,
                                     spec_major, spec_minor, media_type, json) VALUES
                    (1, 10, 'x--1', 'x', 300, 'v300', 2, 1, 'm', '{"v":300}'),
                    (1, 20, 'x--1', 'x', 100, 'v100', 2, 1, 'm', '{"v":100}'),
                    (1, 30, 'x--1', 'x', 900, 'v900', 2, 0, 'm', '{"v":900}'),
                    (1, 40, 'y--1', 'y', 500, 'v500', 2, 1, 'm', '{"v":500}');"#,
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            crate::testsuite::default_page_versions(&store, "r", "c").await,
            ["v300", "v500"]
        );
    }

    #[tokio::test]
    async fn data_survives_reopening_and_newer_schemas_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/taxiid.sqlite3");
        {
            let store = SqliteStore::open(&path).unwrap();
            store.set_meta("k", "v").await.unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("v"));
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::latest() + 1)
            .unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer taxiid"), "{err}");
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.sqlite3");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("not a SQLite database"), "{err}");
    }
}
