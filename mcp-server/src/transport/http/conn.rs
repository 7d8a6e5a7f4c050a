//! Connection-level limits: header, idle and body timeouts, header size, concurrent
//! connections (in total and per client address), and `accept` back-off.

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use pin_project_lite::pin_project;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use crate::body::BoxError;

/// Default [`ConnectionLimits::header_read_timeout`]: 30 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ConnectionLimits::idle_timeout`]: 60 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ConnectionLimits::body_read_timeout`]: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ConnectionLimits::body_timeout`]: 60 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ConnectionLimits::max_header_bytes`]: 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Connection cap used when the file-descriptor limit cannot be read.
pub const FALLBACK_MAX_CONNECTIONS: usize = 1024;

/// Limits on the connections [`serve_with`](super::serve_with) accepts.
///
/// [`serve`](super::serve) and [`serve_listener`](super::serve_listener) apply
/// [`ConnectionLimits::default`]; [`serve_with`](super::serve_with) and
/// [`serve_listener_with`](super::serve_listener_with) take your own.
///
/// # Defaults
/// | limit | default | what the client sees |
/// |---|---|---|
/// | [`header_read_timeout`](ConnectionLimits::header_read_timeout) | 30 s | connection closed without an answer |
/// | [`idle_timeout`](ConnectionLimits::idle_timeout) | 60 s | connection closed (HTTP/2: `GOAWAY`) |
/// | [`body_read_timeout`](ConnectionLimits::body_read_timeout) | 30 s between two reads | `408` with a JSON-RPC error, connection closed |
/// | [`body_timeout`](ConnectionLimits::body_timeout) | 60 s for the whole body | `408` with a JSON-RPC error, connection closed |
/// | [`max_header_bytes`](ConnectionLimits::max_header_bytes) | 64 KiB | `431` (HTTP/1), stream reset (HTTP/2) |
/// | [`max_connections`](ConnectionLimits::max_connections) | soft fd limit minus ⅛ (at least 64) | `503` + `Retry-After`, connection closed |
/// | [`max_connections_per_addr`](ConnectionLimits::max_connections_per_addr) | ¼ of `max_connections` | `429` + `Retry-After`, connection closed |
///
/// The same protections under your own hyper accept loop: apply
/// [`ConnectionLimits::configure`] to the `hyper_util` builder, wrap the service in
/// [`RequestBodyTimeoutLayer`], and count connections yourself (a `tokio::sync::Semaphore`
/// sized by [`ConnectionLimits::effective_max_connections`], a permit held by each
/// connection task); close connections that stay idle with `graceful_shutdown`.
///
/// ```no_run
/// use hyper_util::rt::{TokioExecutor, TokioIo};
/// use hyper_util::server::conn::auto;
/// use hyper_util::service::TowerToHyperService;
/// use mcp_rs_server::transport::http::{ConnectionLimits, RemoteAddr, RequestBodyTimeoutLayer};
/// use std::sync::Arc;
/// use tower::{Layer, ServiceExt};
/// # async fn run(mcp: mcp_rs_server::transport::http::StreamableHttpService) -> std::io::Result<()> {
/// let limits = ConnectionLimits::default();
/// let mut builder = auto::Builder::new(TokioExecutor::new());
/// limits.configure(&mut builder);
/// let permits = Arc::new(tokio::sync::Semaphore::new(limits.effective_max_connections()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     let Ok(permit) = permits.clone().try_acquire_owned() else {
///         continue; // at the cap: drop the socket (or answer 503)
///     };
///     let svc = RequestBodyTimeoutLayer::from_limits(&limits)
///         .layer(mcp.clone())
///         .map_request(move |mut req: http::Request<_>| {
///             req.extensions_mut().insert(RemoteAddr(peer));
///             req
///         });
///     let conn = builder
///         .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
///         .into_owned();
///     tokio::spawn(async move {
///         let _ = conn.await;
///         drop(permit);
///     });
/// }
/// # }
/// ```
///
/// ```
/// use mcp_rs_server::transport::http::ConnectionLimits;
/// use std::time::Duration;
/// let limits = ConnectionLimits::default()
///     .header_read_timeout(Some(Duration::from_secs(10)))
///     .max_connections(Some(2_000));
/// assert_eq!(limits.effective_max_connections(), 2_000);
/// assert_eq!(limits.effective_max_connections_per_addr(), 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct ConnectionLimits {
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) body_read_timeout: Option<Duration>,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_addr: Option<usize>,
    pub(crate) retry_after: Duration,
    pub(crate) accept_backoff_max: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: None,
            max_connections_per_addr: None,
            retry_after: Duration::from_secs(1),
            accept_backoff_max: Duration::from_secs(1),
        }
    }
}

