//! One tool body for both eras: a handler returning `InputRequired` is served to a
//! handshake-era client with real server→client requests, then re-run with the answers.

use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_core::schema::{
    CallToolResult, ElicitResult, ElicitationSchema, ListRootsResult, StringSchema,
};
use mcp_rs_server::Server;
use mcp_rs_server::protocol::ProtocolOptions;
use mcp_rs_server::protocol::mrtr::{InputRequired, InputResponsesExt};
use mcp_rs_server::transport::memory::{self, MemoryClient};
use mcp_tests::tools::tool;
use serde_json::{Value, json};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

fn server() -> Server {
    Server::builder()
        .protocol(ProtocolOptions::default().max_input_rounds(3))
        .tool(tool("two_rounds", |ctx| async move {
            let state = ctx.request_state_as::<Value>()?.unwrap_or(Value::Null);
            if state["step"] == 2 {
                let roots = ctx
                    .input_response_as::<ListRootsResult>("roots")?
                    .map_or(0, |r| r.roots.len());
                return Ok(CallToolResult::text(format!(
                    "{} with {roots} root(s)",
                    state["name"].as_str().unwrap_or("?")
                )));
            }
            if let Some(answer) = ctx.input_response_as::<ElicitResult>("name")? {
                let name = answer
                    .content
                    .and_then(|c| c.get("name").cloned())
                    .unwrap_or_default();
                return Err(InputRequired::new()
                    .list_roots("roots")
                    .state(json!({"step": 2, "name": name}))
                    .into());
            }
            Err(InputRequired::new()
                .elicit(
                    "name",
                    "Name?",
                    ElicitationSchema::new().property("name", StringSchema::default(), true),
                )
                .into())
        }))
        .tool(tool("forever", |_ctx| async move {
            Err(InputRequired::new().list_roots("r").into())
        }))
        .build()
}

/// Answers the server's requests until `call` completes.
async fn drive(
    client: &MemoryClient,
    call: tokio::task::JoinHandle<Result<Value, mcp_rs_core::ErrorObject>>,
) -> (Vec<String>, Result<Value, mcp_rs_core::ErrorObject>) {
    let mut seen = Vec::new();
    let mut call = call;
    loop {
        tokio::select! {
            r = &mut call => return (seen, r.unwrap()),
            m = client.recv_timeout(PATIENCE) => {
                let Some(JsonRpcMessage::Request(req)) = m else { continue };
                seen.push(req.method.clone());
                let answer = match req.method.as_str() {
                    "elicitation/create" => json!({"action": "accept", "content": {"name": "Bob"}}),
                    "roots/list" => json!({"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]}),
                    other => panic!("unexpected {other}"),
                };
                client.respond(req.id, answer).await;
            }
        }
    }
}

#[tokio::test]
async fn handshake_client_gets_real_requests_and_the_final_result() {
    let server = server();
    let client = memory::connect(&server);
    client
        .initialize_with("2025-11-25", json!({"elicitation": {}, "roots": {}}))
        .await
        .unwrap();
    let c = client.clone();
    let call =
        tokio::spawn(async move { c.request("tools/call", json!({"name": "two_rounds"})).await });
    let (seen, result) = drive(&client, call).await;
    assert_eq!(seen, ["elicitation/create", "roots/list"]);
    let result = result.unwrap();
    assert_eq!(result["content"][0]["text"], "Bob with 2 root(s)");
    assert!(
        result.get("resultType").is_none(),
        "handshake-era results carry no resultType: {result}"
    );
}

#[tokio::test]
async fn handshake_client_without_the_capability_gets_32021() {
    let server = server();
    let client = memory::connect(&server);
    client
        .initialize_with("2025-11-25", json!({"roots": {}}))
        .await
        .unwrap();
    let err = client
        .request("tools/call", json!({"name": "two_rounds"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, -32021);
    assert_eq!(
        err.data,
        Some(json!({"requiredCapabilities": {"elicitation": {}}}))
    );
}

#[tokio::test]
async fn input_rounds_are_bounded() {
    let server = server();
    let client = memory::connect(&server);
    client
        .initialize_with("2025-11-25", json!({"roots": {}}))
        .await
        .unwrap();
    let c = client.clone();
    let call =
        tokio::spawn(async move { c.request("tools/call", json!({"name": "forever"})).await });
    let (seen, result) = drive(&client, call).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(result.unwrap_err().code, -32603);
}
