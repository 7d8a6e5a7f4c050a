//! Handler and error-path tests through the in-memory transport, pinning exact JSON-RPC
//! codes and result shapes.

use crate::completion::{CompletionContext, CompletionProvider, FnCompletions, StaticCompletions};
use crate::context::ElicitResponse;
use crate::identity::{OAuthContext, Scopes};
use crate::prelude::*;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::scope::ScopeRequirement;
use crate::server::{Exchange, Outcome};
use crate::tool::ToolDef;
use crate::transport::memory::{self, MemoryClient};
use async_trait::async_trait;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::schema::{CreateMessageRequestParams, ElicitAction, SamplingMessage};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

type Args = Map<String, Value>;

const WAIT: Duration = Duration::from_secs(10);

fn echo_tool(name: &str) -> ToolDef {
    ToolDef::builder(name).handler_fn(|_ctx, a: Args| async move { Json(a) })
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

fn calculator() -> crate::ServerBuilder {
    Server::builder()
        .name("test-server")
        .version("9.9.9")
        .instructions("be nice")
        .tool(
            ToolDef::builder("add")
                .description("Add.")
                .handler_fn(|_ctx, a: AddArgs| async move { a.a + a.b }),
        )
        .tool(
            ToolDef::builder("fail_tool").handler_fn(|_ctx, _a: Args| async {
                Err::<String, _>(ToolError::new("it broke"))
            }),
        )
        .tool(
            ToolDef::builder("fail_protocol").handler_fn(|_ctx, _a: Args| async {
                Err::<String, _>(McpError::invalid_params("bad thing"))
            }),
        )
        .tool(
            ToolDef::builder("fail_internal").handler_fn(|_ctx, _a: Args| async {
                Err::<String, _>(McpError::internal("database password is hunter2"))
            }),
        )
        .tool(
            ToolDef::builder("panics").handler_fn(|_ctx, _a: Args| async {
                if true {
                    panic!("boom");
                }
                "unreachable"
            }),
        )
        .resource(
            ResourceDef::builder("config://app", "config")
                .mime_type("application/json")
                .handler_fn(|_c, _u| async { "{}" }),
        )
        .resource_template(
            ResourceTemplateDef::builder("users://{id}/profile", "profile")
                .complete("id", StaticCompletions::new(["alice", "albert", "bob"]))
                .handler_fn(|_c, _u, vars| async move { format!("profile of {}", vars["id"]) }),
        )
        .resource_template(
            ResourceTemplateDef::builder("files:///{+path}", "file")
                .handler_fn(|_c, _u, vars| async move { vars["path"].clone() }),
        )
        .prompt(
            PromptDef::builder("code_review")
                .description("Review code.")
                .argument("code", "The code", true)
                .argument("language", "Language", false)
                .complete("language", StaticCompletions::new(["rust", "php"]))
                .handler_fn(|_c, args| async move {
                    let code = args["code"].as_str().unwrap_or_default().to_owned();
                    vec![PromptMessage::user(format!("Review: {code}"))]
                }),
        )
}

async fn connected(builder: crate::ServerBuilder) -> (Server, MemoryClient) {
    let server = builder.build();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    (server, client)
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

// ---- lifecycle ----

#[tokio::test]
async fn initialize_echoes_a_supported_version() {
    let server = calculator().build();
    let client = memory::connect(&server);
    let r = client
        .initialize_with("2025-06-18", json!({}))
        .await
        .unwrap();
    assert_eq!(r["protocolVersion"], "2025-06-18");
    assert_eq!(
        r["serverInfo"],
        json!({"name": "test-server", "version": "9.9.9"})
    );
    assert_eq!(r["instructions"], "be nice");
    assert_eq!(
        r["capabilities"],
        json!({
            "logging": {}, "completions": {},
            "tools": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true},
            "prompts": {"listChanged": true},
        })
    );
    assert_eq!(
        client.session().protocol_version(),
        Some(mcp_rs_core::ProtocolVersion::V2025_06_18)
    );
    assert_eq!(
        client.session().client_info().unwrap().name,
        "memory-client"
    );
}

#[tokio::test]
async fn initialize_offers_the_latest_for_unknown_versions() {
    let server = calculator().build();
    for requested in ["1999-01-01", "2026-07-28"] {
        let client = memory::connect(&server);
        let r = client.initialize_with(requested, json!({})).await.unwrap();
        assert_eq!(r["protocolVersion"], "2025-11-25");
    }
}

#[tokio::test]
async fn second_initialize_is_invalid_request() {
    let (_s, client) = connected(calculator()).await;
    let e = client.initialize().await.unwrap_err();
    assert_eq!(e.code, -32600);
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_works() {
    let server = calculator().build();
    let client = memory::connect(&server);
    assert_eq!(
        client.request("ping", Value::Null).await.unwrap(),
        json!({})
    );
    let e = client.request("tools/list", json!({})).await.unwrap_err();
    assert_eq!(e.code, -32600);
}

#[tokio::test]
async fn unknown_and_wrong_era_methods_are_method_not_found() {
    let (_s, client) = connected(calculator()).await;
    for m in [
        "nope/nothing",
        "server/discover",
        "subscriptions/listen",
        "sampling/createMessage",
    ] {
        let e = client.request(m, json!({})).await.unwrap_err();
        assert_eq!(e.code, -32601, "{m}");
    }
}

#[tokio::test]
async fn malformed_params_are_invalid_params() {
    let (_s, client) = connected(calculator()).await;
    let e = client
        .request("tools/call", json!({"arguments": {}}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32602);
    let e = client
        .request("resources/read", json!({"uri": 5}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32602);
}

// ---- tools ----

#[tokio::test]
async fn tools_list_and_call() {
    let (_s, client) = connected(calculator()).await;
    let list = client.request("tools/list", json!({})).await.unwrap();
    let names: Vec<_> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "add",
            "fail_internal",
            "fail_protocol",
            "fail_tool",
            "panics"
        ]
    );
    assert!(list.get("nextCursor").is_none());
    assert_eq!(
        list["tools"][0]["inputSchema"]["required"],
        json!(["a", "b"])
    );
    let r = client
        .request(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "5"}], "isError": false})
    );
}

