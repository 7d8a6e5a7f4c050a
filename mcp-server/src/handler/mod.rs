//! The method handlers: pure functions of (server, context, params) → result JSON.

pub(crate) mod completion;
pub(crate) mod custom;
pub(crate) mod discover;
pub(crate) mod lifecycle;
pub(crate) mod prompts;
pub(crate) mod resources;
pub(crate) mod subscriptions;
pub(crate) mod tools;

use crate::context::RequestContext;
use crate::error::McpError;
use crate::scope::ScopeRequirement;
use crate::server::{Server, ServerInner};
use mcp_rs_core::method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Routes a request to its handler.
pub(crate) async fn route(
    server: &Server,
    name: &str,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    match name {
        method::INITIALIZE => lifecycle::initialize(server, &ctx, params),
        method::PING => Ok(Value::Object(serde_json::Map::new())),
        method::LOGGING_SET_LEVEL => lifecycle::set_level(&ctx, params),
        method::TOOLS_LIST => tools::list(server, &ctx, params),
        method::TOOLS_CALL => tools::call(server, ctx, params).await,
        method::RESOURCES_LIST => resources::list(server, &ctx, params),
        method::RESOURCES_TEMPLATES_LIST => resources::list_templates(server, &ctx, params),
        method::RESOURCES_READ => resources::read(server, ctx, params).await,
        method::RESOURCES_SUBSCRIBE => resources::subscribe(&ctx, params),
        method::RESOURCES_UNSUBSCRIBE => resources::unsubscribe(&ctx, params),
        method::PROMPTS_LIST => prompts::list(server, &ctx, params),
        method::PROMPTS_GET => prompts::get(server, ctx, params).await,
        method::COMPLETION_COMPLETE => completion::complete(server, ctx, params).await,
        method::SERVER_DISCOVER => discover::handle(server, ctx, params).await,
        method::SUBSCRIPTIONS_LISTEN => subscriptions::handle(server, ctx, params).await,
        m if crate::tasks::is_method(m) => {
            crate::tasks::handle(&server.0.tasks, m, &ctx, params).await
        }
        other => custom::call(server, other, ctx, params).await,
    }
}

/// Deserialises request params (absent params read as `{}`); -32602 on mismatch.
pub(crate) fn parse<T: DeserializeOwned>(params: Option<Value>) -> Result<T, McpError> {
    let v = params.unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    serde_json::from_value(v).map_err(|e| McpError::invalid_params(format!("Invalid params: {e}")))
}

/// Serialises a result.
pub(crate) fn to_value<T: Serialize>(v: &T) -> Result<Value, McpError> {
    serde_json::to_value(v).map_err(McpError::internal)
}

/// Whether the caller may use an item requiring `req`.
pub(crate) fn permitted(
    server: &ServerInner,
    ctx: &RequestContext,
    req: Option<&ScopeRequirement>,
) -> bool {
    let Some(req) = req else { return true };
    let identity = ctx.oauth();
    if identity.is_none() && !server.options.enforce_scopes_without_identity {
        return true;
    }
    req.is_satisfied_by(identity)
}

/// `Err(insufficient_scope)` unless the caller may use the item.
pub(crate) fn check_scopes(
    server: &ServerInner,
    ctx: &RequestContext,
    req: Option<&ScopeRequirement>,
) -> Result<(), McpError> {
    match req {
        Some(r) if !permitted(server, ctx, Some(r)) => Err(McpError::insufficient_scope(r.clone())),
        _ => Ok(()),
    }
}

/// Whether a list shows an item requiring `req` to the caller.
pub(crate) fn visible(
    server: &ServerInner,
    ctx: &RequestContext,
    req: Option<&ScopeRequirement>,
) -> bool {
    !server.options.hide_unauthorized_items || permitted(server, ctx, req)
}

/// The `cursor` of a paginated request.
pub(crate) fn cursor(params: Option<Value>) -> Result<Option<String>, McpError> {
    let p: mcp_rs_core::schema::PaginatedRequestParams = parse(params)?;
    Ok(p.cursor)
}

#[cfg(test)]
mod tests;
