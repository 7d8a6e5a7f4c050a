//! Server-Sent Events: the encoder and the streaming response body.
//!
//! Each event is `id: <id>\ndata: <one JSON-RPC message>\n\n`. Every stream opens with a
//! *priming* event (an id, `retry: <ms>`, empty data) so that a client can resume it with
//! `Last-Event-ID` even before the first real event; idle streams get `: keep-alive` comments.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body::{Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use crate::body::Body;

/// The comment sent on idle streams.
pub(crate) const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// Encodes one event. `data` is written as one `data:` line per line of input (JSON produced
/// by serde has none, but user-supplied bytes might).
pub(crate) fn encode_event(id: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 32);
    if let Some(id) = id {
        out.put_slice(b"id: ");
        out.put_slice(id.as_bytes());
        out.put_u8(b'\n');
    }
    if data.is_empty() {
        out.put_slice(b"data: \n");
    } else {
        for line in data.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            out.put_slice(b"data: ");
            out.put_slice(line);
            out.put_u8(b'\n');
        }
    }
    out.put_u8(b'\n');
    out.freeze()
}

/// The priming event: an id, an optional `retry:` hint, empty data.
pub(crate) fn priming_event(id: Option<&str>, retry_ms: Option<u64>) -> Bytes {
    let mut s = String::with_capacity(48);
    if let Some(id) = id {
        s.push_str("id: ");
        s.push_str(id);
        s.push('\n');
    }
    if let Some(ms) = retry_ms {
        s.push_str("retry: ");
        s.push_str(&ms.to_string());
        s.push('\n');
    }
    s.push_str("data: \n\n");
    Bytes::from(s)
}

/// An SSE response body: first the queued `prefix` events, then whatever arrives on `rx`,
/// with keep-alive comments while idle. It ends when `rx` closes or at `deadline` (the expiry
/// of the caller's access token).
pub(crate) struct SseBody {
    prefix: VecDeque<Bytes>,
    rx: Option<mpsc::Receiver<Bytes>>,
    keep_alive: Option<(Duration, Pin<Box<Sleep>>)>,
    deadline: Option<Pin<Box<Sleep>>>,
    _guard: Option<Box<dyn Send + Sync>>,
}

impl SseBody {
    pub(crate) fn new(
        prefix: VecDeque<Bytes>,
        rx: Option<mpsc::Receiver<Bytes>>,
        keep_alive: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Self {
        SseBody {
            prefix,
            rx,
            keep_alive: keep_alive.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            _guard: None,
        }
    }

    /// Keeps `guard` alive as long as the body (its `Drop` marks the end of the stream).
    pub(crate) fn with_guard(mut self, guard: impl Send + Sync + 'static) -> Self {
        self._guard = Some(Box::new(guard));
        self
    }

    fn reset_keep_alive(&mut self) {
        if let Some((interval, sleep)) = &mut self.keep_alive {
            sleep.as_mut().reset(Instant::now() + *interval);
        }
    }
}

impl http_body::Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if let Some(deadline) = &mut this.deadline {
            if deadline.as_mut().poll(cx).is_ready() {
                this.prefix.clear();
                this.rx = None;
                return Poll::Ready(None);
            }
        }
        if let Some(event) = this.prefix.pop_front() {
            this.reset_keep_alive();
            return Poll::Ready(Some(Ok(Frame::data(event))));
        }
        let Some(rx) = &mut this.rx else {
            return Poll::Ready(None);
        };
        match rx.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                this.reset_keep_alive();
                return Poll::Ready(Some(Ok(Frame::data(event))));
            }
            Poll::Ready(None) => {
                this.rx = None;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if let Some((interval, sleep)) = &mut this.keep_alive {
            if sleep.as_mut().poll(cx).is_ready() {
                let next = Instant::now() + *interval;
                sleep.as_mut().reset(next);
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                    KEEP_ALIVE_COMMENT,
                )))));
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.rx.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A `200 text/event-stream` response around `body`.
pub(crate) fn sse_response(body: SseBody) -> Response<Body> {
    let mut res = Response::new(Body::new(body));
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Ask buffering reverse proxies (nginx) to pass events through at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn event_encoding() {
        assert_eq!(
            &encode_event(Some("s-1"), br#"{"a":1}"#)[..],
            b"id: s-1\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(&encode_event(None, b"x\ny")[..], b"data: x\ndata: y\n\n");
        assert_eq!(
            &priming_event(Some("s-0"), Some(500))[..],
            b"id: s-0\nretry: 500\ndata: \n\n"
        );
        assert_eq!(&priming_event(None, None)[..], b"data: \n\n");
    }

    #[tokio::test(start_paused = true)]
    async fn body_sends_prefix_live_events_and_keep_alives() {
        let (tx, rx) = mpsc::channel(4);
        let mut body = SseBody::new(
            VecDeque::from([Bytes::from_static(b"first\n\n")]),
            Some(rx),
            Some(Duration::from_secs(10)),
            None,
        );
        let f = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&f[..], b"first\n\n");
        // Nothing arrives: after the interval, a keep-alive comment.
        let f = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&f[..], KEEP_ALIVE_COMMENT);
        tx.send(Bytes::from_static(b"live\n\n")).await.unwrap();
        let f = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&f[..], b"live\n\n");
        drop(tx);
        assert!(body.frame().await.is_none());
        assert!(http_body::Body::is_end_stream(&body));
    }

    #[tokio::test(start_paused = true)]
    async fn body_ends_at_deadline() {
        let (_tx, rx) = mpsc::channel(4);
        let mut body = SseBody::new(
            VecDeque::new(),
            Some(rx),
            None,
            Some(Instant::now() + Duration::from_secs(30)),
        );
        assert!(body.frame().await.is_none());
    }
}
