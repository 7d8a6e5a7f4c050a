//! Measurement helper for `bench/run.sh`: waits for servers, opens sessions,
//! makes single checked calls and measures start-up time.
//!
//! ```text
//! bench-probe wait URL [--timeout-ms N]          wait until the port accepts connections
//! bench-probe init URL [--bearer T]               initialize + notifications/initialized; prints the session id
//! bench-probe call URL --mode M [--session ID] [--bearer T]
//!                                                 one checked tools/call sum(1,2); prints the reply body
//! bench-probe sessions URL COUNT [--bearer T]    opens COUNT idle sessions on one keep-alive connection
//! bench-probe startup URL -- CMD [ARGS...]       spawns CMD, prints ms until the first answered initialize
//! ```
//! Modes: `session` (needs `--session`), `stateless` (handshake era, no session), `v2026`
//! (2026-07-28 `_meta` envelope with `Mcp-Method`/`Mcp-Name`), `sse` (session + a
//! `progressToken`; the reply must be an SSE stream). Exit status 1 on any wrong reply.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Protocol version used for the handshake-era requests.
const HANDSHAKE_VERSION: &str = "2025-11-25";
/// Protocol version of the stateless era.
const STATELESS_VERSION: &str = "2026-07-28";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// `http://host:port/path`, parsed.
#[derive(Clone)]
struct Target {
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("only http:// URLs are supported, got {url:?}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("no host in {url:?}").into());
        }
        Ok(Self {
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    target: Target,
    sender: SendRequest<Full<Bytes>>,
}

/// A reply, fully read.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Conn {
    async fn open(target: &Target) -> Result<Self, Error> {
        let stream = TcpStream::connect(&target.authority).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            target: target.clone(),
            sender,
        })
    }

    async fn post(&mut self, headers: &[(&str, &str)], body: String) -> Result<Reply, Error> {
        let mut req = Request::post(&self.target.path)
            .header(http::header::HOST, &self.target.authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, text/event-stream");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout(Duration::from_secs(30), body.collect())
            .await
            .map_err(|_| "timed out reading the reply body")??
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// The JSON-RPC message in a reply: the body itself, or the last `data:` line
/// carrying a JSON-RPC message of an SSE stream.
fn json_of(reply: &Reply) -> Result<serde_json::Value, Error> {
    let text = std::str::from_utf8(&reply.body)?;
    let is_sse = reply
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        return Ok(serde_json::from_str(text)?);
    }
    let mut found = None;
    for line in text.lines() {
        if let Some(data) = line.strip_prefix("data:") {
            let data = data.trim();
            if data.contains("\"jsonrpc\"") {
                found = Some(serde_json::from_str(data)?);
            }
        }
    }
    found.ok_or_else(|| format!("no JSON-RPC message in the SSE reply: {text:?}").into())
}

fn auth_header(bearer: Option<&str>) -> Option<String> {
    bearer.map(|t| format!("Bearer {t}"))
}

fn initialize_body(id: u64) -> String {
    serde_json::json!({
        "jsonrpc": "2.0", "id": id, "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench-probe", "version": "1.0.0"}
        }
    })
    .to_string()
}

