//! API tokens in PostgreSQL (`tokens` table, migration 0003).

use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use taxii_model::Timestamp;

use super::db_err;
use crate::{StoreResult, TokenRecord};

const COLUMNS: &str = "id, user_name, secret_sha256, label, created, expires";

fn record(r: &PgRow) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        id: r.try_get(0).map_err(db_err)?,
        user: r.try_get(1).map_err(db_err)?,
        secret_sha256: r.try_get(2).map_err(db_err)?,
        label: r.try_get(3).map_err(db_err)?,
        created: Timestamp::from_nanos(r.try_get(4).map_err(db_err)?),
        expires: r
            .try_get::<Option<i64>, _>(5)
            .map_err(db_err)?
            .map(Timestamp::from_nanos),
    })
}

pub(super) async fn all(db: impl PgExecutor<'_>) -> StoreResult<Vec<TokenRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tokens ORDER BY id"
    )))
    .fetch_all(db)
    .await
    .map_err(db_err)?;
    rows.iter().map(record).collect()
}

pub(super) async fn one(db: impl PgExecutor<'_>, id: &str) -> StoreResult<Option<TokenRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tokens WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(db_err)?;
    row.as_ref().map(record).transpose()
}

pub(super) async fn insert(db: impl PgExecutor<'_>, t: TokenRecord) -> StoreResult<bool> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING"
    )))
    .bind(t.id)
    .bind(t.user)
    .bind(t.secret_sha256)
    .bind(t.label)
    .bind(t.created.nanos())
    .bind(t.expires.map(|e| e.nanos()))
    .execute(db)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn remove(db: impl PgExecutor<'_>, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM tokens WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn remove_of_user(db: impl PgExecutor<'_>, user: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM tokens WHERE user_name = $1")
        .bind(user)
        .execute(db)
        .await
        .map_err(db_err)?;
    Ok(())
}
