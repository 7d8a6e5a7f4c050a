//! [`Server`]: the registry plus configuration and sessions, shared by every transport, and
//! the types of the transport-facing interface ([`Exchange`], [`Outcome`], [`ServerEvent`]).
//!
//! This module is below dispatch and never names a transport: [`Server::handle`] is
//! implemented in the dispatch layer, [`Server::builder`] next to the builder, and
//! [`Server::serve_stdio`] in [`transport::stdio`](crate::transport::stdio).

use crate::custom::CustomMethods;
use crate::error::BuildError;
use crate::hooks::Hooks;
use crate::prompt::PromptDef;
use crate::protocol::{ProtocolOptions, StatelessEnvelope};
use crate::registry::Registry;
use crate::registry::pagination::CursorCodec;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::scope::ScopeRequirement;
use crate::session::{MessageSink, PeerInfo, Pending, PendingLimits, Session, SessionMap};
use crate::tool::ToolDef;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::method;
use mcp_rs_core::schema::{Implementation, LoggingLevel, ServerCapabilities};
use serde_json::json;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Everything a transport knows about one incoming message.
///
/// Start from [`Exchange::default()`] or [`Exchange::with_session`] and set the fields you
/// know (the struct is `#[non_exhaustive]`, so other crates assign fields instead of using a
/// struct literal).
#[derive(Default)]
#[non_exhaustive]
pub struct Exchange {
    /// The handshake-era session (None: stateless era, or a sessionless transport).
    pub session: Option<Arc<Session>>,
    /// Where notifications and server→client requests related to this message go (an SSE
    /// response stream). Falls back to the session's standalone channel.
    pub related: Option<Arc<dyn MessageSink>>,
    /// The HTTP request head.
    #[cfg(feature = "http")]
    pub http: Option<Arc<http::request::Parts>>,
    /// The verified identity, for transports without HTTP parts (the HTTP transport leaves
    /// it in the request extensions instead).
    pub identity: Option<Arc<crate::identity::OAuthContext>>,
    /// Fired by the transport when the client goes away.
    pub cancel: CancellationToken,
    /// The parsed `_meta` envelope of a 2026-07-28 request.
    pub stateless: Option<StatelessEnvelope>,
}

impl Exchange {
    /// An exchange on `session`.
    #[must_use]
    pub fn with_session(session: Arc<Session>) -> Self {
        Exchange {
            session: Some(session),
            ..Exchange::default()
        }
    }

    /// Whether the exchange came over HTTP.
    pub(crate) fn is_http(&self) -> bool {
        #[cfg(feature = "http")]
        {
            self.http.is_some()
        }
        #[cfg(not(feature = "http"))]
        {
            false
        }
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("session", &self.session.as_ref().map(|s| s.id()))
            .field("related", &self.related.is_some())
            .field("stateless", &self.stateless.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`Server::handle`] produced for one message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Send this response (or error response).
    Reply(JsonRpcMessage),
    /// Nothing to send (a notification, a response, or a cancelled request).
    NoReply,
    /// The caller lacks scopes (HTTP exchanges only): answer `403` with a
    /// `WWW-Authenticate: Bearer error="insufficient_scope"` challenge.
    Forbidden {
        /// The request id.
        id: RequestId,
        /// What was required.
        required: ScopeRequirement,
    },
}

/// A change every connected client may need to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The tool list changed.
    ToolsListChanged,
    /// The resource (or template) list changed.
    ResourcesListChanged,
    /// The prompt list changed.
    PromptsListChanged,
    /// A resource's content changed.
    ResourceUpdated {
        /// Its URI.
        uri: String,
    },
}

impl ServerEvent {
    /// The notification announcing the event.
    #[must_use]
    pub fn to_notification(&self) -> JsonRpcMessage {
        match self {
            ServerEvent::ToolsListChanged => {
                JsonRpcMessage::notification(method::NOTIFICATION_TOOLS_LIST_CHANGED, None)
            }
            ServerEvent::ResourcesListChanged => {
                JsonRpcMessage::notification(method::NOTIFICATION_RESOURCES_LIST_CHANGED, None)
            }
            ServerEvent::PromptsListChanged => {
                JsonRpcMessage::notification(method::NOTIFICATION_PROMPTS_LIST_CHANGED, None)
            }
            ServerEvent::ResourceUpdated { uri } => JsonRpcMessage::notification(
                method::NOTIFICATION_RESOURCES_UPDATED,
                Some(json!({ "uri": uri })),
            ),
        }
    }
}

