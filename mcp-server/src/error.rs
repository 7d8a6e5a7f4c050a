//! Errors: [`McpError`] (a failed request: becomes a JSON-RPC error, or a typed outcome the
//! transport maps) and [`ToolError`] (a failed tool *execution*: becomes a `CallToolResult`
//! with `isError: true` that the model can read and react to).

use crate::scope::ScopeRequirement;
use mcp_rs_core::error::{ErrorCode, ErrorObject};
use mcp_rs_core::schema::InputRequiredResult;
use serde_json::json;
use std::fmt;

/// A boxed error: what [`McpError::internal`] accepts and what streaming bodies produce (the
/// crate's one alias).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request failed.
///
/// Opaque; inspect it with [`McpError::kind`]. How each kind reaches the wire:
///
/// | kind | wire |
/// |------|------|
/// | [`ErrorKind::Protocol`] | that JSON-RPC error object |
/// | [`ErrorKind::InsufficientScope`] | HTTP: `403` + `WWW-Authenticate`; otherwise an `isError` tool result (tools) or -32602 |
/// | [`ErrorKind::InputRequired`] | the `InputRequiredResult` as the result (stateless era) |
/// | [`ErrorKind::Internal`] | -32603 `Internal error`; the cause is logged, never sent |
/// | [`ErrorKind::MissingClientCapability`] | -32021 with `data.requiredCapabilities` |
/// | [`ErrorKind::Timeout`], [`ErrorKind::Cancelled`], [`ErrorKind::TooManyPendingRequests`] | -32603 `Internal error` |
pub struct McpError(Box<ErrorKind>);

/// What went wrong; see [`McpError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A JSON-RPC error to send as is (invalid params, method not found, resource not found…).
    Protocol(ErrorObject),
    /// The caller lacks the scopes an item requires.
    InsufficientScope(ScopeRequirement),
    /// The request needs more input from the client (stateless-era multi-round-trip requests).
    InputRequired(Box<InputRequiredResult>),
    /// An unexpected failure. Logged with its cause; the client sees a generic -32603.
    Internal(BoxError),
    /// A server→client request needs a client capability the client did not declare
    /// (e.g. `"sampling"`, `"elicitation.url"`, `"roots"`).
    MissingClientCapability(String),
    /// A server→client request got no answer in time.
    Timeout {
        /// The method of the request that timed out.
        method: String,
    },
    /// The request was cancelled (by the client or because the connection went away).
    Cancelled,
    /// A server→client request was not sent: too many already wait for the client's answer
    /// (see [`ServerBuilder::max_pending_requests`](crate::builder::ServerBuilder::max_pending_requests)).
    TooManyPendingRequests {
        /// The bound that was reached.
        limit: usize,
        /// `"session"` (the session's own bound) or `"server"` (the bound of all sessions).
        scope: &'static str,
    },
}

impl McpError {
    /// The kind of error.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Consumes the error, returning its kind.
    #[must_use]
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// An error of `kind`.
    #[must_use]
    pub fn new(kind: ErrorKind) -> Self {
        McpError(Box::new(kind))
    }

