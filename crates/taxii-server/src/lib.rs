//! The TAXII 2.1 HTTP service. It knows the storage interface (`taxii_store::Store`), never a
//! concrete backend: the binary opens a store and hands it over in [`AppState`].
//!
//! Layout: `dispatch` authenticates, routes (`route`), checks the method and negotiates the
//! media type; `handlers` holds one module per TAXII resource; `error` renders every failure as
//! a TAXII error resource; `paging` mints and checks stateless `next` tokens; `layout` keeps the
//! API roots and discovery resource read from the store for a second. Around them: `listen`
//! (connections, TLS via `tls`, limits), `access_log` (request id, client address via
//! `forwarded`, in-flight cap, log line, metrics via `telemetry`), `auth`/`token`/`anonymous`
//! (who calls), `failures` and `rate` (429s), `health` (probes), `admin` (the admin listener's
//! service).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use taxii_model::{Clock, Timestamp};
use taxii_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

mod access_log;
mod admin;
mod anonymous;
pub mod auth;
mod dispatch;
pub mod error;
pub mod failures;
mod forwarded;
mod handlers;
mod health;
pub mod layout;
pub mod listen;
pub mod paging;
pub mod rate;
pub mod route;
pub mod settings;
pub mod telemetry;
pub mod tls;
pub mod token;
mod v20;

pub use admin::admin_router;
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
    /// Failed logins per client address.
    pub auth_failures: Arc<failures::AuthFailures>,
    /// Prometheus metrics at `/metrics`, when enabled.
    pub metrics: Option<telemetry::Metrics>,
    /// Requests per second per user, when limited.
    pub user_rates: Option<Arc<rate::UserRates>>,
}

impl AppState {
    /// The state of a service over `store`, with a fresh layout cache.
    pub fn new(store: Arc<dyn Store>, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        let auth_failures = Arc::new(failures::AuthFailures::new(
            settings.max_auth_failures_per_minute,
        ));
        let user_rates = rate::UserRates::new(
            settings.max_requests_per_user_per_second,
            settings.request_burst_per_user,
        )
        .map(Arc::new);
        Self {
            store,
            settings,
            clock,
            layout: Arc::new(LayoutCache::default()),
            user_rates,
            auth_failures,
            metrics: None,
        }
    }

    /// The same state, serving `metrics` at `/metrics`.
    pub fn with_metrics(mut self, metrics: Option<telemetry::Metrics>) -> Self {
        self.metrics = metrics;
        self
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
    let frame = access_log::Frame::new(
        state.settings.max_concurrent_requests,
        &state.settings.trusted_proxies,
    );
    let router = Router::new()
        .fallback(dispatch::dispatch)
        .with_state(state)
        .layer(CatchPanicLayer::custom(panic_response));
    // tower-http's request spans only when they would be shown (--debug-mode): the access
    // log already has a line per request, and the layer costs throughput even when disabled.
    let router = if tracing::enabled!(target: "tower_http::trace", tracing::Level::DEBUG) {
        router.layer(TraceLayer::new_for_http())
    } else {
        router
    };
    // One outer layer for the request id, the in-flight cap, the access line and the request
    // metrics: each extra `from_fn` layer costs a boxed clone of the service per request.
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let frame = frame.clone();
            async move { access_log::frame(&frame, req, next).await }
        },
    ))
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
