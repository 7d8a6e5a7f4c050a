//! The tasks extension (SEP-2663) through the in-memory transport: creation, `tasks/get`,
//! `tasks/update`, `tasks/cancel`, gating on the extension, principal binding, limits, TTL,
//! and tools that start their task from the handler. Exact JSON, with the random task id and
//! the timestamps replaced by placeholders after they are checked.

use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_core::schema::{CallToolResult, ElicitResult, ElicitationSchema, StringSchema};
use mcp_rs_server::protocol::mrtr::{InputRequired, InputResponsesExt};
use mcp_rs_server::tasks::TaskConfig;
use mcp_rs_server::tool::{TaskStart, TaskSupport};
use mcp_rs_server::transport::memory::{self, MemoryClient};
use mcp_rs_server::{ErrorKind, McpError, RequestContext, Server};
use mcp_tests::tools::tool;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

const EXT: &str = "io.modelcontextprotocol/tasks";
const PATIENCE: Duration = Duration::from_secs(10);

/// Sleeps `ms` unless cancelled (then `Cancelled`, after setting `seen`).
async fn work(ctx: &RequestContext, ms: u64, seen: Option<&AtomicBool>) -> Result<(), McpError> {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(()),
        () = ctx.cancellation().cancelled() => {
            if let Some(s) = seen {
                s.store(true, Ordering::SeqCst);
            }
            Err(McpError::new(ErrorKind::Cancelled))
        }
    }
}

fn name_form() -> ElicitationSchema {
    ElicitationSchema::new().property("name", StringSchema::default(), true)
}

struct Fixture {
    server: Server,
    cancelled: Arc<AtomicBool>,
    release: Arc<Notify>,
}

fn fixture(config: TaskConfig) -> Fixture {
    let cancelled = Arc::new(AtomicBool::new(false));
    let release = Arc::new(Notify::new());
    let (seen, gate) = (cancelled.clone(), release.clone());
    let server = Server::builder()
        .tasks(config)
        .tool(tool("sync", |_ctx| async { Ok(CallToolResult::text("sync done")) }))
        .tool(
            tool("gated", move |ctx| {
                let gate = gate.clone();
                async move {
                    tokio::select! {
                        () = gate.notified() => Ok(CallToolResult::text("released")),
                        () = ctx.cancellation().cancelled() => Err(McpError::new(ErrorKind::Cancelled)),
                    }
                }
            })
            .with_task(TaskSupport::Optional),
        )
        .tool(
            tool("long", move |ctx| {
                let seen = seen.clone();
                async move {
                    work(&ctx, 60_000, Some(&seen)).await?;
                    Ok(CallToolResult::text("never"))
                }
            })
            .with_task(TaskSupport::Required),
        )
        .tool(tool("oops", |_ctx| async { Ok(CallToolResult::error_text("tool said no")) }).with_task(TaskSupport::Optional))
        .tool(tool("bad", |_ctx| async { Err(McpError::invalid_params("Invalid params: no")) }).with_task(TaskSupport::Optional))
        .tool(tool("boom", |_ctx| async { panic!("boom") }).with_task(TaskSupport::Optional))
        .tool(
            tool("two_names", |ctx| async move {
                let a = ctx.input_response_as::<ElicitResult>("a")?;
                let b = ctx.input_response_as::<ElicitResult>("b")?;
                match (a, b) {
                    (Some(a), Some(b)) => Ok(CallToolResult::text(format!(
                        "{} and {}",
                        a.content.unwrap_or_default()["name"],
                        b.content.unwrap_or_default()["name"]
                    ))),
                    _ => Err(InputRequired::new()
                        .elicit("a", "First?", name_form())
                        .elicit("b", "Second?", name_form())
                        .into()),
                }
            })
            .with_task(TaskSupport::Optional),
        )
        .tool(
            tool("escalating", |ctx| async move {
                let Some(answer) = ctx.input_response_as::<ElicitResult>("who")? else {
                    return Err(InputRequired::new().elicit("who", "Who?", name_form()).into());
                };
                let started = ctx.start_task().await?;
                let id = ctx.task_id().map(str::to_owned);
                Ok(CallToolResult::text(format!(
                    "hello {} (task: {started}, id known: {})",
                    answer.content.unwrap_or_default()["name"],
                    id.is_some()
                )))
            })
            .with_task(TaskSupport::Optional)
            .with_task_start(TaskStart::Handler),
        )
        .build();
    Fixture {
        server,
        cancelled,
        release,
    }
}

