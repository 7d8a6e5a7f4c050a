//! Where SSE events are kept so a client can resume a stream with `Last-Event-ID`.

use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

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

/// Storage of SSE events for resumption.
///
/// The transport numbers the events of each stream itself (`<stream>-<seq>`, the priming event
/// is `seq` 0) and hands every event to an [`EventStore`] before sending it. When a client
/// reconnects with `GET` and `Last-Event-ID`, the transport asks the store for the events of
/// that stream after that sequence number and sends them first.
///
/// The trait is async and keyed by session, so a shared backend (Redis streams, a database)
/// can implement it and serve several server instances. [`InMemoryEventStore`] is the default:
/// bounded per stream, per session, in total (one byte budget shared by all sessions, oldest
/// events out first) and in age; a finished `POST` stream is kept only for a short resumption
/// window.
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

    /// The stream ended (a `POST` stream whose replies were all sent): keep its events only
    /// for a short resumption window. The default forgets nothing (a backend that expires
    /// entries itself needs nothing more).
    ///
    /// # Errors
    /// A backend failure.
    async fn finish_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let _ = (session, stream);
        Ok(())
    }

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

/// Default [`EventStoreLimits::total_bytes`]: 64 MiB.
pub const DEFAULT_EVENT_STORE_BYTES: usize = 64 * 1024 * 1024;
/// Default [`EventStoreLimits::finished_stream_ttl`]: 30 s.
pub const DEFAULT_FINISHED_STREAM_TTL: Duration = Duration::from_secs(30);

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
    /// Bytes of event data kept in the whole store, shared by all sessions; past it the
    /// oldest events of any session go first (default 64 MiB).
    pub total_bytes: usize,
    /// How long the events of a finished stream (a `POST` whose replies were all sent) stay
    /// for a client that lost the connection to resume (default 30 s).
    pub finished_stream_ttl: Duration,
    /// A stream not written for this long is dropped (default 10 minutes).
    pub max_age: Duration,
}

