//! Versioned migrations for PostgreSQL: each file in `migrations/postgres/` is applied once,
//! in order, inside one transaction that holds a transaction-scoped advisory lock, so two nodes
//! starting at once never apply a migration twice. A database from a newer taxiid is refused.

use sqlx::{PgPool, Row};

use super::db_err;
use crate::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_selection_flags.sql"),
    include_str!("../../migrations/postgres/0003_tokens.sql"),
];
/// An arbitrary constant naming taxiid's migration lock among other advisory locks.
const LOCK_KEY: i64 = 0x7461_7869_6964_0001;

pub(super) fn latest() -> i32 {
    MIGRATIONS.len() as i32
}

pub(super) async fn migrate(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS taxiid_schema (version INTEGER NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let current: i32 = sqlx::query("SELECT max(version) FROM taxiid_schema")
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .try_get::<Option<i32>, _>(0)
        .map_err(db_err)?
        .unwrap_or(0);
    if current > latest() {
        return Err(StoreError::Backend(format!(
            "the database was written by a newer taxiid (schema version {current}; this build knows up to {}): upgrade taxiid",
            latest()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO taxiid_schema (version) VALUES ($1)")
            .bind(index as i32 + 1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tracing::info!(version = index + 1, "applied PostgreSQL schema migration");
    }
    tx.commit().await.map_err(db_err)
}
