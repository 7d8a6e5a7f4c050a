//! Handshake-era sessions: what the server remembers about one connected client between
//! requests.
//!
//! A [`Session`] is created by a transport ([`Server::create_session`](crate::Server::create_session))
//! — once per stdio process, once per `Mcp-Session-Id` over HTTP — and filled by `initialize`.
//! It is deliberately small: an idle session costs a few hundred bytes plus its typed values.

use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::schema::{ClientCapabilities, Implementation, LoggingLevel};
use mcp_rs_core::{ErrorObject, ProtocolVersion};
use serde_json::Value;
use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Where the server sends messages to a client: a stdout writer, an SSE stream, a test
/// channel. Must not block: queue the message and return.
pub trait MessageSink: Send + Sync + 'static {
    /// Queues `msg`; `false` when the channel is closed.
    fn send(&self, msg: JsonRpcMessage) -> bool;
}

/// A sink that drops everything (and reports itself closed).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl MessageSink for NullSink {
    fn send(&self, _msg: JsonRpcMessage) -> bool {
        false
    }
}

impl MessageSink for tokio::sync::mpsc::UnboundedSender<JsonRpcMessage> {
    fn send(&self, msg: JsonRpcMessage) -> bool {
        tokio::sync::mpsc::UnboundedSender::send(self, msg).is_ok()
    }
}

/// What the client said about itself: negotiated protocol version, implementation info and
/// capabilities. Shared (behind an `Arc`) by a session and the contexts of its requests.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    /// The protocol version in use.
    pub protocol_version: ProtocolVersion,
    /// The client's implementation info, when it sent one.
    pub client_info: Option<Implementation>,
    /// The client's capabilities, when it sent them.
    pub client_capabilities: Option<ClientCapabilities>,
}

/// The answer to a server→client request.
pub(crate) type PeerReply = Result<Value, ErrorObject>;

/// Server→client requests waiting for an answer.
#[derive(Default)]
pub(crate) struct Pending(Mutex<HashMap<RequestId, oneshot::Sender<PeerReply>>>);

/// The bounds on pending server→client requests: per map (one session) and across the whole
/// server. `in_use` counts the live [`PendingEntry`] guards of every map.
#[derive(Debug)]
pub(crate) struct PendingLimits {
    pub(crate) per_session: usize,
    pub(crate) total: usize,
    in_use: AtomicUsize,
}

impl PendingLimits {
    pub(crate) fn new(per_session: usize, total: usize) -> Self {
        PendingLimits {
            per_session,
            total,
            in_use: AtomicUsize::new(0),
        }
    }

    /// Pending requests of the whole server.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    /// Takes one of the server-wide slots; `false` when all are taken.
    fn acquire(&self) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.total).then_some(n + 1)
            })
            .is_ok()
    }
}

/// Which bound refused a server→client request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingFull {
    /// The session already waits for `per_session` answers.
    Session(usize),
    /// The server already waits for `total` answers.
    Server(usize),
}

/// One pending server→client request: removed from its map and its server-wide slot given
/// back when dropped, whether the request was answered, timed out, was cancelled, or the
/// handler's future was dropped (handler timeout, client gone).
pub(crate) struct PendingEntry<'a> {
    pending: &'a Pending,
    limits: &'a PendingLimits,
    id: RequestId,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        lock(&self.pending.0).remove(&self.id);
        self.limits.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pending {
    /// Registers request `id` within `limits` (`per_map`: whether the per-session bound
    /// applies to this map; the server's own map, used by requests without a session, is
    /// bounded by the total only). The entry lives as long as the returned guard.
    pub(crate) fn insert<'a>(
        &'a self,
        id: RequestId,
        limits: &'a PendingLimits,
        per_map: bool,
    ) -> Result<(PendingEntry<'a>, oneshot::Receiver<PeerReply>), PendingFull> {
        let mut map = lock(&self.0);
        if per_map && map.len() >= limits.per_session {
            return Err(PendingFull::Session(limits.per_session));
        }
        if !limits.acquire() {
            return Err(PendingFull::Server(limits.total));
        }
        let (tx, rx) = oneshot::channel();
        map.insert(id.clone(), tx);
        drop(map);
        let entry = PendingEntry {
            pending: self,
            limits,
            id,
        };
        Ok((entry, rx))
    }

    /// Resolves a pending request; `false` when nothing waited for `id`.
    pub(crate) fn resolve(&self, id: &RequestId, reply: PeerReply) -> bool {
        match lock(&self.0).remove(id) {
            Some(tx) => {
                let _ = tx.send(reply);
                true
            }
            None => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.0).len()
    }

    /// Whether a request with `id` waits for an answer here.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // called by the HTTP transport only
    pub(crate) fn contains(&self, id: &RequestId) -> bool {
        lock(&self.0).contains_key(id)
    }
}

