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
use crate::session::MessageSink;
use mcp_core::ErrorObject;
use mcp_core::jsonrpc::{Incoming, JsonRpcMessage, parse};
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
    let root = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut buf = Vec::new();
    tracing::info!(session = session.id(), "stdio transport started");

    let read_result = loop {
        while tasks.try_join_next().is_some() {}
        let line = match read_line(&mut reader, &mut buf, MAX_LINE_BYTES).await {
            Ok(l) => l,
            Err(e) => break Err(e),
        };
        match line {
            Line::Eof => break Ok(()),
            Line::TooLong => {
                tracing::warn!(limit = MAX_LINE_BYTES, "discarded an over-long input line");
                let err = ErrorObject::invalid_request(format!(
                    "message exceeds the {MAX_LINE_BYTES}-byte line limit"
                ));
                let _ = tx.send(Out::One(JsonRpcMessage::error(None, err)));
            }
            Line::Data => {
                let bytes = buf.strip_suffix(b"\r").unwrap_or(&buf);
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse(bytes) {
                    Err(e) => {
                        let _ = tx.send(Out::One(JsonRpcMessage::Error(e)));
                    }
                    // `initialize` runs inline so requests pipelined behind it see the session
                    // initialised; every other request runs concurrently.
                    Ok(Incoming::Single(msg))
                        if msg.is_request()
                            && msg.method() != Some(mcp_core::method::INITIALIZE) =>
                    {
                        let (server, session, tx, cancel) = (
                            server.clone(),
                            session.clone(),
                            tx.clone(),
                            root.child_token(),
                        );
                        tasks.spawn(async move {
                            let ex = Exchange {
                                session: Some(session),
                                cancel,
                                ..Exchange::default()
                            };
                            if let Some(m) = outcome_message(server.handle(msg, ex).await) {
                                let _ = tx.send(Out::One(m));
                            }
                        });
                    }
                    Ok(Incoming::Single(msg)) => {
                        let ex = Exchange {
                            session: Some(session.clone()),
                            cancel: root.child_token(),
                            ..Exchange::default()
                        };
                        if let Some(m) = outcome_message(server.handle(msg, ex).await) {
                            let _ = tx.send(Out::One(m));
                        }
                    }
                    Ok(Incoming::Batch(items)) => {
                        let (server, session, tx, cancel) =
                            (server.clone(), session.clone(), tx.clone(), root.clone());
                        tasks.spawn(async move {
                            let replies =
                                futures::future::join_all(items.into_iter().map(|item| {
                                    let (server, session, cancel) =
                                        (server.clone(), session.clone(), cancel.child_token());
                                    async move {
                                        match item {
                                            Err(e) => Some(JsonRpcMessage::Error(e)),
                                            Ok(msg) => {
                                                let ex = Exchange {
                                                    session: Some(session),
                                                    cancel,
                                                    ..Exchange::default()
                                                };
                                                outcome_message(server.handle(msg, ex).await)
                                            }
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
                }
            }
        }
    };

    // End of input: the client can no longer answer server→client requests.
    session.fail_pending();
    if !tasks.is_empty() {
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
            tracing::warn!("cancelling requests still running after end of input");
            root.cancel();
            while tasks.join_next().await.is_some() {}
        }
    }
    server.remove_session(session.id());
    drop(tx);
    let write_result = writer_task
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
    tracing::info!("stdio transport stopped");
    read_result.and(write_result)
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
