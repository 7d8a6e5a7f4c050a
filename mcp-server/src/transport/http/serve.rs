//! The hyper accept loop: HTTP/1.1 and HTTP/2 on one port, `TCP_NODELAY` on every socket,
//! graceful shutdown that also ends open streaming responses (SSE).
//!
//! Nagle's algorithm holds back small writes until the previous segment is acknowledged; a
//! client using delayed ACKs then waits up to 40 ms for each SSE event. Every accepted socket
//! therefore gets `TCP_NODELAY`.

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower::{Service, ServiceExt as _};

use crate::body::BoxError;

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

/// Binds `addr` and serves `service` until Ctrl-C (SIGINT) or, on Unix, SIGTERM; then shuts
/// down gracefully (see [`serve_listener`]): open SSE streams end at once, other responses get
/// up to [`DEFAULT_GRACE_PERIOD`] to finish.
///
/// `service` is any tower service over hyper requests: a
/// [`StreamableHttpService`](super::StreamableHttpService), or one wrapped in layers (CORS,
/// authorization), or an axum `Router`.
///
/// # Errors
/// Binding the address failed.
///
/// # Example
/// ```no_run
/// use mcp_server::transport::http::{serve, CorsLayer, HttpConfig, StreamableHttpService};
/// use tower::Layer;
/// # async fn run(server: mcp_server::Server) -> std::io::Result<()> {
/// let mcp = StreamableHttpService::new(server, HttpConfig::default());
/// serve("127.0.0.1:8000", CorsLayer::new().layer(mcp)).await
/// # }
/// ```
pub async fn serve<S, B>(addr: impl ToSocketAddrs, service: S) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind(addr).await?;
    serve_listener(listener, service, shutdown_signal(), DEFAULT_GRACE_PERIOD).await
}

/// Resolves on Ctrl-C (SIGINT) and, on Unix, SIGTERM.
///
/// Pass it to axum's `with_graceful_shutdown` through
/// [`StreamableHttpService::close_sessions_on`](super::StreamableHttpService::close_sessions_on),
/// so that open SSE streams end too.
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

/// Serves `service` on an already bound `listener` until `shutdown` resolves; then stops
/// accepting, ends every open streaming response (a body without a known length, such as an
/// SSE stream) at its next frame boundary, asks open connections to finish, and waits for them
/// at most `grace`. Responses with a known length are not cut.
///
/// # Errors
/// Never at the moment; accept errors are logged and retried (running out of file
/// descriptors must not end the server).
pub async fn serve_listener<S, B, F>(
    listener: TcpListener,
    service: S,
    shutdown: F,
    grace: Duration,
) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let stop = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(target: "mcp_server::http", error = %e, "accept failed");
                    // EMFILE and friends: back off a little instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(target: "mcp_server::http", error = %e, "set_nodelay failed");
        }
        let ending = stop.clone();
        let svc = service
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(RemoteAddr(peer));
                req
            })
            .map_response(move |res: Response<B>| res.map(|body| StopBody::new(body, &ending)));
        let conn = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "mcp_server::http", %peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    stop.cancel();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::debug!(target: "mcp_server::http", "grace period over; dropping open connections");
        }
    }
    Ok(())
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
