//! `GET {api-root}/collections/` and `GET {api-root}/collections/{id}/`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use taxii_model::object::SUPPORTED_SPEC_VERSIONS;
use taxii_store::CollectionRecord;

use super::json;
use crate::auth::Principal;
use crate::dispatch::Ctx;
use crate::error::ApiError;

/// The collection resource. `media_types` is always present: the configured list, or every
/// STIX version the server accepts.
pub(crate) fn resource(c: &CollectionRecord, user: &Principal) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), c.id.clone().into());
    m.insert("title".into(), c.title.clone().into());
    if let Some(d) = &c.description {
        m.insert("description".into(), d.clone().into());
    }
    if let Some(a) = &c.alias {
        m.insert("alias".into(), a.clone().into());
    }
    m.insert("can_read".into(), user.may(&c.read).into());
    m.insert("can_write".into(), user.may(&c.write).into());
    let media_types: Vec<String> = match &c.media_types {
        Some(list) if !list.is_empty() => list.clone(),
        _ => SUPPORTED_SPEC_VERSIONS
            .iter()
            .rev()
            .map(|v| v.media_type())
            .collect(),
    };
    m.insert("media_types".into(), media_types.into());
    for (k, v) in &c.extra {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(m)
}

/// The API root's collections the caller sees, ordered by id (so that TAXII 2.0's item
/// ranges over them never overlap).
pub(crate) async fn listed(ctx: &Ctx<'_>, root: &str) -> Result<Vec<CollectionRecord>, ApiError> {
    let mut collections = ctx.app.store.collections(root).await?;
    collections.retain(|c| super::visible(ctx, c));
    collections.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(collections)
}

pub(crate) async fn list(ctx: &Ctx<'_>, root: &str) -> Result<Response, ApiError> {
    let collections = listed(ctx, root).await?;
    let mut body = Map::new();
    if !collections.is_empty() {
        body.insert(
            "collections".into(),
            collections.iter().map(|c| resource(c, ctx.user)).collect(),
        );
    }
    Ok(json(StatusCode::OK, Value::Object(body).to_string()))
}

pub(crate) async fn get(ctx: &Ctx<'_>, root: &str, id: &str) -> Result<Response, ApiError> {
    let c = super::collection(ctx, root, id).await?;
    Ok(json(StatusCode::OK, resource(&c, ctx.user).to_string()))
}
