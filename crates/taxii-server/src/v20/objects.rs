//! TAXII 2.0 Get Objects, Get an Object and Get Object Manifests: STIX bundles and 2.0
//! manifest entries, cut into item ranges (`Range: items=a-b` → 206 + `Content-Range`).
//!
//! A 2.0 page needs the total number of items: `Store::list_range` counts what is selected and
//! cuts the range from the same `date_added` order as 2.1's pages (in the SQL query itself
//! where the selection flags decide the filter, else by walking the pages once).

use std::collections::BTreeSet;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use taxii_model::items::{ItemsRange, content_range, unsatisfied_range};
use taxii_model::media::{STIX_20, TAXII_20};
use taxii_model::query::FilterSpec;
use taxii_model::{Filter, Params, VersionSelect};
use taxii_store::{CollectionRecord, RangeQuery, StoredVersion};

use super::served_spec;
use crate::dispatch::Ctx;
use crate::error::ApiError;
use crate::handlers::{date_added_headers, list_size, push_list, readable};

/// Where one range lies in a result: its first item, how many it holds, and the result's size.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub first: u64,
    pub count: u64,
    pub total: u64,
}

/// The records of one range of a result, and the size of the whole result.
struct Window {
    items: Vec<StoredVersion>,
    first: u64,
    total: u64,
}

impl Window {
    fn span(&self) -> Span {
        Span {
            first: self.first,
            count: self.items.len() as u64,
            total: self.total,
        }
    }
}

/// Where a 2.0 page starts and how many items it may hold.
pub(super) fn extent(ctx: &Ctx<'_>, range: Option<ItemsRange>) -> (u64, usize) {
    let max = ctx.app.settings.max_page_size.max(1);
    match range {
        None => (0, max),
        Some(r) => (
            r.first,
            usize::try_from(r.len_capped(max as u64)).unwrap_or(max),
        ),
    }
}

/// The records `filter` selects that a 2.0 client is served, counted, and `want` of them from
/// item `first`.
async fn window(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &CollectionRecord,
    filter: &Filter,
    object_id: Option<&str>,
    (first, want): (u64, usize),
) -> Result<Window, ApiError> {
    let query = RangeQuery {
        filter,
        object_id,
        spec: served_spec(ctx),
        offset: first,
        limit: want,
    };
    let page = ctx.app.store.list_range(root, &coll.id, &query).await?;
    Ok(Window {
        items: page.items,
        first,
        total: page.total,
    })
}

