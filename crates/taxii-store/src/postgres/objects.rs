//! Object versions in PostgreSQL: adds and imports (one transaction each, holding the
//! collection's row lock so `date_added` grows in commit order across nodes), pages by seeking
//! on `(ckey, date_added, seq)`, and deletes. Version selection is `taxii_model::select`,
//! applied per candidate object with the facts of a whole batch fetched in one query.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use taxii_model::object::same_json;
use taxii_model::select::select_versions;
use taxii_model::{Filter, NewObject, Position, SpecSelect, SpecVersion, Timestamp, VersionSelect};

use super::db_err;
use crate::shared::{
    Facts, Flags, decided_by_flags, flag_column, flags_of, note_media_type, seq_of,
};
use crate::{
    AddOutcome, ListQuery, Page, RangePage, RangeQuery, StoreError, StoreResult, StoredVersion,
};

const VERSION_COLUMNS: &str = "seq, date_added, id, type, version, version_text, spec_major, spec_minor, media_type, json, latest, top_spec";

/// A row of `VERSION_COLUMNS`: the version and its selection flags.
fn version_row(r: &PgRow) -> StoreResult<(StoredVersion, Flags)> {
    let flags = Flags {
        latest: r.try_get(10).map_err(db_err)?,
        top_spec: r.try_get(11).map_err(db_err)?,
    };
    Ok((version_of(r)?, flags))
}

/// A spec version's major or minor part, stored as INTEGER.
fn spec_part(r: &PgRow, i: usize) -> StoreResult<u16> {
    let v: i32 = r.try_get(i).map_err(db_err)?;
    u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("spec version part {v}")))
}

fn version_of(r: &PgRow) -> StoreResult<StoredVersion> {
    let get_i64 = |i: usize| -> StoreResult<i64> { r.try_get(i).map_err(db_err) };
    Ok(StoredVersion {
        position: Position {
            date_added: Timestamp::from_nanos(get_i64(1)?),
            seq: get_i64(0)?.unsigned_abs(),
        },
        id: r.try_get(2).map_err(db_err)?,
        type_: r.try_get(3).map_err(db_err)?,
        version: Timestamp::from_nanos(get_i64(4)?),
        version_text: r.try_get(5).map_err(db_err)?,
        spec_version: SpecVersion {
            major: spec_part(r, 6)?,
            minor: spec_part(r, 7)?,
        },
        media_type: r.try_get(8).map_err(db_err)?,
        json: Arc::from(r.try_get::<String, _>(9).map_err(db_err)?),
    })
}

async fn ckey(db: &mut PgConnection, api_root: &str, id: &str) -> StoreResult<i64> {
    sqlx::query("SELECT ckey FROM collections WHERE api_root = $1 AND id = $2")
        .bind(api_root)
        .bind(id)
        .fetch_optional(db)
        .await
        .map_err(db_err)?
        .map(|r| r.try_get(0).map_err(db_err))
        .transpose()?
        .ok_or_else(|| {
            StoreError::Backend(format!("no collection '{id}' in API root '{api_root}'"))
        })
}

/// The seqs of each object's versions that the filter selects, for every id in `ids`.
async fn select_for_ids(
    db: &mut PgConnection,
    key: i64,
    ids: &[String],
    filter: &Filter,
) -> StoreResult<HashMap<String, Vec<i64>>> {
    let rows = sqlx::query(
        "SELECT id, seq, version, spec_major, spec_minor, date_added FROM objects
         WHERE ckey = $1 AND id = ANY($2)",
    )
    .bind(key)
    .bind(ids)
    .fetch_all(db)
    .await
    .map_err(db_err)?;
    let mut by_id: HashMap<String, Vec<Facts>> = HashMap::new();
    for r in &rows {
        by_id
            .entry(r.try_get(0).map_err(db_err)?)
            .or_default()
            .push(Facts {
                seq: r.try_get(1).map_err(db_err)?,
                version: Timestamp::from_nanos(r.try_get(2).map_err(db_err)?),
                spec: SpecVersion {
                    major: spec_part(r, 3)?,
                    minor: spec_part(r, 4)?,
                },
                date_added: Timestamp::from_nanos(r.try_get(5).map_err(db_err)?),
            });
    }
    let mut out: HashMap<String, Vec<i64>> = ids.iter().map(|i| (i.clone(), Vec::new())).collect();
    for (id, facts) in by_id {
        let chosen = select_versions(
            &facts,
            filter.added_after,
            &filter.spec_versions,
            &filter.versions,
        )
        .into_iter()
        .map(|i| facts[i].seq)
        .collect();
        out.insert(id, chosen);
    }
    Ok(out)
}

