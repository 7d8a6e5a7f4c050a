//! Server hooks: order, refusal, timing and outcome, failure containment, sessions, and the
//! identity hooks see over HTTP with a bearer token.

use mcp_rs_core::schema::CallToolResult;
use mcp_rs_core::{ErrorCode, ErrorObject};
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::auth::{AuthorizationLayer, JwtValidator};
use mcp_rs_server::hooks::{Failure, NotificationInfo, RequestInfo, ServerHooks};
use mcp_rs_server::scope::ScopeRequirement;
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService, serve_listener};
use mcp_rs_server::transport::memory;
use mcp_rs_server::{McpError, Server, Session, async_trait};
use mcp_tests::bearer::Client;
use mcp_tests::tools::tool;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

type Log = Arc<Mutex<Vec<String>>>;

/// Records every event as one line; refuses `tools/call` of `refuse` with -32000.
struct Recorder {
    name: &'static str,
    log: Log,
    refuse: Option<&'static str>,
}

impl Recorder {
    fn new(name: &'static str, log: &Log) -> Self {
        Recorder {
            name,
            log: log.clone(),
            refuse: None,
        }
    }

    fn push(&self, line: String) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {line}", self.name));
    }
}

fn target(r: &RequestInfo) -> String {
    r.target
        .as_deref()
        .map(|t| format!(" {t}"))
        .unwrap_or_default()
}

#[async_trait]
impl ServerHooks for Recorder {
    async fn on_request(&self, r: &RequestInfo) -> Result<(), McpError> {
        self.push(format!("request {} {}{}", r.id, r.method, target(r)));
        if r.target.is_some() && r.target.as_deref() == self.refuse {
            return Err(McpError::protocol(
                ErrorObject::new(ErrorCode(-32000), "Blocked by policy")
                    .with_data(json!({"tool": r.target})),
            ));
        }
        Ok(())
    }

    async fn on_response(&self, r: &RequestInfo, result: &Value, _elapsed: Duration) {
        let text = result["content"][0]["text"].as_str().unwrap_or("-");
        self.push(format!("response {} {} {text}", r.id, r.method));
    }

    async fn on_error(&self, r: &RequestInfo, failure: &Failure, _elapsed: Duration) {
        self.push(format!("error {} {} {failure:?}", r.id, r.method));
    }

    async fn on_notification(&self, n: &NotificationInfo) {
        self.push(format!("notification {}", n.method));
    }

    async fn on_session_created(&self, s: &Session) {
        let _ = s.id();
        self.push("session created".to_owned());
    }

    async fn on_session_ended(&self, s: &Session) {
        let _ = s.id();
        self.push("session ended".to_owned());
    }
}

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn lines(log: &Log, skip_sessions: bool) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|l| !skip_sessions || !l.contains(" session "))
        .cloned()
        .collect()
}

async fn settle<F: Fn() -> bool>(done: F) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

fn builder() -> mcp_rs_server::ServerBuilder {
    Server::builder()
        .tool(tool("echo", |_ctx| async {
            Ok(CallToolResult::text("echoed"))
        }))
        .tool(tool("secret", |_ctx| async {
            CALLS.fetch_add(1, Ordering::SeqCst);
            Ok(CallToolResult::text("secret"))
        }))
        .tool(tool("hang", |ctx| async move {
            ctx.cancellation().cancelled().await;
            Ok(CallToolResult::text("-"))
        }))
        .tool(tool("whoami", |ctx| async move {
            Ok(CallToolResult::text(
                ctx.oauth().map(|o| o.subject.clone()).unwrap_or_default(),
            ))
        }))
        .tool(
            tool("admin", |_ctx| async { Ok(CallToolResult::text("admin")) })
                .with_scopes(ScopeRequirement::all(["mcp:admin"])),
        )
}

#[tokio::test]
async fn hooks_run_in_registration_order_around_each_request() {
    let log = log();
    let server = builder()
        .hook(Recorder::new("A", &log))
        .hook(Recorder::new("B", &log))
        .build();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    client
        .request("tools/call", json!({"name": "echo"}))
        .await
        .unwrap();
    let err = client.request("nope/nope", json!({})).await.unwrap_err();
    assert_eq!(err.code, -32601);
    assert_eq!(
        lines(&log, true),
        [
            "A request 1 initialize",
            "B request 1 initialize",
            "A response 1 initialize -",
            "B response 1 initialize -",
            "A notification notifications/initialized",
            "B notification notifications/initialized",
            "A request 2 tools/call echo",
            "B request 2 tools/call echo",
            "A response 2 tools/call echoed",
            "B response 2 tools/call echoed",
            "A request 3 nope/nope",
            "B request 3 nope/nope",
            "A error 3 nope/nope Error(ErrorObject { code: -32601, message: \"Method not found: nope/nope\", data: None })",
            "B error 3 nope/nope Error(ErrorObject { code: -32601, message: \"Method not found: nope/nope\", data: None })",
        ]
    );
}

