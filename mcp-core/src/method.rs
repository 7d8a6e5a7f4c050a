//! MCP method and notification names, and which protocol versions define them.
//!
//! ```
//! use mcp_rs_core::method::{self, Direction};
//! use mcp_rs_core::ProtocolVersion;
//!
//! assert_eq!(method::TOOLS_CALL, "tools/call");
//! assert!(method::exists_in(method::INITIALIZE, ProtocolVersion::V2025_11_25));
//! assert!(!method::exists_in(method::INITIALIZE, ProtocolVersion::V2026_07_28));
//! assert_eq!(method::info(method::SERVER_DISCOVER).unwrap().direction, Direction::ClientToServer);
//! ```

use crate::version::ProtocolVersion;

/// `initialize` (handshake era).
pub const INITIALIZE: &str = "initialize";
/// `ping` (handshake era).
pub const PING: &str = "ping";
/// `tools/list`.
pub const TOOLS_LIST: &str = "tools/list";
/// `tools/call`.
pub const TOOLS_CALL: &str = "tools/call";
/// `resources/list`.
pub const RESOURCES_LIST: &str = "resources/list";
/// `resources/templates/list`.
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
/// `resources/read`.
pub const RESOURCES_READ: &str = "resources/read";
/// `resources/subscribe` (handshake era).
pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
/// `resources/unsubscribe` (handshake era).
pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
/// `prompts/list`.
pub const PROMPTS_LIST: &str = "prompts/list";
/// `prompts/get`.
pub const PROMPTS_GET: &str = "prompts/get";
/// `completion/complete`.
pub const COMPLETION_COMPLETE: &str = "completion/complete";
/// `logging/setLevel` (handshake era).
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
/// `sampling/createMessage` (server to client; embedded in `inputRequests` from 2026-07-28).
pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
/// `elicitation/create` (server to client, 2025-06-18+; embedded in `inputRequests` from 2026-07-28).
pub const ELICITATION_CREATE: &str = "elicitation/create";
/// `roots/list` (server to client; embedded in `inputRequests` from 2026-07-28).
pub const ROOTS_LIST: &str = "roots/list";
/// `server/discover` (2026-07-28).
pub const SERVER_DISCOVER: &str = "server/discover";
/// `subscriptions/listen` (2026-07-28).
pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";

/// `notifications/initialized` (handshake era).
pub const NOTIFICATION_INITIALIZED: &str = "notifications/initialized";
/// `notifications/cancelled`.
pub const NOTIFICATION_CANCELLED: &str = "notifications/cancelled";
/// `notifications/progress`.
pub const NOTIFICATION_PROGRESS: &str = "notifications/progress";
/// `notifications/message` (log message).
pub const NOTIFICATION_MESSAGE: &str = "notifications/message";
/// `notifications/tools/list_changed`.
pub const NOTIFICATION_TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
/// `notifications/resources/list_changed`.
pub const NOTIFICATION_RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
/// `notifications/resources/updated`.
pub const NOTIFICATION_RESOURCES_UPDATED: &str = "notifications/resources/updated";
/// `notifications/prompts/list_changed`.
pub const NOTIFICATION_PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
/// `notifications/roots/list_changed` (handshake era).
pub const NOTIFICATION_ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
/// `notifications/elicitation/complete` (2025-11-25).
pub const NOTIFICATION_ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
/// `notifications/subscriptions/acknowledged` (2026-07-28).
pub const NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED: &str =
    "notifications/subscriptions/acknowledged";

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the client, handled by the server.
    ClientToServer,
    /// Sent by the server, handled by the client.
    ServerToClient,
    /// Either side may send it.
    Both,
}

/// Whether a name is a request or a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Expects a response.
    Request,
    /// No response.
    Notification,
}

/// Facts about one method or notification name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The wire name.
    pub name: &'static str,
    /// Request or notification.
    pub kind: Kind,
    /// Who sends it.
    pub direction: Direction,
    /// The first protocol version that defines it.
    pub since: ProtocolVersion,
    /// The first protocol version that no longer defines it as a standalone message, if any.
    pub removed_in: Option<ProtocolVersion>,
}

impl MethodInfo {
    /// Whether `version` defines this method.
    pub fn exists_in(&self, version: ProtocolVersion) -> bool {
        version >= self.since && self.removed_in.is_none_or(|r| version < r)
    }
}

const fn m(
    name: &'static str,
    kind: Kind,
    direction: Direction,
    since: ProtocolVersion,
    removed_in: Option<ProtocolVersion>,
) -> MethodInfo {
    MethodInfo {
        name,
        kind,
        direction,
        since,
        removed_in,
    }
}

use Direction::{Both, ClientToServer as C2S, ServerToClient as S2C};
use Kind::{Notification as N, Request as R};
use ProtocolVersion::{V2024_11_05 as V1, V2025_06_18 as V3, V2025_11_25 as V4, V2026_07_28 as V5};

