//! Session routing of the stateful endpoint: the shared state behind
//! [`StreamableHttpService`](super::StreamableHttpService), the session table, lookup by
//! `Mcp-Session-Id` (bound to the principal that created the session), registration after a
//! successful `initialize` (within the quotas of [`session_limits`](super::session_limits)),
//! `DELETE` and the idle sweeper.

use http::request::Parts;
use http::{Response, StatusCode};
use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_core::{Era, ProtocolVersion};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use super::config::HttpConfig;
use super::edge::session_id_header;
use super::edge::{EdgeError, empty_response, principal_of, protocol_version_header};
use super::session_limits::{Owner, Refusal, SessionLimits, Ticket};
use super::session_store::{SessionRecord, log_store_failure};
use super::streams::{HubSender, Standalone, StandaloneSink};
use crate::body::Body;
use crate::server::Server;
use crate::session::Session;

/// The state shared by every clone of the service.
pub(crate) struct Inner {
    pub(crate) server: Server,
    pub(crate) config: HttpConfig,
    sessions: RwLock<HashMap<Arc<str>, Arc<HttpSession>>>,
    limits: Arc<SessionLimits>,
    sweeper: OnceLock<()>,
    /// Set once the cluster bus (if configured) is listened to.
    pub(super) cluster_started: OnceLock<()>,
    /// The handshake-era versions the `MCP-Protocol-Version` header may name.
    pub(crate) versions: Vec<ProtocolVersion>,
}

/// The HTTP side of one session: its standalone stream and the POST streams in progress.
pub(crate) struct HttpSession {
    pub(crate) id: Arc<str>,
    pub(crate) session: Arc<Session>,
    pub(crate) standalone: Arc<Standalone>,
    pub(crate) hubs: Mutex<HashMap<Arc<str>, HubSender>>,
    /// Requests being processed plus open SSE responses: a busy session is never idle.
    busy: Arc<AtomicUsize>,
    /// Whether the client came back after `initialize` (a request or a GET stream); an
    /// unused session expires after `HttpConfig::unused_session_timeout`.
    used: AtomicBool,
    /// The session's place in the quotas, given back when it ends.
    ticket: Mutex<Option<Ticket>>,
    /// When this process last renewed the session's record (see `store_touch_due`).
    pub(super) store_touched_ms: std::sync::atomic::AtomicU64,
}

impl HttpSession {
    /// Records that the client used the session after `initialize`.
    pub(crate) fn mark_used(&self) {
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
    }

    /// Nothing in flight and no open stream.
    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }

    /// Gives the session's place in the quotas back (once).
    fn release(&self) {
        drop(lock(&self.ticket).take());
    }
}

/// Decrements a busy counter (and marks the session active) when dropped.
pub(crate) struct BusyGuard {
    busy: Arc<AtomicUsize>,
    session: Arc<Session>,
}

