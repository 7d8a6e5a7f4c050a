//! `subscriptions/listen` (2026-07-28): a long-lived request whose response stream carries the
//! notifications the client opted in to.
//!
//! The stream opens with `notifications/subscriptions/acknowledged`, listing the subset of
//! the requested notifications the server honours (a kind the server does not support is left
//! out). Every notification on the stream, the acknowledgement included, carries
//! `_meta["io.modelcontextprotocol/subscriptionId"]` = the id of the listen request. Only the
//! requested kinds and, for `notifications/resources/updated`, only the requested URIs are
//! sent. The stream ends with a `SubscriptionsListenResult` when its lifetime bound is reached
//! (the client reconnects), and silently when the client goes away.
//!
//! [`Listener`] is transport-agnostic: it is fed by [`Server::subscribe_events`], the same bus
//! that serves handshake-era sessions, and writes to the request's response channel
//! ([`RequestContext::notify`]); the HTTP transport streams that channel as SSE.

use crate::context::RequestContext;
use crate::error::{ErrorKind, McpError};
use crate::server::{Server, ServerEvent};
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::schema::{
    ServerCapabilities, SubscriptionFilter, SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams, SubscriptionsListenResult, subscription_meta,
};
use mcp_rs_core::{ErrorObject, method};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The part of `requested` that `caps` supports.
#[must_use]
pub(crate) fn agreed_filter(
    requested: &SubscriptionFilter,
    caps: &ServerCapabilities,
) -> SubscriptionFilter {
    let yes = |asked: Option<bool>, offered: Option<bool>| {
        (asked == Some(true) && offered == Some(true)).then_some(true)
    };
    let resources = caps.resources.as_ref();
    SubscriptionFilter {
        tools_list_changed: yes(
            requested.tools_list_changed,
            caps.tools.as_ref().and_then(|t| t.list_changed),
        ),
        prompts_list_changed: yes(
            requested.prompts_list_changed,
            caps.prompts.as_ref().and_then(|p| p.list_changed),
        ),
        resources_list_changed: yes(
            requested.resources_list_changed,
            resources.and_then(|r| r.list_changed),
        ),
        resource_subscriptions: match (
            &requested.resource_subscriptions,
            resources.and_then(|r| r.subscribe),
        ) {
            (Some(uris), Some(true)) if !uris.is_empty() => {
                let mut uris = uris.clone();
                uris.sort();
                uris.dedup();
                Some(uris)
            }
            _ => None,
        },
    }
}