impl Default for EventStoreLimits {
    fn default() -> Self {
        EventStoreLimits {
            events_per_stream: 1024,
            streams_per_session: 32,
            bytes_per_session: 4 * 1024 * 1024,
            total_bytes: DEFAULT_EVENT_STORE_BYTES,
            finished_stream_ttl: DEFAULT_FINISHED_STREAM_TTL,
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

    /// Sets [`total_bytes`](Self::total_bytes).
    #[must_use]
    pub fn total_bytes(mut self, n: usize) -> Self {
        self.total_bytes = n;
        self
    }

    /// Sets [`finished_stream_ttl`](Self::finished_stream_ttl).
    #[must_use]
    pub fn finished_stream_ttl(mut self, ttl: Duration) -> Self {
        self.finished_stream_ttl = ttl;
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
    id: Arc<str>,
    /// Events with their store-wide stamp (append order), oldest first.
    events: VecDeque<(u64, StoredEvent)>,
    last_write: Instant,
    /// Set when the stream finished: it is dropped at this instant.
    expires: Option<Instant>,
}

#[derive(Default)]
struct SessionEvents {
    /// Least recently written first.
    streams: VecDeque<StreamEvents>,
    bytes: usize,
}

/// One event in the store-wide append order.
struct OrderEntry {
    stamp: u64,
    session: Arc<str>,
    stream: Arc<str>,
}

/// Everything the store holds, behind one lock.
#[derive(Default)]
struct Inner {
    sessions: HashMap<Arc<str>, SessionEvents>,
    /// Bytes of event data held in total.
    total: usize,
    /// Events held in total.
    live: usize,
    next_stamp: u64,
    /// Append order across sessions, oldest first; entries of events already removed are
    /// skipped when met, and dropped when they outnumber the live ones.
    order: VecDeque<OrderEntry>,
    /// Finished streams by expiry, soonest first (the TTL is the same for all).
    finished: VecDeque<(Instant, Arc<str>, Arc<str>)>,
}

impl Inner {
    /// Removes stream `idx` of `session`, keeping the counters right.
    fn evict_stream(&mut self, session: &str, idx: usize) {
        let Some(s) = self.sessions.get_mut(session) else {
            return;
        };
        if let Some(st) = s.streams.remove(idx) {
            let bytes: usize = st.events.iter().map(|(_, e)| e.data.len()).sum();
            s.bytes -= bytes;
            self.total -= bytes;
            self.live -= st.events.len();
        }
        if s.streams.is_empty() {
            self.sessions.remove(session);
        }
        self.compact_order();
    }

    /// The map key of `session`, inserting an empty entry when it has none.
    fn session_key(&mut self, session: &str) -> Arc<str> {
        if let Some((k, _)) = self.sessions.get_key_value(session) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(session);
        self.sessions.insert(k.clone(), SessionEvents::default());
        k
    }

    /// Removes the oldest event of stream `idx` of `session`.
    fn pop_event(&mut self, session: &str, idx: usize) -> Option<(u64, StoredEvent)> {
        let s = self.sessions.get_mut(session)?;
        let ev = s.streams.get_mut(idx)?.events.pop_front()?;
        s.bytes -= ev.1.data.len();
        self.total -= ev.1.data.len();
        self.live -= 1;
        Some(ev)
    }

    fn remove_session(&mut self, session: &str) {
        if let Some(s) = self.sessions.remove(session) {
            self.total -= s.bytes;
            self.live -= s.streams.iter().map(|st| st.events.len()).sum::<usize>();
        }
        self.compact_order();
    }

    /// Drops finished streams whose resumption window is over.
    fn sweep_finished(&mut self, now: Instant) {
        while self.finished.front().is_some_and(|(at, _, _)| *at <= now) {
            let Some((at, session, stream)) = self.finished.pop_front() else {
                break;
            };
            let idx = self.sessions.get(&*session).and_then(|s| {
                s.streams
                    .iter()
                    .position(|st| st.id == stream && st.expires == Some(at))
            });
            if let Some(idx) = idx {
                self.evict_stream(&session, idx);
            }
        }
    }

    /// Drops the oldest events of the whole store until it is within `budget`.
    fn enforce_total(&mut self, budget: usize) {
        while self.total > budget {
            let Some(entry) = self.order.pop_front() else {
                break;
            };
            let idx = self.sessions.get(&*entry.session).and_then(|s| {
                s.streams.iter().position(|st| {
                    st.id == entry.stream && st.events.front().is_some_and(|e| e.0 == entry.stamp)
                })
            });
            if let Some(idx) = idx {
                self.pop_event(&entry.session, idx);
            }
        }
        self.compact_order();
    }

    /// Drops the entries of removed events from `order` once they outnumber the live ones
    /// (plus slack), so the queue stays within `2 * live + 64` after every operation.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.live + 64 {
            let sessions = &self.sessions;
            self.order.retain(|e| {
                sessions.get(&*e.session).is_some_and(|s| {
                    s.streams.iter().any(|st| {
                        st.id == e.stream
                            && st.events.binary_search_by_key(&e.stamp, |x| x.0).is_ok()
                    })
                })
            });
        }
    }
}

/// The default [`EventStore`]: in memory, bounded by [`EventStoreLimits`] per stream, per
/// session and in total.
pub struct InMemoryEventStore {
    limits: EventStoreLimits,
    inner: Mutex<Inner>,
}

impl fmt::Debug for InMemoryEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("InMemoryEventStore")
            .field("limits", &self.limits)
            .field("sessions", &inner.sessions.len())
            .field("bytes", &inner.total)
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
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of events held in total (for tests and metrics).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().live
    }

    /// Whether no event is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of event data held in total (for tests and metrics).
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.lock().total
    }

    /// Appends to `session` under the per-stream and per-session bounds.
    fn append_locked(&self, inner: &mut Inner, session: &str, event: StoredEvent, now: Instant) {
        let limits = self.limits;
        // Age out streams nobody wrote to for a while.
        while inner.sessions.get(session).is_some_and(|s| {
            s.streams
                .front()
                .is_some_and(|st| now.duration_since(st.last_write) > limits.max_age)
        }) {
            inner.evict_stream(session, 0);
        }
        let mut key = inner.session_key(session);
        let idx = inner.sessions[&key]
            .streams
            .iter()
            .position(|st| *st.id == *event.stream);
        if idx.is_none() && inner.sessions[&key].streams.len() >= limits.streams_per_session {
            inner.evict_stream(session, 0);
            key = inner.session_key(session);
        }
        let stamp = inner.next_stamp;
        inner.next_stamp += 1;
        let len = event.data.len();
        let Some(s) = inner.sessions.get_mut(&key) else {
            return;
        };
        let mut st = idx
            .and_then(|i| s.streams.remove(i))
            .unwrap_or_else(|| StreamEvents {
                id: Arc::from(event.stream.as_str()),
                events: VecDeque::new(),
                last_write: now,
                expires: None,
            });
        // Moved to the back: most recently written.
        st.last_write = now;
        st.events.push_back((stamp, event));
        let stream = st.id.clone();
        s.streams.push_back(st);
        s.bytes += len;
        let last = s.streams.len() - 1;
        inner.total += len;
        inner.live += 1;
        inner.order.push_back(OrderEntry {
            stamp,
            session: key.clone(),
            stream,
        });
        while inner.sessions.get(&key).is_some_and(|s| {
            s.streams
                .get(last)
                .is_some_and(|st| st.events.len() > limits.events_per_stream)
        }) {
            inner.pop_event(session, last);
        }
        // Over the session's budget: the oldest events of its least recently written streams.
        while inner
            .sessions
            .get(&key)
            .is_some_and(|s| s.bytes > limits.bytes_per_session)
        {
            if inner.pop_event(session, 0).is_none() {
                inner.evict_stream(session, 0);
            }
        }
    }
}