async fn client(server: &Server, with_extension: bool) -> MemoryClient {
    let c = memory::connect(server);
    let caps = if with_extension {
        json!({"elicitation": {}, "extensions": {EXT: {}}})
    } else {
        json!({"elicitation": {}})
    };
    c.initialize_with("2025-11-25", caps).await.unwrap();
    c
}

/// Checks the volatile members of a task (UUID id, RFC 3339 timestamps) and replaces them
/// with placeholders.
fn norm(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        if let Some(id) = m.get_mut("taskId") {
            assert_eq!(id.as_str().unwrap().len(), 36, "a UUID: {id}");
            *id = json!("<id>");
        }
        for key in ["createdAt", "lastUpdatedAt"] {
            if let Some(t) = m.get_mut(key) {
                let s = t.as_str().unwrap();
                assert!(
                    s.len() >= 20 && s.ends_with('Z') && &s[10..11] == "T",
                    "{key}: {s}"
                );
                *t = json!("<ts>");
            }
        }
    }
    v
}

async fn call(c: &MemoryClient, tool: &str) -> Result<Value, Value> {
    c.request("tools/call", json!({"name": tool, "arguments": {}}))
        .await
        .map_err(|e| serde_json::to_value(e).unwrap())
}

async fn task_op(c: &MemoryClient, method: &str, params: Value) -> Result<Value, Value> {
    c.request(method, params)
        .await
        .map_err(|e| serde_json::to_value(e).unwrap())
}

/// Polls `tasks/get` until the task's status is `status`.
async fn until(c: &MemoryClient, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let t = task_op(c, "tasks/get", json!({"taskId": id}))
            .await
            .unwrap();
        if t["status"] == status {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {t}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn created(v: &Value) -> String {
    assert_eq!(v["resultType"], "task", "{v}");
    v["taskId"].as_str().unwrap().to_owned()
}

fn missing_extension() -> Value {
    json!({
        "code": -32021,
        "message": "Missing required client capability: extensions",
        "data": {"requiredCapabilities": {"extensions": {EXT: {}}}}
    })
}

#[tokio::test]
async fn the_extension_is_declared_and_tools_list_their_task_support() {
    let f = fixture(TaskConfig::new());
    let c = memory::connect(&f.server);
    let init = c.initialize().await.unwrap();
    assert_eq!(init["capabilities"]["extensions"], json!({EXT: {}}));
    let tools = c.request("tools/list", json!({})).await.unwrap();
    let support: std::collections::BTreeMap<String, Value> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["execution"].clone(),
            )
        })
        .collect();
    assert_eq!(support["sync"], Value::Null);
    assert_eq!(support["gated"], json!({"taskSupport": "optional"}));
    assert_eq!(support["long"], json!({"taskSupport": "required"}));
}

