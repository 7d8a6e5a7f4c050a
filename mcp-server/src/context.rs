//! [`RequestContext`]: everything a handler knows about the request it serves, and the
//! calls it can make back to the client (progress, logging, sampling, elicitation, roots).

use crate::error::{ErrorKind, McpError};
use crate::identity::OAuthContext;
use crate::protocol::TraceContext;
use crate::server::ServerInner;
use crate::session::MessageSink;
use crate::session::{PeerInfo, Pending, Session};
use mcp_core::ProtocolVersion;
use mcp_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_core::method;
use mcp_core::schema::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitResult, Implementation, InputResponse, InputResponses, ListRootsResult, LoggingLevel,
    LoggingMessageNotificationParams, Meta, ProgressNotificationParams, ProgressToken, Root,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The answer to a form elicitation ([`RequestContext::elicit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElicitResponse<T> {
    /// The user submitted the form.
    Accept(T),
    /// The user declined.
    Decline,
    /// The user dismissed the request.
    Cancel,
}

/// Per-request data handed to every handler. Cheap to clone.
///
/// ```
/// use mcp_server::prelude::*;
/// use mcp_server::tool::ToolDef;
/// use mcp_server::transport::memory;
/// use serde_json::{Map, Value, json};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let whoami = ToolDef::builder("whoami").handler_fn(|ctx: RequestContext, _a: Map<String, Value>| async move {
///     let client = ctx.client_info().map(|i| i.name.clone()).unwrap_or_default();
///     format!("{} from {client}", ctx.method())
/// });
/// let server = Server::builder().tool(whoami).build();
/// let client = memory::connect(&server);
/// client.initialize().await.unwrap();
/// let result = client.request("tools/call", json!({"name": "whoami"})).await.unwrap();
/// assert!(result["content"][0]["text"].as_str().unwrap().starts_with("tools/call from "));
/// # }
/// ```
#[derive(Clone)]
pub struct RequestContext(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) request_id: RequestId,
    pub(crate) method: String,
    pub(crate) meta: Option<Meta>,
    pub(crate) progress_token: Option<ProgressToken>,
    pub(crate) protocol_version: ProtocolVersion,
    pub(crate) peer: Option<Arc<PeerInfo>>,
    pub(crate) session: Option<Arc<Session>>,
    pub(crate) cancel: CancellationToken,
    #[cfg(feature = "http")]
    pub(crate) http: Option<Arc<http::request::Parts>>,
    pub(crate) oauth: Option<Arc<OAuthContext>>,
    pub(crate) trace: Option<TraceContext>,
    pub(crate) input_responses: Option<InputResponses>,
    pub(crate) request_state: Option<String>,
    pub(crate) log_level: Option<LoggingLevel>,
    pub(crate) stateless: bool,
    pub(crate) related: Option<Arc<dyn MessageSink>>,
    pub(crate) server: Arc<ServerInner>,
}

impl RequestContext {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        RequestContext(Arc::new(inner))
    }

    /// A copy of this context carrying the answers of an input round (the handshake-era
    /// multi-round shim, `protocol::mrtr`).
    pub(crate) fn with_input(&self, responses: InputResponses, state: Option<String>) -> Self {
        let i = &*self.0;
        RequestContext(Arc::new(Inner {
            request_id: i.request_id.clone(),
            method: i.method.clone(),
            meta: i.meta.clone(),
            progress_token: i.progress_token.clone(),
            protocol_version: i.protocol_version,
            peer: i.peer.clone(),
            session: i.session.clone(),
            cancel: i.cancel.clone(),
            #[cfg(feature = "http")]
            http: i.http.clone(),
            oauth: i.oauth.clone(),
            trace: i.trace.clone(),
            input_responses: Some(responses),
            request_state: state,
            log_level: i.log_level,
            stateless: i.stateless,
            related: i.related.clone(),
            server: i.server.clone(),
        }))
    }

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

    fn sink(&self) -> Option<Arc<dyn MessageSink>> {
        self.0
            .related
            .clone()
            .or_else(|| self.0.session.as_ref().and_then(|s| s.outbound()))
    }

    /// Sends a notification related to this request. Best effort: when there is no channel to
    /// the client (a plain JSON HTTP response), the notification is dropped.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for transports that can report failures.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), McpError> {
        if let Some(sink) = self.sink() {
            let params = match params {
                Value::Null => None,
                p => Some(p),
            };
            sink.send(JsonRpcMessage::notification(method, params));
        }
        Ok(())
    }

    /// Reports progress (`notifications/progress`) under the request's progress token.
    ///
    /// A no-op when the client sent no progress token, and best effort like
    /// [`notify`](Self::notify): there is nothing to check or ignore. Use
    /// [`progress_token`](Self::progress_token) to learn whether the client asked for progress.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = self.0.progress_token.clone() else {
            return;
        };
        let params = ProgressNotificationParams::new(token, progress, total, message);
        // Serializing the params (a token, numbers, a string) cannot fail.
        if let Ok(params) = serde_json::to_value(params) {
            let _ = self.notify(method::NOTIFICATION_PROGRESS, params).await;
        }
    }

    /// Sends a log message (`notifications/message`) if `level` passes the client's level.
    ///
    /// # Errors
    /// See [`notify`](Self::notify).
    pub async fn log(&self, level: LoggingLevel, data: impl Into<Value>) -> Result<(), McpError> {
        self.log_to(None, level, data).await
    }

    /// Like [`log`](Self::log), naming the logger.
    ///
    /// # Errors
    /// See [`notify`](Self::notify).
    pub async fn log_to(
        &self,
        logger: Option<&str>,
        level: LoggingLevel,
        data: impl Into<Value>,
    ) -> Result<(), McpError> {
        match self.log_level() {
            Some(min) if level >= min => {}
            _ => return Ok(()),
        }
        let params =
            LoggingMessageNotificationParams::new(level, logger.map(str::to_owned), data.into());
        self.notify(
            method::NOTIFICATION_MESSAGE,
            serde_json::to_value(params).map_err(McpError::internal)?,
        )
        .await
    }

    /// Sends a request to the client and waits for its result (up to the server's request
    /// timeout, 60 s by default).
    ///
    /// # Errors
    /// The client's JSON-RPC error ([`ErrorKind::Protocol`]); [`ErrorKind::Timeout`];
    /// [`ErrorKind::Cancelled`] when this request is cancelled meanwhile; an internal error
    /// when the transport cannot carry server→client requests (stateless era, or no channel).
    pub async fn send_request(&self, method: &str, params: Value) -> Result<Value, McpError> {
        if self.0.protocol_version.is_stateless() {
            return Err(McpError::internal(format!(
                "cannot send {method} to the client: server-to-client requests do not exist in protocol {}; \
                 return an input_required result instead",
                self.0.protocol_version
            )));
        }
        let Some(sink) = self.sink() else {
            return Err(McpError::internal(format!(
                "cannot send {method}: no channel to the client"
            )));
        };
        let server = &self.0.server;
        let pending: &Pending = self
            .0
            .session
            .as_ref()
            .map_or(&server.pending, |s| &s.pending);
        let id = RequestId::Number(server.next_peer_id());
        let rx = pending.insert(id.clone());
        let params = match params {
            Value::Null => None,
            p => Some(p),
        };
        if !sink.send(JsonRpcMessage::request(id.clone(), method, params)) {
            pending.remove(&id);
            return Err(McpError::new(ErrorKind::Cancelled));
        }
        let timeout = server.options.request_timeout;
        let outcome = tokio::select! {
            r = rx => Some(r),
            () = tokio::time::sleep(timeout) => None,
            () = self.0.cancel.cancelled() => {
                pending.remove(&id);
                self.cancel_peer(&sink, &id, "the request that needed it was cancelled");
                return Err(McpError::new(ErrorKind::Cancelled));
            }
        };
        match outcome {
            Some(Ok(Ok(v))) => Ok(v),
            Some(Ok(Err(e))) => Err(McpError::protocol(e)),
            Some(Err(_)) => Err(McpError::new(ErrorKind::Cancelled)),
            None => {
                pending.remove(&id);
                self.cancel_peer(&sink, &id, "timed out");
                Err(McpError::new(ErrorKind::Timeout {
                    method: method.to_owned(),
                }))
            }
        }
    }

    fn cancel_peer(&self, sink: &Arc<dyn MessageSink>, id: &RequestId, reason: &str) {
        sink.send(JsonRpcMessage::notification(
            method::NOTIFICATION_CANCELLED,
            Some(json!({ "requestId": id, "reason": reason })),
        ));
    }

    fn caps(&self) -> Option<&ClientCapabilities> {
        self.client_capabilities()
    }

    /// Asks the client to sample from its LLM (`sampling/createMessage`).
    ///
    /// # Errors
    /// [`ErrorKind::MissingClientCapability`] when the client did not declare `sampling`
    /// (or `sampling.tools` when `params.tools` is set); otherwise as
    /// [`send_request`](Self::send_request).
    pub async fn sample(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, McpError> {
        let Some(sampling) = self.caps().and_then(|c| c.sampling.as_ref()) else {
            return Err(McpError::missing_client_capability("sampling"));
        };
        if (params.tools.is_some() || params.tool_choice.is_some()) && sampling.tools.is_none() {
            return Err(McpError::missing_client_capability("sampling.tools"));
        }
        let params = serde_json::to_value(params).map_err(McpError::internal)?;
        let v = self
            .send_request(method::SAMPLING_CREATE_MESSAGE, params)
            .await?;
        serde_json::from_value(v)
            .map_err(|e| McpError::internal(format!("malformed sampling result from client: {e}")))
    }

    /// Asks the user to fill a form whose schema comes from `T` (flat object of strings,
    /// numbers, booleans and enums). The schema is generated once per type.
    ///
    /// # Errors
    /// [`ErrorKind::MissingClientCapability`] without `elicitation` (form mode);
    /// -32602 when the submitted values do not match `T`; otherwise as
    /// [`send_request`](Self::send_request).
    pub async fn elicit<T: DeserializeOwned + JsonSchema + 'static>(
        &self,
        message: impl Into<String>,
    ) -> Result<ElicitResponse<T>, McpError> {
        if !self
            .caps()
            .and_then(|c| c.elicitation.as_ref())
            .is_some_and(|e| e.supports_form())
        {
            return Err(McpError::missing_client_capability("elicitation.form"));
        }
        let schema = elicitation_schema::<T>();
        let params = json!({ "message": message.into(), "requestedSchema": &*schema });
        let v = self
            .send_request(method::ELICITATION_CREATE, params)
            .await?;
        let result: ElicitResult = serde_json::from_value(v)
            .map_err(|e| McpError::internal(format!("malformed elicitation result: {e}")))?;
        Ok(match result.action {
            ElicitAction::Accept => {
                let content = Value::Object(result.content.unwrap_or_default());
                let value = serde_json::from_value(content).map_err(|e| {
                    McpError::invalid_params(format!("elicited values do not match the form: {e}"))
                })?;
                ElicitResponse::Accept(value)
            }
            ElicitAction::Decline => ElicitResponse::Decline,
            ElicitAction::Cancel => ElicitResponse::Cancel,
        })
    }

    /// Asks the user to visit `url` (URL-mode elicitation, 2025-11-25+). `elicitation_id`
    /// identifies the flow in a later `notifications/elicitation/complete`.
    ///
    /// # Errors
    /// [`ErrorKind::MissingClientCapability`] without `elicitation.url`; otherwise as
    /// [`send_request`](Self::send_request).
    pub async fn elicit_url(
        &self,
        message: impl Into<String>,
        url: impl Into<String>,
        elicitation_id: impl Into<String>,
    ) -> Result<ElicitAction, McpError> {
        if !self
            .caps()
            .and_then(|c| c.elicitation.as_ref())
            .is_some_and(|e| e.supports_url())
        {
            return Err(McpError::missing_client_capability("elicitation.url"));
        }
        let params = json!({
            "mode": "url",
            "message": message.into(),
            "url": url.into(),
            "elicitationId": elicitation_id.into(),
        });
        let v = self
            .send_request(method::ELICITATION_CREATE, params)
            .await?;
        let result: ElicitResult = serde_json::from_value(v)
            .map_err(|e| McpError::internal(format!("malformed elicitation result: {e}")))?;
        Ok(result.action)
    }

    /// Asks the client for its filesystem roots (`roots/list`).
    ///
    /// # Errors
    /// [`ErrorKind::MissingClientCapability`] without `roots`; otherwise as
    /// [`send_request`](Self::send_request).
    pub async fn list_roots(&self) -> Result<Vec<Root>, McpError> {
        if self.caps().and_then(|c| c.roots.as_ref()).is_none() {
            return Err(McpError::missing_client_capability("roots"));
        }
        let v = self.send_request(method::ROOTS_LIST, json!({})).await?;
        let r: ListRootsResult = serde_json::from_value(v)
            .map_err(|e| McpError::internal(format!("malformed roots result: {e}")))?;
        Ok(r.roots)
    }

    /// The server's timeout for server→client requests.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.0.server.options.request_timeout
    }
}