#[tokio::test]
async fn on_request_refuses_with_a_json_rpc_error() {
    let log = log();
    let server = builder()
        .hook(Recorder {
            refuse: Some("secret"),
            ..Recorder::new("A", &log)
        })
        .hook(Recorder::new("B", &log))
        .build();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    log.lock().unwrap().clear();
    let before = CALLS.load(Ordering::SeqCst);
    let reply = client
        .send(mcp_rs_core::jsonrpc::JsonRpcMessage::request(
            mcp_rs_core::RequestId::Number(9),
            "tools/call",
            Some(json!({"name": "secret"})),
        ))
        .await;
    let mcp_rs_server::Outcome::Reply(reply) = reply else {
        panic!("no reply: {reply:?}")
    };
    assert_eq!(
        serde_json::to_value(&reply).unwrap(),
        json!({"jsonrpc": "2.0", "id": 9, "error": {"code": -32000, "message": "Blocked by policy",
               "data": {"tool": "secret"}}})
    );
    // The handler did not run, nor did B's on_request; both see the refusal.
    assert_eq!(CALLS.load(Ordering::SeqCst), before);
    let refusal = "Error(ErrorObject { code: -32000, message: \"Blocked by policy\", data: Some(Object {\"tool\": String(\"secret\")}) })";
    assert_eq!(
        lines(&log, true),
        [
            "A request 9 tools/call secret".to_owned(),
            format!("A error 9 tools/call {refusal}"),
            format!("B error 9 tools/call {refusal}"),
        ]
    );
}

/// Records the elapsed time of each response.
struct Timing(Arc<Mutex<Vec<(String, Duration)>>>);

#[async_trait]
impl ServerHooks for Timing {
    async fn on_response(&self, r: &RequestInfo, _result: &Value, elapsed: Duration) {
        self.0.lock().unwrap().push((r.method.clone(), elapsed));
    }
}

#[tokio::test]
async fn hooks_see_the_elapsed_time() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let server = builder()
        .tool(tool("slow", |_ctx| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(CallToolResult::text("slow"))
        }))
        .hook(Timing(times.clone()))
        .build();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    client
        .request("tools/call", json!({"name": "slow"}))
        .await
        .unwrap();
    let times = times.lock().unwrap();
    assert_eq!(times[1].0, "tools/call");
    assert!(times[1].1 >= Duration::from_millis(50), "{:?}", times[1].1);
}

/// Panics in `on_request` for `tools/list`, sleeps past the timeout for `prompts/list`, and
/// panics in every `on_response`.
struct Faulty;

#[async_trait]
impl ServerHooks for Faulty {
    async fn on_request(&self, r: &RequestInfo) -> Result<(), McpError> {
        match r.method.as_str() {
            "tools/list" => panic!("hook bug"),
            "prompts/list" => tokio::time::sleep(Duration::from_secs(30)).await,
            _ => {}
        }
        Ok(())
    }

    async fn on_response(&self, _r: &RequestInfo, _result: &Value, _elapsed: Duration) {
        panic!("hook bug in on_response")
    }
}

#[tokio::test]
async fn a_panicking_or_slow_hook_does_not_take_the_server_down() {
    let log = log();
    let server = builder()
        .hook(Faulty)
        .hook(Recorder::new("B", &log))
        .hook_timeout(Duration::from_millis(100))
        .build();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    for method in ["tools/list", "prompts/list"] {
        let err = client.request(method, json!({})).await.unwrap_err();
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"code": -32603, "message": "Internal error"}),
            "{method}"
        );
    }
    // A panicking on_response changes nothing for the client or for later hooks.
    let r = client
        .request("tools/call", json!({"name": "echo"}))
        .await
        .unwrap();
    assert_eq!(r["content"][0]["text"], "echoed");
    assert!(lines(&log, true).contains(&"B response 4 tools/call echoed".to_owned()));
}