#[tokio::test]
async fn without_the_extension_calls_are_synchronous_or_refused() {
    let f = fixture(TaskConfig::new());
    let c = client(&f.server, false).await;
    f.release.notify_one();
    assert_eq!(
        call(&c, "gated").await.unwrap(),
        json!({"content": [{"type": "text", "text": "released"}], "isError": false})
    );
    assert_eq!(call(&c, "long").await.unwrap_err(), missing_extension());
    for (method, params) in [
        ("tasks/get", json!({"taskId": "x"})),
        ("tasks/update", json!({"taskId": "x", "inputResponses": {}})),
        ("tasks/cancel", json!({"taskId": "x"})),
    ] {
        assert_eq!(
            task_op(&c, method, params).await.unwrap_err(),
            missing_extension()
        );
    }
    // One call may opt in through its _meta.
    let opted = c
        .request(
            "tools/call",
            json!({"name": "oops", "arguments": {},
                   "_meta": {"io.modelcontextprotocol/clientCapabilities": {"extensions": {EXT: {}}}}}),
        )
        .await
        .unwrap();
    created(&opted);
}

#[tokio::test]
async fn a_task_is_created_polled_and_completed() {
    let f = fixture(TaskConfig::new());
    let c = client(&f.server, true).await;
    let sync = call(&c, "sync").await.unwrap();
    assert_eq!(
        sync,
        json!({"content": [{"type": "text", "text": "sync done"}], "isError": false})
    );

    let create = call(&c, "gated").await.unwrap();
    let id = created(&create);
    assert_eq!(
        norm(create),
        json!({"resultType": "task", "taskId": "<id>", "status": "working", "createdAt": "<ts>",
               "lastUpdatedAt": "<ts>", "ttlMs": 3_600_000, "pollIntervalMs": 500})
    );
    let working = task_op(&c, "tasks/get", json!({"taskId": id}))
        .await
        .unwrap();
    assert_eq!(
        norm(working),
        json!({"resultType": "complete", "taskId": "<id>", "status": "working", "createdAt": "<ts>",
               "lastUpdatedAt": "<ts>", "ttlMs": 3_600_000, "pollIntervalMs": 500})
    );
    f.release.notify_one();
    let done = until(&c, &id, "completed").await;
    assert_eq!(
        norm(done),
        json!({"resultType": "complete", "taskId": "<id>", "status": "completed", "createdAt": "<ts>",
               "lastUpdatedAt": "<ts>", "ttlMs": 3_600_000, "pollIntervalMs": 500,
               "result": {"content": [{"type": "text", "text": "released"}], "isError": false}})
    );
    // The session heard the status change (handshake era: on its own channel).
    let Some(JsonRpcMessage::Notification(n)) = c.recv_timeout(PATIENCE).await else {
        panic!("no notifications/tasks");
    };
    assert_eq!(n.method, "notifications/tasks");
    assert_eq!(
        norm(n.params.unwrap()),
        json!({"taskId": "<id>", "status": "completed", "createdAt": "<ts>",
               "lastUpdatedAt": "<ts>", "ttlMs": 3_600_000, "pollIntervalMs": 500,
               "result": {"content": [{"type": "text", "text": "released"}], "isError": false}})
    );
    // Cancelling a finished task is the same empty acknowledgement, and changes nothing.
    let ack = task_op(&c, "tasks/cancel", json!({"taskId": id}))
        .await
        .unwrap();
    assert_eq!(ack, json!({"resultType": "complete"}));
    assert_eq!(until(&c, &id, "completed").await["status"], "completed");
}

#[tokio::test]
async fn tool_errors_complete_and_protocol_errors_fail() {
    let f = fixture(TaskConfig::new());
    let c = client(&f.server, true).await;
    let id = created(&call(&c, "oops").await.unwrap());
    let t = until(&c, &id, "completed").await;
    assert_eq!(
        t["result"],
        json!({"content": [{"type": "text", "text": "tool said no"}], "isError": true})
    );
    let id = created(&call(&c, "bad").await.unwrap());
    let t = until(&c, &id, "failed").await;
    assert_eq!(
        t["error"],
        json!({"code": -32602, "message": "Invalid params: no"})
    );
    assert!(t.get("result").is_none());
    let id = created(&call(&c, "boom").await.unwrap());
    let t = until(&c, &id, "failed").await;
    assert_eq!(
        t["error"],
        json!({"code": -32603, "message": "Internal error"})
    );
}

