//! Cross-cutting notifications: cancellation, progress, `initialized`, roots changes and
//! the 2025-11-25 URL-elicitation completion.

use serde::{Deserialize, Serialize};

use super::common::{Meta, NotificationParams, ProgressToken};
use super::envelope::notification;
use crate::jsonrpc::RequestId;
use crate::method;

/// Parameters of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledNotificationParams {
    /// The id of the request to cancel (required from 2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// Parameters of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressNotificationParams {
    /// The token from the request's `_meta.progressToken`.
    pub progress_token: ProgressToken,
    /// Progress so far; increases with each notification.
    #[serde(with = "super::common::num")]
    pub progress: f64,
    /// The total, when known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::common::opt_num"
    )]
    pub total: Option<f64>,
    /// A human-readable message (2025-03-26+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ProgressNotificationParams {
    /// A progress report.
    pub fn new(
        progress_token: ProgressToken,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> Self {
        ProgressNotificationParams {
            progress_token,
            progress,
            total,
            message,
            meta: None,
        }
    }
}

/// Parameters of `notifications/elicitation/complete` (2025-11-25).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitationCompleteNotificationParams {
    /// The id of the URL-mode elicitation that completed.
    pub elicitation_id: String,
}

notification!(
    /// `notifications/cancelled`.
    CancelledNotification = method::NOTIFICATION_CANCELLED, CancelledNotificationParams
);
notification!(
    /// `notifications/progress`.
    ProgressNotification = method::NOTIFICATION_PROGRESS, ProgressNotificationParams
);
notification!(
    /// `notifications/initialized` (handshake era).
    InitializedNotification = method::NOTIFICATION_INITIALIZED, optional NotificationParams
);
notification!(
    /// `notifications/roots/list_changed` (handshake era).
    RootsListChangedNotification = method::NOTIFICATION_ROOTS_LIST_CHANGED, optional NotificationParams
);
notification!(
    /// `notifications/elicitation/complete` (2025-11-25).
    ElicitationCompleteNotification = method::NOTIFICATION_ELICITATION_COMPLETE,
    ElicitationCompleteNotificationParams
);