impl ConnectionLimits {
    /// Time a client has to send a complete request head, counted from the connection's
    /// start or, on HTTP/1 keep-alive, from the end of the previous response (so it also
    /// bounds how long an idle HTTP/1 connection stays open). `None` disables it.
    pub fn header_read_timeout(mut self, t: Option<Duration>) -> Self {
        self.header_read_timeout = t;
        self
    }

    /// A connection with no request in flight for this long is closed (HTTP/2: `GOAWAY`).
    /// A connection holding an open SSE stream is never idle. `None` disables it.
    pub fn idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Longest wait between two reads of a request body. `None` disables it.
    pub fn body_read_timeout(mut self, t: Option<Duration>) -> Self {
        self.body_read_timeout = t;
        self
    }

    /// Longest time for a whole request body, from the request's arrival: with the body cap
    /// this sets the slowest upload rate accepted. `None` disables it.
    pub fn body_timeout(mut self, t: Option<Duration>) -> Self {
        self.body_timeout = t;
        self
    }

    /// Largest request head (HTTP/1 read buffer, HTTP/2 header list); at least 8 KiB.
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n.max(8 * 1024);
        self
    }

    /// Connections served at once. `None` (the default) derives it from the soft limit on
    /// open files: that limit minus ⅛ of it (at least 64) kept free for listeners, outgoing
    /// calls and files.
    pub fn max_connections(mut self, n: Option<usize>) -> Self {
        self.max_connections = n.map(|n| n.max(1));
        self
    }

    /// Connections served at once for one client IP address. `None` (the default): a
    /// quarter of [`effective_max_connections`](Self::effective_max_connections). Behind a
    /// reverse proxy every connection comes from the proxy: raise it there (`usize::MAX`
    /// turns it off).
    pub fn max_connections_per_addr(mut self, n: Option<usize>) -> Self {
        self.max_connections_per_addr = n.map(|n| n.max(1));
        self
    }

    /// The `Retry-After` sent with the `503`/`429` at the connection caps (default 1 s).
    pub fn retry_after(mut self, t: Duration) -> Self {
        self.retry_after = t;
        self
    }

    /// Longest pause after failed `accept` calls; the pause starts at 5 ms and doubles on
    /// each failure in a row (default 1 s).
    pub fn accept_backoff_max(mut self, t: Duration) -> Self {
        self.accept_backoff_max = t.max(Duration::from_millis(5));
        self
    }

    /// The connection cap in force: the configured one, or the one derived from the
    /// file-descriptor limit.
    #[must_use]
    pub fn effective_max_connections(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| derive_max_connections(fd_soft_limit()))
    }

    /// The per-address connection cap in force.
    #[must_use]
    pub fn effective_max_connections_per_addr(&self) -> usize {
        self.max_connections_per_addr
            .unwrap_or_else(|| (self.effective_max_connections() / 4).max(1))
    }

    /// Applies the header timeout and header size cap to a `hyper_util` builder (and gives
    /// it the Tokio timer those timeouts need).
    pub fn configure(&self, builder: &mut auto::Builder<TokioExecutor>) {
        let header_list = u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX);
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(self.max_header_bytes);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(header_list);
    }
}