#[tokio::test]
async fn cancel_reaches_the_running_handler() {
    let f = fixture(TaskConfig::new());
    let c = client(&f.server, true).await;
    let id = created(&call(&c, "long").await.unwrap());
    let ack = task_op(&c, "tasks/cancel", json!({"taskId": id}))
        .await
        .unwrap();
    assert_eq!(ack, json!({"resultType": "complete"}));
    let t = until(&c, &id, "cancelled").await;
    assert!(t.get("result").is_none() && t.get("error").is_none(), "{t}");
    let Some(JsonRpcMessage::Notification(n)) = c.recv_timeout(PATIENCE).await else {
        panic!("no notifications/tasks");
    };
    assert_eq!(
        (n.method.as_str(), n.params.unwrap()["status"].clone()),
        ("notifications/tasks", json!("cancelled"))
    );
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !f.cancelled.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the handler never saw the cancellation"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let unknown = task_op(&c, "tasks/cancel", json!({"taskId": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(
        unknown,
        json!({"code": -32602, "message": "Unknown task: nope"})
    );
    let bad = task_op(&c, "tasks/get", json!({"id": "x"}))
        .await
        .unwrap_err();
    assert_eq!(bad["code"], -32602);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid params: missing field `taskId`"),
        "{bad}"
    );
}

#[tokio::test]
async fn input_rounds_inside_a_task() {
    let f = fixture(TaskConfig::new());
    let c = client(&f.server, true).await;
    let id = created(&call(&c, "two_names").await.unwrap());
    let t = until(&c, &id, "input_required").await;
    let form =
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]});
    assert_eq!(
        t["inputRequests"],
        json!({
            "a": {"method": "elicitation/create", "params": {"message": "First?", "requestedSchema": form}},
            "b": {"method": "elicitation/create", "params": {"message": "Second?", "requestedSchema": form}}
        })
    );
    // A partial answer (and an unknown key) is acknowledged; only the other key remains.
    let ack = task_op(
        &c,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {"a": {"action": "accept", "content": {"name": "Ann"}}, "zzz": {"x": 1}}}),
    )
    .await
    .unwrap();
    assert_eq!(ack, json!({"resultType": "complete"}));
    let t = task_op(&c, "tasks/get", json!({"taskId": id}))
        .await
        .unwrap();
    assert_eq!(t["status"], "input_required");
    assert_eq!(
        t["inputRequests"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["b"]
    );
    let wrong = task_op(
        &c,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {"b": {"nope": true}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        wrong,
        json!({"code": -32602, "message": "Invalid params: inputResponses[\"b\"] is not an ElicitResult, CreateMessageResult or ListRootsResult"})
    );
    task_op(
        &c,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {"b": {"action": "accept", "content": {"name": "Bob"}}}}),
    )
    .await
    .unwrap();
    let t = until(&c, &id, "completed").await;
    assert_eq!(
        t["result"],
        json!({"content": [{"type": "text", "text": "\"Ann\" and \"Bob\""}], "isError": false})
    );
    let late = task_op(
        &c,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        late,
        json!({"code": -32602, "message": format!("Task {id} is not waiting for input (status: completed)")})
    );
}

#[tokio::test]
async fn tasks_belong_to_their_principal() {
    let f = fixture(TaskConfig::new());
    let owner = client(&f.server, true).await;
    let other = client(&f.server, true).await;
    let id = created(&call(&owner, "long").await.unwrap());
    for method in ["tasks/get", "tasks/cancel"] {
        let e = task_op(&other, method, json!({"taskId": id}))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            json!({"code": -32602, "message": format!("Unknown task: {id}")})
        );
    }
    assert_eq!(until(&owner, &id, "working").await["status"], "working");
}