/// Keeps the versions of `rows` that the filter selects, in order, up to `want`.
async fn keep_selected(
    db: &mut PgConnection,
    key: i64,
    filter: &Filter,
    chosen: &mut HashMap<String, Vec<i64>>,
    rows: Vec<(StoredVersion, Flags)>,
    found: &mut Vec<StoredVersion>,
    want: usize,
) -> StoreResult<()> {
    // Only versions whose flags leave the answer open need their siblings.
    let mut unknown: Vec<String> = rows
        .iter()
        .filter(|(v, flags)| {
            decided_by_flags(filter, *flags).is_none() && !chosen.contains_key(&v.id)
        })
        .map(|(v, _)| v.id.clone())
        .collect();
    unknown.sort();
    unknown.dedup();
    if !unknown.is_empty() {
        chosen.extend(select_for_ids(db, key, &unknown, filter).await?);
    }
    for (v, flags) in rows {
        if found.len() == want {
            break;
        }
        let keep = decided_by_flags(filter, flags).unwrap_or_else(|| {
            chosen
                .get(&v.id)
                .is_some_and(|seqs| seqs.contains(&seq_of(v.position)))
        });
        if keep {
            found.push(v);
        }
    }
    Ok(())
}

/// Up to `want` selected versions after `floor`, seeking on the date index (or the type index
/// for one type) in batches.
#[allow(clippy::too_many_arguments)]
async fn seek(
    db: &mut PgConnection,
    key: i64,
    filter: &Filter,
    chosen: &mut HashMap<String, Vec<i64>>,
    type_: Option<&str>,
    floor: Option<Position>,
    want: usize,
) -> StoreResult<Vec<StoredVersion>> {
    // When one flag decides, the query skips the versions it drops (no batch comes back
    // short of selected versions).
    let flag = flag_column(filter).map_or(String::new(), |c| format!("AND {c}"));
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM objects WHERE ckey = $1 AND (date_added, seq) > ($2, $3) {} {flag} ORDER BY date_added, seq LIMIT $4",
        if type_.is_some() { "AND type = $5" } else { "" }
    );
    let (mut after_date, mut after_seq) =
        floor.map_or((i64::MIN, i64::MIN), |p| (p.date_added.nanos(), seq_of(p)));
    let batch = want.clamp(64, 1000);
    let mut found = Vec::new();
    loop {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(key)
            .bind(after_date)
            .bind(after_seq)
            .bind(i64::try_from(batch).unwrap_or(1000));
        if let Some(t) = type_ {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&mut *db).await.map_err(db_err)?;
        let exhausted = rows.len() < batch;
        let rows: Vec<(StoredVersion, Flags)> =
            rows.iter().map(version_row).collect::<StoreResult<_>>()?;
        if let Some((last, _)) = rows.last() {
            after_date = last.position.date_added.nanos();
            after_seq = seq_of(last.position);
        }
        keep_selected(db, key, filter, chosen, rows, &mut found, want).await?;
        if exhausted || found.len() == want {
            return Ok(found);
        }
    }
}

pub(super) async fn list(
    db: &PgPool,
    api_root: &str,
    collection_id: &str,
    q: &ListQuery<'_>,
) -> StoreResult<Page<StoredVersion>> {
    let filter = q.filter;
    // When the flags decide every version, each query stands alone; otherwise a page's queries
    // (versions, then their siblings) run in one read-only snapshot so they see the same data.
    let flags_decide = flag_column(filter).is_some()
        || (filter.spec_versions == SpecSelect::Any && filter.versions == VersionSelect::All);
    if flags_decide {
        let mut conn = db.acquire().await.map_err(db_err)?;
        return list_on(&mut conn, api_root, collection_id, q).await;
    }
    let mut tx = db.begin().await.map_err(db_err)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let page = list_on(&mut tx, api_root, collection_id, q).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(page)
}