/// The soft limit on open files, when it can be read.
pub(crate) fn fd_soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft)
            .filter(|&soft| soft != rlimit::INFINITY)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap for a soft fd limit: ⅛ of it (at least 64) is kept free.
pub(crate) fn derive_max_connections(soft: Option<u64>) -> usize {
    match soft {
        Some(soft) => {
            let soft = usize::try_from(soft.min(1 << 24)).unwrap_or(1 << 24);
            soft.saturating_sub((soft / 8).max(64)).max(16)
        }
        None => FALLBACK_MAX_CONNECTIONS,
    }
}

/// The error a [`TimeoutBody`] yields when the client is too slow; the Streamable HTTP
/// service answers it with `408 Request Timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeoutError {
    total: bool,
}

impl BodyTimeoutError {
    /// Whether the whole-body deadline passed (else the wait between two reads).
    #[must_use]
    pub fn is_total(&self) -> bool {
        self.total
    }
}

impl fmt::Display for BodyTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total {
            f.write_str("the request body was not received within the body timeout")
        } else {
            f.write_str("no request body data within the body read timeout")
        }
    }
}

impl std::error::Error for BodyTimeoutError {}

pin_project! {
    /// A request body with a read timeout (between two frames) and a deadline for the whole
    /// body. Made by [`RequestBodyTimeout`].
    pub struct TimeoutBody<B> {
        #[pin]
        body: B,
        read_timeout: Option<Duration>,
        deadline_at: Option<Instant>,
        #[pin]
        gap: Option<Sleep>,
        #[pin]
        deadline: Option<Sleep>,
    }
}

impl<B> fmt::Debug for TimeoutBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutBody")
            .field("read_timeout", &self.read_timeout)
            .field("deadline_at", &self.deadline_at)
            .finish_non_exhaustive()
    }
}

impl<B> TimeoutBody<B> {
    /// Wraps `body`; the whole-body deadline counts from now.
    pub fn new(body: B, read_timeout: Option<Duration>, total: Option<Duration>) -> Self {
        TimeoutBody {
            body,
            read_timeout,
            deadline_at: total.map(|t| Instant::now() + t),
            gap: None,
            deadline: None,
        }
    }
}

impl<B> HttpBody for TimeoutBody<B>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let mut this = self.project();
        if let Some(at) = *this.deadline_at {
            if this.deadline.is_none() {
                this.deadline.set(Some(tokio::time::sleep_until(at)));
            }
            if let Some(d) = this.deadline.as_mut().as_pin_mut() {
                if d.poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(Box::new(BodyTimeoutError { total: true }))));
                }
            }
        }
        if let Some(t) = *this.read_timeout {
            if this.gap.is_none() {
                this.gap.set(Some(tokio::time::sleep(t)));
            }
            if let Some(g) = this.gap.as_mut().as_pin_mut() {
                if g.poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(Box::new(BodyTimeoutError { total: false }))));
                }
            }
        }
        let frame = ready!(this.body.poll_frame(cx));
        this.gap.set(None);
        Poll::Ready(frame.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Wraps request bodies in [`TimeoutBody`] (tower layer).
#[derive(Debug, Clone, Copy)]
pub struct RequestBodyTimeoutLayer {
    read_timeout: Option<Duration>,
    total: Option<Duration>,
}

impl RequestBodyTimeoutLayer {
    /// `read_timeout` between two reads, `total` for the whole body.
    #[must_use]
    pub fn new(read_timeout: Option<Duration>, total: Option<Duration>) -> Self {
        RequestBodyTimeoutLayer {
            read_timeout,
            total,
        }
    }

    /// The body timeouts of `limits`.
    #[must_use]
    pub fn from_limits(limits: &ConnectionLimits) -> Self {
        Self::new(limits.body_read_timeout, limits.body_timeout)
    }
}

impl<S> Layer<S> for RequestBodyTimeoutLayer {
    type Service = RequestBodyTimeout<S>;

    fn layer(&self, inner: S) -> RequestBodyTimeout<S> {
        RequestBodyTimeout {
            inner,
            layer: *self,
        }
    }
}

/// The service made by [`RequestBodyTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct RequestBodyTimeout<S> {
    inner: S,
    layer: RequestBodyTimeoutLayer,
}

