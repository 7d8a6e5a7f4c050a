//! The bus between the instances of a deployment: the [`ClusterBus`] trait and the
//! [`ClusterMessage`]s it carries (what each instance does with them is in `cluster.rs`).

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::server::ServerEvent;

/// A message between the instances of a deployment. The serialised form (JSON, tagged by
/// `type`) is what a [`ClusterBus`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum ClusterMessage {
    /// [`ServerEvent::ToolsListChanged`] on another instance.
    ToolsListChanged,
    /// [`ServerEvent::ResourcesListChanged`] on another instance.
    ResourcesListChanged,
    /// [`ServerEvent::PromptsListChanged`] on another instance.
    PromptsListChanged,
    /// [`ServerEvent::ResourceUpdated`] on another instance.
    ResourceUpdated {
        /// The resource's URI.
        uri: String,
    },
    /// Session `session` ended (`DELETE`): every instance drops its live copy.
    SessionEnded {
        /// The session id.
        session: String,
    },
    /// The record of `session` changed (log level, subscriptions): instances holding a live
    /// copy read it again.
    SessionChanged {
        /// The session id.
        session: String,
    },
    /// A client message of `session` for a request another instance holds: the answer to
    /// a server→client request that arrived where nothing waits for it, or a
    /// `notifications/cancelled` for a request that runs elsewhere. The instance holding the
    /// request handles it; the others ignore it.
    Forward {
        /// The session id.
        session: String,
        /// The JSON-RPC message, serialised.
        message: String,
    },
}

impl ClusterMessage {
    pub(crate) fn from_event(event: &ServerEvent) -> Self {
        match event {
            ServerEvent::ToolsListChanged => ClusterMessage::ToolsListChanged,
            ServerEvent::ResourcesListChanged => ClusterMessage::ResourcesListChanged,
            ServerEvent::PromptsListChanged => ClusterMessage::PromptsListChanged,
            ServerEvent::ResourceUpdated { uri } => {
                ClusterMessage::ResourceUpdated { uri: uri.clone() }
            }
        }
    }

    pub(crate) fn to_event(&self) -> Option<ServerEvent> {
        Some(match self {
            ClusterMessage::ToolsListChanged => ServerEvent::ToolsListChanged,
            ClusterMessage::ResourcesListChanged => ServerEvent::ResourcesListChanged,
            ClusterMessage::PromptsListChanged => ServerEvent::PromptsListChanged,
            ClusterMessage::ResourceUpdated { uri } => {
                ServerEvent::ResourceUpdated { uri: uri.clone() }
            }
            _ => return None,
        })
    }
}

/// Publish/subscribe between the instances of a deployment (the `redis` feature has one on
/// Redis): list changes and resource updates, answers to server→client requests that
/// reached the wrong instance, session state changes and session ends, between instances
/// sharing a [`SessionStore`](super::SessionStore). The bus is best effort: a message
/// published while the backend is unreachable is lost.
pub trait ClusterBus: Send + Sync + 'static {
    /// Sends `msg` to every other instance. Must not block: queue it and return.
    fn publish(&self, msg: ClusterMessage);

    /// The messages published by the other instances (not this one's own).
    fn subscribe(&self) -> broadcast::Receiver<ClusterMessage>;
}
