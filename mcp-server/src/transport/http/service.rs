//! [`StreamableHttpService`]: the MCP endpoint as a tower service, and the routing of each
//! request to its method (path and Host/Origin checks first).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::Service;

use super::config::{HttpConfig, SessionMode};
use super::edge::EdgeError;
use super::sessions::Inner;
use crate::body::{Body, BoxError};
use crate::server::Server;

/// The Streamable HTTP endpoint of a [`Server`], as a tower [`Service`].
///
/// It answers `POST` (JSON-RPC messages in, JSON or SSE out), `GET` (the session's standalone
/// SSE stream, with `Last-Event-ID` resumption) and `DELETE` (end the session) on one path
/// (default `/mcp`). Mount it in axum with `Router::nest_service` (use
/// [`HttpConfig::any_path`]) or `Router::route_service`, or run it with
/// [`serve`](super::serve). Cloning is cheap; clones share sessions.
///
/// Requests must carry a `Host` header (or an absolute URI) naming an allowed host; see
/// [`HttpConfig::allowed_hosts`].
///
/// # Example
/// ```
/// use http::Request;
/// use http_body_util::BodyExt;
/// use mcp_rs_server::Server;
/// use mcp_rs_server::body::Body;
/// use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
/// use tower::ServiceExt;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = Server::builder().name("demo").version("1.0.0").build();
/// let service = StreamableHttpService::new(server, HttpConfig::default());
///
/// let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
///     "protocolVersion":"2025-11-25","capabilities":{},
///     "clientInfo":{"name":"doc","version":"0"}}}"#;
/// let req = Request::post("/mcp")
///     .header("host", "localhost")
///     .header("content-type", "application/json")
///     .header("accept", "application/json, text/event-stream")
///     .body(Body::from(initialize))?;
/// let res = service.clone().oneshot(req).await?;
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.headers()["content-type"], "application/json");
/// assert!(res.headers().contains_key("mcp-session-id"));
/// let body = res.into_body().collect().await?.to_bytes();
/// let reply: serde_json::Value = serde_json::from_slice(&body)?;
/// assert_eq!(reply["result"]["serverInfo"]["name"], "demo");
/// assert_eq!(service.session_count(), 1);
///
/// // A foreign Host is refused (DNS-rebinding protection).
/// let req = Request::post("/mcp").header("host", "evil.example").body(Body::empty())?;
/// assert_eq!(service.oneshot(req).await?.status(), 403);
/// # Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct StreamableHttpService {
    inner: Arc<Inner>,
}

impl fmt::Debug for StreamableHttpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamableHttpService")
            .field("config", &self.inner.config)
            .field("sessions", &self.inner.session_count())
            .finish_non_exhaustive()
    }
}

impl StreamableHttpService {
    /// The endpoint for `server` with `config`.
    pub fn new(server: Server, config: HttpConfig) -> Self {
        let inner = Arc::new(Inner::new(server, config));
        inner.ensure_cluster();
        StreamableHttpService { inner }
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// The server behind the endpoint.
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.inner.server
    }

    /// Number of live sessions.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.inner.session_count()
    }

    /// Ends every session (their streams close, in-flight requests are cancelled). Call it on
    /// shutdown so open SSE responses finish; [`close_sessions_on`](Self::close_sessions_on)
    /// does it when a shutdown signal resolves. With a
    /// [`cluster_bus`](super::HttpConfig::cluster_bus) only this instance's copies end: the
    /// other instances go on serving the sessions (a rolling restart keeps them).
    pub async fn close_all_sessions(&self) {
        for id in self.inner.session_ids() {
            self.inner.release_session(&id).await;
        }
    }

    /// A shutdown future for a server that runs this service under its own accept loop, such
    /// as axum's `with_graceful_shutdown`: it waits for `signal`, then ends every session
    /// ([`close_all_sessions`](Self::close_all_sessions)), so open SSE streams finish and the
    /// graceful shutdown does not wait for them. The future holds a clone of the service;
    /// sessions are shared with every other clone.
    ///
    /// ([`serve`](super::serve), [`serve_listener`](super::serve_listener) and
    /// [`StreamableHttpService::serve`] end open streams themselves.)
    ///
    /// # Example
    /// ```no_run
    /// use mcp_rs_server::Server;
    /// use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService, shutdown_signal};
    /// # async fn run() -> std::io::Result<()> {
    /// let mcp = StreamableHttpService::new(
    ///     Server::builder().name("demo").build(),
    ///     HttpConfig::default().any_path(),
    /// );
    /// let app = axum::Router::new().nest_service("/mcp", mcp.clone());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(mcp.close_sessions_on(shutdown_signal()))
    ///     .await
    /// # }
    /// ```
    pub fn close_sessions_on<F>(&self, signal: F) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let this = self.clone();
        async move {
            signal.await;
            this.close_all_sessions().await;
        }
    }

    /// Serves the endpoint on `addr` (with [`CorsLayer::from_config`](super::CorsLayer::from_config))
    /// until Ctrl-C (SIGINT) or, on Unix, SIGTERM; then ends every session and shuts down
    /// gracefully.
    ///
    /// # Errors
    /// Binding the address failed.
    pub async fn serve(self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<()> {
        let cors = super::CorsLayer::from_config(&self.inner.config);
        let svc = tower::Layer::layer(&cors, self.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let shutdown = self.close_sessions_on(super::serve::shutdown_signal());
        super::serve::serve_listener(listener, svc, shutdown, super::serve::DEFAULT_GRACE_PERIOD)
            .await
    }
}

impl<B> Service<Request<B>> for StreamableHttpService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { Ok(handle(inner, req).await) })
    }
}

/// The path and Host/Origin checks, then the method's handler; every rejection is a
/// JSON-RPC error body.
async fn handle<B>(inner: Arc<Inner>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    if let Some(path) = &inner.config.path {
        if parts.uri.path() != &**path {
            return EdgeError::rejection(StatusCode::NOT_FOUND, "Not Found").into_response();
        }
    }
    if let Err(rejection) = inner.config.guard.check(&parts) {
        return EdgeError::rejection(StatusCode::FORBIDDEN, rejection.message()).into_response();
    }
    let stateful = inner.config.mode == SessionMode::Stateful;
    let result = match parts.method {
        Method::POST => inner.post(parts, body).await,
        Method::GET if stateful => inner.get(parts).await,
        Method::DELETE if stateful => inner.delete(parts).await,
        _ if stateful => Err(EdgeError::method_not_allowed("GET, POST, DELETE")),
        _ => Err(EdgeError::method_not_allowed("POST")),
    };
    result.unwrap_or_else(EdgeError::into_response)
}
