//! Requests a handler sends to the client: sampling, elicitation, roots, any request.

use super::schema::elicitation_schema;
use super::{ElicitResponse, RequestContext};
use crate::error::{ErrorKind, McpError};
use crate::session::MessageSink;
use crate::session::{Pending, PendingFull};
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::method;
use mcp_rs_core::schema::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitResult, ListRootsResult, Root,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

impl RequestContext {
    /// Sends a request to the client and waits for its result (up to the server's request
    /// timeout, 60 s by default).
    ///
    /// The request counts against the bounds of
    /// [`ServerBuilder::max_pending_requests`](crate::builder::ServerBuilder::max_pending_requests)
    /// until it is answered, times out, is cancelled, or this handler's future is dropped.
    ///
    /// # Errors
    /// The client's JSON-RPC error ([`ErrorKind::Protocol`]); [`ErrorKind::Timeout`];
    /// [`ErrorKind::Cancelled`] when this request is cancelled meanwhile;
    /// [`ErrorKind::TooManyPendingRequests`] (nothing sent) when the session or the server
    /// already waits for as many answers as allowed; an internal error when the transport
    /// cannot carry server→client requests (stateless era, or no channel).
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
        let (pending, per_session): (&Pending, bool) = match self.0.session.as_ref() {
            Some(s) => (&s.pending, true),
            None => (&server.pending, false),
        };
        let id = RequestId::Number(server.next_peer_id());
        // Dropped on every way out (including this future being dropped): the entry and its
        // server-wide slot are released.
        let (_entry, rx) = pending
            .insert(id.clone(), &server.pending_limits, per_session)
            .map_err(|full| {
                let (limit, scope) = match full {
                    PendingFull::Session(n) => (n, "session"),
                    PendingFull::Server(n) => (n, "server"),
                };
                McpError::new(ErrorKind::TooManyPendingRequests { limit, scope })
            })?;
        let params = match params {
            Value::Null => None,
            p => Some(p),
        };
        if !sink.send(JsonRpcMessage::request(id.clone(), method, params)) {
            return Err(McpError::new(ErrorKind::Cancelled));
        }
        let timeout = server.options.request_timeout;
        tokio::select! {
            r = rx => match r {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(McpError::protocol(e)),
                Err(_) => Err(McpError::new(ErrorKind::Cancelled)),
            },
            () = tokio::time::sleep(timeout) => {
                self.cancel_peer(&sink, &id, "timed out");
                Err(McpError::new(ErrorKind::Timeout { method: method.to_owned() }))
            }
            () = self.0.cancel.cancelled() => {
                self.cancel_peer(&sink, &id, "the request that needed it was cancelled");
                Err(McpError::new(ErrorKind::Cancelled))
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
}
