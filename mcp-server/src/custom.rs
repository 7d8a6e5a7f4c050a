//! Custom methods and extensions: JSON-RPC requests and notifications that are not part of
//! the MCP specification, registered on the [`ServerBuilder`](crate::ServerBuilder).
//!
//! A custom request runs like a built-in one: over stdio and Streamable HTTP, in every
//! protocol era, with the same error mapping (params that do not deserialise: `-32602`
//! naming the problem; [`McpError`]s as for any handler), scope checks, cancellation and the
//! transport's handler timeout. An [`Extension`] groups custom methods under an identifier
//! such as `com.example/search` and declares it in `capabilities.extensions`.
//!
//! ```
//! use mcp_rs_server::prelude::*;
//! use mcp_rs_server::custom::{Extension, NotificationDef, RequestDef};
//! use mcp_rs_server::transport::memory;
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct EchoParams { text: String }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let echo = RequestDef::builder("com.example/echo").handler_fn(
//!     |_ctx: RequestContext, p: EchoParams| async move { Ok::<_, McpError>(json!({ "text": p.text })) },
//! );
//! let search = Extension::new("com.example/search")
//!     .settings(json!({ "maxResults": 10 }))
//!     .request(RequestDef::builder("search/query").handler_fn(
//!         |_ctx: RequestContext, _p: serde_json::Value| async { Ok::<_, McpError>(json!({ "hits": [] })) },
//!     ));
//! let server = Server::builder().request(echo).extension(search).build();
//! assert_eq!(
//!     serde_json::to_value(&server.capabilities().extensions).unwrap(),
//!     json!({ "com.example/search": { "maxResults": 10 } })
//! );
//! let client = memory::connect(&server);
//! client.initialize().await.unwrap();
//! let result = client.request("com.example/echo", json!({ "text": "hi" })).await.unwrap();
//! assert_eq!(result, json!({ "text": "hi" }));
//! # }
//! ```

use crate::context::RequestContext;
use crate::error::{BuildError, McpError};
use crate::identity::OAuthContext;
use crate::scope::ScopeRequirement;
use crate::session::Session;
use async_trait::async_trait;
use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::schema::JsonObject;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

/// Runs a custom request. Implemented by [`RequestBuilder::handler_fn`] closures or by hand.
#[async_trait]
pub trait RequestHandler: Send + Sync + 'static {
    /// Answers the request; `params` is the request's `params` without `_meta` (absent
    /// params read as `{}`).
    async fn call(&self, ctx: RequestContext, params: Value) -> Result<Value, McpError>;
}

/// Handles a custom notification. Implemented by [`NotificationBuilder::handler_fn`]
/// closures or by hand.
#[async_trait]
pub trait NotificationHandler: Send + Sync + 'static {
    /// Handles the notification. Notifications are handled in arrival order, so keep this
    /// short (spawn a task for long work); params that do not deserialise are logged and
    /// dropped (a notification has no answer to carry an error).
    async fn notify(&self, ctx: NotificationContext, params: Value);
}

/// A custom request and how to run it.
#[derive(Clone)]
pub struct RequestDef {
    name: String,
    handler: Arc<dyn RequestHandler>,
    scopes: Option<ScopeRequirement>,
    params_schema: Option<JsonObject>,
    location: Site,
}

impl RequestDef {
    /// Starts building the request method `name`.
    #[track_caller]
    pub fn builder(name: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            name: name.into(),
            scopes: None,
            location: location(),
        }
    }

    /// The method name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JSON Schema of the params (generated once from the handler's params type by
    /// [`RequestBuilder::handler_fn`]), for documentation and discovery.
    #[must_use]
    pub fn params_schema(&self) -> Option<&JsonObject> {
        self.params_schema.as_ref()
    }

    /// The scopes a caller needs.
    #[must_use]
    pub fn scopes(&self) -> Option<&ScopeRequirement> {
        self.scopes.as_ref()
    }

    pub(crate) fn handler(&self) -> &Arc<dyn RequestHandler> {
        &self.handler
    }
}

