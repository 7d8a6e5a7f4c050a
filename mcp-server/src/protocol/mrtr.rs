//! Multi-round-trip requests (SEP-2322): `input_required` results, sealed `requestState`.
//!
//! In the 2026-07-28 era a server never sends requests to the client. A `tools/call`,
//! `prompts/get` or `resources/read` handler that needs the user (elicitation), the model
//! (sampling) or the client's roots returns an [`InputRequired`] instead; the client answers
//! every input request and retries the original request with `inputResponses` and the echoed
//! `requestState`. The handler then reads the answers from its
//! [`RequestContext`](crate::RequestContext).
//!
//! `requestState` travels through the client, so the server seals it: [`StateSealer`] signs the
//! state with HMAC-SHA256 under a server key (at least 32 bytes), binds it to the request
//! (method and tool/prompt name or resource URI) and gives it an expiry. A tampered, expired or
//! misdirected state is refused with `-32602`. The state is signed, **not encrypted**: the
//! client can read it, so keep secrets out of it.
//!
//! ```
//! use mcp_server::protocol::mrtr::InputRequired;
//! use mcp_core::schema::{ElicitationSchema, StringSchema};
//! use serde_json::json;
//!
//! let ask = InputRequired::new()
//!     .elicit("user_name", "What is your name?",
//!             ElicitationSchema::new().property("name", StringSchema::default(), true))
//!     .list_roots("roots")
//!     .state(json!({"step": 1}));
//! let result = ask.into_result();
//! assert_eq!(result.input_requests.as_ref().map(|r| r.len()), Some(2));
//! ```

use crate::context::RequestContext;
use crate::error::{ErrorKind, McpError};
use crate::prompt::IntoGetPromptResult;
use crate::resource::IntoReadResourceResult;
use crate::server::Server;
use crate::tool::IntoCallToolResult;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use mcp_core::ErrorObject;
use mcp_core::schema::{
    CallToolResult, ClientCapabilities, CreateMessageRequest, CreateMessageRequestParams,
    ElicitRequest, ElicitRequestFormParams, ElicitRequestParams, ElicitRequestURLParams,
    ElicitationSchema, GetPromptResult, InputRequest, InputRequests, InputRequiredResult,
    InputResponse, InputResponses, ListRootsRequest, ReadResourceResult,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// The shortest accepted HMAC key, in bytes.
pub const MIN_KEY_LEN: usize = 32;
/// How long a sealed `requestState` stays valid unless configured otherwise.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(600);
/// The longest `requestState` accepted from a client, in bytes.
pub const MAX_SEALED_LEN: usize = 64 * 1024;

const TOKEN_PREFIX: &str = "mrs1.";
const MAC_DOMAIN: &[u8] = b"mcp-rs/requestState/v1\0";

type HmacSha256 = Hmac<Sha256>;

/// The key was shorter than [`MIN_KEY_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTooShort {
    len: usize,
}

impl fmt::Display for KeyTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requestState HMAC key must be at least {MIN_KEY_LEN} bytes (got {})",
            self.len
        )
    }
}

impl std::error::Error for KeyTooShort {}

/// Which request a sealed state belongs to: a state minted for one tool is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBinding<'a> {
    /// The JSON-RPC method (`tools/call`, `prompts/get`, `resources/read`).
    pub method: &'a str,
    /// The tool or prompt name, or the resource URI.
    pub target: &'a str,
    /// The authenticated principal, when the request carries one
    /// ([`OAuthContext::principal_key`](crate::identity::OAuthContext::principal_key)).
    pub principal: Option<&'a str>,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// Not a state this server minted (bad format, bad encoding, too long).
    Malformed,
    /// The signature does not verify: the state was altered or signed with another key.
    Tampered,
    /// The state is past its expiry.
    Expired,
    /// The state was minted for another request (method, name or principal differ).
    WrongRequest,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateError::Malformed => "requestState is malformed",
            StateError::Tampered => "requestState failed its integrity check",
            StateError::Expired => "requestState has expired",
            StateError::WrongRequest => "requestState belongs to a different request",
        })
    }
}

