//! The hyper accept loop: HTTP/1.1 and HTTP/2 on one port, `TCP_NODELAY` on every socket,
//! the [`ConnectionLimits`] (timeouts, header size, connection caps, `accept` back-off), and
//! graceful shutdown that also ends open streaming responses (SSE).
//!
//! Nagle's algorithm holds back small writes until the previous segment is acknowledged; a
//! client using delayed ACKs then waits up to 40 ms for each SSE event. Every accepted socket
//! therefore gets `TCP_NODELAY`.

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;
use tower::{Layer as _, Service, ServiceExt as _};

use super::conn::{
    AddrCounts, AddrPermit, ConnTracker, ConnectionLimits, RequestBodyTimeoutLayer, TimeoutBody,
    Tracked, refusal,
};
use crate::body::BoxError;
use crate::log_throttle::LogThrottle;

/// Connections refused at a cap that may be answered at once; past that they are closed
/// without an answer.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;
/// How long a refused connection gets to take its answer.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// At most one log line per interval for each class of connection trouble.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The address of the TCP peer a request came from, put into every request's extensions by
/// [`serve`] and [`serve_listener`].
///
/// Per-address limits and trusted-proxy checks read it. When you run the service under your own
/// accept loop, insert it yourself (`req.extensions_mut().insert(RemoteAddr(peer))`); without it,
/// address-based features treat the peer as unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoteAddr(pub SocketAddr);

/// How long [`serve`] waits for open connections after the shutdown signal.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Binds `addr` and serves `service` with the default [`ConnectionLimits`] until Ctrl-C
/// (SIGINT), then shuts down gracefully.
///
/// `service` is any tower service over hyper requests (with the body wrapped in a
/// [`TimeoutBody`]): a
/// [`StreamableHttpService`](super::StreamableHttpService), or one wrapped in layers (CORS,
/// authorization), or an axum `Router`.
///
/// # Errors
/// Binding the address failed.
///
/// # Example
/// ```no_run
/// use mcp_rs_server::transport::http::{serve, CorsLayer, HttpConfig, StreamableHttpService};
/// use tower::Layer;
/// # async fn run(server: mcp_rs_server::Server) -> std::io::Result<()> {
/// let mcp = StreamableHttpService::new(server, HttpConfig::default());
/// serve("127.0.0.1:8000", CorsLayer::new().layer(mcp)).await
/// # }
/// ```
pub async fn serve<S, B>(addr: impl ToSocketAddrs, service: S) -> io::Result<()>
where
    S: Service<Request<TimeoutBody<Incoming>>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_with(addr, service, ConnectionLimits::default()).await
}

/// [`serve`] with your own [`ConnectionLimits`].
///
/// # Errors
/// Binding the address failed.
pub async fn serve_with<S, B>(
    addr: impl ToSocketAddrs,
    service: S,
    limits: ConnectionLimits,
) -> io::Result<()>
where
    S: Service<Request<TimeoutBody<Incoming>>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind(addr).await?;
    serve_listener_with(
        listener,
        service,
        shutdown_signal(),
        DEFAULT_GRACE_PERIOD,
        limits,
    )
    .await
}

/// Resolves on Ctrl-C (and SIGTERM on Unix).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Serves `service` on an already bound `listener` with the default [`ConnectionLimits`]
/// until `shutdown` resolves; then stops accepting, ends every open streaming response (a body
/// without a known length, such as an SSE stream) at its next frame boundary, asks open
/// connections to finish, and waits for them at most `grace`. Responses with a known length are
/// not cut.
///
/// # Errors
/// Never at the moment; accept errors are logged (at most once per 10 s, with a count) and
/// retried after a pause (running out of file descriptors must not end the server).
pub async fn serve_listener<S, B, F>(
    listener: TcpListener,
    service: S,
    shutdown: F,
    grace: Duration,
) -> io::Result<()>
where
    S: Service<Request<TimeoutBody<Incoming>>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    serve_listener_with(
        listener,
        service,
        shutdown,
        grace,
        ConnectionLimits::default(),
    )
    .await
}

/// [`serve_listener`] with your own [`ConnectionLimits`].
///
/// # Errors
/// Never at the moment (see [`serve_listener`]).
pub async fn serve_listener_with<S, B, F>(
    listener: TcpListener,
    service: S,
    shutdown: F,
    grace: Duration,
    limits: ConnectionLimits,
) -> io::Result<()>
where
    S: Service<Request<TimeoutBody<Incoming>>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let mut acceptor = Acceptor::new(limits);
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = acceptor.accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let Some(permits) = acceptor.admit(peer) else {
            acceptor.refuse(stream, peer, &tasks);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(target: "mcp_rs_server::http", error = %e, "set_nodelay failed");
        }
        let tracker = ConnTracker::new();
        let ending = stop.clone();
        let svc = Tracked {
            inner: RequestBodyTimeoutLayer::from_limits(&limits)
                .layer(service.clone())
                .map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(RemoteAddr(peer));
                    req
                })
                .map_response(move |res: Response<B>| res.map(|body| StopBody::new(body, &ending))),
            tracker: tracker.clone(),
        };
        let conn = acceptor
            .builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .into_owned();
        let stop = stop.clone();
        tasks.spawn(async move {
            let graceful = |c: Pin<&mut _>| auto::Connection::graceful_shutdown(c);
            drive_connection(conn, graceful, &tracker, &limits, stop, peer).await;
            drop(permits);
        });
    }
    drop(listener);
    stop.cancel();
    tasks.close();
    tokio::select! {
        () = tasks.wait() => {}
        () = tokio::time::sleep(grace) => {
            tracing::debug!(target: "mcp_rs_server::http", "grace period over; dropping open connections");
        }
    }
    Ok(())
}

