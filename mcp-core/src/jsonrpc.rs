//! The JSON-RPC 2.0 envelope used by every MCP message.
//!
//! [`JsonRpcMessage`] is one message on the wire. [`parse`] turns raw bytes into a
//! single message or a batch and tells a *parse error* (-32700, the bytes are not JSON)
//! apart from an *invalid request* (-32600, JSON that is not JSON-RPC).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

use crate::error::{ErrorCode, ErrorObject};

/// The only JSON-RPC version MCP speaks.
pub const JSONRPC_VERSION: &str = "2.0";

/// A request id: a string or an integer (MCP forbids `null` ids on requests).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => f.write_str(s),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        RequestId::String(s)
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => s.serialize_i64(*n),
            RequestId::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(RequestId::String(s)),
            Value::Number(n) => n
                .as_i64()
                .map(RequestId::Number)
                .ok_or_else(|| D::Error::custom("request id must be an integer or a string")),
            _ => Err(D::Error::custom(
                "request id must be an integer or a string",
            )),
        }
    }
}

/// A request: expects exactly one response with the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcRequest {
    /// The request id.
    pub id: RequestId,
    /// The method name, e.g. `tools/call`.
    pub method: String,
    /// The parameters, when present (always an object in MCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcNotification {
    /// The method name, e.g. `notifications/progress`.
    pub method: String,
    /// The parameters, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A successful response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcResponse {
    /// The id of the request this answers.
    pub id: RequestId,
    /// The result object.
    pub result: Value,
}

/// An error response. `id` is `None` when the request id could not be read, as for a parse
/// error; such an error is written without an `id` member (MCP's schema does not allow `null`),
/// and both forms are accepted when parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcError {
    /// The id of the request this answers, or `None` when it could not be determined.
    #[serde(default)]
    pub id: Option<RequestId>,
    /// What went wrong.
    pub error: ErrorObject,
}

/// Any JSON-RPC 2.0 message.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonRpcMessage {
    /// A request.
    Request(JsonRpcRequest),
    /// A notification.
    Notification(JsonRpcNotification),
    /// A successful response.
    Response(JsonRpcResponse),
    /// An error response.
    Error(JsonRpcError),
}

impl JsonRpcMessage {
    /// A request message.
    pub fn request(
        id: impl Into<RequestId>,
        method: impl Into<String>,
        params: Option<Value>,
    ) -> Self {
        JsonRpcMessage::Request(JsonRpcRequest {
            id: id.into(),
            method: method.into(),
            params,
        })
    }

    /// A notification message.
    pub fn notification(method: impl Into<String>, params: Option<Value>) -> Self {
        JsonRpcMessage::Notification(JsonRpcNotification {
            method: method.into(),
            params,
        })
    }

    /// A success response.
    pub fn response(id: RequestId, result: Value) -> Self {
        JsonRpcMessage::Response(JsonRpcResponse { id, result })
    }

