//! The 2026-07-28 (stateless) era over Streamable HTTP: every rule of the stateless leg, with
//! its exact HTTP status and JSON-RPC error code.

use futures::StreamExt;
use mcp_rs_core::schema::{
    BooleanSchema, CallToolResult, ElicitResult, ElicitationSchema, ReadResourceResult,
    ResourceContents, StringSchema,
};
use mcp_rs_server::error::BuildError;
use mcp_rs_server::protocol::mrtr::{InputRequired, InputResponsesExt, StateSealer};
use mcp_rs_server::protocol::{CacheHint, CachePolicy, ProtocolOptions};
use mcp_rs_server::resource::ResourceDef;
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService, serve_listener};
use mcp_rs_server::{McpError, RequestContext, Server, ServerEvent};
use mcp_tests::reply::Reply;
use mcp_tests::tools::{object, tool};
use serde_json::{Map, Value, json};
use std::time::Duration;

const V: &str = "2026-07-28";
const PATIENCE: Duration = Duration::from_secs(20);
const KEY: [u8; 32] = [9; 32];

fn server(options: ProtocolOptions) -> Server {
    Server::builder()
        .name("stateless-test")
        .version("1.2.3")
        .instructions("be nice")
        .capabilities(
            serde_json::from_value(json!({"tools": {"listChanged": true}, "resources": {"subscribe": true}, "prompts": {}}))
                .unwrap(),
        )
        .protocol(options)
        .tool(
            ToolDef::builder("regional")
                .description("echoes its region")
                .input_schema(object(json!({"type": "object", "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"},
                    "count": {"type": "integer", "x-mcp-header": "Count"}}})))
                .handler_fn(|_ctx: RequestContext, a: Map<String, Value>| async move {
                    Ok::<_, McpError>(CallToolResult::text(format!("region={}", a.get("region").cloned().unwrap_or_default())))
                }),
        )
        .tool(tool("ask", |ctx| async move {
            let state = ctx.request_state_as::<Value>()?;
            match (ctx.input_response_as::<ElicitResult>("name")?, state) {
                (Some(a), Some(s)) if s["round"] == 1 => {
                    let name = a.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
                    Ok(CallToolResult::text(format!("Hello, {}", name.as_str().unwrap_or_default())))
                }
                _ => Err(InputRequired::new()
                    .elicit("name", "Name?", ElicitationSchema::new().property("name", StringSchema::default(), true))
                    .state(json!({"round": 1}))
                    .into()),
            }
        }))
        .tool(tool("confirm", |ctx| async move {
            match ctx.input_response_as::<ElicitResult>("ok")? {
                Some(_) => Ok(CallToolResult::text("confirmed")),
                None => Err(InputRequired::new()
                    .elicit("ok", "Sure?", ElicitationSchema::new().property("ok", BooleanSchema::default(), true))
                    .state(json!({}))
                    .into()),
            }
        }))
        .tool(tool("logs", |ctx| async move {
            ctx.log(mcp_rs_core::schema::LoggingLevel::Info, "info line").await?;
            ctx.log(mcp_rs_core::schema::LoggingLevel::Error, "error line").await?;
            Ok(CallToolResult::text("logged"))
        }))
        .tool(tool("progress", |ctx| async move {
            ctx.progress(1.0, Some(2.0), None).await;
            Ok(CallToolResult::text("done"))
        }))
        .tool(tool("plain", |_ctx| async move { Ok(CallToolResult::text("plain")) }))
        .resource(ResourceDef::builder("test://a", "a").mime_type("text/plain").handler_fn(
            |_ctx: RequestContext, uri: String| async move {
                Ok::<_, McpError>(ReadResourceResult::new(vec![ResourceContents::text(uri, Some("text/plain".into()), "A")]))
            },
        ))
        .build()
}

fn options() -> ProtocolOptions {
    ProtocolOptions::default()
        .state_sealer(StateSealer::new(KEY).unwrap())
        .cache_policy(
            CachePolicy::new()
                .method("tools/list", CacheHint::public(Duration::from_secs(5)))
                .resource("test://a", CacheHint::private(Duration::from_secs(1))),
        )
}