/// initialize + notifications/initialized; returns the session id, if any.
async fn open_session(
    conn: &mut Conn,
    bearer: Option<&str>,
    id: u64,
) -> Result<Option<String>, Error> {
    let auth = auth_header(bearer);
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    let reply = conn.post(&headers, initialize_body(id)).await?;
    if reply.status != StatusCode::OK {
        return Err(format!(
            "initialize: HTTP {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
        .into());
    }
    let msg = json_of(&reply)?;
    if msg
        .get("result")
        .and_then(|r| r.get("protocolVersion"))
        .is_none()
    {
        return Err(format!("initialize: not an InitializeResult: {msg}").into());
    }
    let session = reply
        .headers
        .get("mcp-session-id")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()?;
    let mut headers = headers.clone();
    headers.push(("mcp-protocol-version", HANDSHAKE_VERSION));
    if let Some(s) = &session {
        headers.push(("mcp-session-id", s));
    }
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned();
    let reply = conn.post(&headers, note).await?;
    if reply.status != StatusCode::ACCEPTED {
        return Err(format!(
            "notifications/initialized: HTTP {} (want 202)",
            reply.status
        )
        .into());
    }
    Ok(session)
}

/// The `tools/call` request of the benchmark in the given mode.
fn call_request(mode: &str, id: u64) -> Result<String, Error> {
    let mut params = serde_json::json!({"name": "sum", "arguments": {"a": 1, "b": 2}});
    match mode {
        "session" | "stateless" => {}
        "sse" => params["_meta"] = serde_json::json!({"progressToken": id}),
        "v2026" => {
            params["_meta"] = serde_json::json!({
                "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
                "io.modelcontextprotocol/clientInfo": {"name": "bench-probe", "version": "1.0.0"},
                "io.modelcontextprotocol/clientCapabilities": {}
            });
        }
        other => {
            return Err(format!("unknown mode {other:?} (session|sse|stateless|v2026)").into());
        }
    }
    Ok(
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
            .to_string(),
    )
}

async fn call(
    conn: &mut Conn,
    mode: &str,
    session: Option<&str>,
    bearer: Option<&str>,
) -> Result<Reply, Error> {
    let auth = auth_header(bearer);
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    match mode {
        "session" | "sse" => {
            let s = session.ok_or("--mode session/sse needs --session ID")?;
            headers.push(("mcp-session-id", s));
            headers.push(("mcp-protocol-version", HANDSHAKE_VERSION));
        }
        "stateless" => headers.push(("mcp-protocol-version", HANDSHAKE_VERSION)),
        _ => {
            headers.push(("mcp-protocol-version", STATELESS_VERSION));
            headers.push(("mcp-method", "tools/call"));
            headers.push(("mcp-name", "sum"));
        }
    }
    let id = 7;
    let reply = conn.post(&headers, call_request(mode, id)?).await?;
    if reply.status != StatusCode::OK {
        return Err(format!(
            "tools/call: HTTP {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
        .into());
    }
    let streamed = reply
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if mode == "sse" && !streamed {
        return Err("tools/call: --mode sse wants a text/event-stream reply".into());
    }
    let msg = json_of(&reply)?;
    let text = msg
        .pointer("/result/content/0/text")
        .and_then(serde_json::Value::as_str);
    let is_error = msg
        .pointer("/result/isError")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    if msg.get("id") != Some(&serde_json::json!(id)) || text != Some("3") || is_error {
        return Err(format!("tools/call: wrong reply {msg}").into());
    }
    Ok(reply)
}

/// Flags shared by the subcommands.
#[derive(Default)]
struct Flags {
    bearer: Option<String>,
    session: Option<String>,
    mode: Option<String>,
    timeout_ms: Option<u64>,
    positional: Vec<String>,
    command: Vec<String>,
}

fn parse_flags(args: &[String]) -> Result<Flags, Error> {
    let mut f = Flags::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--bearer" => f.bearer = Some(value("--bearer")?),
            "--session" => f.session = Some(value("--session")?),
            "--mode" => f.mode = Some(value("--mode")?),
            "--timeout-ms" => f.timeout_ms = Some(value("--timeout-ms")?.parse()?),
            "--" => {
                f.command = it.cloned().collect();
                break;
            }
            _ => f.positional.push(a.clone()),
        }
    }
    Ok(f)
}

async fn run(args: Vec<String>) -> Result<(), Error> {
    let (cmd, rest) = args
        .split_first()
        .ok_or("usage: bench-probe wait|init|call|sessions|startup URL ...")?;
    let f = parse_flags(rest)?;
    let url = f.positional.first().ok_or("missing URL")?;
    let target = Target::parse(url)?;
    match cmd.as_str() {
        "wait" => {
            let deadline = Instant::now() + Duration::from_millis(f.timeout_ms.unwrap_or(30_000));
            loop {
                if TcpStream::connect(&target.authority).await.is_ok() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(
                        format!("{} did not accept connections in time", target.authority).into(),
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        "init" => {
            let mut conn = Conn::open(&target).await?;
            let session = open_session(&mut conn, f.bearer.as_deref(), 0).await?;
            println!("{}", session.unwrap_or_default());
            Ok(())
        }
        "call" => {
            let mode = f.mode.as_deref().ok_or("call needs --mode")?;
            let mut conn = Conn::open(&target).await?;
            let reply = call(&mut conn, mode, f.session.as_deref(), f.bearer.as_deref()).await?;
            println!("{}", String::from_utf8_lossy(&reply.body).trim_end());
            Ok(())
        }
        "sessions" => {
            let count: u64 = f.positional.get(1).ok_or("sessions needs COUNT")?.parse()?;
            let mut conn = Conn::open(&target).await?;
            for i in 0..count {
                let session = open_session(&mut conn, f.bearer.as_deref(), i).await?;
                if session.is_none() {
                    return Err("the server issued no Mcp-Session-Id".into());
                }
            }
            println!("{count}");
            Ok(())
        }
        "startup" => {
            let (program, cmd_args) = f
                .command
                .split_first()
                .ok_or("startup needs -- CMD [ARGS]")?;
            let started = Instant::now();
            let mut child = tokio::process::Command::new(program)
                .args(cmd_args)
                .kill_on_drop(true)
                .spawn()?;
            let deadline = started + Duration::from_millis(f.timeout_ms.unwrap_or(30_000));
            let result: Result<Duration, Error> = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!("server exited early: {status}").into());
                }
                if Instant::now() > deadline {
                    break Err("server did not answer in time".into());
                }
                if let Ok(mut conn) = Conn::open(&target).await {
                    if open_session(&mut conn, None, 0).await.is_ok() {
                        break Ok(started.elapsed());
                    }
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            };
            let _ = child.kill().await;
            let elapsed = result?;
            println!("{:.1}", elapsed.as_secs_f64() * 1000.0);
            Ok(())
        }
        other => Err(format!("unknown subcommand {other:?}").into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-probe: {e}");
            ExitCode::FAILURE
        }
    }
}
