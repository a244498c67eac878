//! `GET {api-root}/status/{id}/`. A status is visible to the user who created it (imported
//! statuses to everyone) until the retention period after its creation ends.

use axum::http::StatusCode;
use axum::response::Response;

use super::json;
use crate::dispatch::Ctx;
use crate::error::ApiError;

pub(crate) async fn get(ctx: &Ctx<'_>, root: &str, id: &str) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, stored(ctx, root, id).await?))
}

/// The stored status text, if the caller may see it.
pub(crate) async fn stored(ctx: &Ctx<'_>, root: &str, id: &str) -> Result<String, ApiError> {
    let not_found = || ApiError::not_found(format!("status '{id}'"));
    let status = ctx
        .app
        .store
        .status(root, id)
        .await?
        .ok_or_else(not_found)?;
    if status
        .owner
        .as_ref()
        .is_some_and(|owner| *owner != ctx.user.name)
    {
        return Err(not_found());
    }
    if let Some(secs) = ctx.app.settings.status_retention_secs {
        let age = ctx.app.clock.now().nanos() - status.created.nanos();
        if age > secs.saturating_mul(1_000_000_000) {
            return Err(not_found());
        }
    }
    Ok(status.json)
}
