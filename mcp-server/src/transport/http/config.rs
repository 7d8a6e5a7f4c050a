//! Configuration of the Streamable HTTP transport.

use std::sync::Arc;
use std::time::Duration;

use super::bus::ClusterBus;
use super::event_store::{EventStore, InMemoryEventStore};
use super::guard::{HostAllowList, HostGuardLayer};
use super::session_store::SessionStore;

/// Default request body cap: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default cap on the number of messages in one JSON-RPC batch.
pub const DEFAULT_MAX_BATCH: usize = 64;
/// Default idle time after which a session is dropped.
pub const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default maximum number of live sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;
/// Default [`HttpConfig::max_sessions_per_principal`]: 100 sessions per authenticated principal.
pub const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL: usize = 100;
/// Default [`HttpConfig::max_sessions_per_addr`]: 1,000 sessions per client address.
pub const DEFAULT_MAX_SESSIONS_PER_ADDR: usize = 1_000;
/// Default [`HttpConfig::unused_session_timeout`]: 60 s.
pub const DEFAULT_UNUSED_SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Default interval of SSE keep-alive comments.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Default `retry:` hint (milliseconds) sent in the priming event of each SSE stream.
pub const DEFAULT_SSE_RETRY_MS: u64 = 1_000;
/// Default [`HttpConfig::handler_timeout`]: 5 minutes.
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether the endpoint keeps sessions (`Mcp-Session-Id`) for handshake-era clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionMode {
    /// `initialize` creates a session; later requests must carry its `Mcp-Session-Id`.
    /// Server→client requests, the standalone `GET` stream and resumption work.
    #[default]
    Stateful,
    /// No session ids: every POST is served on its own, `GET` and `DELETE` answer 405.
    /// Server→client requests only work on the stream of the request they belong to.
    Stateless,
}

/// Configuration of a [`StreamableHttpService`](super::StreamableHttpService).
///
/// Every setter consumes and returns the config:
///
/// ```
/// use mcp_rs_server::transport::http::HttpConfig;
/// use std::time::Duration;
/// let config = HttpConfig::default()
///     .path("/mcp")
///     .max_body_bytes(1 << 20)
///     .session_idle_timeout(Duration::from_secs(600))
///     .allowed_hosts(["mcp.example.com"]);
/// assert_eq!(config.max_body_bytes_value(), 1 << 20);
/// ```
#[derive(Clone)]
#[must_use]
pub struct HttpConfig {
    pub(crate) path: Option<Arc<str>>,
    pub(crate) guard: HostAllowList,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_batch: usize,
    pub(crate) session_idle_timeout: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) max_sessions_per_principal: Option<usize>,
    pub(crate) max_sessions_per_addr: Option<usize>,
    pub(crate) unused_session_timeout: Duration,
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) sse_retry_ms: Option<u64>,
    pub(crate) json_response: bool,
    pub(crate) mode: SessionMode,
    pub(crate) handler_timeout: Option<Duration>,
    pub(crate) busy_retry_after: Duration,
    pub(crate) event_store: Option<Arc<dyn EventStore>>,
    pub(crate) session_store: Option<Arc<dyn SessionStore>>,
    pub(crate) cluster: Option<Arc<dyn ClusterBus>>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("path", &self.path)
            .field("guard", &self.guard)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_batch", &self.max_batch)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("max_sessions", &self.max_sessions)
            .field(
                "max_sessions_per_principal",
                &self.max_sessions_per_principal,
            )
            .field("max_sessions_per_addr", &self.max_sessions_per_addr)
            .field("unused_session_timeout", &self.unused_session_timeout)
            .field("keep_alive", &self.keep_alive)
            .field("sse_retry_ms", &self.sse_retry_ms)
            .field("json_response", &self.json_response)
            .field("mode", &self.mode)
            .field("handler_timeout", &self.handler_timeout)
            .field(
                "event_store",
                &self.event_store.as_ref().map(|_| "<dyn EventStore>"),
            )
            .field(
                "session_store",
                &self.session_store.as_ref().map(|_| "<dyn SessionStore>"),
            )
            .field(
                "cluster",
                &self.cluster.as_ref().map(|_| "<dyn ClusterBus>"),
            )
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            path: Some(Arc::from("/mcp")),
            guard: HostAllowList::localhost(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_batch: DEFAULT_MAX_BATCH,
            session_idle_timeout: DEFAULT_SESSION_IDLE_TIMEOUT,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_sessions_per_principal: Some(DEFAULT_MAX_SESSIONS_PER_PRINCIPAL),
            max_sessions_per_addr: Some(DEFAULT_MAX_SESSIONS_PER_ADDR),
            unused_session_timeout: DEFAULT_UNUSED_SESSION_TIMEOUT,
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            sse_retry_ms: Some(DEFAULT_SSE_RETRY_MS),
            json_response: false,
            mode: SessionMode::Stateful,
            handler_timeout: Some(DEFAULT_HANDLER_TIMEOUT),
            busy_retry_after: Duration::from_secs(5),
            event_store: Some(Arc::new(InMemoryEventStore::default())),
            session_store: None,
            cluster: None,
        }
    }
}