struct Running {
    url: String,
    server: Server,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(options: ProtocolOptions) -> Running {
    start_server(server(options)).await
}

async fn start_server(server: Server) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = StreamableHttpService::new(server.clone(), HttpConfig::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_listener(
        listener,
        service,
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(1),
    ));
    Running {
        url: format!("http://{addr}/mcp"),
        server,
        _stop: tx,
    }
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
    })
}

/// A request body with the standard envelope merged into `params._meta`.
fn body(id: i64, method: &str, mut params: Value) -> Value {
    let m = params.as_object_mut().unwrap();
    let mut full = meta();
    if let Some(Value::Object(extra)) = m.remove("_meta") {
        full.as_object_mut().unwrap().extend(extra);
    }
    m.insert("_meta".into(), full);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The SEP-2243 headers a conformant client sends for `body`.
fn std_headers(body: &Value) -> Vec<(String, String)> {
    let method = body["method"].as_str().unwrap_or_default();
    let mut h = vec![
        ("MCP-Protocol-Version".to_owned(), V.to_owned()),
        ("Mcp-Method".to_owned(), method.to_owned()),
    ];
    let name = match method {
        "tools/call" | "prompts/get" => body["params"]["name"].as_str(),
        "resources/read" => body["params"]["uri"].as_str(),
        _ => None,
    };
    if let Some(n) = name {
        h.push(("Mcp-Name".into(), n.into()));
    }
    h
}

async fn post_raw(url: &str, headers: &[(String, String)], accept: &str, body: &Value) -> Reply {
    let client = reqwest::Client::new();
    let mut rb = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", accept);
    for (k, v) in headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let res = tokio::time::timeout(PATIENCE, rb.body(body.to_string()).send())
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(PATIENCE, Reply::read(res))
        .await
        .unwrap()
}

const BOTH: &str = "application/json, text/event-stream";

async fn post(url: &str, body: &Value) -> Reply {
    post_raw(url, &std_headers(body), BOTH, body).await
}

fn assert_error(r: &Reply, status: u16, code: i64, id: Value) {
    assert_eq!(r.status, status, "{}", r.text);
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "{}", r.text);
    assert_eq!(v["id"], id, "{}", r.text);
}

#[tokio::test]
async fn discover_and_result_annotations() {
    let s = start(options()).await;
    let r = post(&s.url, &body(1, "server/discover", json!({}))).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    let v = r.json()["result"].clone();
    assert_eq!(v["resultType"], "complete");
    assert_eq!(v["supportedVersions"], json!([V]));
    assert_eq!(v["instructions"], "be nice");
    assert_eq!(
        v["_meta"]["io.modelcontextprotocol/serverInfo"],
        json!({"name": "stateless-test", "version": "1.2.3"})
    );
    assert_eq!(
        (v["ttlMs"].clone(), v["cacheScope"].clone()),
        (json!(0), json!("private"))
    );
    assert!(v["capabilities"]["tools"].is_object());

    let v = post(&s.url, &body(2, "tools/list", json!({}))).await.json()["result"].clone();
    assert_eq!(
        (
            v["resultType"].clone(),
            v["ttlMs"].clone(),
            v["cacheScope"].clone()
        ),
        (json!("complete"), json!(5000), json!("public"))
    );
    let v = post(
        &s.url,
        &body(3, "resources/read", json!({"uri": "test://a"})),
    )
    .await
    .json()["result"]
        .clone();
    assert_eq!(
        (v["ttlMs"].clone(), v["cacheScope"].clone()),
        (json!(1000), json!("private"))
    );
    for m in ["prompts/list", "resources/list", "resources/templates/list"] {
        let v = post(&s.url, &body(4, m, json!({}))).await.json()["result"].clone();
        assert_eq!(
            (
                v["resultType"].clone(),
                v["ttlMs"].clone(),
                v["cacheScope"].clone()
            ),
            (json!("complete"), json!(0), json!("private")),
            "{m}"
        );
    }
    let r = post(
        &s.url,
        &body(5, "tools/call", json!({"name": "plain", "arguments": {}})),
    )
    .await;
    let v = r.json()["result"].clone();
    assert_eq!(v["resultType"], "complete");
    assert!(v.get("ttlMs").is_none());

    // Resource not found: -32602 with data.uri in this era.
    let r = post(
        &s.url,
        &body(6, "resources/read", json!({"uri": "test://missing"})),
    )
    .await;
    assert_error(&r, 200, -32602, json!(6));
    assert_eq!(r.json()["error"]["data"]["uri"], "test://missing");
}

