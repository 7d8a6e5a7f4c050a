//! Custom requests, custom notifications and extensions: over the in-memory transport,
//! stdio, Streamable HTTP in the handshake era and in the 2026-07-28 era, with exact JSON.

mod http_common;

use http_common::{initialize_as, post, start_with};
use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_server::custom::{Extension, NotificationContext, NotificationDef, RequestDef};
use mcp_rs_server::error::BuildError;
use mcp_rs_server::identity::{OAuthContext, Scopes};
use mcp_rs_server::scope::ScopeRequirement;
use mcp_rs_server::transport::http::HttpConfig;
use mcp_rs_server::transport::memory;
use mcp_rs_server::{McpError, Outcome, RequestContext, Server};
use mcp_tests::reply::Reply;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Deserialize, schemars::JsonSchema)]
struct EchoParams {
    text: String,
    #[serde(default)]
    times: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct PingParams {
    note: String,
}

type Seen = Arc<Mutex<Vec<String>>>;

fn echo() -> RequestDef {
    RequestDef::builder("com.example/echo").handler_fn(
        |ctx: RequestContext, p: EchoParams| async move {
            Ok::<_, McpError>(json!({
                "text": p.text.repeat(p.times.unwrap_or(1) as usize),
                "method": ctx.method(),
            }))
        },
    )
}

/// `com.example/echo`, `com.example/admin` (scope `mcp:admin`), `com.example/hang`, the
/// notification `notifications/com.example/ping` and the extension `com.example/search`
/// with `search/query`.
fn server(seen: &Seen) -> Server {
    let pings = seen.clone();
    let hang_seen = seen.clone();
    Server::builder()
        .name("custom-test")
        .version("1.0.0")
        .request(echo())
        .request(
            RequestDef::builder("com.example/admin")
                .scopes(ScopeRequirement::all(["mcp:admin"]))
                .handler_fn(|ctx: RequestContext, _p: Value| async move {
                    Ok::<_, McpError>(json!({"subject": ctx.oauth().map(|o| o.subject.clone())}))
                }),
        )
        .request(RequestDef::builder("com.example/hang").handler_fn(
            move |ctx: RequestContext, _p: Value| {
                let seen = hang_seen.clone();
                async move {
                    seen.lock().unwrap().push("hang started".into());
                    // The handler future is dropped on cancellation; a watcher sees the token.
                    let token = ctx.cancellation().clone();
                    tokio::spawn(async move {
                        token.cancelled().await;
                        seen.lock().unwrap().push("hang cancelled".into());
                    });
                    std::future::pending::<()>().await;
                    Ok::<_, McpError>(json!({}))
                }
            },
        ))
        .notification(
            NotificationDef::builder("notifications/com.example/ping").handler_fn(
                move |ctx: NotificationContext, p: PingParams| {
                    let seen = pings.clone();
                    async move {
                        seen.lock()
                            .unwrap()
                            .push(format!("{} {}", ctx.method(), p.note));
                    }
                },
            ),
        )
        .extension(
            Extension::new("com.example/search")
                .settings(json!({"maxResults": 10}))
                .request(RequestDef::builder("search/query").handler_fn(
                    |_ctx: RequestContext, p: Value| async move {
                        Ok::<_, McpError>(json!({"hits": [p["q"].clone()]}))
                    },
                )),
        )
        .build()
}

fn seen() -> Seen {
    Arc::new(Mutex::new(Vec::new()))
}

async fn settle<F: Fn() -> bool>(done: F) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn custom_request_in_memory_exact_json() {
    let s = seen();
    let server = server(&s);
    let client = memory::connect(&server);
    // Before initialize, like any method but ping.
    let err = client
        .request("com.example/echo", json!({"text": "a"}))
        .await
        .unwrap_err();
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"code": -32600, "message": "the session is not initialized: send initialize first"})
    );
    let init = client.initialize().await.unwrap();
    assert_eq!(
        init["capabilities"],
        json!({"logging": {}, "extensions": {"com.example/search": {"maxResults": 10}}})
    );
    let r = client
        .request(
            "com.example/echo",
            json!({"text": "ab", "times": 2, "_meta": {"progressToken": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(r, json!({"text": "abab", "method": "com.example/echo"}));
    let r = client
        .request("search/query", json!({"q": "rust"}))
        .await
        .unwrap();
    assert_eq!(r, json!({"hits": ["rust"]}));
}

#[tokio::test]
async fn wrong_params_are_invalid_params_naming_the_problem() {
    let s = seen();
    let server = server(&s);
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    let cases = [
        (Value::Null, "Invalid params: missing field `text`"),
        (
            json!({"text": 5}),
            "Invalid params: invalid type: integer `5`, expected a string",
        ),
        (
            json!("text"),
            "Invalid params: invalid type: string \"text\", expected struct EchoParams",
        ),
    ];
    for (params, message) in cases {
        let err = client
            .request("com.example/echo", params)
            .await
            .unwrap_err();
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"code": -32602, "message": message})
        );
    }
    // A name nobody registered, and a notification name used as a request.
    for name in ["com.example/nope", "notifications/com.example/ping"] {
        let err = client.request(name, json!({})).await.unwrap_err();
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"code": -32601, "message": format!("Method not found: {name}")})
        );
    }
}