    /// An error response.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        JsonRpcMessage::Error(JsonRpcError { id, error })
    }

    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            JsonRpcMessage::Request(r) => Some(&r.method),
            JsonRpcMessage::Notification(n) => Some(&n.method),
            _ => None,
        }
    }

    /// The id of a request or response.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            JsonRpcMessage::Request(r) => Some(&r.id),
            JsonRpcMessage::Response(r) => Some(&r.id),
            JsonRpcMessage::Error(e) => e.id.as_ref(),
            JsonRpcMessage::Notification(_) => None,
        }
    }

    /// Whether this is a request (expects a response).
    pub fn is_request(&self) -> bool {
        matches!(self, JsonRpcMessage::Request(_))
    }

    /// Converts a JSON value into a message, classifying what is wrong when it is not one.
    ///
    /// # Errors
    /// An [`ErrorObject`] with code -32600 (invalid request) that says what is missing or
    /// malformed; the id is recovered into the error's `data` only by [`parse`].
    pub fn from_value(value: Value) -> Result<Self, ErrorObject> {
        let Value::Object(mut obj) = value else {
            return Err(invalid("a JSON-RPC message must be a JSON object"));
        };
        match obj.get("jsonrpc") {
            Some(Value::String(v)) if v == JSONRPC_VERSION => {}
            Some(_) => return Err(invalid("\"jsonrpc\" must be exactly \"2.0\"")),
            None => return Err(invalid("missing \"jsonrpc\": \"2.0\"")),
        }
        obj.remove("jsonrpc");
        let has_method = obj.contains_key("method");
        let has_id = obj.contains_key("id");
        if has_method {
            let method = match obj.remove("method") {
                Some(Value::String(m)) => m,
                _ => return Err(invalid("\"method\" must be a string")),
            };
            let params = match obj.remove("params") {
                None => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
                Some(Value::Null) => None,
                Some(_) => return Err(invalid("\"params\" must be an object")),
            };
            if has_id {
                let id = parse_id(obj.remove("id").unwrap_or(Value::Null))?;
                Ok(JsonRpcMessage::Request(JsonRpcRequest {
                    id,
                    method,
                    params,
                }))
            } else {
                Ok(JsonRpcMessage::Notification(JsonRpcNotification {
                    method,
                    params,
                }))
            }
        } else if let Some(result) = obj.remove("result") {
            let id = parse_id(obj.remove("id").unwrap_or(Value::Null))?;
            Ok(JsonRpcMessage::Response(JsonRpcResponse { id, result }))
        } else if let Some(error) = obj.remove("error") {
            let id = match obj.remove("id") {
                None | Some(Value::Null) => None,
                Some(v) => Some(parse_id(v)?),
            };
            let error: ErrorObject = serde_json::from_value(error)
                .map_err(|e| invalid(&format!("malformed \"error\" object: {e}")))?;
            Ok(JsonRpcMessage::Error(JsonRpcError { id, error }))
        } else {
            Err(invalid(
                "not a request, notification or response: no \"method\", \"result\" or \"error\"",
            ))
        }
    }

    /// This message as a JSON value (with `"jsonrpc": "2.0"`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn invalid(msg: &str) -> ErrorObject {
    ErrorObject::new(ErrorCode::INVALID_REQUEST, msg.to_owned())
}

fn parse_id(v: Value) -> Result<RequestId, ErrorObject> {
    match v {
        Value::String(s) => Ok(RequestId::String(s)),
        Value::Number(n) => n
            .as_i64()
            .map(RequestId::Number)
            .ok_or_else(|| invalid("\"id\" must be an integer or a string")),
        Value::Null => Err(invalid("\"id\" must not be null")),
        _ => Err(invalid("\"id\" must be an integer or a string")),
    }
}

impl Serialize for JsonRpcMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        match self {
            JsonRpcMessage::Request(r) => {
                m.serialize_entry("id", &r.id)?;
                m.serialize_entry("method", &r.method)?;
                if let Some(p) = &r.params {
                    m.serialize_entry("params", p)?;
                }
            }
            JsonRpcMessage::Notification(n) => {
                m.serialize_entry("method", &n.method)?;
                if let Some(p) = &n.params {
                    m.serialize_entry("params", p)?;
                }
            }
            JsonRpcMessage::Response(r) => {
                m.serialize_entry("id", &r.id)?;
                m.serialize_entry("result", &r.result)?;
            }
            JsonRpcMessage::Error(e) => {
                // MCP's schema types `id` as string | integer: an error whose request id
                // could not be read (a parse error) omits the member instead of `null`.
                if let Some(id) = &e.id {
                    m.serialize_entry("id", id)?;
                }
                m.serialize_entry("error", &e.error)?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for JsonRpcMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        JsonRpcMessage::from_value(v).map_err(|e| D::Error::custom(e.message))
    }
}