/// Server settings (from the builder).
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) page_size: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) enforce_scopes_without_identity: bool,
    pub(crate) hide_unauthorized_items: bool,
    pub(crate) policy: Option<crate::policy::PolicyHandle>,
    pub(crate) default_log_level: LoggingLevel,
    /// Bound on the server→client requests one session may leave unanswered at once.
    pub(crate) max_pending_per_session: usize,
    /// Bound on the server→client requests of the whole server waiting at once.
    pub(crate) max_pending_total: usize,
}

/// Default bound on the server→client requests one session waits for at once.
pub(crate) const DEFAULT_MAX_PENDING_PER_SESSION: usize = 16;
/// Default bound on the server→client requests the whole server waits for at once.
pub(crate) const DEFAULT_MAX_PENDING_TOTAL: usize = 256;

impl Default for Options {
    fn default() -> Self {
        Options {
            page_size: 50,
            request_timeout: Duration::from_secs(60),
            enforce_scopes_without_identity: true,
            hide_unauthorized_items: false,
            policy: None,
            default_log_level: LoggingLevel::Info,
            max_pending_per_session: DEFAULT_MAX_PENDING_PER_SESSION,
            max_pending_total: DEFAULT_MAX_PENDING_TOTAL,
        }
    }
}

pub(crate) struct ServerInner {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) capabilities: ServerCapabilities,
    pub(crate) registry: Registry,
    pub(crate) options: Options,
    pub(crate) protocol: ProtocolOptions,
    pub(crate) cursors: CursorCodec,
    pub(crate) sessions: SessionMap,
    pub(crate) pending: Pending,
    /// Custom requests and notifications (fixed at build time).
    pub(crate) custom: CustomMethods,
    /// Server hooks (empty: no hook work).
    pub(crate) hooks: Hooks,
    pub(crate) pending_limits: PendingLimits,
    next_peer_id: AtomicI64,
    events: broadcast::Sender<ServerEvent>,
    /// Carries events emitted here to the other instances of a deployment (set once by a
    /// clustered transport).
    relay: OnceLock<EventRelay>,
    /// The tasks extension: settings, store, running tasks.
    pub(crate) tasks: Arc<crate::tasks::Tasks>,
}

/// What a clustered transport does with each event emitted on this instance.
pub(crate) type EventRelay = Box<dyn Fn(&ServerEvent) + Send + Sync>;

impl ServerInner {
    pub(crate) fn new(
        info: Implementation,
        instructions: Option<String>,
        capabilities: ServerCapabilities,
        registry: Registry,
        options: Options,
        protocol: ProtocolOptions,
        cursors: CursorCodec,
    ) -> Self {
        let pending_limits =
            PendingLimits::new(options.max_pending_per_session, options.max_pending_total);
        ServerInner {
            info,
            instructions,
            capabilities,
            registry,
            options,
            protocol,
            cursors,
            sessions: SessionMap::default(),
            pending: Pending::default(),
            custom: CustomMethods::default(),
            hooks: Hooks::default(),
            pending_limits,
            next_peer_id: AtomicI64::new(1),
            events: broadcast::channel(256).0,
            relay: OnceLock::new(),
            tasks: Arc::new(crate::tasks::Tasks::new(crate::tasks::TaskConfig::default())),
        }
    }