/// Tags a notification's params with the subscription id.
fn tagged(method: &str, params: Option<Value>, id: &RequestId) -> JsonRpcMessage {
    let mut params = match params {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(meta) = meta {
        meta.extend(subscription_meta(id));
    }
    JsonRpcMessage::notification(method, Some(Value::Object(params)))
}

/// The notification announcing `event` on a stream with `filter`, or `None` when the client
/// did not ask for it.
#[must_use]
pub(crate) fn notification_for(
    event: &ServerEvent,
    filter: &SubscriptionFilter,
    id: &RequestId,
) -> Option<JsonRpcMessage> {
    let wanted = match event {
        ServerEvent::ToolsListChanged => filter.tools_list_changed == Some(true),
        ServerEvent::PromptsListChanged => filter.prompts_list_changed == Some(true),
        ServerEvent::ResourcesListChanged => filter.resources_list_changed == Some(true),
        ServerEvent::ResourceUpdated { uri } => filter
            .resource_subscriptions
            .as_ref()
            .is_some_and(|u| u.binary_search(uri).is_ok()),
        #[allow(unreachable_patterns)]
        _ => false,
    };
    if !wanted {
        return None;
    }
    let JsonRpcMessage::Notification(n) = event.to_notification() else {
        return None;
    };
    Some(tagged(&n.method, n.params, id))
}

async fn send(ctx: &RequestContext, m: JsonRpcMessage) -> Result<(), McpError> {
    if let JsonRpcMessage::Notification(n) = m {
        ctx.notify(&n.method, n.params.unwrap_or(Value::Null))
            .await?;
    }
    Ok(())
}

/// `subscriptions/listen` through dispatch: streams on the request's channel until the
/// lifetime bound ([`ProtocolOptions::listen_lifetime`](crate::protocol::ProtocolOptions::listen_lifetime)).
pub(crate) async fn handle(
    server: &Server,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let mut listener = Listener::new(server, ctx.request_id().clone(), params.as_ref())
        .map_err(McpError::protocol)?;
    // Resources the caller may not read stay in the acknowledgement (leaving them out would
    // tell hidden URIs from unknown ones) but their updates are never sent.
    if let Some(uris) = &listener.filter.resource_subscriptions {
        listener.muted = uris
            .iter()
            .filter(|uri| !matches!(super::resources::may_watch(server, &ctx, uri), Ok(true)))
            .cloned()
            .collect();
    }
    listener
        .run(&ctx, server.protocol_options().listen_max_lifetime())
        .await
}

/// One `subscriptions/listen` stream.
#[derive(Debug)]
pub(crate) struct Listener {
    id: RequestId,
    filter: SubscriptionFilter,
    events: tokio::sync::broadcast::Receiver<ServerEvent>,
    /// Subscribed URIs whose updates are not sent: the caller may not read them.
    muted: Vec<String>,
}

impl Listener {
    /// Validates the request and subscribes to the server's events (before anything is sent,
    /// so no change between the acknowledgement and the first notification is lost).
    ///
    /// # Errors
    /// `-32602` when `params.notifications` is missing or malformed.
    pub(crate) fn new(
        server: &Server,
        id: RequestId,
        params: Option<&Value>,
    ) -> Result<Self, ErrorObject> {
        let params: SubscriptionsListenRequestParams = params
            .cloned()
            .ok_or_else(|| {
                ErrorObject::invalid_params(
                    "Invalid params: subscriptions/listen needs params.notifications",
                )
            })
            .and_then(|p| {
                serde_json::from_value(p).map_err(|e| {
                    ErrorObject::invalid_params(format!(
                        "Invalid params: malformed subscriptions/listen params: {e}"
                    ))
                })
            })?;
        let filter = agreed_filter(&params.notifications, server.capabilities());
        Ok(Listener {
            id,
            filter,
            events: server.subscribe_events(),
            muted: Vec::new(),
        })
    }

    /// The acknowledgement (the first message of the stream).
    #[must_use]
    pub(crate) fn acknowledgement(&self) -> JsonRpcMessage {
        let params =
            SubscriptionsAcknowledgedNotificationParams::new(self.filter.clone(), &self.id);
        JsonRpcMessage::notification(
            method::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
            serde_json::to_value(params).ok(),
        )
    }

    /// Runs the stream on the request's response channel: the acknowledgement, then matching
    /// notifications, until the lifetime bound (then the closing result is returned) or the
    /// request is cancelled (the client went away). A listener that fell behind the event bus
    /// receives every list-changed kind it subscribed to (and an update for each subscribed URI)
    /// instead of the lost events.
    ///
    /// # Errors
    /// [`ErrorKind::Cancelled`] when the request was cancelled.
    pub(crate) async fn run(
        mut self,
        ctx: &RequestContext,
        lifetime: Duration,
    ) -> Result<Value, McpError> {
        send(ctx, self.acknowledgement()).await?;
        let end = tokio::time::sleep(lifetime);
        tokio::pin!(end);
        loop {
            let event = tokio::select! {
                () = ctx.cancellation().cancelled() => return Err(McpError::new(ErrorKind::Cancelled)),
                () = &mut end => break,
                e = self.events.recv() => e,
            };
            let messages: Vec<JsonRpcMessage> = match event {
                Ok(event) if self.is_muted(&event) => Vec::new(),
                Ok(event) => notification_for(&event, &self.filter, &self.id)
                    .into_iter()
                    .collect(),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "subscriptions/listen stream fell behind; resending every subscribed kind"
                    );
                    self.catch_up()
                }
                Err(RecvError::Closed) => break,
            };
            for m in messages {
                send(ctx, m).await?;
            }
        }
        serde_json::to_value(SubscriptionsListenResult::new(&self.id)).map_err(McpError::internal)
    }

    fn catch_up(&self) -> Vec<JsonRpcMessage> {
        let mut events = vec![
            ServerEvent::ToolsListChanged,
            ServerEvent::PromptsListChanged,
            ServerEvent::ResourcesListChanged,
        ];
        if let Some(uris) = &self.filter.resource_subscriptions {
            events.extend(
                uris.iter()
                    .map(|uri| ServerEvent::ResourceUpdated { uri: uri.clone() }),
            );
        }
        events
            .iter()
            .filter(|e| !self.is_muted(e))
            .filter_map(|e| notification_for(e, &self.filter, &self.id))
            .collect()
    }

    fn is_muted(&self, event: &ServerEvent) -> bool {
        matches!(event, ServerEvent::ResourceUpdated { uri } if self.muted.contains(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn caps(v: Value) -> ServerCapabilities {
        serde_json::from_value(v).unwrap()
    }

    fn filter(v: Value) -> SubscriptionFilter {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn muted_uris_are_never_sent_not_even_on_catch_up() {
        let (tx, events) = tokio::sync::broadcast::channel(4);
        drop(tx);
        let listener = Listener {
            id: RequestId::Number(7),
            filter: filter(json!({"resourceSubscriptions": ["notes://all", "secret://keys"]})),
            events,
            muted: vec!["secret://keys".to_owned()],
        };
        let hidden = ServerEvent::ResourceUpdated {
            uri: "secret://keys".into(),
        };
        let shown = ServerEvent::ResourceUpdated {
            uri: "notes://all".into(),
        };
        assert!(listener.is_muted(&hidden));
        assert!(!listener.is_muted(&shown));
        let sent: Vec<Value> = listener
            .catch_up()
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect();
        assert_eq!(
            sent,
            [
                json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
                    "params": {"uri": "notes://all",
                               "_meta": {"io.modelcontextprotocol/subscriptionId": 7}}})
            ]
        );
    }

    #[test]
    fn agreed_subset() {
        let c = caps(
            json!({"tools": {"listChanged": true}, "prompts": {}, "resources": {"subscribe": true}}),
        );
        let f = agreed_filter(
            &filter(
                json!({"toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true,
                "resourceSubscriptions": ["b://x", "a://y", "b://x"]}),
            ),
            &c,
        );
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"toolsListChanged": true, "resourceSubscriptions": ["a://y", "b://x"]})
        );
        let none = agreed_filter(&filter(json!({"toolsListChanged": false})), &c);
        assert_eq!(serde_json::to_value(&none).unwrap(), json!({}));
    }

    #[test]
    fn only_requested_notifications_are_tagged_and_sent() {
        let id = RequestId::Number(42);
        let f = filter(json!({"promptsListChanged": true, "resourceSubscriptions": ["test://w"]}));
        assert!(notification_for(&ServerEvent::ToolsListChanged, &f, &id).is_none());
        let n = notification_for(&ServerEvent::PromptsListChanged, &f, &id).unwrap();
        assert_eq!(
            n.to_value(),
            json!({"jsonrpc": "2.0", "method": "notifications/prompts/list_changed",
                "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": 42}}})
        );
        let u = notification_for(
            &ServerEvent::ResourceUpdated {
                uri: "test://w".into(),
            },
            &f,
            &id,
        )
        .unwrap();
        assert_eq!(
            u.to_value()["params"],
            json!({"uri": "test://w", "_meta": {"io.modelcontextprotocol/subscriptionId": 42}})
        );
        assert!(
            notification_for(
                &ServerEvent::ResourceUpdated {
                    uri: "test://other".into()
                },
                &f,
                &id
            )
            .is_none()
        );
    }
}
