//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout.
//!
//! * one message (or batch) per line; lines longer than [`MAX_LINE_BYTES`] are discarded up
//!   to their newline and answered with a -32600 error (id `null`);
//! * requests run concurrently (one task each), except `initialize`, which completes before the
//!   next line is read; notifications and responses are handled in order, as they arrive;
//! * at end of input the server stops reading, lets running requests finish (for at most
//!   [`SHUTDOWN_GRACE`], then cancels them), flushes its output and returns;
//! * stdout carries protocol messages only: send logs to stderr.

use crate::server::{Exchange, Outcome, Server};
use crate::session::{MessageSink, Session};
use mcp_rs_core::ErrorObject;
use mcp_rs_core::jsonrpc::{Incoming, JsonRpcError, JsonRpcMessage, parse};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The longest accepted line: 4 MiB.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// How long running requests may continue after end of input.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Server {
    /// Serves this server over stdin/stdout until stdin closes. Logs must go to stderr.
    ///
    /// Implemented here, in the stdio transport, so that the server core never names a
    /// transport; [`serve`] does the same over any reader and writer.
    ///
    /// # Errors
    /// An I/O error reading stdin or writing stdout.
    pub async fn serve_stdio(self) -> Result<(), std::io::Error> {
        serve(self, tokio::io::stdin(), tokio::io::stdout()).await
    }
}

enum Out {
    One(JsonRpcMessage),
    Batch(Vec<JsonRpcMessage>),
}

struct StdioSink(mpsc::UnboundedSender<Out>);

impl MessageSink for StdioSink {
    fn send(&self, msg: JsonRpcMessage) -> bool {
        self.0.send(Out::One(msg)).is_ok()
    }
}

enum Line {
    Eof,
    TooLong,
    Data,
}

async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut seen_any = false;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (too_long, seen_any) {
                (true, _) => Line::TooLong,
                (false, false) => Line::Eof,
                (false, true) => Line::Data,
            });
        }
        seen_any = true;
        let (chunk, consumed, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
                buf.shrink_to(64 * 1024);
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        r.consume(consumed);
        if done {
            return Ok(if too_long { Line::TooLong } else { Line::Data });
        }
    }
}

fn outcome_message(outcome: Outcome) -> Option<JsonRpcMessage> {
    match outcome {
        Outcome::Reply(m) => Some(m),
        Outcome::NoReply => None,
        Outcome::Forbidden { id, required } => Some(JsonRpcMessage::error(
            Some(id),
            crate::McpError::insufficient_scope(required).to_error_object(),
        )),
    }
}

/// Serves `server` on `reader`/`writer` (stdin/stdout, or pipes in tests) until `reader`
/// reaches end of input.
///
/// # Errors
/// An I/O error reading input or writing output.
pub async fn serve<R, W>(server: Server, reader: R, writer: W) -> io::Result<()>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel::<Out>();
    let writer_task = tokio::spawn(write_loop(rx, writer));
    let sink: Arc<dyn MessageSink> = Arc::new(StdioSink(tx.clone()));
    let session = server.create_session(sink);
    let mut conn = Conn {
        server,
        session,
        tx,
        root: CancellationToken::new(),
        tasks: JoinSet::new(),
    };
    tracing::info!(session = conn.session.id(), "stdio transport started");
    let read_result = conn.read_loop(reader).await;
    conn.shutdown().await;
    let write_result = writer_task
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
    tracing::info!("stdio transport stopped");
    read_result.and(write_result)
}

/// One stdio connection: its session, its outgoing queue and the requests running on it.
struct Conn {
    server: Server,
    session: Arc<Session>,
    tx: mpsc::UnboundedSender<Out>,
    root: CancellationToken,
    tasks: JoinSet<()>,
}

impl Conn {
    /// Reads and dispatches lines until end of input or a read error.
    async fn read_loop<R: AsyncRead + Unpin>(&mut self, reader: R) -> io::Result<()> {
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let mut buf = Vec::new();
        loop {
            while self.tasks.try_join_next().is_some() {}
            match read_line(&mut reader, &mut buf, MAX_LINE_BYTES).await? {
                Line::Eof => return Ok(()),
                Line::TooLong => self.too_long(),
                Line::Data => {
                    let bytes = buf.strip_suffix(b"\r").unwrap_or(&buf);
                    if !bytes.iter().all(u8::is_ascii_whitespace) {
                        self.dispatch(bytes).await;
                    }
                }
            }
        }
    }

    fn send(&self, msg: JsonRpcMessage) {
        let _ = self.tx.send(Out::One(msg));
    }

