//! `_meta` keys of the stateless era (2026-07-28) and of cross-cutting features.

/// `params._meta` key: the protocol version the request is written in.
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `params._meta` key: the client's capabilities for this request.
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `params._meta` key: the client's implementation info (optional).
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `params._meta` key: the minimum level of `notifications/message` the client wants.
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `result._meta` key (discover): the server's implementation info.
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// Notification `_meta` key tagging a notification with its `subscriptions/listen` request id.
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// `params._meta` key of the progress token (both eras).
pub const PROGRESS_TOKEN: &str = "progressToken";
/// W3C trace context keys carried in `_meta`.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace state.
pub const TRACESTATE: &str = "tracestate";
/// W3C baggage.
pub const BAGGAGE: &str = "baggage";
