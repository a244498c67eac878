//! Probes for load balancers and orchestrators, outside TAXII and without authentication (a
//! probe carries no credentials): `/healthz` answers while the process serves requests at all;
//! `/readyz` also asks the store (a trivial query) and answers 503 with `Retry-After`, as any
//! request would, when it cannot. An API root's path always ends in `/`, so these never clash
//! with one named `healthz`.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use taxii_store::Store;

use crate::error::ApiError;

const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Whether `path` is a probe's.
pub(crate) fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// The probe's answer when `path` is one, else `None`.
pub(crate) async fn probe(store: &dyn Store, method: &Method, path: &str) -> Option<Response> {
    if !is_probe(path) {
        return None;
    }
    let ready = path == "/readyz";
    Some(match *method {
        Method::GET | Method::HEAD => answer(store, ready)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Method::OPTIONS => {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            resp
        }
        _ => ApiError::MethodNotAllowed { allow: ALLOW }.into_response(),
    })
}

async fn answer(store: &dyn Store, ready: bool) -> Result<Response, ApiError> {
    let body = if ready {
        store.health().await.map_err(|e| {
            ApiError::Unavailable(format!(
                "the {} store does not answer: {e}",
                store.backend()
            ))
        })?;
        json!({"status": "ready", "store": store.backend()})
    } else {
        json!({"status": "live"})
    };
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