/// A 2.0 page: 200 with `Accept-Ranges: items` when it is the whole result and no range was
/// asked for, else 206 with `Content-Range`; 416 for a range past the end of a non-empty
/// result. `items` gives the `X-TAXII-Date-Added-*` headers.
pub(super) fn ranged_response(
    label: &'static str,
    body: String,
    range: Option<ItemsRange>,
    span: Span,
    items: &[StoredVersion],
) -> Result<Response, ApiError> {
    let Span {
        first,
        count,
        total,
    } = span;
    if total > 0 && first >= total {
        return Err(ApiError::RangeNotSatisfiable { total });
    }
    let whole = range.is_none() && count == total;
    let mut resp = Response::new(body.into());
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(label));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("items"));
    if !whole {
        let value = if count == 0 {
            unsatisfied_range(total)
        } else {
            content_range(first, count, total)
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    date_added_headers(h, items);
    // An empty result has no items to send a part of.
    *resp.status_mut() = if whole || count == 0 {
        StatusCode::OK
    } else {
        StatusCode::PARTIAL_CONTENT
    };
    Ok(resp)
}

/// A STIX 2.0 bundle of stored object texts (without `objects` when there are none).
fn bundle(objects: &[StoredVersion]) -> String {
    let texts: Vec<&str> = objects.iter().map(|o| &*o.json).collect();
    let mut out = String::with_capacity(96 + list_size("objects", &texts));
    out.push_str("{\"type\":\"bundle\",\"id\":\"bundle--");
    out.push_str(&uuid::Uuid::new_v4().to_string());
    out.push_str("\",\"spec_version\":\"2.0\"");
    push_list(&mut out, "objects", &texts);
    out.push('}');
    out
}

pub(super) async fn objects(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    range: Option<ItemsRange>,
) -> Result<Response, ApiError> {
    let c = readable(ctx, root, coll).await?;
    let filter = Params::parse(ctx.query)?.filter(FilterSpec::taxii20_listing())?;
    let w = window(ctx, root, &c, &filter, None, extent(ctx, range)).await?;
    ranged_response(STIX_20, bundle(&w.items), range, w.span(), &w.items)
}

/// Get an Object has no pagination in 2.0: every selected version, up to a page of them.
pub(super) async fn object(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    object: &str,
) -> Result<Response, ApiError> {
    let c = readable(ctx, root, coll).await?;
    if !ctx.app.store.object_exists(root, &c.id, object).await? {
        return Err(ApiError::not_found(format!("object '{object}'")));
    }
    let filter = Params::parse(ctx.query)?.filter(FilterSpec::taxii20_object())?;
    let w = window(ctx, root, &c, &filter, Some(object), extent(ctx, None)).await?;
    if w.items.is_empty() {
        return Err(ApiError::not_found(format!(
            "no STIX 2.0 version of object '{object}' matches"
        )));
    }
    ranged_response(STIX_20, bundle(&w.items), None, w.span(), &w.items)
}

/// One 2.0 manifest entry per object: its selected versions newest first, their media types,
/// and when the object was first added.
fn entry(versions: &[StoredVersion]) -> Value {
    let mut sorted: Vec<&StoredVersion> = versions.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.version));
    let media: BTreeSet<&str> = versions.iter().map(|v| media_20(&v.media_type)).collect();
    let added = versions.iter().map(StoredVersion::date_added).min();
    json!({
        "id": versions.first().map(|v| v.id.as_str()),
        "date_added": added.map(|t| t.to_taxii_string()),
        "versions": sorted.iter().map(|v| v.version_text.as_str()).collect::<Vec<_>>(),
        "media_types": media.into_iter().collect::<Vec<_>>(),
    })
}

/// The 2.0 spelling of a STIX media type (`application/stix+json;version=2.0` is stored for
/// objects added over 2.1).
fn media_20(stored: &str) -> &str {
    match stored.replace(' ', "").as_str() {
        "application/stix+json;version=2.0" | "application/vnd.oasis.stix+json;version=2.0" => {
            STIX_20
        }
        _ => stored,
    }
}

pub(super) async fn manifest(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    range: Option<ItemsRange>,
) -> Result<Response, ApiError> {
    let c = readable(ctx, root, coll).await?;
    // The manifest is an inventory: every version unless `match[version]` says otherwise.
    let spec = FilterSpec {
        default_versions: VersionSelect::All,
        ..FilterSpec::taxii20_listing()
    };
    let filter = Params::parse(ctx.query)?.filter(spec)?;
    // One record per object when the selection picks one version of each; otherwise objects
    // are paged by their latest selected version and their versions fetched per entry.
    let single = match &filter.versions {
        VersionSelect::All => false,
        VersionSelect::Some(s) => usize::from(s.first) + usize::from(s.last) + s.exact.len() == 1,
    };
    let by_object = Filter {
        versions: if single {
            filter.versions.clone()
        } else {
            VersionSelect::last()
        },
        ..filter.clone()
    };
    let w = window(ctx, root, &c, &by_object, None, extent(ctx, range)).await?;
    let mut entries = Vec::with_capacity(w.items.len());
    for head in &w.items {
        if single {
            entries.push(entry(std::slice::from_ref(head)).to_string());
            continue;
        }
        let versions = window(ctx, root, &c, &filter, Some(&head.id), (0, usize::MAX)).await?;
        if !versions.items.is_empty() {
            entries.push(entry(&versions.items).to_string());
        }
    }
    let mut body = String::with_capacity(2 + list_size("objects", &entries));
    body.push('{');
    push_list(&mut body, "objects", &entries);
    body.push('}');
    ranged_response(TAXII_20, body, range, w.span(), &w.items)
}
