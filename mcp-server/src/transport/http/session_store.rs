//! Where handshake-era session records are kept, so several server instances can share them.

use async_trait::async_trait;
use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::schema::{ClientCapabilities, Implementation, LoggingLevel};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::event_store::StoreError;

/// The serialisable state of one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionRecord {
    /// The `Mcp-Session-Id`.
    pub id: String,
    /// The negotiated protocol version.
    pub protocol_version: ProtocolVersion,
    /// The client's implementation info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<Implementation>,
    /// The client's capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_capabilities: Option<ClientCapabilities>,
    /// The principal key the session is bound to (see
    /// [`OAuthContext::principal_key`](crate::identity::OAuthContext::principal_key)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The level the client set with `logging/setLevel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LoggingLevel>,
    /// The resource URIs the session is subscribed to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<String>,
}

impl SessionRecord {
    /// A record for session `id` at `protocol_version`.
    #[must_use]
    pub fn new(id: impl Into<String>, protocol_version: ProtocolVersion) -> Self {
        SessionRecord {
            id: id.into(),
            protocol_version,
            client_info: None,
            client_capabilities: None,
            principal: None,
            log_level: None,
            subscriptions: Vec::new(),
        }
    }
}

impl SessionRecord {
    /// The record that restores `session` on another instance.
    pub(crate) fn of(session: &crate::session::Session) -> Self {
        let mut record = SessionRecord::new(
            session.id(),
            session
                .protocol_version()
                .unwrap_or(ProtocolVersion::LATEST_HANDSHAKE),
        );
        record.client_info = session.client_info().cloned();
        record.client_capabilities = session.client_capabilities().cloned();
        record.principal = session.principal().map(str::to_owned);
        record.log_level = session.log_level();
        record.subscriptions = session.subscriptions();
        record.subscriptions.sort();
        record
    }
}

/// Failures of the session store, logged once per interval.
static STORE_FAILURES: crate::log_throttle::LogThrottle =
    crate::log_throttle::LogThrottle::new(std::time::Duration::from_secs(10));

pub(crate) fn log_store_failure(what: &str, e: &dyn std::fmt::Display) {
    if let Some(suppressed) = STORE_FAILURES.hit() {
        tracing::warn!(target: "mcp_rs_server::http", error = %e, suppressed, "session store {what} failed");
    }
}

/// Storage of session records.
///
/// The live part of a session (its pending server→client requests, open streams, typed values)
/// always stays in the process that serves it. A [`SessionStore`] holds the serialisable part:
/// the [`SessionRecord`] written on `initialize` (negotiated version, client info and
/// capabilities, the principal the session is bound to). The transport writes a record on
/// `initialize`, touches it on every request of the session (a session whose record is gone
/// or expired answers 404 everywhere), and deletes it on `DELETE` or expiry. The record holds
/// everything needed to restore the session on another instance: a request whose session is
/// not live in this process is served from its record (same principal only, else 404) when a
/// store is configured, and `logging/setLevel`, `resources/subscribe` and
/// `resources/unsubscribe` write the record again (see
/// [`ClusterBus`](super::ClusterBus) for the notifications between instances).
///
/// Records expire after the session idle timeout unless touched; the store enforces that
/// itself (the Redis backend of feature `redis` uses key TTLs).
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new record that expires after `ttl` unless touched.
    ///
    /// # Errors
    /// A backend failure; the `initialize` request then fails with 503.
    async fn insert(&self, record: SessionRecord, ttl: Duration) -> Result<(), StoreError>;

    /// The record of session `id`, unless it is unknown or expired.
    ///
    /// # Errors
    /// A backend failure.
    async fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Extends the life of session `id` to `ttl` from now. `Ok(false)` when it is unknown or
    /// already expired.
    ///
    /// # Errors
    /// A backend failure.
    async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Deletes session `id`. `Ok(false)` when it was unknown.
    ///
    /// # Errors
    /// A backend failure.
    async fn remove(&self, id: &str) -> Result<bool, StoreError>;
}

/// A [`SessionStore`] in process memory. The transport does not need one to serve sessions
/// (live sessions are always kept in the process); use it to share sessions between several
/// services in one process, or as a model for a shared backend.
#[derive(Default)]
pub struct InMemorySessionStore {
    records: Mutex<HashMap<String, (SessionRecord, Instant)>>,
}

impl fmt::Debug for InMemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySessionStore")
            .field("records", &self.lock().len())
            .finish()
    }
}

impl InMemorySessionStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SessionRecord, Instant)>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of unexpired records.
    #[must_use]
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().values().filter(|(_, exp)| *exp > now).count()
    }

    /// Whether no unexpired record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for InMemorySessionStore {
    async fn insert(&self, record: SessionRecord, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut records = self.lock();
        // Drop expired records on the way, so the map does not grow without bound.
        records.retain(|_, (_, exp)| *exp > now);
        records.insert(record.id.clone(), (record, now + ttl));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let now = Instant::now();
        Ok(self
            .lock()
            .get(id)
            .filter(|(_, exp)| *exp > now)
            .map(|(r, _)| r.clone()))
    }

    async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut records = self.lock();
        match records.get_mut(id) {
            Some((_, exp)) if *exp > now => {
                *exp = now + ttl;
                Ok(true)
            }
            Some(_) => {
                records.remove(id);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().remove(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_expire_unless_touched() {
        let store = InMemorySessionStore::new();
        let rec = SessionRecord::new("a", ProtocolVersion::V2025_11_25);
        store
            .insert(rec.clone(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(store.get("a").await.unwrap(), Some(rec));
        assert!(store.touch("a", Duration::ZERO).await.unwrap());
        assert_eq!(store.get("a").await.unwrap(), None);
        assert!(!store.touch("a", Duration::from_secs(60)).await.unwrap());
        assert!(!store.remove("a").await.unwrap());
        assert!(store.is_empty());
    }

    #[test]
    fn record_is_serialisable() {
        let mut rec = SessionRecord::new("a", ProtocolVersion::V2025_06_18);
        rec.principal = Some("p".into());
        let json = serde_json::to_value(&rec).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "a", "protocolVersion": "2025-06-18", "principal": "p"})
        );
        assert_eq!(serde_json::from_value::<SessionRecord>(json).unwrap(), rec);
    }
}