impl crate::protocol::mrtr::Sealed for RequestContext {}

impl crate::protocol::mrtr::InputResponsesExt for RequestContext {
    fn input_response_as<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, McpError> {
        let Some(answer) = self.input_response(key) else {
            return Ok(None);
        };
        let value = serde_json::to_value(answer).map_err(McpError::internal)?;
        serde_json::from_value(value).map(Some).map_err(|e| {
            McpError::invalid_params(format!("Invalid params: inputResponses[\"{key}\"]: {e}"))
        })
    }

    fn request_state_as<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, McpError> {
        let Some(state) = self.request_state() else {
            return Ok(None);
        };
        serde_json::from_str(state)
            .map(Some)
            .map_err(|e| McpError::invalid_params(format!("Invalid params: requestState: {e}")))
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.0.request_id)
            .field("method", &self.0.method)
            .field("protocol_version", &self.0.protocol_version)
            .field("session", &self.0.session.as_ref().map(|s| s.id()))
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// The `requestedSchema` for `T`, generated once per type: schemars output with subschemas
/// inlined, `Option<X>` fields reduced to `X` and JSON Schema keywords elicitation does not
/// use removed.
fn elicitation_schema<T: JsonSchema + 'static>() -> Arc<Value> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = crate::session::lock(cache).get(&TypeId::of::<T>()) {
        return s.clone();
    }
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    let mut out = Map::new();
    out.insert("type".into(), Value::String("object".into()));
    let mut props = Map::new();
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in p {
            props.insert(name.clone(), flatten_nullable(prop.clone()));
        }
    }
    out.insert("properties".into(), Value::Object(props));
    if let Some(r) = schema.get("required") {
        out.insert("required".into(), r.clone());
    }
    let schema = Arc::new(Value::Object(out));
    crate::session::lock(cache).insert(TypeId::of::<T>(), schema.clone());
    schema
}