impl<S, B> Service<Request<B>> for RequestBodyTimeout<S>
where
    S: Service<Request<TimeoutBody<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> S::Future {
        let (read, total) = (self.layer.read_timeout, self.layer.total);
        self.inner
            .call(req.map(|b| TimeoutBody::new(b, read, total)))
    }
}

/// Activity of one connection: requests in flight and when the last one ended.
#[derive(Debug)]
pub(crate) struct ConnTracker {
    active: AtomicUsize,
    state: Mutex<(Instant, bool)>,
    changed: tokio::sync::Notify,
}

impl ConnTracker {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ConnTracker {
            active: AtomicUsize::new(0),
            state: Mutex::new((Instant::now(), false)),
            changed: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Instant, bool)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks a request in flight until the guard (moved into the response body) is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::SeqCst);
        ActiveGuard(self.clone())
    }

    /// Resolves when the connection has had no request in flight for `idle` (or, before its
    /// first request, for `first`).
    pub(crate) async fn idle(&self, first: Option<Duration>, idle: Option<Duration>) {
        loop {
            let notified = self.changed.notified();
            if self.active.load(Ordering::SeqCst) == 0 {
                let (last, served) = *self.lock();
                let wait = if served { idle } else { first.or(idle) };
                let Some(wait) = wait else {
                    return std::future::pending().await;
                };
                let deadline = last + wait;
                if Instant::now() >= deadline && self.active.load(Ordering::SeqCst) == 0 {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = notified => {}
                }
            } else {
                notified.await;
            }
        }
    }
}

/// A request in flight on a tracked connection.
#[derive(Debug)]
pub(crate) struct ActiveGuard(Arc<ConnTracker>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        *self.0.lock() = (Instant::now(), true);
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.changed.notify_one();
        }
    }
}

pin_project! {
    /// A response body that keeps its connection marked busy until it is dropped.
    pub(crate) struct TrackedBody<B> {
        #[pin]
        inner: B,
        guard: ActiveGuard,
    }
}

impl<B: HttpBody<Data = Bytes>> HttpBody for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The future of [`Tracked`]: the guard moves into the response body.
    pub(crate) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        guard: Option<ActiveGuard>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx));
        Poll::Ready(res.map(|resp| {
            let guard = this
                .guard
                .take()
                .expect("TrackedFuture polled after completion");
            resp.map(|inner| TrackedBody { inner, guard })
        }))
    }
}

/// Wraps a service for one connection: marks requests in flight for the idle timeout.
#[derive(Clone)]
pub(crate) struct Tracked<S> {
    pub(crate) inner: S,
    pub(crate) tracker: Arc<ConnTracker>,
}

impl<S, B, R> Service<Request<R>> for Tracked<S>
where
    S: Service<Request<R>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<R>) -> Self::Future {
        let guard = self.tracker.start();
        TrackedFuture {
            inner: self.inner.call(req),
            guard: Some(guard),
        }
    }
}

/// Open connections per client IP address.
#[derive(Debug)]
pub(crate) struct AddrCounts {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl AddrCounts {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(AddrCounts {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `ip`, unless it holds `max` already.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<AddrPermit> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddrPermit(self.clone(), ip))
    }

