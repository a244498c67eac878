//! `taxiid import`: a medallion data file into the store (API roots, collections, statuses and
//! every version with its `date_added`), a STIX bundle / TAXII envelope into one collection
//! through `Store::add_objects`, streamed in batches, or a whole SQLite store (with its users
//! and cursor key: the way from one node on SQLite to several on PostgreSQL).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use taxii_model::NewObject;
use taxii_store::memory::MemoryStore;
use taxii_store::sqlite::SqliteStore;
use taxii_store::{AddOutcome, Store};

use super::bundle::{self, Batch, Progress, Sink};
use super::{now, require_collection, require_root, store_err, write_err, write_json, write_table};
use crate::copy::{Scope, copy_store};
use crate::provision::CURSOR_KEY_META;

pub(crate) const EXAMPLES: &str = "\
Examples:
  taxiid import medallion-data.json
  taxiid import --api-root api1 --collection indicators bundle.json
  taxiid import --api-root api1 --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 envelope.json --json
  TAXIID_STORE=postgres TAXIID_POSTGRES_URL=postgres://taxiid@db/taxii \
      taxiid import --from-sqlite taxiid-data/taxiid.sqlite3

Importing the same file again adds nothing. A bundle import exits 1 when an object was
refused (the others are imported); the refused ones are listed with the reason.";

/// How many refused objects a report lists (all are counted).
const LISTED_FAILURES: usize = 100;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// A medallion data file; with --api-root and --collection, a STIX 2.x bundle or a TAXII
    /// envelope.
    #[arg(value_name = "FILE", required_unless_present = "from_sqlite")]
    pub file: Option<PathBuf>,

    /// Copy a whole SQLite store (a taxiid.sqlite3 file) into the configured store: API roots,
    /// collections, every version with its date_added, statuses, users and the `next` cursor
    /// key (unless the target has one). Stop the server that uses the file first.
    #[arg(
        long,
        value_name = "SQLITE_FILE",
        conflicts_with_all = ["file", "api_root", "collection", "batch_size"]
    )]
    pub from_sqlite: Option<PathBuf>,

    /// The API root of the collection that receives a bundle's objects.
    #[arg(long, value_name = "PATH", requires = "collection")]
    pub api_root: Option<String>,

    /// The collection (id or alias) that receives a bundle's objects.
    #[arg(long, value_name = "ID|ALIAS", requires = "api_root")]
    pub collection: Option<String>,

    /// Objects per store write (one transaction each) when importing a bundle.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,

    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(
    args: ImportArgs,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    if let Some(sqlite) = &args.from_sqlite {
        return import_sqlite(sqlite, args.json, store, out).await;
    }
    let Some(file) = args.file.clone() else {
        return Err("name a FILE to import, or --from-sqlite SQLITE_FILE".into());
    };
    match (&args.api_root, &args.collection) {
        (Some(root), Some(coll)) => import_bundle(&args, &file, root, coll, store, out).await,
        _ => import_medallion(&args, &file, store, out).await,
    }
}

/// Users and the cursor key a SQLite import brought.
#[derive(Debug, Default, Serialize)]
struct Extras {
    users: Vec<String>,
    cursor_key: bool,
}

