//! `resources/list`, `resources/templates/list`, `resources/read`,
//! `resources/subscribe` and `resources/unsubscribe`.

use super::{Gate, cursor, parse, to_value};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::policy::Item;
use crate::registry::uri_template::percent_decode;
use crate::scope::ScopeRequirement;
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
    let gate = Gate::new(inner, ctx);
    let show = gate.lister();
    let page = inner.registry.list_resources(
        &inner.cursors,
        cursor.as_deref(),
        inner.options.page_size,
        |d| show(Item::Resource(&d.resource.uri), d.scopes.as_ref()),
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
    let gate = Gate::new(inner, ctx);
    let show = gate.lister();
    let page = inner.registry.list_templates(
        &inner.cursors,
        cursor.as_deref(),
        inner.options.page_size,
        |e| {
            show(
                Item::ResourceTemplate(&e.def.template.uri_template),
                e.def.scopes.as_ref(),
            )
        },
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
    let unknown = || McpError::resource_not_found(&p.uri);
    let result = if let Some(def) = registry.resource(&p.uri) {
        let gate = Gate::new(&server.0, &ctx);
        gate.check(Item::Resource(&p.uri), def.scopes.as_ref(), unknown)?;
        def.handler.read(ctx, p.uri).await?
    } else if let Some((entry, vars)) = registry.match_template(&p.uri) {
        let gate = Gate::new(&server.0, &ctx);
        let template = &entry.def.template.uri_template;
        check_template_read(&gate, template, &p.uri, entry.def.scopes.as_ref(), unknown)?;
        entry.def.handler.read(ctx, p.uri, vars).await?
    } else {
        return Err(McpError::resource_not_found(&p.uri));
    };
    to_value(&result)
}

/// The policy checks of a read of `uri` through `template`: the URI as sent and
/// percent-decoded (the handler gets the variables decoded, so `notes://%73ecret` is
/// `notes://secret` to it), then the deny rules naming the template itself.
fn check_template_read(
    gate: &Gate<'_>,
    template: &str,
    uri: &str,
    scopes: Option<&ScopeRequirement>,
    unknown: impl Fn() -> McpError,
) -> Result<(), McpError> {
    gate.check(Item::Resource(uri), scopes, &unknown)?;
    let Some(decoded) = percent_decode(uri) else {
        return Err(unknown());
    };
    if decoded != uri {
        gate.check(Item::Resource(&decoded), scopes, &unknown)?;
    }
    gate.check_deny_rules(Item::ResourceTemplate(template), &unknown)
}

pub(crate) fn subscribe(
    server: &Server,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let p: SubscribeRequestParams = parse(params)?;
    let Some(session) = ctx.session() else {
        return Err(McpError::protocol(ErrorObject::invalid_request(
            "resources/subscribe needs a session",
        )));
    };
    // A resource the caller may not read is not watched either. A hidden one answers as an
    // unknown URI does (`{}`), without a subscription; a listed denial is the read's error.
    if may_watch(server, ctx, &p.uri)? {
        session.subscribe(p.uri);
    }
    Ok(Value::Object(Map::new()))
}

/// Whether the caller may receive updates of `uri`: `Ok(true)` when it may read it (or no
/// registered resource or template has that URI: subscribing to one is allowed), `Ok(false)`
/// when the access policy hides it, and the error a read would get for a listed denial or a
/// scope shortfall.
pub(crate) fn may_watch(
    server: &Server,
    ctx: &RequestContext,
    uri: &str,
) -> Result<bool, McpError> {
    let registry = &server.0.registry;
    let gate = Gate::new(&server.0, ctx);
    let hidden = std::cell::Cell::new(false);
    let unknown = || {
        hidden.set(true);
        McpError::resource_not_found(uri)
    };
    let checked = if let Some(def) = registry.resource(uri) {
        gate.check(Item::Resource(uri), def.scopes.as_ref(), unknown)
    } else if let Some((entry, _)) = registry.match_template(uri) {
        let template = &entry.def.template.uri_template;
        check_template_read(&gate, template, uri, entry.def.scopes.as_ref(), unknown)
    } else {
        return Ok(true);
    };
    match checked {
        Ok(()) => Ok(true),
        Err(_) if hidden.get() => Ok(false),
        Err(e) => Err(e),
    }
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