#[tokio::test]
async fn unknown_tool_is_invalid_params() {
    let (_s, client) = connected(calculator()).await;
    let e = client
        .request("tools/call", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32602);
    assert_eq!(e.message, "Unknown tool: nope");
}

#[tokio::test]
async fn argument_violations_are_tool_errors_naming_the_field() {
    let (_s, client) = connected(calculator()).await;
    let r = client
        .request(
            "tools/call",
            json!({"name": "add", "arguments": {"a": "two", "b": 3}}),
        )
        .await
        .unwrap();
    assert_eq!(r["isError"], true);
    assert!(
        text(&r).starts_with("Invalid arguments: /a: "),
        "{}",
        text(&r)
    );
    let r = client
        .request("tools/call", json!({"name": "add", "arguments": {"a": 1}}))
        .await
        .unwrap();
    assert_eq!(r["isError"], true);
    assert!(
        text(&r).contains("\"b\" is a required property"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn tool_failures_map_to_results_or_errors() {
    let (_s, client) = connected(calculator()).await;
    let r = client
        .request("tools/call", json!({"name": "fail_tool"}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "it broke"}], "isError": true})
    );
    let e = client
        .request("tools/call", json!({"name": "fail_protocol"}))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (-32602, "bad thing"));
    let e = client
        .request("tools/call", json!({"name": "fail_internal"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str(), e.data),
        (-32603, "Internal error", None)
    );
}

#[tokio::test]
async fn a_panicking_tool_is_an_internal_error_and_the_server_survives() {
    let (_s, client) = connected(calculator()).await;
    let e = client
        .request("tools/call", json!({"name": "panics"}))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (-32603, "Internal error"));
    let r = client
        .request(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(text(&r), "2");
}

#[tokio::test]
async fn structured_output_is_mirrored_as_text() {
    let (_s, client) = connected(Server::builder().tool(echo_tool("echo"))).await;
    let r = client
        .request("tools/call", json!({"name": "echo", "arguments": {"x": 1}}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "{\"x\":1}"}], "structuredContent": {"x": 1}, "isError": false})
    );
}

