//! `GET {api-root}/collections/{id}/manifest/`: one record per selected object version.

use axum::response::Response;
use serde_json::json;
use taxii_model::query::FilterSpec;

use super::{fetch_page, page_response, paged_body, readable};
use crate::dispatch::Ctx;
use crate::error::ApiError;

pub(crate) async fn get(ctx: &Ctx<'_>, root: &str, collection: &str) -> Result<Response, ApiError> {
    let coll = readable(ctx, root, collection).await?;
    let listed = fetch_page(ctx, "manifest", root, &coll, None, FilterSpec::listing()).await?;
    let records: Vec<String> = listed
        .page
        .items
        .iter()
        .map(|v| {
            json!({
                "id": v.id,
                "date_added": v.date_added().to_taxii_string(),
                "version": v.version_text,
                "media_type": v.media_type,
            })
            .to_string()
        })
        .collect();
    let body = paged_body(
        "objects",
        &records,
        listed.page.more,
        listed.next.as_deref(),
    );
    Ok(page_response(body, &listed.page.items))
}