#[tokio::test]
async fn classification_and_envelope_rejections() {
    let s = start(options()).await;
    let pv = "io.modelcontextprotocol/protocolVersion";
    // Claim that is not a non-empty string.
    let mut b = body(10, "tools/list", json!({}));
    b["params"]["_meta"][pv] = json!(5);
    assert_error(&post(&s.url, &b).await, 400, -32602, json!(10));
    // Header missing while the body claims a version.
    let b = body(11, "tools/list", json!({}));
    let headers: Vec<_> = std_headers(&b)
        .into_iter()
        .filter(|(k, _)| k != "MCP-Protocol-Version")
        .collect();
    assert_error(
        &post_raw(&s.url, &headers, BOTH, &b).await,
        400,
        -32020,
        json!(11),
    );
    // Header and claim disagree.
    let mut b = body(12, "server/discover", json!({}));
    b["params"]["_meta"][pv] = json!("v999.0.0");
    assert_error(&post(&s.url, &b).await, 400, -32020, json!(12));
    // Unsupported version (header and claim agree).
    let mut headers = std_headers(&b);
    headers[0].1 = "v999.0.0".into();
    let r = post_raw(&s.url, &headers, BOTH, &b).await;
    assert_error(&r, 400, -32022, json!(12));
    assert_eq!(
        r.json()["error"]["data"],
        json!({"supported": [V], "requested": "v999.0.0"})
    );
    // Modern header, no envelope.
    let bare = json!({"jsonrpc": "2.0", "id": "x", "method": "server/discover", "params": {}});
    assert_error(&post(&s.url, &bare).await, 400, -32602, json!("x"));
    // Missing clientCapabilities.
    let mut b = body(13, "server/discover", json!({}));
    b["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    assert_error(&post(&s.url, &b).await, 400, -32602, json!(13));
    // Missing clientInfo is fine.
    let mut b = body(14, "server/discover", json!({}));
    b["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientInfo");
    assert_eq!(post(&s.url, &b).await.status, 200);
    // Batches carrying the claim.
    let batch = json!([body(15, "tools/list", json!({}))]);
    let r = post_raw(
        &s.url,
        &std_headers(&body(15, "tools/list", json!({}))),
        BOTH,
        &batch,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32600);
    // A client that only accepts JSON is served.
    let b = body(16, "tools/list", json!({}));
    let r = post_raw(&s.url, &std_headers(&b), "application/json", &b).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
}

/// A hand-written request that leaves out `Mcp-Method` and both required `_meta` members
/// hears about all three in one answer (the status and code of the first check, as before).
#[tokio::test]
async fn every_missing_envelope_piece_in_one_error() {
    let s = start(options()).await;
    let b = json!({"jsonrpc": "2.0", "id": 30, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}}}});
    let headers = vec![("MCP-Protocol-Version".to_owned(), V.to_owned())];
    let r = post_raw(&s.url, &headers, BOTH, &b).await;
    assert_error(&r, 400, -32602, json!(30));
    let pv = r#"_meta["io.modelcontextprotocol/protocolVersion"]"#;
    let caps = r#"_meta["io.modelcontextprotocol/clientCapabilities"]"#;
    assert_eq!(
        r.json()["error"]["message"],
        format!(
            "Invalid params: missing {pv} (required with MCP-Protocol-Version {V}); \
             Invalid params: missing {caps}; \
             Header mismatch: required header Mcp-Method is missing (body method 'tools/list')"
        )
    );
    assert_eq!(
        r.json()["error"]["data"],
        json!({"missing": [pv, caps, "header Mcp-Method"]})
    );
    // The version present, the header and the capabilities missing: the header check's code.
    let mut b = body(32, "tools/list", json!({}));
    b["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let r = post_raw(&s.url, &headers, BOTH, &b).await;
    assert_error(&r, 400, -32020, json!(32));
    assert_eq!(
        r.json()["error"]["data"],
        json!({"missing": ["header Mcp-Method", caps]})
    );
    // Headers right, one member missing: that member alone.
    let mut b = body(31, "tools/list", json!({}));
    b["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let r = post(&s.url, &b).await;
    assert_error(&r, 400, -32602, json!(31));
    assert_eq!(r.json()["error"]["data"], json!({"missing": [caps]}));
}

#[tokio::test]
async fn removed_methods_and_notifications() {
    let s = start(options()).await;
    for (i, m) in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "unknown/method",
        "sampling/createMessage",
    ]
    .into_iter()
    .enumerate()
    {
        let id = 100 + i64::try_from(i).unwrap();
        let r = post(&s.url, &body(id, m, json!({}))).await;
        assert_error(&r, 404, -32601, json!(id));
    }
    let note = |m: &str| json!({"jsonrpc": "2.0", "method": m, "params": {}});
    for removed in [
        "notifications/initialized",
        "notifications/roots/list_changed",
    ] {
        let r = post(&s.url, &note(removed)).await;
        assert_error(&r, 400, -32601, Value::Null);
    }
    let r = post(
        &s.url,
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (202, ""));
    let resp = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
    let r = post_raw(
        &s.url,
        &[("MCP-Protocol-Version".into(), V.into())],
        BOTH,
        &resp,
    )
    .await;
    assert_error(&r, 400, -32600, Value::Null);
}