    pub(crate) fn next_peer_id(&self) -> i64 {
        self.next_peer_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// An MCP server: tools, resources, prompts and settings. Cheap to clone; run it on any
/// transport ([`serve_stdio`](Self::serve_stdio), the HTTP service, or
/// [`transport::memory`](crate::transport::memory) in tests).
///
/// ```
/// use mcp_rs_server::prelude::*;
/// use mcp_rs_server::tool::ToolDef;
/// use mcp_rs_server::transport::memory;
/// use serde_json::{Map, Value, json};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let server = Server::builder().name("demo").version("1.0.0").build();
/// // Items can be added while clients are connected (they hear `list_changed`).
/// server
///     .add_tool(ToolDef::builder("ping").handler_fn(|_ctx, _a: Map<String, Value>| async { "pong" }))
///     .unwrap();
/// let client = memory::connect(&server);
/// client.initialize().await.unwrap();
/// let result = client.request("tools/call", json!({"name": "ping"})).await.unwrap();
/// assert_eq!(result["content"][0]["text"], "pong");
/// assert!(server.remove_tool("ping"));
/// # }
/// ```
#[derive(Clone)]
pub struct Server(pub(crate) Arc<ServerInner>);

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("info", &self.0.info)
            .field("tools", &self.0.registry.tool_count())
            .field("resources", &self.0.registry.resource_count())
            .field("resource_templates", &self.0.registry.template_count())
            .field("prompts", &self.0.registry.prompt_count())
            .field("sessions", &self.0.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// The server's implementation info (`serverInfo`).
    #[must_use]
    pub fn info(&self) -> &Implementation {
        &self.0.info
    }

    /// The capabilities announced in `initialize`.
    #[must_use]
    pub fn capabilities(&self) -> &ServerCapabilities {
        &self.0.capabilities
    }

    /// The instructions announced in `initialize`.
    #[must_use]
    pub fn instructions(&self) -> Option<&str> {
        self.0.instructions.as_deref()
    }

    /// Era switches and stateless-era settings.
    pub fn protocol_options(&self) -> &ProtocolOptions {
        &self.0.protocol
    }

    /// Creates and registers a session whose standalone channel is `outbound`.
    pub fn create_session(&self, outbound: Arc<dyn MessageSink>) -> Arc<Session> {
        let s = Arc::new(Session::new(Some(outbound)));
        s.touch();
        self.0.sessions.insert(s.clone());
        self.0.hooks.session(&s, true);
        s
    }

    /// Creates and registers a session with no standalone channel yet (an HTTP session
    /// before its GET stream connects).
    pub fn create_detached_session(&self) -> Arc<Session> {
        let s = Arc::new(Session::new(None));
        s.touch();
        self.0.sessions.insert(s.clone());
        self.0.hooks.session(&s, true);
        s
    }

    /// Restores a session that another instance of the deployment created: registers a
    /// session with that `id`, already initialised with `peer`. The caller (a transport with
    /// a shared session store) checks the bound principal and sets the rest of the state.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // called by the HTTP transport only
    pub(crate) fn restore_session(&self, id: &str, peer: PeerInfo) -> Arc<Session> {
        let s = Arc::new(Session::with_id(id.to_owned(), None));
        s.initialize(peer);
        s.touch();
        self.0.sessions.insert(s.clone());
        s
    }

    /// Sends every event emitted on this instance through `relay` as well (the first call
    /// wins; later ones are ignored). Server→client request ids then start at `peer_id_base`,
    /// so the ids of instances sharing a session do not collide.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // called by the HTTP transport only
    pub(crate) fn set_event_relay(&self, relay: EventRelay, peer_id_base: i64) {
        if self.0.relay.set(relay).is_ok() {
            self.0.next_peer_id.store(peer_id_base, Ordering::Relaxed);
        }
    }

    /// A live session by id.
    #[must_use]
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.0.sessions.get(id)
    }

    /// Closes and forgets a session (cancelling its requests). Returns it when it existed.
    pub fn remove_session(&self, id: &str) -> Option<Arc<Session>> {
        let s = self.0.sessions.remove(id)?;
        s.close();
        self.0.hooks.session(&s, false);
        Some(s)
    }

    /// Closes sessions idle for longer than `max_idle`; returns how many.
    pub fn remove_idle_sessions(&self, max_idle: Duration) -> usize {
        let idle: Vec<_> = self
            .0
            .sessions
            .snapshot()
            .into_iter()
            .filter(|s| s.idle_for() > max_idle && s.in_flight() == 0)
            .collect();
        for s in &idle {
            self.remove_session(s.id());
        }
        idle.len()
    }

    /// Number of live sessions.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.0.sessions.len()
    }

    /// Number of server→client requests (sampling, elicitation, roots, …) waiting for the
    /// client's answer, across all sessions. Bounded by
    /// [`ServerBuilder::max_pending_requests`](crate::builder::ServerBuilder::max_pending_requests).
    #[must_use]
    pub fn pending_requests(&self) -> usize {
        self.0.pending_limits.in_use()
    }