    #[cfg(test)]
    pub(crate) fn tracked_addrs(&self) -> usize {
        self.counts.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// One connection's slot in [`AddrCounts`].
#[derive(Debug)]
pub(crate) struct AddrPermit(Arc<AddrCounts>, IpAddr);

impl Drop for AddrPermit {
    fn drop(&mut self) {
        let mut counts = self
            .0
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.1);
            }
        }
    }
}

/// The canned answer to a connection refused at a cap: status line, `Retry-After`,
/// `Connection: close` and a JSON-RPC error body (-32000).
pub(crate) fn refusal(status: u16, reason: &str, retry_after: Duration, message: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        // -32000, the code of every "server busy" answer of the transport (`SERVER_BUSY`).
        "error": {"code": -32000, "message": message},
    })
    .to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nretry-after: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        retry_after.as_secs().max(1),
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn derived_cap_keeps_headroom() {
        assert_eq!(derive_max_connections(Some(1024)), 896);
        assert_eq!(derive_max_connections(Some(256)), 192);
        assert_eq!(derive_max_connections(Some(65_536)), 57_344);
        assert_eq!(derive_max_connections(Some(20)), 16);
        assert_eq!(derive_max_connections(None), FALLBACK_MAX_CONNECTIONS);
        let limits = ConnectionLimits::default().max_connections(Some(100));
        assert_eq!(limits.effective_max_connections_per_addr(), 25);
        assert_eq!(
            limits
                .max_connections_per_addr(Some(3))
                .effective_max_connections_per_addr(),
            3
        );
    }

    #[test]
    fn per_address_slots_are_released() {
        let counts = AddrCounts::new(2);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let p1 = counts.try_acquire(a).unwrap();
        let _p2 = counts.try_acquire(a).unwrap();
        assert!(counts.try_acquire(a).is_none());
        let _q = counts.try_acquire(b).unwrap();
        drop(p1);
        let _p3 = counts.try_acquire(a).unwrap();
        drop((_p2, _p3, _q));
        assert_eq!(counts.tracked_addrs(), 0);
    }

    #[test]
    fn refusal_is_a_complete_response() {
        let r = String::from_utf8(refusal(
            503,
            "Service Unavailable",
            Duration::from_secs(2),
            "busy",
        ))
        .unwrap();
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("\r\nretry-after: 2\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
        assert_eq!(
            body,
            r#"{"error":{"code":-32000,"message":"busy"},"id":null,"jsonrpc":"2.0"}"#
        );
    }

    /// A body that yields one frame and then never another.
    struct Stalls(bool);

    impl HttpBody for Stalls {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.0 {
                Poll::Pending
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn body_read_timeout_between_frames() {
        let started = Instant::now();
        let body = TimeoutBody::new(Stalls(false), Some(Duration::from_secs(5)), None);
        let err = body.collect().await.unwrap_err();
        let err = err.downcast_ref::<BodyTimeoutError>().unwrap();
        assert!(!err.is_total());
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn body_deadline_for_the_whole_body() {
        let started = Instant::now();
        let body = TimeoutBody::new(
            Stalls(false),
            Some(Duration::from_secs(30)),
            Some(Duration::from_secs(7)),
        );
        let err = body.collect().await.unwrap_err();
        assert!(err.downcast_ref::<BodyTimeoutError>().unwrap().is_total());
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_waits_for_requests_in_flight() {
        let t = ConnTracker::new();
        let start = Instant::now();
        // No request yet: the first-request window (10 s) applies.
        t.idle(Some(Duration::from_secs(10)), Some(Duration::from_secs(60)))
            .await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        let guard = t.start();
        let t2 = t.clone();
        let waiter = tokio::spawn(async move {
            t2.idle(Some(Duration::from_secs(10)), Some(Duration::from_secs(60)))
                .await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert!(!waiter.is_finished(), "a request in flight is not idle");
        drop(guard);
        let closed_at = waiter.await.unwrap();
        assert_eq!(closed_at - start, Duration::from_secs(10 + 300 + 60));
    }
}
