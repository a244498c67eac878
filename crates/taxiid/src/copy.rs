//! Copies API roots, collections, object versions (with their `date_added`, version text and
//! media type) and statuses from one store to another, as `import` (file → memory → store),
//! `export` (store → memory → file) and seeding a new store from a medallion data file need. Versions go through `Store::import_versions`,
//! so copying twice adds nothing. Pages are cut by position, so memory stays bounded by one
//! page whatever the size of a collection.

use serde::Serialize;
use taxii_model::{Filter, SpecSelect, VersionSelect};
use taxii_store::{ListQuery, Store, StoreError, StoredVersion};

/// Store errors as the one-line messages the CLI prints.
pub(crate) fn store_err(e: StoreError) -> String {
    e.to_string()
}

/// Versions per `list` page and per `import_versions` call.
const PAGE: usize = 1000;

/// What to copy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// The discovery resource, every API root with its statuses and collections.
    All,
    /// One API root with its statuses and collections.
    Root(&'a str),
    /// One collection (by id) and its API root's information; no statuses.
    Collection { root: &'a str, id: &'a str },
}

impl Scope<'_> {
    fn root(&self, name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Root(r) | Scope::Collection { root: r, .. } => *r == name,
        }
    }

    fn collection(&self, id: &str) -> bool {
        match self {
            Scope::Collection { id: c, .. } => *c == id,
            _ => true,
        }
    }

    fn statuses(&self) -> bool {
        !matches!(self, Scope::Collection { .. })
    }
}

/// What one collection's copy did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CollectionCopy {
    pub api_root: String,
    pub id: String,
    pub title: String,
    /// Versions in the source.
    pub versions: u64,
    /// Versions the target did not have yet.
    pub added: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CopyReport {
    pub discovery: bool,
    pub api_roots: Vec<String>,
    pub collections: Vec<CollectionCopy>,
    pub statuses: u64,
}

impl CopyReport {
    pub fn versions(&self) -> u64 {
        self.collections.iter().map(|c| c.versions).sum()
    }

    pub fn added(&self) -> u64 {
        self.collections.iter().map(|c| c.added).sum()
    }
}

/// Every version of every spec version: what a copy must carry.
pub(crate) fn every_version() -> Filter {
    Filter {
        added_after: None,
        ids: None,
        types: None,
        versions: VersionSelect::All,
        spec_versions: SpecSelect::Any,
    }
}

/// Calls `each` with the versions of a collection in `date_added` order, a page at a time.
pub(crate) async fn for_each_page<F>(
    store: &dyn Store,
    root: &str,
    collection: &str,
    mut each: F,
) -> Result<u64, String>
where
    F: AsyncFnMut(Vec<StoredVersion>) -> Result<(), String>,
{
    let filter = every_version();
    let mut after = None;
    let mut total = 0;
    loop {
        let query = ListQuery {
            filter: &filter,
            object_id: None,
            after,
            limit: PAGE,
        };
        let page = store
            .list(root, collection, &query)
            .await
            .map_err(store_err)?;
        after = page.items.last().map(|v| v.position);
        total += page.items.len() as u64;
        let more = page.more && after.is_some();
        if !page.items.is_empty() {
            each(page.items).await?;
        }
        if !more {
            return Ok(total);
        }
    }
}

/// Refuses a copy that would give the target two collections with one alias (or an alias
/// equal to another collection's id) in an API root, before anything is written.
async fn check_aliases(from: &dyn Store, to: &dyn Store, scope: Scope<'_>) -> Result<(), String> {
    for root in from.api_roots().await.map_err(store_err)? {
        if !scope.root(&root.name) {
            continue;
        }
        for c in from.collections(&root.name).await.map_err(store_err)? {
            if !scope.collection(&c.id) {
                continue;
            }
            let names = std::iter::once(&c.id).chain(c.alias.as_ref());
            for name in names {
                if let Some(other) = to.collection(&root.name, name).await.map_err(store_err)?
                    && other.id != c.id
                {
                    return Err(format!(
                        "API root '{}': collection {} cannot be imported: '{name}' is already the id or alias of collection {}",
                        root.name, c.id, other.id
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Copies what `scope` names from `from` into `to`. Records already in `to` are replaced
/// (API root information, collection descriptions, statuses with the same id); versions
/// already there are kept as they are.
pub(crate) async fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    scope: Scope<'_>,
) -> Result<CopyReport, String> {
    check_aliases(from, to, scope).await?;
    let mut report = CopyReport::default();
    if matches!(scope, Scope::All)
        && let Some(d) = from.discovery().await.map_err(store_err)?
    {
        to.set_discovery(Some(d)).await.map_err(store_err)?;
        report.discovery = true;
    }
    for root in from.api_roots().await.map_err(store_err)? {
        if !scope.root(&root.name) {
            continue;
        }
        let name = root.name.clone();
        to.put_api_root(root).await.map_err(store_err)?;
        for c in from.collections(&name).await.map_err(store_err)? {
            if !scope.collection(&c.id) {
                continue;
            }
            let (id, title) = (c.id.clone(), c.title.clone());
            to.put_collection(&name, c).await.map_err(store_err)?;
            let mut added = 0;
            let versions = for_each_page(from, &name, &id, async |page| {
                added += to
                    .import_versions(&name, &id, page)
                    .await
                    .map_err(store_err)?;
                Ok(())
            })
            .await?;
            report.collections.push(CollectionCopy {
                api_root: name.clone(),
                id,
                title,
                versions,
                added,
            });
        }
        if scope.statuses() {
            for s in from.statuses(&name).await.map_err(store_err)? {
                to.put_status(s).await.map_err(store_err)?;
                report.statuses += 1;
            }
        }
        report.api_roots.push(name);
    }
    Ok(report)
}
