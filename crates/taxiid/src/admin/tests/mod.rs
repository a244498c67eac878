//! Tests of the admin commands: each runs the parsed command line through `run` against a
//! store, with a byte buffer as the output, and reads `--json` output back.

#![allow(clippy::unwrap_used)]

mod errors;
mod export;
mod import;
mod manage;
mod sqlite;
mod tokens;

use std::path::Path;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use serde_json::{Value, json};
use taxii_model::Timestamp;
use taxii_model::query::{FilterSpec, Params};
use taxii_store::memory::MemoryStore;
use taxii_store::{ListQuery, Store, StoredVersion};

use super::{AdminCommand, run};

#[derive(Parser, Debug)]
#[command(name = "taxiid")]
struct Cli {
    #[command(subcommand)]
    cmd: AdminCommand,
}

fn parse(args: &[&str]) -> AdminCommand {
    match Cli::try_parse_from(std::iter::once("taxiid").chain(args.iter().copied())) {
        Ok(cli) => cli.cmd,
        Err(e) => panic!("{args:?} does not parse: {e}"),
    }
}

/// What a command printed, and how it ended.
struct Ran {
    result: Result<(), String>,
    out: String,
}

async fn exec(store: &Arc<dyn Store>, args: &[&str]) -> Ran {
    let mut out = Vec::new();
    let result = run(parse(args), Arc::clone(store), &mut out).await;
    Ran {
        result,
        out: String::from_utf8(out).unwrap(),
    }
}

/// Runs a command that must succeed and returns its output.
async fn ok(store: &Arc<dyn Store>, args: &[&str]) -> String {
    let ran = exec(store, args).await;
    if let Err(e) = ran.result {
        panic!("{args:?} failed: {e}\n{}", ran.out);
    }
    ran.out
}

/// Runs a `--json` command that must succeed and parses its output.
async fn ok_json(store: &Arc<dyn Store>, args: &[&str]) -> Value {
    let out = ok(store, args).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

/// Runs a command that must fail and returns its one-line error.
async fn fails(store: &Arc<dyn Store>, args: &[&str]) -> String {
    match exec(store, args).await.result {
        Ok(()) => panic!("{args:?} succeeded"),
        Err(e) => {
            assert!(!e.contains('\n'), "not one line: {e:?}");
            e
        }
    }
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

fn sample_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/medallion/data.json"
    )
    .to_owned()
}

fn sample() -> MemoryStore {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap();
    MemoryStore::from_medallion(&doc, Timestamp::parse("2026-01-01T00:00:00Z").unwrap()).unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One stored version, as a client can observe it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: String,
    version: String,
    date_added: String,
    media_type: String,
    spec_version: String,
    json: Value,
}

impl From<&StoredVersion> for Row {
    fn from(v: &StoredVersion) -> Self {
        Row {
            id: v.id.clone(),
            version: v.version_text.clone(),
            date_added: v.date_added().to_taxii_string(),
            media_type: v.media_type.clone(),
            spec_version: v.spec_version.to_string(),
            json: serde_json::from_str(&v.json).unwrap(),
        }
    }
}

/// Every version of one collection in `date_added` order.
async fn versions(store: &dyn Store, root: &str, coll: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    crate::copy::for_each_page(store, root, coll, async |page| {
        rows.extend(page.iter().map(Row::from));
        Ok(())
    })
    .await
    .unwrap();
    rows
}

/// Every collection's versions, by (API root, collection id).
async fn dump(store: &dyn Store) -> Vec<((String, String), Vec<Row>)> {
    let mut all = Vec::new();
    for root in store.api_roots().await.unwrap() {
        for c in store.collections(&root.name).await.unwrap() {
            let rows = versions(store, &root.name, &c.id).await;
            all.push(((root.name.clone(), c.id), rows));
        }
    }
    all
}