    /// -32602 invalid params.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::protocol(ErrorObject::invalid_params(message))
    }

    /// -32601 method not found.
    pub fn method_not_found(method: &str) -> Self {
        Self::protocol(ErrorObject::method_not_found(method))
    }

    /// -32002 resource not found, with `data.uri` (handshake era; the stateless era sends
    /// -32602 with the same data).
    pub fn resource_not_found(uri: &str) -> Self {
        Self::protocol(ErrorObject::resource_not_found(uri))
    }

    /// An unexpected failure: logged, and the client sees only `-32603 Internal error`.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Internal(err.into()))
    }

    /// A JSON-RPC error object sent as is.
    pub fn protocol(error: ErrorObject) -> Self {
        Self::new(ErrorKind::Protocol(error))
    }

    /// The caller lacks `required`.
    pub fn insufficient_scope(required: ScopeRequirement) -> Self {
        Self::new(ErrorKind::InsufficientScope(required))
    }

    /// The request needs more client input.
    pub fn input_required(result: InputRequiredResult) -> Self {
        Self::new(ErrorKind::InputRequired(Box::new(result)))
    }

    /// The client lacks `capability` (a dotted path such as `"elicitation.url"`).
    pub fn missing_client_capability(capability: impl Into<String>) -> Self {
        Self::new(ErrorKind::MissingClientCapability(capability.into()))
    }

    /// The JSON-RPC error object this error is sent as. Internal details are never included.
    #[must_use]
    pub fn to_error_object(&self) -> ErrorObject {
        match &*self.0 {
            ErrorKind::Protocol(e) => e.clone(),
            ErrorKind::InsufficientScope(req) => {
                ErrorObject::invalid_params(format!("insufficient scope: requires {req}"))
                    .with_data(json!({ "requiredScopes": req.scopes }))
            }
            ErrorKind::MissingClientCapability(cap) => ErrorObject::new(
                ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!("client does not support {cap}"),
            )
            .with_data(json!({ "requiredCapabilities": capability_object(cap) })),
            ErrorKind::InputRequired(_)
            | ErrorKind::Internal(_)
            | ErrorKind::Timeout { .. }
            | ErrorKind::TooManyPendingRequests { .. }
            | ErrorKind::Cancelled => ErrorObject::internal_error(),
        }
    }

    /// The error code this error is sent with.
    #[must_use]
    pub fn code(&self) -> i32 {
        self.to_error_object().code
    }
}

/// `"elicitation.url"` → `{"elicitation": {"url": {}}}`.
fn capability_object(path: &str) -> serde_json::Value {
    path.rsplit('.')
        .fold(json!({}), |inner, key| json!({ key: inner }))
}

impl fmt::Debug for McpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("McpError").field(&self.0).finish()
    }
}

impl fmt::Display for McpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Protocol(e) => write!(f, "{e}"),
            ErrorKind::InsufficientScope(req) => write!(f, "insufficient scope: requires {req}"),
            ErrorKind::InputRequired(_) => f.write_str("input required"),
            ErrorKind::Internal(e) => write!(f, "internal error: {e}"),
            ErrorKind::MissingClientCapability(c) => write!(f, "client does not support {c}"),
            ErrorKind::Timeout { method } => write!(f, "{method} request timed out"),
            ErrorKind::Cancelled => f.write_str("request cancelled"),
            ErrorKind::TooManyPendingRequests { limit, scope } => write!(
                f,
                "too many server-to-client requests waiting for an answer (limit {limit} per {scope})"
            ),
        }
    }
}

impl std::error::Error for McpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Internal(e) => Some(&**e),
            ErrorKind::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ErrorObject> for McpError {
    fn from(e: ErrorObject) -> Self {
        McpError::protocol(e)
    }
}

impl From<ErrorKind> for McpError {
    fn from(kind: ErrorKind) -> Self {
        McpError::new(kind)
    }
}

/// A tool ran but failed. Becomes `CallToolResult { isError: true, content: [text(message)] }`,
/// so the model sees the message and can correct itself.
///
/// ```
/// use mcp_rs_server::ToolError;
///
/// fn parse(s: &str) -> Result<i64, ToolError> {
///     s.parse::<i64>().map_err(ToolError::from_error)
/// }
/// assert_eq!(parse("x").unwrap_err().message(), "invalid digit found in string");
/// ```
#[derive(Debug)]
pub struct ToolError {
    message: String,
    source: Option<BoxError>,
}

impl ToolError {
    /// A tool error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
            source: None,
        }
    }

    /// A tool error from any error; the message is its `Display`.
    pub fn from_error<E: std::error::Error + Send + Sync + 'static>(err: E) -> Self {
        ToolError {
            message: err.to_string(),
            source: Some(Box::new(err)),
        }
    }

    /// The message shown to the client.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::new(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::new(message)
    }
}

impl From<std::io::Error> for ToolError {
    fn from(e: std::io::Error) -> Self {
        ToolError::from_error(e)
    }
}

