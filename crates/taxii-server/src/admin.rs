//! The admin listener's service (`server.admin_listen`): the health probes and the Prometheus
//! metrics on an address of their own, without credentials, so that an orchestrator and
//! Prometheus reach them on a private interface while the TAXII listener faces partners.
//! Nothing else is served there, and its requests are neither logged nor counted (scrapes and
//! probes every few seconds would drown the access log).

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use taxii_store::Store;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
use crate::telemetry::{self, Metrics};

/// The service: probes over `store`, and `metrics` when the server records them.
pub fn admin_router(store: Arc<dyn Store>, metrics: Option<Metrics>) -> Router {
    Router::new()
        .fallback(move |req: Request| {
            let (store, metrics) = (Arc::clone(&store), metrics.clone());
            async move { answer(store.as_ref(), metrics.as_ref(), req).await }
        })
        .layer(CatchPanicLayer::custom(crate::panic_response))
}

async fn answer(store: &dyn Store, metrics: Option<&Metrics>, req: Request) -> Response {
    let path = req.uri().path();
    if let Some(resp) = crate::health::probe(store, req.method(), path).await {
        return resp;
    }
    match metrics {
        Some(m) if path == telemetry::PATH => telemetry::render(store, m, req.method()).await,
        _ => ApiError::NotFound(
            "the admin listener serves /healthz, /readyz and /metrics only".into(),
        )
        .into_response(),
    }
}
