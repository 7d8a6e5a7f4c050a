//! Helpers shared by the `http_*` integration tests: a test server on an ephemeral port, a
//! reqwest client with MCP's headers, and a small SSE reader.

#![allow(dead_code, unreachable_pub)]

use futures::StreamExt;
use http::Request;
use mcp_rs_core::schema::CallToolResult;
use mcp_rs_server::auth::ChallengeInfo;
use mcp_rs_server::identity::{OAuthContext, Scopes};
use mcp_rs_server::scope::ScopeRequirement;
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{
    CorsLayer, HttpConfig, StreamControl, StreamableHttpService, serve_listener,
};
use mcp_rs_server::{RequestContext, Server};
use mcp_tests::tools::{no_args, tool_with_args};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Generous bound for anything that should happen "soon" on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub const LATEST: &str = "2025-11-25";

/// How many `hang` calls saw their cancellation token fire.
pub static HANG_CANCELLED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A server listening on 127.0.0.1 with an ephemeral port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    pub service: StreamableHttpService,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The server every HTTP test uses.
pub fn test_server() -> Server {
    Server::builder()
        .name("http-test")
        .version("0.0.0")
        .tool(
            ToolDef::builder("echo")
                .description("echoes text")
                .input_schema(match json!({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                })
                .handler_fn(|_ctx: RequestContext, args: Map<String, Value>| async move {
                    Ok::<_, mcp_rs_server::McpError>(CallToolResult::text(
                        args.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    ))
                }),
        )
        .tool(tool_with_args("header", |ctx, _| async move {
            let v = ctx
                .http_parts()
                .and_then(|p| p.headers.get("x-custom"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or("<none>")
                .to_owned();
            Ok(CallToolResult::text(v))
        }))
        .tool(tool_with_args("whoami", |ctx, _| async move {
            Ok(CallToolResult::text(ctx.oauth().map_or("<anonymous>".to_owned(), |o| o.subject.clone())))
        }))
        .tool(tool_with_args("progress", |ctx, _| async move {
            ctx.progress(1.0, Some(2.0), None).await;
            ctx.progress(2.0, Some(2.0), None).await;
            Ok(CallToolResult::text("progressed"))
        }))
        .tool(tool_with_args("sample", |ctx, _| async move {
            let r = ctx
                .send_request(
                    "sampling/createMessage",
                    json!({"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"maxTokens":5}),
                )
                .await?;
            let text = r.pointer("/content/text").and_then(Value::as_str).unwrap_or("?").to_owned();
            Ok(CallToolResult::text(format!("sampled: {text}")))
        }))
        .tool(tool_with_args("poll", |ctx, _| async move {
            let closed = ctx
                .http_parts()
                .and_then(|p| p.extensions.get::<StreamControl>())
                .is_some_and(StreamControl::close_stream);
            ctx.progress(1.0, None, None).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(CallToolResult::text(format!("polled (closed: {closed})")))
        }))
        .tool(tool_with_args("hang", |ctx, _| async move {
            // Never answers; a watcher task counts the cancellation of its token (the
            // handler future itself may simply be dropped).
            let token = ctx.cancellation().clone();
            tokio::spawn(async move {
                token.cancelled().await;
                HANG_CANCELLED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
            std::future::pending::<()>().await;
            Ok(CallToolResult::text("unreachable"))
        }))
        .tool(
            ToolDef::builder("write")
                .description("needs mcp:write")
                .input_schema(no_args())
                .scopes(ScopeRequirement::all(["mcp:write"]))
                .handler_fn(|_ctx: RequestContext, _args: Map<String, Value>| async move {
                    Ok::<_, mcp_rs_server::McpError>(CallToolResult::text("written"))
                }),
        )
        .build()
}

/// Starts `server` behind [`CorsLayer`] and [`TestIdentity`].
pub async fn start_with(server: Server, config: HttpConfig) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let service = StreamableHttpService::new(server, config.clone());
    let identity = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(&config))
        .service(TestIdentity(service.clone()));
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve_listener(
        listener,
        identity,
        async move {
            let _ = rx.await;
        },
        Duration::from_millis(100),
    ));
    TestServer {
        addr,
        url: format!("http://{addr}/mcp"),
        service,
        stop: Some(tx),
    }
}

/// Stands in for the authorization layer: `x-test-subject` (+ `x-test-scopes`,
/// `x-test-expires-in` seconds) becomes an [`OAuthContext`] in the request extensions;
/// `x-test-challenge` adds a [`ChallengeInfo`].
#[derive(Clone)]
pub struct TestIdentity<S>(pub S);

impl<S, B> tower::Service<Request<B>> for TestIdentity<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        let h = req.headers();
        if let Some(subject) = h.get("x-test-subject").and_then(|v| v.to_str().ok()) {
            let scopes = h
                .get("x-test-scopes")
                .and_then(|v| v.to_str().ok())
                .map(Scopes::from_space_separated)
                .unwrap_or_default();
            let mut ctx = OAuthContext::new(subject, scopes);
            if let Some(secs) = h
                .get("x-test-expires-in")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
            {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                ctx.expires_at = Some(now + secs);
            }
            let challenge = h.get("x-test-challenge").is_some();
            req.extensions_mut().insert(ctx);
            if challenge {
                req.extensions_mut().insert(ChallengeInfo::new(
                    "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                ));
            }
        }
        self.0.call(req)
    }
}

pub async fn start() -> TestServer {
    start_with(test_server(), HttpConfig::default()).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("client")
}

/// A POST with the headers a well-behaved client sends.
pub fn post(
    c: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut b = c
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", LATEST)
        .body(body.to_string());
    if let Some(s) = session {
        b = b.header("mcp-session-id", s);
    }
    b
}

pub fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {
            "protocolVersion": LATEST,
            "capabilities": {"sampling": {}, "elicitation": {}},
            "clientInfo": {"name": "http-test-client", "version": "1.0.0"}
        }
    })
}

/// `initialize` + `notifications/initialized`; returns the session id.
pub async fn initialize(c: &reqwest::Client, url: &str) -> String {
    initialize_as(c, url, None).await
}

/// Like [`initialize`], as test subject `subject`.
pub async fn initialize_as(c: &reqwest::Client, url: &str, subject: Option<&str>) -> String {
    let mut b = post(c, url, None, &initialize_body());
    if let Some(s) = subject {
        b = b.header("x-test-subject", s);
    }
    let res = b.send().await.expect("initialize");
    assert_eq!(res.status(), 200, "initialize status");
    let id = res.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["result"]["protocolVersion"], LATEST);
    let mut b = post(
        c,
        url,
        Some(&id),
        &json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    );
    if let Some(s) = subject {
        b = b.header("x-test-subject", s);
    }
    let res = b.send().await.expect("initialized");
    assert_eq!(res.status(), 202);
    id
}