#[tokio::test]
async fn standard_and_custom_headers() {
    let s = start(options()).await;
    let b = body(20, "tools/list", json!({}));
    let pv = ("MCP-Protocol-Version".to_owned(), V.to_owned());
    let with = |extra: &[(&str, &str)]| {
        let mut h = vec![pv.clone()];
        h.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        h
    };
    assert_error(
        &post_raw(&s.url, &with(&[]), BOTH, &b).await,
        400,
        -32020,
        json!(20),
    );
    assert_error(
        &post_raw(&s.url, &with(&[("Mcp-Method", "prompts/list")]), BOTH, &b).await,
        400,
        -32020,
        json!(20),
    );
    assert_error(
        &post_raw(&s.url, &with(&[("Mcp-Method", "TOOLS/LIST")]), BOTH, &b).await,
        400,
        -32020,
        json!(20),
    );
    assert_eq!(
        post_raw(&s.url, &with(&[("mcp-method", "tools/list")]), BOTH, &b)
            .await
            .status,
        200
    );
    assert_eq!(
        post_raw(&s.url, &with(&[("MCP-METHOD", "tools/list")]), BOTH, &b)
            .await
            .status,
        200
    );

    let call = body(21, "tools/call", json!({"name": "plain", "arguments": {}}));
    assert_error(
        &post_raw(&s.url, &with(&[("Mcp-Method", "tools/call")]), BOTH, &call).await,
        400,
        -32020,
        json!(21),
    );
    let r = post_raw(
        &s.url,
        &with(&[("Mcp-Method", "tools/call"), ("Mcp-Name", "other")]),
        BOTH,
        &call,
    )
    .await;
    assert_error(&r, 400, -32020, json!(21));
    assert_eq!(
        r.json()["error"]["message"],
        "Header mismatch: Mcp-Name header value 'other' does not match body value 'plain'"
    );
    let r = post_raw(
        &s.url,
        &with(&[("Mcp-Method", "tools/call"), ("Mcp-Name", "  plain  ")]),
        BOTH,
        &call,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // x-mcp-header arguments.
    let call = body(
        22,
        "tools/call",
        json!({"name": "regional", "arguments": {"region": "Hello", "count": 3}}),
    );
    let base = [
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "regional"),
        ("Mcp-Param-Count", "3"),
    ];
    let ok = |v: &str| {
        let mut h = with(&base);
        h.push(("Mcp-Param-Region".into(), v.into()));
        h
    };
    assert_eq!(
        post_raw(&s.url, &ok("Hello"), BOTH, &call).await.status,
        200
    );
    assert_eq!(
        post_raw(&s.url, &ok("=?base64?SGVsbG8=?="), BOTH, &call)
            .await
            .status,
        200
    );
    assert_error(
        &post_raw(&s.url, &ok("=?base64?SGVsbG8?="), BOTH, &call).await,
        400,
        -32020,
        json!(22),
    );
    assert_error(
        &post_raw(&s.url, &ok("=?base64?SGVs!!!bG8=?="), BOTH, &call).await,
        400,
        -32020,
        json!(22),
    );
    assert_error(
        &post_raw(&s.url, &ok("hello"), BOTH, &call).await,
        400,
        -32020,
        json!(22),
    );
    assert_error(
        &post_raw(&s.url, &with(&base), BOTH, &call).await,
        400,
        -32020,
        json!(22),
    );
    let mut wrong_count = ok("Hello");
    wrong_count[3].1 = "4".into();
    assert_error(
        &post_raw(&s.url, &wrong_count, BOTH, &call).await,
        400,
        -32020,
        json!(22),
    );
    // Absent arguments expect no header.
    let call = body(
        23,
        "tools/call",
        json!({"name": "regional", "arguments": {}}),
    );
    assert_eq!(
        post_raw(&s.url, &with(&base[..2]), BOTH, &call)
            .await
            .status,
        200
    );
}