/// Locks a mutex, recovering from poisoning (the data are plain maps; a panicking holder
/// cannot leave them logically inconsistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const LEVEL_UNSET: u8 = u8::MAX;

/// One client connection of the handshake era.
pub struct Session {
    id: String,
    created: Instant,
    last_activity_ms: AtomicU64,
    initialized: AtomicBool,
    peer: OnceLock<Arc<PeerInfo>>,
    log_level: AtomicU8,
    subscriptions: Mutex<HashSet<String>>,
    values: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    pub(crate) pending: Pending,
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    outbound: RwLock<Option<Arc<dyn MessageSink>>>,
    principal: OnceLock<String>,
    closed: CancellationToken,
}

impl Session {
    /// A new session with a random id and `outbound` as its standalone channel to the client.
    pub(crate) fn new(outbound: Option<Arc<dyn MessageSink>>) -> Self {
        Self::with_id(uuid::Uuid::new_v4().simple().to_string(), outbound)
    }

    /// A session with a known id: one created by another server instance, restored here.
    pub(crate) fn with_id(id: String, outbound: Option<Arc<dyn MessageSink>>) -> Self {
        Session {
            id,
            created: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            initialized: AtomicBool::new(false),
            peer: OnceLock::new(),
            log_level: AtomicU8::new(LEVEL_UNSET),
            subscriptions: Mutex::new(HashSet::new()),
            values: Mutex::new(HashMap::new()),
            pending: Pending::default(),
            in_flight: Mutex::new(HashMap::new()),
            outbound: RwLock::new(outbound),
            principal: OnceLock::new(),
            closed: CancellationToken::new(),
        }
    }

    /// The session id: 32 lowercase hex characters (a random UUID v4), visible ASCII as
    /// `Mcp-Session-Id` requires.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `initialize` has completed on this session.
    #[must_use]
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    /// What the client declared in `initialize` (None before).
    #[must_use]
    pub fn peer(&self) -> Option<&Arc<PeerInfo>> {
        self.peer.get()
    }

