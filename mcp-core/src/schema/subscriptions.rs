//! `subscriptions/listen` and its acknowledgement (2026-07-28): a long-lived request that
//! carries the notifications a client asked for.

use serde::{Deserialize, Serialize};

use super::common::{Meta, ResultType};
use super::envelope::{notification, request, response};
use crate::jsonrpc::RequestId;
use crate::method;

/// Which notifications a listener wants.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter {
    /// `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_list_changed: Option<bool>,
    /// `notifications/prompts/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_list_changed: Option<bool>,
    /// `notifications/resources/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_list_changed: Option<bool>,
    /// URIs to receive `notifications/resources/updated` for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_subscriptions: Option<Vec<String>>,
}

/// Parameters of `subscriptions/listen`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubscriptionsListenRequestParams {
    /// What the client wants to hear about.
    pub notifications: SubscriptionFilter,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Parameters of `notifications/subscriptions/acknowledged`: what the server agreed to send.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubscriptionsAcknowledgedNotificationParams {
    /// The subscriptions in effect (a subset of those requested).
    pub notifications: SubscriptionFilter,
    /// Metadata (`io.modelcontextprotocol/subscriptionId` names the listen request).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl SubscriptionsAcknowledgedNotificationParams {
    /// An acknowledgement of `notifications` for the listen request `subscription_id`.
    pub fn new(notifications: SubscriptionFilter, subscription_id: &RequestId) -> Self {
        SubscriptionsAcknowledgedNotificationParams {
            notifications,
            meta: Some(subscription_meta(subscription_id)),
        }
    }
}

/// The final result of `subscriptions/listen`, sent when the server ends the stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionsListenResult {
    /// `resultType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Metadata (`io.modelcontextprotocol/subscriptionId` is required by the schema).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl SubscriptionsListenResult {
    /// A completed listen result for `subscription_id`.
    pub fn new(subscription_id: &RequestId) -> Self {
        SubscriptionsListenResult {
            result_type: Some(ResultType::Complete),
            meta: Some(subscription_meta(subscription_id)),
        }
    }
}

/// A `_meta` object holding `io.modelcontextprotocol/subscriptionId`.
pub fn subscription_meta(subscription_id: &RequestId) -> Meta {
    let mut m = Meta::new();
    m.insert(
        crate::meta::SUBSCRIPTION_ID.to_owned(),
        serde_json::to_value(subscription_id).unwrap_or(serde_json::Value::Null),
    );
    m
}

request!(
    /// `subscriptions/listen` (2026-07-28).
    SubscriptionsListenRequest = method::SUBSCRIPTIONS_LISTEN, SubscriptionsListenRequestParams
);
notification!(
    /// `notifications/subscriptions/acknowledged` (2026-07-28).
    SubscriptionsAcknowledgedNotification = method::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
    SubscriptionsAcknowledgedNotificationParams
);
response!(
    /// A response carrying a [`SubscriptionsListenResult`].
    SubscriptionsListenResultResponse, SubscriptionsListenResult
);