#[tokio::test]
async fn pagination_walks_every_page_and_rejects_bad_cursors() {
    let mut b = Server::builder().page_size(2);
    for i in 0..5 {
        b = b.tool(echo_tool(&format!("t{i}")));
    }
    let (_s, client) = connected(b).await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
        let page = client.request("tools/list", params).await.unwrap();
        pages += 1;
        names.extend(
            page["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, vec!["t0", "t1", "t2", "t3", "t4"]);
    for bad in ["garbage", "", "dDA"] {
        let e = client
            .request("tools/list", json!({"cursor": bad}))
            .await
            .unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (-32602, "Invalid cursor"));
    }
    let tools_cursor = client.request("tools/list", json!({})).await.unwrap()["nextCursor"].clone();
    let e = client
        .request("prompts/list", json!({"cursor": tools_cursor}))
        .await
        .unwrap_err();
    assert_eq!(
        e.code, -32602,
        "a cursor of one list is not valid for another"
    );
}

// ---- scopes ----

fn scoped() -> crate::ServerBuilder {
    Server::builder()
        .tool(
            ToolDef::builder("write")
                .scopes(ScopeRequirement::all(["mcp:write"]))
                .handler_fn(|ctx: RequestContext, _a: Args| async move {
                    ctx.oauth().map(|o| o.subject.clone()).unwrap_or_default()
                }),
        )
        .tool(echo_tool("open"))
        .prompt(
            PromptDef::builder("secret")
                .scopes(ScopeRequirement::any(["admin"]))
                .handler_fn(|_c, _a| async { "s" }),
        )
        .resource(
            ResourceDef::builder("secret://x", "x")
                .scopes(ScopeRequirement::all(["admin"]))
                .handler_fn(|_c, _u| async { "x" }),
        )
}

#[tokio::test]
async fn scopes_without_identity_are_denied_by_default() {
    let (_s, client) = connected(scoped()).await;
    let r = client
        .request("tools/call", json!({"name": "write"}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "insufficient scope: requires mcp:write"}], "isError": true})
    );
    let e = client
        .request("prompts/get", json!({"name": "secret"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-32602, "insufficient scope: requires admin")
    );
    let e = client
        .request("resources/read", json!({"uri": "secret://x"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32602);
}

#[tokio::test]
async fn scopes_are_checked_against_the_identity() {
    let (_s, client) = connected(scoped()).await;
    client.set_identity(Some(OAuthContext::new(
        "alice",
        Scopes::from_space_separated("mcp:read"),
    )));
    let r = client
        .request("tools/call", json!({"name": "write"}))
        .await
        .unwrap();
    assert_eq!(r["isError"], true);
    client.set_identity(Some(OAuthContext::new(
        "alice",
        Scopes::from_space_separated("mcp:read mcp:write"),
    )));
    let r = client
        .request("tools/call", json!({"name": "write"}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"content": [{"type": "text", "text": "alice"}], "isError": false})
    );
}

#[tokio::test]
async fn scope_enforcement_without_identity_can_be_relaxed() {
    let (_s, client) = connected(scoped().enforce_scopes_without_identity(false)).await;
    let r = client
        .request("tools/call", json!({"name": "write"}))
        .await
        .unwrap();
    assert_eq!(r["isError"], false);
}

#[tokio::test]
async fn unauthorized_items_can_be_hidden_from_lists() {
    let (_s, client) = connected(scoped().hide_unauthorized_items(true)).await;
    let list = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(list["tools"].as_array().unwrap().len(), 1);
    assert_eq!(list["tools"][0]["name"], "open");
    assert_eq!(
        client.request("prompts/list", json!({})).await.unwrap()["prompts"],
        json!([])
    );
    assert_eq!(
        client.request("resources/list", json!({})).await.unwrap()["resources"],
        json!([])
    );
    client.set_identity(Some(OAuthContext::new(
        "root",
        Scopes::from_space_separated("admin mcp:write"),
    )));
    assert_eq!(
        client.request("tools/list", json!({})).await.unwrap()["tools"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[cfg(feature = "http")]
#[tokio::test]
async fn http_exchanges_get_a_forbidden_outcome() {
    let server = scoped().build();
    let session = server.create_detached_session();
    let client_init = JsonRpcMessage::request(
        1,
        "initialize",
        Some(
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}),
        ),
    );
    server
        .handle(client_init, Exchange::with_session(session.clone()))
        .await;
    let (parts, ()) = http::Request::new(()).into_parts();
    let ex = Exchange {
        session: Some(session),
        http: Some(Arc::new(parts)),
        ..Exchange::default()
    };
    let out = server
        .handle(
            JsonRpcMessage::request(2, "tools/call", Some(json!({"name": "write"}))),
            ex,
        )
        .await;
    assert_eq!(
        out,
        Outcome::Forbidden {
            id: RequestId::Number(2),
            required: ScopeRequirement::all(["mcp:write"])
        }
    );
}

// ---- resources ----

#[tokio::test]
async fn resources_list_templates_and_read() {
    let (_s, client) = connected(calculator()).await;
    let list = client.request("resources/list", json!({})).await.unwrap();
    assert_eq!(
        list,
        json!({"resources": [{"uri": "config://app", "name": "config", "mimeType": "application/json"}]})
    );
    let t = client
        .request("resources/templates/list", json!({}))
        .await
        .unwrap();
    let templates: Vec<_> = t["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(templates, vec!["files:///{+path}", "users://{id}/profile"]);
    let r = client
        .request("resources/read", json!({"uri": "config://app"}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"contents": [{"uri": "config://app", "mimeType": "application/json", "text": "{}"}]})
    );
    let r = client
        .request("resources/read", json!({"uri": "users://42/profile"}))
        .await
        .unwrap();
    assert_eq!(r["contents"][0]["text"], "profile of 42");
    assert_eq!(r["contents"][0]["uri"], "users://42/profile");
    let r = client
        .request(
            "resources/read",
            json!({"uri": "files:///etc/app/conf.toml"}),
        )
        .await
        .unwrap();
    assert_eq!(r["contents"][0]["text"], "etc/app/conf.toml");
}

#[tokio::test]
async fn missing_resource_is_32002_with_uri() {
    let (_s, client) = connected(calculator()).await;
    let e = client
        .request("resources/read", json!({"uri": "nothing://here"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32002);
    assert_eq!(e.data, Some(json!({"uri": "nothing://here"})));
}

#[tokio::test]
async fn missing_resource_in_the_stateless_era_is_32602() {
    let server = calculator().build();
    let env = crate::protocol::StatelessEnvelope {
        protocol_version: mcp_rs_core::ProtocolVersion::V2026_07_28,
        client_capabilities: Default::default(),
        client_info: None,
        log_level: None,
        progress_token: None,
        trace: None,
        input_responses: None,
        request_state: None,
    };
    let ex = Exchange {
        stateless: Some(env),
        ..Exchange::default()
    };
    let out = server
        .handle(
            JsonRpcMessage::request(1, "resources/read", Some(json!({"uri": "no://x"}))),
            ex,
        )
        .await;
    let Outcome::Reply(JsonRpcMessage::Error(e)) = out else {
        panic!("expected an error, got {out:?}")
    };
    assert_eq!(e.error.code, -32602);
    assert_eq!(e.error.data, Some(json!({"uri": "no://x"})));
}

#[tokio::test]
async fn subscriptions_deliver_updates_to_subscribers_only() {
    let server = calculator().build();
    let a = memory::connect(&server);
    let b = memory::connect(&server);
    a.initialize().await.unwrap();
    b.initialize().await.unwrap();
    assert_eq!(
        a.request("resources/subscribe", json!({"uri": "config://app"}))
            .await
            .unwrap(),
        json!({})
    );
    server.notify_resource_updated("config://app");
    let note = a.recv_timeout(WAIT).await.unwrap();
    assert_eq!(
        note.to_value(),
        json!({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "config://app"}})
    );
    assert!(b.try_recv().await.is_none());
    assert_eq!(
        a.request("resources/unsubscribe", json!({"uri": "config://app"}))
            .await
            .unwrap(),
        json!({})
    );
    server.notify_resource_updated("config://app");
    assert!(a.try_recv().await.is_none());
}

// ---- prompts ----

#[tokio::test]
async fn prompts_list_and_get() {
    let (_s, client) = connected(calculator()).await;
    let list = client.request("prompts/list", json!({})).await.unwrap();
    assert_eq!(
        list["prompts"][0],
        json!({"name": "code_review", "description": "Review code.", "arguments": [
            {"name": "code", "description": "The code", "required": true},
            {"name": "language", "description": "Language", "required": false}]})
    );
    let r = client
        .request(
            "prompts/get",
            json!({"name": "code_review", "arguments": {"code": "fn x(){}"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"messages": [{"role": "user", "content": {"type": "text", "text": "Review: fn x(){}"}}]})
    );
}

#[tokio::test]
async fn prompt_errors_are_invalid_params() {
    let (_s, client) = connected(calculator()).await;
    let e = client
        .request("prompts/get", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-32602, "Unknown prompt: nope")
    );
    let e = client
        .request(
            "prompts/get",
            json!({"name": "code_review", "arguments": {}}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-32602, "Missing required arguments: code")
    );
}

// ---- completion ----

#[tokio::test]
async fn completion_of_prompt_and_template_arguments() {
    let (_s, client) = connected(calculator()).await;
    let r = client
        .request("completion/complete", json!({"ref": {"type": "ref/prompt", "name": "code_review"}, "argument": {"name": "language", "value": "R"}}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"completion": {"values": ["rust"], "total": 1, "hasMore": false}})
    );
    let r = client
        .request("completion/complete", json!({"ref": {"type": "ref/resource", "uri": "users://{id}/profile"}, "argument": {"name": "id", "value": "al"}}))
        .await
        .unwrap();
    assert_eq!(r["completion"]["values"], json!(["alice", "albert"]));
    let r = client
        .request("completion/complete", json!({"ref": {"type": "ref/prompt", "name": "code_review"}, "argument": {"name": "code", "value": ""}}))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"completion": {"values": [], "total": 0, "hasMore": false}})
    );
    let e = client
        .request("completion/complete", json!({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "x", "value": ""}}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32602);
}

