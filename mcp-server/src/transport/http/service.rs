//! [`StreamableHttpService`]: the MCP endpoint as a tower service.

use bytes::Bytes;
use futures::future::join_all;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use mcp_core::jsonrpc::{Incoming, JsonRpcMessage, RequestId};
use mcp_core::{Era, ErrorCode, ErrorObject, ProtocolVersion};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::Service;

use super::config::{HttpConfig, SessionMode};
use super::edge::{
    EdgeError, LAST_EVENT_ID, MCP_SESSION_ID, accepts, empty_response, is_json_content_type,
    json_bytes_response, json_response, protocol_version_header, session_id_header, single_header,
};
use super::event_store::{StoredEvent, parse_event_id};
use super::session_store::SessionRecord;
use super::sse::{SseBody, encode_event, sse_response};
use super::streams::{
    Hub, HubCmd, HubSender, Standalone, StandaloneSink, WRITER_CAPACITY, new_stream_id, run_request,
};
use crate::body::{Body, BoxError};
use crate::identity::OAuthContext;
use crate::scope::ScopeRequirement;
use crate::server::{Exchange, MessageSink, Outcome, Server};
use crate::session::Session;

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

struct Inner {
    server: Server,
    config: HttpConfig,
    sessions: RwLock<HashMap<Arc<str>, Arc<HttpSession>>>,
    sweeper: OnceLock<()>,
    versions: Vec<ProtocolVersion>,
}

/// The HTTP side of one session: its standalone stream and the POST streams in progress.
struct HttpSession {
    id: Arc<str>,
    session: Arc<Session>,
    standalone: Arc<Standalone>,
    hubs: Mutex<HashMap<Arc<str>, HubSender>>,
    /// Requests being processed plus open SSE responses: a busy session is never idle.
    busy: Arc<AtomicUsize>,
}

/// Decrements a busy counter (and marks the session active) when dropped.
struct BusyGuard {
    busy: Arc<AtomicUsize>,
    session: Arc<Session>,
}

impl BusyGuard {
    fn new(hs: &HttpSession) -> Self {
        hs.busy.fetch_add(1, Ordering::AcqRel);
        hs.session.touch();
        BusyGuard {
            busy: hs.busy.clone(),
            session: hs.session.clone(),
        }
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.session.touch();
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Control over the SSE stream that carries the current request's messages.
///
/// The transport puts one into the extensions of the HTTP request parts each handler sees
/// (`ctx.http_parts()`). A long-running handler can end the HTTP response early with
/// [`close_stream`](Self::close_stream) (SEP-1699 "polling"): the client reconnects with
/// `GET` and `Last-Event-ID` and receives the rest, including the result.
///
/// ```no_run
/// # async fn handler(ctx: mcp_server::RequestContext) {
/// use mcp_server::transport::http::StreamControl;
/// if let Some(control) = ctx.http_parts().and_then(|p| p.extensions.get::<StreamControl>()) {
///     control.close_stream();
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct StreamControl {
    tx: Option<mpsc::UnboundedSender<HubCmd>>,
}

impl fmt::Debug for StreamControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamControl")
            .field("resumable", &self.is_resumable())
            .finish()
    }
}

impl StreamControl {
    /// Whether the stream can be closed and resumed (a stateful session with an event store,
    /// and SSE responses enabled).
    #[must_use]
    pub fn is_resumable(&self) -> bool {
        self.tx.is_some()
    }

    /// Ends the HTTP response carrying this request's stream now (after its priming event);
    /// later messages and the result are kept for the client's reconnection. Returns `false`
    /// (and does nothing) when the stream is not resumable, since the result would be lost.
    pub fn close_stream(&self) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send(HubCmd::Close).is_ok())
    }
}

/// One answer of the core to one incoming request.
enum Reply {
    Message(JsonRpcMessage),
    Forbidden {
        id: RequestId,
        required: ScopeRequirement,
    },
}

