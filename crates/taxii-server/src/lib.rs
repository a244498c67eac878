//! The TAXII 2.1 HTTP service. It knows the storage interface (`taxii_store::Store`), never a
//! concrete backend: the binary opens a store and hands it over in [`AppState`].
//!
//! Layout: `dispatch` authenticates, routes (`route`), checks the method and negotiates the
//! media type; `handlers` holds one module per TAXII resource; `error` renders every failure as
//! a TAXII error resource; `paging` mints and checks stateless `next` tokens; `layout` keeps the
//! API roots and discovery resource read from the store for a second.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use taxii_model::{Clock, Timestamp};
use taxii_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub mod auth;
mod dispatch;
pub mod error;
mod handlers;
mod health;
pub mod layout;
pub mod paging;
pub mod route;
pub mod settings;

pub use layout::LayoutCache;
pub use settings::Settings;

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    /// The API roots and discovery resource, read from `store` at most once per
    /// [`layout::LAYOUT_TTL`].
    pub layout: Arc<LayoutCache>,
}

impl AppState {
    /// The state of a service over `store`, with a fresh layout cache.
    pub fn new(store: Arc<dyn Store>, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            settings,
            clock,
            layout: Arc::new(LayoutCache::default()),
        }
    }
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Timestamp::from_nanos(nanos)
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    use axum::response::IntoResponse;
    error::ApiError::Internal("a request handler panicked".into()).into_response()
}

/// The service: every path goes through one dispatcher, so unknown paths and methods get TAXII
/// errors too.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch::dispatch)
        .with_state(state)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Purges statuses older than the retention period every `every`, for as long as the runtime
/// lives. Reads also refuse expired statuses, so correctness does not depend on this timer.
pub fn spawn_status_reaper(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(retention) = state.settings.status_retention_secs else {
            return;
        };
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let cutoff = Timestamp::from_nanos(
                state
                    .clock
                    .now()
                    .nanos()
                    .saturating_sub(retention.saturating_mul(1_000_000_000)),
            );
            match state.store.purge_statuses(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged expired statuses"),
                Err(e) => tracing::warn!(error = %e, "status purge failed"),
            }
        }
    })
}

/// 200 with an empty TAXII body, as DELETE answers.
pub(crate) fn empty_ok() -> Response {
    error::taxii_response(StatusCode::OK, axum::body::Body::empty())
}
