//! SSE streams ("hubs"): one task per live stream owns its sequence numbers, its event-store
//! writes and the connection currently attached to it, so ordering needs no locks.
//!
//! A hub receives [`HubCmd`]s: messages to send, `Close` (end the HTTP response now, keep
//! producing: the client resumes with `Last-Event-ID`), and `Attach` (a `GET` (re)connected:
//! replay what it missed from the event store, then continue live).

use bytes::Bytes;
use mcp_rs_core::jsonrpc::JsonRpcMessage;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event_store::{EventStore, StoredEvent, event_id};
use super::sse::{encode_event, priming_event};
use crate::session::MessageSink;

/// Capacity of the channel between a hub and the HTTP body it writes to.
pub(crate) const WRITER_CAPACITY: usize = 32;

/// A command for a hub.
pub(crate) enum HubCmd {
    /// Send a message on the stream (boxed: channel blocks hold 32 commands each).
    Message(Box<JsonRpcMessage>),
    /// End the attached HTTP response (the stream itself goes on).
    Close,
    /// A client (re)connected: replay events after `after` (or send a priming event when
    /// `None`), then write live events to `writer`.
    Attach {
        writer: mpsc::Sender<Bytes>,
        after: Option<u64>,
    },
}

/// The sending side of a hub: a [`MessageSink`] for the server core, and the handle the
/// transport uses to attach connections.
#[derive(Clone)]
pub(crate) struct HubSender(pub(crate) mpsc::UnboundedSender<HubCmd>);

impl MessageSink for HubSender {
    fn send(&self, msg: JsonRpcMessage) -> bool {
        self.0.send(HubCmd::Message(Box::new(msg))).is_ok()
    }
}

/// A session's standalone (`GET`) stream. Its task and channel are created on first use, so
/// a session that never opens a `GET` stream costs only this struct.
pub(crate) struct Standalone {
    pub(crate) id: Arc<str>,
    session: Arc<str>,
    store: Option<Arc<dyn EventStore>>,
    retry_ms: Option<u64>,
    tx: OnceLock<HubSender>,
}

impl Standalone {
    pub(crate) fn new(
        session: Arc<str>,
        store: Option<Arc<dyn EventStore>>,
        retry_ms: Option<u64>,
    ) -> Self {
        Standalone {
            id: new_stream_id(),
            session,
            store,
            retry_ms,
            tx: OnceLock::new(),
        }
    }

    /// The stream's hub, started on the first call (needs a Tokio runtime).
    pub(crate) fn hub(&self) -> &HubSender {
        self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let hub = Hub::new(
                self.id.clone(),
                Some(self.session.clone()),
                self.store.clone(),
                self.retry_ms,
            );
            tokio::spawn(run_standalone(hub, rx));
            HubSender(tx)
        })
    }
}

/// The session's outbound sink: messages for a standalone stream that was never opened are
/// dropped (`send` returns `false`): no client listens, and none could resume it.
pub(crate) struct StandaloneSink(pub(crate) Arc<Standalone>);

impl MessageSink for StandaloneSink {
    fn send(&self, msg: JsonRpcMessage) -> bool {
        self.0.tx.get().is_some_and(|h| h.send(msg))
    }
}

/// A random stream id: 16 lowercase hex characters.
pub(crate) fn new_stream_id() -> Arc<str> {
    Arc::from(format!("{:016x}", rand::random::<u64>()))
}

/// The state a hub task owns.
pub(crate) struct Hub {
    pub(crate) id: Arc<str>,
    session: Option<Arc<str>>,
    store: Option<Arc<dyn EventStore>>,
    retry_ms: Option<u64>,
    seq: u64,
    writer: Option<mpsc::Sender<Bytes>>,
}

impl Hub {
    /// A hub; resumable when both `session` and `store` are given.
    pub(crate) fn new(
        id: Arc<str>,
        session: Option<Arc<str>>,
        store: Option<Arc<dyn EventStore>>,
        retry_ms: Option<u64>,
    ) -> Self {
        let store = if session.is_some() { store } else { None };
        Hub {
            id,
            session,
            store,
            retry_ms,
            seq: 0,
            writer: None,
        }
    }

    pub(crate) fn is_resumable(&self) -> bool {
        self.store.is_some()
    }

    /// The priming event for a fresh connection: the current position and the retry hint.
    pub(crate) fn priming(&self) -> Option<Bytes> {
        if !self.is_resumable() {
            return None;
        }
        Some(priming_event(
            Some(&event_id(&self.id, self.seq)),
            self.retry_ms,
        ))
    }

    pub(crate) fn set_writer(&mut self, writer: Option<mpsc::Sender<Bytes>>) {
        self.writer = writer;
    }

