//! Object versions in SQLite: adds and imports (one transaction each), pages by seeking on
//! `(ckey, date_added, seq)`, and deletes. Version selection is `taxii_model::select`, applied
//! to each candidate object's versions, exactly as the memory store does.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde_json::Value;
use taxii_model::object::same_json;
use taxii_model::select::select_versions;
use taxii_model::{Filter, NewObject, Position, SpecVersion, Timestamp};

use super::{ckey, db_err};
use crate::shared::{
    Facts, Flags, decided_by_flags, flag_column, flags_of, note_media_type, seq_of,
};
use crate::{
    AddOutcome, ListQuery, Page, RangePage, RangeQuery, StoreError, StoreResult, StoredVersion,
};

/// A `ListQuery` that can move to the blocking pool.
#[derive(Debug, Clone)]
pub(super) struct OwnedQuery {
    filter: Filter,
    object_id: Option<String>,
    after: Option<Position>,
    limit: usize,
}

impl From<&ListQuery<'_>> for OwnedQuery {
    fn from(q: &ListQuery<'_>) -> Self {
        OwnedQuery {
            filter: q.filter.clone(),
            object_id: q.object_id.map(str::to_owned),
            after: q.after,
            limit: q.limit,
        }
    }
}

const VERSION_COLUMNS: &str = "seq, date_added, id, type, version, version_text, spec_major, spec_minor, media_type, json, latest, top_spec";

/// A row of `VERSION_COLUMNS`: the version and its selection flags.
fn version_row(r: &Row<'_>) -> rusqlite::Result<(StoredVersion, Flags)> {
    let seq: i64 = r.get(0)?;
    let version = StoredVersion {
        position: Position {
            date_added: Timestamp::from_nanos(r.get(1)?),
            seq: seq.unsigned_abs(),
        },
        id: r.get(2)?,
        type_: r.get(3)?,
        version: Timestamp::from_nanos(r.get(4)?),
        version_text: r.get(5)?,
        spec_version: SpecVersion {
            major: r.get(6)?,
            minor: r.get(7)?,
        },
        media_type: r.get(8)?,
        // Straight from SQLite's buffer into the shared string: one copy, not two.
        json: Arc::from(r.get_ref(9)?.as_str()?),
    };
    let flags = Flags {
        latest: r.get(10)?,
        top_spec: r.get(11)?,
    };
    Ok((version, flags))
}

/// What selection reads of a row (`facts_row` reads them from column `at` on).
const FACT_COLUMNS: &str = "seq, version, spec_major, spec_minor, date_added";

fn facts_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Facts> {
    Ok(Facts {
        seq: r.get(at)?,
        version: Timestamp::from_nanos(r.get(at + 1)?),
        spec: SpecVersion {
            major: r.get(at + 2)?,
            minor: r.get(at + 3)?,
        },
        date_added: Timestamp::from_nanos(r.get(at + 4)?),
    })
}

/// Every stored version of `id`, with its flags as stored.
fn facts_of(conn: &Connection, ckey: i64, id: &str) -> StoreResult<Vec<(Facts, Flags)>> {
    // No ORDER BY: it would steer the planner to the date index and a scan of the whole
    // collection; selection does not depend on the order anyway.
    let sql =
        format!("SELECT {FACT_COLUMNS}, latest, top_spec FROM objects WHERE ckey = ?1 AND id = ?2");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt
        .query_map(params![ckey, id], |r| {
            let flags = Flags {
                latest: r.get(5)?,
                top_spec: r.get(6)?,
            };
            Ok((facts_row(r, 0)?, flags))
        })
        .map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)).collect()
}

/// Rewrites the flags of the versions of `id` that are no longer right (after a delete).
fn refresh_flags(conn: &Connection, ckey: i64, id: &str) -> StoreResult<()> {
    let stored = facts_of(conn, ckey, id)?;
    let facts: Vec<Facts> = stored.iter().map(|(f, _)| *f).collect();
    update_flags(conn, &stored, &flags_of(&facts))
}

