//! The dispatch side of server hooks and custom notifications: what hooks see of a request
//! or notification, and how an [`Outcome`] reads to them.

use crate::custom::NotificationContext;
use crate::hooks::{Failure, NotificationInfo, Principal, RequestInfo, Watch};
use crate::identity::OAuthContext;
use crate::protocol::headers::name_param_of;
use crate::server::{Exchange, Outcome, Server};
use futures::FutureExt as _;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, JsonRpcNotification, JsonRpcRequest};
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The verified identity of an exchange: set by the transport, or (HTTP) left in the
/// request extensions by the authorization layer.
pub(super) fn identity(ex: &Exchange) -> Option<Arc<OAuthContext>> {
    if let Some(i) = &ex.identity {
        return Some(i.clone());
    }
    #[cfg(feature = "http")]
    if let Some(parts) = &ex.http {
        let ext = &parts.extensions;
        return ext
            .get::<Arc<OAuthContext>>()
            .cloned()
            .or_else(|| ext.get::<OAuthContext>().cloned().map(Arc::new));
    }
    None
}

fn principal(ex: &Exchange) -> Option<Principal> {
    if let Some(i) = &ex.identity {
        return Some(Principal::of(i));
    }
    #[cfg(feature = "http")]
    if let Some(parts) = &ex.http {
        return crate::identity::from_extensions(&parts.extensions).map(Principal::of);
    }
    None
}

/// The version of a notification: the session's, or (a 2026-07-28 notification over HTTP,
/// which has neither session nor envelope) the `MCP-Protocol-Version` header's.
fn notification_version(ex: &Exchange) -> mcp_rs_core::ProtocolVersion {
    #[cfg(feature = "http")]
    if ex.session.is_none()
        && ex.stateless.is_none()
        && let Some(v) = ex
            .http
            .as_ref()
            .and_then(|p| {
                p.headers
                    .get(crate::protocol::classify::PROTOCOL_VERSION_HEADER)
            })
            .and_then(|v| v.to_str().ok())
            .and_then(mcp_rs_core::ProtocolVersion::parse)
    {
        return v;
    }
    super::negotiated(ex).0
}

/// Starts observing `req` (only called when hooks are registered).
pub(super) fn watch(server: &Server, req: &JsonRpcRequest, ex: &Exchange) -> Watch {
    let target = name_param_of(&req.method)
        .and_then(|field| req.params.as_ref()?.get(field)?.as_str())
        .map(str::to_owned);
    let info = RequestInfo {
        id: req.id.clone(),
        method: req.method.clone(),
        target,
        session_id: ex.session.as_ref().map(|s| s.id().to_owned()),
        protocol_version: super::negotiated(ex).0,
        principal: principal(ex),
        received_at: SystemTime::now(),
        started: Instant::now(),
    };
    Watch::new(server.0.hooks.clone(), info)
}

/// Reports `outcome` to the hooks of `watch`.
pub(super) async fn report(watch: Watch, outcome: &Outcome) {
    let read = match outcome {
        Outcome::Reply(JsonRpcMessage::Response(r)) => Ok(&r.result),
        Outcome::Reply(JsonRpcMessage::Error(e)) => Err(Failure::Error(e.error.clone())),
        Outcome::Forbidden { required, .. } => Err(Failure::Forbidden(required.clone())),
        _ => Err(Failure::Cancelled),
    };
    watch.finish(read).await;
}

/// Tells the hooks about a notification, then runs its custom handler, if any (a panic in
/// the handler is logged and contained).
pub(super) async fn notify(server: &Server, n: &JsonRpcNotification, ex: &Exchange) {
    let hooks = &server.0.hooks;
    let def = server.0.custom.notification(&n.method);
    if hooks.is_empty() && def.is_none() {
        return;
    }
    let version = notification_version(ex);
    if !hooks.is_empty() {
        let info = NotificationInfo {
            method: n.method.clone(),
            session_id: ex.session.as_ref().map(|s| s.id().to_owned()),
            protocol_version: version,
            principal: principal(ex),
        };
        hooks.notification(&info).await;
    }
    let Some(def) = def else { return };
    let ctx = NotificationContext {
        method: n.method.clone(),
        session: ex.session.clone(),
        identity: identity(ex),
        protocol_version: version,
    };
    let mut params = n
        .params
        .clone()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Value::Object(p) = &mut params {
        p.remove("_meta");
    }
    let handler = def.handler().clone();
    if AssertUnwindSafe(handler.notify(ctx, params))
        .catch_unwind()
        .await
        .is_err()
    {
        tracing::error!(method = %n.method, "notification handler panicked");
    }
}