/// Runs one connection until it ends; asks it to finish when the server shuts down or when
/// it has been idle too long.
async fn drive_connection<C, E>(
    conn: C,
    graceful: fn(Pin<&mut C>),
    tracker: &ConnTracker,
    limits: &ConnectionLimits,
    stop: CancellationToken,
    peer: SocketAddr,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(target: "mcp_rs_server::http", %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = stop.cancelled(), if !closing => {
                closing = true;
                graceful(conn.as_mut());
            }
            () = tracker.idle(limits.header_read_timeout, limits.idle_timeout), if !closing => {
                tracing::trace!(target: "mcp_rs_server::http", %peer, "closing an idle connection");
                closing = true;
                graceful(conn.as_mut());
            }
        }
    }
}

/// The slots a served connection holds until it ends.
struct Permits {
    _total: OwnedSemaphorePermit,
    _addr: AddrPermit,
}

/// Accepts connections: back-off on `accept` errors, the connection caps, refusals.
struct Acceptor {
    limits: ConnectionLimits,
    builder: auto::Builder<TokioExecutor>,
    total: Arc<Semaphore>,
    per_addr: Arc<AddrCounts>,
    refusals: Arc<Semaphore>,
    failures: u32,
    accept_log: LogThrottle,
    refusal_log: LogThrottle,
}

impl Acceptor {
    fn new(limits: ConnectionLimits) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        limits.configure(&mut builder);
        Acceptor {
            limits,
            builder,
            total: Arc::new(Semaphore::new(limits.effective_max_connections())),
            per_addr: AddrCounts::new(limits.effective_max_connections_per_addr()),
            refusals: Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT)),
            failures: 0,
            accept_log: LogThrottle::new(LOG_INTERVAL),
            refusal_log: LogThrottle::new(LOG_INTERVAL),
        }
    }

    /// The next connection. Failures (out of file descriptors, ...) pause the loop: 5 ms,
    /// doubling on each failure in a row up to `accept_backoff_max`.
    async fn accept(&mut self, listener: &TcpListener) -> (TcpStream, SocketAddr) {
        loop {
            match listener.accept().await {
                Ok(pair) => {
                    self.failures = 0;
                    return pair;
                }
                Err(e) => {
                    self.failures = self.failures.saturating_add(1);
                    let pause = accept_backoff(self.failures, self.limits.accept_backoff_max);
                    if let Some(suppressed) = self.accept_log.hit() {
                        tracing::warn!(target: "mcp_rs_server::http", error = %e, suppressed, pause_ms = pause.as_millis() as u64,
                            "accept failed (suppressed: failures since the previous line)");
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// The slots for a new connection, or `None` when a cap is reached.
    fn admit(&self, peer: SocketAddr) -> Option<Permits> {
        let addr = self.per_addr.try_acquire(peer.ip())?;
        let total = self.total.clone().try_acquire_owned().ok()?;
        Some(Permits {
            _total: total,
            _addr: addr,
        })
    }

    /// Answers a connection refused at a cap (`429` when its address holds its share, else
    /// `503`), or just closes it when too many refusals are being written already.
    fn refuse(&self, stream: TcpStream, peer: SocketAddr, tasks: &TaskTracker) {
        let global_full = self.total.available_permits() == 0;
        if let Some(suppressed) = self.refusal_log.hit() {
            tracing::warn!(target: "mcp_rs_server::http", %peer, suppressed, global_full,
                "connection refused at the connection cap (suppressed: refusals since the previous line)");
        }
        let Ok(slot) = self.refusals.clone().try_acquire_owned() else {
            return;
        };
        let answer = if global_full {
            refusal(
                503,
                "Service Unavailable",
                self.limits.retry_after,
                "Server busy: too many connections, retry later",
            )
        } else {
            refusal(
                429,
                "Too Many Requests",
                self.limits.retry_after,
                "Too many connections from this address, retry later",
            )
        };
        tasks.spawn(async move {
            let _ =
                tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, write_refusal(stream, &answer)).await;
            drop(slot);
        });
    }
}

/// Writes `answer`, then reads (and drops) what the client sent so closing the socket does not
/// reset the connection before the client has read the answer.
async fn write_refusal(mut stream: TcpStream, answer: &[u8]) -> io::Result<()> {
    stream.write_all(answer).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 4096];
    let mut left = 64 * 1024usize;
    while left > 0 {
        let n = stream.read(&mut sink).await?;
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n);
    }
    Ok(())
}

/// The pause after the `failures`-th failed `accept` in a row.
fn accept_backoff(failures: u32, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_millis(5).saturating_mul(1 << exp).min(max)
}

pin_project_lite::pin_project! {
    /// A response body that ends at its next frame boundary once the server shuts down, if it
    /// is a stream (no exact length); a body with a known length passes through untouched.
    struct StopBody<B> {
        #[pin]
        body: B,
        #[pin]
        stop: Option<WaitForCancellationFutureOwned>,
    }
}

impl<B: http_body::Body> StopBody<B> {
    fn new(body: B, stop: &CancellationToken) -> Self {
        let streaming = body.size_hint().exact().is_none();
        StopBody {
            body,
            stop: streaming.then(|| stop.clone().cancelled_owned()),
        }
    }
}

impl<B: http_body::Body> http_body::Body for StopBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        let this = self.project();
        if let Some(stop) = this.stop.as_pin_mut() {
            if stop.poll(cx).is_ready() {
                return Poll::Ready(None);
            }
        }
        this.body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_up_to_the_cap() {
        let max = Duration::from_secs(1);
        let pauses: Vec<u128> = (1..=10)
            .map(|n| accept_backoff(n, max).as_millis())
            .collect();
        assert_eq!(pauses, vec![5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(accept_backoff(u32::MAX, max), max);
    }
}
