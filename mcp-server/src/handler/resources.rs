//! `resources/list`, `resources/templates/list`, `resources/read`,
//! `resources/subscribe` and `resources/unsubscribe`.

use super::{check_scopes, cursor, parse, to_value, visible};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::server::Server;
use mcp_rs_core::ErrorObject;
use mcp_rs_core::schema::{
    ReadResourceRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
};
use serde_json::{Map, Value, json};

pub(crate) fn list(
    server: &Server,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let inner = &server.0;
    let cursor = cursor(params)?;
    let page = inner.registry.list_resources(
        &inner.cursors,
        cursor.as_deref(),
        inner.options.page_size,
        |d| visible(inner, ctx, d.scopes.as_ref()),
    )?;
    let mut out = json!({ "resources": page.items });
    if let Some(c) = page.next_cursor {
        out["nextCursor"] = Value::String(c);
    }
    Ok(out)
}

pub(crate) fn list_templates(
    server: &Server,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let inner = &server.0;
    let cursor = cursor(params)?;
    let page = inner.registry.list_templates(
        &inner.cursors,
        cursor.as_deref(),
        inner.options.page_size,
        |e| visible(inner, ctx, e.def.scopes.as_ref()),
    )?;
    let mut out = json!({ "resourceTemplates": page.items });
    if let Some(c) = page.next_cursor {
        out["nextCursor"] = Value::String(c);
    }
    Ok(out)
}

pub(crate) async fn read(
    server: &Server,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let p: ReadResourceRequestParams = parse(params)?;
    let registry = &server.0.registry;
    let result = if let Some(def) = registry.resource(&p.uri) {
        check_scopes(&server.0, &ctx, def.scopes.as_ref())?;
        def.handler.read(ctx, p.uri).await?
    } else if let Some((entry, vars)) = registry.match_template(&p.uri) {
        check_scopes(&server.0, &ctx, entry.def.scopes.as_ref())?;
        entry.def.handler.read(ctx, p.uri, vars).await?
    } else {
        return Err(McpError::resource_not_found(&p.uri));
    };
    to_value(&result)
}

pub(crate) fn subscribe(ctx: &RequestContext, params: Option<Value>) -> Result<Value, McpError> {
    let p: SubscribeRequestParams = parse(params)?;
    let Some(session) = ctx.session() else {
        return Err(McpError::protocol(ErrorObject::invalid_request(
            "resources/subscribe needs a session",
        )));
    };
    session.subscribe(p.uri);
    Ok(Value::Object(Map::new()))
}

pub(crate) fn unsubscribe(ctx: &RequestContext, params: Option<Value>) -> Result<Value, McpError> {
    let p: UnsubscribeRequestParams = parse(params)?;
    let Some(session) = ctx.session() else {
        return Err(McpError::protocol(ErrorObject::invalid_request(
            "resources/unsubscribe needs a session",
        )));
    };
    session.unsubscribe(&p.uri);
    Ok(Value::Object(Map::new()))
}
