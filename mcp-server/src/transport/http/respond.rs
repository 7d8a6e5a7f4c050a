//! Response encoding of handshake-era requests: the answer of one request ([`Reply`]),
//! JSON batches, SSE streams fed by a hub task, and the [`StreamControl`] a handler uses to
//! end its stream early.

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use mcp_rs_core::ErrorObject;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::edge::{json_bytes_response, token_deadline};
use super::sessions::{BusyGuard, HttpSession, Inner, lock};
use super::sse::{SseBody, sse_response};
use super::streams::{Hub, HubCmd, HubSender, WRITER_CAPACITY, new_stream_id, run_request};
use crate::body::Body;
use crate::scope::ScopeRequirement;
use crate::server::Outcome;

/// Control over the SSE stream that carries the current request's messages.
///
/// The transport puts one into the extensions of the HTTP request parts each handler sees
/// (`ctx.http_parts()`). A long-running handler can end the HTTP response early with
/// [`close_stream`](Self::close_stream) (SEP-1699 "polling"): the client reconnects with
/// `GET` and `Last-Event-ID` and receives the rest, including the result.
///
/// ```no_run
/// # async fn handler(ctx: mcp_rs_server::RequestContext) {
/// use mcp_rs_server::transport::http::StreamControl;
/// if let Some(control) = ctx.http_parts().and_then(|p| p.extensions.get::<StreamControl>()) {
///     control.close_stream();
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct StreamControl {
    pub(crate) tx: Option<mpsc::UnboundedSender<HubCmd>>,
}

impl fmt::Debug for StreamControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamControl")
            .field("resumable", &self.is_resumable())
            .finish()
    }
}

impl StreamControl {
    /// Whether the stream can be closed and resumed (a stateful session with an event store,
    /// and SSE responses enabled).
    #[must_use]
    pub fn is_resumable(&self) -> bool {
        self.tx.is_some()
    }

    /// Ends the HTTP response carrying this request's stream now (after its priming event);
    /// later messages and the result are kept for the client's reconnection. Returns `false`
    /// (and does nothing) when the stream is not resumable, since the result would be lost.
    pub fn close_stream(&self) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send(HubCmd::Close).is_ok())
    }
}

/// One answer of the core to one incoming request.
pub(crate) enum Reply {
    Message(JsonRpcMessage),
    Forbidden {
        id: RequestId,
        required: ScopeRequirement,
    },
}

impl Reply {
    /// The answer to a dispatch outcome (`None` for a message that gets none).
    pub(crate) fn from_outcome(outcome: Outcome) -> Option<Reply> {
        match outcome {
            Outcome::Reply(m) => Some(Reply::Message(m)),
            Outcome::NoReply => None,
            Outcome::Forbidden { id, required } => Some(Reply::Forbidden { id, required }),
        }
    }

    /// The reply as a message, for bodies that cannot carry an HTTP status (SSE, batches).
    pub(crate) fn into_message(self) -> JsonRpcMessage {
        match self {
            Reply::Message(m) => m,
            Reply::Forbidden { id, required } => JsonRpcMessage::error(
                Some(id),
                ErrorObject::invalid_params(format!(
                    "insufficient scope: requires {}",
                    required.to_space_separated()
                )),
            ),
        }
    }
}

/// The handlers of one POST, answering when all are done.
pub(crate) type Work = Pin<Box<dyn Future<Output = Vec<Reply>> + Send>>;

/// A JSON array of messages.
pub(crate) fn batch_response(status: StatusCode, messages: Vec<JsonRpcMessage>) -> Response<Body> {
    json_bytes_response(
        status,
        Bytes::from(serde_json::to_vec(&messages).unwrap_or_default()),
    )
}

/// The hub sender stored in the request's [`StreamControl`] (present when resumable).
fn related_sender(parts: &Parts) -> mpsc::UnboundedSender<HubCmd> {
    match parts
        .extensions
        .get::<StreamControl>()
        .and_then(|c| c.tx.clone())
    {
        Some(tx) => tx,
        // Not resumable: nothing can attach; a closed channel makes attaches fail fast.
        None => mpsc::unbounded_channel().0,
    }
}

impl Inner {
    /// Answers a POST with an SSE stream fed by a hub task: `first` (the first message the
    /// handlers emitted), the rest of `rx`, then the replies of `work`.
    pub(crate) fn stream_response(
        self: &Arc<Self>,
        hs: Option<Arc<HttpSession>>,
        parts: Arc<Parts>,
        rx: mpsc::UnboundedReceiver<HubCmd>,
        first: HubCmd,
        work: Work,
        cancel: CancellationToken,
    ) -> Response<Body> {
        let stream_id = new_stream_id();
        let mut hub = Hub::new(
            stream_id.clone(),
            hs.as_ref().map(|h| h.id.clone()),
            self.config.event_store.clone(),
            self.config.sse_retry_ms,
        );
        let (wtx, wrx) = mpsc::channel(WRITER_CAPACITY);
        let prefix: VecDeque<Bytes> = hub.priming().into_iter().collect();
        hub.set_writer(Some(wtx));
        // Register the stream so a GET with `Last-Event-ID` can re-attach to it.
        let on_done = {
            let hs = hs.clone();
            let stream_id = stream_id.clone();
            move || {
                if let Some(hs) = hs {
                    lock(&hs.hubs).remove(&stream_id);
                }
            }
        };
        if let Some(h) = &hs {
            if hub.is_resumable() {
                // The work's sinks hold senders too; this one lets GET reach the hub.
                // It is removed in `on_done`.
                lock(&h.hubs).insert(stream_id.clone(), HubSender(related_sender(&parts)));
            }
        }
        let busy = hs.as_deref().map(BusyGuard::new);
        let work = async move {
            let replies = work.await;
            replies
                .into_iter()
                .map(Reply::into_message)
                .collect::<Vec<_>>()
        };
        tokio::spawn(async move {
            run_request(hub, rx, vec![first], work, cancel, on_done).await;
            drop(busy);
        });
        let mut body = SseBody::new(
            prefix,
            Some(wrx),
            self.config.keep_alive,
            token_deadline(&parts),
        );
        if let Some(h) = &hs {
            body = body.with_guard(BusyGuard::new(h));
        }
        sse_response(body)
    }
}
