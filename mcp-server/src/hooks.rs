//! Server hooks: observe every request, response, error, notification and session, and
//! refuse requests (rate limits, audit policies) before any handler runs.
//!
//! Implement [`ServerHooks`] (every method has a no-op default) and register it with
//! [`ServerBuilder::hook`](crate::ServerBuilder::hook); several hooks run in registration
//! order. A server without hooks does no hook work at all (no allocation, no clock read).
//!
//! | event | when | what the hook sees |
//! |---|---|---|
//! | [`on_request`](ServerHooks::on_request) | a request reached the server, before the era check and the handler | [`RequestInfo`]: id, method, target, session, version, [`Principal`], time; may return `Err` to refuse |
//! | [`on_response`](ServerHooks::on_response) | a result is about to be sent | the request, the result, the elapsed time |
//! | [`on_error`](ServerHooks::on_error) | an error is about to be sent, or the request ended without an answer | the request, the [`Failure`], the elapsed time |
//! | [`on_notification`](ServerHooks::on_notification) | a client notification arrived | [`NotificationInfo`] |
//! | [`on_session_created`](ServerHooks::on_session_created) / [`on_session_ended`](ServerHooks::on_session_ended) | a transport created / removed a session | the [`Session`] |
//!
//! Every request that reaches `on_request` gets exactly one `on_response` or `on_error`.
//! Hooks see the principal of a verified token (subject, client id, issuer, tenant, scopes),
//! never the token itself, and never the request's arguments.
//!
//! Failure containment: each hook call runs under the hook timeout
//! ([`ServerBuilder::hook_timeout`](crate::ServerBuilder::hook_timeout), default
//! [`DEFAULT_HOOK_TIMEOUT`]) with its panics caught. A panicking or late `on_request` refuses
//! the request with `-32603 Internal error` (a policy that cannot decide does not let the
//! request through); any other panicking or late hook is logged at `error` and skipped, and
//! the answer goes out unchanged. Session hooks run on a spawned task, so they never delay
//! the transport.

use crate::error::McpError;
use crate::identity::{OAuthContext, Scopes};
use crate::scope::ScopeRequirement;
use crate::session::Session;
use async_trait::async_trait;
use futures::FutureExt as _;
use mcp_rs_core::ErrorObject;
use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::jsonrpc::RequestId;
use serde_json::Value;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How long one hook call may take by default: 5 seconds.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Callbacks on the server's events. Every method defaults to doing nothing; implement the
/// ones you need. See the [module docs](self) for when each runs and what happens when one
/// panics or is slow.
///
/// ```
/// use mcp_rs_server::prelude::*;
/// use mcp_rs_server::hooks::{RequestInfo, ServerHooks};
/// use mcp_rs_server::async_trait;
///
/// struct Audit;
///
/// #[async_trait]
/// impl ServerHooks for Audit {
///     async fn on_request(&self, request: &RequestInfo) -> Result<(), McpError> {
///         let who = request.principal.as_ref().map_or("anonymous", |p| p.subject.as_str());
///         tracing::info!(method = %request.method, who, "audit");
///         Ok(())
///     }
/// }
///
/// let server = Server::builder().hook(Audit).build();
/// # let _ = server;
/// ```
#[async_trait]
pub trait ServerHooks: Send + Sync + 'static {
    /// A request arrived. Return `Err` to refuse it: the error is answered as a handler's
    /// error would be (a [`McpError::protocol`] object as is; an insufficient scope as `403`
    /// over HTTP), later hooks' `on_request` and the handler do not run, and `on_error`
    /// reports the refusal.
    async fn on_request(&self, _request: &RequestInfo) -> Result<(), McpError> {
        Ok(())
    }

    /// A result is about to be sent (a tool result with `isError: true` is a result too).
    async fn on_response(&self, _request: &RequestInfo, _result: &Value, _elapsed: Duration) {}

    /// An error is about to be sent, or the request ended without an answer.
    async fn on_error(&self, _request: &RequestInfo, _failure: &Failure, _elapsed: Duration) {}

    /// A client notification arrived (before the server acts on it).
    async fn on_notification(&self, _notification: &NotificationInfo) {}

    /// A transport created a session (before `initialize` completes: client info comes later).
    async fn on_session_created(&self, _session: &Session) {}

    /// A session was removed (closed by the client, the end of a stdio stream, the idle
    /// sweep).
    async fn on_session_ended(&self, _session: &Session) {}
}

/// Who sent a message: the principal of a verified access token. The token itself is never
/// here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principal {
    /// The token's subject.
    pub subject: String,
    /// The OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// The issuer.
    pub issuer: Option<String>,
    /// The tenant (Entra).
    pub tenant: Option<String>,
    /// The granted scopes.
    pub scopes: Scopes,
}