impl From<serde_json::Error> for ToolError {
    fn from(e: serde_json::Error) -> Self {
        ToolError::from_error(e)
    }
}

impl From<BoxError> for ToolError {
    fn from(e: BoxError) -> Self {
        ToolError {
            message: e.to_string(),
            source: Some(e),
        }
    }
}

impl From<std::fmt::Error> for ToolError {
    fn from(e: std::fmt::Error) -> Self {
        ToolError::from_error(e)
    }
}

impl From<std::num::ParseIntError> for ToolError {
    fn from(e: std::num::ParseIntError) -> Self {
        ToolError::from_error(e)
    }
}

impl From<std::num::ParseFloatError> for ToolError {
    fn from(e: std::num::ParseFloatError) -> Self {
        ToolError::from_error(e)
    }
}

/// An error configuring a [`Server`](crate::Server) (found by
/// [`ServerBuilder::try_build`](crate::ServerBuilder::try_build) or a runtime registration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two items of the same kind share a name (or URI / URI template).
    #[error("duplicate {kind} {name:?}: registered at {first} and at {second}")]
    Duplicate {
        /// `"tool"`, `"resource"`, `"resource template"`, `"prompt"`, `"method"` (custom
        /// requests and notifications) or `"extension"`.
        kind: &'static str,
        /// The shared name, URI or template.
        name: String,
        /// Where the first one was registered (`file:line`, or `"<unknown>"`).
        first: String,
        /// Where the second one was registered.
        second: String,
    },
    /// A tool's input or output schema is not a valid JSON Schema.
    #[error("tool {tool:?} has an invalid {which} schema: {message}")]
    InvalidSchema {
        /// The tool.
        tool: String,
        /// `"input"` or `"output"`.
        which: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A resource template is not a valid RFC 6570 template (levels supported: `{var}`,
    /// `{+var}`, `{?a,b}`).
    #[error("invalid URI template {template:?}: {message}")]
    InvalidUriTemplate {
        /// The template.
        template: String,
        /// What is wrong.
        message: String,
    },
    /// A tool name is not 1–64 characters of `[A-Za-z0-9._/-]`.
    #[error("invalid tool name {name:?}: names are 1-64 characters of A-Z a-z 0-9 _ - . /")]
    InvalidToolName {
        /// The name.
        name: String,
    },
    /// A custom method (see [`custom`](crate::custom)) uses a name it may not: a method of
    /// an MCP version, a JSON-RPC reserved name, or an empty one.
    #[error("method {name:?} cannot be registered: {reason}")]
    ReservedMethod {
        /// The name.
        name: String,
        /// Why not.
        reason: String,
    },
    /// An extension identifier does not follow the `_meta` key rules with a prefix
    /// (`com.example/name`).
    #[error(
        "invalid extension id {id:?}: expected dot-separated labels, a slash and a name, e.g. \"com.example/search\""
    )]
    InvalidExtensionId {
        /// The identifier.
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes() {
        assert_eq!(McpError::invalid_params("x").code(), -32602);
        assert_eq!(McpError::method_not_found("x").code(), -32601);
        let nf = McpError::resource_not_found("a://b").to_error_object();
        assert_eq!(nf.code, -32002);
        assert_eq!(nf.data, Some(json!({"uri": "a://b"})));
        let internal = McpError::internal("secret detail").to_error_object();
        assert_eq!(internal.code, -32603);
        assert_eq!(internal.message, "Internal error");
        assert!(internal.data.is_none());
    }

    #[test]
    fn missing_capability_names_the_path() {
        let e = McpError::missing_client_capability("elicitation.url").to_error_object();
        assert_eq!(e.code, -32021);
        assert_eq!(
            e.data,
            Some(json!({"requiredCapabilities": {"elicitation": {"url": {}}}}))
        );
    }

    #[test]
    fn tool_error_conversions() {
        let e: ToolError = "bad".into();
        assert_eq!(e.to_string(), "bad");
        let e = ToolError::from(std::io::Error::other("disk"));
        assert_eq!(e.message(), "disk");
        assert!(std::error::Error::source(&e).is_some());
    }
}
