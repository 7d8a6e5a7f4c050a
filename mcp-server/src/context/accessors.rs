//! Read-only accessors: what a handler knows about the request it serves.

use super::RequestContext;
use crate::identity::OAuthContext;
use crate::protocol::TraceContext;
use crate::session::Session;
use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::jsonrpc::RequestId;
use mcp_rs_core::schema::{
    ClientCapabilities, Implementation, InputResponse, InputResponses, LoggingLevel, Meta,
    ProgressToken,
};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl RequestContext {
    /// The server serving this request (to change its registry or emit a
    /// [`ServerEvent`](crate::server::ServerEvent) from a handler).
    #[must_use]
    pub fn server(&self) -> crate::server::Server {
        crate::server::Server(self.0.server.clone())
    }

    /// The JSON-RPC id of the request.
    #[must_use]
    pub fn request_id(&self) -> &RequestId {
        &self.0.request_id
    }

    /// The method being served (`tools/call`, …).
    #[must_use]
    pub fn method(&self) -> &str {
        &self.0.method
    }

    /// `params._meta` of the request.
    #[must_use]
    pub fn meta(&self) -> Option<&Meta> {
        self.0.meta.as_ref()
    }

    /// The progress token the client asked progress to be reported under.
    #[must_use]
    pub fn progress_token(&self) -> Option<&ProgressToken> {
        self.0.progress_token.as_ref()
    }

    /// The protocol version of this request (negotiated, or per-request in the stateless era).
    #[must_use]
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.0.protocol_version
    }

    /// The client's implementation info.
    #[must_use]
    pub fn client_info(&self) -> Option<&Implementation> {
        self.0.peer.as_ref().and_then(|p| p.client_info.as_ref())
    }

    /// The client's capabilities.
    #[must_use]
    pub fn client_capabilities(&self) -> Option<&ClientCapabilities> {
        self.0
            .peer
            .as_ref()
            .and_then(|p| p.client_capabilities.as_ref())
    }

    /// The handshake-era session (None in the stateless era).
    #[must_use]
    pub fn session(&self) -> Option<&Session> {
        self.0.session.as_deref()
    }

    /// The session as a shared handle (e.g. to keep it in a background task).
    #[must_use]
    pub fn session_handle(&self) -> Option<Arc<Session>> {
        self.0.session.clone()
    }

    /// Cancelled when the client cancels the request (`notifications/cancelled`), the
    /// connection goes away or the session closes.
    #[must_use]
    pub fn cancellation(&self) -> &CancellationToken {
        &self.0.cancel
    }

    /// Whether the request was cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.cancel.is_cancelled()
    }

    /// The HTTP request head (Streamable HTTP only).
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    #[must_use]
    pub fn http_parts(&self) -> Option<&http::request::Parts> {
        self.0.http.as_deref()
    }

    /// The verified caller identity, as established by the authorization layer. Never read
    /// from client JSON.
    #[must_use]
    pub fn oauth(&self) -> Option<&OAuthContext> {
        if let Some(o) = self.0.oauth.as_deref() {
            return Some(o);
        }
        #[cfg(feature = "http")]
        if let Some(parts) = self.0.http.as_deref() {
            return crate::identity::from_extensions(&parts.extensions);
        }
        None
    }

    /// W3C trace context from `_meta`.
    #[must_use]
    pub fn trace_context(&self) -> Option<&TraceContext> {
        self.0.trace.as_ref()
    }

    /// The client's answers to an earlier `input_required` result (stateless era).
    #[must_use]
    pub fn input_responses(&self) -> Option<&InputResponses> {
        self.0.input_responses.as_ref()
    }

    /// One answer of [`input_responses`](Self::input_responses), by key.
    #[must_use]
    pub fn input_response(&self, key: &str) -> Option<&InputResponse> {
        self.0.input_responses.as_ref().and_then(|m| m.get(key))
    }

    /// The opaque `requestState` echoed by the client (stateless era).
    #[must_use]
    pub fn request_state(&self) -> Option<&str> {
        self.0.request_state.as_deref()
    }

    /// The minimum level of log messages sent for this request: in the handshake era the
    /// session's `logging/setLevel` (or the server default); in the stateless era the
    /// request's `_meta` log level, and `None` — no log messages at all — without one.
    #[must_use]
    pub fn log_level(&self) -> Option<LoggingLevel> {
        if self.0.stateless {
            return self.0.log_level;
        }
        Some(
            self.0
                .session
                .as_ref()
                .and_then(|s| s.log_level())
                .unwrap_or(self.0.server.options.default_log_level),
        )
    }

    /// The server's timeout for server→client requests.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.0.server.options.request_timeout
    }
}