struct Many;

#[async_trait]
impl CompletionProvider for Many {
    async fn complete(
        &self,
        _ctx: &RequestContext,
        value: &str,
        context: &CompletionContext,
    ) -> Result<Vec<String>, McpError> {
        let prefix = context.arguments.get("prefix").cloned().unwrap_or_default();
        Ok((0..250).map(|i| format!("{prefix}{value}{i}")).collect())
    }
}

#[tokio::test]
async fn completion_caps_at_100_and_passes_context_arguments() {
    let b = calculator()
        .prompt_completion("code_review", "code", Many)
        .template_completion(
            "files:///{+path}",
            "path",
            FnCompletions::new(|v: String, _c| async move { Ok(vec![format!("{v}/")]) }),
        );
    let (_s, client) = connected(b).await;
    let r = client
        .request(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "code_review"}, "argument": {"name": "code", "value": "v"},
                   "context": {"arguments": {"prefix": "p-"}}}),
        )
        .await
        .unwrap();
    let values = r["completion"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 100);
    assert_eq!(values[0], "p-v0");
    assert_eq!(
        (
            r["completion"]["total"].clone(),
            r["completion"]["hasMore"].clone()
        ),
        (json!(250), json!(true))
    );
    let r = client
        .request("completion/complete", json!({"ref": {"type": "ref/resource", "uri": "files:///{+path}"}, "argument": {"name": "path", "value": "etc"}}))
        .await
        .unwrap();
    assert_eq!(r["completion"]["values"], json!(["etc/"]));
}