/// Every method and notification of 2024-11-05 .. 2026-07-28.
///
/// `sampling/createMessage`, `elicitation/create` and `roots/list` stop being standalone
/// requests in 2026-07-28: they travel inside an `input_required` result instead (see
/// [`EMBEDDED_INPUT_REQUESTS`]). The 2025-11-25 experimental `tasks/*` methods are not modelled.
pub const ALL: &[MethodInfo] = &[
    m(INITIALIZE, R, C2S, V1, Some(V5)),
    m(PING, R, Both, V1, Some(V5)),
    m(TOOLS_LIST, R, C2S, V1, None),
    m(TOOLS_CALL, R, C2S, V1, None),
    m(RESOURCES_LIST, R, C2S, V1, None),
    m(RESOURCES_TEMPLATES_LIST, R, C2S, V1, None),
    m(RESOURCES_READ, R, C2S, V1, None),
    m(RESOURCES_SUBSCRIBE, R, C2S, V1, Some(V5)),
    m(RESOURCES_UNSUBSCRIBE, R, C2S, V1, Some(V5)),
    m(PROMPTS_LIST, R, C2S, V1, None),
    m(PROMPTS_GET, R, C2S, V1, None),
    m(COMPLETION_COMPLETE, R, C2S, V1, None),
    m(LOGGING_SET_LEVEL, R, C2S, V1, Some(V5)),
    m(SAMPLING_CREATE_MESSAGE, R, S2C, V1, Some(V5)),
    m(ELICITATION_CREATE, R, S2C, V3, Some(V5)),
    m(ROOTS_LIST, R, S2C, V1, Some(V5)),
    m(SERVER_DISCOVER, R, C2S, V5, None),
    m(SUBSCRIPTIONS_LISTEN, R, C2S, V5, None),
    m(NOTIFICATION_INITIALIZED, N, C2S, V1, Some(V5)),
    m(NOTIFICATION_CANCELLED, N, Both, V1, None),
    m(NOTIFICATION_PROGRESS, N, Both, V1, None),
    m(NOTIFICATION_MESSAGE, N, S2C, V1, None),
    m(NOTIFICATION_TOOLS_LIST_CHANGED, N, S2C, V1, None),
    m(NOTIFICATION_RESOURCES_LIST_CHANGED, N, S2C, V1, None),
    m(NOTIFICATION_RESOURCES_UPDATED, N, S2C, V1, None),
    m(NOTIFICATION_PROMPTS_LIST_CHANGED, N, S2C, V1, None),
    m(NOTIFICATION_ROOTS_LIST_CHANGED, N, C2S, V1, Some(V5)),
    m(NOTIFICATION_ELICITATION_COMPLETE, N, S2C, V4, Some(V5)),
    m(NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED, N, S2C, V5, None),
];

/// Methods a 2026-07-28 server may ask for inside `InputRequiredResult.inputRequests`.
pub const EMBEDDED_INPUT_REQUESTS: &[&str] =
    &[SAMPLING_CREATE_MESSAGE, ELICITATION_CREATE, ROOTS_LIST];

/// Facts about `name`, or `None` for an unknown name.
pub fn info(name: &str) -> Option<&'static MethodInfo> {
    ALL.iter().find(|i| i.name == name)
}

/// Whether `name` is a standalone method or notification of `version`.
pub fn exists_in(name: &str, version: ProtocolVersion) -> bool {
    info(name).is_some_and(|i| i.exists_in(version))
}

/// The methods and notifications of `version`.
pub fn of_version(version: ProtocolVersion) -> impl Iterator<Item = &'static MethodInfo> {
    ALL.iter().filter(move |i| i.exists_in(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        assert!(exists_in(PING, ProtocolVersion::V2025_11_25));
        assert!(!exists_in(PING, ProtocolVersion::V2026_07_28));
        assert!(!exists_in(ELICITATION_CREATE, ProtocolVersion::V2025_03_26));
        assert!(exists_in(ELICITATION_CREATE, ProtocolVersion::V2025_06_18));
        assert!(exists_in(
            SUBSCRIPTIONS_LISTEN,
            ProtocolVersion::V2026_07_28
        ));
        assert!(!exists_in(
            SUBSCRIPTIONS_LISTEN,
            ProtocolVersion::V2025_11_25
        ));
        assert!(!exists_in("tools/unknown", ProtocolVersion::V2026_07_28));
        let names: Vec<_> = of_version(ProtocolVersion::V2026_07_28)
            .map(|i| i.name)
            .collect();
        assert_eq!(
            names,
            [
                TOOLS_LIST,
                TOOLS_CALL,
                RESOURCES_LIST,
                RESOURCES_TEMPLATES_LIST,
                RESOURCES_READ,
                PROMPTS_LIST,
                PROMPTS_GET,
                COMPLETION_COMPLETE,
                SERVER_DISCOVER,
                SUBSCRIPTIONS_LISTEN,
                NOTIFICATION_CANCELLED,
                NOTIFICATION_PROGRESS,
                NOTIFICATION_MESSAGE,
                NOTIFICATION_TOOLS_LIST_CHANGED,
                NOTIFICATION_RESOURCES_LIST_CHANGED,
                NOTIFICATION_RESOURCES_UPDATED,
                NOTIFICATION_PROMPTS_LIST_CHANGED,
                NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
            ]
        );
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(
                ALL[i + 1..].iter().all(|b| b.name != a.name),
                "duplicate {}",
                a.name
            );
        }
    }
}