impl fmt::Debug for RequestDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestDef")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RequestDef`]; start with [`RequestDef::builder`].
#[derive(Debug)]
#[must_use]
pub struct RequestBuilder {
    name: String,
    scopes: Option<ScopeRequirement>,
    location: Site,
}

impl RequestBuilder {
    /// Requires `scopes` to call the method (checked before the handler runs, as for tools:
    /// over HTTP a denial is `403` with a `WWW-Authenticate` challenge, elsewhere `-32602`).
    pub fn scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Finishes with a handler object.
    pub fn handler(self, handler: impl RequestHandler) -> RequestDef {
        RequestDef {
            name: self.name,
            handler: Arc::new(handler),
            scopes: self.scopes,
            params_schema: None,
            location: self.location,
        }
    }

    /// Finishes with an async closure taking the context and the params deserialised into
    /// `P`; its `Ok` value is serialised as the result. Params that do not deserialise are
    /// answered `-32602 Invalid params: …` naming the problem. The params schema is
    /// generated from `P` (once, here).
    pub fn handler_fn<P, R, F, Fut>(self, f: F) -> RequestDef
    where
        P: DeserializeOwned + JsonSchema + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(RequestContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, McpError>> + Send + 'static,
    {
        let schema = crate::tool::input_schema_for::<P>();
        let mut def = self.handler(FnRequest { f, _p: PhantomData });
        def.params_schema = Some(schema);
        def
    }
}

struct FnRequest<F, P> {
    f: F,
    _p: PhantomData<fn() -> P>,
}

#[async_trait]
impl<F, P, R, Fut> RequestHandler for FnRequest<F, P>
where
    P: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(RequestContext, P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, McpError>> + Send + 'static,
{
    async fn call(&self, ctx: RequestContext, params: Value) -> Result<Value, McpError> {
        let params = parse_params::<P>(params)?;
        let result = (self.f)(ctx, params).await?;
        serde_json::to_value(result).map_err(McpError::internal)
    }
}

/// Deserialises custom params into `P`.
///
/// # Errors
/// `-32602 Invalid params: …` naming what did not match.
pub fn parse_params<P: DeserializeOwned>(params: Value) -> Result<P, McpError> {
    serde_json::from_value(params)
        .map_err(|e| McpError::invalid_params(format!("Invalid params: {e}")))
}

/// What a custom notification handler knows about the notification.
#[derive(Clone)]
pub struct NotificationContext {
    pub(crate) method: String,
    pub(crate) session: Option<Arc<Session>>,
    pub(crate) identity: Option<Arc<OAuthContext>>,
    pub(crate) protocol_version: ProtocolVersion,
}

impl NotificationContext {
    /// The notification's method.
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The handshake-era session it arrived on.
    #[must_use]
    pub fn session(&self) -> Option<&Arc<Session>> {
        self.session.as_ref()
    }

    /// The verified identity of the sender, when an authorization layer established one.
    #[must_use]
    pub fn oauth(&self) -> Option<&OAuthContext> {
        self.identity.as_deref()
    }

    /// The protocol version the notification was sent under.
    #[must_use]
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol_version
    }
}

impl fmt::Debug for NotificationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationContext")
            .field("method", &self.method)
            .field("session", &self.session.as_ref().map(|s| s.id()))
            .field("protocol_version", &self.protocol_version)
            .finish_non_exhaustive()
    }
}

/// A custom notification and how to handle it.
#[derive(Clone)]
pub struct NotificationDef {
    name: String,
    handler: Arc<dyn NotificationHandler>,
    location: Site,
}

impl NotificationDef {
    /// Starts building the notification `name` (by convention `notifications/…`).
    #[track_caller]
    pub fn builder(name: impl Into<String>) -> NotificationBuilder {
        NotificationBuilder {
            name: name.into(),
            location: location(),
        }
    }

    /// The notification's method name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn handler(&self) -> &Arc<dyn NotificationHandler> {
        &self.handler
    }
}

