//! [`RequestContext`]: everything a handler knows about the request it serves, and the
//! calls it can make back to the client (progress, logging, sampling, elicitation, roots).

mod accessors;
mod notify;
mod peer;
mod schema;
mod task;

pub(crate) use task::{StartReply, TaskLink};

use crate::error::McpError;
use crate::identity::OAuthContext;
use crate::protocol::TraceContext;
use crate::server::ServerInner;
use crate::session::MessageSink;
use crate::session::{PeerInfo, Session};
use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::jsonrpc::RequestId;
use mcp_rs_core::schema::{InputResponses, LoggingLevel, Meta, ProgressToken};
use std::fmt;
use std::sync::Arc;
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
/// use mcp_rs_server::prelude::*;
/// use mcp_rs_server::tool::ToolDef;
/// use mcp_rs_server::transport::memory;
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
    /// The task this call runs in or may become (tasks extension).
    pub(crate) task: Option<Arc<TaskLink>>,
}

impl RequestContext {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        RequestContext(Arc::new(inner))
    }

    /// A copy of this context carrying the answers of an input round (the handshake-era
    /// multi-round shim, `protocol::mrtr`, and input rounds inside tasks).
    pub(crate) fn with_input(&self, responses: InputResponses, state: Option<String>) -> Self {
        let mut inner = self.copy();
        inner.input_responses = Some(responses);
        inner.request_state = state;
        RequestContext(Arc::new(inner))
    }

    /// A copy of this context for a call that runs (or may become) a task: its own
    /// cancellation, no related-request stream (the request is answered before the task
    /// ends), and the link to the task.
    pub(crate) fn for_task(&self, cancel: CancellationToken, link: Arc<TaskLink>) -> Self {
        let mut inner = self.copy();
        inner.cancel = cancel;
        inner.related = None;
        inner.task = Some(link);
        RequestContext(Arc::new(inner))
    }

    fn copy(&self) -> Inner {
        let i = &*self.0;
        Inner {
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
            input_responses: i.input_responses.clone(),
            request_state: i.request_state.clone(),
            log_level: i.log_level,
            stateless: i.stateless,
            related: i.related.clone(),
            server: i.server.clone(),
            task: i.task.clone(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trace_context_from_meta() {
        let meta: Meta = serde_json::from_value(json!({"traceparent": "00-abc-def-01"})).unwrap();
        let t = TraceContext::from_meta(&meta).unwrap();
        assert_eq!(t.traceparent.as_deref(), Some("00-abc-def-01"));
        assert!(TraceContext::from_meta(&Meta::new()).is_none());
    }
}