#[tokio::test]
async fn sessions_and_cancellations_are_reported() {
    let log = log();
    let server = builder().hook(Recorder::new("A", &log)).build();
    let client = Arc::new(memory::connect(&server));
    settle(|| lines(&log, false).len() == 1).await;
    assert_eq!(lines(&log, false), ["A session created"]);
    client.initialize().await.unwrap();
    let c = client.clone();
    let call = tokio::spawn(async move {
        c.request_with_id(
            mcp_rs_core::RequestId::Number(5),
            "tools/call",
            json!({"name": "hang"}),
        )
        .await
    });
    settle(|| lines(&log, false).len() == 5).await;
    client
        .notify("notifications/cancelled", json!({"requestId": 5}))
        .await;
    let _ = tokio::time::timeout(PATIENCE, call).await.unwrap();
    client.close();
    settle(|| lines(&log, false).len() == 8).await;
    assert_eq!(
        lines(&log, false)[4..],
        [
            "A request 5 tools/call hang",
            "A notification notifications/cancelled",
            "A error 5 tools/call Cancelled",
            "A session ended",
        ]
    );
}

const AUDIENCE: &str = "mcp-hooks-test";

/// Keeps what hooks saw of the principal, and the whole debug text of every request info.
struct Identity(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl ServerHooks for Identity {
    async fn on_request(&self, r: &RequestInfo) -> Result<(), McpError> {
        let mut seen = self.0.lock().unwrap();
        seen.push(format!("{r:?}"));
        if let Some(p) = &r.principal {
            let scopes: Vec<&str> = p.scopes.iter().collect();
            seen.push(format!(
                "{} {} {} {:?} {}",
                r.method,
                p.subject,
                p.client_id.as_deref().unwrap_or("-"),
                p.issuer.is_some(),
                scopes.join(",")
            ));
        }
        Ok(())
    }

    async fn on_error(&self, r: &RequestInfo, failure: &Failure, _elapsed: Duration) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {failure:?}", r.method));
    }
}

#[tokio::test]
async fn hooks_see_the_identity_of_a_bearer_token_over_http_never_the_token() {
    let idp = TestIssuer::start().await.expect("issuer");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = builder().hook(Identity(seen.clone())).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let validator = JwtValidator::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let auth = AuthorizationLayer::new(validator, &url).unwrap();
    let mcp = StreamableHttpService::new(server, HttpConfig::default());
    let service = tower::ServiceBuilder::new().layer(auth).service(mcp);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_listener(
        listener,
        service,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));
    let token = idp
        .keycloak(AUDIENCE)
        .subject("alice")
        .claim("azp", json!("notes-app"))
        .scopes(["mcp:read"])
        .sign();
    let mut client = Client::new(&url, &token);
    let r = client.initialize("hooks-test").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = client.call("whoami", json!({})).await;
    assert_eq!(
        r.body["result"]["content"][0]["text"], "alice",
        "{}",
        r.text
    );
    let r = client.call("admin", json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let seen = seen.lock().unwrap().clone();
    let summary: Vec<&String> = seen
        .iter()
        .filter(|l| !l.starts_with("RequestInfo"))
        .collect();
    assert_eq!(
        summary,
        [
            "initialize alice notes-app true email,mcp:read,openid,profile",
            "tools/call alice notes-app true email,mcp:read,openid,profile",
            "tools/call alice notes-app true email,mcp:read,openid,profile",
            "tools/call Forbidden(ScopeRequirement { scopes: [\"mcp:admin\"], mode: AllOf })",
        ]
    );
    assert!(
        seen.iter().all(|l| !l.contains(&token)),
        "a hook saw the token"
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn a_request_the_http_transport_gives_up_on_is_reported_abandoned() {
    let log = log();
    let server = builder().hook(Recorder::new("A", &log)).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let config = HttpConfig::default().handler_timeout(Some(Duration::from_millis(200)));
    let mcp = StreamableHttpService::new(server, config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_listener(
        listener,
        mcp,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));
    let mut client = Client::new(&url, "unused");
    assert_eq!(client.initialize("hooks-test").await.status, 200);
    let r = client.call("hang", json!({})).await;
    assert_eq!(
        r.body,
        json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32603, "message": "Request timed out"}})
    );
    settle(|| lines(&log, true).iter().any(|l| l.contains("Abandoned"))).await;
    assert!(
        lines(&log, true).contains(&"A error 2 tools/call Abandoned".to_owned()),
        "{:?}",
        lines(&log, true)
    );
    let _ = stop.send(());
}