impl std::error::Error for StateError {}

impl StateError {
    /// The JSON-RPC error sent to the client: `-32602` (Invalid params).
    #[must_use]
    pub fn to_error_object(self) -> ErrorObject {
        ErrorObject::invalid_params(format!("Invalid requestState: {self}"))
    }
}

impl From<StateError> for ErrorObject {
    fn from(e: StateError) -> Self {
        e.to_error_object()
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed<'a> {
    /// The handler's state, verbatim.
    s: std::borrow::Cow<'a, str>,
    /// Expiry, seconds since the Unix epoch.
    x: u64,
    /// Method.
    m: std::borrow::Cow<'a, str>,
    /// Target (tool/prompt name or URI).
    t: std::borrow::Cow<'a, str>,
    /// Principal, when bound to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<std::borrow::Cow<'a, str>>,
}

/// Seals and opens `requestState` values with HMAC-SHA256.
///
/// Token: `mrs1.` + base64url(JSON payload) + `.` + base64url(HMAC-SHA256(key, domain ‖ payload)).
/// The tag is compared in constant time.
#[derive(Clone)]
pub struct StateSealer {
    key: std::sync::Arc<[u8]>,
    ttl: Duration,
}

impl fmt::Debug for StateSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSealer")
            .field("key", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl StateSealer {
    /// A sealer with this key and the default lifetime ([`DEFAULT_STATE_TTL`]).
    ///
    /// Use the same key on every instance behind a load balancer, so that a retry may land on
    /// any of them.
    ///
    /// # Errors
    /// [`KeyTooShort`] when `key` has fewer than [`MIN_KEY_LEN`] bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, KeyTooShort> {
        let key = key.as_ref();
        if key.len() < MIN_KEY_LEN {
            return Err(KeyTooShort { len: key.len() });
        }
        Ok(StateSealer {
            key: key.into(),
            ttl: DEFAULT_STATE_TTL,
        })
    }

    /// A sealer with a fresh random 32-byte key: states do not survive a restart and are not
    /// accepted by other instances.
    #[must_use]
    pub fn random() -> Self {
        let key: [u8; 32] = rand::random();
        StateSealer {
            key: key.as_slice().into(),
            ttl: DEFAULT_STATE_TTL,
        }
    }

    /// Sets how long a sealed state stays valid.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The configured lifetime.
    #[must_use]
    pub fn state_ttl(&self) -> Duration {
        self.ttl
    }

    /// Seals `state` for the request described by `binding`.
    #[must_use]
    pub fn seal(&self, state: &str, binding: &StateBinding<'_>) -> String {
        self.seal_at(state, binding, now_secs())
    }

    /// Verifies a sealed state and returns the handler's original state.
    ///
    /// # Errors
    /// A [`StateError`]; map it to the wire with [`StateError::to_error_object`] (`-32602`).
    pub fn open(&self, sealed: &str, binding: &StateBinding<'_>) -> Result<String, StateError> {
        self.open_at(sealed, binding, now_secs())
    }

    fn mac(&self, payload_b64: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(MAC_DOMAIN);
        mac.update(payload_b64.as_bytes());
        mac
    }

    fn seal_at(&self, state: &str, binding: &StateBinding<'_>, now: u64) -> String {
        let payload = Sealed {
            s: state.into(),
            x: now.saturating_add(self.ttl.as_secs()),
            m: binding.method.into(),
            t: binding.target.into(),
            p: binding.principal.map(Into::into),
        };
        // Serialising a struct of strings and an integer cannot fail.
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let payload_b64 = URL_SAFE_NO_PAD.encode(json);
        let tag = self.mac(&payload_b64).finalize().into_bytes();
        format!(
            "{TOKEN_PREFIX}{payload_b64}.{}",
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    fn open_at(
        &self,
        sealed: &str,
        binding: &StateBinding<'_>,
        now: u64,
    ) -> Result<String, StateError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(StateError::Malformed);
        }
        let body = sealed
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(StateError::Malformed)?;
        let (payload_b64, tag_b64) = body.split_once('.').ok_or(StateError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag_b64)
            .map_err(|_| StateError::Tampered)?;
        let expected = self.mac(payload_b64).finalize().into_bytes();
        if tag.len() != expected.len() || !bool::from(expected[..].ct_eq(&tag)) {
            return Err(StateError::Tampered);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| StateError::Malformed)?;
        let payload: Sealed<'_> =
            serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
        if payload.m != binding.method
            || payload.t != binding.target
            || payload.p.as_deref() != binding.principal
        {
            return Err(StateError::WrongRequest);
        }
        if now > payload.x {
            return Err(StateError::Expired);
        }
        Ok(payload.s.into_owned())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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

impl IntoCallToolResult for InputRequired {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Err(self.into())
    }
}

impl IntoGetPromptResult for InputRequired {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        Err(self.into())
    }
}

impl IntoReadResourceResult for InputRequired {
    fn into_read_resource_result(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        Err(self.into())
    }
}

/// Typed access to the answers of a multi-round request.
///
/// ```no_run
/// use mcp_server::RequestContext;
/// use mcp_server::protocol::mrtr::{InputRequired, InputResponsesExt};
/// use mcp_core::schema::{ElicitResult, ElicitationSchema, StringSchema};
///
/// async fn greet(ctx: RequestContext) -> Result<String, mcp_server::McpError> {
///     let Some(answer) = ctx.input_response_as::<ElicitResult>("user_name")? else {
///         let schema = ElicitationSchema::new().property("name", StringSchema::default(), true);
///         return Err(InputRequired::new().elicit("user_name", "What is your name?", schema).into());
///     };
///     let name = answer.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
///     Ok(format!("Hello, {name}!"))
/// }
/// ```
pub trait InputResponsesExt: sealed::Sealed {
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

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::context::RequestContext {}
}

impl InputResponsesExt for RequestContext {
    fn input_response_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, McpError> {
        let Some(answer) = self.input_response(key) else {
            return Ok(None);
        };
        let value = serde_json::to_value(answer).map_err(McpError::internal)?;
        serde_json::from_value(value).map(Some).map_err(|e| {
            McpError::invalid_params(format!("Invalid params: inputResponses[\"{key}\"]: {e}"))
        })
    }