async fn list_on(
    tx: &mut PgConnection,
    api_root: &str,
    collection_id: &str,
    q: &ListQuery<'_>,
) -> StoreResult<Page<StoredVersion>> {
    let key = ckey(&mut *tx, api_root, collection_id).await?;
    let filter = q.filter;
    let floor = crate::page_floor(q.after, filter.added_after);
    let want = q.limit.saturating_add(1);
    let mut chosen = HashMap::new();
    let ids: Option<Vec<String>> = q
        .object_id
        .map(|i| vec![i.to_owned()])
        .or_else(|| filter.ids.clone());
    let mut found = Vec::new();
    if let Some(ids) = ids {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM objects WHERE ckey = $1 AND id = ANY($2)
             AND (date_added, seq) > ($3, $4) ORDER BY date_added, seq"
        );
        let (after_date, after_seq) =
            floor.map_or((i64::MIN, i64::MIN), |p| (p.date_added.nanos(), seq_of(p)));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(&ids)
            .bind(after_date)
            .bind(after_seq)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let rows: Vec<(StoredVersion, Flags)> = rows
            .iter()
            .map(version_row)
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .filter(|(v, _)| q.object_id.is_some() || filter.matches_type(&v.type_))
            .collect();
        keep_selected(tx, key, filter, &mut chosen, rows, &mut found, want).await?;
    } else if let Some(types) = &filter.types {
        // One seek per type on the type index, merged: the first `want` overall are among the
        // first `want` of each type.
        for t in types {
            found.extend(seek(tx, key, filter, &mut chosen, Some(t), floor, want).await?);
        }
        found.sort_by_key(|v| v.position);
        found.dedup_by_key(|v| v.position);
        found.truncate(want);
    } else {
        found = seek(tx, key, filter, &mut chosen, None, floor, want).await?;
    }
    let more = found.len() > q.limit;
    found.truncate(q.limit);
    Ok(Page { items: found, more })
}

/// A TAXII 2.0 item range counted and cut by PostgreSQL itself, when one flag column decides
/// the filter; `None` when it does not, or ids are listed (those few versions are walked).
pub(super) async fn range_by_flags(
    db: &PgPool,
    api_root: &str,
    collection_id: &str,
    q: &RangeQuery<'_>,
) -> StoreResult<Option<RangePage>> {
    let listed = q.object_id.is_some() || q.filter.ids.is_some();
    let Some(flag) = flag_column(q.filter).filter(|_| !listed) else {
        return Ok(None);
    };
    // $1 ckey, $2/$3 the spec version, $4 the types (NULL: any).
    let mut cond = format!("ckey = $1 AND {flag} AND ($4::text[] IS NULL OR type = ANY($4))");
    if q.spec.is_some() {
        cond.push_str(" AND spec_major = $2 AND spec_minor = $3");
    } else {
        cond.push_str(" AND $2::int IS NULL AND $3::int IS NULL");
    }
    let spec = |part: fn(SpecVersion) -> u16| q.spec.map(|s| i32::from(part(s)));
    // One snapshot for the count and the range, so they agree.
    let mut tx = db.begin().await.map_err(db_err)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let key = ckey(&mut tx, api_root, collection_id).await?;
    let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM objects WHERE {cond}"
    )))
    .bind(key)
    .bind(spec(|s| s.major))
    .bind(spec(|s| s.minor))
    .bind(q.filter.types.as_deref())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?
    .try_get(0)
    .map_err(db_err)?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} FROM objects WHERE {cond} ORDER BY date_added, seq LIMIT $5 OFFSET $6"
    )))
    .bind(key)
    .bind(spec(|s| s.major))
    .bind(spec(|s| s.minor))
    .bind(q.filter.types.as_deref())
    .bind(i64::try_from(q.limit).unwrap_or(i64::MAX))
    .bind(i64::try_from(q.offset).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let items = rows
        .iter()
        .map(version_of)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(RangePage {
        items,
        total: total.unsigned_abs(),
    }))
}