    pub(crate) fn writer(&self) -> Option<&mpsc::Sender<Bytes>> {
        self.writer.as_ref()
    }

    /// Numbers, stores and sends one message.
    pub(crate) async fn publish(&mut self, msg: &JsonRpcMessage) {
        let data = Bytes::from(serde_json::to_vec(msg).unwrap_or_default());
        self.seq += 1;
        let id = match (&self.store, &self.session) {
            (Some(store), Some(session)) => {
                let event = StoredEvent {
                    stream: self.id.to_string(),
                    seq: self.seq,
                    data: data.clone(),
                };
                if let Err(e) = store.append(session, event).await {
                    tracing::warn!(target: "mcp_rs_server::http", error = %e, "event store append failed; event cannot be replayed");
                }
                Some(event_id(&self.id, self.seq))
            }
            _ => None,
        };
        let frame = encode_event(id.as_deref(), &data);
        if let Some(w) = &self.writer {
            if w.send(frame).await.is_err() {
                self.writer = None;
            }
        }
    }

    /// Replays the events after `after` (or sends a priming event) to `writer`, then makes it
    /// the attached connection (a previous one is dropped, which ends its response).
    pub(crate) async fn attach(&mut self, writer: mpsc::Sender<Bytes>, after: Option<u64>) {
        match after {
            None => {
                if let Some(p) = self.priming() {
                    if writer.send(p).await.is_err() {
                        return;
                    }
                }
            }
            Some(after) => {
                if let (Some(store), Some(session)) = (&self.store, &self.session) {
                    if let Ok(Some(events)) = store.events_after(session, &self.id, after).await {
                        for e in events {
                            if writer
                                .send(encode_event(Some(&e.event_id()), &e.data))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
            }
        }
        self.writer = Some(writer);
    }

    /// Tells the store the stream is complete: its events stay only for the resumption
    /// window.
    pub(crate) async fn finish(&self) {
        if let (Some(store), Some(session)) = (&self.store, &self.session) {
            if let Err(e) = store.finish_stream(session, &self.id).await {
                tracing::debug!(target: "mcp_rs_server::http", error = %e, "event store finish_stream failed");
            }
        }
    }

    async fn apply(&mut self, cmd: HubCmd) {
        match cmd {
            HubCmd::Message(m) => self.publish(&m).await,
            HubCmd::Close => self.writer = None,
            HubCmd::Attach { writer, after } => self.attach(writer, after).await,
        }
    }
}

/// Runs a session's standalone (`GET`) stream until every sender is gone.
pub(crate) async fn run_standalone(mut hub: Hub, mut rx: mpsc::UnboundedReceiver<HubCmd>) {
    while let Some(cmd) = rx.recv().await {
        hub.apply(cmd).await;
    }
}

/// Waits until the receiver of `writer` is dropped (the client went away); never resolves
/// when there is no writer.
async fn writer_closed(writer: Option<mpsc::Sender<Bytes>>) {
    match writer {
        Some(w) => w.closed().await,
        None => std::future::pending().await,
    }
}

/// Runs the stream of one POST: forwards related messages while `work` runs, then sends its
/// replies and ends. `pending` are commands received before the stream started.
///
/// When the stream is not resumable and the client goes away, `cancel` fires (nobody can
/// receive the result). A resumable stream keeps running: the client may come back.
pub(crate) async fn run_request<W>(
    mut hub: Hub,
    mut rx: mpsc::UnboundedReceiver<HubCmd>,
    pending: Vec<HubCmd>,
    work: W,
    cancel: CancellationToken,
    on_done: impl FnOnce(),
) where
    W: Future<Output = Vec<JsonRpcMessage>>,
{
    for cmd in pending {
        hub.apply(cmd).await;
    }
    tokio::pin!(work);
    let replies = loop {
        let watch = if hub.is_resumable() {
            None
        } else {
            hub.writer().cloned()
        };
        tokio::select! {
            biased;
            cmd = rx.recv() => match cmd {
                Some(cmd) => hub.apply(cmd).await,
                // Every sender is gone (the handler finished with its sink); wait for the work.
                None => break work.await,
            },
            replies = &mut work => break replies,
            () = writer_closed(watch) => {
                cancel.cancel();
                hub.set_writer(None);
            }
        }
    };
    // Messages emitted before the handler returned come first.
    while let Ok(cmd) = rx.try_recv() {
        hub.apply(cmd).await;
    }
    for reply in &replies {
        hub.publish(reply).await;
    }
    hub.finish().await;
    on_done();
    // Late attaches (a GET racing with the end) still get their replay.
    rx.close();
    while let Some(cmd) = rx.recv().await {
        hub.apply(cmd).await;
    }
}