fn update_flags(conn: &Connection, stored: &[(Facts, Flags)], wanted: &[Flags]) -> StoreResult<()> {
    for ((facts, had), want) in stored.iter().zip(wanted) {
        if had != want {
            conn.prepare_cached("UPDATE objects SET latest = ?2, top_spec = ?3 WHERE seq = ?1")
                .map_err(db_err)?
                .execute(params![facts.seq, want.latest, want.top_spec])
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// The seqs of the versions of `id` that the filter selects.
fn selected(conn: &Connection, ckey: i64, id: &str, filter: &Filter) -> StoreResult<Vec<i64>> {
    let facts: Vec<Facts> = facts_of(conn, ckey, id)?
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    Ok(select_versions(
        &facts,
        filter.added_after,
        &filter.spec_versions,
        &filter.versions,
    )
    .into_iter()
    .map(|i| facts[i].seq)
    .collect())
}

/// Remembers, per object id, which of its versions the filter selects.
struct Chooser<'a> {
    conn: &'a Connection,
    key: i64,
    filter: &'a Filter,
    chosen: HashMap<String, Vec<i64>>,
}

impl Chooser<'_> {
    /// Works out the selection of every object of `rows` that its flags leave open and that
    /// was not seen yet, with one query per few hundred ids instead of one per object.
    fn prepare(&mut self, rows: &[(StoredVersion, Flags)]) -> StoreResult<()> {
        let mut unknown: Vec<String> = rows
            .iter()
            .filter(|(_, flags)| decided_by_flags(self.filter, *flags).is_none())
            .map(|(v, _)| v.id.as_str())
            .filter(|id| !self.chosen.contains_key(*id))
            .map(str::to_owned)
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        let mut found = facts_of_ids(self.conn, self.key, unknown.iter().map(String::as_str))?;
        for id in unknown {
            let versions: Vec<Facts> = found
                .remove(&id)
                .map(|v| v.into_iter().map(|(f, _)| f).collect())
                .unwrap_or_default();
            let seqs = select_versions(
                &versions,
                self.filter.added_after,
                &self.filter.spec_versions,
                &self.filter.versions,
            )
            .into_iter()
            .map(|i| versions[i].seq)
            .collect();
            self.chosen.insert(id, seqs);
        }
        Ok(())
    }

    fn keeps(&mut self, v: &StoredVersion, flags: Flags) -> StoreResult<bool> {
        if let Some(keep) = decided_by_flags(self.filter, flags) {
            return Ok(keep);
        }
        let seq = i64::try_from(v.position.seq).unwrap_or(i64::MAX);
        if let Some(seqs) = self.chosen.get(&v.id) {
            return Ok(seqs.contains(&seq));
        }
        let seqs = selected(self.conn, self.key, &v.id, self.filter)?;
        let keep = seqs.contains(&seq);
        self.chosen.insert(v.id.clone(), seqs);
        Ok(keep)
    }
}

/// Up to `want` selected versions after `floor` in `date_added` order, seeking on the date
/// index (or the type index for one type) in batches.
fn seek(
    chooser: &mut Chooser<'_>,
    type_: Option<&str>,
    floor: Option<Position>,
    want: usize,
) -> StoreResult<Vec<StoredVersion>> {
    // When one flag decides, the query skips the versions it drops (no batch comes back
    // short of selected versions).
    let flag = flag_column(chooser.filter).map_or(String::new(), |c| format!("AND {c} = 1"));
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM objects WHERE ckey = ?1 AND (date_added, seq) > (?2, ?3) {} {flag} ORDER BY date_added, seq LIMIT ?4",
        if type_.is_some() { "AND type = ?5" } else { "" }
    );
    let mut stmt = chooser.conn.prepare_cached(&sql).map_err(db_err)?;
    let (mut after_date, mut after_seq) =
        floor.map_or((i64::MIN, i64::MIN), |p| (p.date_added.nanos(), seq_of(p)));
    let batch = want.clamp(64, 1000);
    let mut found = Vec::new();
    loop {
        let mut args: Vec<rusqlite::types::Value> = vec![
            chooser.key.into(),
            after_date.into(),
            after_seq.into(),
            i64::try_from(batch).unwrap_or(1000).into(),
        ];
        if let Some(t) = type_ {
            args.push(t.to_owned().into());
        }
        let rows: Vec<(StoredVersion, Flags)> = stmt
            .query_map(params_from_iter(args), version_row)
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        let exhausted = rows.len() < batch;
        chooser.prepare(&rows)?;
        for (v, flags) in rows {
            after_date = v.position.date_added.nanos();
            after_seq = seq_of(v.position);
            if chooser.keeps(&v, flags)? {
                found.push(v);
                if found.len() == want {
                    return Ok(found);
                }
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
}

/// Every version of the given objects (through the (ckey, id) index), after `floor`.
fn versions_of_ids(
    conn: &Connection,
    key: i64,
    ids: &[String],
    floor: Option<Position>,
) -> StoreResult<Vec<(StoredVersion, Flags)>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM objects WHERE ckey = ?1 AND id = ?2");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut out = Vec::new();
    for id in ids {
        let rows = stmt
            .query_map(params![key, id], version_row)
            .map_err(db_err)?;
        for row in rows {
            let row = row.map_err(db_err)?;
            if floor.is_none_or(|f| row.0.position > f) {
                out.push(row);
            }
        }
    }
    out.sort_by_key(|(v, _)| v.position);
    out.dedup_by_key(|(v, _)| v.position);
    Ok(out)
}

pub(super) fn list(
    conn: &Connection,
    api_root: &str,
    collection_id: &str,
    q: &OwnedQuery,
) -> StoreResult<Page<StoredVersion>> {
    let key = ckey(conn, api_root, collection_id)?;
    let filter = &q.filter;
    let floor = crate::page_floor(q.after, filter.added_after);
    let want = q.limit.saturating_add(1);
    let mut chooser = Chooser {
        conn,
        key,
        filter,
        chosen: HashMap::new(),
    };
    let ids: Option<Vec<String>> = q
        .object_id
        .clone()
        .map(|i| vec![i])
        .or_else(|| filter.ids.clone());
    let mut found = Vec::new();
    if let Some(ids) = ids {
        let candidates = versions_of_ids(conn, key, &ids, floor)?;
        chooser.prepare(&candidates)?;
        for (v, flags) in candidates {
            if (q.object_id.is_some() || filter.matches_type(&v.type_))
                && chooser.keeps(&v, flags)?
            {
                found.push(v);
                if found.len() == want {
                    break;
                }
            }
        }
    } else if let Some(types) = &filter.types {
        // One seek per type on the type index, merged: the first `want` overall are among the
        // first `want` of each type.
        for t in types {
            found.extend(seek(&mut chooser, Some(t), floor, want)?);
        }
        found.sort_by_key(|v| v.position);
        found.dedup_by_key(|v| v.position);
        found.truncate(want);
    } else {
        found = seek(&mut chooser, None, floor, want)?;
    }
    let more = found.len() > q.limit;
    found.truncate(q.limit);
    Ok(Page { items: found, more })
}

/// A `RangeQuery` that can move to the blocking pool.
#[derive(Debug, Clone)]
pub(super) struct OwnedRange {
    filter: Filter,
    listed: bool,
    spec: Option<SpecVersion>,
    offset: u64,
    limit: usize,
}

impl From<&RangeQuery<'_>> for OwnedRange {
    fn from(q: &RangeQuery<'_>) -> Self {
        OwnedRange {
            filter: q.filter.clone(),
            listed: q.object_id.is_some() || q.filter.ids.is_some(),
            spec: q.spec,
            offset: q.offset,
            limit: q.limit,
        }
    }
}

/// A TAXII 2.0 item range counted and cut by SQLite itself, when one flag column decides the
/// filter; `None` when it does not, or ids are listed (those few versions are walked).
pub(super) fn range_by_flags(
    conn: &Connection,
    api_root: &str,
    collection_id: &str,
    q: &OwnedRange,
) -> StoreResult<Option<RangePage>> {
    let Some(flag) = flag_column(&q.filter).filter(|_| !q.listed) else {
        return Ok(None);
    };
    let key = ckey(conn, api_root, collection_id)?;
    let mut cond = format!("ckey = ?1 AND {flag} = 1");
    let mut args: Vec<rusqlite::types::Value> = vec![key.into()];
    if let Some(sv) = q.spec {
        cond.push_str(" AND spec_major = ?2 AND spec_minor = ?3");
        args.push(i64::from(sv.major).into());
        args.push(i64::from(sv.minor).into());
    }
    if let Some(types) = &q.filter.types {
        let first = args.len() + 1;
        let marks: Vec<String> = (first..first + types.len())
            .map(|i| format!("?{i}"))
            .collect();
        cond.push_str(&format!(" AND type IN ({})", marks.join(", ")));
        args.extend(types.iter().map(|t| t.clone().into()));
    }
    // One snapshot for the count and the range, so they agree.
    let tx = conn.unchecked_transaction().map_err(db_err)?;
    let total: i64 = tx
        .prepare_cached(&format!("SELECT count(*) FROM objects WHERE {cond}"))
        .map_err(db_err)?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))
        .map_err(db_err)?;
    let n = args.len();
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM objects WHERE {cond} ORDER BY date_added, seq LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    );
    args.push(i64::try_from(q.limit).unwrap_or(i64::MAX).into());
    args.push(i64::try_from(q.offset).unwrap_or(i64::MAX).into());
    let items = tx
        .prepare_cached(&sql)
        .map_err(db_err)?
        .query_map(params_from_iter(args.iter()), version_row)
        .map_err(db_err)?
        .map(|r| r.map(|(v, _)| v).map_err(db_err))
        .collect::<StoreResult<Vec<_>>>()?;
    tx.commit().map_err(db_err)?;
    Ok(Some(RangePage {
        items,
        total: total.unsigned_abs(),
    }))
}

