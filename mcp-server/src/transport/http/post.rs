//! `POST`: JSON-RPC messages in; JSON, SSE or 202 out.
//!
//! The steps: the request edge (Content-Type, body cap, JSON parsing), the era
//! ([`classify`](crate::protocol::classify::classify): 2026-07-28 messages go to the
//! [stateless leg](super::stateless)), the handshake-era checks (Accept, batch rules,
//! `MCP-Protocol-Version`), the session, then the handlers, answered as JSON or as an SSE
//! stream as soon as they emit something on the way.

use bytes::Bytes;
use futures::future::join_all;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::jsonrpc::{Incoming, JsonRpcMessage};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::challenge::forbidden_response;
use super::edge::{
    EdgeError, MCP_SESSION_ID, accepts, empty_response, is_json_content_type, json_response,
    protocol_version_header, read_body, session_id_header,
};
use super::respond::{Reply, StreamControl, Work, batch_response};
use super::run::handle_with_timeout;
use super::sessions::{BusyGuard, HttpSession, Inner, SessionRoute};
use super::streams::{HubCmd, HubSender, StandaloneSink};
use crate::body::{Body, BoxError};
use crate::protocol::Route;
use crate::server::Exchange;
use crate::session::MessageSink;
use crate::session::Session;

/// The messages of one POST body.
struct Batch {
    messages: Vec<JsonRpcMessage>,
    /// Error responses for the entries of a batch that are not JSON-RPC messages.
    invalid: Vec<JsonRpcMessage>,
    is_batch: bool,
}

impl Batch {
    /// Splits a parsed body; a batch over `max` messages is refused with 400.
    fn split(incoming: Incoming, max: usize) -> Result<Batch, EdgeError> {
        let items = match incoming {
            Incoming::Single(m) => {
                return Ok(Batch {
                    messages: vec![m],
                    invalid: Vec::new(),
                    is_batch: false,
                });
            }
            Incoming::Batch(items) => items,
        };
        if items.len() > max {
            return Err(EdgeError::bad_request(format!(
                "Bad Request: batch of {} messages exceeds the limit of {max}",
                items.len(),
            )));
        }
        let mut messages = Vec::with_capacity(items.len());
        let mut invalid = Vec::new();
        for item in items {
            match item {
                Ok(m) => messages.push(m),
                Err(e) => invalid.push(JsonRpcMessage::Error(e)),
            }
        }
        Ok(Batch {
            messages,
            invalid,
            is_batch: true,
        })
    }

    fn has_initialize(&self) -> bool {
        self.messages
            .iter()
            .any(|m| matches!(m, JsonRpcMessage::Request(r) if r.method == "initialize"))
    }
}

/// How the first phase of answering requests ended.
enum First {
    Done(Vec<Reply>),
    Stream(HubCmd),
}

/// The answer once the first phase is over: the replies for a JSON body, or the SSE
/// response already under way.
enum Phase {
    Done(Vec<Reply>),
    Streamed(Response<Body>),
}

/// The exchange of one message of this POST.
fn exchange(
    session: Option<&Arc<Session>>,
    related: Option<Arc<dyn MessageSink>>,
    parts: &Arc<Parts>,
    cancel: CancellationToken,
) -> Exchange {
    Exchange {
        session: session.cloned(),
        related,
        http: Some(parts.clone()),
        cancel,
        ..Exchange::default()
    }
}