#[tokio::test]
async fn scopes_are_checked_like_built_in_items() {
    let s = seen();
    let server = server(&s);
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    let err = client
        .request("com.example/admin", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"code": -32602, "message": "insufficient scope: requires mcp:admin",
               "data": {"requiredScopes": ["mcp:admin"]}})
    );
    client.set_identity(Some(OAuthContext::new(
        "root",
        Scopes::from_space_separated("mcp:admin"),
    )));
    let r = client
        .request("com.example/admin", json!({}))
        .await
        .unwrap();
    assert_eq!(r, json!({"subject": "root"}));
}

#[tokio::test]
async fn custom_notification_reaches_its_handler() {
    let s = seen();
    let server = server(&s);
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    client
        .notify("notifications/com.example/ping", json!({"note": "hello"}))
        .await;
    // Params that do not fit are dropped (logged), not answered.
    client
        .notify("notifications/com.example/ping", json!({"note": 1}))
        .await;
    assert_eq!(*s.lock().unwrap(), ["notifications/com.example/ping hello"]);
}

#[tokio::test]
async fn cancellation_reaches_a_custom_handler() {
    let s = seen();
    let server = server(&s);
    let client = Arc::new(memory::connect(&server));
    client.initialize().await.unwrap();
    let c = client.clone();
    let call = tokio::spawn(async move {
        c.send(JsonRpcMessage::request(
            mcp_rs_core::RequestId::Number(77),
            "com.example/hang",
            Some(json!({})),
        ))
        .await
    });
    settle(|| s.lock().unwrap().len() == 1).await;
    client
        .notify("notifications/cancelled", json!({"requestId": 77}))
        .await;
    let outcome = tokio::time::timeout(PATIENCE, call).await.unwrap().unwrap();
    assert_eq!(outcome, Outcome::NoReply);
    settle(|| s.lock().unwrap().len() == 2).await;
    assert_eq!(*s.lock().unwrap(), ["hang started", "hang cancelled"]);
}

async fn unit(_ctx: RequestContext, _params: Value) -> Result<(), McpError> {
    Ok(())
}

