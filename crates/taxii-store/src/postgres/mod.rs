//! The PostgreSQL store: several stateless taxiid nodes share one database. Everything nodes
//! must agree on lives here: objects, statuses, users, collections and the `next` token key
//! (a meta value), so any node can serve any request.
//!
//! The pool connects lazily: a node starts while the database is down, and every call then
//! fails with `StoreError::Unavailable` (503) until it is back, when the pool reconnects by
//! itself. Migrations run once per process, on the first call that reaches the database.

mod objects;
mod schema;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use taxii_model::{Filter, NewObject, Timestamp};
use tokio::sync::OnceCell;

use crate::{
    AddOutcome, ApiRootRecord, CollectionRecord, Grant, ListQuery, Page, RangePage, RangeQuery,
    StatusOf, StatusRecord, Store, StoreError, StoreResult, StoredVersion, TokenRecord, UserRecord,
};

/// How to reach the database.
#[derive(Clone)]
pub struct PgOptions {
    pub url: String,
    pub max_connections: u32,
    pub statement_timeout: Duration,
    pub acquire_timeout: Duration,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            max_connections: 10,
            statement_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PgOptions")
            .field("url", &"<redacted>")
            .field("max_connections", &self.max_connections)
            .field("statement_timeout", &self.statement_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    migrated: Arc<OnceCell<()>>,
}

/// Connection trouble is `Unavailable` (503, retry); anything else is a failure.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exceptions; 57P0x: the server is shutting down or starting;
        // 57014: the statement timeout cancelled a query (retrying later may succeed).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "57014"),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

fn corrupt(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

impl PgStore {
    /// A store over a lazily connected pool; fails only on a malformed URL.
    pub fn connect_lazy(opts: &PgOptions) -> StoreResult<PgStore> {
        let connect: PgConnectOptions = opts
            .url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL is not valid: {e}")))?;
        let timeout = format!("{}ms", opts.statement_timeout.as_millis());
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(connect.options([("statement_timeout", timeout)]));
        Ok(PgStore {
            pool,
            migrated: Arc::new(OnceCell::new()),
        })
    }

    /// Applies the migrations now (otherwise the first call does).
    pub async fn migrate(&self) -> StoreResult<()> {
        self.ready().await
    }

    async fn ready(&self) -> StoreResult<()> {
        self.migrated
            .get_or_try_init(|| schema::migrate(&self.pool))
            .await
            .map(|_| ())
    }

    /// The pool, once the schema is in place.
    async fn db(&self) -> StoreResult<&PgPool> {
        self.ready().await?;
        Ok(&self.pool)
    }
}

const COLLECTION_COLUMNS: &str =
    "id, title, description, alias, read_grant, write_grant, media_types, extra";

fn collection_record(r: &PgRow) -> StoreResult<CollectionRecord> {
    let get = |i: usize| -> StoreResult<Option<String>> { r.try_get(i).map_err(db_err) };
    let grant = |g: Option<String>| -> StoreResult<Grant> {
        let v: Value = serde_json::from_str(g.as_deref().unwrap_or("false"))
            .map_err(corrupt("collection grant"))?;
        Grant::from_json(&v).ok_or_else(|| StoreError::Corrupt(format!("bad grant {v}")))
    };
    Ok(CollectionRecord {
        id: get(0)?.unwrap_or_default(),
        title: get(1)?.unwrap_or_default(),
        description: get(2)?,
        alias: get(3)?,
        read: grant(get(4)?)?,
        write: grant(get(5)?)?,
        media_types: get(6)?
            .map(|m| serde_json::from_str(&m).map_err(corrupt("collection media types")))
            .transpose()?,
        extra: serde_json::from_str(get(7)?.as_deref().unwrap_or("{}"))
            .map_err(corrupt("collection members"))?,
    })
}

fn status_record(api_root: &str, r: &PgRow) -> StoreResult<StatusRecord> {
    Ok(StatusRecord {
        api_root: api_root.to_owned(),
        id: r.try_get("id").map_err(db_err)?,
        owner: r.try_get("owner").map_err(db_err)?,
        created: Timestamp::from_nanos(r.try_get("created").map_err(db_err)?),
        json: r.try_get("json").map_err(db_err)?,
    })
}

fn user_record(r: &PgRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        name: r.try_get(0).map_err(db_err)?,
        password_hash: r.try_get(1).map_err(db_err)?,
    })
}