#[test]
fn invalid_x_mcp_header_declarations_are_rejected_at_registration() {
    let bad = ToolDef::builder("bad")
        .description("bad")
        .input_schema(object(
            json!({"type": "object", "properties": {"n": {"type": "number", "x-mcp-header": "N"}}}),
        ))
        .handler_fn(|_c: RequestContext, _a: Map<String, Value>| async {
            Ok::<_, McpError>(CallToolResult::text(""))
        });
    let err = Server::builder().tool(bad).try_build().unwrap_err();
    assert!(
        matches!(err, BuildError::InvalidSchema { ref tool, .. } if tool == "bad"),
        "{err}"
    );
    assert!(err.to_string().contains("x-mcp-header"), "{err}");
}

#[tokio::test]
async fn multi_round_requests() {
    let s = start(options()).await;
    let r1 = post(
        &s.url,
        &body(30, "tools/call", json!({"name": "ask", "arguments": {}})),
    )
    .await;
    assert_eq!(r1.status, 200);
    let v = r1.json()["result"].clone();
    assert_eq!(v["resultType"], "input_required");
    assert_eq!(v["inputRequests"]["name"]["method"], "elicitation/create");
    let state = v["requestState"].as_str().unwrap().to_owned();
    assert!(state.starts_with("mrs1."), "{state}");

    let answers = json!({"name": {"action": "accept", "content": {"name": "Alice"}}});
    let retry = |id: i64, tool: &str, state: &str| {
        body(
            id,
            "tools/call",
            json!({"name": tool, "arguments": {}, "inputResponses": answers, "requestState": state}),
        )
    };
    let r2 = post(&s.url, &retry(31, "ask", &state)).await;
    let v = r2.json()["result"].clone();
    assert_eq!(
        (v["resultType"].clone(), v["content"][0]["text"].clone()),
        (json!("complete"), json!("Hello, Alice"))
    );

    // Tampered, foreign or malformed state.
    assert_error(
        &post(&s.url, &retry(32, "ask", &format!("{state}-TAMPERED"))).await,
        400,
        -32602,
        json!(32),
    );
    assert_error(
        &post(&s.url, &retry(33, "confirm", &state)).await,
        400,
        -32602,
        json!(33),
    );
    let other_key = StateSealer::new([1u8; 32]).unwrap();
    let forged = other_key.seal(
        r#"{"round":1}"#,
        &mcp_rs_server::protocol::mrtr::StateBinding {
            method: "tools/call",
            target: "ask",
            principal: None,
        },
    );
    assert_error(
        &post(&s.url, &retry(34, "ask", &forged)).await,
        400,
        -32602,
        json!(34),
    );
    // inputResponses that are not results.
    let bad = body(
        35,
        "tools/call",
        json!({"name": "ask", "arguments": {}, "inputResponses": {"name": 12345}}),
    );
    assert_error(&post(&s.url, &bad).await, 400, -32602, json!(35));
    let bad = body(
        36,
        "tools/call",
        json!({"name": "ask", "arguments": {}, "inputResponses": null}),
    );
    assert_error(&post(&s.url, &bad).await, 400, -32602, json!(36));
    // Not on other methods.
    let bad = body(37, "tools/list", json!({"requestState": state}));
    assert_error(&post(&s.url, &bad).await, 400, -32602, json!(37));

    // Asking for a capability the client did not declare.
    let mut b = body(38, "tools/call", json!({"name": "ask", "arguments": {}}));
    b["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({"sampling": {}});
    let r = post(&s.url, &b).await;
    assert_error(&r, 400, -32021, json!(38));
    assert_eq!(
        r.json()["error"]["data"],
        json!({"requiredCapabilities": {"elicitation": {}}})
    );
}

#[tokio::test]
async fn expired_state_is_refused() {
    let s = start(options().state_sealer(StateSealer::new(KEY).unwrap().ttl(Duration::ZERO))).await;
    let v = post(
        &s.url,
        &body(40, "tools/call", json!({"name": "ask", "arguments": {}})),
    )
    .await
    .json()["result"]
        .clone();
    let state = v["requestState"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let retry = body(
        41,
        "tools/call",
        json!({"name": "ask", "arguments": {}, "requestState": state,
        "inputResponses": {"name": {"action": "accept", "content": {"name": "A"}}}}),
    );
    let r = post(&s.url, &retry).await;
    assert_error(&r, 400, -32602, json!(41));
    assert_eq!(
        r.json()["error"]["message"],
        "Invalid requestState: requestState has expired"
    );
}

#[tokio::test]
async fn logging_progress_json_or_sse_and_trace_context() {
    let s = start(options()).await;
    // No logLevel: no notifications/message, plain JSON.
    let r = post(
        &s.url,
        &body(50, "tools/call", json!({"name": "logs", "arguments": {}})),
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(r.json()["result"]["content"][0]["text"], "logged");
    // logLevel error: only the error line, on an SSE stream, with the trace context echoed.
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let b = body(
        51,
        "tools/call",
        json!({"name": "logs", "arguments": {}, "_meta": {"io.modelcontextprotocol/logLevel": "error", "traceparent": tp}}),
    );
    let r = post(&s.url, &b).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "text/event-stream")
    );
    let events = r.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["method"], "notifications/message");
    assert_eq!(events[0]["params"]["level"], "error");
    assert_eq!(events[0]["params"]["_meta"]["traceparent"], tp);
    assert_eq!(
        (
            events[1]["id"].clone(),
            events[1]["result"]["resultType"].clone()
        ),
        (json!(51), json!("complete"))
    );
    // Progress with a token: SSE if accepted, JSON otherwise.
    let b = body(
        52,
        "tools/call",
        json!({"name": "progress", "arguments": {}, "_meta": {"progressToken": "p1"}}),
    );
    let events = post(&s.url, &b).await.events();
    assert_eq!(events[0]["params"]["progressToken"], "p1");
    assert_eq!(events[1]["result"]["content"][0]["text"], "done");
    let r = post_raw(&s.url, &std_headers(&b), "application/json", &b).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(r.json()["result"]["content"][0]["text"], "done");
}