#[tokio::test]
async fn task_limits_refuse_with_a_clear_error() {
    let f = fixture(TaskConfig::new().max_tasks_per_principal(1));
    let c = client(&f.server, true).await;
    created(&call(&c, "long").await.unwrap());
    let e = call(&c, "long").await.unwrap_err();
    assert_eq!(
        e,
        json!({"code": -32000, "message": "Too many tasks: too many tasks for this principal (at most 1)",
               "data": {"limit": "principal", "max": 1}})
    );
    let f = fixture(TaskConfig::new().max_tasks(1));
    let (a, b) = (client(&f.server, true).await, client(&f.server, true).await);
    created(&call(&a, "long").await.unwrap());
    let e = call(&b, "long").await.unwrap_err();
    assert_eq!(e["data"], json!({"limit": "server", "max": 1}));
}

#[tokio::test]
async fn a_task_ends_with_its_ttl() {
    let f = fixture(
        TaskConfig::new()
            .ttl(Duration::from_secs(1))
            .poll_interval(Duration::from_millis(50)),
    );
    let c = client(&f.server, true).await;
    let create = call(&c, "long").await.unwrap();
    assert_eq!(
        (create["ttlMs"].clone(), create["pollIntervalMs"].clone()),
        (json!(1000), json!(50))
    );
    let id = created(&create);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let e = task_op(&c, "tasks/get", json!({"taskId": id}))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        json!({"code": -32602, "message": format!("Unknown task: {id}")})
    );
    assert!(
        f.cancelled.load(Ordering::SeqCst),
        "the expired task's handler was not cancelled"
    );
}

/// A `task_start = handler` tool: its input round is synchronous (performed as a real
/// elicitation for this handshake-era client), then it starts its task.
#[tokio::test]
async fn a_handler_starts_its_task_after_a_synchronous_round() {
    let f = fixture(TaskConfig::new());
    let c = Arc::new(client(&f.server, true).await);
    let caller = c.clone();
    let pending = tokio::spawn(async move { call(&caller, "escalating").await });
    let Some(JsonRpcMessage::Request(ask)) = c.recv_timeout(PATIENCE).await else {
        panic!("no elicitation request");
    };
    assert_eq!(ask.method, "elicitation/create");
    c.respond(
        ask.id,
        json!({"action": "accept", "content": {"name": "Eve"}}),
    )
    .await;
    let create = pending.await.unwrap().unwrap();
    let id = created(&create);
    let t = until(&c, &id, "completed").await;
    assert_eq!(
        t["result"],
        json!({"content": [{"type": "text", "text": "hello \"Eve\" (task: true, id known: true)"}], "isError": false})
    );
    // Without the extension the same tool answers synchronously.
    let plain = Arc::new(client(&f.server, false).await);
    let caller = plain.clone();
    let pending = tokio::spawn(async move { call(&caller, "escalating").await });
    let Some(JsonRpcMessage::Request(ask)) = plain.recv_timeout(PATIENCE).await else {
        panic!("no elicitation request");
    };
    plain
        .respond(
            ask.id,
            json!({"action": "accept", "content": {"name": "Eve"}}),
        )
        .await;
    assert_eq!(
        pending.await.unwrap().unwrap(),
        json!({"content": [{"type": "text", "text": "hello \"Eve\" (task: false, id known: false)"}], "isError": false})
    );
}

// --- the stateless era over Streamable HTTP ----------------------------------------------