/// Everything but the versions: discovery, API roots, collections, statuses.
pub(super) async fn descriptions(store: &dyn Store) -> Value {
    let mut roots = Vec::new();
    for r in store.api_roots().await.unwrap() {
        let colls: Vec<Value> = store
            .collections(&r.name)
            .await
            .unwrap()
            .iter()
            .map(|c| super::collection::collection_json(&r.name, c))
            .collect();
        let statuses: Vec<Value> = store
            .statuses(&r.name)
            .await
            .unwrap()
            .iter()
            .map(|s| json!([s.id, serde_json::from_str::<Value>(&s.json).unwrap()]))
            .collect();
        roots.push(json!({"name": r.name, "information": r.information,
                          "collections": colls, "statuses": statuses}));
    }
    json!({"discovery": store.discovery().await.unwrap(), "roots": roots})
}

/// What GET objects answers with its defaults (latest version of each object), per collection.
pub(super) async fn served(store: &dyn Store) -> Vec<Vec<(String, String)>> {
    let filter = Params::parse(None)
        .unwrap()
        .filter(FilterSpec::listing())
        .unwrap();
    let mut all = Vec::new();
    for r in store.api_roots().await.unwrap() {
        for c in store.collections(&r.name).await.unwrap() {
            let q = ListQuery {
                filter: &filter,
                object_id: None,
                after: None,
                limit: 1000,
            };
            let page = store.list(&r.name, &c.id, &q).await.unwrap();
            all.push(
                page.items
                    .iter()
                    .map(|v| (v.id.clone(), v.version_text.clone()))
                    .collect(),
            );
        }
    }
    all
}

pub(super) fn indicator(n: usize, modified: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1",
           "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
           "created": "2020-01-01T00:00:00.000Z", "modified": modified,
           "pattern": format!("[ipv4-addr:value = '10.0.{}.{}']", n / 256 % 256, n % 256),
           "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"})
}

pub(super) fn write_file(dir: &tempfile::TempDir, name: &str, v: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec(v).unwrap()).unwrap();
    path_str(&path).to_owned()
}

#[test]
fn the_command_line_is_well_formed_and_every_subcommand_has_an_example() {
    Cli::command().debug_assert();
    fn walk(cmd: &clap::Command, path: &str) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            let help = sub.get_after_help().map(ToString::to_string);
            assert!(
                help.is_some_and(|h| h.contains("taxiid ")),
                "{path} has no example"
            );
            walk(sub, &path);
        }
    }
    walk(&Cli::command(), "taxiid");
}

#[test]
fn wrong_arguments_are_clap_errors_with_exit_code_2() {
    let cases: &[&[&str]] = &[
        &["import"],
        &["import", "f.json", "--api-root", "api1"],
        &["import", "f.json", "--collection", "c"],
        &["import", "f.json", "--batch-size", "0"],
        &["import", "--from-sqlite", "a.sqlite3", "f.json"],
        &[
            "import",
            "--from-sqlite",
            "a.sqlite3",
            "--api-root",
            "a",
            "--collection",
            "c",
        ],
        &["import", "--from-sqlite"],
        &["export", "--collection", "c"],
        &["export", "--api-root", "api1", "--format", "bundle"],
        &["export", "--format", "stix"],
        &["collection", "add", "--title", "t"],
        &[
            "collection",
            "add",
            "--api-root",
            "a",
            "--title",
            "t",
            "--read",
            ",",
        ],
        &[
            "collection",
            "add",
            "--api-root",
            "a",
            "--title",
            "t",
            "--write",
            "a:b",
        ],
        &["collection", "remove", "--api-root", "a"],
        &["api-root", "add", "x"],
        &[
            "api-root",
            "add",
            "x",
            "--title",
            "t",
            "--max-content-length",
            "0",
        ],
        &["user", "add", "a", "--password", "p", "--password-stdin"],
        &["user", "frobnicate"],
    ];
    for args in cases {
        let e =
            Cli::try_parse_from(std::iter::once("taxiid").chain(args.iter().copied())).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
    }
}
