//! `GET …/objects/`, `GET …/objects/{id}/` and `DELETE …/objects/{id}/`. Objects are written
//! into the envelope from their stored JSON text, never re-serialised.

use axum::response::Response;
use taxii_model::Params;
use taxii_model::query::FilterSpec;

use super::{collection, fetch_page, page_response, paged_body, readable};
use crate::dispatch::Ctx;
use crate::empty_ok;
use crate::error::ApiError;

pub(crate) async fn list_objects(
    ctx: &Ctx<'_>,
    root: &str,
    collection: &str,
    object: Option<&str>,
) -> Result<Response, ApiError> {
    let coll = readable(ctx, root, collection).await?;
    let spec = match object {
        Some(id) => {
            if !ctx.app.store.object_exists(root, &coll.id, id).await? {
                return Err(ApiError::not_found(format!("object '{id}'")));
            }
            FilterSpec::one_object()
        }
        None => FilterSpec::listing(),
    };
    let listed = fetch_page(ctx, "objects", root, &coll, object, spec).await?;
    // A known object whose selected versions are gone (deleted, or filtered out) is 404 on
    // its own endpoint, unless this is a continuation page.
    if let Some(id) = object
        && listed.page.items.is_empty()
        && Params::parse(ctx.query)?.get("next").is_none()
    {
        return Err(ApiError::not_found(format!(
            "no version of object '{id}' matches"
        )));
    }
    let objects: Vec<&str> = listed.page.items.iter().map(|v| &*v.json).collect();
    let body = paged_body(
        "objects",
        &objects,
        listed.page.more,
        listed.next.as_deref(),
    );
    Ok(page_response(body, &listed.page.items))
}

pub(crate) async fn list(ctx: &Ctx<'_>, root: &str, coll: &str) -> Result<Response, ApiError> {
    list_objects(ctx, root, coll, None).await
}

pub(crate) async fn get_one(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    object: &str,
) -> Result<Response, ApiError> {
    list_objects(ctx, root, coll, Some(object)).await
}

/// The permission table of TAXII 2.1 §5.7: neither right → 404, one missing → 403.
pub(crate) async fn delete(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    object: &str,
) -> Result<Response, ApiError> {
    let c = collection(ctx, root, coll).await?;
    match (ctx.user.may(&c.read), ctx.user.may(&c.write)) {
        (false, false) => return Err(ApiError::not_found(format!("collection '{coll}'"))),
        (true, true) => {}
        _ => {
            return Err(ApiError::Forbidden(format!(
                "deleting from collection '{}' needs read and write permission",
                c.id
            )));
        }
    }
    let filter = Params::parse(ctx.query)?.filter(FilterSpec::delete())?;
    if !ctx.app.store.object_exists(root, &c.id, object).await? {
        return Err(ApiError::not_found(format!("object '{object}'")));
    }
    let deleted = ctx
        .app
        .store
        .delete_versions(root, &c.id, object, &filter)
        .await?;
    if deleted == 0 {
        return Err(ApiError::not_found(format!(
            "no version of object '{object}' matches"
        )));
    }
    tracing::info!(target: "taxiid::audit", user = %ctx.user.name, api_root = root, collection = %c.id, object, deleted, "deleted object versions");
    Ok(empty_ok())
}
