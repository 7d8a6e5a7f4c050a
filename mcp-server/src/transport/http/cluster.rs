//! Several instances of one server behind a load balancer without sticky routing.
//!
//! Two things make that work. A shared [`SessionStore`](super::SessionStore) lets any instance
//! restore a session it has never seen from its record (peer info, negotiated version,
//! capabilities, log level, subscriptions and the principal it is bound to: another principal
//! gets 404, as for an unknown id). A [`ClusterBus`](super::ClusterBus) carries what one
//! instance must tell the others: the events of [`Server::emit`](crate::Server::emit) (list changes, resource updates,
//! hence `subscriptions/listen` fan-out), answers to server→client requests and
//! cancellations that reached another instance than the one holding their request, session
//! state changes (`logging/setLevel`, subscriptions) and session ends.
//!
//! The bus is best effort: a message published while the backend is unreachable is lost (a
//! client that missed a `list_changed` lists again on its next reconnect), and a request that
//! needs the store while it is down gets `503` with `Retry-After`.

use http::request::Parts;
use mcp_rs_core::jsonrpc::{Incoming, JsonRpcMessage, RequestId};
use mcp_rs_core::method;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

use super::bus::ClusterMessage;
use super::edge::{EdgeError, principal_of};
use super::session_store::{SessionRecord, log_store_failure};
use super::sessions::{HttpSession, Inner};
use crate::server::Exchange;
use crate::session::{PeerInfo, Session};

/// In a cluster, the shortest time between two renewals of one session's record by this
/// process (the record's TTL is the idle timeout, minutes by default).
const TOUCH_INTERVAL_MS: u64 = 1000;

/// The origin of `store_touched_ms`.
static BASE: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// Sets the changeable state of `record` (log level, subscriptions) on `session`.
fn apply_state(session: &Session, record: &SessionRecord) {
    if let Some(level) = record.log_level {
        session.set_log_level(level);
    }
    for uri in session.subscriptions() {
        if !record.subscriptions.contains(&uri) {
            session.unsubscribe(&uri);
        }
    }
    for uri in &record.subscriptions {
        session.subscribe(uri.clone());
    }
}

/// Whether a message changes the part of a session its record holds.
pub(crate) fn changes_session_state(m: &JsonRpcMessage) -> bool {
    matches!(m, JsonRpcMessage::Request(r) if matches!(
        r.method.as_str(),
        method::LOGGING_SET_LEVEL | method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE
    ))
}

/// A random start for server→client request ids: 2^28 ids per instance, below 2^53 (exact in
/// JSON numbers everywhere).
fn peer_id_base() -> i64 {
    i64::from(rand::random::<u32>() >> 8) << 28
}

