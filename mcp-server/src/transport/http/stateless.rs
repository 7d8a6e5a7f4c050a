//! The stateless leg of `POST` (protocol 2026-07-28).
//!
//! The service parses the body, asks [`classify`](crate::protocol::classify::classify) which
//! era the message belongs to and hands 2026-07-28 messages to [`handle`]. No session is
//! involved: each request carries its own `_meta` envelope.
//!
//! | situation | HTTP | JSON-RPC |
//! |---|---|---|
//! | `Accept` without `application/json` | 406 | -32600 |
//! | `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*` missing or different from the body | 400 | -32020 |
//! | envelope missing or ill-formed (`_meta`, protocolVersion, clientCapabilities, …) | 400 | -32602 |
//! | version not served | 400 | -32022, `data.supported`, `data.requested` |
//! | `requestState` tampered, expired or minted for another request | 400 | -32602 |
//! | removed (`initialize`, `ping`, `logging/setLevel`, `resources/(un)subscribe`) or unknown method (not a registered custom request) | 404 | -32601 |
//! | an `input_required` result asking for an undeclared client capability | 400 | -32021, `data.requiredCapabilities` |
//! | other handler errors | 200 | the handler's code (resource not found: -32602 with `data.uri`) |
//! | removed notification (`notifications/initialized`, …) | 400 | -32601 |
//! | other notification | 202 | — |
//! | a JSON-RPC response (there are no server→client requests to answer) | 400 | -32600 |
//!
//! Every error carries the request id. Results carry `resultType` (`"complete"` unless
//! `"input_required"`); `server/discover`, the four list methods and `resources/read` carry the
//! cache hints of [`CachePolicy`](crate::protocol::CachePolicy). The answer is JSON unless the
//! handler emits notifications on the way (progress, logs the client opted in to with
//! `logLevel`, a `subscriptions/listen` stream) and the client accepts `text/event-stream`.
//! Notifications are tagged with the request's W3C trace context; `notifications/message` is
//! never sent to a request without `_meta["io.modelcontextprotocol/logLevel"]`.

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use mcp_rs_core::jsonrpc::{JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, RequestId};
use mcp_rs_core::schema::{InputRequests, LoggingLevel};
use mcp_rs_core::{ErrorCode, ErrorObject, ProtocolVersion, method};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::challenge::forbidden_response;
use super::config::HttpConfig;
use super::edge::{accepts, empty_response, json_response};
use super::run::handle_with_timeout;
use super::sse::{SseBody, encode_event, sse_response};
use crate::body::Body;
use crate::identity::OAuthContext;
use crate::protocol::TraceContext;
use crate::protocol::headers::{self, name_param_of};
use crate::protocol::mrtr::{
    StateBinding, is_multi_round, missing_capabilities, missing_capability_error,
};
use crate::protocol::stateless::{merge_missing, write_trace};
use crate::protocol::{CACHEABLE_METHODS, StatelessEnvelope};
use crate::server::{Exchange, Outcome, Server};
use crate::session::MessageSink;

/// The era this leg serves.
const ERA: ProtocolVersion = ProtocolVersion::V2026_07_28;
/// Bound on the queue between a streaming handler and the SSE writer.
const WRITER_CAPACITY: usize = 64;

/// Answers one 2026-07-28 message (the service calls this after
/// [`classify`](crate::protocol::classify::classify) returned
/// [`Route::Stateless`](crate::protocol::Route::Stateless)).
///
/// The service has already applied its edge checks (path, Host/Origin, Content-Type, body
/// cap, JSON parsing); the `Accept` check is this function's own, because a stateless client
/// only has to accept `application/json`.
pub(crate) async fn handle(
    server: &Server,
    config: &HttpConfig,
    parts: Parts,
    msg: JsonRpcMessage,
) -> Response<Body> {
    match msg {
        JsonRpcMessage::Request(req) => request(server, config, parts, req).await,
        JsonRpcMessage::Notification(n) => notification(server, parts, n).await,
        JsonRpcMessage::Response(_) | JsonRpcMessage::Error(_) => error_response(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request(
                "Invalid Request: protocol 2026-07-28 has no server-to-client requests, so there is nothing to answer",
            ),
        ),
    }
}

fn error_response(status: StatusCode, id: Option<RequestId>, error: ErrorObject) -> Response<Body> {
    json_response(status, &JsonRpcMessage::error(id, error))
}