    /// The negotiated protocol version (None before `initialize`).
    #[must_use]
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.peer.get().map(|p| p.protocol_version)
    }

    /// The client's implementation info.
    #[must_use]
    pub fn client_info(&self) -> Option<&Implementation> {
        self.peer.get().and_then(|p| p.client_info.as_ref())
    }

    /// The client's capabilities.
    #[must_use]
    pub fn client_capabilities(&self) -> Option<&ClientCapabilities> {
        self.peer.get().and_then(|p| p.client_capabilities.as_ref())
    }

    /// Records the handshake. Returns `false` (and changes nothing) when the session was
    /// already initialised.
    pub(crate) fn initialize(&self, peer: PeerInfo) -> bool {
        if self.peer.set(Arc::new(peer)).is_err() {
            return false;
        }
        self.initialized.store(true, Ordering::Release);
        true
    }

    /// The minimum level of `notifications/message` the client asked for with
    /// `logging/setLevel` (None: never set).
    #[must_use]
    pub fn log_level(&self) -> Option<LoggingLevel> {
        match self.log_level.load(Ordering::Relaxed) {
            LEVEL_UNSET => None,
            n => LoggingLevel::ALL.get(usize::from(n)).copied(),
        }
    }

    /// Sets the minimum log level.
    pub fn set_log_level(&self, level: LoggingLevel) {
        let idx = LoggingLevel::ALL
            .iter()
            .position(|l| *l == level)
            .unwrap_or(0);
        self.log_level
            .store(u8::try_from(idx).unwrap_or(0), Ordering::Relaxed);
    }

    /// Subscribes the session to updates of `uri`. Returns `false` when it already was.
    pub fn subscribe(&self, uri: impl Into<String>) -> bool {
        lock(&self.subscriptions).insert(uri.into())
    }

    /// Unsubscribes from `uri`. Returns `false` when it was not subscribed.
    pub fn unsubscribe(&self, uri: &str) -> bool {
        lock(&self.subscriptions).remove(uri)
    }

    /// Whether the session is subscribed to `uri`.
    #[must_use]
    pub fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.subscriptions).contains(uri)
    }

    /// The subscribed URIs.
    #[must_use]
    pub fn subscriptions(&self) -> Vec<String> {
        lock(&self.subscriptions).iter().cloned().collect()
    }

    /// A clone of the value of type `T` stored in the session.
    ///
    /// ```
    /// # let server = mcp_rs_server::Server::builder().build();
    /// # let session = server.create_session(std::sync::Arc::new(mcp_rs_server::session::NullSink));
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Cart(Vec<String>);
    /// session.insert(Cart(vec!["apple".into()]));
    /// assert_eq!(session.get::<Cart>(), Some(Cart(vec!["apple".into()])));
    /// ```
    #[must_use]
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.values)
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Stores `value`, returning the previous value of that type.
    pub fn insert<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        lock(&self.values)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast::<T>().ok().map(|b| *b))
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.values)
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast::<T>().ok().map(|b| *b))
    }

    /// Runs `f` with mutable access to the value of type `T`, inserting `T::default()` first
    /// when absent. Do not call other session value methods from inside `f`.
    pub fn with<T: Default + Send + Sync + 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut values = lock(&self.values);
        let entry = values
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        match entry.downcast_mut::<T>() {
            Some(v) => f(v),
            None => unreachable!("session value stored under the TypeId of another type"),
        }
    }

    /// Replaces the standalone channel to the client (e.g. when an HTTP GET stream
    /// (re)connects). Returns the previous one.
    pub fn set_outbound(&self, sink: Option<Arc<dyn MessageSink>>) -> Option<Arc<dyn MessageSink>> {
        let mut guard = self
            .outbound
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *guard, sink)
    }

    /// The standalone channel to the client, if one is connected.
    #[must_use]
    pub fn outbound(&self) -> Option<Arc<dyn MessageSink>> {
        self.outbound
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends `msg` on the standalone channel. `false` when there is none or it is closed.
    pub fn send(&self, msg: JsonRpcMessage) -> bool {
        self.outbound().is_some_and(|s| s.send(msg))
    }

    /// Binds the session to a principal (see
    /// [`OAuthContext::principal_key`](crate::identity::OAuthContext::principal_key)). Only
    /// the first call has an effect; returns whether `key` is the bound principal afterwards.
    pub fn bind_principal(&self, key: impl Into<String>) -> bool {
        let key = key.into();
        self.principal.get_or_init(|| key.clone()) == &key
    }

    /// The principal key the session is bound to.
    #[must_use]
    pub fn principal(&self) -> Option<&str> {
        self.principal.get().map(String::as_str)
    }

    /// Marks the session as active now.
    pub fn touch(&self) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Many requests of one session land in the same millisecond on different cores: write
        // only when the value changes, so the cache line stays shared instead of bouncing.
        if self.last_activity_ms.load(Ordering::Relaxed) != ms {
            self.last_activity_ms.store(ms, Ordering::Relaxed);
        }
    }

    /// How long the session has been idle.
    #[must_use]
    pub fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed));
        self.created.elapsed().saturating_sub(last)
    }

    /// A token cancelled when the session is closed; every request of the session is
    /// cancelled with it.
    #[must_use]
    pub fn closed_token(&self) -> &CancellationToken {
        &self.closed
    }

    /// Whether the session was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Closes the session: cancels its in-flight requests and fails its pending
    /// server→client requests. The transport also removes it with
    /// [`Server::remove_session`](crate::Server::remove_session).
    pub fn close(&self) {
        self.closed.cancel();
        for (_, token) in lock(&self.in_flight).drain() {
            token.cancel();
        }
        self.fail_pending();
        self.set_outbound(None);
    }

    /// Fails every pending server→client request (the client can no longer answer).
    pub(crate) fn fail_pending(&self) {
        let pending: Vec<_> = lock(&self.pending.0).drain().collect();
        for (_, tx) in pending {
            let _ = tx.send(Err(ErrorObject::internal_error()));
        }
    }

    /// Registers an in-flight request so `notifications/cancelled` can reach it.
    pub(crate) fn track(&self, id: RequestId, token: CancellationToken) {
        lock(&self.in_flight).insert(id, token);
    }

    pub(crate) fn untrack(&self, id: &RequestId) {
        lock(&self.in_flight).remove(id);
    }

    /// Whether request `id` runs on this session in this process.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // called by the HTTP transport only
    pub(crate) fn is_in_flight(&self, id: &RequestId) -> bool {
        lock(&self.in_flight).contains_key(id)
    }

    /// Cancels the in-flight request `id`; `false` when there is none.
    pub(crate) fn cancel_request(&self, id: &RequestId) -> bool {
        match lock(&self.in_flight).remove(id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Number of requests running on this session.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        lock(&self.in_flight).len()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("initialized", &self.is_initialized())
            .field("protocol_version", &self.protocol_version())
            .field("log_level", &self.log_level())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// The live sessions of a server, by id.
#[derive(Default)]
pub(crate) struct SessionMap(RwLock<HashMap<String, Arc<Session>>>);

impl SessionMap {
    pub(crate) fn insert(&self, s: Arc<Session>) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(s.id.clone(), s);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Session>> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<Session>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_visible_ascii() {
        let a = Session::new(None);
        let b = Session::new(None);
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().len(), 32);
        assert!(a.id().bytes().all(|c| (0x21..=0x7e).contains(&c)));
    }

    #[test]
    fn typed_values() {
        let s = Session::new(None);
        assert_eq!(s.get::<u32>(), None);
        assert_eq!(s.insert(5u32), None);
        assert_eq!(s.insert(7u32), Some(5));
        assert_eq!(s.get::<u32>(), Some(7));
        s.with::<Vec<String>, _>(|v| v.push("x".into()));
        assert_eq!(s.get::<Vec<String>>(), Some(vec!["x".to_owned()]));
        assert_eq!(s.remove::<u32>(), Some(7));
        assert_eq!(s.get::<u32>(), None);
    }

    #[test]
    fn log_level_and_subscriptions() {
        let s = Session::new(None);
        assert_eq!(s.log_level(), None);
        s.set_log_level(LoggingLevel::Warning);
        assert_eq!(s.log_level(), Some(LoggingLevel::Warning));
        assert!(s.subscribe("a://1"));
        assert!(!s.subscribe("a://1"));
        assert!(s.is_subscribed("a://1"));
        assert!(s.unsubscribe("a://1"));
        assert!(!s.is_subscribed("a://1"));
    }

    #[test]
    fn initialize_only_once_and_principal_binding() {
        let s = Session::new(None);
        let peer = PeerInfo {
            protocol_version: ProtocolVersion::V2025_06_18,
            client_info: None,
            client_capabilities: None,
        };
        assert!(s.initialize(peer.clone()));
        assert!(!s.initialize(PeerInfo {
            protocol_version: ProtocolVersion::V2024_11_05,
            ..peer
        }));
        assert_eq!(s.protocol_version(), Some(ProtocolVersion::V2025_06_18));
        assert!(s.bind_principal("alice"));
        assert!(s.bind_principal("alice"));
        assert!(!s.bind_principal("mallory"));
    }

    #[tokio::test]
    async fn close_fails_pending_requests() {
        let s = Session::new(None);
        let limits = PendingLimits::new(4, 4);
        let (entry, rx) = s
            .pending
            .insert(RequestId::Number(1), &limits, true)
            .unwrap();
        s.close();
        assert_eq!(rx.await.unwrap().unwrap_err().code, -32603);
        assert!(s.is_closed());
        assert_eq!(limits.in_use(), 1);
        drop(entry);
        assert_eq!(limits.in_use(), 0);
    }

    #[test]
    fn pending_requests_are_bounded_per_session_and_in_total() {
        let limits = PendingLimits::new(2, 3);
        let (a, b) = (Session::new(None), Session::new(None));
        let a1 = a
            .pending
            .insert(RequestId::Number(1), &limits, true)
            .unwrap();
        let _a2 = a
            .pending
            .insert(RequestId::Number(2), &limits, true)
            .unwrap();
        let full = a.pending.insert(RequestId::Number(3), &limits, true).err();
        assert_eq!(full, Some(PendingFull::Session(2)));
        let _b1 = b
            .pending
            .insert(RequestId::Number(4), &limits, true)
            .unwrap();
        let full = b.pending.insert(RequestId::Number(5), &limits, true).err();
        assert_eq!(full, Some(PendingFull::Server(3)));
        assert_eq!(
            (a.pending.len(), b.pending.len(), limits.in_use()),
            (2, 1, 3)
        );
        // Dropping an entry (answered, timed out or abandoned) frees both bounds.
        drop(a1);
        assert_eq!((a.pending.len(), limits.in_use()), (1, 2));
        let _b2 = b
            .pending
            .insert(RequestId::Number(6), &limits, true)
            .unwrap();
        // A resolved entry leaves the map at once; its server-wide slot goes with the guard.
        assert!(b.pending.resolve(&RequestId::Number(6), Ok(Value::Null)));
        assert_eq!((b.pending.len(), limits.in_use()), (1, 3));
    }
}
