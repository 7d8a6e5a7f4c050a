//! One JSON-RPC message in, one [`Outcome`] out: era checks, context construction,
//! routing to the handlers, cancellation, panic containment and error mapping.

mod observe;
mod rounds;

use crate::context::{Inner, RequestContext};
use crate::error::{ErrorKind, McpError};
use crate::protocol::TraceContext;
use crate::server::{Exchange, Outcome, Server};
use crate::session::PeerInfo;
use futures::FutureExt as _;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, RequestId};
use mcp_rs_core::schema::CallToolResult;
use mcp_rs_core::{ErrorCode, ErrorObject, ProtocolVersion, method};
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

impl Server {
    /// Handles one incoming message. Requests are answered (`Reply`), notifications and
    /// responses (to server→client requests) are consumed (`NoReply`). Safe to call
    /// concurrently: transports run requests in parallel.
    pub async fn handle(&self, msg: JsonRpcMessage, ex: Exchange) -> Outcome {
        handle(self, msg, ex).await
    }
}

async fn handle(server: &Server, msg: JsonRpcMessage, ex: Exchange) -> Outcome {
    if let Some(s) = &ex.session {
        s.touch();
    }
    match msg {
        JsonRpcMessage::Request(req) => request(server, req, ex).await,
        JsonRpcMessage::Notification(n) => {
            notification(server, n, &ex).await;
            Outcome::NoReply
        }
        JsonRpcMessage::Response(r) => {
            resolve(server, &ex, &r.id, Ok(r.result));
            Outcome::NoReply
        }
        JsonRpcMessage::Error(e) => {
            match e.id {
                Some(id) => resolve(server, &ex, &id, Err(e.error)),
                None => {
                    tracing::warn!(code = e.error.code, message = %e.error.message, "client sent an error without id")
                }
            }
            Outcome::NoReply
        }
    }
}

fn resolve(server: &Server, ex: &Exchange, id: &RequestId, reply: Result<Value, ErrorObject>) {
    let pending = ex
        .session
        .as_ref()
        .map_or(&server.0.pending, |s| &s.pending);
    if !pending.resolve(id, reply) {
        tracing::debug!(%id, "response to an unknown server request ignored");
    }
}

/// Hooks and custom handlers first (custom names never shadow the built-in ones), then the
/// built-in notifications.
async fn notification(server: &Server, n: JsonRpcNotification, ex: &Exchange) {
    observe::notify(server, &n, ex).await;
    match n.method.as_str() {
        method::NOTIFICATION_CANCELLED => {
            let id = n
                .params
                .as_ref()
                .and_then(|p| p.get("requestId"))
                .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok());
            match (id, &ex.session) {
                (Some(id), Some(s)) => {
                    let found = s.cancel_request(&id);
                    tracing::debug!(%id, found, "request cancelled by the client");
                }
                (Some(id), None) => tracing::debug!(%id, "cancellation without a session ignored"),
                (None, _) => tracing::debug!("malformed notifications/cancelled ignored"),
            }
        }
        other => tracing::debug!(method = other, "notification"),
    }
}

/// Handshake-era methods that need a session to mean anything before `initialize`.
fn allowed_before_initialize(m: &str) -> bool {
    m == method::INITIALIZE || m == method::PING
}

async fn request(server: &Server, req: JsonRpcRequest, ex: Exchange) -> Outcome {
    let span = tracing::info_span!(
        "mcp.request",
        method = %req.method,
        id = %req.id,
        session = ex.session.as_ref().map_or("", |s| s.id()),
    );
    if server.0.hooks.is_empty() {
        return request_inner(server, req, ex).instrument(span).await;
    }
    hooked(server, req, ex).instrument(span).await
}

/// A request under the server hooks: `on_request` may refuse it; the outcome is reported.
async fn hooked(server: &Server, req: JsonRpcRequest, ex: Exchange) -> Outcome {
    let watch = observe::watch(server, &req, &ex);
    let outcome = match server.0.hooks.request(watch.info()).await {
        Ok(()) => request_inner(server, req, ex).await,
        Err(e) => {
            tracing::info!(code = e.code(), "request refused by a server hook");
            let stateless = ex.stateless.is_some();
            map_error(e, req.id, &req.method, &ex, stateless)
        }
    };
    observe::report(watch, &outcome).await;
    outcome
}