async fn save_status(conn: &mut sqlx::PgConnection, status: &StatusRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO statuses (api_root, id, owner, created, json) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (api_root, id) DO UPDATE SET
           owner = excluded.owner, created = excluded.created, json = excluded.json",
    )
    .bind(&status.api_root)
    .bind(&status.id)
    .bind(&status.owner)
    .bind(status.created.nanos())
    .bind(&status.json)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn discovery(&self) -> StoreResult<Option<Map<String, Value>>> {
        let row = sqlx::query("SELECT doc FROM discovery WHERE id = 1")
            .fetch_optional(self.db().await?)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            let doc: String = r.try_get(0).map_err(db_err)?;
            serde_json::from_str(&doc).map_err(corrupt("discovery"))
        })
        .transpose()
    }

    async fn set_discovery(&self, discovery: Option<Map<String, Value>>) -> StoreResult<()> {
        let db = self.db().await?;
        match discovery {
            Some(d) => {
                sqlx::query(
                    "INSERT INTO discovery (id, doc) VALUES (1, $1)
                 ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                )
                .bind(Value::Object(d).to_string())
                .execute(db)
                .await
            }
            None => sqlx::query("DELETE FROM discovery").execute(db).await,
        }
        .map_err(db_err)?;
        Ok(())
    }

    async fn api_roots(&self) -> StoreResult<Vec<ApiRootRecord>> {
        let rows = sqlx::query("SELECT name, information FROM api_roots ORDER BY name")
            .fetch_all(self.db().await?)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let info: String = r.try_get(1).map_err(db_err)?;
                Ok(ApiRootRecord {
                    name: r.try_get(0).map_err(db_err)?,
                    information: serde_json::from_str(&info)
                        .map_err(corrupt("API root information"))?,
                })
            })
            .collect()
    }

    async fn put_api_root(&self, root: ApiRootRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_roots (name, information) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET information = excluded.information",
        )
        .bind(root.name)
        .bind(Value::Object(root.information).to_string())
        .execute(self.db().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn collections(&self, api_root: &str) -> StoreResult<Vec<CollectionRecord>> {
        let sql =
            format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE api_root = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(api_root)
            .fetch_all(self.db().await?)
            .await
            .map_err(db_err)?;
        rows.iter().map(collection_record).collect()
    }

    async fn collection(
        &self,
        api_root: &str,
        id_or_alias: &str,
    ) -> StoreResult<Option<CollectionRecord>> {
        // An id wins over another collection's alias.
        let sql = format!(
            "SELECT {COLLECTION_COLUMNS} FROM collections
             WHERE api_root = $1 AND (id = $2 OR alias = $2) ORDER BY id = $2 DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(api_root)
            .bind(id_or_alias)
            .fetch_optional(self.db().await?)
            .await
            .map_err(db_err)?;
        row.as_ref().map(collection_record).transpose()
    }

    async fn put_collection(
        &self,
        api_root: &str,
        collection: CollectionRecord,
    ) -> StoreResult<()> {
        let media_types = collection
            .media_types
            .as_ref()
            .map(|m| serde_json::json!(m).to_string());
        sqlx::query(
            "INSERT INTO collections
               (api_root, id, title, description, alias, read_grant, write_grant, media_types, extra)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (api_root, id) DO UPDATE SET
               title = excluded.title, description = excluded.description,
               alias = excluded.alias, read_grant = excluded.read_grant,
               write_grant = excluded.write_grant, media_types = excluded.media_types,
               extra = excluded.extra",
        )
        .bind(api_root)
        .bind(&collection.id)
        .bind(&collection.title)
        .bind(&collection.description)
        .bind(&collection.alias)
        .bind(collection.read.to_json().to_string())
        .bind(collection.write.to_json().to_string())
        .bind(media_types)
        .bind(Value::Object(collection.extra).to_string())
        .execute(self.db().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn remove_collection(&self, api_root: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM collections WHERE api_root = $1 AND id = $2")
            .bind(api_root)
            .bind(id)
            .execute(self.db().await?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn add_objects(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
    ) -> StoreResult<Vec<AddOutcome>> {
        let mut tx = self.db().await?.begin().await.map_err(db_err)?;
        let outcomes = objects::add_in(&mut tx, api_root, collection_id, objects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(outcomes)
    }

    async fn add_envelope(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
        status_of: StatusOf,
    ) -> StoreResult<StatusRecord> {
        let mut tx = self.db().await?.begin().await.map_err(db_err)?;
        let outcomes = objects::add_in(&mut tx, api_root, collection_id, objects, now).await?;
        let status = status_of(&outcomes);
        save_status(&mut tx, &status).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(status)
    }

    async fn import_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        versions: Vec<StoredVersion>,
    ) -> StoreResult<u64> {
        objects::import(self.db().await?, api_root, collection_id, versions).await
    }

    async fn list(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &ListQuery<'_>,
    ) -> StoreResult<Page<StoredVersion>> {
        objects::list(self.db().await?, api_root, collection_id, query).await
    }

    async fn list_range(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &RangeQuery<'_>,
    ) -> StoreResult<RangePage> {
        match objects::range_by_flags(self.db().await?, api_root, collection_id, query).await? {
            Some(page) => Ok(page),
            None => crate::walk_range(self, api_root, collection_id, query).await,
        }
    }

    async fn count_versions(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT count(*) FROM objects")
            .fetch_one(self.db().await?)
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err)?;
        Ok(n.max(0) as u64)
    }

    async fn object_exists(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM objects o JOIN collections c ON c.ckey = o.ckey
             WHERE c.api_root = $1 AND c.id = $2 AND o.id = $3 LIMIT 1",
        )
        .bind(api_root)
        .bind(collection_id)
        .bind(object_id)
        .fetch_optional(self.db().await?)
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn delete_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
        filter: &Filter,
    ) -> StoreResult<u64> {
        objects::delete(self.db().await?, api_root, collection_id, object_id, filter).await
    }

    async fn put_status(&self, status: StatusRecord) -> StoreResult<()> {
        let mut conn = self.db().await?.acquire().await.map_err(db_err)?;
        save_status(&mut conn, &status).await
    }

    async fn statuses(&self, api_root: &str) -> StoreResult<Vec<StatusRecord>> {
        let rows = sqlx::query(
            "SELECT id, owner, created, json FROM statuses WHERE api_root = $1 ORDER BY created, ord",
        )
        .bind(api_root)
        .fetch_all(self.db().await?)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| status_record(api_root, r)).collect()
    }

    async fn status(&self, api_root: &str, id: &str) -> StoreResult<Option<StatusRecord>> {
        let row = sqlx::query(
            "SELECT id, owner, created, json FROM statuses WHERE api_root = $1 AND id = $2",
        )
        .bind(api_root)
        .bind(id)
        .fetch_optional(self.db().await?)
        .await
        .map_err(db_err)?;
        row.as_ref().map(|r| status_record(api_root, r)).transpose()
    }

    async fn purge_statuses(&self, created_before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM statuses WHERE created < $1")
            .bind(created_before.nanos())
            .execute(self.db().await?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let rows = sqlx::query("SELECT name, password_hash FROM users ORDER BY name")
            .fetch_all(self.db().await?)
            .await
            .map_err(db_err)?;
        rows.iter().map(user_record).collect()
    }

    async fn user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query("SELECT name, password_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db().await?)
            .await
            .map_err(db_err)?;
        row.as_ref().map(user_record).transpose()
    }

    async fn put_user(&self, user: UserRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (name, password_hash) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(user.name)
        .bind(user.password_hash)
        .execute(self.db().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn insert_user(&self, user: UserRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO users (name, password_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(user.name)
        .bind(user.password_hash)
        .execute(self.db().await?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_user(&self, name: &str) -> StoreResult<bool> {
        let mut tx = self.db().await?.begin().await.map_err(db_err)?;
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tokens::remove_of_user(&mut *tx, name).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        tokens::all(self.db().await?).await
    }

    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        tokens::one(self.db().await?, id).await
    }

    async fn insert_token(&self, token: TokenRecord) -> StoreResult<bool> {
        tokens::insert(self.db().await?, token).await
    }

    async fn remove_token(&self, id: &str) -> StoreResult<bool> {
        tokens::remove(self.db().await?, id).await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(self.db().await?)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get(0).map_err(db_err)).transpose()
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(self.db().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn init_meta(&self, key: &str, value: &str) -> StoreResult<String> {
        let db = self.db().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(db)
            .await
            .map_err(db_err)?;
        sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(db)
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err)
    }

    async fn health(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.db().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> PgStore {
        let url = taxii_testkit::shared().create_database();
        PgStore::connect_lazy(&PgOptions::new(url)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_store_passes_the_store_test_suite() {
        crate::testsuite::run_all(|| async { Arc::new(store()) as Arc<dyn Store> }).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_migrating_at_once_apply_each_migration_once() {
        let url = taxii_testkit::shared().create_database();
        let a = PgStore::connect_lazy(&PgOptions::new(url.clone())).unwrap();
        let b = PgStore::connect_lazy(&PgOptions::new(url)).unwrap();
        let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
        ra.unwrap();
        rb.unwrap();
        let versions: Vec<i32> =
            sqlx::query_scalar("SELECT version FROM taxiid_schema ORDER BY version")
                .fetch_all(&a.pool)
                .await
                .unwrap();
        assert_eq!(versions, (1..=schema::latest()).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_1_database_gets_its_selection_flags_on_upgrade() {
        let url = taxii_testkit::shared().create_database();
        let store = PgStore::connect_lazy(&PgOptions::new(url)).unwrap();
        sqlx::raw_sql(include_str!("../../migrations/postgres/0001_init.sql"))
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::raw_sql(
            r#"CREATE TABLE taxiid_schema (version INTEGER NOT NULL);
            INSERT INTO taxiid_schema VALUES (1);
            INSERT INTO api_roots (name, information) VALUES ('r', '{}');
            INSERT INTO collections (api_root, id, title, read_grant, write_grant, extra)
                VALUES ('r', 'c', 'c', 'true', 'true', '{}');
            INSERT INTO objects (ckey, date_added, id, type, version, version_text,
                                 spec_major, spec_minor, media_type, json)
                SELECT c.ckey, v.* FROM collections c, (VALUES
                    (10, 'x--1', 'x', 300, 'v300', 2, 1, 'm', '{"v":300}'),
                    (20, 'x--1', 'x', 100, 'v100', 2, 1, 'm', '{"v":100}'),
                    (30, 'x--1', 'x', 900, 'v900', 2, 0, 'm', '{"v":900}'),
                    (40, 'y--1', 'y', 500, 'v500', 2, 1, 'm', '{"v":500}')) AS v;"#,
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.migrate().await.unwrap();
        assert_eq!(
            crate::testsuite::default_page_versions(&store, "r", "c").await,
            ["v300", "v500"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_that_is_down_is_unavailable_not_a_failure() {
        // Nothing listens on port 1.
        let opts = PgOptions {
            acquire_timeout: Duration::from_millis(500),
            ..PgOptions::new("postgres://postgres@127.0.0.1:1/none")
        };
        let store = PgStore::connect_lazy(&opts).unwrap();
        match store.api_roots().await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(PgStore::connect_lazy(&PgOptions::new("not a url")).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_cut_off_by_the_timeout_is_unavailable() {
        let opts = PgOptions {
            statement_timeout: Duration::from_millis(100),
            ..PgOptions::new(taxii_testkit::shared().create_database())
        };
        let store = PgStore::connect_lazy(&opts).unwrap();
        let err = sqlx::query("SELECT pg_sleep(2)")
            .execute(store.db().await.unwrap())
            .await
            .unwrap_err();
        assert!(matches!(db_err(err), StoreError::Unavailable(_)));
    }
}