// ---- logging and progress ----

fn chatty() -> crate::ServerBuilder {
    Server::builder().tool(ToolDef::builder("chatty").handler_fn(
        |ctx: RequestContext, _a: Args| async move {
            for level in [
                LoggingLevel::Debug,
                LoggingLevel::Info,
                LoggingLevel::Warning,
                LoggingLevel::Error,
            ] {
                ctx.log(level, json!(level.as_str())).await?;
            }
            ctx.progress(1.0, Some(2.0), Some("half".into())).await;
            Ok::<_, McpError>("done")
        },
    ))
}

async fn drain(client: &MemoryClient) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(m) = client.try_recv().await {
        out.push(m.to_value());
    }
    out
}

#[tokio::test]
async fn log_messages_honour_set_level_and_default() {
    let (_s, client) = connected(chatty()).await;
    client
        .request("tools/call", json!({"name": "chatty"}))
        .await
        .unwrap();
    let levels: Vec<_> = drain(&client)
        .await
        .iter()
        .map(|m| m["params"]["level"].clone())
        .collect();
    assert_eq!(
        levels,
        vec![json!("info"), json!("warning"), json!("error")],
        "default level is info"
    );
    assert_eq!(
        client
            .request("logging/setLevel", json!({"level": "error"}))
            .await
            .unwrap(),
        json!({})
    );
    client
        .request("tools/call", json!({"name": "chatty"}))
        .await
        .unwrap();
    let msgs = drain(&client).await;
    assert_eq!(
        msgs,
        vec![
            json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "error", "data": "error"}})
        ]
    );
    let e = client
        .request("logging/setLevel", json!({"level": "loud"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32602);
}

#[tokio::test]
async fn progress_is_sent_only_with_a_token() {
    let (_s, client) = connected(chatty()).await;
    client
        .request("logging/setLevel", json!({"level": "emergency"}))
        .await
        .unwrap();
    client
        .request(
            "tools/call",
            json!({"name": "chatty", "_meta": {"progressToken": "tok-1"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        drain(&client).await,
        vec![json!({"jsonrpc": "2.0", "method": "notifications/progress",
                    "params": {"progressToken": "tok-1", "progress": 1, "total": 2, "message": "half"}})]
    );
    client
        .request("tools/call", json!({"name": "chatty"}))
        .await
        .unwrap();
    assert!(drain(&client).await.is_empty());
}

// ---- concurrency and cancellation ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_tool_does_not_block_others_and_can_be_cancelled() {
    let gate = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let (g, s) = (gate.clone(), started.clone());
    let b = calculator().tool(ToolDef::builder("slow").handler_fn(
        move |ctx: RequestContext, _a: Args| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                s.notify_one();
                tokio::select! {
                    () = g.notified() => "released",
                    () = ctx.cancellation().cancelled() => "cancelled",
                }
            }
        },
    ));
    let (_s, client) = connected(b).await;
    let slow = {
        let c = client.clone();
        tokio::spawn(async move {
            c.request_with_id(
                RequestId::from("slow-1"),
                "tools/call",
                json!({"name": "slow"}),
            )
            .await
        })
    };
    tokio::time::timeout(WAIT, started.notified())
        .await
        .unwrap();
    let fast = client
        .request(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        )
        .await
        .unwrap();
    assert_eq!(text(&fast), "3");
    assert_eq!(client.session().in_flight(), 1);
    client
        .notify(
            "notifications/cancelled",
            json!({"requestId": "slow-1", "reason": "user"}),
        )
        .await;
    let e = tokio::time::timeout(WAIT, slow)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        e.message, "no reply",
        "a cancelled request gets no response"
    );
    assert_eq!(client.session().in_flight(), 0);
}