#[tokio::test]
async fn collisions_are_build_errors() {
    let def = |name: &str| {
        RequestDef::builder(name)
            .handler_fn(|_c: RequestContext, _p: Value| async { Ok::<_, McpError>(()) })
    };
    let note = |name: &str| {
        NotificationDef::builder(name).handler_fn(|_c: NotificationContext, _p: Value| async {})
    };
    let err = |b: mcp_rs_server::ServerBuilder| b.try_build().unwrap_err().to_string();
    assert_eq!(
        err(Server::builder().request(def("tools/call"))),
        "method \"tools/call\" cannot be registered: it is an MCP method (since protocol 2024-11-05)"
    );
    // Removed in 2026-07-28, still a spec method.
    assert_eq!(
        err(Server::builder().request(def("initialize"))),
        "method \"initialize\" cannot be registered: it is an MCP method (since protocol 2024-11-05)"
    );
    assert_eq!(
        err(Server::builder().request(def("subscriptions/listen"))),
        "method \"subscriptions/listen\" cannot be registered: it is an MCP method (since protocol 2026-07-28)"
    );
    assert_eq!(
        err(Server::builder().notification(note("notifications/cancelled"))),
        "method \"notifications/cancelled\" cannot be registered: it is an MCP method (since protocol 2024-11-05)"
    );
    assert_eq!(
        err(Server::builder()
            .extension(Extension::new("com.example/x").request(def("elicitation/create")))),
        "method \"elicitation/create\" cannot be registered: it is an MCP method (since protocol 2025-06-18)"
    );
    let first = format!("{}:{}", file!(), line!() + 1);
    let a = RequestDef::builder("x/y").handler_fn(unit);
    let second = format!("{}:{}", file!(), line!() + 1);
    let b = RequestDef::builder("x/y").handler_fn(unit);
    let e = Server::builder()
        .request(a)
        .request(b)
        .try_build()
        .unwrap_err();
    assert_eq!(
        e,
        BuildError::Duplicate {
            kind: "method",
            name: "x/y".into(),
            first,
            second,
        }
    );
    // Requests and notifications share one namespace; extensions' methods count too.
    let e = Server::builder()
        .notification(note("x/y"))
        .extension(Extension::new("com.example/x").request(def("x/y")))
        .try_build()
        .unwrap_err();
    assert!(
        matches!(e, BuildError::Duplicate { kind: "method", .. }),
        "{e}"
    );
    assert_eq!(
        err(Server::builder().extension(Extension::new("search"))),
        "invalid extension id \"search\": expected dot-separated labels, a slash and a name, e.g. \"com.example/search\""
    );
    let first = format!("{}:{}", file!(), line!() + 1);
    let x1 = Extension::new("com.example/x");
    let second = format!("{}:{}", file!(), line!() + 1);
    let x2 = Extension::new("com.example/x");
    assert_eq!(
        err(Server::builder().extension(x1).extension(x2)),
        format!("duplicate extension \"com.example/x\": registered at {first} and at {second}")
    );
}

#[test]
#[should_panic(expected = "invalid MCP server configuration: method \"ping\" cannot be registered")]
fn build_panics_with_the_collision() {
    let _ = Server::builder()
        .request(
            RequestDef::builder("ping")
                .handler_fn(|_c: RequestContext, _p: Value| async { Ok::<_, McpError>(()) }),
        )
        .build();
}

#[test]
fn extension_settings_join_explicit_capabilities() {
    let caps =
        serde_json::from_value(json!({"tools": {}, "extensions": {"com.example/a": {"v": 1}}}))
            .unwrap();
    let server = Server::builder()
        .capabilities(caps)
        .extension(Extension::new("com.example/a").settings(json!({"v": 2})))
        .extension(Extension::new("io.modelcontextprotocol/tasks"))
        .build();
    assert_eq!(
        serde_json::to_value(server.capabilities()).unwrap(),
        json!({"tools": {}, "extensions": {"com.example/a": {"v": 1}, "io.modelcontextprotocol/tasks": {}}})
    );
}

