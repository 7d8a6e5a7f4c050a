//! Arguments, read per call from the request.

use crate::error::McpError;
use mcp_rs_core::schema::JsonObject;

use super::UriVars;
use crate::tool::Params;
use mcp_rs_core::schema::CallToolResult;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A tool argument that could not be read; becomes an `isError` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(String);

impl ArgError {
    /// The message, naming the argument.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0
    }

    /// The `isError` result reporting this error to the model.
    ///
    /// # Errors
    /// Never: the error is a tool result, not a protocol error.
    pub fn into_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::error_text(self.0))
    }
}

/// Takes the argument `name` out of `args` and deserialises it. An absent argument reads as
/// `null`, so `Option<T>` arguments are `None`; for other types it is a "missing" error.
///
/// # Errors
/// An [`ArgError`] naming the argument.
pub fn tool_arg<T: DeserializeOwned>(args: &mut JsonObject, name: &str) -> Result<T, ArgError> {
    match args.remove(name) {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| ArgError(format!("Invalid argument `{name}`: {e}"))),
        None => serde_json::from_value(Value::Null)
            .map_err(|_| ArgError(format!("Missing required argument `{name}`"))),
    }
}

/// Deserialises the whole argument object into `T`.
///
/// # Errors
/// An [`ArgError`] with serde's message (which names the field).
pub fn tool_params<T: DeserializeOwned>(args: JsonObject) -> Result<Params<T>, ArgError> {
    serde_json::from_value(Value::Object(args))
        .map(Params)
        .map_err(|e| ArgError(format!("Invalid arguments: {e}")))
}

/// Prompt arguments and URI variables are strings on the wire: read `T` from the string
/// itself (`String`, enums) or from its JSON reading (`"5"` → `u32`, `"true"` → `bool`).
fn from_wire<T: DeserializeOwned>(s: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_value(Value::String(s.to_owned())) {
        Ok(v) => Ok(v),
        Err(e) => serde_json::from_str(s).map_err(|_| e),
    }
}

fn from_wire_value<T: DeserializeOwned>(v: &Value) -> Result<T, serde_json::Error> {
    match v {
        Value::String(s) => from_wire(s),
        other => serde_json::from_value(other.clone()),
    }
}

/// Reads the prompt argument `name`.
///
/// # Errors
/// `-32602` naming the argument when it is missing (and not optional) or unreadable.
pub fn prompt_arg<T: DeserializeOwned>(args: &JsonObject, name: &str) -> Result<T, McpError> {
    match args.get(name) {
        None | Some(Value::Null) => serde_json::from_value(Value::Null)
            .map_err(|_| McpError::invalid_params(format!("Missing required argument `{name}`"))),
        Some(v) => from_wire_value(v)
            .map_err(|e| McpError::invalid_params(format!("Invalid argument `{name}`: {e}"))),
    }
}

/// Reads all prompt arguments into `T`.
///
/// # Errors
/// `-32602` with serde's message.
pub fn prompt_params<T: DeserializeOwned>(args: &JsonObject) -> Result<Params<T>, McpError> {
    match serde_json::from_value(Value::Object(args.clone())) {
        Ok(v) => Ok(Params(v)),
        Err(first) => {
            // Strings that read as other JSON values ("5", "true") for typed fields.
            let coerced: JsonObject = args
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => match serde_json::from_str::<Value>(s) {
                            Ok(parsed @ (Value::Number(_) | Value::Bool(_))) => parsed,
                            _ => v.clone(),
                        },
                        _ => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect();
            serde_json::from_value(Value::Object(coerced))
                .map(Params)
                .map_err(|_| McpError::invalid_params(format!("Invalid arguments: {first}")))
        }
    }
}

/// Reads the URI variable `name`.
///
/// # Errors
/// `-32602` naming the variable when it is missing (and not optional) or unreadable.
pub fn template_var<T: DeserializeOwned>(vars: &UriVars, name: &str) -> Result<T, McpError> {
    match vars.get(name) {
        None => serde_json::from_value(Value::Null)
            .map_err(|_| McpError::invalid_params(format!("Missing URI variable `{name}`"))),
        Some(s) => from_wire(s).map_err(|e| {
            McpError::invalid_params(format!("Invalid value for URI variable `{name}`: {e}"))
        }),
    }
}