pub fn call(id: i64, name: &str, args: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":name,"arguments":args}})
}

/// One SSE event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
    /// The raw text of the event, comments included.
    pub raw: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// Reads SSE events from a response body.
pub struct SseReader {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
    pub ended: bool,
}

impl SseReader {
    pub fn new(res: reqwest::Response) -> Self {
        SseReader {
            stream: Box::pin(res.bytes_stream()),
            buf: String::new(),
            ended: false,
        }
    }

    /// The next event (comments are skipped, but kept in a later event's `raw`), or `None`
    /// when the stream ended. Panics after [`PATIENCE`].
    pub async fn next(&mut self) -> Option<Event> {
        tokio::time::timeout(PATIENCE, self.next_inner())
            .await
            .expect("SSE event within the time limit")
    }

    async fn next_inner(&mut self) -> Option<Event> {
        loop {
            while let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = Event {
                    raw: block.clone(),
                    ..Event::default()
                };
                let mut data = Vec::new();
                let mut any_field = false;
                for line in block.lines() {
                    if line.starts_with(':') || line.is_empty() {
                        continue;
                    }
                    any_field = true;
                    let (k, v) = line.split_once(':').unwrap_or((line, ""));
                    let v = v.strip_prefix(' ').unwrap_or(v);
                    match k {
                        "id" => ev.id = Some(v.to_owned()),
                        "retry" => ev.retry = v.parse().ok(),
                        "data" => data.push(v.to_owned()),
                        _ => {}
                    }
                }
                if any_field {
                    ev.data = data.join("\n");
                    return Some(ev);
                }
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                _ => {
                    self.ended = true;
                    return None;
                }
            }
        }
    }

    /// Events until (and including) the one whose JSON has `"id": id`.
    pub async fn until_response(&mut self, id: i64) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(ev) = self.next().await {
            let done = ev.json().get("id") == Some(&json!(id)) && ev.json().get("method").is_none();
            out.push(ev);
            if done {
                return out;
            }
        }
        panic!("stream ended before the response to {id}: {out:?}");
    }
}

/// The JSON-RPC error code of a response body.
pub async fn error_code(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("JSON error body");
    (status, body)
}