impl HttpConfig {
    /// The defaults: endpoint `/mcp`, DNS-rebinding protection for localhost, 4 MiB body cap,
    /// stateful sessions with resumable SSE streams held in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint path (default `/mcp`). Requests to any other path get 404.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(Arc::from(path.into()));
        self
    }

    /// Serves every path. Use this when the service is mounted under a prefix by a router
    /// that strips it (axum's `Router::nest_service`).
    pub fn any_path(mut self) -> Self {
        self.path = None;
        self
    }

    /// Accepts `Host` headers naming one of `hosts` (any port), in addition to localhost,
    /// 127.0.0.1 and \[::1\]. Entries may carry a port (`example.com:8443`), which then must match.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.guard.add_hosts(hosts);
        self
    }

    /// Accepts `Origin` headers equal to one of `origins` (e.g. `https://app.example.com`), in
    /// addition to localhost origins.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.guard.add_origins(origins);
        self
    }

    /// Turns off the `Host`/`Origin` checks entirely.
    ///
    /// Only do this behind a reverse proxy that validates `Host` itself: a server bound to a
    /// local address without these checks can be reached by any web page through DNS rebinding.
    pub fn disable_dns_rebinding_protection(mut self) -> Self {
        self.guard = HostAllowList::disabled();
        self
    }

    /// The largest accepted request body in bytes (default 4 MiB); larger bodies get 413.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The configured body cap.
    #[must_use]
    pub fn max_body_bytes_value(&self) -> usize {
        self.max_body_bytes
    }

    /// The largest accepted JSON-RPC batch (default 64 messages); larger batches get 400 with
    /// -32600.
    pub fn max_batch(mut self, messages: usize) -> Self {
        self.max_batch = messages.max(1);
        self
    }

    /// Sessions idle for longer than this are dropped (default 30 minutes). A session with an
    /// open stream or a request in flight is not idle.
    pub fn session_idle_timeout(mut self, timeout: Duration) -> Self {
        self.session_idle_timeout = timeout;
        self
    }

    /// The maximum number of live sessions (default 10 000). When full, a new `initialize`
    /// ends the least recently used idle session (no request in flight, no open stream: its
    /// client gets 404 next time and starts a new session) to make room; when every session
    /// is busy it gets 503 with `Retry-After` and existing sessions are not affected.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }

    /// Sessions one authenticated principal (the identity the authorization layer verified)
    /// may hold at once (default 100, [`DEFAULT_MAX_SESSIONS_PER_PRINCIPAL`]; `None`: no
    /// quota). Past it, `initialize` gets 429 with `Retry-After` and a JSON-RPC error -32000.
    pub fn max_sessions_per_principal(mut self, max: Option<usize>) -> Self {
        self.max_sessions_per_principal = max;
        self
    }

    /// Sessions anonymous clients of one address may hold at once (default 1,000,
    /// [`DEFAULT_MAX_SESSIONS_PER_ADDR`]; `None`: no quota). The address is the
    /// [`RemoteAddr`](super::RemoteAddr) of the request (an IPv6 address counts as its /64);
    /// requests without one share a single quota. Past it, `initialize` gets 429 with
    /// `Retry-After` and a JSON-RPC error -32000. Behind a reverse proxy every client has the
    /// proxy's address: authenticate clients, or raise or turn off this quota.
    pub fn max_sessions_per_addr(mut self, max: Option<usize>) -> Self {
        self.max_sessions_per_addr = max;
        self
    }

    /// How long a session the client never came back to after `initialize` (no request, no
    /// GET stream; notifications do not count) lives (default 60 s,
    /// [`DEFAULT_UNUSED_SESSION_TIMEOUT`]). Capped by
    /// [`session_idle_timeout`](Self::session_idle_timeout).
    pub fn unused_session_timeout(mut self, timeout: Duration) -> Self {
        self.unused_session_timeout = timeout;
        self
    }

    /// The `Retry-After` advertised when the session table is full or a client is at its
    /// session quota (default 5 s).
    pub fn busy_retry_after(mut self, after: Duration) -> Self {
        self.busy_retry_after = after;
        self
    }

    /// Interval of `: keep-alive` comments on idle SSE streams (default 15 s); `None` disables them.
    pub fn keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.keep_alive = interval.filter(|d| !d.is_zero());
        self
    }

    /// The `retry:` hint in milliseconds sent with the priming event of every SSE stream
    /// (default 1000); `None` sends no hint.
    pub fn sse_retry_ms(mut self, retry: Option<u64>) -> Self {
        self.sse_retry_ms = retry;
        self
    }

    /// Prefer plain JSON answers: a request whose handler emits notifications or server→client
    /// requests is still answered with a JSON body, and those messages go to the session's
    /// standalone stream instead. Default `false` (switch to SSE when needed).
    pub fn json_response(mut self, json: bool) -> Self {
        self.json_response = json;
        self
    }

    /// Stateful (sessions, default) or stateless handshake-era operation.
    pub fn mode(mut self, mode: SessionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Shorthand for `mode(SessionMode::Stateless)`.
    pub fn stateless(self) -> Self {
        self.mode(SessionMode::Stateless)
    }

    /// How long the handler of one client request may run: past `timeout` it is cancelled
    /// and the client gets -32603 "Request timed out". Default: 5 minutes
    /// ([`DEFAULT_HANDLER_TIMEOUT`]); `None` (no limit) only on purpose: a handler that never
    /// ends holds its request's memory for ever. `subscriptions/listen` streams of 2026-07-28
    /// are never cut.
    ///
    /// Not to be confused with
    /// [`ServerBuilder::request_timeout`](crate::builder::ServerBuilder::request_timeout), which
    /// bounds the server→client requests a handler makes (sampling, elicitation, roots).
    pub fn handler_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handler_timeout = timeout;
        self
    }

    /// Where SSE events are kept for resumption (default: a bounded in-memory store). `None`
    /// turns resumption off: events carry no ids and a lost stream is lost.
    pub fn event_store(mut self, store: Option<Arc<dyn EventStore>>) -> Self {
        self.event_store = store;
        self
    }

    /// A shared store of session records (default: none, sessions live in this process only).
    /// See [`SessionStore`] for what is written and when.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }

    /// The bus between the instances of a deployment that share a [`SessionStore`] (default:
    /// none). With it, list changes and resource updates emitted on one instance reach the
    /// sessions served by the others, an answer to a server→client request reaches the
    /// instance that waits for it, and a session ended on one instance ends on all. See
    /// [`ClusterBus`].
    pub fn cluster_bus(mut self, bus: Arc<dyn ClusterBus>) -> Self {
        self.cluster = Some(bus);
        self
    }

    /// The endpoint path, or `None` when every path is served.
    #[must_use]
    pub fn endpoint_path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The session mode.
    #[must_use]
    pub fn session_mode(&self) -> SessionMode {
        self.mode
    }
}

impl HostGuardLayer {
    /// The allow-lists of `config` (the same the MCP endpoint uses), for every route of a
    /// server. See [`HostGuardLayer`].
    pub fn from_config(config: &HttpConfig) -> Self {
        HostGuardLayer::from_list(config.guard.clone())
    }
}
