//! API tokens in SQLite (`tokens` table, migration 0003).

use rusqlite::{Connection, OptionalExtension, Row, params};
use taxii_model::Timestamp;

use super::db_err;
use crate::{StoreResult, TokenRecord};

const COLUMNS: &str = "id, user_name, secret_sha256, label, created, expires";

fn record(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        user: r.get(1)?,
        secret_sha256: r.get(2)?,
        label: r.get(3)?,
        created: Timestamp::from_nanos(r.get(4)?),
        expires: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_nanos),
    })
}

pub(super) fn all(c: &Connection) -> StoreResult<Vec<TokenRecord>> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens ORDER BY id"))
        .map_err(db_err)?;
    let rows = stmt.query_map([], record).map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)).collect()
}

pub(super) fn one(c: &Connection, id: &str) -> StoreResult<Option<TokenRecord>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"))
        .map_err(db_err)?
        .query_row(params![id], record)
        .optional()
        .map_err(db_err)
}

pub(super) fn insert(c: &Connection, t: &TokenRecord) -> StoreResult<bool> {
    let n = c
        .execute(
            &format!(
                "INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO NOTHING"
            ),
            params![
                t.id,
                t.user,
                t.secret_sha256,
                t.label,
                t.created.nanos(),
                t.expires.map(|e| e.nanos())
            ],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

pub(super) fn remove(c: &Connection, id: &str) -> StoreResult<bool> {
    let n = c
        .execute("DELETE FROM tokens WHERE id = ?1", params![id])
        .map_err(db_err)?;
    Ok(n > 0)
}

pub(super) fn remove_of_user(c: &Connection, user: &str) -> StoreResult<()> {
    c.execute("DELETE FROM tokens WHERE user_name = ?1", params![user])
        .map_err(db_err)?;
    Ok(())
}