/// Locks the collection's row for the rest of the transaction; returns its key, high-water
/// `date_added` and media types.
async fn lock_collection(
    tx: &mut PgConnection,
    api_root: &str,
    collection_id: &str,
) -> StoreResult<(i64, Option<Timestamp>, Option<Vec<String>>)> {
    let row = sqlx::query(
        "SELECT ckey, last_date_added, media_types FROM collections
         WHERE api_root = $1 AND id = $2 FOR UPDATE",
    )
    .bind(api_root)
    .bind(collection_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| {
        StoreError::Backend(format!(
            "no collection '{collection_id}' in API root '{api_root}'"
        ))
    })?;
    let last: Option<i64> = row.try_get(1).map_err(db_err)?;
    let media: Option<String> = row.try_get(2).map_err(db_err)?;
    let media = media
        .map(|m| serde_json::from_str(&m))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("collection media types: {e}")))?;
    Ok((
        row.try_get(0).map_err(db_err)?,
        last.map(Timestamp::from_nanos),
        media,
    ))
}

async fn save_collection_state(
    tx: &mut PgConnection,
    key: i64,
    last: Option<Timestamp>,
    media: &Option<Vec<String>>,
) -> StoreResult<()> {
    sqlx::query("UPDATE collections SET last_date_added = $2, media_types = $3 WHERE ckey = $1")
        .bind(key)
        .bind(last.map(Timestamp::nanos))
        .bind(media.as_ref().map(|m| Value::from(m.clone()).to_string()))
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// What [`insert_all`] does with an (id, version) pair that is stored already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnStored {
    /// Skip it (imports, which may overlap what the collection holds).
    Skip,
    /// Fail the statement: the caller holds the collection's row lock and has read what is
    /// stored, so a conflict is a bug. Leaving out `ON CONFLICT` spares PostgreSQL its
    /// speculative insertion, ~20% of a 1,000-row insert (bench/README.md).
    Fail,
}

/// Inserts versions with their flags in one statement; returns how many were new.
async fn insert_all(
    tx: &mut PgConnection,
    key: i64,
    versions: &[StoredVersion],
    flags: &[Flags],
    on_stored: OnStored,
) -> StoreResult<u64> {
    if versions.is_empty() {
        return Ok(0);
    }
    let col = |f: &dyn Fn(&StoredVersion) -> i64| versions.iter().map(f).collect::<Vec<i64>>();
    let text =
        |f: &dyn Fn(&StoredVersion) -> String| versions.iter().map(f).collect::<Vec<String>>();
    macro_rules! insert {
        () => {
            "INSERT INTO objects
               (ckey, date_added, id, type, version, version_text, spec_major, spec_minor,
                media_type, json, latest, top_spec)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[],
                                      $6::text[], $7::int[], $8::int[], $9::text[], $10::text[],
                                      $11::bool[], $12::bool[])"
        };
    }
    let sql = match on_stored {
        OnStored::Skip => concat!(insert!(), " ON CONFLICT (ckey, id, version) DO NOTHING"),
        OnStored::Fail => insert!(),
    };
    let done = sqlx::query(sql)
        .bind(key)
        .bind(col(&|v| v.position.date_added.nanos()))
        .bind(text(&|v| v.id.clone()))
        .bind(text(&|v| v.type_.clone()))
        .bind(col(&|v| v.version.nanos()))
        .bind(text(&|v| v.version_text.clone()))
        .bind(
            versions
                .iter()
                .map(|v| i32::from(v.spec_version.major))
                .collect::<Vec<_>>(),
        )
        .bind(
            versions
                .iter()
                .map(|v| i32::from(v.spec_version.minor))
                .collect::<Vec<_>>(),
        )
        .bind(text(&|v| v.media_type.clone()))
        .bind(text(&|v| v.json.to_string()))
        .bind(
            (0..versions.len())
                .map(|i| flags.get(i).is_some_and(|f| f.latest))
                .collect::<Vec<_>>(),
        )
        .bind(
            (0..versions.len())
                .map(|i| flags.get(i).is_some_and(|f| f.top_spec))
                .collect::<Vec<_>>(),
        )
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

/// A version of an envelope's object: stored already, or about to be (`new`: its index among
/// the versions to insert).
struct Sibling {
    facts: Facts,
    flags: Flags,
    text: String,
    json: String,
    new: Option<usize>,
}

