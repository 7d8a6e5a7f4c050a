//! The server core through its public API only, as another crate sees it: hand-written
//! handler traits, a custom transport on `Server::handle`, the stdio transport over in-memory
//! pipes, runtime registration and the event bus.

use mcp_rs_server::mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_server::prelude::*;
use mcp_rs_server::resource::ResourceTemplateDef;
use mcp_rs_server::tool::{ToolDef, ToolHandler};
use mcp_rs_server::transport::memory;
use mcp_rs_server::{Exchange, MessageSink, Outcome, ServerEvent, async_trait};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

struct Greeter {
    greeting: String,
}

#[async_trait]
impl ToolHandler for Greeter {
    async fn call(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<CallToolResult, McpError> {
        let name = args.get("name").and_then(Value::as_str).unwrap_or("world");
        ctx.log(LoggingLevel::Info, json!({"greeting": name}))
            .await?;
        Ok(CallToolResult::text(format!("{}, {name}!", self.greeting)))
    }
}

fn server() -> Server {
    let tool = mcp_rs_server::mcp_rs_core::schema::Tool::new(
        "greet",
        "Greets someone.",
        serde_json::from_value(
            json!({"type": "object", "properties": {"name": {"type": "string"}}}),
        )
        .unwrap(),
    );
    Server::builder()
        .name("core-api")
        .version("1.0.0")
        .tool(ToolDef::new(
            tool,
            Greeter {
                greeting: "Hello".into(),
            },
        ))
        .resource_template(
            ResourceTemplateDef::builder("search://{q}{?limit}", "search").handler_fn(
                |_ctx, _uri, vars| async move {
                    format!("q={} limit={:?}", vars["q"], vars.get("limit"))
                },
            ),
        )
        .build()
}

/// A transport that records what the server sends outside responses.
#[derive(Default)]
struct Recorder(Mutex<Vec<JsonRpcMessage>>);

impl MessageSink for Recorder {
    fn send(&self, msg: JsonRpcMessage) -> bool {
        self.0.lock().unwrap().push(msg);
        true
    }
}

#[tokio::test]
async fn a_custom_transport_on_server_handle() {
    let server = server();
    let sink = Arc::new(Recorder::default());
    let session = server.create_session(sink.clone());
    let init = JsonRpcMessage::request(
        1,
        "initialize",
        Some(
            json!({"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "custom", "version": "1"}}),
        ),
    );
    let Outcome::Reply(JsonRpcMessage::Response(r)) = server
        .handle(init, Exchange::with_session(session.clone()))
        .await
    else {
        panic!("initialize must be answered")
    };
    assert_eq!(r.result["protocolVersion"], "2025-03-26");
    let call = JsonRpcMessage::request(
        2,
        "tools/call",
        Some(json!({"name": "greet", "arguments": {"name": "Ada"}})),
    );
    let out = server
        .handle(call, Exchange::with_session(session.clone()))
        .await;
    assert_eq!(
        out,
        Outcome::Reply(JsonRpcMessage::response(
            RequestId::Number(2),
            json!({"content": [{"type": "text", "text": "Hello, Ada!"}], "isError": false})
        ))
    );
    let sent = sink.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].to_value()["params"],
        json!({"level": "info", "data": {"greeting": "Ada"}})
    );
    assert_eq!(
        server.session(session.id()).map(|s| s.id().to_owned()),
        Some(session.id().to_owned())
    );
    assert!(server.remove_session(session.id()).is_some());
    assert_eq!(server.session_count(), 0);
}

#[tokio::test]
async fn query_templates_bind_optional_variables() {
    let server = server();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    let r = client
        .request("resources/read", json!({"uri": "search://rust?limit=5"}))
        .await
        .unwrap();
    assert_eq!(r["contents"][0]["text"], "q=rust limit=Some(\"5\")");
    let r = client
        .request("resources/read", json!({"uri": "search://rust"}))
        .await
        .unwrap();
    assert_eq!(r["contents"][0]["text"], "q=rust limit=None");
}

#[tokio::test]
async fn stdio_transport_over_pipes() {
    let server = server();
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_io);
    let served = tokio::spawn(mcp_rs_server::transport::stdio::serve(
        server,
        server_read,
        server_write,
    ));
    let (client_read, mut client_write) = tokio::io::split(client_io);
    let mut lines = BufReader::new(client_read).lines();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "p", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "greet", "arguments": {}}}),
    ];
    for r in requests {
        client_write
            .write_all(format!("{r}\n").as_bytes())
            .await
            .unwrap();
    }
    client_write.shutdown().await.unwrap();
    let mut replies = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        replies.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    served.await.unwrap().unwrap();
    let by_id = |id: i64| replies.iter().find(|m| m["id"] == id).cloned().unwrap();
    assert_eq!(by_id(1)["result"]["protocolVersion"], "2024-11-05");
    assert_eq!(by_id(2)["result"]["content"][0]["text"], "Hello, world!");
}

#[tokio::test]
async fn runtime_changes_reach_the_event_bus_and_sessions() {
    let server = server();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    let mut events = server.subscribe_events();
    server
        .add_tool(
            ToolDef::builder("late").handler_fn(|_ctx, _a: Map<String, Value>| async { "late" }),
        )
        .unwrap();
    server.notify_resource_updated("search://x");
    assert_eq!(events.recv().await.unwrap(), ServerEvent::ToolsListChanged);
    assert_eq!(
        events.recv().await.unwrap(),
        ServerEvent::ResourceUpdated {
            uri: "search://x".into()
        }
    );
    let note = client.recv_timeout(Duration::from_secs(10)).await.unwrap();
    assert_eq!(note.method(), Some("notifications/tools/list_changed"));
    assert!(
        client.try_recv().await.is_none(),
        "not subscribed to search://x"
    );
}
