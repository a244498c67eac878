//! `GET {api-root}/collections/{id}/objects/{object-id}/versions/`.

use axum::response::Response;
use serde_json::Value;
use taxii_model::query::FilterSpec;

use super::{fetch_page, page_response, paged_body, readable};
use crate::dispatch::Ctx;
use crate::error::ApiError;

pub(crate) async fn get(
    ctx: &Ctx<'_>,
    root: &str,
    collection: &str,
    object: &str,
) -> Result<Response, ApiError> {
    let coll = readable(ctx, root, collection).await?;
    if !ctx.app.store.object_exists(root, &coll.id, object).await? {
        return Err(ApiError::not_found(format!("object '{object}'")));
    }
    let listed = fetch_page(
        ctx,
        "versions",
        root,
        &coll,
        Some(object),
        FilterSpec::versions(),
    )
    .await?;
    let versions: Vec<String> = listed
        .page
        .items
        .iter()
        .map(|v| Value::from(v.version_text.as_str()).to_string())
        .collect();
    let body = paged_body(
        "versions",
        &versions,
        listed.page.more,
        listed.next.as_deref(),
    );
    Ok(page_response(body, &listed.page.items))
}
