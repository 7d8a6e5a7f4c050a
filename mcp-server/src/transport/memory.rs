//! An in-process transport for tests: a [`MemoryClient`] talks to a [`Server`] without I/O.
//!
//! ```
//! use mcp_rs_server::prelude::*;
//! use mcp_rs_server::tool::ToolDef;
//! use mcp_rs_server::transport::memory;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let server = Server::builder()
//!     .tool(ToolDef::builder("hello").handler_fn(|_ctx, _a: serde_json::Map<String, serde_json::Value>| async { "hi" }))
//!     .build();
//! let client = memory::connect(&server);
//! client.initialize().await.unwrap();
//! let result = client.request("tools/call", json!({"name": "hello"})).await.unwrap();
//! assert_eq!(result["content"][0]["text"], "hi");
//! # }
//! ```

use crate::identity::OAuthContext;
use crate::server::{Exchange, Outcome, Server};
use crate::session::Session;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::{ErrorObject, ProtocolVersion};
use serde_json::{Value, json};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A client connected to a server in the same process. Cheap to clone; clones share the
/// session and the incoming message queue.
#[derive(Clone)]
pub struct MemoryClient(Arc<Inner>);

struct Inner {
    server: Server,
    session: Arc<Session>,
    incoming: tokio::sync::Mutex<mpsc::UnboundedReceiver<JsonRpcMessage>>,
    next_id: AtomicI64,
    identity: Mutex<Option<Arc<OAuthContext>>>,
    cancel: CancellationToken,
}

/// Connects a new client (a new session) to `server`.
#[must_use]
pub fn connect(server: &Server) -> MemoryClient {
    let (tx, rx) = mpsc::unbounded_channel();
    let session = server.create_session(Arc::new(tx));
    MemoryClient(Arc::new(Inner {
        server: server.clone(),
        session,
        incoming: tokio::sync::Mutex::new(rx),
        next_id: AtomicI64::new(1),
        identity: Mutex::new(None),
        cancel: CancellationToken::new(),
    }))
}

impl fmt::Debug for MemoryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryClient")
            .field("session", &self.0.session.id())
            .finish_non_exhaustive()
    }
}

impl MemoryClient {
    /// The session of this client.
    #[must_use]
    pub fn session(&self) -> &Arc<Session> {
        &self.0.session
    }

    /// The server.
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.0.server
    }

    /// Attaches a verified identity to subsequent messages (as an authorization layer would).
    pub fn set_identity(&self, identity: Option<OAuthContext>) {
        *crate::session::lock(&self.0.identity) = identity.map(Arc::new);
    }

    fn exchange(&self) -> Exchange {
        Exchange {
            session: Some(self.0.session.clone()),
            identity: crate::session::lock(&self.0.identity).clone(),
            cancel: self.0.cancel.child_token(),
            ..Exchange::default()
        }
    }

    /// Hands one message to the server and returns what it produced.
    pub async fn send(&self, msg: JsonRpcMessage) -> Outcome {
        self.0.server.handle(msg, self.exchange()).await
    }

    /// A fresh request id.
    #[must_use]
    pub fn next_id(&self) -> RequestId {
        RequestId::Number(self.0.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends a request and returns its result or JSON-RPC error. A request the server did
    /// not answer (cancelled) is reported as an error with code 0.
    ///
    /// # Errors
    /// The server's JSON-RPC error.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ErrorObject> {
        let id = self.next_id();
        self.request_with_id(id, method, params).await
    }

    /// Like [`request`](Self::request) with a chosen id.
    ///
    /// # Errors
    /// The server's JSON-RPC error.
    pub async fn request_with_id(
        &self,
        id: RequestId,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorObject> {
        let params = (!params.is_null()).then_some(params);
        match self.send(JsonRpcMessage::request(id, method, params)).await {
            Outcome::Reply(JsonRpcMessage::Response(r)) => Ok(r.result),
            Outcome::Reply(JsonRpcMessage::Error(e)) => Err(e.error),
            Outcome::Reply(other) => Err(ErrorObject::new(
                mcp_rs_core::ErrorCode(0),
                format!("unexpected reply {other:?}"),
            )),
            Outcome::NoReply => Err(ErrorObject::new(mcp_rs_core::ErrorCode(0), "no reply")),
            Outcome::Forbidden { required, .. } => {
                Err(crate::McpError::insufficient_scope(required).to_error_object())
            }
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Value) {
        let params = (!params.is_null()).then_some(params);
        self.send(JsonRpcMessage::notification(method, params))
            .await;
    }

    /// Answers a server→client request.
    pub async fn respond(&self, id: RequestId, result: Value) {
        self.send(JsonRpcMessage::response(id, result)).await;
    }

    /// Answers a server→client request with an error.
    pub async fn respond_error(&self, id: RequestId, error: ErrorObject) {
        self.send(JsonRpcMessage::error(Some(id), error)).await;
    }

    /// Performs the handshake (`initialize` at the latest handshake version with no client
    /// capabilities, then `notifications/initialized`) and returns the `initialize` result.
    ///
    /// # Errors
    /// The server's JSON-RPC error.
    pub async fn initialize(&self) -> Result<Value, ErrorObject> {
        self.initialize_with(ProtocolVersion::LATEST_HANDSHAKE.as_str(), json!({}))
            .await
    }

    /// Performs the handshake asking for `version` and declaring `capabilities`.
    ///
    /// # Errors
    /// The server's JSON-RPC error.
    pub async fn initialize_with(
        &self,
        version: &str,
        capabilities: Value,
    ) -> Result<Value, ErrorObject> {
        let result = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": version,
                    "capabilities": capabilities,
                    "clientInfo": {"name": "memory-client", "version": "0.0.0"},
                }),
            )
            .await?;
        self.notify("notifications/initialized", Value::Null).await;
        Ok(result)
    }

    /// The next message the server sent outside a response (notification or server→client
    /// request); `None` once the session is closed.
    pub async fn recv(&self) -> Option<JsonRpcMessage> {
        self.0.incoming.lock().await.recv().await
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    pub async fn recv_timeout(&self, timeout: Duration) -> Option<JsonRpcMessage> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .ok()
            .flatten()
    }

    /// A message already queued, without waiting.
    pub async fn try_recv(&self) -> Option<JsonRpcMessage> {
        self.0.incoming.lock().await.try_recv().ok()
    }

    /// Simulates the connection going away: cancels every running request.
    pub fn disconnect(&self) {
        self.0.cancel.cancel();
    }

    /// Closes the session on the server.
    pub fn close(&self) {
        self.0.server.remove_session(self.0.session.id());
    }
}