impl Inner {
    /// Starts listening to the cluster bus (once; needs a Tokio runtime) and relays this
    /// server's events to it.
    pub(crate) fn ensure_cluster(self: &Arc<Self>) {
        let Some(bus) = &self.config.cluster else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.cluster_started.get_or_init(|| {
            let out = bus.clone();
            self.server.set_event_relay(
                Box::new(move |event| out.publish(ClusterMessage::from_event(event))),
                peer_id_base(),
            );
            let mut rx = bus.subscribe();
            let weak = Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(msg) => {
                            let Some(inner) = weak.upgrade() else { break };
                            inner.on_cluster_message(msg).await;
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(target: "mcp_rs_server::http", missed = n, "cluster bus receiver lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        });
    }

    /// Ends this process's part of session `id` (idle expiry, shutdown). Alone, the session
    /// ends, stores included; in a cluster only the local copy goes: the other instances keep
    /// serving the session, and its record expires by its own TTL.
    pub(crate) async fn release_session(&self, id: &str) {
        if self.config.cluster.is_some() {
            self.forget_local(id);
        } else {
            self.close_session(id).await;
        }
    }

    /// Whether a request of `hs` renews its record in the store. Alone, every request does
    /// (a record deleted elsewhere ends the session at once); in a cluster, where the bus
    /// announces deletions, at most one request per second ([`TOUCH_INTERVAL_MS`]) of each session held
    /// here does, which saves a Redis round trip on the others.
    pub(crate) fn store_touch_due(&self, hs: &HttpSession) -> bool {
        if self.config.cluster.is_none() {
            return true;
        }
        let now = u64::try_from(BASE.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let last = hs.store_touched_ms.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < TOUCH_INTERVAL_MS {
            return false;
        }
        hs.store_touched_ms.store(now, Ordering::Relaxed);
        true
    }

    /// Tells the other instances that session `id` ended.
    pub(crate) fn announce_closed(&self, id: &str) {
        if let Some(bus) = &self.config.cluster {
            bus.publish(ClusterMessage::SessionEnded {
                session: id.to_owned(),
            });
        }
    }

    async fn on_cluster_message(&self, msg: ClusterMessage) {
        if let Some(event) = msg.to_event() {
            self.server.emit_local(event);
            return;
        }
        match msg {
            ClusterMessage::SessionEnded { session } => self.forget_local(&session),
            ClusterMessage::SessionChanged { session } => self.reload_state(&session).await,
            ClusterMessage::Forward { session, message } => {
                let Some(s) = self.server.session(&session) else {
                    return;
                };
                let Ok(Incoming::Single(m)) = mcp_rs_core::jsonrpc::parse(message.as_bytes())
                else {
                    return;
                };
                if held_here(&s, &m) {
                    let _ = self.server.handle(m, Exchange::with_session(s)).await;
                }
            }
            _ => {}
        }
    }

    /// Reads the record of a live session again after another instance changed it.
    async fn reload_state(&self, id: &str) {
        let (Some(s), Some(store)) = (self.server.session(id), &self.config.session_store) else {
            return;
        };
        match store.get(id).await {
            Ok(Some(record)) => apply_state(&s, &record),
            Ok(None) => self.forget_local(id),
            Err(e) => log_store_failure("get", &e),
        }
    }

    /// Restores session `id` from the shared store: 404 when it is unknown or bound to
    /// another principal, 503 with `Retry-After` when the store cannot be reached or the
    /// session table is full of busy sessions, 429 at the caller's session quota.
    pub(crate) async fn restore(
        self: &Arc<Self>,
        id: &str,
        parts: &Parts,
    ) -> Result<Arc<HttpSession>, EdgeError> {
        let Some(store) = &self.config.session_store else {
            return Err(EdgeError::session_not_found());
        };
        let record = match store.get(id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(EdgeError::session_not_found()),
            Err(e) => {
                log_store_failure("get", &e);
                return Err(EdgeError::store_unavailable(self.config.busy_retry_after));
            }
        };
        if record.id != id || record.principal != principal_of(parts) {
            // Someone else's session: indistinguishable from an unknown one.
            return Err(EdgeError::session_not_found());
        }
        // The restored session takes its place in the quotas like a new one (429 at the
        // caller's quota, LRU eviction or 503 when the table is full).
        let ticket = self.admit(parts).await?;
        self.ensure_cluster();
        Ok(self.insert_if_absent(id, || {
            let peer = PeerInfo {
                protocol_version: record.protocol_version,
                client_info: record.client_info.clone(),
                client_capabilities: record.client_capabilities.clone(),
            };
            let session = self.server.restore_session(id, peer);
            if let Some(p) = &record.principal {
                session.bind_principal(p.clone());
            }
            apply_state(&session, &record);
            tracing::debug!(target: "mcp_rs_server::http", session = %id, "session restored from the store");
            self.http_session(session, ticket)
        }))
    }

    /// After a request that changed the session's log level or subscriptions: writes its
    /// record again and tells the other instances.
    pub(crate) async fn save_session_state(&self, session: &Session) {
        let Some(store) = &self.config.session_store else {
            return;
        };
        let record = SessionRecord::of(session);
        if let Err(e) = store.insert(record, self.config.session_idle_timeout).await {
            log_store_failure("insert", &e);
            return;
        }
        if let Some(bus) = &self.config.cluster {
            bus.publish(ClusterMessage::SessionChanged {
                session: session.id().to_owned(),
            });
        }
    }

    /// A client message for a request this process does not hold (an answer to a
    /// server→client request, a cancellation) goes to the other instances. `true` when it was
    /// forwarded (the caller does not handle it).
    pub(crate) fn forward(&self, session: &Session, m: &JsonRpcMessage) -> bool {
        let Some(bus) = &self.config.cluster else {
            return false;
        };
        if target(m).is_none() || held_here(session, m) {
            return false;
        }
        let Ok(message) = serde_json::to_string(m) else {
            return false;
        };
        bus.publish(ClusterMessage::Forward {
            session: session.id().to_owned(),
            message,
        });
        true
    }
}

/// The request a client message is about: the id a response or error answers (a
/// server→client request), or the `requestId` of a `notifications/cancelled` (a client
/// request). `None` for other messages.
fn target(m: &JsonRpcMessage) -> Option<(bool, RequestId)> {
    match m {
        JsonRpcMessage::Response(r) => Some((true, r.id.clone())),
        JsonRpcMessage::Error(e) => e.id.clone().map(|id| (true, id)),
        JsonRpcMessage::Notification(n) if n.method == method::NOTIFICATION_CANCELLED => {
            let id = n.params.as_ref()?.get("requestId")?.clone();
            Some((false, serde_json::from_value(id).ok()?))
        }
        _ => None,
    }
}

/// Whether the request `m` is about is held by this process's copy of `session`.
fn held_here(session: &Session, m: &JsonRpcMessage) -> bool {
    match target(m) {
        Some((true, id)) => session.pending.contains(&id),
        Some((false, id)) => session.is_in_flight(&id),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerEvent;
    use mcp_rs_core::ProtocolVersion;
    use mcp_rs_core::schema::LoggingLevel;
    use serde_json::json;

    #[test]
    fn messages_serialise_tagged() {
        let m = ClusterMessage::ResourceUpdated {
            uri: "a://b".into(),
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"type": "resourceUpdated", "uri": "a://b"})
        );
        assert_eq!(
            serde_json::to_value(ClusterMessage::ToolsListChanged).unwrap(),
            json!({"type": "toolsListChanged"})
        );
        let back: ClusterMessage =
            serde_json::from_value(json!({"type": "sessionEnded", "session": "s"})).unwrap();
        assert_eq!(
            back,
            ClusterMessage::SessionEnded {
                session: "s".into()
            }
        );
    }

    #[test]
    fn events_round_trip() {
        for e in [
            ServerEvent::ToolsListChanged,
            ServerEvent::ResourcesListChanged,
            ServerEvent::PromptsListChanged,
            ServerEvent::ResourceUpdated {
                uri: "x://1".into(),
            },
        ] {
            let m = ClusterMessage::from_event(&e);
            assert_eq!(m.to_event(), Some(e));
        }
        assert_eq!(
            ClusterMessage::SessionChanged {
                session: "s".into()
            }
            .to_event(),
            None
        );
    }

    #[test]
    fn record_carries_and_restores_state() {
        let s = Session::with_id("abc".into(), None);
        s.initialize(PeerInfo {
            protocol_version: ProtocolVersion::V2025_06_18,
            client_info: None,
            client_capabilities: None,
        });
        s.bind_principal("p1");
        s.set_log_level(LoggingLevel::Warning);
        s.subscribe("b://2");
        s.subscribe("a://1");
        let r = SessionRecord::of(&s);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"id": "abc", "protocolVersion": "2025-06-18", "principal": "p1",
                   "logLevel": "warning", "subscriptions": ["a://1", "b://2"]})
        );
        let other = Session::with_id("abc".into(), None);
        other.subscribe("c://3");
        apply_state(&other, &r);
        let mut subs = other.subscriptions();
        subs.sort();
        assert_eq!(subs, vec!["a://1".to_owned(), "b://2".to_owned()]);
        assert_eq!(other.log_level(), Some(LoggingLevel::Warning));
    }

    #[test]
    fn forwarded_messages_name_their_request() {
        let parse =
            |v: serde_json::Value| match mcp_rs_core::jsonrpc::parse(v.to_string().as_bytes()) {
                Ok(Incoming::Single(m)) => m,
                other => panic!("{other:?}"),
            };
        let answer = parse(json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
        assert_eq!(target(&answer), Some((true, RequestId::Number(7))));
        let cancel = parse(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": "r1"}}),
        );
        assert_eq!(
            target(&cancel),
            Some((false, RequestId::String("r1".into())))
        );
        let other = parse(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(target(&other), None);
        let s = Session::with_id("abc".into(), None);
        let limits = crate::session::PendingLimits::new(4, 4);
        let _rx = s.pending.insert(RequestId::Number(7), &limits, true);
        assert!(held_here(&s, &answer));
        assert!(!held_here(&s, &cancel));
        s.track(
            RequestId::String("r1".into()),
            tokio_util::sync::CancellationToken::new(),
        );
        assert!(held_here(&s, &cancel));
    }

    #[test]
    fn peer_id_bases_stay_exact_in_json() {
        for _ in 0..100 {
            let b = peer_id_base();
            assert!((0..1i64 << 53).contains(&b));
            assert_eq!(b % (1 << 28), 0);
        }
    }
}
