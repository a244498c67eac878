//! The listener: accepts TCP connections (TLS when configured), serves HTTP/1.1 on each with
//! the limits that keep slow or greedy clients from exhausting the server, and shuts down
//! gracefully: stop accepting, let requests in flight finish, close idle connections.
//!
//! axum's own `serve` has no header timeout (a client may trickle headers forever) and no
//! connection bounds, so taxiid drives hyper itself.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::tls::{ClientCert, Tls};

/// HSTS for a year, the usual lifetime.
const HSTS: &str = "max-age=31536000";

/// Connection limits. Every value has a safe default ([`ConnLimits::default`]).
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Time a client has to send a request's headers, counted from the end of its previous
    /// request: a slow (slowloris) client is cut off, and an idle keep-alive connection is
    /// closed, after it.
    pub header_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger ones get 431. At least
    /// 8,192 (hyper's minimum buffer).
    pub max_header_bytes: usize,
    /// Open connections at most; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Open connections at most per client address; more are closed at once.
    pub max_connections_per_client: usize,
    /// Time a TLS handshake may take.
    pub handshake_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_connections: 4096,
            max_connections_per_client: 256,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One client's place in [`PerClient`], given back when the connection ends.
struct ClientSlot {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    fn enter(table: &Arc<PerClient>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut open = table.0.lock();
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: Arc::clone(table),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.0.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Any service that answers every request (an axum `Router`, or the binary's start-up gate).
pub trait HttpService:
    tower::Service<
        axum::http::Request<Body>,
        Response = Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> HttpService for S where
    S: tower::Service<
            axum::http::Request<Body>,
            Response = Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the requests in
/// flight. Each request carries `ConnectInfo<SocketAddr>` of its client, and the
/// [`ClientCert`] it presented over TLS, if any.
pub async fn serve(
    listener: TcpListener,
    router: impl HttpService,
    tls: Option<Tls>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = Arc::new(PerClient::default());
    // Connections hold a receiver; dropping the sender tells them to finish, and `closed()`
    // on the done channel says when the last one has.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) =
            PerClient::enter(&per_client, peer.ip(), limits.max_connections_per_client)
        else {
            tracing::warn!(client = %peer.ip(), "too many connections from one client: closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            router: router.clone(),
            peer,
            client_cert: None,
            tls: false,
            limits: limits.clone(),
            stop: stop_rx.clone(),
            _done: done_rx.clone(),
            _permit: permit,
            _slot: slot,
        };
        match &tls {
            None => {
                tokio::spawn(conn.run(stream));
            }
            Some(tls) => {
                let acceptor = tls.acceptor();
                let timeout = limits.handshake_timeout;
                tokio::spawn(async move {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            // Verified by the handshake; only its subject is left to read.
                            let client_cert = tls_stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|chain| chain.first())
                                .and_then(|der| ClientCert::from_der(der));
                            Conn {
                                client_cert,
                                tls: true,
                                ..conn
                            }
                            .run(tls_stream)
                            .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(client = %peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(client = %peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// One accepted connection and what it holds until it ends.
struct Conn<S> {
    router: S,
    peer: SocketAddr,
    client_cert: Option<ClientCert>,
    /// Served over TLS: responses tell browsers to stay on HTTPS (HSTS).
    tls: bool,
    limits: ConnLimits,
    stop: watch::Receiver<()>,
    _done: watch::Receiver<()>,
    _permit: OwnedSemaphorePermit,
    _slot: ClientSlot,
}

impl<S: HttpService> Conn<S> {
    async fn run<T>(mut self, stream: T)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let router = self.router.clone();
        let client_cert = self.client_cert.take();
        let tls = self.tls;
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            if let Some(cert) = &client_cert {
                req.extensions_mut().insert(cert.clone());
            }
            let answer = router.clone().oneshot(req.map(Body::new));
            async move {
                let mut resp = answer.await?;
                if tls {
                    resp.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    );
                }
                Ok::<_, Infallible>(resp)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_buf_size(self.limits.max_header_bytes.max(8192))
            .keep_alive(true);
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut conn = std::pin::pin!(conn);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(client = %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = self.stop.changed() => {}
        }
        // Shutting down: finish the request in flight (if any), then close.
        conn.as_mut().graceful_shutdown();
        if let Err(e) = conn.await {
            tracing::debug!(client = %peer, error = %e, "connection ended with an error");
        }
    }
}