#[tokio::test]
async fn custom_methods_over_stdio() {
    let s = seen();
    let server = server(&s);
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(server_end);
    let task = tokio::spawn(mcp_rs_server::transport::stdio::serve(server, read, write));
    let (client_read, mut client_write) = tokio::io::split(client);
    let mut lines = BufReader::new(client_read).lines();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    for msg in [
        init,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/com.example/ping", "params": {"note": "stdio"}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "com.example/echo", "params": {"text": "hi"}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "com.example/echo", "params": {}}),
    ] {
        client_write
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
    }
    let mut answers = Vec::new();
    while answers.len() < 3 {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        answers.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(
        answers[1],
        json!({"jsonrpc": "2.0", "id": 2, "result": {"text": "hi", "method": "com.example/echo"}})
    );
    assert_eq!(
        answers[2],
        json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "Invalid params: missing field `text`"}})
    );
    assert_eq!(*s.lock().unwrap(), ["notifications/com.example/ping stdio"]);
    // End of input: the server stops (its last write may meet the closed pipe).
    drop(client_write);
    drop(lines);
    let _ = tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn custom_methods_over_http_handshake_era() {
    let s = seen();
    let config = HttpConfig::default()
        .json_response(true)
        .handler_timeout(Some(Duration::from_millis(300)));
    let srv = start_with(server(&s), config).await;
    let c = http_common::client();
    // Sessions are bound to their principal: every request is eve's.
    let session = initialize_as(&c, &srv.url, Some("eve")).await;
    let call = |id: i64, method: &str, params: Value| {
        post(
            &c,
            &srv.url,
            Some(&session),
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        )
        .header("x-test-subject", "eve")
    };
    let r = Reply::read(
        call(1, "com.example/echo", json!({"text": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"jsonrpc": "2.0", "id": 1, "result": {"text": "x", "method": "com.example/echo"}})
    );
    let r = Reply::read(
        call(2, "com.example/echo", json!({"text": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.json()),
        (
            200,
            json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602,
            "message": "Invalid params: invalid type: sequence, expected a string"}})
        )
    );
    // Scopes over HTTP: 403 with the insufficient_scope challenge, as for tools.
    let r = Reply::read(
        call(3, "com.example/admin", json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.challenge.contains(r#"error="insufficient_scope""#),
        "{}",
        r.challenge
    );
    assert!(
        r.challenge.contains(r#"scope="mcp:admin""#),
        "{}",
        r.challenge
    );
    // The endpoint's handler timeout applies.
    let r = Reply::read(call(4, "com.example/hang", json!({})).send().await.unwrap()).await;
    assert_eq!(
        r.json(),
        json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -32603, "message": "Request timed out"}})
    );
    // A custom notification: 202.
    let r = post(&c, &srv.url, Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/com.example/ping", "params": {"note": "http"}}))
        .header("x-test-subject", "eve")
        .send().await.unwrap();
    assert_eq!(r.status(), 202);
    settle(|| s.lock().unwrap().iter().any(|l| l.ends_with(" http"))).await;
    assert!(
        s.lock()
            .unwrap()
            .contains(&"notifications/com.example/ping http".to_owned())
    );
}

const V: &str = "2026-07-28";

fn stateless_body(id: i64, method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

async fn stateless_post(url: &str, body: &Value, mcp_method: Option<&str>) -> Reply {
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", V);
    if let Some(m) = mcp_method {
        rb = rb.header("mcp-method", m);
    }
    let res = tokio::time::timeout(PATIENCE, rb.body(body.to_string()).send())
        .await
        .unwrap()
        .unwrap();
    Reply::read(res).await
}

#[tokio::test]
async fn custom_methods_over_http_stateless_era() {
    let s = seen();
    let srv = start_with(server(&s), HttpConfig::default()).await;
    let body = stateless_body(1, "com.example/echo", json!({"text": "st"}));
    let r = stateless_post(&srv.url, &body, Some("com.example/echo")).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(
        r.json(),
        json!({"jsonrpc": "2.0", "id": 1, "result": {"text": "st", "method": "com.example/echo", "resultType": "complete"}})
    );
    // The SEP-2243 Mcp-Method header is required and must match, as for spec methods.
    let r = stateless_post(&srv.url, &body, None).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32020,
            "message": "Header mismatch: required header Mcp-Method is missing (body method 'com.example/echo')",
            "data": {"missing": ["header Mcp-Method"]}}})
    );
    let r = stateless_post(&srv.url, &body, Some("search/query")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32020);
    // Wrong params: -32602 with HTTP 200 (a handler error).
    let body = stateless_body(2, "com.example/echo", json!({}));
    let r = stateless_post(&srv.url, &body, Some("com.example/echo")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            200,
            json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "Invalid params: missing field `text`"}})
        )
    );
    // Unregistered: 404 -32601.
    let body = stateless_body(3, "com.example/nope", json!({}));
    let r = stateless_post(&srv.url, &body, Some("com.example/nope")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "Method not found: com.example/nope"}})
        )
    );
    // An extension method, and the extension in server/discover.
    let body = stateless_body(4, "search/query", json!({"q": "z"}));
    let r = stateless_post(&srv.url, &body, Some("search/query")).await;
    assert_eq!(
        r.json()["result"],
        json!({"hits": ["z"], "resultType": "complete"})
    );
    let body = stateless_body(5, "server/discover", json!({}));
    let r = stateless_post(&srv.url, &body, Some("server/discover")).await;
    assert_eq!(
        r.json()["result"]["capabilities"]["extensions"],
        json!({"com.example/search": {"maxResults": 10}})
    );
    // A custom notification: 202.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/com.example/ping", "params": {"note": "stateless",
        "_meta": {"io.modelcontextprotocol/protocolVersion": V}}});
    let r = stateless_post(&srv.url, &note, Some("notifications/com.example/ping")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(
        *s.lock().unwrap(),
        ["notifications/com.example/ping stateless"]
    );
}
