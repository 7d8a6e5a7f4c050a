//! Where SSE events are kept so a client can resume a stream with `Last-Event-ID`.
//!
//! The transport numbers the events of each stream itself (`<stream>-<seq>`, the priming event
//! is `seq` 0) and hands every event to an [`EventStore`] before sending it. When a client
//! reconnects with `GET` and `Last-Event-ID`, the transport asks the store for the events of
//! that stream after that sequence number and sends them first.
//!
//! The trait is async and keyed by session, so a shared backend (Redis streams, a database)
//! can implement it and serve several server instances. [`InMemoryEventStore`] is the default:
//! bounded per stream, per session and in age.

use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A boxed error of a storage backend.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// One stored SSE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The stream the event belongs to.
    pub stream: String,
    /// Its position in the stream (1 for the first event after the priming event).
    pub seq: u64,
    /// The event's data: one serialised JSON-RPC message.
    pub data: Bytes,
}

impl StoredEvent {
    /// The SSE event id: `<stream>-<seq>`.
    #[must_use]
    pub fn event_id(&self) -> String {
        event_id(&self.stream, self.seq)
    }
}

/// Formats an event id.
pub(crate) fn event_id(stream: &str, seq: u64) -> String {
    format!("{stream}-{seq}")
}

/// Splits an event id into stream and sequence number.
pub(crate) fn parse_event_id(id: &str) -> Option<(&str, u64)> {
    let (stream, seq) = id.trim().rsplit_once('-')?;
    if stream.is_empty() {
        return None;
    }
    Some((stream, seq.parse().ok()?))
}

/// Storage of SSE events for resumption. See the [module docs](self).
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Stores `event` for `session`.
    ///
    /// # Errors
    /// A backend failure; the transport still delivers the event live, it just cannot be
    /// replayed.
    async fn append(&self, session: &str, event: StoredEvent) -> Result<(), StoreError>;

    /// The events of `stream` in `session` with a sequence number greater than `after`,
    /// oldest first. `Ok(None)` when the store knows nothing of that stream (never existed,
    /// belongs to another session, or was evicted).
    ///
    /// # Errors
    /// A backend failure.
    async fn events_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError>;

    /// Forgets one stream (its events were all delivered and it ended).
    ///
    /// # Errors
    /// A backend failure.
    async fn remove_stream(&self, session: &str, stream: &str) -> Result<(), StoreError>;

    /// Forgets everything of `session` (it ended).
    ///
    /// # Errors
    /// A backend failure.
    async fn remove_session(&self, session: &str) -> Result<(), StoreError>;
}

/// Bounds of the [`InMemoryEventStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventStoreLimits {
    /// Events kept per stream; older ones are dropped first (default 1024).
    pub events_per_stream: usize,
    /// Streams kept per session; the least recently written is dropped first (default 32).
    pub streams_per_session: usize,
    /// Bytes of event data kept per session (default 4 MiB).
    pub bytes_per_session: usize,
    /// A stream not written for this long is dropped (default 10 minutes).
    pub max_age: Duration,
}

impl Default for EventStoreLimits {
    fn default() -> Self {
        EventStoreLimits {
            events_per_stream: 1024,
            streams_per_session: 32,
            bytes_per_session: 4 * 1024 * 1024,
            max_age: Duration::from_secs(600),
        }
    }
}

impl EventStoreLimits {
    /// Sets [`events_per_stream`](Self::events_per_stream).
    #[must_use]
    pub fn events_per_stream(mut self, n: usize) -> Self {
        self.events_per_stream = n.max(1);
        self
    }

    /// Sets [`streams_per_session`](Self::streams_per_session).
    #[must_use]
    pub fn streams_per_session(mut self, n: usize) -> Self {
        self.streams_per_session = n.max(1);
        self
    }

    /// Sets [`bytes_per_session`](Self::bytes_per_session).
    #[must_use]
    pub fn bytes_per_session(mut self, n: usize) -> Self {
        self.bytes_per_session = n;
        self
    }

    /// Sets [`max_age`](Self::max_age).
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }
}

struct StreamEvents {
    id: String,
    events: VecDeque<StoredEvent>,
    last_write: Instant,
}

#[derive(Default)]
struct SessionEvents {
    /// Least recently written first.
    streams: VecDeque<StreamEvents>,
    bytes: usize,
}

impl SessionEvents {
    fn evict_stream(&mut self, idx: usize) {
        if let Some(s) = self.streams.remove(idx) {
            self.bytes -= s.events.iter().map(|e| e.data.len()).sum::<usize>();
        }
    }
}

/// The default [`EventStore`]: in memory, bounded by [`EventStoreLimits`].
pub struct InMemoryEventStore {
    limits: EventStoreLimits,
    sessions: Mutex<HashMap<String, SessionEvents>>,
}

impl fmt::Debug for InMemoryEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryEventStore")
            .field("limits", &self.limits)
            .field("sessions", &self.lock().len())
            .finish()
    }
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self::new(EventStoreLimits::default())
    }
}

