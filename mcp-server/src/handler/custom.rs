//! Custom requests (see [`crate::custom`]): the scope check, then the user's handler.

use super::check_scopes;
use crate::context::RequestContext;
use crate::error::McpError;
use crate::server::Server;
use serde_json::{Map, Value};

/// Runs the custom request `name` (absent params read as `{}`); -32601 when none is
/// registered under that name.
pub(crate) async fn call(
    server: &Server,
    name: &str,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let Some(def) = server.0.custom.request(name) else {
        return Err(McpError::method_not_found(name));
    };
    check_scopes(&server.0, &ctx, def.scopes())?;
    let handler = def.handler().clone();
    handler
        .call(ctx, params.unwrap_or_else(|| Value::Object(Map::new())))
        .await
}