impl Principal {
    /// The principal of `identity` (its token and other claims left out).
    #[must_use]
    pub fn of(identity: &OAuthContext) -> Self {
        Principal {
            subject: identity.subject.clone(),
            client_id: identity.client_id.clone(),
            issuer: identity.issuer.clone(),
            tenant: identity.tenant.clone(),
            scopes: identity.scopes.clone(),
        }
    }
}

/// A request as hooks see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestInfo {
    /// The JSON-RPC id.
    pub id: RequestId,
    /// The method.
    pub method: String,
    /// What the request names: `params.name` of `tools/call` and `prompts/get`,
    /// `params.uri` of `resources/read`.
    pub target: Option<String>,
    /// The handshake-era session.
    pub session_id: Option<String>,
    /// The protocol version it was sent under.
    pub protocol_version: ProtocolVersion,
    /// The verified caller, when an authorization layer established one.
    pub principal: Option<Principal>,
    /// When the server received it (wall clock, for audit logs).
    pub received_at: SystemTime,
    /// When the server received it (monotonic).
    pub started: Instant,
}

/// How a request ended without a result.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// A JSON-RPC error response: the handler's error, an `on_request` refusal, an unknown
    /// method, a panicking handler's `-32603`.
    Error(ErrorObject),
    /// The caller lacks scopes: over HTTP `403` with a `WWW-Authenticate` challenge.
    Forbidden(ScopeRequirement),
    /// Cancelled by the client (`notifications/cancelled`) or because it went away: no answer.
    Cancelled,
    /// The transport stopped waiting before the server answered (the HTTP handler timeout,
    /// which answers `-32603 Request timed out` itself, or a dropped connection).
    Abandoned,
}

impl Failure {
    /// The JSON-RPC error code sent, if any.
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        match self {
            Failure::Error(e) => Some(e.code),
            _ => None,
        }
    }
}

/// A client notification as hooks see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NotificationInfo {
    /// The method.
    pub method: String,
    /// The handshake-era session.
    pub session_id: Option<String>,
    /// The protocol version it was sent under.
    pub protocol_version: ProtocolVersion,
    /// The verified sender, when an authorization layer established one.
    pub principal: Option<Principal>,
}

/// The registered hooks and their timeout (empty: no hook work at all).
#[derive(Clone)]
pub(crate) struct Hooks {
    list: Arc<[Arc<dyn ServerHooks>]>,
    timeout: Duration,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            list: Arc::from(Vec::new()),
            timeout: DEFAULT_HOOK_TIMEOUT,
        }
    }
}

/// Runs one hook call under `limit` with its panics caught; `None` when it panicked or ran
/// late (logged).
async fn guarded<T>(
    limit: Duration,
    event: &'static str,
    call: impl Future<Output = T>,
) -> Option<T> {
    match tokio::time::timeout(limit, AssertUnwindSafe(call).catch_unwind()).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(_)) => {
            tracing::error!(hook = event, "server hook panicked");
            None
        }
        Err(_) => {
            tracing::error!(
                hook = event,
                timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "server hook timed out"
            );
            None
        }
    }
}

impl Hooks {
    pub(crate) fn new(list: Vec<Arc<dyn ServerHooks>>, timeout: Duration) -> Self {
        Hooks {
            list: Arc::from(list),
            timeout,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `on_request` of each hook in order; the first refusal wins. A panicking or late hook
    /// refuses with an internal error.
    pub(crate) async fn request(&self, info: &RequestInfo) -> Result<(), McpError> {
        for h in self.list.iter() {
            match guarded(self.timeout, "on_request", h.on_request(info)).await {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(McpError::internal("a server hook's on_request failed")),
            }
        }
        Ok(())
    }

    pub(crate) async fn response(&self, info: &RequestInfo, result: &Value, elapsed: Duration) {
        for h in self.list.iter() {
            guarded(
                self.timeout,
                "on_response",
                h.on_response(info, result, elapsed),
            )
            .await;
        }
    }

    pub(crate) async fn error(&self, info: &RequestInfo, failure: &Failure, elapsed: Duration) {
        for h in self.list.iter() {
            guarded(self.timeout, "on_error", h.on_error(info, failure, elapsed)).await;
        }
    }

    pub(crate) async fn notification(&self, info: &NotificationInfo) {
        for h in self.list.iter() {
            guarded(self.timeout, "on_notification", h.on_notification(info)).await;
        }
    }

    /// Runs `on_session_created` (or `_ended`) of each hook on a spawned task.
    pub(crate) fn session(&self, session: &Arc<Session>, created: bool) {
        if self.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::debug!("session hooks skipped: no tokio runtime");
            return;
        };
        let hooks = self.clone();
        let session = session.clone();
        rt.spawn(async move {
            for h in hooks.list.iter() {
                if created {
                    guarded(
                        hooks.timeout,
                        "on_session_created",
                        h.on_session_created(&session),
                    )
                    .await;
                } else {
                    guarded(
                        hooks.timeout,
                        "on_session_ended",
                        h.on_session_ended(&session),
                    )
                    .await;
                }
            }
        });
    }
}

/// A request under observation: reports [`Failure::Abandoned`] (on a spawned task) when it is
/// dropped before [`finish`](Self::finish), e.g. by the HTTP handler timeout.
pub(crate) struct Watch {
    hooks: Hooks,
    info: Arc<RequestInfo>,
    done: bool,
}

impl Watch {
    pub(crate) fn new(hooks: Hooks, info: RequestInfo) -> Self {
        Watch {
            hooks,
            info: Arc::new(info),
            done: false,
        }
    }

