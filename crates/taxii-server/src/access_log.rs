//! The frame around every request: its id, its client's address (`forwarded`), the cap on
//! requests in flight, one log line (target `taxiid::access`: method, path, status, duration,
//! user, client, request id) and the request metrics. The id is the client's `X-Request-Id`
//! when it sent a usable one, else a new one, and is echoed in the response so that a client's
//! report can be matched with the server's log. (`TAXIID_LOG=info,taxiid::access=off` silences
//! the lines.)

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Instant;

use axum::response::IntoResponse;
use ipnet::IpNet;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::forwarded::{ClientAddr, client_address};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const HEADER: &str = "x-request-id";

/// What the dispatcher learns about a request for its log line and metrics: the
/// authenticated user and the endpoint (`Route::name`, `health`, `metrics`).
#[derive(Clone, Default)]
pub(crate) struct RequestNote(Arc<Note>);

#[derive(Default)]
struct Note {
    user: OnceLock<String>,
    endpoint: OnceLock<&'static str>,
}

impl RequestNote {
    pub(crate) fn user(&self, name: &str) {
        let _ = self.0.user.set(name.to_owned());
    }

    pub(crate) fn endpoint(&self, name: &'static str) {
        let _ = self.0.endpoint.set(name);
    }
}

/// What the frame holds across requests: the cap on requests in flight, and the proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Clone)]
pub(crate) struct Frame {
    slots: Arc<Semaphore>,
    limit: usize,
    proxies: Arc<[IpNet]>,
}

impl Frame {
    pub(crate) fn new(limit: usize, proxies: &[IpNet]) -> Self {
        let limit = limit.max(1);
        Frame {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
            proxies: proxies.into(),
        }
    }
}

/// A new request id in UUID form: 64 random bits drawn once per process, then a counter (a
/// random UUID per request would cost a system call each).
fn new_request_id() -> String {
    static PREFIX: LazyLock<u64> = LazyLock::new(|| {
        u64::from_le_bytes(
            *uuid::Uuid::new_v4()
                .as_bytes()
                .first_chunk()
                .unwrap_or(&[0; 8]),
        )
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(*PREFIX, n)
        .hyphenated()
        .to_string()
}

/// The client's id when it is short and plain (it goes into logs verbatim), else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(new_request_id, str::to_owned)
}

pub(crate) async fn frame(frame: &Frame, mut req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_address(c.0.ip(), req.headers(), &frame.proxies));
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientAddr(ip));
    }
    // A probe always goes through, so that an orchestrator still sees a busy process live.
    let _slot = if crate::health::is_probe(req.uri().path()) {
        None
    } else {
        match Arc::clone(&frame.slots).try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                let limit = frame.limit;
                let busy = ApiError::Overloaded(format!(
                    "The server is handling as many requests as it may ({limit}); retry shortly."
                ));
                return log_request(req, client, |_| async move { busy.into_response() }).await;
            }
        }
    };
    log_request(req, client, |req| next.run(req)).await
}

async fn log_request<F, Fut>(mut req: Request, client: Option<IpAddr>, run: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let started = Instant::now();
    let id = request_id(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let note = RequestNote::default();
    req.extensions_mut().insert(note.clone());
    let mut resp = run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, v);
    }
    let secs = started.elapsed().as_secs_f64();
    let endpoint = note.0.endpoint.get().copied().unwrap_or("other");
    crate::telemetry::record_request(endpoint, &method, resp.status(), secs);
    tracing::info!(
        target: "taxiid::access",
        request_id = %id,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        duration_ms = secs * 1000.0,
        user = %note.0.user.get().map_or("-", String::as_str),
        client = %client.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        "request"
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn plain_client_ids_are_kept_and_others_replaced() {
        assert_eq!(request_id(&with("abc-123_x.y:z")), "abc-123_x.y:z");
        for odd in ["has space", "quote\"", &"x".repeat(129), "semi;colon"] {
            let id = request_id(&with(odd));
            assert_ne!(id, odd);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        let fresh = request_id(&HeaderMap::new());
        assert!(uuid::Uuid::parse_str(&fresh).is_ok(), "{fresh}");
        assert_ne!(request_id(&HeaderMap::new()), fresh);
    }
}