/// What is stored already for the ids of an envelope, in the order it was stored.
async fn existing(
    tx: &mut PgConnection,
    key: i64,
    ids: &[String],
) -> StoreResult<HashMap<String, Vec<Sibling>>> {
    let rows = sqlx::query(
        "SELECT id, version, version_text, json, seq, spec_major, spec_minor, date_added,
                latest, top_spec
         FROM objects WHERE ckey = $1 AND id = ANY($2) ORDER BY seq",
    )
    .bind(key)
    .bind(ids)
    .fetch_all(tx)
    .await
    .map_err(db_err)?;
    let mut out: HashMap<String, Vec<Sibling>> = HashMap::new();
    for r in &rows {
        out.entry(r.try_get(0).map_err(db_err)?)
            .or_default()
            .push(Sibling {
                facts: Facts {
                    seq: r.try_get(4).map_err(db_err)?,
                    version: Timestamp::from_nanos(r.try_get(1).map_err(db_err)?),
                    spec: SpecVersion {
                        major: spec_part(r, 5)?,
                        minor: spec_part(r, 6)?,
                    },
                    date_added: Timestamp::from_nanos(r.try_get(7).map_err(db_err)?),
                },
                flags: Flags {
                    latest: r.try_get(8).map_err(db_err)?,
                    top_spec: r.try_get(9).map_err(db_err)?,
                },
                text: r.try_get(2).map_err(db_err)?,
                json: r.try_get(3).map_err(db_err)?,
                new: None,
            });
    }
    Ok(out)
}

/// The flags of the new versions (by their index), and the stored versions whose flags change.
fn new_flags(
    stored: &HashMap<String, Vec<Sibling>>,
    new_count: usize,
) -> (Vec<Flags>, Vec<(i64, Flags)>) {
    let mut fresh = vec![Flags::default(); new_count];
    let mut changed = Vec::new();
    for siblings in stored
        .values()
        .filter(|s| s.iter().any(|v| v.new.is_some()))
    {
        let facts: Vec<Facts> = siblings.iter().map(|v| v.facts).collect();
        for (v, flags) in siblings.iter().zip(flags_of(&facts)) {
            match v.new {
                Some(i) => fresh[i] = flags,
                None if v.flags != flags => changed.push((v.facts.seq, flags)),
                None => {}
            }
        }
    }
    (fresh, changed)
}

