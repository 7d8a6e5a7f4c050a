//! `GET`: the session's standalone SSE stream; with `Last-Event-ID`, the missed events of that
//! stream (or of a POST stream that was cut) first.

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::mpsc;

use super::edge::{
    EdgeError, LAST_EVENT_ID, accepts, protocol_version_header, session_id_header, single_header,
    token_deadline,
};
use super::event_store::{StoredEvent, parse_event_id};
use super::sessions::{BusyGuard, HttpSession, Inner, lock};
use super::sse::{SseBody, encode_event, sse_response};
use super::streams::{HubCmd, WRITER_CAPACITY};
use crate::body::Body;

/// Where the events of a GET come from: replayed bytes first, then (unless the stream has
/// ended) a live writer attached to a hub.
struct Feed {
    prefix: VecDeque<Bytes>,
    live: Option<mpsc::Receiver<Bytes>>,
    /// The writer not yet attached to any hub.
    pending: Option<mpsc::Sender<Bytes>>,
}

impl Inner {
    pub(crate) async fn get(self: Arc<Self>, parts: Parts) -> Result<Response<Body>, EdgeError> {
        if !accepts(&parts).sse {
            return Err(EdgeError::rejection(
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable: the client must accept text/event-stream",
            ));
        }
        protocol_version_header(&parts, &self.versions)?;
        let Some(id) = session_id_header(&parts)? else {
            return Err(EdgeError::missing_session_id());
        };
        let hs = self.lookup(id, &parts).await?;
        hs.mark_used();
        let last = single_header(&parts, &LAST_EVENT_ID)?.and_then(parse_event_id);
        let (wtx, wrx) = mpsc::channel(WRITER_CAPACITY);
        let mut feed = Feed {
            prefix: VecDeque::new(),
            live: Some(wrx),
            pending: Some(wtx),
        };
        if let Some((stream, seq)) = last {
            self.resume(&hs, stream, seq, &mut feed).await;
        }
        if let Some(w) = feed.pending.take() {
            let attach = HubCmd::Attach {
                writer: w,
                after: None,
            };
            if hs.standalone.hub().0.send(attach).is_err() {
                return Err(EdgeError::session_not_found());
            }
        }
        let body = SseBody::new(
            feed.prefix,
            feed.live,
            self.config.keep_alive,
            token_deadline(&parts),
        )
        .with_guard(BusyGuard::new(&hs));
        Ok(sse_response(body))
    }

    /// Re-attaches the writer to the live stream `stream` after event `seq`; when that stream
    /// has ended, replays what the event store kept and ends the feed.
    async fn resume(&self, hs: &HttpSession, stream: &str, seq: u64, feed: &mut Feed) {
        let hub = if *stream == *hs.standalone.id {
            Some(hs.standalone.hub().clone())
        } else {
            lock(&hs.hubs).get(stream).cloned()
        };
        if let Some(hub) = hub {
            if let Some(w) = feed.pending.take() {
                let attach = HubCmd::Attach {
                    writer: w,
                    after: Some(seq),
                };
                if let Err(mpsc::error::SendError(HubCmd::Attach { writer, .. })) =
                    hub.0.send(attach)
                {
                    feed.pending = Some(writer);
                }
            }
        }
        if feed.pending.is_none() {
            return;
        }
        // The stream has ended: replay what the store kept, then end.
        let Some(store) = &self.config.event_store else {
            return;
        };
        if let Ok(Some(events)) = store.events_after(&hs.id, stream, seq).await {
            feed.prefix = events
                .iter()
                .map(|e: &StoredEvent| encode_event(Some(&e.event_id()), &e.data))
                .collect();
            feed.live = None;
            feed.pending = None;
        }
    }
}