/// The collection's high-water `date_added` and its media types.
fn collection_state(
    conn: &Connection,
    key: i64,
) -> StoreResult<(Option<Timestamp>, Option<Vec<String>>)> {
    let (last, media): (Option<i64>, Option<String>) = conn
        .query_row(
            "SELECT last_date_added, media_types FROM collections WHERE ckey = ?1",
            params![key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db_err)?;
    let media = media
        .map(|m| serde_json::from_str(&m))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("collection media types: {e}")))?;
    Ok((last.map(Timestamp::from_nanos), media))
}

fn save_collection_state(
    conn: &Connection,
    key: i64,
    last: Option<Timestamp>,
    media: &Option<Vec<String>>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE collections SET last_date_added = ?2, media_types = ?3 WHERE ckey = ?1",
        params![
            key,
            last.map(Timestamp::nanos),
            media.as_ref().map(|m| Value::from(m.clone()).to_string())
        ],
    )
    .map_err(db_err)?;
    Ok(())
}

/// Inserts a version with the flags it has among `stored` (the object's versions in the table),
/// corrects the flags of the versions it displaces, and adds it to `stored` (so a later version
/// of the same batch sees it). 0 when it was there.
fn insert(
    conn: &Connection,
    key: i64,
    v: &StoredVersion,
    stored: &mut Vec<(Facts, Flags)>,
) -> StoreResult<usize> {
    let mine = Facts {
        seq: 0,
        version: v.version,
        spec: v.spec_version,
        date_added: v.position.date_added,
    };
    let mut facts: Vec<Facts> = stored.iter().map(|(f, _)| *f).collect();
    facts.push(mine);
    let mut flags = flags_of(&facts);
    let own = flags.pop().unwrap_or_default();
    let inserted = insert_row(conn, key, v, own)?;
    if inserted == 1 {
        update_flags(conn, stored, &flags)?;
        for ((_, had), want) in stored.iter_mut().zip(flags) {
            *had = want;
        }
        let seq = conn.last_insert_rowid();
        stored.push((Facts { seq, ..mine }, own));
    }
    Ok(inserted)
}