impl BusyGuard {
    pub(crate) fn new(hs: &HttpSession) -> Self {
        // No touch here: a busy session is never swept, and the drop below touches it.
        hs.busy.fetch_add(1, Ordering::AcqRel);
        BusyGuard {
            busy: hs.busy.clone(),
            session: hs.session.clone(),
        }
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.session.touch();
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Locks a mutex, ignoring poisoning (the guarded maps stay consistent on panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a handshake-era POST goes: no session (stateless mode), a session created by this
/// `initialize`, or an existing one.
pub(crate) struct SessionRoute {
    pub(crate) session: Option<Arc<HttpSession>>,
    pub(crate) created: bool,
}

impl Inner {
    pub(crate) fn new(server: Server, config: HttpConfig) -> Self {
        Inner {
            limits: Arc::new(SessionLimits::new(&config)),
            server,
            config,
            sessions: RwLock::new(HashMap::new()),
            sweeper: OnceLock::new(),
            cluster_started: OnceLock::new(),
            versions: ProtocolVersion::of_era(Era::Handshake).collect(),
        }
    }

    pub(crate) fn session_count(&self) -> usize {
        read(&self.sessions).len()
    }

    pub(crate) fn session_ids(&self) -> Vec<Arc<str>> {
        read(&self.sessions).keys().cloned().collect()
    }

    /// The session of a POST: none when stateless, a new one for `initialize` (429 at the
    /// caller's quota, 503 when the table is full of busy sessions), else the one
    /// `Mcp-Session-Id` names (400 without the header).
    pub(crate) async fn route(
        self: &Arc<Self>,
        parts: &Parts,
        is_initialize: bool,
        session_header: Option<&str>,
    ) -> Result<SessionRoute, EdgeError> {
        if self.config.mode != super::config::SessionMode::Stateful {
            return Ok(SessionRoute {
                session: None,
                created: false,
            });
        }
        self.ensure_cluster();
        if is_initialize {
            let ticket = self.admit(parts).await?;
            let hs = self.new_session(ticket);
            if let Some(p) = principal_of(parts) {
                hs.session.bind_principal(p);
            }
            return Ok(SessionRoute {
                session: Some(hs),
                created: true,
            });
        }
        let Some(id) = session_header else {
            return Err(EdgeError::missing_session_id());
        };
        Ok(SessionRoute {
            session: Some(self.lookup(id, parts).await?),
            created: false,
        })
    }

    /// The live session `id`, if the caller may use it (same principal as its creator).
    pub(crate) async fn lookup(
        self: &Arc<Self>,
        id: &str,
        parts: &Parts,
    ) -> Result<Arc<HttpSession>, EdgeError> {
        let found = read(&self.sessions).get(id).cloned();
        let hs = match found {
            Some(hs) if !hs.session.is_closed() => hs,
            Some(_) => return Err(EdgeError::session_not_found()),
            // Created by another instance: restored from the shared session store.
            None => self.restore(id, parts).await?,
        };
        if hs.session.principal() != principal_of(parts).as_deref() {
            // Someone else's session: indistinguishable from an unknown one.
            return Err(EdgeError::session_not_found());
        }
        if let Some(store) = self
            .config
            .session_store
            .as_ref()
            .filter(|_| self.store_touch_due(&hs))
        {
            match store.touch(id, self.config.session_idle_timeout).await {
                Ok(true) => {}
                Ok(false) => {
                    self.close_session(id).await;
                    return Err(EdgeError::session_not_found());
                }
                Err(e) => log_store_failure("touch", &e),
            }
        }
        Ok(hs)
    }

    /// A ticket for the session an `initialize` of `parts` creates: 429 at the caller's
    /// quota; when the table is full the least recently used idle session is ended to make
    /// room (503 when none is idle).
    pub(super) async fn admit(&self, parts: &Parts) -> Result<Ticket, EdgeError> {
        let owner = Owner::of(parts);
        // A few tries: other clients may take the room an eviction made.
        for _ in 0..4 {
            match self.limits.admit(&owner) {
                Err(Refusal::Full) => {}
                other => return other.map_err(|r| r.into_error(&self.config)),
            }
            let Some(id) = self.least_recently_used_idle() else {
                break;
            };
            tracing::debug!(target: "mcp_rs_server::http", session = %id, "session table full: idle session evicted");
            self.close_session(&id).await;
        }
        Err(Refusal::Full.into_error(&self.config))
    }

    /// The idle session (nothing in flight, no open stream) untouched for the longest time.
    fn least_recently_used_idle(&self) -> Option<Arc<str>> {
        read(&self.sessions)
            .values()
            .filter(|hs| hs.is_idle())
            .max_by_key(|hs| hs.session.idle_for())
            .map(|hs| hs.id.clone())
    }

    /// A new session; its standalone stream starts with the first GET.
    fn new_session(self: &Arc<Self>, ticket: Ticket) -> Arc<HttpSession> {
        self.http_session(self.server.create_detached_session(), ticket)
    }

    /// The HTTP side of `session`, holding `ticket` (its place in the session quotas).
    pub(super) fn http_session(&self, session: Arc<Session>, ticket: Ticket) -> Arc<HttpSession> {
        let id: Arc<str> = Arc::from(session.id());
        let standalone = Arc::new(Standalone::new(
            id.clone(),
            self.config.event_store.clone(),
            self.config.sse_retry_ms,
        ));
        session.set_outbound(Some(Arc::new(StandaloneSink(standalone.clone()))));
        Arc::new(HttpSession {
            id,
            session,
            standalone,
            hubs: Mutex::new(HashMap::new()),
            busy: Arc::new(AtomicUsize::new(0)),
            used: AtomicBool::new(false),
            ticket: Mutex::new(Some(ticket)),
            store_touched_ms: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Forgets a session created by a POST whose `initialize` got no successful answer.
    pub(crate) fn discard(&self, hs: &HttpSession) {
        hs.session.close();
        hs.release();
        self.server.remove_session(&hs.id);
    }

    /// Registers `make()` as session `id` unless one is live already; returns the live one.
    pub(super) fn insert_if_absent(
        self: &Arc<Self>,
        id: &str,
        make: impl FnOnce() -> Arc<HttpSession>,
    ) -> Arc<HttpSession> {
        let hs = {
            let mut sessions = write(&self.sessions);
            match sessions.get(id) {
                Some(hs) => hs.clone(),
                None => {
                    let hs = make();
                    sessions.insert(hs.id.clone(), hs.clone());
                    hs
                }
            }
        };
        self.ensure_sweeper();
        hs
    }

    /// Ends the live copy of a session in this process: its streams close, in-flight requests
    /// are cancelled. The stores keep it.
    pub(super) fn forget_local(&self, id: &str) {
        let removed = write(&self.sessions).remove(id);
        if let Some(hs) = removed {
            hs.session.close();
            lock(&hs.hubs).clear();
            hs.release();
        }
        self.server.remove_session(id);
    }

    /// Ends a session: its streams close, in-flight requests are cancelled, the stores forget
    /// it, and so do the other instances of a cluster.
    pub(crate) async fn close_session(&self, id: &str) {
        self.forget_local(id);
        self.announce_closed(id);
        if let Some(store) = &self.config.event_store {
            let _ = store.remove_session(id).await;
        }
        if let Some(store) = &self.config.session_store {
            let _ = store.remove(id).await;
        }
    }

    /// `DELETE`: ends the session named by `Mcp-Session-Id` (204).
    pub(crate) async fn delete(self: Arc<Self>, parts: Parts) -> Result<Response<Body>, EdgeError> {
        protocol_version_header(&parts, &self.versions)?;
        let Some(id) = session_id_header(&parts)? else {
            return Err(EdgeError::missing_session_id());
        };
        let hs = self.lookup(id, &parts).await?;
        self.close_session(&hs.id).await;
        Ok(empty_response(StatusCode::NO_CONTENT))
    }

    fn ensure_sweeper(self: &Arc<Self>) {
        self.sweeper.get_or_init(|| {
            let weak = Arc::downgrade(self);
            let timeout = self.config.session_idle_timeout;
            let unused = self.config.unused_session_timeout.min(timeout);
            let period = (unused / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(period).await;
                    let Some(inner) = weak.upgrade() else { break };
                    for id in inner.idle_sessions(timeout, unused) {
                        tracing::debug!(target: "mcp_rs_server::http", session = %id, "session expired");
                        inner.release_session(&id).await;
                    }
                }
            });
        });
    }

    /// Sessions with nothing in flight, untouched for longer than `timeout` (`unused` for a
    /// session the client never came back to after `initialize`).
    fn idle_sessions(&self, timeout: Duration, unused: Duration) -> Vec<Arc<str>> {
        read(&self.sessions)
            .values()
            .filter(|hs| {
                let limit = if hs.used.load(Ordering::Relaxed) {
                    timeout
                } else {
                    unused
                };
                hs.is_idle() && hs.session.idle_for() > limit
            })
            .map(|hs| hs.id.clone())
            .collect()
    }

    /// Registers a session after its `initialize` answer. `Ok(false)` when that answer is an
    /// error (the caller discards the session).
    pub(crate) async fn finish_initialize(
        self: &Arc<Self>,
        hs: Option<&Arc<HttpSession>>,
        reply: &JsonRpcMessage,
    ) -> Result<bool, EdgeError> {
        let Some(hs) = hs else { return Ok(false) };
        if !matches!(reply, JsonRpcMessage::Response(_)) || !hs.session.is_initialized() {
            return Ok(false);
        }
        if let Some(store) = &self.config.session_store {
            let record = SessionRecord::of(&hs.session);
            if let Err(e) = store.insert(record, self.config.session_idle_timeout).await {
                log_store_failure("insert", &e);
                self.discard(hs);
                return Err(EdgeError::store_unavailable(self.config.busy_retry_after));
            }
        }
        write(&self.sessions).insert(hs.id.clone(), hs.clone());
        self.ensure_sweeper();
        Ok(true)
    }
}