/// Reads SSE messages from a streaming response until `n` arrived.
async fn next_events(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    n: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        if let Some(pos) = buf.find("\n\n") {
            let frame: String = buf.drain(..pos + 2).collect();
            out.extend(
                frame
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .filter(|d| !d.is_empty())
                    .map(|d| serde_json::from_str::<Value>(d).unwrap()),
            );
            continue;
        }
        let chunk = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("timed out")
            .expect("stream ended")
            .unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    out
}

#[tokio::test]
async fn subscriptions_listen() {
    let s = start(options().listen_lifetime(Duration::from_secs(3))).await;
    let b = body(
        60,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "resourcesListChanged": true, "resourceSubscriptions": ["test://a"]}}),
    );
    let client = reqwest::Client::new();
    let mut rb = client
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", BOTH);
    for (k, v) in std_headers(&b) {
        rb = rb.header(k, v);
    }
    let res = rb.body(b.to_string()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let ack = next_events(&mut stream, &mut buf, 1).await.remove(0);
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        60
    );
    // The agreed subset: resourcesListChanged is not offered by this server.
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["test://a"]})
    );

    // Only the agreed kinds and URIs arrive, each tagged with the subscription id.
    s.server.emit(ServerEvent::PromptsListChanged);
    s.server.emit(ServerEvent::ResourcesListChanged);
    s.server.notify_resource_updated("test://other");
    s.server.notify_resource_updated("test://a");
    s.server.emit(ServerEvent::ToolsListChanged);
    let got = next_events(&mut stream, &mut buf, 2).await;
    assert_eq!(
        got,
        vec![
            json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
                "params": {"uri": "test://a", "_meta": {"io.modelcontextprotocol/subscriptionId": 60}}}),
            json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed",
                "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": 60}}}),
        ]
    );
    // The lifetime bound ends the stream with a result carrying the subscription id.
    let end = next_events(&mut stream, &mut buf, 1).await.remove(0);
    assert_eq!(end["id"], 60);
    assert_eq!(
        end["result"],
        json!({"resultType": "complete", "_meta": {"io.modelcontextprotocol/subscriptionId": 60}})
    );
}

