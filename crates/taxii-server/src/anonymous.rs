//! What an unauthenticated request (no `Authorization` header) may do: read collections whose
//! read grant is public, and the discovery, API root and collection listings that lead to
//! them. Anything else answers 401 exactly as before, so a caller without credentials learns
//! nothing about what else exists.

use axum::http::Method;
use taxii_store::{ApiRootRecord, Grant};

use crate::AppState;
use crate::error::ApiError;
use crate::route::Route;

async fn has_public_collection(app: &AppState, root: &str) -> Result<bool, ApiError> {
    let collections = app.store.collections(root).await?;
    Ok(collections.iter().any(|c| c.read == Grant::Public))
}

/// Whether an unauthenticated caller may make this request.
pub(crate) async fn permitted(
    app: &AppState,
    roots: &[ApiRootRecord],
    route: &Route,
    method: &Method,
) -> Result<bool, ApiError> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return Ok(false);
    }
    match route {
        Route::Discovery | Route::Discovery20 => {
            for r in roots {
                if has_public_collection(app, &r.name).await? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Route::ApiRoot { root } | Route::Collections { root } => {
            has_public_collection(app, root).await
        }
        Route::Collection { root, collection }
        | Route::Manifest { root, collection }
        | Route::Objects { root, collection }
        | Route::Object {
            root, collection, ..
        }
        | Route::Versions {
            root, collection, ..
        } => Ok(app
            .store
            .collection(root, collection)
            .await?
            .is_some_and(|c| c.read == Grant::Public)),
        Route::Status { .. } => Ok(false),
    }
}
