//! The Streamable HTTP transport (protocol revisions 2025-03-26 to 2025-11-25, and the
//! stateless 2026-07-28 era on the same endpoint), on hyper 1 and tower.
//!
//! [`StreamableHttpService`] is the MCP endpoint as a tower service: mount it in axum, wrap it
//! in layers ([`CorsLayer`], the authorization layer of the `auth` feature), or run it with
//! [`serve`]. [`HttpConfig`] holds every knob: endpoint path, allowed hosts and origins
//! (DNS-rebinding protection is on by default), body and batch caps, session limits, SSE
//! keep-alive and retry hints, JSON-or-SSE preference, stateful or stateless operation, and
//! the [`EventStore`] / [`SessionStore`] backends.
//!
//! # Wire behaviour
//! * `POST`: one JSON-RPC message (or, at 2025-03-26, a batch). Requests are answered with
//!   `application/json` when the handler emits nothing on the way, else with
//!   `text/event-stream`: a priming event (`id`, `retry:`), the request's notifications and
//!   server→client requests, then the result. Notifications and responses only: `202`.
//! * `GET`: the session's standalone SSE stream; with `Last-Event-ID`, the missed events of
//!   that stream (also of a POST stream that was cut) are replayed first.
//! * `DELETE`: ends the session; its id then gets `404`.
//! * Errors carry JSON-RPC bodies: unknown session `404`, missing `Mcp-Session-Id` `400`,
//!   repeated header `400`, unsupported `MCP-Protocol-Version` `400` with -32022 and
//!   `data.supported`, malformed JSON `400` -32700, not JSON-RPC `400` -32600, wrong `Accept`
//!   `406`, wrong `Content-Type` `415`, body over the cap `413`, foreign `Host`/`Origin`
//!   `403`, session table full `503` with `Retry-After`.
//!
//! # Example
//! ```no_run
//! use mcp_rs_server::Server;
//! use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::builder().name("demo").build();
//! StreamableHttpService::new(server, HttpConfig::default())
//!     .serve("127.0.0.1:8000")
//!     .await
//! # }
//! ```

// Request flow: `service` (path, Host/Origin, method) → `post` / `get` / `sessions`
// (DELETE) → `respond` (JSON or SSE); `post` hands 2026-07-28 messages to `stateless`.
// `edge` (header checks, error bodies), `run`, `sse`, `streams` and the stores sit below.
mod bus;
pub(crate) mod challenge;
mod cluster;
mod config;
mod conn;
mod cors;
mod edge;
mod event_store;
mod get;
mod guard;
mod post;
mod respond;
mod run;
mod serve;
mod service;
mod session_limits;
mod session_store;
mod sessions;
mod sse;
mod stateless;
mod streams;

pub use bus::{ClusterBus, ClusterMessage};
pub use config::{
    DEFAULT_HANDLER_TIMEOUT, DEFAULT_KEEP_ALIVE, DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_ADDR, DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
    DEFAULT_SESSION_IDLE_TIMEOUT, DEFAULT_SSE_RETRY_MS, DEFAULT_UNUSED_SESSION_TIMEOUT, HttpConfig,
    SessionMode,
};
pub use conn::{
    BodyTimeoutError, ConnectionLimits, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_HEADER_BYTES,
    FALLBACK_MAX_CONNECTIONS, RequestBodyTimeout, RequestBodyTimeoutLayer, TimeoutBody,
};
pub use cors::{Cors, CorsLayer, ResponseFuture as CorsResponseFuture};
pub use edge::{
    LAST_EVENT_ID, MCP_PROTOCOL_VERSION, MCP_SESSION_ID, SERVER_BUSY, TRANSPORT_REJECTION,
};
pub use event_store::{
    DEFAULT_EVENT_STORE_BYTES, DEFAULT_FINISHED_STREAM_TTL, EventStore, EventStoreLimits,
    InMemoryEventStore, StoreError, StoredEvent,
};
pub use guard::{HostGuard, HostGuardFuture, HostGuardLayer};
pub use respond::StreamControl;
pub use serve::{
    DEFAULT_GRACE_PERIOD, RemoteAddr, serve, serve_listener, serve_listener_with, serve_with,
    shutdown_signal,
};
pub use service::StreamableHttpService;
pub use session_store::{InMemorySessionStore, SessionRecord, SessionStore};