    fn too_long(&self) {
        tracing::warn!(limit = MAX_LINE_BYTES, "discarded an over-long input line");
        let err = ErrorObject::invalid_request(format!(
            "message exceeds the {MAX_LINE_BYTES}-byte line limit"
        ));
        self.send(JsonRpcMessage::error(None, err));
    }

    /// Parses one line and answers it: `initialize` inline, so requests pipelined behind it
    /// see the session initialised; every other request (and each batch) concurrently.
    async fn dispatch(&mut self, bytes: &[u8]) {
        match parse(bytes) {
            Err(e) => self.send(JsonRpcMessage::Error(e)),
            Ok(Incoming::Single(msg))
                if msg.is_request() && msg.method() != Some(mcp_rs_core::method::INITIALIZE) =>
            {
                let (server, session, tx, cancel) = (
                    self.server.clone(),
                    self.session.clone(),
                    self.tx.clone(),
                    self.root.child_token(),
                );
                self.tasks.spawn(async move {
                    if let Some(m) = answer(&server, session, msg, cancel).await {
                        let _ = tx.send(Out::One(m));
                    }
                });
            }
            Ok(Incoming::Single(msg)) => {
                let cancel = self.root.child_token();
                if let Some(m) = answer(&self.server, self.session.clone(), msg, cancel).await {
                    self.send(m);
                }
            }
            Ok(Incoming::Batch(items)) => self.spawn_batch(items),
        }
    }

    /// Answers a batch in one task; its replies go out together as one JSON array.
    fn spawn_batch(&mut self, items: Vec<Result<JsonRpcMessage, JsonRpcError>>) {
        let (server, session, tx, cancel) = (
            self.server.clone(),
            self.session.clone(),
            self.tx.clone(),
            self.root.clone(),
        );
        self.tasks.spawn(async move {
            let replies = futures::future::join_all(items.into_iter().map(|item| {
                let (server, session, cancel) =
                    (server.clone(), session.clone(), cancel.child_token());
                async move {
                    match item {
                        Err(e) => Some(JsonRpcMessage::Error(e)),
                        Ok(msg) => answer(&server, session, msg, cancel).await,
                    }
                }
            }))
            .await;
            let replies: Vec<_> = replies.into_iter().flatten().collect();
            if !replies.is_empty() {
                let _ = tx.send(Out::Batch(replies));
            }
        });
    }

    /// End of input: the client can no longer answer server→client requests; running
    /// requests get [`SHUTDOWN_GRACE`] to finish, then are cancelled.
    async fn shutdown(mut self) {
        self.session.fail_pending();
        if !self.tasks.is_empty() {
            let tasks = &mut self.tasks;
            let drain = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
                tracing::warn!("cancelling requests still running after end of input");
                self.root.cancel();
                while self.tasks.join_next().await.is_some() {}
            }
        }
        self.server.remove_session(self.session.id());
        // Dropping `self` drops the last sender, so the writer drains and stops.
    }
}

/// Handles one message on `session`; the reply to send, if any.
async fn answer(
    server: &Server,
    session: Arc<Session>,
    msg: JsonRpcMessage,
    cancel: CancellationToken,
) -> Option<JsonRpcMessage> {
    let ex = Exchange {
        session: Some(session),
        cancel,
        ..Exchange::default()
    };
    outcome_message(server.handle(msg, ex).await)
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut writer: W,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(4096);
    while let Some(out) = rx.recv().await {
        line.clear();
        let written = match &out {
            Out::One(m) => serde_json::to_writer(&mut line, m),
            Out::Batch(ms) => serde_json::to_writer(&mut line, ms),
        };
        if let Err(e) = written {
            tracing::error!(error = %e, "could not serialise an outgoing message");
            continue;
        }
        line.push(b'\n');
        writer.write_all(&line).await?;
        // Flush once the queue is drained, so bursts cost one flush.
        if rx.is_empty() {
            writer.flush().await?;
        }
    }
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut r = BufReader::with_capacity(8, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut r, &mut buf, max).await.unwrap() {
                Line::Eof => return out,
                Line::TooLong => out.push("<too long>".to_owned()),
                Line::Data => out.push(String::from_utf8(buf.clone()).unwrap()),
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_and_drains_long_ones() {
        assert_eq!(lines(b"a\nbb\nccc", 10).await, vec!["a", "bb", "ccc"]);
        assert_eq!(
            lines(b"short\nthis line is too long\nok\n", 10).await,
            vec!["short", "<too long>", "ok"]
        );
        assert_eq!(
            lines(b"0123456789\n01234567890\n", 10).await,
            vec!["0123456789", "<too long>"]
        );
        assert_eq!(lines(b"", 10).await, Vec::<String>::new());
    }
}
