//! Prometheus metrics, served at `GET /metrics` (`Settings::metrics_access` says who may read
//! them): requests by endpoint, method and status with a latency histogram per endpoint
//! (recorded by `access_log`), objects received by Add Objects, server-side errors, and the
//! object versions stored (asked of the store at each scrape).

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use taxii_store::Store;

use crate::error::ApiError;

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Not served (404, like any unknown path).
    Off,
    /// Any authenticated user or token (Prometheus scrapes with `basic_auth` or a bearer token).
    Authenticated,
    /// Anyone who can reach the listener (a private network).
    Public,
}

impl MetricsAccess {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "off" => Some(MetricsAccess::Off),
            "authenticated" => Some(MetricsAccess::Authenticated),
            "public" => Some(MetricsAccess::Public),
            _ => None,
        }
    }
}

pub const PATH: &str = "/metrics";
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const REQUEST_SECONDS: &str = "taxiid_request_duration_seconds";
/// From 0.5 ms to 10 s: TAXII pages answer in a millisecond, big adds take seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The metrics a server serves, and to whom.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    pub access: MetricsAccess,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the process-wide recorder the `metrics` macros write to, once; later calls
    /// share it. `None` when `access` is `Off`: nothing is recorded or served.
    pub fn install(access: MetricsAccess) -> Result<Option<Metrics>, String> {
        if access == MetricsAccess::Off {
            return Ok(None);
        }
        Self::recorder().map(|handle| Some(Metrics { handle, access }))
    }

    /// The same metrics, served to whom `access` says.
    pub fn with_access(&self, access: MetricsAccess) -> Metrics {
        Metrics {
            handle: self.handle.clone(),
            access,
        }
    }

    fn recorder() -> Result<PrometheusHandle, String> {
        static HANDLE: std::sync::Mutex<Option<PrometheusHandle>> = std::sync::Mutex::new(None);
        let mut slot = HANDLE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let handle = match slot.as_ref() {
            Some(h) => h.clone(),
            None => {
                let h = PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &BUCKETS)
                    .map_err(|e| format!("metrics: {e}"))?
                    .install_recorder()
                    .map_err(|e| format!("metrics: {e}"))?;
                *slot = Some(h.clone());
                // Without the exporter's own listener, histograms are only folded into their
                // buckets by upkeep: run it even when nobody scrapes, so memory stays flat.
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let upkeep = h.clone();
                    rt.spawn(async move {
                        let mut tick = tokio::time::interval(UPKEEP_EVERY);
                        loop {
                            tick.tick().await;
                            upkeep.run_upkeep();
                        }
                    });
                }
                h
            }
        };
        Ok(handle)
    }
}

/// A bounded method label.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub(crate) fn record_request(
    endpoint: &'static str,
    method: &Method,
    status: StatusCode,
    secs: f64,
) {
    metrics::counter!(
        "taxiid_requests_total",
        "endpoint" => endpoint,
        "method" => method_label(method),
        "status" => status.as_str().to_owned()
    )
    .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "endpoint" => endpoint).record(secs);
}

pub(crate) fn record_objects_received(n: usize) {
    metrics::counter!("taxiid_envelopes_received_total").increment(1);
    metrics::counter!("taxiid_objects_received_total").increment(n as u64);
}

pub(crate) fn record_server_error(kind: &'static str) {
    metrics::counter!("taxiid_server_errors_total", "kind" => kind).increment(1);
}

/// The `/metrics` answer: the store's count first (a failure to count is itself reported as a
/// server error, and the rest is still served).
pub(crate) async fn render(store: &dyn Store, metrics: &Metrics, method: &Method) -> Response {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return ApiError::MethodNotAllowed { allow: "GET, HEAD" }.into_response();
    }
    match store.count_versions().await {
        Ok(n) => metrics::gauge!("taxiid_object_versions").set(n as f64),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the store did not count its objects");
            record_server_error("store");
        }
    }
    let mut resp = (StatusCode::OK, metrics.handle.render()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