#[tokio::test]
async fn a_tool_the_policy_hides_is_not_told_apart_by_its_param_headers() {
    use mcp_rs_server::policy::{AccessPolicy, Rule};
    let tool_with_header = |name: &str| {
        ToolDef::builder(name)
            .input_schema(object(json!({"type": "object", "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"}}})))
            .handler_fn(|_ctx: RequestContext, _a: Map<String, Value>| async move {
                Ok::<_, McpError>(CallToolResult::text("ok"))
            })
    };
    let server = Server::builder()
        .name("hidden-headers")
        .version("1")
        .protocol(options())
        .tool(tool_with_header("admin_regional"))
        .tool(tool_with_header("regional"))
        .access_policy(
            AccessPolicy::builder()
                .rule(Rule::deny("no-admin").tools(["admin_*"]))
                .build()
                .unwrap(),
        )
        .build();
    let s = start_server(server).await;
    // Arguments whose Mcp-Param-Region header is missing: a visible tool is 400 -32020 …
    let call = |id: i64, name: &str| {
        body(
            id,
            "tools/call",
            json!({"name": name, "arguments": {"region": "eu"}}),
        )
    };
    let visible = call(1, "regional");
    assert_error(&post(&s.url, &visible).await, 400, -32020, json!(1));
    // … but the hidden tool answers exactly as a tool that does not exist.
    for (id, name) in [(2, "admin_regional"), (3, "no_such_tool")] {
        let r = post(&s.url, &call(id, name)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json()["error"],
            json!({"code": -32602, "message": format!("Unknown tool: {name}")}),
            "{name}"
        );
    }
}
