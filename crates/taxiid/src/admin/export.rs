//! `taxiid export`: the store (or an API root, or one collection) as a medallion data file,
//! or one collection as a STIX 2.1 bundle. A medallion export keeps every version's
//! `date_added`, version text and media type, so importing it reproduces the store's objects;
//! a bundle carries the objects only.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use taxii_store::Store;
use taxii_store::memory::MemoryStore;

use super::{require_collection, require_root, uuid_v4, write_err};
use crate::copy::{Scope, copy_store, for_each_page};

pub(crate) const EXAMPLES: &str = "\
Examples:
  taxiid export -o backup.json
  taxiid export --api-root api1 -o api1.json
  taxiid export --api-root api1 --collection indicators --format bundle -o indicators.json
  taxiid export --api-root api1 --collection indicators --format bundle | jq '.objects | length'

A medallion file written here can be served by medallion or imported with `taxiid import`.
It knows only collection-wide can_read/can_write: a collection readable or writable by
listed users only is written as not readable or not writable.";

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// medallion's memory-backend data file (API roots, collections, manifests, statuses).
    #[default]
    Medallion,
    /// A STIX 2.1 bundle of every version of one collection's objects.
    Bundle,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Export only this API root.
    #[arg(long, value_name = "PATH")]
    pub api_root: Option<String>,

    /// Export only this collection (id or alias) of --api-root.
    #[arg(
        long,
        value_name = "ID|ALIAS",
        requires = "api_root",
        required_if_eq("format", "bundle")
    )]
    pub collection: Option<String>,

    /// The file format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Medallion)]
    pub format: ExportFormat,

    /// Write to FILE (replaced only once complete) instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What was written, for the summary line.
struct Written {
    versions: u64,
    what: String,
}

pub(crate) async fn run(
    args: ExportArgs,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    // Resolve names first, so a typo fails before any file is created.
    let root = match &args.api_root {
        Some(r) => Some(require_root(store, r).await?.name),
        None => None,
    };
    let coll = match (&root, &args.collection) {
        (Some(r), Some(c)) => Some(require_collection(store, r, c).await?.id),
        _ => None,
    };
    let scope = match (&root, &coll) {
        (Some(root), Some(id)) => Scope::Collection { root, id },
        (Some(root), None) => Scope::Root(root),
        _ => Scope::All,
    };
    let Some(path) = &args.output else {
        write_export(args.format, scope, store, out).await?;
        return out.flush().map_err(write_err);
    };
    let tmp = temporary_path(path);
    let result = async {
        let file =
            File::create(&tmp).map_err(|e| format!("{}: cannot be created: {e}", tmp.display()))?;
        let mut w = BufWriter::new(file);
        let written = write_export(args.format, scope, store, &mut w).await?;
        let file = w
            .into_inner()
            .map_err(|e| format!("{}: cannot be written: {}", tmp.display(), e.error()))?;
        file.sync_all()
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: cannot be written: {e}", path.display()))?;
        Ok::<_, String>(written)
    }
    .await;
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    writeln!(
        out,
        "wrote {} object versions of {} to {}",
        written.versions,
        written.what,
        path.display()
    )
    .map_err(write_err)
}

/// `FILE.taxiid-tmp` next to the destination, so the final rename stays on one file system.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".taxiid-tmp");
    path.with_file_name(name)
}

async fn write_export(
    format: ExportFormat,
    scope: Scope<'_>,
    store: &dyn Store,
    w: &mut dyn Write,
) -> Result<Written, String> {
    match (format, scope) {
        (ExportFormat::Bundle, Scope::Collection { root, id }) => {
            let versions = write_bundle(store, root, id, w).await?;
            Ok(Written {
                versions,
                what: format!("collection {root}/{id} as a STIX bundle"),
            })
        }
        (ExportFormat::Bundle, _) => {
            Err("a bundle holds one collection: give --api-root and --collection".into())
        }
        (ExportFormat::Medallion, scope) => {
            let memory = MemoryStore::new();
            let report = copy_store(store, &memory, scope).await?;
            serde_json::to_writer_pretty(&mut *w, &memory.to_medallion())
                .map_err(|e| write_err(e.into()))?;
            writeln!(w).map_err(write_err)?;
            let what = match scope {
                Scope::All => format!(
                    "{} collections in {} API roots",
                    report.collections.len(),
                    report.api_roots.len()
                ),
                Scope::Root(r) => {
                    format!("{} collections of API root {r}", report.collections.len())
                }
                Scope::Collection { root, id } => format!("collection {root}/{id}"),
            };
            Ok(Written {
                versions: report.versions(),
                what: format!("{what} as a medallion data file"),
            })
        }
    }
}

/// `{"type":"bundle","id":"bundle--…","objects":[…]}` with every version, one per line, each
/// exactly as stored. Streams page by page.
async fn write_bundle(
    store: &dyn Store,
    root: &str,
    id: &str,
    w: &mut dyn Write,
) -> Result<u64, String> {
    write!(
        w,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
        uuid_v4()?
    )
    .map_err(write_err)?;
    let mut first = true;
    let total = for_each_page(store, root, id, async |page| {
        for v in page {
            let sep = if first { "\n" } else { ",\n" };
            first = false;
            write!(w, "{sep}{}", v.json).map_err(write_err)?;
        }
        Ok(())
    })
    .await?;
    writeln!(w, "\n]}}").map_err(write_err)?;
    Ok(total)
}