async fn import_sqlite(
    path: &Path,
    json: bool,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    // Opening creates a missing file: refuse that instead of copying an empty store.
    if !path.is_file() {
        return Err(format!("{}: no such SQLite file", path.display()));
    }
    let owned = path.to_owned();
    let source = tokio::task::spawn_blocking(move || SqliteStore::open(&owned))
        .await
        .map_err(|e| format!("{}: cannot be opened: {e}", path.display()))?
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let report = copy_store(&source, store, Scope::All).await?;
    let mut extras = Extras::default();
    for user in source.users().await.map_err(store_err)? {
        extras.users.push(user.name.clone());
        store.put_user(user).await.map_err(store_err)?;
    }
    // Cursors clients hold keep working if the target takes the source's key; a target that
    // already has one (nodes may be serving it) keeps its own.
    if let Some(key) = source.meta(CURSOR_KEY_META).await.map_err(store_err)?
        && store
            .meta(CURSOR_KEY_META)
            .await
            .map_err(store_err)?
            .is_none()
    {
        store
            .set_meta(CURSOR_KEY_META, &key)
            .await
            .map_err(store_err)?;
        extras.cursor_key = true;
    }
    let (versions, added) = (report.versions(), report.added());
    if json {
        let mut v = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        if let Value::Object(m) = &mut v {
            m.insert("from_sqlite".into(), path.display().to_string().into());
            m.insert("versions".into(), versions.into());
            m.insert("added".into(), added.into());
            m.insert("already_present".into(), (versions - added).into());
            m.insert("users".into(), json!(extras.users));
            m.insert("cursor_key".into(), extras.cursor_key.into());
        }
        return write_json(out, &v);
    }
    writeln!(
        out,
        "imported {} into the {} store: {} API roots, {} collections, {versions} object versions ({added} added, {} already present), {} statuses, {} users{}{}",
        path.display(),
        store.backend(),
        report.api_roots.len(),
        report.collections.len(),
        versions - added,
        report.statuses,
        extras.users.len(),
        if report.discovery {
            ", the discovery resource"
        } else {
            ""
        },
        if extras.cursor_key {
            ", the next-cursor key"
        } else {
            ""
        },
    )
    .map_err(write_err)?;
    collection_table(&report.collections, out)
}

async fn read_json(path: &Path) -> Result<Value, String> {
    let p = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let bytes =
            std::fs::read(&p).map_err(|e| format!("{}: cannot be read: {e}", p.display()))?;
        serde_json::from_slice::<Value>(&bytes).map_err(|e| bundle::describe(&p, &e))
    })
    .await
    .map_err(|e| format!("the file reader failed: {e}"))?
}

async fn import_medallion(
    args: &ImportArgs,
    path: &Path,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    let doc = read_json(path).await?;
    if let Value::Object(top) = &doc
        && (top.contains_key("objects") || top.get("type").is_some_and(|t| t == "bundle"))
    {
        return Err(format!(
            "{}: is a STIX bundle or TAXII envelope, not a medallion data file: give --api-root and --collection to import its objects into a collection",
            path.display()
        ));
    }
    let source = MemoryStore::from_medallion(&doc, now())
        .map_err(|e| format!("{}: not a usable medallion data file: {e}", path.display()))?;
    drop(doc);
    let report = copy_store(&source, store, Scope::All).await?;
    let (versions, added) = (report.versions(), report.added());
    if args.json {
        let mut v = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        if let Value::Object(m) = &mut v {
            m.insert("file".into(), path.display().to_string().into());
            m.insert("versions".into(), versions.into());
            m.insert("added".into(), added.into());
            m.insert("already_present".into(), (versions - added).into());
        }
        return write_json(out, &v);
    }
    writeln!(
        out,
        "imported {}: {} API roots, {} collections, {versions} object versions ({added} added, {} already present), {} statuses{}",
        path.display(),
        report.api_roots.len(),
        report.collections.len(),
        versions - added,
        report.statuses,
        if report.discovery {
            ", the discovery resource"
        } else {
            ""
        },
    )
    .map_err(write_err)?;
    collection_table(&report.collections, out)
}