// ---- runtime registration ----

#[tokio::test]
async fn runtime_registration_announces_list_changes() {
    let (server, client) = connected(calculator()).await;
    let mut events = server.subscribe_events();
    server.add_tool(echo_tool("new_tool")).unwrap();
    assert_eq!(
        client.recv_timeout(WAIT).await.unwrap().method(),
        Some("notifications/tools/list_changed")
    );
    assert_eq!(
        events.recv().await.unwrap(),
        crate::ServerEvent::ToolsListChanged
    );
    let list = client.request("tools/list", json!({})).await.unwrap();
    assert!(
        list["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "new_tool")
    );
    let dup = server.add_tool(echo_tool("new_tool")).unwrap_err();
    assert!(matches!(
        dup,
        crate::BuildError::Duplicate { kind: "tool", .. }
    ));
    assert!(server.remove_tool("new_tool"));
    assert!(!server.remove_tool("new_tool"));
    assert_eq!(
        client.recv_timeout(WAIT).await.unwrap().method(),
        Some("notifications/tools/list_changed")
    );
    assert!(server.remove_prompt("code_review"));
    assert_eq!(
        client.recv_timeout(WAIT).await.unwrap().method(),
        Some("notifications/prompts/list_changed")
    );
    assert!(server.remove_resource("config://app"));
    assert_eq!(
        client.recv_timeout(WAIT).await.unwrap().method(),
        Some("notifications/resources/list_changed")
    );
    let e = client
        .request("resources/read", json!({"uri": "config://app"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32002);
}

// ---- server→client requests ----

fn peer_tools() -> crate::ServerBuilder {
    #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
    struct Contact {
        email: String,
    }
    Server::builder()
        .request_timeout(Duration::from_millis(300))
        .tool(
            ToolDef::builder("sample").handler_fn(|ctx: RequestContext, _a: Args| async move {
                let r = ctx
                    .sample(CreateMessageRequestParams::new(
                        vec![SamplingMessage::user_text("hi")],
                        10,
                    ))
                    .await?;
                Ok::<_, McpError>(r.model)
            }),
        )
        .tool(
            ToolDef::builder("elicit").handler_fn(|ctx: RequestContext, _a: Args| async move {
                match ctx.elicit::<Contact>("Your email?").await? {
                    ElicitResponse::Accept(c) => Ok::<_, McpError>(c.email),
                    ElicitResponse::Decline => Ok("declined".into()),
                    ElicitResponse::Cancel => Ok("cancelled".into()),
                }
            }),
        )
        .tool(ToolDef::builder("elicit_url").handler_fn(
            |ctx: RequestContext, _a: Args| async move {
                let a = ctx
                    .elicit_url("Log in", "https://example.com/login", "e-1")
                    .await?;
                Ok::<_, McpError>(format!("{a:?}"))
            },
        ))
        .tool(
            ToolDef::builder("roots").handler_fn(|ctx: RequestContext, _a: Args| async move {
                let roots = ctx.list_roots().await?;
                Ok::<_, McpError>(
                    roots
                        .into_iter()
                        .map(|r| r.uri)
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }),
        )
}

/// Calls `tool`, answers the server→client request it sends with `answer`, returns the
/// request the server sent and the tool's result.
async fn round_trip(client: &MemoryClient, tool: &str, answer: Value) -> (Value, Value) {
    let call = {
        let (c, tool) = (client.clone(), tool.to_owned());
        tokio::spawn(async move { c.request("tools/call", json!({"name": tool})).await })
    };
    let req = client
        .recv_timeout(WAIT)
        .await
        .expect("a server→client request");
    let JsonRpcMessage::Request(r) = &req else {
        panic!("expected a request, got {req:?}")
    };
    client.respond(r.id.clone(), answer).await;
    let result = tokio::time::timeout(WAIT, call)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    (req.to_value(), result)
}

#[tokio::test]
async fn peer_requests_need_client_capabilities() {
    let (_s, client) = connected(peer_tools()).await;
    for (tool, cap) in [
        ("sample", "sampling"),
        ("elicit", "elicitation.form"),
        ("elicit_url", "elicitation.url"),
        ("roots", "roots"),
    ] {
        let e = client
            .request("tools/call", json!({"name": tool}))
            .await
            .unwrap_err();
        assert_eq!(e.code, -32021, "{tool}");
        assert_eq!(e.message, format!("client does not support {cap}"));
    }
}

#[tokio::test]
async fn sampling_elicitation_and_roots_round_trip() {
    let server = peer_tools().build();
    let client = memory::connect(&server);
    client
        .initialize_with(
            "2025-11-25",
            json!({"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {}}),
        )
        .await
        .unwrap();

    let (req, result) = round_trip(
        &client,
        "sample",
        json!({"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m-1"}),
    )
    .await;
    assert_eq!(req["method"], "sampling/createMessage");
    assert_eq!(req["params"]["maxTokens"], 10);
    assert_eq!(text(&result), "m-1");

    let (req, result) = round_trip(
        &client,
        "elicit",
        json!({"action": "accept", "content": {"email": "a@b.c"}}),
    )
    .await;
    assert_eq!(req["method"], "elicitation/create");
    assert_eq!(
        req["params"]["requestedSchema"],
        json!({"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]})
    );
    assert_eq!(text(&result), "a@b.c");
    let (_, result) = round_trip(&client, "elicit", json!({"action": "decline"})).await;
    assert_eq!(text(&result), "declined");

    let (req, result) = round_trip(&client, "elicit_url", json!({"action": "accept"})).await;
    assert_eq!(req["params"]["mode"], "url");
    assert_eq!(req["params"]["elicitationId"], "e-1");
    assert_eq!(text(&result), format!("{:?}", ElicitAction::Accept));

    let (req, result) = round_trip(
        &client,
        "roots",
        json!({"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]}),
    )
    .await;
    assert_eq!(req["method"], "roots/list");
    assert_eq!(text(&result), "file:///a,file:///b");
}

#[tokio::test]
async fn peer_errors_and_timeouts() {
    let server = peer_tools().build();
    let client = memory::connect(&server);
    client
        .initialize_with("2025-11-25", json!({"sampling": {}, "roots": {}}))
        .await
        .unwrap();
    // The client answers with an error: it reaches the tool as a protocol error.
    let call = {
        let c = client.clone();
        tokio::spawn(async move { c.request("tools/call", json!({"name": "roots"})).await })
    };
    let Some(JsonRpcMessage::Request(r)) = client.recv_timeout(WAIT).await else {
        panic!("expected a request")
    };
    client
        .respond_error(
            r.id,
            mcp_rs_core::ErrorObject::invalid_params("no roots for you"),
        )
        .await;
    let e = call.await.unwrap().unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (-32602, "no roots for you"));
    // No answer: the request times out (generic error to the caller) and is cancelled.
    let e = client
        .request("tools/call", json!({"name": "sample"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, -32603);
    let _sampling_request = client.recv_timeout(WAIT).await.unwrap();
    let cancelled = client.recv_timeout(WAIT).await.unwrap();
    assert_eq!(cancelled.method(), Some("notifications/cancelled"));
    assert_eq!(cancelled.to_value()["params"]["reason"], "timed out");
}

// ---- session values through the context ----

#[tokio::test]
async fn session_values_persist_across_requests() {
    #[derive(Clone, Default)]
    struct Counter(u32);
    let b = Server::builder().tool(ToolDef::builder("count").handler_fn(
        |ctx: RequestContext, _a: Args| async move {
            let s = ctx.session().expect("a session");
            s.with::<Counter, _>(|c| {
                c.0 += 1;
                c.0
            })
        },
    ));
    let (server, client) = connected(b).await;
    for expected in ["1", "2", "3"] {
        assert_eq!(
            text(
                &client
                    .request("tools/call", json!({"name": "count"}))
                    .await
                    .unwrap()
            ),
            expected
        );
    }
    let other = memory::connect(&server);
    other.initialize().await.unwrap();
    assert_eq!(
        text(
            &other
                .request("tools/call", json!({"name": "count"}))
                .await
                .unwrap()
        ),
        "1"
    );
}

#[tokio::test]
async fn responses_to_unknown_requests_are_ignored() {
    let (_s, client) = connected(calculator()).await;
    let out = client
        .send(JsonRpcMessage::response(RequestId::Number(999), json!({})))
        .await;
    assert_eq!(out, Outcome::NoReply);
    let out = client
        .send(JsonRpcMessage::notification("notifications/whatever", None))
        .await;
    assert_eq!(out, Outcome::NoReply);
}