    /// Receives every [`ServerEvent`] (list changes, resource updates): for transports that
    /// deliver notifications outside sessions (stateless `subscriptions/listen` streams).
    #[must_use]
    pub fn subscribe_events(&self) -> broadcast::Receiver<ServerEvent> {
        self.0.events.subscribe()
    }

    /// Announces `event` to every live, initialised session (for `ResourceUpdated`: those
    /// subscribed to the URI) and to [`subscribe_events`](Self::subscribe_events) receivers.
    pub fn emit(&self, event: ServerEvent) {
        if let Some(relay) = self.0.relay.get() {
            relay(&event);
        }
        self.emit_local(event);
    }

    /// [`emit`](Self::emit) on this instance only (an event relayed from another instance).
    pub(crate) fn emit_local(&self, event: ServerEvent) {
        let note = event.to_notification();
        for s in self.0.sessions.snapshot() {
            if !s.is_initialized() || s.is_closed() {
                continue;
            }
            if let ServerEvent::ResourceUpdated { uri } = &event
                && !s.is_subscribed(uri)
            {
                continue;
            }
            s.send(note.clone());
        }
        let _ = self.0.events.send(event);
    }

    /// Tells subscribed clients that the resource at `uri` changed
    /// (`notifications/resources/updated`).
    pub fn notify_resource_updated(&self, uri: impl Into<String>) {
        self.emit(ServerEvent::ResourceUpdated { uri: uri.into() });
    }

    /// Registers a tool at runtime and announces `notifications/tools/list_changed`.
    ///
    /// # Errors
    /// A duplicate name, an invalid name or an invalid schema.
    pub fn add_tool(&self, def: ToolDef) -> Result<(), BuildError> {
        self.0.registry.add_tool(def)?;
        self.emit(ServerEvent::ToolsListChanged);
        Ok(())
    }

    /// Unregisters a tool; announces the change when it existed.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.0.registry.remove_tool(name);
        if removed {
            self.emit(ServerEvent::ToolsListChanged);
        }
        removed
    }

    /// Registers a resource at runtime and announces `notifications/resources/list_changed`.
    ///
    /// # Errors
    /// A duplicate URI.
    pub fn add_resource(&self, def: ResourceDef) -> Result<(), BuildError> {
        self.0.registry.add_resource(def)?;
        self.emit(ServerEvent::ResourcesListChanged);
        Ok(())
    }

    /// Unregisters a resource; announces the change when it existed.
    pub fn remove_resource(&self, uri: &str) -> bool {
        let removed = self.0.registry.remove_resource(uri);
        if removed {
            self.emit(ServerEvent::ResourcesListChanged);
        }
        removed
    }

    /// Registers a resource template at runtime and announces
    /// `notifications/resources/list_changed`.
    ///
    /// # Errors
    /// A duplicate or invalid template.
    pub fn add_resource_template(&self, def: ResourceTemplateDef) -> Result<(), BuildError> {
        self.0.registry.add_template(def)?;
        self.emit(ServerEvent::ResourcesListChanged);
        Ok(())
    }

    /// Unregisters a resource template; announces the change when it existed.
    pub fn remove_resource_template(&self, uri_template: &str) -> bool {
        let removed = self.0.registry.remove_template(uri_template);
        if removed {
            self.emit(ServerEvent::ResourcesListChanged);
        }
        removed
    }

    /// Registers a prompt at runtime and announces `notifications/prompts/list_changed`.
    ///
    /// # Errors
    /// A duplicate name.
    pub fn add_prompt(&self, def: PromptDef) -> Result<(), BuildError> {
        self.0.registry.add_prompt(def)?;
        self.emit(ServerEvent::PromptsListChanged);
        Ok(())
    }

    /// Unregisters a prompt; announces the change when it existed.
    pub fn remove_prompt(&self, name: &str) -> bool {
        let removed = self.0.registry.remove_prompt(name);
        if removed {
            self.emit(ServerEvent::PromptsListChanged);
        }
        removed
    }

    /// The registered tool descriptions, by name.
    #[must_use]
    pub fn tool(&self, name: &str) -> Option<mcp_rs_core::schema::Tool> {
        self.0.registry.tool(name).map(|e| e.def.tool.clone())
    }
}