/// One row per copied collection, after a blank line; nothing when there are none.
fn collection_table(
    collections: &[crate::copy::CollectionCopy],
    out: &mut dyn Write,
) -> Result<(), String> {
    let rows: Vec<Vec<String>> = collections
        .iter()
        .map(|c| {
            vec![
                c.api_root.clone(),
                c.id.clone(),
                c.versions.to_string(),
                c.added.to_string(),
                c.title.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out).map_err(write_err)?;
    write_table(
        out,
        &["API ROOT", "COLLECTION", "VERSIONS", "ADDED", "TITLE"],
        &rows,
        "",
    )
}

/// One refused envelope member.
#[derive(Debug, Clone, Serialize)]
struct Failure {
    /// Its index in the `objects` list.
    index: u64,
    id: String,
    version: String,
    message: String,
}

#[derive(Debug, Default, Serialize)]
struct Tally {
    total: u64,
    added: u64,
    already_present: u64,
    failed: u64,
    failures: Vec<Failure>,
}

impl Tally {
    fn fail(&mut self, index: u64, id: String, version: String, message: String) {
        self.failed += 1;
        if self.failures.len() < LISTED_FAILURES {
            self.failures.push(Failure {
                index,
                id,
                version,
                message,
            });
        }
    }
}

/// Validates a batch, stores its valid objects in one call, and counts what became of each.
async fn add_batch(
    store: &dyn Store,
    root: &str,
    collection: &str,
    batch: Batch,
    tally: &mut Tally,
) -> Result<(), String> {
    let first = tally.total;
    tally.total += batch.len() as u64;
    let mut valid = Vec::with_capacity(batch.len());
    let mut indexes = Vec::with_capacity(batch.len());
    let mut refused = Vec::new();
    for (i, raw) in (first..).zip(&batch) {
        match NewObject::from_raw(raw) {
            Ok(o) => {
                indexes.push((i, o.id.clone()));
                valid.push(o);
            }
            Err(f) => refused.push((i, f.id, f.version, f.message)),
        }
    }
    drop(batch);
    let outcomes = if valid.is_empty() {
        Vec::new()
    } else {
        store
            .add_objects(root, collection, valid, now())
            .await
            .map_err(store_err)?
    };
    if outcomes.len() != indexes.len() {
        return Err(format!(
            "the store reported on {} of {} objects",
            outcomes.len(),
            indexes.len()
        ));
    }
    for ((i, id), outcome) in indexes.into_iter().zip(outcomes) {
        match outcome {
            AddOutcome::Added { .. } => tally.added += 1,
            AddOutcome::AlreadyPresent { .. } => tally.already_present += 1,
            AddOutcome::Conflict { version } => refused.push((
                i,
                id,
                version,
                "a different object with this id and version is already stored".into(),
            )),
        }
    }
    refused.sort_by_key(|r| r.0);
    for (i, id, version, message) in refused {
        tally.fail(i, id, version, message);
    }
    Ok(())
}

async fn import_bundle(
    args: &ImportArgs,
    file: &Path,
    root: &str,
    coll: &str,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    let root = require_root(store, root).await?.name;
    let coll = require_collection(store, &root, coll).await?;
    let path = file.to_owned();
    // First pass: the whole file is well-formed before anything is written.
    let total = {
        let p = path.clone();
        tokio::task::spawn_blocking(move || bundle::scan(&p, None))
            .await
            .map_err(|e| format!("the file reader failed: {e}"))??
    };
    let batch = args.batch_size as usize;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let reader =
        tokio::task::spawn_blocking(move || bundle::scan(&path, Some(Sink { tx: &tx, batch })));
    let mut tally = Tally::default();
    let mut progress = Progress::new(format!("import into {root}/{}", coll.id), total);
    while let Some(b) = rx.recv().await {
        if let Err(e) = add_batch(store, &root, &coll.id, b, &mut tally).await {
            // Closing the channel stops the reader at its next batch.
            drop(rx);
            let _ = reader.await;
            return Err(e);
        }
        progress.update(tally.total);
    }
    reader
        .await
        .map_err(|e| format!("the file reader failed: {e}"))??;
    progress.finish(tally.total);
    report_bundle(args, file, &root, &coll.id, &tally, out)?;
    if tally.failed > 0 {
        return Err(format!(
            "{} of {} objects were refused (listed above); the others are imported",
            tally.failed, tally.total
        ));
    }
    Ok(())
}

fn report_bundle(
    args: &ImportArgs,
    file: &Path,
    root: &str,
    coll: &str,
    tally: &Tally,
    out: &mut dyn Write,
) -> Result<(), String> {
    if args.json {
        let mut v =
            json!({"file": file.display().to_string(), "api_root": root, "collection": coll});
        if let (Value::Object(m), Ok(Value::Object(t))) = (&mut v, serde_json::to_value(tally)) {
            m.extend(t);
        }
        return write_json(out, &v);
    }
    writeln!(
        out,
        "imported {} into {root}/{coll}: {} objects: {} added, {} already present, {} failed",
        file.display(),
        tally.total,
        tally.added,
        tally.already_present,
        tally.failed
    )
    .map_err(write_err)?;
    for f in &tally.failures {
        let id = if f.id.is_empty() { "(no id)" } else { &f.id };
        writeln!(out, "  objects[{}] {id}: {}", f.index, f.message).map_err(write_err)?;
    }
    if tally.failed > tally.failures.len() as u64 {
        writeln!(
            out,
            "  ... and {} more",
            tally.failed - tally.failures.len() as u64
        )
        .map_err(write_err)?;
    }
    Ok(())
}
