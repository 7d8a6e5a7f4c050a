//! Shorthands for the tools of test servers.

use mcp_rs_core::schema::CallToolResult;
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::{McpError, RequestContext};
use serde_json::{Map, Value, json};
use std::future::Future;

/// The object of a JSON object value (an empty map for anything else): for input schemas
/// written with `json!`.
#[must_use]
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The input schema of a tool without arguments: `{"type": "object", "properties": {}}`.
#[must_use]
pub fn no_args() -> Map<String, Value> {
    object(json!({"type": "object", "properties": {}}))
}

/// A tool without arguments named `name` (description `test tool <name>`) whose handler
/// receives the request context and the (ignored) arguments.
pub fn tool_with_args<F, Fut>(name: &str, f: F) -> ToolDef
where
    F: Fn(RequestContext, Map<String, Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CallToolResult, McpError>> + Send + 'static,
{
    ToolDef::builder(name)
        .description(format!("test tool {name}"))
        .input_schema(no_args())
        .handler_fn(f)
}

/// Like [`tool_with_args`], for a handler that only needs the request context.
pub fn tool<F, Fut>(name: &str, f: F) -> ToolDef
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CallToolResult, McpError>> + Send + 'static,
{
    tool_with_args(
        name,
        move |ctx: RequestContext, _args: Map<String, Value>| f(ctx),
    )
}
