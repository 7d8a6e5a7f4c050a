//! [`InputRequired`], what a handler returns when it needs client input, and
//! [`InputResponsesExt`], typed access to the answers.

use crate::error::McpError;
use mcp_rs_core::schema::{
    CreateMessageRequest, CreateMessageRequestParams, ElicitRequest, ElicitRequestFormParams,
    ElicitRequestParams, ElicitRequestURLParams, ElicitationSchema, InputRequest, InputRequests,
    InputRequiredResult, ListRootsRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What a handler returns when it needs input from the client before it can finish.
///
/// Return it from a tool (it converts into the tool's result type), a prompt or a resource
/// handler. In the 2026-07-28 era it becomes an `input_required` result; for a handshake-era
/// client the server performs the requests itself (real `elicitation/create`,
/// `sampling/createMessage`, `roots/list`) and calls the handler again with the answers, so one
/// handler body serves both eras.
///
/// Read the answers with `RequestContext::input_response::<T>(key)` and the state with
/// `RequestContext::request_state()`.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct InputRequired {
    requests: InputRequests,
    state: Option<String>,
}

impl InputRequired {
    /// Nothing requested yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the user to fill in a form (`elicitation/create`, form mode).
    pub fn elicit(
        self,
        key: impl Into<String>,
        message: impl Into<String>,
        schema: ElicitationSchema,
    ) -> Self {
        let params = ElicitRequestParams::Form(ElicitRequestFormParams {
            mode: None,
            ..ElicitRequestFormParams::new(message, schema)
        });
        self.request(key, InputRequest::Elicit(ElicitRequest::new(params)))
    }

    /// Sends the user to a URL (`elicitation/create`, URL mode; needs `elicitation.url`).
    pub fn elicit_url(
        self,
        key: impl Into<String>,
        message: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        let params = ElicitRequestParams::Url(ElicitRequestURLParams::new(message, url));
        self.request(key, InputRequest::Elicit(ElicitRequest::new(params)))
    }

    /// Asks the client's model for a completion (`sampling/createMessage`).
    pub fn sample(self, key: impl Into<String>, params: CreateMessageRequestParams) -> Self {
        self.request(
            key,
            InputRequest::CreateMessage(CreateMessageRequest::new(params)),
        )
    }

    /// Asks for the client's roots (`roots/list`).
    pub fn list_roots(self, key: impl Into<String>) -> Self {
        self.request(key, InputRequest::ListRoots(ListRootsRequest::new(None)))
    }

    /// Adds any input request under `key` (a later request with the same key replaces it).
    pub fn request(mut self, key: impl Into<String>, request: InputRequest) -> Self {
        self.requests.insert(key.into(), request);
        self
    }

    /// Attaches state the handler gets back on the retry (`RequestContext::request_state`).
    ///
    /// The server seals it (HMAC) before it leaves; the client cannot alter it, but can read it.
    pub fn state(mut self, state: Value) -> Self {
        self.state = Some(state.to_string());
        self
    }

    /// Like [`state`](Self::state), from any serialisable value.
    ///
    /// # Errors
    /// The serialisation error, when `state` cannot be represented as JSON.
    pub fn try_state<T: Serialize>(mut self, state: &T) -> Result<Self, serde_json::Error> {
        self.state = Some(serde_json::to_string(state)?);
        Ok(self)
    }

    /// The requests added so far.
    #[must_use]
    pub fn requests(&self) -> &InputRequests {
        &self.requests
    }

    /// Whether neither a request nor state was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.state.is_none()
    }

    /// The wire result (with the state still unsealed; the transport seals it).
    pub fn into_result(self) -> InputRequiredResult {
        let requests = (!self.requests.is_empty()).then_some(self.requests);
        InputRequiredResult {
            input_requests: requests,
            ..InputRequiredResult::new(InputRequests::new(), self.state)
        }
    }
}

impl From<InputRequired> for InputRequiredResult {
    fn from(i: InputRequired) -> Self {
        i.into_result()
    }
}

impl From<InputRequired> for McpError {
    fn from(i: InputRequired) -> Self {
        McpError::input_required(i.into_result())
    }
}

/// Typed access to the answers of a multi-round request.
///
/// ```no_run
/// use mcp_rs_server::RequestContext;
/// use mcp_rs_server::protocol::mrtr::{InputRequired, InputResponsesExt};
/// use mcp_rs_core::schema::{ElicitResult, ElicitationSchema, StringSchema};
///
/// async fn greet(ctx: RequestContext) -> Result<String, mcp_rs_server::McpError> {
///     let Some(answer) = ctx.input_response_as::<ElicitResult>("user_name")? else {
///         let schema = ElicitationSchema::new().property("name", StringSchema::default(), true);
///         return Err(InputRequired::new().elicit("user_name", "What is your name?", schema).into());
///     };
///     let name = answer.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
///     Ok(format!("Hello, {name}!"))
/// }
/// ```
pub trait InputResponsesExt: Sealed {
    /// The answer under `key` as `T` (`ElicitResult`, `CreateMessageResult`, `ListRootsResult`,
    /// or any type of the same shape); `Ok(None)` when the client sent no answer for `key`.
    ///
    /// # Errors
    /// `-32602` when the answer does not have the shape of `T`.
    fn input_response_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, McpError>;

    /// The state attached with [`InputRequired::state`], parsed as `T`; `Ok(None)` on the
    /// first round.
    ///
    /// # Errors
    /// `-32602` when the state does not have the shape of `T`.
    fn request_state_as<T: DeserializeOwned>(&self) -> Result<Option<T>, McpError>;
}

/// Seals [`InputResponsesExt`]: implemented by `RequestContext` only (in the context module,
/// which this protocol layer does not import).
pub trait Sealed {}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_rs_core::schema::{SamplingMessage, StringSchema};
    use serde_json::json;

    #[test]
    fn builder_produces_wire_shape() {
        let r = InputRequired::new()
            .elicit(
                "user_name",
                "What is your name?",
                ElicitationSchema::new().property("name", StringSchema::default(), true),
            )
            .sample(
                "greeting",
                CreateMessageRequestParams::new(vec![SamplingMessage::user_text("Hi")], 50),
            )
            .list_roots("client_roots")
            .state(json!({"n": 1}))
            .into_result();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["resultType"], "input_required");
        assert_eq!(v["requestState"], r#"{"n":1}"#);
        assert_eq!(
            v["inputRequests"]["user_name"]["method"],
            "elicitation/create"
        );
        assert_eq!(
            v["inputRequests"]["user_name"]["params"]["message"],
            "What is your name?"
        );
        assert_eq!(
            v["inputRequests"]["user_name"]["params"]["requestedSchema"]["required"],
            json!(["name"])
        );
        assert_eq!(
            v["inputRequests"]["greeting"]["method"],
            "sampling/createMessage"
        );
        assert_eq!(v["inputRequests"]["greeting"]["params"]["maxTokens"], 50);
        assert_eq!(
            v["inputRequests"]["client_roots"],
            json!({"method": "roots/list"})
        );
        let state_only = InputRequired::new().state(json!(1)).into_result();
        assert_eq!(
            serde_json::to_value(&state_only).unwrap(),
            json!({"resultType": "input_required", "requestState": "1"})
        );
    }
}