async fn request_inner(server: &Server, req: JsonRpcRequest, ex: Exchange) -> Outcome {
    let started = Instant::now();
    let JsonRpcRequest {
        id,
        method: name,
        mut params,
    } = req;
    let (version, peer) = negotiated(&ex);
    if let Err(e) = admit(server, &name, version, &ex) {
        return Outcome::Reply(JsonRpcMessage::error(Some(id), e));
    }
    let meta = match params.as_mut() {
        Some(Value::Object(p)) => match p.remove("_meta") {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        },
        _ => None,
    };
    let cancel = ex.cancel.child_token();
    if let Some(s) = &ex.session {
        s.track(id.clone(), cancel.clone());
    }
    let ctx = context_for(
        server,
        &ex,
        Call {
            id: id.clone(),
            name: name.clone(),
            meta,
            version,
            peer,
        },
        cancel.clone(),
    );

    // Handshake-era calls whose handler asks for input are served by the multi-round shim.
    let routed = AssertUnwindSafe(rounds::route(server, &name, ctx, params)).catch_unwind();
    let result = tokio::select! {
        r = routed => Some(r),
        () = cancel.cancelled() => None,
    };
    if let Some(s) = &ex.session {
        s.untrack(&id);
    }
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);

    // `None` means the cancellation won the race above; a handler that noticed the cancellation
    // and returned may win it too. Either way a cancelled request gets no response.
    let Some(result) = result.filter(|_| !cancel.is_cancelled()) else {
        tracing::info!(elapsed_us, "request cancelled");
        return Outcome::NoReply;
    };
    let result = match result {
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic>".to_owned());
            tracing::error!(elapsed_us, panic = %what, "handler panicked");
            return Outcome::Reply(JsonRpcMessage::error(
                Some(id),
                ErrorObject::internal_error(),
            ));
        }
        Ok(r) => r,
    };
    finish(result, id, &name, &ex, elapsed_us)
}

/// The protocol version and the peer of a request: from the stateless envelope, else from the
/// session's handshake.
fn negotiated(ex: &Exchange) -> (ProtocolVersion, Option<Arc<PeerInfo>>) {
    match (&ex.stateless, &ex.session) {
        (Some(env), _) => (
            env.protocol_version,
            Some(Arc::new(PeerInfo {
                protocol_version: env.protocol_version,
                client_info: env.client_info.clone(),
                client_capabilities: Some(env.client_capabilities.clone()),
            })),
        ),
        (None, Some(s)) => (
            s.protocol_version()
                .unwrap_or(ProtocolVersion::LATEST_HANDSHAKE),
            s.peer().cloned(),
        ),
        (None, None) => (ProtocolVersion::LATEST_HANDSHAKE, None),
    }
}

/// Whether `name` may run now: known in `version` (custom requests and the tasks
/// extension's methods are known in every version), and (handshake era) the session is initialized unless the method is allowed
/// before that.
fn admit(
    server: &Server,
    name: &str,
    version: ProtocolVersion,
    ex: &Exchange,
) -> Result<(), ErrorObject> {
    if !method::exists_in(name, version)
        && server.0.custom.request(name).is_none()
        && !crate::tasks::is_method(name)
    {
        return Err(ErrorObject::method_not_found(name));
    }
    if ex.stateless.is_none()
        && let Some(s) = &ex.session
        && !s.is_initialized()
        && !allowed_before_initialize(name)
    {
        return Err(ErrorObject::invalid_request(
            "the session is not initialized: send initialize first",
        ));
    }
    Ok(())
}

/// What a request brings to its [`RequestContext`] besides the exchange.
struct Call {
    id: RequestId,
    name: String,
    meta: Option<Map<String, Value>>,
    version: ProtocolVersion,
    peer: Option<Arc<PeerInfo>>,
}

