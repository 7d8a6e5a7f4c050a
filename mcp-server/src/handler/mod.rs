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
use crate::policy::{AccessPolicy, Caller, Decision, Item, PolicyHandle};
use crate::scope::ScopeRequirement;
use crate::server::{Server, ServerInner};
use mcp_rs_core::method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;

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
        method::RESOURCES_SUBSCRIBE => resources::subscribe(server, &ctx, params),
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

/// Whether the caller's scopes satisfy `req` (an item's own scopes).
fn permitted(server: &ServerInner, ctx: &RequestContext, req: Option<&ScopeRequirement>) -> bool {
    let Some(req) = req else { return true };
    let identity = ctx.oauth();
    if identity.is_none() && !server.options.enforce_scopes_without_identity {
        return true;
    }
    req.is_satisfied_by(identity)
}

/// What one caller may do with one item.
enum Access {
    /// Use it.
    Allow,
    /// Not without these scopes: listed unless `hide_unauthorized_items`; a use is
    /// `insufficient_scope`.
    Scopes(ScopeRequirement),
    /// Denied by the access policy, listed: a use is a JSON-RPC error.
    Denied,
    /// Denied by the access policy and hidden: a use answers as for an unknown item.
    Hidden,
}

/// The access checks of one request: the access policy (when the server has one), then the
/// item's own scopes. Lists build one gate and ask it per item.
pub(crate) struct Gate<'a> {
    server: &'a ServerInner,
    ctx: &'a RequestContext,
    policy: Option<Arc<AccessPolicy>>,
}

impl<'a> Gate<'a> {
    pub(crate) fn new(server: &'a ServerInner, ctx: &'a RequestContext) -> Self {
        let policy = server.options.policy.as_ref().map(PolicyHandle::current);
        Gate {
            server,
            ctx,
            policy,
        }
    }

    fn decide(&self, caller: Option<&Caller<'_>>, item: Item<'_>) -> Option<Decision> {
        let (policy, caller) = (self.policy.as_ref()?, caller?);
        Some(policy.decide_for(caller, item))
    }

    fn access(&self, decision: Option<&Decision>, req: Option<&ScopeRequirement>) -> Access {
        match decision {
            Some(Decision::Deny { step_up, .. }) if !step_up.is_empty() => {
                Access::Scopes(ScopeRequirement::any(step_up.iter().cloned()))
            }
            Some(Decision::Deny { hide: true, .. }) => Access::Hidden,
            Some(Decision::Deny { .. }) => Access::Denied,
            _ => match req {
                Some(r) if !permitted(self.server, self.ctx, Some(r)) => Access::Scopes(r.clone()),
                _ => Access::Allow,
            },
        }
    }

    /// A list filter: whether the caller sees the item.
    pub(crate) fn lister(&self) -> impl Fn(Item<'_>, Option<&ScopeRequirement>) -> bool + '_ {
        let caller = self.policy.as_ref().map(|p| p.caller(self.ctx.oauth()));
        move |item, req| match self.access(self.decide(caller.as_ref(), item).as_ref(), req) {
            Access::Allow | Access::Denied => true,
            Access::Scopes(_) => !self.server.options.hide_unauthorized_items,
            Access::Hidden => false,
        }
    }

    /// `Ok` when the caller may use `item`; otherwise the error to answer with (`unknown`
    /// for an item the policy hides from the caller). Logs the policy's decision.
    pub(crate) fn check(
        &self,
        item: Item<'_>,
        req: Option<&ScopeRequirement>,
        unknown: impl FnOnce() -> McpError,
    ) -> Result<(), McpError> {
        let caller = self.policy.as_ref().map(|p| p.caller(self.ctx.oauth()));
        let decision = self.decide(caller.as_ref(), item);
        if let (Some(c), Some(d)) = (&caller, &decision) {
            crate::policy::audit::decision(c, item, d);
        }
        match self.access(decision.as_ref(), req) {
            Access::Allow => Ok(()),
            Access::Scopes(r) => Err(McpError::insufficient_scope(r)),
            Access::Denied => Err(McpError::invalid_params(format!(
                "Access denied: the access policy does not allow {item} for this caller"
            ))),
            Access::Hidden => Err(unknown()),
        }
    }
}

impl Gate<'_> {
    /// `Ok` unless an explicit deny rule (not the default) names `item`; then the error a use
    /// answers with. A read through a resource template is subject to the deny rules naming
    /// the template: a template the policy hides from lists is not readable either.
    pub(crate) fn check_deny_rules(
        &self,
        item: Item<'_>,
        unknown: impl FnOnce() -> McpError,
    ) -> Result<(), McpError> {
        let caller = self.policy.as_ref().map(|p| p.caller(self.ctx.oauth()));
        let Some(decision @ Decision::Deny { rule: Some(_), .. }) =
            self.decide(caller.as_ref(), item)
        else {
            return Ok(());
        };
        if let Some(c) = &caller {
            crate::policy::audit::decision(c, item, &decision);
        }
        match self.access(Some(&decision), None) {
            Access::Hidden => Err(unknown()),
            _ => Err(McpError::invalid_params(format!(
                "Access denied: the access policy does not allow {item} for this caller"
            ))),
        }
    }
}

/// `Ok` when the caller holds the scopes `req` asks for (custom requests: the access policy
/// governs tools, resources and prompts, a custom method has only its own scopes).
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

/// The `cursor` of a paginated request.
pub(crate) fn cursor(params: Option<Value>) -> Result<Option<String>, McpError> {
    let p: mcp_rs_core::schema::PaginatedRequestParams = parse(params)?;
    Ok(p.cursor)
}

#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;