impl InMemoryEventStore {
    /// A store with `limits`.
    #[must_use]
    pub fn new(limits: EventStoreLimits) -> Self {
        InMemoryEventStore {
            limits,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionEvents>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of events held in total (for tests and metrics).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock()
            .values()
            .flat_map(|s| s.streams.iter())
            .map(|s| s.events.len())
            .sum()
    }

    /// Whether no event is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl EventStore for InMemoryEventStore {
    async fn append(&self, session: &str, event: StoredEvent) -> Result<(), StoreError> {
        let now = Instant::now();
        let limits = self.limits;
        let mut sessions = self.lock();
        let s = sessions.entry(session.to_owned()).or_default();
        // Age out streams nobody wrote to for a while.
        while s
            .streams
            .front()
            .is_some_and(|st| now.duration_since(st.last_write) > limits.max_age)
        {
            s.evict_stream(0);
        }
        let idx = match s.streams.iter().position(|st| st.id == event.stream) {
            Some(i) => i,
            None => {
                if s.streams.len() >= limits.streams_per_session {
                    s.evict_stream(0);
                }
                s.streams.push_back(StreamEvents {
                    id: event.stream.clone(),
                    events: VecDeque::new(),
                    last_write: now,
                });
                s.streams.len() - 1
            }
        };
        // Move the stream to the back (most recently written).
        let Some(mut st) = s.streams.remove(idx) else {
            return Ok(());
        };
        st.last_write = now;
        s.bytes += event.data.len();
        st.events.push_back(event);
        while st.events.len() > limits.events_per_stream {
            if let Some(old) = st.events.pop_front() {
                s.bytes -= old.data.len();
            }
        }
        s.streams.push_back(st);
        // Over the byte budget: drop the oldest events of the least recently written streams.
        while s.bytes > limits.bytes_per_session {
            let Some(front) = s.streams.front_mut() else {
                break;
            };
            match front.events.pop_front() {
                Some(old) => s.bytes -= old.data.len(),
                None => s.evict_stream(0),
            }
        }
        Ok(())
    }

    async fn events_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let sessions = self.lock();
        let Some(s) = sessions.get(session) else {
            return Ok(None);
        };
        Ok(s.streams.iter().find(|st| st.id == stream).map(|st| {
            st.events
                .iter()
                .filter(|e| e.seq > after)
                .cloned()
                .collect()
        }))
    }

    async fn remove_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let mut sessions = self.lock();
        if let Some(s) = sessions.get_mut(session) {
            if let Some(i) = s.streams.iter().position(|st| st.id == stream) {
                s.evict_stream(i);
            }
            if s.streams.is_empty() {
                sessions.remove(session);
            }
        }
        Ok(())
    }

    async fn remove_session(&self, session: &str) -> Result<(), StoreError> {
        self.lock().remove(session);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stream: &str, seq: u64, data: &'static str) -> StoredEvent {
        StoredEvent {
            stream: stream.into(),
            seq,
            data: Bytes::from_static(data.as_bytes()),
        }
    }

    #[test]
    fn event_ids() {
        assert_eq!(event_id("ab12", 3), "ab12-3");
        assert_eq!(parse_event_id("ab12-3"), Some(("ab12", 3)));
        assert_eq!(parse_event_id("a-b-0"), Some(("a-b", 0)));
        assert_eq!(parse_event_id("-3"), None);
        assert_eq!(parse_event_id("abc"), None);
        assert_eq!(parse_event_id("a-x"), None);
    }

    #[tokio::test]
    async fn replays_after_sequence_and_scopes_by_session() {
        let store = InMemoryEventStore::default();
        for i in 1..=3 {
            store.append("s1", ev("st", i, "x")).await.unwrap();
        }
        let got = store.events_after("s1", "st", 1).await.unwrap().unwrap();
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(
            store
                .events_after("s1", "st", 0)
                .await
                .unwrap()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(store.events_after("s2", "st", 0).await.unwrap(), None);
        assert_eq!(store.events_after("s1", "other", 0).await.unwrap(), None);
        store.remove_stream("s1", "st").await.unwrap();
        assert_eq!(store.events_after("s1", "st", 0).await.unwrap(), None);
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn bounded() {
        let store = InMemoryEventStore::new(
            EventStoreLimits::default()
                .events_per_stream(2)
                .streams_per_session(2)
                .bytes_per_session(5),
        );
        for i in 1..=3 {
            store.append("s", ev("a", i, "1")).await.unwrap();
        }
        // Only the last two events of stream a.
        let a = store.events_after("s", "a", 0).await.unwrap().unwrap();
        assert_eq!(a.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
        store.append("s", ev("b", 1, "22")).await.unwrap();
        store.append("s", ev("c", 1, "3")).await.unwrap();
        // Stream a (least recently written) was evicted for c.
        assert_eq!(store.events_after("s", "a", 0).await.unwrap(), None);
        // 5-byte budget: "22" + "3" = 3 bytes, fine; a 4-byte event pushes out b's.
        store.append("s", ev("c", 2, "4444")).await.unwrap();
        let b = store.events_after("s", "b", 0).await.unwrap();
        assert!(b.is_none() || b.unwrap().is_empty());
        assert_eq!(
            store
                .events_after("s", "c", 0)
                .await
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        store.remove_session("s").await.unwrap();
        assert!(store.is_empty());
    }
}