/// `{"type": ["string", "null"]}` → `{"type": "string"}`; `{"anyOf": [X, {"type":"null"}]}` → X.
fn flatten_nullable(mut prop: Value) -> Value {
    if let Some(obj) = prop.as_object_mut() {
        if let Some(Value::Array(types)) = obj.get("type") {
            let non_null: Vec<_> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .cloned()
                .collect();
            if non_null.len() == 1 {
                obj.insert("type".into(), non_null[0].clone());
            }
        }
        if let Some(Value::Array(any)) = obj.get("anyOf") {
            let non_null: Vec<_> = any
                .iter()
                .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                .cloned()
                .collect();
            if non_null.len() == 1 {
                let mut inner = non_null[0].clone();
                if let (Some(inner_obj), Some(desc)) =
                    (inner.as_object_mut(), obj.get("description"))
                {
                    inner_obj
                        .entry("description")
                        .or_insert_with(|| desc.clone());
                }
                return inner;
            }
        }
        if let Some(Value::Array(e)) = obj.get("enum") {
            let non_null: Vec<_> = e.iter().filter(|v| !v.is_null()).cloned().collect();
            obj.insert("enum".into(), Value::Array(non_null));
        }
        obj.remove("default")
            .filter(|d| !d.is_null())
            .map(|d| obj.insert("default".into(), d));
    }
    prop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Form {
        /// Your name.
        name: String,
        age: Option<u32>,
        color: Color,
    }

    #[test]
    fn elicitation_schema_is_flat() {
        let s = elicitation_schema::<Form>();
        assert_eq!(s["type"], "object");
        assert_eq!(
            s["properties"]["name"],
            json!({"type": "string", "description": "Your name."})
        );
        assert_eq!(s["properties"]["age"]["type"], "integer");
        assert_eq!(s["properties"]["color"]["enum"], json!(["red", "green"]));
        assert_eq!(s["required"], json!(["name", "color"]));
        assert!(Arc::ptr_eq(&s, &elicitation_schema::<Form>()));
    }

    #[test]
    fn trace_context_from_meta() {
        let meta: Meta = serde_json::from_value(json!({"traceparent": "00-abc-def-01"})).unwrap();
        let t = TraceContext::from_meta(&meta).unwrap();
        assert_eq!(t.traceparent.as_deref(), Some("00-abc-def-01"));
        assert!(TraceContext::from_meta(&Meta::new()).is_none());
    }
}
