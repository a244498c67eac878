//! One module per TAXII resource; the code shared by the paginated endpoints lives here.

pub(crate) mod add;
pub(crate) mod api_root;
pub(crate) mod collections;
pub(crate) mod discovery;
pub(crate) mod manifest;
pub(crate) mod objects;
pub(crate) mod status;
pub(crate) mod versions;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use taxii_model::query::FilterSpec;
use taxii_model::{Filter, Params, Position};
use taxii_store::{CollectionRecord, ListQuery, Page, StoredVersion};

use crate::dispatch::Ctx;
use crate::error::{ApiError, taxii_response};
use crate::paging;

pub(crate) fn json(status: StatusCode, body: String) -> Response {
    taxii_response(status, body)
}

/// Whether the caller sees the collection at all: a caller who may neither read nor write it
/// does not when the server hides such collections, and an unauthenticated caller never does.
pub(crate) fn visible(ctx: &Ctx<'_>, c: &CollectionRecord) -> bool {
    let hide = ctx.app.settings.hide_inaccessible_collections || ctx.user.anonymous;
    !hide || ctx.user.may(&c.read) || ctx.user.may(&c.write)
}

/// The collection named by id or alias, or 404 (also when it is hidden from the caller).
pub(crate) async fn collection(
    ctx: &Ctx<'_>,
    root: &str,
    id_or_alias: &str,
) -> Result<CollectionRecord, ApiError> {
    ctx.app
        .store
        .collection(root, id_or_alias)
        .await?
        .filter(|c| visible(ctx, c))
        .ok_or_else(|| ApiError::not_found(format!("collection '{id_or_alias}'")))
}

/// A collection the caller may read, or 403.
pub(crate) async fn readable(
    ctx: &Ctx<'_>,
    root: &str,
    id_or_alias: &str,
) -> Result<CollectionRecord, ApiError> {
    let c = collection(ctx, root, id_or_alias).await?;
    if !ctx.user.may(&c.read) {
        return Err(ApiError::Forbidden(format!(
            "reading collection '{}' is not permitted",
            c.id
        )));
    }
    Ok(c)
}

/// One page of a listing endpoint, with what its response needs.
pub(crate) struct Listed {
    pub page: Page<StoredVersion>,
    pub next: Option<String>,
}

/// Parses the query of a paginated endpoint, opens its `next` token and fetches the page.
pub(crate) async fn fetch_page(
    ctx: &Ctx<'_>,
    endpoint: &str,
    root: &str,
    collection: &CollectionRecord,
    object_id: Option<&str>,
    spec: FilterSpec,
) -> Result<Listed, ApiError> {
    let params = Params::parse(ctx.query)?;
    let paging_params = params.paging()?;
    let filter: Filter = params.filter(spec)?;
    let max = ctx.app.settings.max_page_size.max(1);
    let limit = paging_params
        .limit
        .map_or(max, |l| usize::try_from(l).unwrap_or(usize::MAX).min(max));
    // The binding ties a token to everything that shaped the result except `limit`, which a
    // client may change between pages.
    let binding = format!(
        "{endpoint}\n{root}\n{}\n{}\n{}\n{}",
        collection.id,
        object_id.unwrap_or_default(),
        filter.fingerprint(),
        ctx.user.name
    );
    let key = &ctx.app.settings.cursor_key;
    let after: Option<Position> = paging_params
        .next
        .as_deref()
        .map(|t| paging::open(key, &binding, t))
        .transpose()?;
    let query = ListQuery {
        filter: &filter,
        object_id,
        after,
        limit,
    };
    let page = ctx.app.store.list(root, &collection.id, &query).await?;
    let next = match page.items.last() {
        Some(last) if page.more => Some(paging::mint(key, &binding, last.position)),
        _ => None,
    };
    Ok(Listed { page, next })
}

/// `{"more":…,"next":…,"<key>":[…]}` from already-serialised items, or `{}` when empty.
pub(crate) fn paged_body<S: AsRef<str>>(
    key: &str,
    items: &[S],
    more: bool,
    next: Option<&str>,
) -> String {
    if items.is_empty() && !more {
        return "{}".into();
    }
    // Each item is copied once, straight into a body of the right size.
    let mut out = String::with_capacity(64 + next.map_or(0, str::len) + list_size(key, items));
    out.push_str("{\"more\":");
    out.push_str(if more { "true" } else { "false" });
    if let Some(n) = next {
        out.push_str(",\"next\":");
        out.push_str(&serde_json::Value::from(n).to_string());
    }
    push_list(&mut out, key, items);
    out.push('}');
    out
}

/// Bytes `push_list` adds at most.
pub(crate) fn list_size<S: AsRef<str>>(key: &str, items: &[S]) -> usize {
    key.len() + 8 + items.iter().map(|i| i.as_ref().len() + 1).sum::<usize>()
}

/// Appends the member `"<key>":[…]` (after a comma unless it is the object's first) from
/// already-serialised items, each copied once; nothing when there are none (TAXII leaves an
/// empty list out).
pub(crate) fn push_list<S: AsRef<str>>(out: &mut String, key: &str, items: &[S]) {
    if items.is_empty() {
        return;
    }
    if !out.ends_with('{') {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.as_ref());
    }
    out.push(']');
}

/// A 200 page with the `X-TAXII-Date-Added-First/Last` headers of its records (none when the
/// page is empty: no timestamp describes an empty page).
pub(crate) fn page_response(body: String, items: &[StoredVersion]) -> Response {
    let mut resp = json(StatusCode::OK, body);
    date_added_headers(resp.headers_mut(), items);
    resp
}

/// `X-TAXII-Date-Added-First/Last` of a page's records, in page order (none for no records).
pub(crate) fn date_added_headers(h: &mut HeaderMap, items: &[StoredVersion]) {
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        for (name, t) in [
            ("x-taxii-date-added-first", first.date_added()),
            ("x-taxii-date-added-last", last.date_added()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&t.to_taxii_string()) {
                h.insert(name, v);
            }
        }
    }
}