async fn update_flags(tx: &mut PgConnection, changed: &[(i64, Flags)]) -> StoreResult<()> {
    if changed.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE objects SET latest = u.latest, top_spec = u.top_spec
         FROM UNNEST($1::bigint[], $2::bool[], $3::bool[]) AS u (seq, latest, top_spec)
         WHERE objects.seq = u.seq",
    )
    .bind(changed.iter().map(|(s, _)| *s).collect::<Vec<_>>())
    .bind(changed.iter().map(|(_, f)| f.latest).collect::<Vec<_>>())
    .bind(changed.iter().map(|(_, f)| f.top_spec).collect::<Vec<_>>())
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Recomputes the flags of every version of `ids` in SQL (after an import or a delete).
async fn refresh_flags(tx: &mut PgConnection, key: i64, ids: &[String]) -> StoreResult<()> {
    sqlx::query(
        "UPDATE objects o SET latest = r.latest, top_spec = r.top_spec
         FROM (
             SELECT seq,
                    rank() OVER by_spec = 1 AS top_spec,
                    row_number() OVER by_version = 1 AS latest
             FROM objects WHERE ckey = $1 AND id = ANY($2)
             WINDOW by_spec AS (PARTITION BY id ORDER BY spec_major DESC, spec_minor DESC),
                    by_version AS (PARTITION BY id
                                   ORDER BY spec_major DESC, spec_minor DESC, version DESC)
         ) r
         WHERE o.seq = r.seq AND (o.latest, o.top_spec) IS DISTINCT FROM (r.latest, r.top_spec)",
    )
    .bind(key)
    .bind(ids)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Adds the objects inside the caller's transaction.
pub(super) async fn add_in(
    tx: &mut PgConnection,
    api_root: &str,
    collection_id: &str,
    objects: Vec<NewObject>,
    now: Timestamp,
) -> StoreResult<Vec<AddOutcome>> {
    let (key, mut last, mut media) = lock_collection(tx, api_root, collection_id).await?;
    let mut ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut stored = existing(tx, key, &ids).await?;
    let now = now.truncate_to_micros();
    let mut outcomes = Vec::with_capacity(objects.len());
    let mut new_versions = Vec::new();
    for o in objects {
        let olds = stored.entry(o.id.clone()).or_default();
        let outcome = match &o.version {
            Some(v) => olds.iter().find(|s| s.facts.version == v.instant).map(|s| {
                let version = v.text.clone();
                if same_json(&s.json, &o.json) {
                    AddOutcome::AlreadyPresent { version }
                } else {
                    AddOutcome::Conflict { version }
                }
            }),
            // An SCO has one stable version: the first one stored.
            None => match olds.iter().find(|s| same_json(&s.json, &o.json)) {
                Some(s) => Some(AddOutcome::AlreadyPresent {
                    version: s.text.clone(),
                }),
                None => olds.first().map(|s| AddOutcome::Conflict {
                    version: s.text.clone(),
                }),
            },
        };
        if let Some(outcome) = outcome {
            outcomes.push(outcome);
            continue;
        }
        // Strictly after everything the collection ever held (the row lock makes this hold
        // across nodes), so a cursor never lands before a later commit.
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
        olds.push(Sibling {
            facts: Facts {
                seq: 0,
                version,
                spec: o.spec_version,
                date_added,
            },
            flags: Flags::default(),
            text: version_text.clone(),
            json: o.json.to_string(),
            new: Some(new_versions.len()),
        });
        new_versions.push(StoredVersion {
            id: o.id,
            type_: o.type_,
            version,
            version_text: version_text.clone(),
            spec_version: o.spec_version,
            media_type,
            position: Position { date_added, seq: 0 },
            json: Arc::from(o.json),
        });
        outcomes.push(AddOutcome::Added {
            version: version_text,
        });
    }
    let (fresh, changed) = new_flags(&stored, new_versions.len());
    insert_all(tx, key, &new_versions, &fresh, OnStored::Fail).await?;
    update_flags(tx, &changed).await?;
    save_collection_state(tx, key, last, &media).await?;
    Ok(outcomes)
}

pub(super) async fn import(
    db: &PgPool,
    api_root: &str,
    collection_id: &str,
    versions: Vec<StoredVersion>,
) -> StoreResult<u64> {
    let mut tx = db.begin().await.map_err(db_err)?;
    let (key, mut last, mut media) = lock_collection(&mut tx, api_root, collection_id).await?;
    // Duplicates inside one batch would make the single INSERT conflict with itself.
    let mut seen = std::collections::HashSet::new();
    let versions: Vec<StoredVersion> = versions
        .into_iter()
        .filter(|v| seen.insert((v.id.clone(), v.version)))
        .collect();
    let stored = insert_all(&mut tx, key, &versions, &[], OnStored::Skip).await?;
    let mut ids: Vec<String> = versions.iter().map(|v| v.id.clone()).collect();
    ids.sort();
    ids.dedup();
    refresh_flags(&mut tx, key, &ids).await?;
    for v in &versions {
        last = last.max(Some(v.position.date_added));
        note_media_type(&mut media, &v.media_type);
    }
    save_collection_state(&mut tx, key, last, &media).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(stored)
}

pub(super) async fn delete(
    db: &PgPool,
    api_root: &str,
    collection_id: &str,
    object_id: &str,
    filter: &Filter,
) -> StoreResult<u64> {
    let mut tx = db.begin().await.map_err(db_err)?;
    let (key, _, _) = lock_collection(&mut tx, api_root, collection_id).await?;
    let chosen = select_for_ids(&mut tx, key, &[object_id.to_owned()], filter).await?;
    let doomed = chosen.get(object_id).cloned().unwrap_or_default();
    let done = sqlx::query("DELETE FROM objects WHERE seq = ANY($1)")
        .bind(&doomed)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    refresh_flags(&mut tx, key, &[object_id.to_owned()]).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(done.rows_affected())
}
