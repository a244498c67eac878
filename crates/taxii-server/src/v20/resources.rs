//! TAXII 2.0 views of the server's descriptive resources: discovery at `/taxii/`, API root
//! information (`versions: ["taxii-2.0"]`), collections (item ranges over the id-ordered list)
//! and status (plain ids for successes and pendings).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};
use taxii_model::items::ItemsRange;
use taxii_model::media::{STIX_20, TAXII_20};
use taxii_store::ApiRootRecord;

use super::objects::{Span, extent, ranged_response};
use crate::dispatch::Ctx;
use crate::error::ApiError;
use crate::handlers;
use crate::layout::Layout;

/// A 2.0 resource: `application/vnd.oasis.taxii+json; version=2.0`.
pub(super) fn taxii20(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_20));
    resp
}

pub(super) fn discovery(ctx: &Ctx<'_>, layout: &Layout) -> Response {
    taxii20(StatusCode::OK, handlers::discovery::body(ctx, layout))
}

pub(super) fn api_root(ctx: &Ctx<'_>, root: Option<&ApiRootRecord>) -> Result<Response, ApiError> {
    let mut info = handlers::api_root::information(ctx, root)?;
    info.insert("versions".into(), Value::Array(vec!["taxii-2.0".into()]));
    Ok(taxii20(StatusCode::OK, Value::Object(info).to_string()))
}

/// A collection as a 2.0 client sees it: the STIX 2.0 type is what it can get and add.
fn collection_20(ctx: &Ctx<'_>, c: &taxii_store::CollectionRecord) -> Value {
    let mut v = handlers::collections::resource(c, ctx.user);
    if let Value::Object(m) = &mut v {
        m.insert("media_types".into(), Value::Array(vec![STIX_20.into()]));
    }
    v
}

pub(super) async fn collections(
    ctx: &Ctx<'_>,
    root: &str,
    range: Option<ItemsRange>,
) -> Result<Response, ApiError> {
    // Ordered by id, so ranges never overlap (2.0 §3.3).
    let all = handlers::collections::listed(ctx, root).await?;
    let (first, want) = extent(ctx, range);
    let total = all.len() as u64;
    let items: Vec<Value> = all
        .iter()
        .skip(usize::try_from(first).unwrap_or(usize::MAX))
        .take(want)
        .map(|c| collection_20(ctx, c))
        .collect();
    let span = Span {
        first,
        count: items.len() as u64,
        total,
    };
    let mut body = Map::new();
    if !items.is_empty() {
        body.insert("collections".into(), Value::Array(items));
    }
    ranged_response(TAXII_20, Value::Object(body).to_string(), range, span, &[])
}

pub(super) async fn collection(ctx: &Ctx<'_>, root: &str, id: &str) -> Result<Response, ApiError> {
    let c = handlers::collection(ctx, root, id).await?;
    Ok(taxii20(StatusCode::OK, collection_20(ctx, &c).to_string()))
}

/// The 2.0 status: `successes` and `pendings` are ids, `failures` are `{id, message}`.
pub(super) fn status_20(stored: &str) -> Result<String, ApiError> {
    let mut status: Map<String, Value> = serde_json::from_str(stored)
        .map_err(|e| ApiError::Internal(format!("stored status is not JSON: {e}")))?;
    for key in ["successes", "pendings", "failures"] {
        let Some(Value::Array(details)) = status.remove(key) else {
            continue;
        };
        let converted: Vec<Value> = details
            .into_iter()
            .map(|d| {
                // A status imported from a medallion 1.x file is 2.0-shaped already.
                let id = match &d {
                    Value::String(_) => d.clone(),
                    _ => d.get("id").cloned().unwrap_or(Value::Null),
                };
                if key == "failures" {
                    let mut f = Map::new();
                    f.insert("id".into(), id);
                    if let Some(m) = d.get("message") {
                        f.insert("message".into(), m.clone());
                    }
                    Value::Object(f)
                } else {
                    id
                }
            })
            .collect();
        status.insert(key.into(), Value::Array(converted));
    }
    Ok(Value::Object(status).to_string())
}

pub(super) async fn status(ctx: &Ctx<'_>, root: &str, id: &str) -> Result<Response, ApiError> {
    let stored = handlers::status::stored(ctx, root, id).await?;
    Ok(taxii20(StatusCode::OK, status_20(&stored)?))
}