    fn request_state_as<T: DeserializeOwned>(&self) -> Result<Option<T>, McpError> {
        let Some(state) = self.request_state() else {
            return Ok(None);
        };
        serde_json::from_str(state)
            .map(Some)
            .map_err(|e| McpError::invalid_params(format!("Invalid params: requestState: {e}")))
    }
}

/// Whether requests of `method` may be answered with `input_required` (SEP-2322).
#[must_use]
pub fn is_multi_round(method: &str) -> bool {
    matches!(
        method,
        mcp_core::method::TOOLS_CALL
            | mcp_core::method::PROMPTS_GET
            | mcp_core::method::RESOURCES_READ
    )
}

/// Routes a request, serving handshake-era clients whose handler asked for input: the input
/// requests are sent as real server→client requests (`elicitation/create`,
/// `sampling/createMessage`, `roots/list`, one after the other), and the handler runs again
/// with the answers and its state, at most [`ProtocolOptions::max_input_rounds`] more times.
/// Stateless-era requests pass through (their `input_required` result goes to the client).
///
/// [`ProtocolOptions::max_input_rounds`]: super::ProtocolOptions::max_input_rounds
pub(crate) async fn route(
    server: &Server,
    name: &str,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    if ctx.protocol_version().is_stateless() || !is_multi_round(name) {
        return crate::handler::route(server, name, ctx, params).await;
    }
    let rounds = server.protocol_options().input_rounds();
    let mut ctx = ctx;
    let mut round = 0;
    loop {
        let error = match crate::handler::route(server, name, ctx.clone(), params.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !matches!(error.kind(), ErrorKind::InputRequired(_)) {
            return Err(error);
        }
        let ErrorKind::InputRequired(result) = error.into_kind() else {
            return Err(McpError::internal("input_required result vanished"));
        };
        if round == rounds {
            return Err(McpError::internal(format!(
                "{name} still asked for client input after {rounds} rounds"
            )));
        }
        round += 1;
        let answers = perform_inputs(&ctx, &result).await?;
        ctx = ctx.with_input(answers, result.request_state);
    }
}

/// Sends the input requests of `result` to a handshake-era client and collects its answers.
async fn perform_inputs(
    ctx: &RequestContext,
    result: &InputRequiredResult,
) -> Result<InputResponses, McpError> {
    let Some(requests) = &result.input_requests else {
        return Ok(InputResponses::new());
    };
    let no_caps = ClientCapabilities::default();
    if let Some(required) =
        missing_capabilities(requests, ctx.client_capabilities().unwrap_or(&no_caps))
    {
        return Err(McpError::protocol(missing_capability_error(required)));
    }
    let mut answers = InputResponses::new();
    for (key, request) in requests {
        let method = request.method();
        let params = match request {
            InputRequest::CreateMessage(r) => serde_json::to_value(&r.params),
            InputRequest::Elicit(r) => serde_json::to_value(&r.params),
            InputRequest::ListRoots(r) => r
                .params
                .as_ref()
                .map_or(Ok(json!({})), serde_json::to_value),
        }
        .map_err(McpError::internal)?;
        let value = ctx.send_request(method, params).await?;
        let answer: InputResponse = serde_json::from_value(value).map_err(|e| {
            McpError::internal(format!(
                "the client answered {method} with a malformed result: {e}"
            ))
        })?;
        answers.insert(key.clone(), answer);
    }
    Ok(answers)
}

/// The client capabilities `requests` need that `caps` does not declare, as a
/// `ClientCapabilities`-shaped object (e.g. `{"sampling": {}}`), or `None` when all are there.
#[must_use]
pub fn missing_capabilities(requests: &InputRequests, caps: &ClientCapabilities) -> Option<Value> {
    let mut missing = serde_json::Map::new();
    for request in requests.values() {
        match request {
            InputRequest::CreateMessage(r) => match &caps.sampling {
                None => {
                    missing.insert("sampling".into(), json!({}));
                }
                Some(s) if r.params.tools.is_some() && s.tools.is_none() => {
                    missing.insert("sampling".into(), json!({"tools": {}}));
                }
                Some(_) => {}
            },
            InputRequest::Elicit(r) => {
                let url = matches!(r.params, ElicitRequestParams::Url(_));
                match &caps.elicitation {
                    None => {
                        let need = if url { json!({"url": {}}) } else { json!({}) };
                        missing.insert("elicitation".into(), need);
                    }
                    Some(e) if url && e.url.is_none() => {
                        missing.insert("elicitation".into(), json!({"url": {}}));
                    }
                    // An empty elicitation capability means form mode.
                    Some(e) if !url && e.form.is_none() && e.url.is_some() => {
                        missing.insert("elicitation".into(), json!({"form": {}}));
                    }
                    Some(_) => {}
                }
            }
            InputRequest::ListRoots(_) => {
                if caps.roots.is_none() {
                    missing.insert("roots".into(), json!({}));
                }
            }
        }
    }
    (!missing.is_empty()).then_some(Value::Object(missing))
}

/// The `-32021` error for [`missing_capabilities`].
#[must_use]
pub fn missing_capability_error(required: Value) -> ErrorObject {
    let names: Vec<&str> = required
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut e = ErrorObject::missing_client_capability(required.clone());
    e.message = format!("Missing required client capability: {}", names.join(", "));
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_core::schema::{SamplingMessage, StringSchema};

    const B: StateBinding<'static> = StateBinding {
        method: "tools/call",
        target: "t",
        principal: None,
    };

    fn sealer() -> StateSealer {
        StateSealer::new([7u8; 32]).unwrap()
    }

    #[test]
    fn key_must_be_32_bytes() {
        assert_eq!(
            StateSealer::new([0u8; 31]).unwrap_err().to_string(),
            "requestState HMAC key must be at least 32 bytes (got 31)"
        );
        assert!(StateSealer::new([0u8; 32]).is_ok());
        assert!(!format!("{:?}", sealer()).contains("7, 7"));
    }

    #[test]
    fn roundtrip_and_binding() {
        let s = sealer();
        let sealed = s.seal(r#"{"step":1}"#, &B);
        assert!(sealed.starts_with("mrs1."));
        assert_eq!(s.open(&sealed, &B).unwrap(), r#"{"step":1}"#);
        let other_tool = StateBinding { target: "u", ..B };
        assert_eq!(s.open(&sealed, &other_tool), Err(StateError::WrongRequest));
        let other_method = StateBinding {
            method: "prompts/get",
            ..B
        };
        assert_eq!(
            s.open(&sealed, &other_method),
            Err(StateError::WrongRequest)
        );
        let someone = StateBinding {
            principal: Some("alice"),
            ..B
        };
        assert_eq!(s.open(&sealed, &someone), Err(StateError::WrongRequest));
        let bound = s.seal("x", &someone);
        assert_eq!(s.open(&bound, &someone).unwrap(), "x");
        assert_eq!(s.open(&bound, &B), Err(StateError::WrongRequest));
    }

    #[test]
    fn tampering_is_detected() {
        let s = sealer();
        let sealed = s.seal("state", &B);
        assert_eq!(
            s.open(&format!("{sealed}-TAMPERED"), &B),
            Err(StateError::Tampered)
        );
        // Flip one character of the payload.
        let mut bytes = sealed.clone().into_bytes();
        bytes[6] = if bytes[6] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            s.open(std::str::from_utf8(&bytes).unwrap(), &B),
            Err(StateError::Tampered)
        );
        // Another key.
        let other = StateSealer::new([8u8; 32]).unwrap();
        assert_eq!(other.open(&sealed, &B), Err(StateError::Tampered));
        assert_eq!(s.open("state", &B), Err(StateError::Malformed));
        assert_eq!(s.open("mrs1.nodot", &B), Err(StateError::Malformed));
        assert_eq!(
            s.open(&"mrs1.".repeat(20_000), &B),
            Err(StateError::Malformed)
        );
        let e = StateError::Tampered.to_error_object();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                -32602,
                "Invalid requestState: requestState failed its integrity check"
            )
        );
    }