/// The handler's context: per-request members from the stateless envelope, or (handshake era)
/// the progress token and trace context of the request's `_meta`.
fn context_for(
    server: &Server,
    ex: &Exchange,
    call: Call,
    cancel: CancellationToken,
) -> RequestContext {
    let meta = call.meta;
    let (progress_token, trace, log_level, input_responses, request_state) = match &ex.stateless {
        Some(env) => (
            env.progress_token.clone(),
            env.trace.clone(),
            env.log_level,
            env.input_responses.clone(),
            env.request_state.clone(),
        ),
        None => (
            meta.as_ref()
                .and_then(|m| m.get(mcp_rs_core::meta::PROGRESS_TOKEN))
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
            meta.as_ref().and_then(TraceContext::from_meta),
            None,
            None,
            None,
        ),
    };
    RequestContext::from_inner(Inner {
        request_id: call.id,
        method: call.name,
        meta,
        progress_token,
        protocol_version: call.version,
        peer: call.peer,
        session: ex.session.clone(),
        cancel,
        #[cfg(feature = "http")]
        http: ex.http.clone(),
        oauth: ex.identity.clone(),
        trace,
        input_responses,
        request_state,
        log_level,
        stateless: ex.stateless.is_some(),
        related: ex.related.clone(),
        server: server.0.clone(),
        task: None,
    })
}

/// The reply to a handler's result (stateless results are marked `resultType: complete`),
/// logged with its duration.
fn finish(
    result: Result<Value, McpError>,
    id: RequestId,
    name: &str,
    ex: &Exchange,
    elapsed_us: u64,
) -> Outcome {
    let stateless = ex.stateless.is_some();
    match result {
        Ok(mut value) => {
            if stateless && let Value::Object(m) = &mut value {
                m.entry("resultType")
                    .or_insert_with(|| Value::String("complete".into()));
            }
            tracing::info!(elapsed_us, "request ok");
            Outcome::Reply(JsonRpcMessage::response(id, value))
        }
        Err(e) => {
            let outcome = map_error(e, id, name, ex, stateless);
            match &outcome {
                Outcome::Reply(JsonRpcMessage::Error(err)) => {
                    tracing::info!(elapsed_us, code = err.error.code, "request failed");
                }
                _ => tracing::info!(elapsed_us, "request done"),
            }
            outcome
        }
    }
}

fn map_error(e: McpError, id: RequestId, name: &str, ex: &Exchange, stateless: bool) -> Outcome {
    let error = |e: ErrorObject| Outcome::Reply(JsonRpcMessage::error(Some(id.clone()), e));
    match e.into_kind() {
        ErrorKind::InsufficientScope(required) => {
            if ex.is_http() {
                Outcome::Forbidden { id, required }
            } else if name == method::TOOLS_CALL {
                let result =
                    CallToolResult::error_text(format!("insufficient scope: requires {required}"));
                Outcome::Reply(JsonRpcMessage::response(
                    id,
                    serde_json::to_value(result).unwrap_or_default(),
                ))
            } else {
                error(McpError::insufficient_scope(required).to_error_object())
            }
        }
        ErrorKind::InputRequired(result) => match serde_json::to_value(*result) {
            Ok(v) => Outcome::Reply(JsonRpcMessage::response(id, v)),
            Err(err) => {
                tracing::error!(error = %err, "could not serialise an input_required result");
                error(ErrorObject::internal_error())
            }
        },
        ErrorKind::Internal(err) => {
            tracing::error!(error = %err, "handler failed");
            error(ErrorObject::internal_error())
        }
        kind => {
            let e = McpError::new(kind);
            if matches!(e.kind(), ErrorKind::Timeout { .. } | ErrorKind::Cancelled) {
                tracing::warn!(error = %e, "handler failed");
            }
            let mut obj = e.to_error_object();
            if stateless && obj.code == ErrorCode::RESOURCE_NOT_FOUND.0 {
                obj.code = ErrorCode::INVALID_PARAMS.0;
            }
            error(obj)
        }
    }
}