impl fmt::Debug for NotificationDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationDef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Builds a [`NotificationDef`]; start with [`NotificationDef::builder`].
#[derive(Debug)]
#[must_use]
pub struct NotificationBuilder {
    name: String,
    location: Site,
}

impl NotificationBuilder {
    /// Finishes with a handler object.
    pub fn handler(self, handler: impl NotificationHandler) -> NotificationDef {
        NotificationDef {
            name: self.name,
            handler: Arc::new(handler),
            location: self.location,
        }
    }

    /// Finishes with an async closure taking the context and the params deserialised into
    /// `P`. Params that do not deserialise are logged (at `warn`) and the closure is not
    /// called.
    pub fn handler_fn<P, F, Fut>(self, f: F) -> NotificationDef
    where
        P: DeserializeOwned + Send + 'static,
        F: Fn(NotificationContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handler(FnNotification { f, _p: PhantomData })
    }
}

struct FnNotification<F, P> {
    f: F,
    _p: PhantomData<fn() -> P>,
}

#[async_trait]
impl<F, P, Fut> NotificationHandler for FnNotification<F, P>
where
    P: DeserializeOwned + Send + 'static,
    F: Fn(NotificationContext, P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    async fn notify(&self, ctx: NotificationContext, params: Value) {
        match serde_json::from_value::<P>(params) {
            Ok(p) => (self.f)(ctx, p).await,
            Err(e) => {
                tracing::warn!(method = %ctx.method, error = %e, "notification with invalid params ignored");
            }
        }
    }
}

/// A protocol extension: an identifier declared in `capabilities.extensions` with its
/// settings object, and the custom methods it adds.
///
/// Identifiers follow the `_meta` key rules with a mandatory prefix: dot-separated labels,
/// a slash, a name (`com.example/search`, `io.modelcontextprotocol/tasks`).
#[derive(Debug, Clone)]
#[must_use]
pub struct Extension {
    pub(crate) id: String,
    pub(crate) settings: Map<String, Value>,
    pub(crate) requests: Vec<RequestDef>,
    pub(crate) notifications: Vec<NotificationDef>,
    pub(crate) location: Site,
}

impl Extension {
    /// The extension `id`, declared with empty settings (`{}`: supported, no settings).
    #[track_caller]
    pub fn new(id: impl Into<String>) -> Self {
        Extension {
            id: id.into(),
            settings: Map::new(),
            requests: Vec::new(),
            notifications: Vec::new(),
            location: location(),
        }
    }

    /// The settings object declared under the extension's key. A value that is not a JSON
    /// object is ignored (the schema requires an object).
    pub fn settings(mut self, settings: Value) -> Self {
        match settings {
            Value::Object(m) => self.settings = m,
            other => {
                tracing::warn!(id = %self.id, settings = %other, "extension settings must be an object; ignored")
            }
        }
        self
    }

    /// Adds a request method routed to its handler.
    pub fn request(mut self, def: RequestDef) -> Self {
        self.requests.push(def);
        self
    }

    /// Adds a notification routed to its handler.
    pub fn notification(mut self, def: NotificationDef) -> Self {
        self.notifications.push(def);
        self
    }