mod http {
    use super::{EXT, PATIENCE, TaskConfig, fixture};
    use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService, serve_listener};
    use mcp_tests::reply::Reply;
    use serde_json::{Value, json};
    use std::time::Duration;

    const V: &str = "2026-07-28";

    async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
        let server = fixture(TaskConfig::new()).server;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = StreamableHttpService::new(server, HttpConfig::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_listener(
            listener,
            service,
            async move {
                let _ = rx.await;
            },
            Duration::from_secs(1),
        ));
        (format!("http://{addr}/mcp"), tx)
    }

    /// POSTs `method` with the stateless envelope (declaring the extension when `ext`), and
    /// `Mcp-Name: name` when given.
    async fn post(
        url: &str,
        method: &str,
        mut params: Value,
        ext: bool,
        name: Option<&str>,
    ) -> Reply {
        let caps = if ext {
            json!({"elicitation": {}, "extensions": {EXT: {}}})
        } else {
            json!({"elicitation": {}})
        };
        params.as_object_mut().unwrap().insert(
            "_meta".into(),
            json!({
                "io.modelcontextprotocol/protocolVersion": V,
                "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": caps,
            }),
        );
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut rb = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", V)
            .header("Mcp-Method", method);
        if let Some(n) = name {
            rb = rb.header("Mcp-Name", n);
        }
        let res = tokio::time::timeout(PATIENCE, rb.body(body.to_string()).send())
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(PATIENCE, Reply::read(res))
            .await
            .unwrap()
    }

    async fn get(url: &str, id: &str) -> Value {
        let r = post(url, "tasks/get", json!({"taskId": id}), true, Some(id)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["result"].clone()
    }

    #[tokio::test]
    async fn tasks_over_the_stateless_wire() {
        let (url, _stop) = start().await;
        let d = post(&url, "server/discover", json!({}), false, None).await;
        assert_eq!(
            d.json()["result"]["capabilities"]["extensions"],
            json!({EXT: {}})
        );

        let r = post(
            &url,
            "tools/call",
            json!({"name": "two_names", "arguments": {}}),
            true,
            Some("two_names"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let id = r.json()["result"]["taskId"].as_str().unwrap().to_owned();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while get(&url, &id).await["status"] != "input_required" {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // SEP-2243: Mcp-Name carries the task id, and must match it.
        let wrong = post(
            &url,
            "tasks/get",
            json!({"taskId": id}),
            true,
            Some("other"),
        )
        .await;
        assert_eq!(
            (wrong.status, wrong.json()["error"]["code"].clone()),
            (400, json!(-32020))
        );
        let missing = post(&url, "tasks/get", json!({"taskId": id}), true, None).await;
        assert_eq!(
            (missing.status, missing.json()["error"]["code"].clone()),
            (400, json!(-32020))
        );
        // tasks/update's inputResponses answer the task: unknown keys are acknowledged.
        let u = post(
            &url,
            "tasks/update",
            json!({"taskId": id, "inputResponses": {"zzz": {"x": 1}}}),
            true,
            Some(&id),
        )
        .await;
        assert_eq!(u.status, 200, "{}", u.text);
        assert_eq!(
            u.json(),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete"}})
        );
        let answers = json!({"a": {"action": "accept", "content": {"name": "A"}}, "b": {"action": "accept", "content": {"name": "B"}}});
        let u = post(
            &url,
            "tasks/update",
            json!({"taskId": id, "inputResponses": answers}),
            true,
            Some(&id),
        )
        .await;
        assert_eq!(u.status, 200, "{}", u.text);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let done = loop {
            let t = get(&url, &id).await;
            if t["status"] == "completed" {
                break t;
            }
            assert!(tokio::time::Instant::now() < deadline, "{t}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(
            done["result"],
            json!({"content": [{"type": "text", "text": "\"A\" and \"B\""}], "isError": false})
        );

        // Removed v1 methods, and the gate for clients without the extension.
        let removed = post(&url, "tasks/result", json!({"taskId": id}), true, None).await;
        assert_eq!(
            (removed.status, removed.json()["error"]["code"].clone()),
            (404, json!(-32601))
        );
        let gated = post(&url, "tasks/get", json!({"taskId": id}), false, Some(&id)).await;
        assert_eq!(
            gated.json()["error"],
            json!({"code": -32021, "message": "Missing required client capability: extensions",
                   "data": {"requiredCapabilities": {"extensions": {EXT: {}}}}})
        );
    }
}