    /// The request under observation.
    pub(crate) fn info(&self) -> &RequestInfo {
        &self.info
    }

    /// Reports how the request ended: a result (`Ok`) or a failure.
    pub(crate) async fn finish(mut self, outcome: Result<&Value, Failure>) {
        self.done = true;
        let elapsed = self.info.started.elapsed();
        match outcome {
            Ok(result) => self.hooks.response(&self.info, result, elapsed).await,
            Err(failure) => self.hooks.error(&self.info, &failure, elapsed).await,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let hooks = self.hooks.clone();
        let info = self.info.clone();
        rt.spawn(async move {
            let elapsed = info.started.elapsed();
            hooks.error(&info, &Failure::Abandoned, elapsed).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Rec(&'static str, Arc<Mutex<Vec<String>>>, bool);

    #[async_trait]
    impl ServerHooks for Rec {
        async fn on_request(&self, r: &RequestInfo) -> Result<(), McpError> {
            self.1
                .lock()
                .unwrap()
                .push(format!("{}:{}", self.0, r.method));
            if self.2 {
                return Err(McpError::invalid_params("no"));
            }
            Ok(())
        }
    }

    struct Panics;

    #[async_trait]
    impl ServerHooks for Panics {
        async fn on_request(&self, _r: &RequestInfo) -> Result<(), McpError> {
            panic!("boom")
        }
        async fn on_notification(&self, _n: &NotificationInfo) {
            panic!("boom")
        }
    }

    struct Slow;

    #[async_trait]
    impl ServerHooks for Slow {
        async fn on_request(&self, _r: &RequestInfo) -> Result<(), McpError> {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }
    }

    fn info() -> RequestInfo {
        RequestInfo {
            id: RequestId::Number(1),
            method: "tools/list".into(),
            target: None,
            session_id: None,
            protocol_version: ProtocolVersion::V2025_11_25,
            principal: None,
            received_at: SystemTime::now(),
            started: Instant::now(),
        }
    }

    #[tokio::test]
    async fn in_order_until_the_first_refusal() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hooks = Hooks::new(
            vec![
                Arc::new(Rec("a", log.clone(), false)),
                Arc::new(Rec("b", log.clone(), true)),
                Arc::new(Rec("c", log.clone(), false)),
            ],
            DEFAULT_HOOK_TIMEOUT,
        );
        let err = hooks.request(&info()).await.unwrap_err();
        assert_eq!(err.code(), -32602);
        assert_eq!(*log.lock().unwrap(), ["a:tools/list", "b:tools/list"]);
    }

    #[tokio::test]
    async fn panicking_or_late_on_request_refuses_with_internal_error() {
        let hooks = Hooks::new(vec![Arc::new(Panics)], DEFAULT_HOOK_TIMEOUT);
        assert_eq!(hooks.request(&info()).await.unwrap_err().code(), -32603);
        // Other events survive a panicking hook.
        hooks
            .notification(&NotificationInfo {
                method: "notifications/x".into(),
                session_id: None,
                protocol_version: ProtocolVersion::V2025_11_25,
                principal: None,
            })
            .await;
        let hooks = Hooks::new(vec![Arc::new(Slow)], Duration::from_millis(20));
        let started = Instant::now();
        assert_eq!(hooks.request(&info()).await.unwrap_err().code(), -32603);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn principal_leaves_the_token_out() {
        let mut id = OAuthContext::new("alice", Scopes::from_space_separated("a b"));
        id.token = Some(Arc::from("secret-token"));
        id.client_id = Some("app".into());
        let p = Principal::of(&id);
        assert_eq!(p.subject, "alice");
        assert_eq!(p.client_id.as_deref(), Some("app"));
        assert!(!format!("{p:?}").contains("secret-token"));
    }
}
