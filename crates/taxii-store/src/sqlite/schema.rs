//! Versioned schema migrations over `PRAGMA user_version`: each file in
//! `migrations/sqlite/` is applied once, in order, in one transaction. A database written by a
//! newer taxiid (a higher version than this build knows) is refused, never guessed at.

use rusqlite::Connection;

use crate::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_selection_flags.sql"),
    include_str!("../../migrations/sqlite/0003_tokens.sql"),
];

pub(super) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

pub(super) fn migrate(conn: &mut Connection, path: &str) -> StoreResult<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(super::db_err)?;
    if current > latest() {
        return Err(StoreError::Backend(format!(
            "{path} was written by a newer taxiid (schema version {current}; this build knows up to {}): upgrade taxiid or use another data file",
            latest()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction().map_err(super::db_err)?;
        tx.execute_batch(sql).map_err(super::db_err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(super::db_err)?;
        tx.commit().map_err(super::db_err)?;
        tracing::info!(path, version, "applied SQLite schema migration");
    }
    Ok(())
}