impl Reply {
    /// The reply as a message, for bodies that cannot carry an HTTP status (SSE, batches).
    fn into_message(self) -> JsonRpcMessage {
        match self {
            Reply::Message(m) => m,
            Reply::Forbidden { id, required } => JsonRpcMessage::error(
                Some(id),
                ErrorObject::invalid_params(format!(
                    "insufficient scope: requires {}",
                    required.to_space_separated()
                )),
            ),
        }
    }
}

impl StreamableHttpService {
    /// The endpoint for `server` with `config`.
    pub fn new(server: Server, config: HttpConfig) -> Self {
        let versions = ProtocolVersion::of_era(Era::Handshake).collect();
        StreamableHttpService {
            inner: Arc::new(Inner {
                server,
                config,
                sessions: RwLock::new(HashMap::new()),
                sweeper: OnceLock::new(),
                versions,
            }),
        }
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
    /// shutdown so open SSE responses finish.
    pub async fn close_all_sessions(&self) {
        let ids: Vec<Arc<str>> = read(&self.inner.sessions).keys().cloned().collect();
        for id in ids {
            self.inner.close_session(&id).await;
        }
    }

    /// Serves the endpoint on `addr` (with [`CorsLayer::from_config`](super::CorsLayer::from_config))
    /// until Ctrl-C.
    ///
    /// # Errors
    /// Binding the address failed.
    pub async fn serve(self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<()> {
        let cors = super::CorsLayer::from_config(&self.inner.config);
        let svc = tower::Layer::layer(&cors, self.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let this = self;
        super::serve::serve_listener(
            listener,
            svc,
            async move {
                super::serve::shutdown_signal().await;
                this.close_all_sessions().await;
            },
            super::serve::DEFAULT_GRACE_PERIOD,
        )
        .await
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
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
        Box::pin(async move { Ok(inner.handle(req).await) })
    }
}

/// The instant an access token expires, for closing long-lived streams.
fn token_deadline(parts: &Parts) -> Option<tokio::time::Instant> {
    let exp = parts.extensions.get::<OAuthContext>()?.expires_at?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(tokio::time::Instant::now() + Duration::from_secs(exp.saturating_sub(now)))
}

fn principal_of(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<OAuthContext>()
        .map(OAuthContext::principal_key)
}

/// Reads the body, refusing more than `cap` bytes with 413.
async fn read_body<B>(parts: &Parts, body: B, cap: usize) -> Result<Bytes, EdgeError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        EdgeError::rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload Too Large: the body exceeds {cap} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(e) if e.downcast_ref::<super::BodyTimeoutError>().is_some() => Err(
            EdgeError::rejection(StatusCode::REQUEST_TIMEOUT, format!("Request Timeout: {e}")),
        ),
        Err(_) => Err(EdgeError::bad_request(
            "Bad Request: failed to read the request body",
        )),
    }
}

/// The `WWW-Authenticate` 403 answer for a scope denial.
pub(crate) fn forbidden_response(parts: &Parts, required: &ScopeRequirement) -> Response<Body> {
    #[cfg(feature = "auth")]
    if let Some(info) = parts
        .extensions
        .get::<crate::auth::challenge::ChallengeInfo>()
    {
        return info.insufficient_scope(&required.scopes);
    }
    let _ = parts;
    let mut challenge = String::from("Bearer error=\"insufficient_scope\"");
    if !required.scopes.is_empty() {
        challenge.push_str(", scope=\"");
        for c in required.to_space_separated().chars() {
            match c {
                '"' | '\\' => {
                    challenge.push('\\');
                    challenge.push(c);
                }
                ' '..='~' => challenge.push(c),
                _ => challenge.push('?'),
            }
        }
        challenge.push('"');
    }
    let body = serde_json::json!({
        "error": "insufficient_scope",
        "error_description": "The access token lacks a required scope",
    });
    let mut res = json_bytes_response(
        StatusCode::FORBIDDEN,
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    res
}

/// How the first phase of a POST ended.
enum First {
    Done(Vec<Reply>),
    Stream(HubCmd),
}

impl Inner {
    fn session_count(&self) -> usize {
        read(&self.sessions).len()
    }

    async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        if let Some(path) = &self.config.path {
            if parts.uri.path() != &**path {
                return EdgeError::rejection(StatusCode::NOT_FOUND, "Not Found").into_response();
            }
        }
        if let Err(rejection) = self.config.guard.check(&parts) {
            return EdgeError::rejection(StatusCode::FORBIDDEN, rejection.message())
                .into_response();
        }
        let stateful = self.config.mode == SessionMode::Stateful;
        let result = match parts.method {
            Method::POST => self.post(parts, body).await,
            Method::GET if stateful => self.get(parts).await,
            Method::DELETE if stateful => self.delete(parts).await,
            _ if stateful => Err(EdgeError::method_not_allowed("GET, POST, DELETE")),
            _ => Err(EdgeError::method_not_allowed("POST")),
        };
        result.unwrap_or_else(EdgeError::into_response)
    }

    /// The live session `id`, if the caller may use it (same principal as its creator).
    async fn lookup(&self, id: &str, parts: &Parts) -> Result<Arc<HttpSession>, EdgeError> {
        let found = read(&self.sessions).get(id).cloned();
        let hs = match found {
            Some(hs) if !hs.session.is_closed() => hs,
            _ => return Err(EdgeError::session_not_found()),
        };
        if hs.session.principal() != principal_of(parts).as_deref() {
            // Someone else's session: indistinguishable from an unknown one.
            return Err(EdgeError::session_not_found());
        }
        if let Some(store) = &self.config.session_store {
            match store.touch(id, self.config.session_idle_timeout).await {
                Ok(true) => {}
                Ok(false) => {
                    self.close_session(id).await;
                    return Err(EdgeError::session_not_found());
                }
                Err(e) => {
                    tracing::warn!(target: "mcp_server::http", error = %e, "session store touch failed");
                }
            }
        }
        Ok(hs)
    }

    /// A new session; its standalone stream starts with the first GET.
    fn new_session(self: &Arc<Self>) -> Arc<HttpSession> {
        let session = self.server.create_detached_session();
        let id: Arc<str> = Arc::from(session.id());
        let standalone = Arc::new(Standalone::new(
            id.clone(),
            self.config.event_store.clone(),
            self.config.sse_retry_ms,
        ));
        session.set_outbound(Some(Arc::new(StandaloneSink(standalone.clone()))));
        Arc::new(HttpSession {
            id,
            session,
            standalone,
            hubs: Mutex::new(HashMap::new()),
            busy: Arc::new(AtomicUsize::new(0)),
        })
    }

    async fn close_session(&self, id: &str) {
        let removed = write(&self.sessions).remove(id);
        if let Some(hs) = removed {
            hs.session.close();
            lock(&hs.hubs).clear();
        }
        self.server.remove_session(id);
        if let Some(store) = &self.config.event_store {
            let _ = store.remove_session(id).await;
        }
        if let Some(store) = &self.config.session_store {
            let _ = store.remove(id).await;
        }
    }

    fn ensure_sweeper(self: &Arc<Self>) {
        self.sweeper.get_or_init(|| {
            let weak = Arc::downgrade(self);
            let timeout = self.config.session_idle_timeout;
            let period = (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(period).await;
                    let Some(inner) = weak.upgrade() else { break };
                    let idle: Vec<Arc<str>> = read(&inner.sessions)
                        .values()
                        .filter(|hs| {
                            hs.busy.load(Ordering::Acquire) == 0 && hs.session.idle_for() > timeout
                        })
                        .map(|hs| hs.id.clone())
                        .collect();
                    for id in idle {
                        tracing::debug!(target: "mcp_server::http", session = %id, "session expired");
                        inner.close_session(&id).await;
                    }
                }
            });
        });
    }

    fn exchange(
        &self,
        session: Option<&Arc<Session>>,
        related: Option<Arc<dyn MessageSink>>,
        parts: &Arc<Parts>,
        cancel: CancellationToken,
    ) -> Exchange {
        Exchange {
            session: session.cloned(),
            related,
            http: Some(parts.clone()),
            cancel,
            ..Exchange::default()
        }
    }

    async fn post<B>(
        self: Arc<Self>,
        mut parts: Parts,
        body: B,
    ) -> Result<Response<Body>, EdgeError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if !is_json_content_type(&parts) {
            return Err(EdgeError::rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type: Content-Type must be application/json",
            ));
        }
        let bytes = read_body(&parts, body, self.config.max_body_bytes).await?;
        let incoming = mcp_core::jsonrpc::parse(&bytes)
            .map_err(|e| EdgeError::new(StatusCode::BAD_REQUEST, e.error).with_id(e.id))?;
        drop(bytes);

        // Which era: 2026-07-28 messages take the stateless leg (its own Accept check).
        match crate::protocol::classify::classify(
            &parts.headers,
            &incoming,
            self.server.protocol_options(),
        ) {
            Err(r) => return Err(EdgeError::new(r.status, r.error).with_id(r.id)),
            Ok(crate::protocol::Route::Stateless) => {
                if let Incoming::Single(msg) = incoming {
                    return Ok(
                        super::stateless::handle(&self.server, &self.config, parts, msg).await,
                    );
                }
                return Err(EdgeError::bad_request(
                    "Invalid Request: JSON-RPC batches are not allowed in protocol version 2026-07-28",
                ));
            }
            Ok(_) => {}
        }

        // Errors from here on name the request they refuse.
        let req_id = match &incoming {
            Incoming::Single(JsonRpcMessage::Request(r)) => Some(r.id.clone()),
            _ => None,
        };
        let handshake = async move {
            let acc = accepts(&parts);
            if !acc.json || !(acc.sse || self.config.json_response) {
                return Err(EdgeError::rejection(
                    StatusCode::NOT_ACCEPTABLE,
                    "Not Acceptable: the client must accept both application/json and text/event-stream",
                ));
            }
            let session_header = session_id_header(&parts)?.map(str::to_owned);

            let (messages, mut invalid, is_batch) = match incoming {
                Incoming::Single(m) => (vec![m], Vec::new(), false),
                Incoming::Batch(items) => {
                    if items.len() > self.config.max_batch {
                        return Err(EdgeError::bad_request(format!(
                            "Bad Request: batch of {} messages exceeds the limit of {}",
                            items.len(),
                            self.config.max_batch
                        )));
                    }
                    let mut ok = Vec::with_capacity(items.len());
                    let mut bad = Vec::new();
                    for item in items {
                        match item {
                            Ok(m) => ok.push(m),
                            Err(e) => bad.push(JsonRpcMessage::Error(e)),
                        }
                    }
                    (ok, bad, true)
                }
            };
            let is_initialize = messages
                .iter()
                .any(|m| matches!(m, JsonRpcMessage::Request(r) if r.method == "initialize"));
            if is_initialize && is_batch {
                return Err(EdgeError::bad_request(
                    "Invalid Request: initialize must not be part of a JSON-RPC batch",
                ));
            }
            if !is_initialize {
                let version = protocol_version_header(&parts, &self.versions)?;
                if is_batch && version >= ProtocolVersion::V2025_06_18 {
                    return Err(EdgeError::bad_request(format!(
                        "Invalid Request: JSON-RPC batches are not supported in protocol version {version}"
                    )));
                }
            }

            // The session.
            let stateful = self.config.mode == SessionMode::Stateful;
            let mut created = false;
            let mut registered = false;
            let hs = if !stateful {
                None
            } else if is_initialize {
                if self.session_count() >= self.config.max_sessions {
                    return Err(EdgeError::busy(self.config.busy_retry_after));
                }
                created = true;
                let hs = self.new_session();
                if let Some(p) = principal_of(&parts) {
                    hs.session.bind_principal(p);
                }
                Some(hs)
            } else {
                let Some(id) = session_header.as_deref() else {
                    return Err(EdgeError::missing_session_id());
                };
                Some(self.lookup(id, &parts).await?)
            };
            let _busy = hs.as_deref().map(BusyGuard::new);
            let session = hs.as_ref().map(|h| h.session.clone());

            let has_request = messages.iter().any(JsonRpcMessage::is_request);
            if !has_request {
                // Notifications and responses (answers to server→client requests): no reply.
                let parts = Arc::new(parts);
                for m in messages {
                    let ex =
                        self.exchange(session.as_ref(), None, &parts, CancellationToken::new());
                    let _ = self.server.handle(m, ex).await;
                }
                if invalid.is_empty() {
                    return Ok(empty_response(StatusCode::ACCEPTED));
                }
                return Ok(batch_response(StatusCode::BAD_REQUEST, invalid));
            }

            // Requests. Related messages go to the request's own stream (unless JSON responses
            // are preferred: then to the session's standalone stream).
            let resumable = session.is_some() && self.config.event_store.is_some();
            let (tx, rx) = mpsc::unbounded_channel::<HubCmd>();
            let related: Option<Arc<dyn MessageSink>> = if self.config.json_response {
                hs.as_ref()
                    .map(|h| Arc::new(StandaloneSink(h.standalone.clone())) as Arc<dyn MessageSink>)
            } else {
                Some(Arc::new(HubSender(tx.clone())))
            };
            let control = StreamControl {
                tx: (resumable && !self.config.json_response && !is_initialize).then(|| tx.clone()),
            };
            drop(tx);
            parts.extensions.insert(control);
            let parts = Arc::new(parts);
            let cancel = session
                .as_ref()
                .map(|s| s.closed_token().child_token())
                .unwrap_or_default();

            let work = {
                let this = self.clone();
                let parts = parts.clone();
                let cancel = cancel.clone();
                let session = session.clone();
                async move {
                    let timeout = this.config.request_timeout;
                    let run = |m: JsonRpcMessage| {
                        let ex = this.exchange(
                            session.as_ref(),
                            related.clone(),
                            &parts,
                            cancel.clone(),
                        );
                        let id = m.id().cloned();
                        let this = &this;
                        let cancel = cancel.clone();
                        async move {
                            let outcome = match timeout {
                                None => this.server.handle(m, ex).await,
                                Some(d) => {
                                    match tokio::time::timeout(d, this.server.handle(m, ex)).await {
                                        Ok(o) => o,
                                        Err(_) => {
                                            cancel.cancel();
                                            Outcome::Reply(JsonRpcMessage::error(
                                                id,
                                                ErrorObject::new(
                                                    ErrorCode::INTERNAL_ERROR,
                                                    "Request timed out",
                                                ),
                                            ))
                                        }
                                    }
                                }
                            };
                            match outcome {
                                Outcome::Reply(m) => Some(Reply::Message(m)),
                                Outcome::NoReply => None,
                                Outcome::Forbidden { id, required } => {
                                    Some(Reply::Forbidden { id, required })
                                }
                            }
                        }
                    };
                    let mut replies: Vec<Reply> = if messages.len() == 1 {
                        let m = messages.into_iter().next();
                        match m {
                            Some(m) => run(m).await.into_iter().collect(),
                            None => Vec::new(),
                        }
                    } else {
                        join_all(messages.into_iter().map(run))
                            .await
                            .into_iter()
                            .flatten()
                            .collect()
                    };
                    replies.extend(invalid.drain(..).map(Reply::Message));
                    replies
                }
            };
            let mut work = Box::pin(work);
            // A client that goes away while we wait for a JSON answer cancels the request.
            let cancel_on_drop = cancel.clone().drop_guard();

            let mut rx = rx;
            let first = if is_initialize {
                First::Done(work.as_mut().await)
            } else {
                tokio::select! {
                    biased;
                    replies = work.as_mut() => First::Done(replies),
                    Some(cmd) = rx.recv() => First::Stream(cmd),
                }
            };
            let first = match first {
                First::Done(replies) if is_initialize => replies,
                First::Done(replies) => match rx.try_recv() {
                    // Finished, but emitted messages on the way: they go first, on a stream.
                    Ok(cmd) => {
                        let done = async move { replies };
                        cancel_on_drop.disarm();
                        return Ok(self.stream_response(
                            hs,
                            parts,
                            rx,
                            cmd,
                            Box::pin(done),
                            cancel,
                        ));
                    }
                    Err(_) => replies,
                },
                First::Stream(cmd) => {
                    cancel_on_drop.disarm();
                    return Ok(self.stream_response(hs, parts, rx, cmd, work, cancel));
                }
            };
            cancel_on_drop.disarm();

            // A JSON answer.
            let mut res = if is_batch {
                batch_response(
                    StatusCode::OK,
                    first.into_iter().map(Reply::into_message).collect(),
                )
            } else {
                match first.into_iter().next() {
                    Some(Reply::Message(m)) => {
                        if created {
                            registered = self.finish_initialize(hs.as_ref(), &m).await?;
                        }
                        json_response(StatusCode::OK, &m)
                    }
                    Some(Reply::Forbidden { required, .. }) => {
                        forbidden_response(&parts, &required)
                    }
                    None => empty_response(StatusCode::ACCEPTED),
                }
            };
            if let Some(hs) = hs.as_ref().filter(|_| created) {
                if registered {
                    if let Ok(v) = HeaderValue::from_str(&hs.id) {
                        res.headers_mut().insert(MCP_SESSION_ID, v);
                    }
                } else {
                    // No successful `initialize` answer: the session never existed.
                    hs.session.close();
                    self.server.remove_session(&hs.id);
                }
            }
            Ok(res)
        };
        handshake.await.map_err(|e| match e.id {
            Some(_) => e,
            None => e.with_id(req_id),
        })
    }

    /// Registers a session after its `initialize` answer. `Ok(false)` when that answer is an
    /// error (the caller discards the session).
    async fn finish_initialize(
        self: &Arc<Self>,
        hs: Option<&Arc<HttpSession>>,
        reply: &JsonRpcMessage,
    ) -> Result<bool, EdgeError> {
        let Some(hs) = hs else { return Ok(false) };
        if !matches!(reply, JsonRpcMessage::Response(_)) || !hs.session.is_initialized() {
            return Ok(false);
        }
        if let Some(store) = &self.config.session_store {
            let mut record = SessionRecord::new(
                hs.id.to_string(),
                hs.session
                    .protocol_version()
                    .unwrap_or(ProtocolVersion::LATEST_HANDSHAKE),
            );
            record.client_info = hs.session.client_info().cloned();
            record.client_capabilities = hs.session.client_capabilities().cloned();
            record.principal = hs.session.principal().map(str::to_owned);
            if let Err(e) = store.insert(record, self.config.session_idle_timeout).await {
                tracing::warn!(target: "mcp_server::http", error = %e, "session store insert failed");
                hs.session.close();
                self.server.remove_session(&hs.id);
                return Err(EdgeError::busy(self.config.busy_retry_after));
            }
        }
        write(&self.sessions).insert(hs.id.clone(), hs.clone());
        self.ensure_sweeper();
        Ok(true)
    }

    /// Answers a POST with an SSE stream fed by a hub task.
    fn stream_response(
        self: &Arc<Self>,
        hs: Option<Arc<HttpSession>>,
        parts: Arc<Parts>,
        rx: mpsc::UnboundedReceiver<HubCmd>,
        first: HubCmd,
        work: Pin<Box<dyn Future<Output = Vec<Reply>> + Send>>,
        cancel: CancellationToken,
    ) -> Response<Body> {
        let stream_id = new_stream_id();
        let mut hub = Hub::new(
            stream_id.clone(),
            hs.as_ref().map(|h| h.id.clone()),
            self.config.event_store.clone(),
            self.config.sse_retry_ms,
        );
        let (wtx, wrx) = mpsc::channel(WRITER_CAPACITY);
        let prefix: VecDeque<Bytes> = hub.priming().into_iter().collect();
        hub.set_writer(Some(wtx));
        // Register the stream so a GET with `Last-Event-ID` can re-attach to it.
        let on_done = {
            let hs = hs.clone();
            let stream_id = stream_id.clone();
            move || {
                if let Some(hs) = hs {
                    lock(&hs.hubs).remove(&stream_id);
                }
            }
        };
        if let Some(h) = &hs {
            if hub.is_resumable() {
                // The work's sinks hold senders too; this one lets GET reach the hub.
                // It is removed in `on_done`.
                lock(&h.hubs).insert(stream_id.clone(), HubSender(related_sender(&parts)));
            }
        }
        let busy = hs.as_deref().map(BusyGuard::new);
        let work = async move {
            let replies = work.await;
            replies
                .into_iter()
                .map(Reply::into_message)
                .collect::<Vec<_>>()
        };
        tokio::spawn(async move {
            run_request(hub, rx, vec![first], work, cancel, on_done).await;
            drop(busy);
        });
        let mut body = SseBody::new(
            prefix,
            Some(wrx),
            self.config.keep_alive,
            token_deadline(&parts),
        );
        if let Some(h) = &hs {
            body = body.with_guard(BusyGuard::new(h));
        }
        sse_response(body)
    }

    async fn get(self: Arc<Self>, parts: Parts) -> Result<Response<Body>, EdgeError> {
        if !accepts(&parts).sse {
            return Err(EdgeError::rejection(
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable: the client must accept text/event-stream",
            ));
        }
        protocol_version_header(&parts, &self.versions)?;
        let Some(id) = session_id_header(&parts)? else {
            return Err(EdgeError::missing_session_id());
        };
        let hs = self.lookup(id, &parts).await?;
        let last = single_header(&parts, &LAST_EVENT_ID)?.and_then(parse_event_id);
        let (wtx, wrx) = mpsc::channel(WRITER_CAPACITY);
        let mut prefix = VecDeque::new();
        let mut live = Some(wrx);
        let mut pending = Some(wtx);
        if let Some((stream, seq)) = last {
            let hub = if *stream == *hs.standalone.id {
                Some(hs.standalone.hub().clone())
            } else {
                lock(&hs.hubs).get(stream).cloned()
            };
            if let Some(hub) = hub {
                if let Some(w) = pending.take() {
                    if let Err(mpsc::error::SendError(HubCmd::Attach { writer, .. })) =
                        hub.0.send(HubCmd::Attach {
                            writer: w,
                            after: Some(seq),
                        })
                    {
                        pending = Some(writer);
                    }
                }
            }
            if pending.is_some() {
                // The stream has ended: replay what the store kept, then end.
                if let Some(store) = &self.config.event_store {
                    if let Ok(Some(events)) = store.events_after(&hs.id, stream, seq).await {
                        prefix = events
                            .iter()
                            .map(|e: &StoredEvent| encode_event(Some(&e.event_id()), &e.data))
                            .collect();
                        live = None;
                        pending = None;
                    }
                }
            }
        }
        if let Some(w) = pending.take() {
            if hs
                .standalone
                .hub()
                .0
                .send(HubCmd::Attach {
                    writer: w,
                    after: None,
                })
                .is_err()
            {
                return Err(EdgeError::session_not_found());
            }
        }
        let body = SseBody::new(prefix, live, self.config.keep_alive, token_deadline(&parts))
            .with_guard(BusyGuard::new(&hs));
        Ok(sse_response(body))
    }

    async fn delete(self: Arc<Self>, parts: Parts) -> Result<Response<Body>, EdgeError> {
        protocol_version_header(&parts, &self.versions)?;
        let Some(id) = session_id_header(&parts)? else {
            return Err(EdgeError::missing_session_id());
        };
        let hs = self.lookup(id, &parts).await?;
        self.close_session(&hs.id).await;
        Ok(empty_response(StatusCode::NO_CONTENT))
    }
}

/// The hub sender stored in the request's [`StreamControl`] (present when resumable).
fn related_sender(parts: &Parts) -> mpsc::UnboundedSender<HubCmd> {
    match parts
        .extensions
        .get::<StreamControl>()
        .and_then(|c| c.tx.clone())
    {
        Some(tx) => tx,
        // Not resumable: nothing can attach; a closed channel makes attaches fail fast.
        None => mpsc::unbounded_channel().0,
    }
}

/// A JSON array of messages.
fn batch_response(status: StatusCode, messages: Vec<JsonRpcMessage>) -> Response<Body> {
    json_bytes_response(
        status,
        Bytes::from(serde_json::to_vec(&messages).unwrap_or_default()),
    )
}