#[async_trait]
impl EventStore for InMemoryEventStore {
    async fn append(&self, session: &str, event: StoredEvent) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep_finished(now);
        self.append_locked(&mut inner, session, event, now);
        inner.enforce_total(self.limits.total_bytes);
        Ok(())
    }

    async fn events_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let mut inner = self.lock();
        inner.sweep_finished(Instant::now());
        let Some(s) = inner.sessions.get(session) else {
            return Ok(None);
        };
        Ok(s.streams.iter().find(|st| *st.id == *stream).map(|st| {
            st.events
                .iter()
                .filter(|(_, e)| e.seq > after)
                .map(|(_, e)| e.clone())
                .collect()
        }))
    }

    async fn finish_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let now = Instant::now();
        let ttl = self.limits.finished_stream_ttl;
        let mut inner = self.lock();
        inner.sweep_finished(now);
        let idx = inner
            .sessions
            .get(session)
            .and_then(|s| s.streams.iter().position(|st| *st.id == *stream));
        let Some(idx) = idx else {
            return Ok(());
        };
        if ttl.is_zero() {
            inner.evict_stream(session, idx);
            return Ok(());
        }
        let at = now + ttl;
        let Some((key, s)) = inner.sessions.get_key_value(session) else {
            return Ok(());
        };
        let (key, id) = (key.clone(), s.streams[idx].id.clone());
        if let Some(st) = inner
            .sessions
            .get_mut(session)
            .and_then(|s| s.streams.get_mut(idx))
        {
            st.expires = Some(at);
        }
        inner.finished.push_back((at, key, id));
        Ok(())
    }

    async fn remove_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let idx = inner
            .sessions
            .get(session)
            .and_then(|s| s.streams.iter().position(|st| *st.id == *stream));
        if let Some(idx) = idx {
            inner.evict_stream(session, idx);
        }
        Ok(())
    }

    async fn remove_session(&self, session: &str) -> Result<(), StoreError> {
        self.lock().remove_session(session);
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

    fn big(stream: &str, seq: u64, n: usize) -> StoredEvent {
        StoredEvent {
            stream: stream.into(),
            seq,
            data: Bytes::from(vec![b'x'; n]),
        }
    }

    #[tokio::test]
    async fn total_budget_is_shared_and_evicts_the_oldest_first() {
        let store = InMemoryEventStore::new(EventStoreLimits::default().total_bytes(1000));
        // Ten sessions, 100 bytes each: exactly the budget.
        for i in 0..10 {
            store
                .append(&format!("s{i}"), big("st", 1, 100))
                .await
                .unwrap();
        }
        assert_eq!(store.bytes(), 1000);
        // Session 10 writes 250 bytes: the three oldest events (s0, s1, s2) go.
        store.append("s10", big("st", 1, 250)).await.unwrap();
        assert_eq!(store.bytes(), 950);
        assert_eq!(store.len(), 8);
        for i in 0..3 {
            let got = store.events_after(&format!("s{i}"), "st", 0).await.unwrap();
            assert!(got.is_none_or(|v| v.is_empty()), "s{i} kept its event");
        }
        assert_eq!(
            store
                .events_after("s3", "st", 0)
                .await
                .unwrap()
                .unwrap()
                .len(),
            1
        );
        // Removing sessions gives the bytes back.
        for i in 3..=10 {
            store.remove_session(&format!("s{i}")).await.unwrap();
        }
        assert_eq!((store.bytes(), store.len()), (0, 0));
        assert!(store.lock().sessions.is_empty() || store.lock().live == 0);
    }

    #[tokio::test(start_paused = true)]
    async fn finished_streams_are_kept_only_for_the_resumption_window() {
        let store = InMemoryEventStore::new(
            EventStoreLimits::default().finished_stream_ttl(Duration::from_secs(30)),
        );
        store.append("s", ev("post", 1, "reply")).await.unwrap();
        store.append("s", ev("get", 1, "note")).await.unwrap();
        store.finish_stream("s", "post").await.unwrap();
        tokio::time::advance(Duration::from_secs(29)).await;
        // Still resumable inside the window.
        assert_eq!(
            store
                .events_after("s", "post", 0)
                .await
                .unwrap()
                .unwrap()
                .len(),
            1
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.events_after("s", "post", 0).await.unwrap(), None);
        // The unfinished stream stays.
        assert_eq!(
            store
                .events_after("s", "get", 0)
                .await
                .unwrap()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.bytes(), 4);
        // A zero window forgets a finished stream at once.
        let store = InMemoryEventStore::new(
            EventStoreLimits::default().finished_stream_ttl(Duration::ZERO),
        );
        store.append("s", ev("post", 1, "reply")).await.unwrap();
        store.finish_stream("s", "post").await.unwrap();
        assert!(store.is_empty());
    }

    /// Recomputes the counters from the contents.
    fn recount(store: &InMemoryEventStore) -> (usize, usize) {
        let inner = store.lock();
        let mut bytes = 0;
        let mut live = 0;
        for s in inner.sessions.values() {
            let sb: usize = s
                .streams
                .iter()
                .flat_map(|st| st.events.iter())
                .map(|(_, e)| e.data.len())
                .sum();
            assert_eq!(sb, s.bytes, "session byte counter");
            bytes += sb;
            live += s.streams.iter().map(|st| st.events.len()).sum::<usize>();
        }
        (bytes, live)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append(u8, u8, usize),
        Finish(u8, u8),
        RemoveStream(u8, u8),
        RemoveSession(u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (0u8..4, 0u8..4, 0usize..300).prop_map(|(a, b, n)| Op::Append(a, b, n)),
            1 => (0u8..4, 0u8..4).prop_map(|(a, b)| Op::Finish(a, b)),
            1 => (0u8..4, 0u8..4).prop_map(|(a, b)| Op::RemoveStream(a, b)),
            1 => (0u8..4).prop_map(Op::RemoveSession),
        ]
    }

    proptest::proptest! {
        /// Whatever the sequence of calls, the counters match the contents and every bound
        /// holds.
        #[test]
        fn counters_and_bounds_hold(ops in proptest::collection::vec(op(), 1..200)) {
            let limits = EventStoreLimits::default()
                .events_per_stream(5)
                .streams_per_session(3)
                .bytes_per_session(700)
                .total_bytes(1500)
                .finished_stream_ttl(Duration::ZERO);
            let store = InMemoryEventStore::new(limits);
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut seq = 0;
            for op in ops {
                rt.block_on(async {
                    match op {
                        Op::Append(s, st, n) => {
                            seq += 1;
                            store.append(&format!("s{s}"), big(&format!("t{st}"), seq, n)).await
                        }
                        Op::Finish(s, st) => store.finish_stream(&format!("s{s}"), &format!("t{st}")).await,
                        Op::RemoveStream(s, st) => store.remove_stream(&format!("s{s}"), &format!("t{st}")).await,
                        Op::RemoveSession(s) => store.remove_session(&format!("s{s}")).await,
                    }
                }).unwrap();
                let (bytes, live) = recount(&store);
                proptest::prop_assert_eq!(bytes, store.bytes());
                proptest::prop_assert_eq!(live, store.len());
                proptest::prop_assert!(bytes <= 1500);
                let inner = store.lock();
                proptest::prop_assert!(inner.order.len() <= 2 * inner.live + 64);
                for s in inner.sessions.values() {
                    proptest::prop_assert!(s.bytes <= 700);
                    proptest::prop_assert!(s.streams.len() <= 3);
                    proptest::prop_assert!(s.streams.iter().all(|st| st.events.len() <= 5));
                }
            }
        }
    }
}