async fn notification(server: &Server, parts: Parts, n: JsonRpcNotification) -> Response<Body> {
    if let Err(e) = headers::check_standard_headers(&parts.headers, &n.method, n.params.as_ref()) {
        return error_response(StatusCode::BAD_REQUEST, None, e);
    }
    if method::info(&n.method).is_some_and(|i| !i.exists_in(ERA)) {
        return error_response(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!(
                    "Method not found: {} does not exist in protocol {ERA}",
                    n.method
                ),
            ),
        );
    }
    let ex = Exchange {
        http: Some(Arc::new(parts)),
        ..Exchange::default()
    };
    let _ = server.handle(JsonRpcMessage::Notification(n), ex).await;
    empty_response(StatusCode::ACCEPTED)
}

/// The HTTP status of a handler's JSON-RPC error.
fn status_of(code: i32) -> StatusCode {
    match ErrorCode(code) {
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        ErrorCode::HEADER_MISMATCH
        | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
        | ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
        | ErrorCode::INVALID_REQUEST
        | ErrorCode::PARSE_ERROR => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// What the request needs to know once the handler is done.
struct Finish {
    method: String,
    /// `params.name` / `params.uri` of multi-round methods (the `requestState` binding).
    target: Option<String>,
    principal: Option<String>,
    envelope_caps: mcp_rs_core::schema::ClientCapabilities,
    parts: Arc<Parts>,
}

/// A refusal of a stateless request: the HTTP status and the JSON-RPC error.
type Refusal = (StatusCode, ErrorObject);

async fn request(
    server: &Server,
    config: &HttpConfig,
    parts: Parts,
    req: JsonRpcRequest,
) -> Response<Body> {
    let id = req.id.clone();
    let reject = |(status, e): Refusal| error_response(status, Some(id.clone()), e);
    let acc = accepts(&parts);
    if !acc.json {
        return reject((
            StatusCode::NOT_ACCEPTABLE,
            ErrorObject::invalid_request("Not Acceptable: the client must accept application/json"),
        ));
    }
    let mut envelope = match check_request(server, &parts, &req) {
        Ok(envelope) => envelope,
        Err(refusal) => return reject(refusal),
    };
    let principal =
        crate::identity::from_extensions(&parts.extensions).map(OAuthContext::principal_key);
    let target = name_param_of(&req.method)
        .and_then(|field| req.params.as_ref()?.get(field)?.as_str())
        .map(str::to_owned);
    let binding = StateBinding {
        method: &req.method,
        target: target.as_deref().unwrap_or_default(),
        principal: principal.as_deref(),
    };
    if let Err(refusal) = open_state(server, &mut envelope, &binding) {
        return reject(refusal);
    }
    let streaming_method = req.method == method::SUBSCRIPTIONS_LISTEN;
    if streaming_method && !acc.sse {
        return reject((
            StatusCode::NOT_ACCEPTABLE,
            ErrorObject::invalid_request(
                "Not Acceptable: subscriptions/listen needs Accept: text/event-stream",
            ),
        ));
    }

    let parts = Arc::new(parts);
    let finish = Finish {
        method: req.method.clone(),
        target,
        principal,
        envelope_caps: envelope.client_capabilities.clone(),
        parts: parts.clone(),
    };
    let (tx, rx) = mpsc::unbounded_channel::<JsonRpcMessage>();
    let sink: Arc<dyn MessageSink> = Arc::new(RequestSink {
        tx,
        log_level: envelope.log_level,
        trace: envelope.trace.clone(),
    });
    let cancel = CancellationToken::new();
    let ex = Exchange {
        related: Some(sink),
        http: Some(parts),
        cancel: cancel.clone(),
        stateless: Some(envelope),
        ..Exchange::default()
    };
    // `subscriptions/listen` streams until the client leaves: never cut by the timeout.
    let timeout = (!streaming_method)
        .then_some(config.handler_timeout)
        .flatten();
    let work: Pin<Box<dyn Future<Output = Outcome> + Send>> = {
        let server = server.clone();
        let cancel = cancel.clone();
        Box::pin(async move {
            let msg = JsonRpcMessage::Request(req);
            handle_with_timeout(&server, msg, ex, timeout, &cancel).await
        })
    };
    respond(server, config, id, finish, work, rx, cancel, acc.sse).await
}

/// The checks before the handler: the standard headers against the body, the `_meta`
/// envelope, the method (known in the envelope's version, a client request), and the custom
/// headers of a tool's `x-mcp-header` arguments.
fn check_request(
    server: &Server,
    parts: &Parts,
    req: &JsonRpcRequest,
) -> Result<StatelessEnvelope, Refusal> {
    let bad = |e| (StatusCode::BAD_REQUEST, e);
    let options = server.protocol_options();
    let standard =
        headers::check_standard_headers(&parts.headers, &req.method, req.params.as_ref());
    let envelope_params = crate::tasks::envelope_params(&req.method, req.params.as_ref());
    let envelope =
        StatelessEnvelope::from_params(envelope_params.as_ref(), options.stateless_versions());
    // One answer names every missing piece, headers and envelope alike.
    let envelope = match (standard, envelope) {
        (Ok(()), envelope) => envelope.map_err(bad)?,
        (Err(h), Ok(_)) => return Err(bad(h)),
        (Err(h), Err(e)) => return Err(bad(merge_missing(h, e))),
    };
    let known = crate::tasks::is_method(&req.method)
        || method::info(&req.method).is_some_and(|i| {
            i.exists_in(envelope.protocol_version)
                && i.kind == method::Kind::Request
                && i.direction != method::Direction::ServerToClient
        })
        || server.0.custom.request(&req.method).is_some();
    if !known {
        return Err((
            StatusCode::NOT_FOUND,
            ErrorObject::method_not_found(&req.method),
        ));
    }
    if req.method == method::TOOLS_CALL {
        let params = req.params.as_ref();
        let name = params.and_then(|p| p.get("name")).and_then(Value::as_str);
        // A tool the access policy hides from this caller is not looked at: its headers
        // would tell it (and its parameters) from an unknown tool; the call answers as for
        // an unknown one.
        let visible = |n: &&str| !policy_hides_tool(server, parts, n);
        if let Some(entry) = name.filter(visible).and_then(|n| server.0.registry.tool(n)) {
            let args = params
                .and_then(|p| p.get("arguments"))
                .and_then(Value::as_object);
            entry
                .param_headers
                .check(&parts.headers, args)
                .map_err(bad)?;
        }
    }
    Ok(envelope)
}

/// Whether the access policy hides tool `name` from the caller of `parts` (a call answers
/// `Unknown tool`, as the handler's gate decides).
fn policy_hides_tool(server: &Server, parts: &Parts, name: &str) -> bool {
    let Some(policy) = server.0.options.policy.as_ref() else {
        return false;
    };
    let who = crate::identity::from_extensions(&parts.extensions);
    matches!(
        policy.current().decide(who, crate::policy::Item::Tool(name)),
        crate::policy::Decision::Deny { hide: true, ref step_up, .. } if step_up.is_empty()
    )
}

/// Multi-round state: only multi-round methods accept `inputResponses` / `requestState`;
/// the sealed state is verified against `binding` and opened before the handler sees it.
fn open_state(
    server: &Server,
    envelope: &mut StatelessEnvelope,
    binding: &StateBinding<'_>,
) -> Result<(), Refusal> {
    if (envelope.request_state.is_some() || envelope.input_responses.is_some())
        && !is_multi_round(binding.method)
    {
        return Err((
            StatusCode::BAD_REQUEST,
            ErrorObject::invalid_params(format!(
                "Invalid params: inputResponses and requestState are not accepted on {}",
                binding.method
            )),
        ));
    }
    if let Some(sealed) = envelope.request_state.take() {
        match server.protocol_options().sealer().open(&sealed, binding) {
            Ok(state) => envelope.request_state = Some(state),
            Err(e) => return Err((StatusCode::BAD_REQUEST, e.to_error_object())),
        }
    }
    Ok(())
}

/// Runs the handler; answers JSON, or SSE once the handler emits something and the client
/// accepts it.
#[allow(clippy::too_many_arguments)]
async fn respond(
    server: &Server,
    config: &HttpConfig,
    id: RequestId,
    finish: Finish,
    mut work: Pin<Box<dyn Future<Output = Outcome> + Send>>,
    mut rx: mpsc::UnboundedReceiver<JsonRpcMessage>,
    cancel: CancellationToken,
    sse: bool,
) -> Response<Body> {
    // A client that goes away while we wait for a JSON answer cancels the request.
    let cancel_on_drop = cancel.clone().drop_guard();
    let first = tokio::select! {
        biased;
        outcome = work.as_mut() => Ok(outcome),
        Some(m) = rx.recv() => Err(m),
    };
    let mut early = Vec::new();
    let outcome = match first {
        Ok(outcome) => {
            while let Ok(m) = rx.try_recv() {
                early.push(m);
            }
            outcome
        }
        Err(m) if sse => {
            cancel_on_drop.disarm();
            return stream(
                server.clone(),
                config,
                id,
                finish,
                work,
                rx,
                vec![m],
                cancel,
            );
        }
        // JSON only: notifications cannot reach the client; drop them and wait.
        Err(_) => {
            drop(rx);
            work.await
        }
    };
    cancel_on_drop.disarm();
    let (status, reply) = finalize(server, &finish, id, outcome);
    let Some(reply) = reply else {
        return empty_response(StatusCode::ACCEPTED);
    };
    if early.is_empty() || !sse {
        return reply.into_response(status);
    }
    let mut prefix: VecDeque<Bytes> = early.iter().map(event).collect();
    prefix.push_back(reply.event());
    sse_response(SseBody::new(prefix, None, None, None))
}

/// Streams the handler's notifications, then its answer, as SSE.
#[allow(clippy::too_many_arguments)]
fn stream(
    server: Server,
    config: &HttpConfig,
    id: RequestId,
    finish: Finish,
    work: Pin<Box<dyn Future<Output = Outcome> + Send>>,
    mut rx: mpsc::UnboundedReceiver<JsonRpcMessage>,
    first: Vec<JsonRpcMessage>,
    cancel: CancellationToken,
) -> Response<Body> {
    let (wtx, wrx) = mpsc::channel::<Bytes>(WRITER_CAPACITY);
    let prefix: VecDeque<Bytes> = first.iter().map(event).collect();
    tokio::spawn(async move {
        let mut work = work;
        let outcome = loop {
            tokio::select! {
                biased;
                () = wtx.closed() => {
                    // The client went away: stop the handler.
                    cancel.cancel();
                    return;
                }
                outcome = work.as_mut() => break outcome,
                Some(m) = rx.recv() => {
                    if wtx.send(event(&m)).await.is_err() {
                        cancel.cancel();
                        return;
                    }
                }
            }
        };
        while let Ok(m) = rx.try_recv() {
            if wtx.send(event(&m)).await.is_err() {
                return;
            }
        }
        if let (_, Some(reply)) = finalize(&server, &finish, id, outcome) {
            let _ = wtx.send(reply.event()).await;
        }
    });
    sse_response(SseBody::new(prefix, Some(wrx), config.keep_alive, None))
}

fn event(m: &JsonRpcMessage) -> Bytes {
    encode_event(None, &serde_json::to_vec(m).unwrap_or_default())
}

/// The final answer of a request.
enum Reply {
    Message(JsonRpcMessage),
    Forbidden(Response<Body>),
}

impl Reply {
    fn into_response(self, status: StatusCode) -> Response<Body> {
        match self {
            Reply::Message(m) => json_response(status, &m),
            Reply::Forbidden(res) => res,
        }
    }

    fn event(self) -> Bytes {
        match self {
            Reply::Message(m) => event(&m),
            Reply::Forbidden(_) => event(&JsonRpcMessage::error(
                None,
                ErrorObject::invalid_request("Forbidden: insufficient scope"),
            )),
        }
    }
}

/// Turns the dispatch outcome into the wire answer: seals `requestState`, checks the client
/// capabilities an `input_required` result needs, adds `resultType` and cache hints, maps
/// error codes to HTTP statuses.
fn finalize(
    server: &Server,
    finish: &Finish,
    id: RequestId,
    outcome: Outcome,
) -> (StatusCode, Option<Reply>) {
    match outcome {
        Outcome::Reply(JsonRpcMessage::Response(mut r)) => {
            if let Value::Object(result) = &mut r.result {
                match complete_result(server, finish, result) {
                    Ok(()) => {}
                    Err(e) => {
                        return (
                            StatusCode::BAD_REQUEST,
                            Some(Reply::Message(JsonRpcMessage::error(Some(id), e))),
                        );
                    }
                }
            }
            (
                StatusCode::OK,
                Some(Reply::Message(JsonRpcMessage::Response(r))),
            )
        }
        Outcome::Reply(JsonRpcMessage::Error(mut e)) => {
            e.id = Some(e.id.unwrap_or(id));
            (
                status_of(e.error.code),
                Some(Reply::Message(JsonRpcMessage::Error(e))),
            )
        }
        Outcome::Reply(other) => (StatusCode::OK, Some(Reply::Message(other))),
        Outcome::Forbidden { required, .. } => (
            StatusCode::FORBIDDEN,
            Some(Reply::Forbidden(forbidden_response(
                &finish.parts,
                &required,
            ))),
        ),
        Outcome::NoReply => (StatusCode::ACCEPTED, None),
        #[allow(unreachable_patterns)]
        _ => (StatusCode::ACCEPTED, None),
    }
}

fn complete_result(
    server: &Server,
    finish: &Finish,
    result: &mut Map<String, Value>,
) -> Result<(), ErrorObject> {
    let input_required = result.get("resultType").and_then(Value::as_str) == Some("input_required");
    if input_required {
        if let Some(requests) = result.get("inputRequests") {
            let requests: InputRequests =
                serde_json::from_value(requests.clone()).map_err(|e| {
                    tracing::error!(error = %e, "handler returned malformed inputRequests");
                    ErrorObject::internal_error()
                })?;
            if let Some(required) = missing_capabilities(&requests, &finish.envelope_caps) {
                return Err(missing_capability_error(required));
            }
        }
        if let Some(Value::String(state)) = result.get_mut("requestState") {
            let binding = StateBinding {
                method: &finish.method,
                target: finish.target.as_deref().unwrap_or_default(),
                principal: finish.principal.as_deref(),
            };
            *state = server.protocol_options().sealer().seal(state, &binding);
        }
        return Ok(());
    }
    result
        .entry("resultType")
        .or_insert_with(|| Value::String("complete".into()));
    if CACHEABLE_METHODS.contains(&finish.method.as_str()) {
        let uri = (finish.method == method::RESOURCES_READ)
            .then_some(finish.target.as_deref())
            .flatten();
        let hint = server.protocol_options().cache().hint(&finish.method, uri);
        result
            .entry("ttlMs")
            .or_insert_with(|| Value::from(hint.ttl_ms));
        result
            .entry("cacheScope")
            .or_insert_with(|| serde_json::to_value(hint.scope).unwrap_or(Value::Null));
    }
    Ok(())
}

/// The response channel of one stateless request: drops what the request may not receive
/// (log messages without `logLevel`, server→client requests), tags the rest with the
/// request's trace context.
struct RequestSink {
    tx: mpsc::UnboundedSender<JsonRpcMessage>,
    log_level: Option<LoggingLevel>,
    trace: Option<TraceContext>,
}

impl MessageSink for RequestSink {
    fn send(&self, msg: JsonRpcMessage) -> bool {
        let JsonRpcMessage::Notification(mut n) = msg else {
            // 2026-07-28 has no server→client requests on a response stream.
            tracing::warn!("dropped a server-to-client message on a 2026-07-28 response stream");
            return !self.tx.is_closed();
        };
        if n.method == method::NOTIFICATION_MESSAGE {
            let level = n
                .params
                .as_ref()
                .and_then(|p| p.get("level"))
                .and_then(|l| serde_json::from_value::<LoggingLevel>(l.clone()).ok());
            let allowed = matches!((self.log_level, level), (Some(min), Some(l)) if l >= min);
            if !allowed {
                return !self.tx.is_closed();
            }
        }
        if let Some(trace) = &self.trace {
            let params = n.params.get_or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(p) = params {
                let meta = p
                    .entry("_meta")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(meta) = meta {
                    write_trace(trace, meta);
                }
            }
        }
        self.tx.send(JsonRpcMessage::Notification(n)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_statuses() {
        assert_eq!(status_of(-32601), StatusCode::NOT_FOUND);
        assert_eq!(status_of(-32021), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(-32020), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(-32022), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(-32602), StatusCode::OK);
        assert_eq!(status_of(-32603), StatusCode::OK);
    }

    #[tokio::test]
    async fn sink_filters_logs_and_tags_trace() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let trace = TraceContext {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            ..TraceContext::default()
        };
        let quiet = RequestSink {
            tx: tx.clone(),
            log_level: None,
            trace: Some(trace.clone()),
        };
        let log = JsonRpcMessage::notification(
            "notifications/message",
            Some(serde_json::json!({"level": "error", "data": "x"})),
        );
        assert!(quiet.send(log.clone()));
        assert!(rx.try_recv().is_err());
        let warn = RequestSink {
            tx,
            log_level: Some(LoggingLevel::Warning),
            trace: Some(trace),
        };
        assert!(warn.send(log));
        let got = rx.try_recv().unwrap().to_value();
        assert_eq!(
            got["params"]["_meta"]["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let info = JsonRpcMessage::notification(
            "notifications/message",
            Some(serde_json::json!({"level": "info", "data": "x"})),
        );
        assert!(warn.send(info));
        assert!(rx.try_recv().is_err());
        assert!(warn.send(JsonRpcMessage::request(1, "roots/list", None)));
        assert!(rx.try_recv().is_err());
    }
}