    #[test]
    fn expiry() {
        let s = sealer().ttl(Duration::from_secs(60));
        let sealed = s.seal_at("v", &B, 1_000);
        assert_eq!(s.open_at(&sealed, &B, 1_060).unwrap(), "v");
        assert_eq!(s.open_at(&sealed, &B, 1_061), Err(StateError::Expired));
    }

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

    #[test]
    fn capability_check() {
        let all = InputRequired::new()
            .elicit("e", "m", ElicitationSchema::new())
            .sample("s", CreateMessageRequestParams::new(vec![], 1))
            .list_roots("r");
        let none = ClientCapabilities::default();
        assert_eq!(
            missing_capabilities(all.requests(), &none),
            Some(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
        );
        let caps: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
                .unwrap();
        assert_eq!(missing_capabilities(all.requests(), &caps), None);
        let url = InputRequired::new().elicit_url("u", "m", "https://example.com");
        let form_only: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {}})).unwrap();
        assert_eq!(
            missing_capabilities(url.requests(), &form_only),
            Some(json!({"elicitation": {"url": {}}}))
        );
        let e = missing_capability_error(json!({"sampling": {}}));
        assert_eq!(e.code, -32021);
        assert_eq!(
            e.data,
            Some(json!({"requiredCapabilities": {"sampling": {}}}))
        );
        assert_eq!(e.message, "Missing required client capability: sampling");
    }
}