/// The stored versions of every object of a batch, by id: one query per few hundred ids
/// instead of one per object.
fn facts_of_ids<'a>(
    conn: &Connection,
    key: i64,
    ids: impl Iterator<Item = &'a str>,
) -> StoreResult<HashMap<String, Vec<(Facts, Flags)>>> {
    let mut ids: Vec<&str> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let sql = format!(
        "SELECT id, {FACT_COLUMNS}, latest, top_spec FROM objects
         WHERE ckey = ?1 AND id IN (SELECT value FROM json_each(?2))"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut found: HashMap<String, Vec<(Facts, Flags)>> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = Value::from(chunk.to_vec()).to_string();
        let rows = stmt
            .query_map(params![key, list], |r| {
                let flags = Flags {
                    latest: r.get(6)?,
                    top_spec: r.get(7)?,
                };
                Ok((r.get::<_, String>(0)?, facts_row(r, 1)?, flags))
            })
            .map_err(db_err)?;
        for row in rows {
            let (id, facts, flags) = row.map_err(db_err)?;
            found.entry(id).or_default().push((facts, flags));
        }
    }
    Ok(found)
}

fn insert_row(conn: &Connection, key: i64, v: &StoredVersion, flags: Flags) -> StoreResult<usize> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO objects
           (ckey, date_added, id, type, version, version_text, spec_major, spec_minor, media_type,
            json, latest, top_spec)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .map_err(db_err)?
    .execute(params![
        key,
        v.position.date_added.nanos(),
        v.id,
        v.type_,
        v.version.nanos(),
        v.version_text,
        v.spec_version.major,
        v.spec_version.minor,
        v.media_type,
        &*v.json,
        flags.latest,
        flags.top_spec,
    ])
    .map_err(db_err)
}