    /// The identifier.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Where a definition was built (for duplicate reports).
pub(crate) type Site = &'static std::panic::Location<'static>;

/// `file:line` of a definition site.
pub(crate) fn site(at: Site) -> String {
    format!("{}:{}", at.file(), at.line())
}

#[track_caller]
fn location() -> Site {
    std::panic::Location::caller()
}

/// The custom requests and notifications of a server, fixed at build time.
#[derive(Default)]
pub(crate) struct CustomMethods {
    requests: HashMap<String, RequestDef>,
    notifications: HashMap<String, NotificationDef>,
}

impl CustomMethods {
    /// Collects `requests` and `notifications`, refusing names of the specification, names
    /// reserved by JSON-RPC (`rpc.`), empty names and duplicates (requests and
    /// notifications share one namespace).
    pub(crate) fn new(
        requests: Vec<RequestDef>,
        notifications: Vec<NotificationDef>,
    ) -> Result<Self, BuildError> {
        let mut out = CustomMethods::default();
        let mut seen: HashMap<String, Site> = HashMap::new();
        let mut claim = |name: &str, at: Site| -> Result<(), BuildError> {
            check_name(name)?;
            match seen.insert(name.to_owned(), at) {
                Some(first) => Err(BuildError::Duplicate {
                    kind: "method",
                    name: name.to_owned(),
                    first: site(first),
                    second: site(at),
                }),
                None => Ok(()),
            }
        };
        for d in requests {
            claim(&d.name, d.location)?;
            out.requests.insert(d.name.clone(), d);
        }
        for d in notifications {
            claim(&d.name, d.location)?;
            out.notifications.insert(d.name.clone(), d);
        }
        Ok(out)
    }

    pub(crate) fn request(&self, name: &str) -> Option<&RequestDef> {
        self.requests.get(name)
    }

    pub(crate) fn notification(&self, name: &str) -> Option<&NotificationDef> {
        self.notifications.get(name)
    }
}

/// A custom method name must not be empty, reserved by JSON-RPC or a method of any MCP
/// version this crate speaks.
fn check_name(name: &str) -> Result<(), BuildError> {
    let reserved = |reason: &str| {
        Err(BuildError::ReservedMethod {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return reserved("a method name must not be empty");
    }
    if name.starts_with("rpc.") {
        return reserved("names starting with \"rpc.\" are reserved by JSON-RPC 2.0");
    }
    if let Some(info) = mcp_rs_core::method::info(name) {
        return reserved(&format!(
            "it is an MCP method (since protocol {})",
            info.since
        ));
    }
    Ok(())
}

/// Whether `id` is a valid extension identifier: a prefix of dot-separated labels (each
/// starting with a letter, ending with a letter or digit, with letters, digits and hyphens
/// inside), a slash, and a non-empty name (alphanumeric at both ends; `-`, `_`, `.` inside).
pub(crate) fn valid_extension_id(id: &str) -> bool {
    let Some((prefix, name)) = id.split_once('/') else {
        return false;
    };
    let label = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphabetic()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    let n = name.as_bytes();
    prefix.split('.').all(label)
        && !n.is_empty()
        && n[0].is_ascii_alphanumeric()
        && n[n.len() - 1].is_ascii_alphanumeric()
        && n.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_ids() {
        for ok in [
            "io.modelcontextprotocol/tasks",
            "com.example/search",
            "a/b",
            "x1.y-z/n_a.m-e",
        ] {
            assert!(valid_extension_id(ok), "{ok}");
        }
        for bad in [
            "tasks",
            "/tasks",
            "com.example/",
            "1com/x",
            "com-/x",
            "com..x/y",
            "a/b-",
            "a/-b",
            "a/b/c",
            "a b/c",
        ] {
            assert!(!valid_extension_id(bad), "{bad}");
        }
    }

    #[test]
    fn spec_and_reserved_names_are_refused() {
        let def = |n: &str| {
            RequestDef::builder(n).handler_fn(|_c, _p: Value| async { Ok::<_, McpError>(()) })
        };
        let err = |n: &str| {
            CustomMethods::new(vec![def(n)], vec![])
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(
            err("tools/call").as_deref(),
            Some(
                "method \"tools/call\" cannot be registered: it is an MCP method (since protocol 2024-11-05)"
            )
        );
        assert_eq!(
            err("server/discover").as_deref(),
            Some(
                "method \"server/discover\" cannot be registered: it is an MCP method (since protocol 2026-07-28)"
            )
        );
        assert_eq!(
            err("rpc.x").as_deref(),
            Some(
                "method \"rpc.x\" cannot be registered: names starting with \"rpc.\" are reserved by JSON-RPC 2.0"
            )
        );
        assert!(err("").is_some());
        assert!(err("tasks/get").is_none());
    }
}