impl Inner {
    pub(crate) async fn post<B>(
        self: Arc<Self>,
        parts: Parts,
        body: B,
    ) -> Result<Response<Body>, EdgeError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if !is_json_content_type(&parts) {
            return Err(EdgeError::rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type: Content-Type must be application/json",
            ));
        }
        let bytes = read_body(&parts, body, self.config.max_body_bytes).await?;
        let incoming = mcp_rs_core::jsonrpc::parse(&bytes)
            .map_err(|e| EdgeError::new(StatusCode::BAD_REQUEST, e.error).with_id(e.id))?;
        drop(bytes);

        // Which era: 2026-07-28 messages take the stateless leg (its own Accept check).
        match crate::protocol::classify::classify(
            &parts.headers,
            &incoming,
            self.server.protocol_options(),
        ) {
            Err(r) => return Err(EdgeError::new(r.status, r.error).with_id(r.id)),
            Ok(Route::Stateless) => {
                let Incoming::Single(msg) = incoming else {
                    return Err(EdgeError::bad_request(
                        "Invalid Request: JSON-RPC batches are not allowed in protocol version 2026-07-28",
                    ));
                };
                return Ok(super::stateless::handle(&self.server, &self.config, parts, msg).await);
            }
            Ok(_) => {}
        }

        // Errors from here on name the request they refuse.
        let req_id = match &incoming {
            Incoming::Single(JsonRpcMessage::Request(r)) => Some(r.id.clone()),
            _ => None,
        };
        self.handshake(parts, incoming)
            .await
            .map_err(|e| match e.id {
                Some(_) => e,
                None => e.with_id(req_id),
            })
    }

    /// A handshake-era POST: the checks of its era, the session, then the handlers.
    async fn handshake(
        self: Arc<Self>,
        parts: Parts,
        incoming: Incoming,
    ) -> Result<Response<Body>, EdgeError> {
        let acc = accepts(&parts);
        if !acc.json || !(acc.sse || self.config.json_response) {
            return Err(EdgeError::rejection(
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable: the client must accept both application/json and text/event-stream",
            ));
        }
        let session_header = session_id_header(&parts)?.map(str::to_owned);
        let batch = Batch::split(incoming, self.config.max_batch)?;
        let is_initialize = batch.has_initialize();
        if is_initialize && batch.is_batch {
            return Err(EdgeError::bad_request(
                "Invalid Request: initialize must not be part of a JSON-RPC batch",
            ));
        }
        if !is_initialize {
            let version = protocol_version_header(&parts, &self.versions)?;
            if batch.is_batch && version >= ProtocolVersion::V2025_06_18 {
                return Err(EdgeError::bad_request(format!(
                    "Invalid Request: JSON-RPC batches are not supported in protocol version {version}"
                )));
            }
        }
        let route = self
            .route(&parts, is_initialize, session_header.as_deref())
            .await?;
        let _busy = route.session.as_deref().map(BusyGuard::new);
        if !batch.messages.iter().any(JsonRpcMessage::is_request) {
            return Ok(self.deliver(parts, route.session.as_ref(), batch).await);
        }
        if let Some(hs) = route.session.as_ref().filter(|_| !route.created) {
            hs.mark_used();
        }
        self.answer_requests(parts, route, batch, is_initialize)
            .await
    }

    /// Notifications and responses (answers to server→client requests): no reply, 202
    /// (400 with the error responses of a batch's invalid entries).
    async fn deliver(
        &self,
        parts: Parts,
        hs: Option<&Arc<HttpSession>>,
        batch: Batch,
    ) -> Response<Body> {
        let session = hs.map(|h| h.session.clone());
        let parts = Arc::new(parts);
        for m in batch.messages {
            if session.as_ref().is_some_and(|s| self.forward(s, &m)) {
                continue;
            }
            let ex = exchange(session.as_ref(), None, &parts, CancellationToken::new());
            let _ = self.server.handle(m, ex).await;
        }
        if batch.invalid.is_empty() {
            return empty_response(StatusCode::ACCEPTED);
        }
        batch_response(StatusCode::BAD_REQUEST, batch.invalid)
    }

    /// Runs the requests of a POST. Related messages go to the request's own stream (unless
    /// JSON responses are preferred: then to the session's standalone stream).
    async fn answer_requests(
        self: Arc<Self>,
        mut parts: Parts,
        route: SessionRoute,
        batch: Batch,
        is_initialize: bool,
    ) -> Result<Response<Body>, EdgeError> {
        let SessionRoute {
            session: hs,
            created,
        } = route;
        let session = hs.as_ref().map(|h| h.session.clone());
        let json_only = self.config.json_response;
        let resumable = session.is_some() && self.config.event_store.is_some();
        let (tx, rx) = mpsc::unbounded_channel::<HubCmd>();
        let related: Option<Arc<dyn MessageSink>> = if json_only {
            hs.as_ref()
                .map(|h| Arc::new(StandaloneSink(h.standalone.clone())) as Arc<dyn MessageSink>)
        } else {
            Some(Arc::new(HubSender(tx.clone())))
        };
        let control = StreamControl {
            tx: (resumable && !json_only && !is_initialize).then(|| tx.clone()),
        };
        drop(tx);
        parts.extensions.insert(control);
        let parts = Arc::new(parts);
        let cancel = session
            .as_ref()
            .map(|s| s.closed_token().child_token())
            .unwrap_or_default();
        let is_batch = batch.is_batch;
        let work = self
            .clone()
            .work(session, related, parts.clone(), cancel.clone(), batch);
        let phase = self
            .first_phase(hs.clone(), parts.clone(), rx, work, cancel, is_initialize)
            .await;
        match phase {
            Phase::Streamed(res) => Ok(res),
            Phase::Done(replies) => {
                self.json_answer(hs, created, &parts, replies, is_batch)
                    .await
            }
        }
    }

    /// The handlers of the POST's requests, run concurrently; the replies in message order,
    /// then the error responses of invalid batch entries.
    fn work(
        self: Arc<Self>,
        session: Option<Arc<Session>>,
        related: Option<Arc<dyn MessageSink>>,
        parts: Arc<Parts>,
        cancel: CancellationToken,
        batch: Batch,
    ) -> Work {
        Box::pin(async move {
            let timeout = self.config.handler_timeout;
            let run = |m: JsonRpcMessage| {
                let ex = exchange(session.as_ref(), related.clone(), &parts, cancel.clone());
                let this = &self;
                let cancel = cancel.clone();
                let session = session.clone();
                async move {
                    let save = this.config.session_store.is_some()
                        && super::cluster::changes_session_state(&m);
                    let outcome = handle_with_timeout(&this.server, m, ex, timeout, &cancel).await;
                    if let Some(s) = session.as_deref().filter(|_| save) {
                        this.save_session_state(s).await;
                    }
                    Reply::from_outcome(outcome)
                }
            };
            let Batch {
                messages, invalid, ..
            } = batch;
            let mut replies: Vec<Reply> = if messages.len() == 1 {
                match messages.into_iter().next() {
                    Some(m) => run(m).await.into_iter().collect(),
                    None => Vec::new(),
                }
            } else {
                join_all(messages.into_iter().map(run))
                    .await
                    .into_iter()
                    .flatten()
                    .collect()
            };
            replies.extend(invalid.into_iter().map(Reply::Message));
            replies
        })
    }

    /// Waits for the handlers or their first emitted message, whichever comes first: a
    /// message switches the answer to SSE (never for `initialize`, which is always JSON).
    async fn first_phase(
        self: &Arc<Self>,
        hs: Option<Arc<HttpSession>>,
        parts: Arc<Parts>,
        mut rx: mpsc::UnboundedReceiver<HubCmd>,
        mut work: Work,
        cancel: CancellationToken,
        is_initialize: bool,
    ) -> Phase {
        // A client that goes away while we wait for a JSON answer cancels the request.
        let cancel_on_drop = cancel.clone().drop_guard();
        let first = if is_initialize {
            First::Done(work.as_mut().await)
        } else {
            tokio::select! {
                biased;
                replies = work.as_mut() => First::Done(replies),
                Some(cmd) = rx.recv() => First::Stream(cmd),
            }
        };
        cancel_on_drop.disarm();
        match first {
            First::Done(replies) if is_initialize => Phase::Done(replies),
            First::Done(replies) => match rx.try_recv() {
                // Finished, but emitted messages on the way: they go first, on a stream.
                Ok(cmd) => {
                    let done: Work = Box::pin(async move { replies });
                    Phase::Streamed(self.stream_response(hs, parts, rx, cmd, done, cancel))
                }
                Err(_) => Phase::Done(replies),
            },
            First::Stream(cmd) => {
                Phase::Streamed(self.stream_response(hs, parts, rx, cmd, work, cancel))
            }
        }
    }

    /// The JSON answer: a batch array, one message (registering a session created by a
    /// successful `initialize`, whose id then goes out in `Mcp-Session-Id`), a 403 scope
    /// challenge, or 202.
    async fn json_answer(
        self: &Arc<Self>,
        hs: Option<Arc<HttpSession>>,
        created: bool,
        parts: &Parts,
        replies: Vec<Reply>,
        is_batch: bool,
    ) -> Result<Response<Body>, EdgeError> {
        let mut registered = false;
        let mut res = if is_batch {
            let messages = replies.into_iter().map(Reply::into_message).collect();
            batch_response(StatusCode::OK, messages)
        } else {
            match replies.into_iter().next() {
                Some(Reply::Message(m)) => {
                    if created {
                        registered = self.finish_initialize(hs.as_ref(), &m).await?;
                    }
                    json_response(StatusCode::OK, &m)
                }
                Some(Reply::Forbidden { required, .. }) => forbidden_response(parts, &required),
                None => empty_response(StatusCode::ACCEPTED),
            }
        };
        if let Some(hs) = hs.as_ref().filter(|_| created) {
            if registered {
                if let Ok(v) = HeaderValue::from_str(&hs.id) {
                    res.headers_mut().insert(MCP_SESSION_ID, v);
                }
            } else {
                // No successful `initialize` answer: the session never existed.
                self.discard(hs);
            }
        }
        Ok(res)
    }
}