/// The outcome for an object whose version may already be stored, if it is.
fn existing_outcome(conn: &Connection, key: i64, o: &NewObject) -> StoreResult<Option<AddOutcome>> {
    match &o.version {
        Some(v) => {
            let old: Option<String> = conn
                .prepare_cached(
                    "SELECT json FROM objects WHERE ckey = ?1 AND id = ?2 AND version = ?3",
                )
                .map_err(db_err)?
                .query_row(params![key, o.id, v.instant.nanos()], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            Ok(old.map(|old| {
                let version = v.text.clone();
                if same_json(&old, &o.json) {
                    AddOutcome::AlreadyPresent { version }
                } else {
                    AddOutcome::Conflict { version }
                }
            }))
        }
        // An SCO has one stable version: the first one stored.
        None => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, version_text, json FROM objects WHERE ckey = ?1 AND id = ?2",
                )
                .map_err(db_err)?;
            let mut rows: Vec<(i64, String, String)> = stmt
                .query_map(params![key, o.id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            // Sorted here, not in SQL, so the planner keeps the (ckey, id) index.
            rows.sort_by_key(|(seq, _, _)| *seq);
            let olds: Vec<(String, String)> = rows.into_iter().map(|(_, v, j)| (v, j)).collect();
            if let Some((version, _)) = olds.iter().find(|(_, j)| same_json(j, &o.json)) {
                return Ok(Some(AddOutcome::AlreadyPresent {
                    version: version.clone(),
                }));
            }
            Ok(olds
                .into_iter()
                .next()
                .map(|(version, _)| AddOutcome::Conflict { version }))
        }
    }
}

/// Adds the objects inside the caller's transaction.
pub(super) fn add_in(
    tx: &Connection,
    api_root: &str,
    collection_id: &str,
    objects: Vec<NewObject>,
    now: Timestamp,
) -> StoreResult<Vec<AddOutcome>> {
    let key = ckey(tx, api_root, collection_id)?;
    let (mut last, mut media) = collection_state(tx, key)?;
    let now = now.truncate_to_micros();
    let mut siblings = facts_of_ids(tx, key, objects.iter().map(|o| o.id.as_str()))?;
    let mut outcomes = Vec::with_capacity(objects.len());
    for o in objects {
        let stored = siblings.entry(o.id.clone()).or_default();
        let clash = match &o.version {
            Some(v) => stored.iter().any(|(f, _)| f.version == v.instant),
            None => !stored.is_empty(),
        };
        if clash && let Some(outcome) = existing_outcome(tx, key, &o)? {
            outcomes.push(outcome);
            continue;
        }
        // Strictly after everything the collection ever held, so paging by date never loses
        // a tie and a cursor never lands before a new object.
        let date_added = match last {
            Some(l) if l >= now => l.next_micro(),
            _ => now,
        };
        last = Some(date_added);
        let (version, version_text) = match o.version {
            Some(v) => (v.instant, v.text),
            None => (date_added, date_added.to_taxii_string()),
        };
        let media_type = o.spec_version.media_type();
        note_media_type(&mut media, &media_type);
        insert(
            tx,
            key,
            &StoredVersion {
                id: o.id,
                type_: o.type_,
                version,
                version_text: version_text.clone(),
                spec_version: o.spec_version,
                media_type,
                position: Position { date_added, seq: 0 },
                json: Arc::from(o.json),
            },
            stored,
        )?;
        outcomes.push(AddOutcome::Added {
            version: version_text,
        });
    }
    save_collection_state(tx, key, last, &media)?;
    Ok(outcomes)
}

pub(super) fn import(
    conn: &mut Connection,
    api_root: &str,
    collection_id: &str,
    versions: Vec<StoredVersion>,
) -> StoreResult<u64> {
    let tx = conn.transaction().map_err(db_err)?;
    let key = ckey(&tx, api_root, collection_id)?;
    let (mut last, mut media) = collection_state(&tx, key)?;
    let mut siblings = facts_of_ids(&tx, key, versions.iter().map(|v| v.id.as_str()))?;
    let mut stored = 0u64;
    // Ties on date_added keep the order given, as the sequence numbers follow insertion.
    for v in &versions {
        let known = siblings.entry(v.id.clone()).or_default();
        if insert(&tx, key, v, known)? == 1 {
            stored += 1;
            last = last.max(Some(v.position.date_added));
            note_media_type(&mut media, &v.media_type);
        }
    }
    save_collection_state(&tx, key, last, &media)?;
    tx.commit().map_err(db_err)?;
    Ok(stored)
}

pub(super) fn delete(
    conn: &mut Connection,
    api_root: &str,
    collection_id: &str,
    object_id: &str,
    filter: &Filter,
) -> StoreResult<u64> {
    let tx = conn.transaction().map_err(db_err)?;
    let key = ckey(&tx, api_root, collection_id)?;
    let doomed = selected(&tx, key, object_id, filter)?;
    let mut deleted = 0u64;
    {
        let mut stmt = tx
            .prepare_cached("DELETE FROM objects WHERE seq = ?1")
            .map_err(db_err)?;
        for seq in &doomed {
            deleted += stmt.execute(params![seq]).map_err(db_err)? as u64;
        }
    }
    refresh_flags(&tx, key, object_id)?;
    tx.commit().map_err(db_err)?;
    Ok(deleted)
}