/// What arrived in one transport frame: one message, or a batch (handshake era only).
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A single message.
    Single(JsonRpcMessage),
    /// A JSON array of messages. Each entry is parsed on its own, so one invalid entry
    /// yields one -32600 error (carrying the entry's id when it had a readable one).
    Batch(Vec<Result<JsonRpcMessage, JsonRpcError>>),
}

/// Parses one frame of bytes.
///
/// # Errors
/// - -32700 (parse error) when the bytes are not JSON;
/// - -32600 (invalid request) when the JSON is not a JSON-RPC message, or is an empty batch.
///
/// The returned [`JsonRpcError`] carries the request id when one could be read.
pub fn parse(bytes: &[u8]) -> Result<Incoming, JsonRpcError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| JsonRpcError {
        id: None,
        error: ErrorObject::new(ErrorCode::PARSE_ERROR, format!("Parse error: {e}")),
    })?;
    parse_value(value)
}

/// Like [`parse`], for an already decoded JSON value.
///
/// # Errors
/// -32600 when the value is not a JSON-RPC message or batch.
pub fn parse_value(value: Value) -> Result<Incoming, JsonRpcError> {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(JsonRpcError {
                    id: None,
                    error: invalid("empty batch"),
                });
            }
            Ok(Incoming::Batch(items.into_iter().map(classify).collect()))
        }
        other => classify(other).map(Incoming::Single),
    }
}

fn classify(value: Value) -> Result<JsonRpcMessage, JsonRpcError> {
    let id = recover_id(&value);
    JsonRpcMessage::from_value(value).map_err(|error| JsonRpcError { id, error })
}

/// Reads a usable id from a value that failed to parse as a message.
fn recover_id(value: &Value) -> Option<RequestId> {
    match value
        .as_object()
        .and_then(|o: &Map<String, Value>| o.get("id"))
    {
        Some(Value::String(s)) => Some(RequestId::String(s.clone())),
        Some(Value::Number(n)) => n.as_i64().map(RequestId::Number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_error_is_32700() {
        let e = parse(b"{not json").unwrap_err();
        assert_eq!(e.error.code, -32700);
        assert_eq!(e.id, None);
    }

    #[test]
    fn not_jsonrpc_is_32600_with_id() {
        let e = parse(br#"{"id":7,"method":"ping"}"#).unwrap_err();
        assert_eq!(e.error.code, -32600);
        assert_eq!(e.id, Some(RequestId::Number(7)));
    }

    #[test]
    fn classifies_all_kinds() {
        let cases = [
            (json!({"jsonrpc":"2.0","id":1,"method":"ping"}), "req"),
            (
                json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
                "note",
            ),
            (json!({"jsonrpc":"2.0","id":"a","result":{}}), "resp"),
            (
                json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"x"}}),
                "err",
            ),
        ];
        for (v, kind) in cases {
            let m = JsonRpcMessage::from_value(v.clone()).unwrap();
            let got = match m {
                JsonRpcMessage::Request(_) => "req",
                JsonRpcMessage::Notification(_) => "note",
                JsonRpcMessage::Response(_) => "resp",
                JsonRpcMessage::Error(_) => "err",
            };
            assert_eq!(got, kind);
            assert_eq!(m.to_value(), v);
        }
    }

    #[test]
    fn null_request_id_rejected() {
        let e = JsonRpcMessage::from_value(json!({"jsonrpc":"2.0","id":null,"method":"x"}))
            .unwrap_err();
        assert_eq!(e.code, -32600);
    }

    #[test]
    fn batch_entries_parse_independently() {
        let Incoming::Batch(items) =
            parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"id":2}]"#).unwrap()
        else {
            panic!("expected batch");
        };
        assert!(items[0].is_ok());
        let e = items[1].as_ref().unwrap_err();
        assert_eq!(e.id, Some(RequestId::Number(2)));
        assert_eq!(e.error.code, -32600);
        assert_eq!(parse(b"[]").unwrap_err().error.code, -32600);
    }
}
