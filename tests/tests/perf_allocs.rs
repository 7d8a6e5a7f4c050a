//! Heap allocations per request on each hot path, counted by a global allocator while
//! requests are driven straight into the tower service (no sockets: hyper's own connection
//! work is not counted). Allocation counts do not depend on how busy the machine is, so this
//! is the per-request cost figure a shared CI machine can measure; `docs/performance.md`
//! quotes it. Run with `--nocapture` for the table:
//!
//! ```text
//! cargo test -p mcp-tests --release --test perf_allocs -- --nocapture
//! ```
//!
//! Each path gets a ceiling about twice its measured count, so a change that doubles the
//! allocations of a hot path fails here and has to say why.

mod http_common;

use http_common::{LATEST, initialize_body, test_server};
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::auth::{AuthorizationLayer, JwtValidator};
use mcp_rs_server::body::Body;
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use tower::{Layer as _, Service, ServiceExt};

/// Counts allocations and bytes through the system allocator (`stats_alloc`: the workspace
/// forbids `unsafe`, which a hand-written `GlobalAlloc` needs).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn counters() -> (u64, u64) {
    let s = GLOBAL.stats();
    (
        (s.allocations + s.reallocations) as u64,
        (s.bytes_allocated + s.bytes_reallocated.max(0) as usize) as u64,
    )
}

const N: u64 = 2000;

fn post() -> http::request::Builder {
    http::Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
}

fn call_body(id: u64) -> serde_json::Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
           "params":{"name":"echo","arguments":{"text":"hi"}}})
}

fn stateless_body(id: u64) -> serde_json::Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{
        "name":"echo","arguments":{"text":"hi"},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                 "io.modelcontextprotocol/clientInfo":{"name":"allocs","version":"1"},
                 "io.modelcontextprotocol/clientCapabilities":{}}}})
}

/// Sends `N` requests built by `make` (after 200 warm-up ones) and returns allocations and
/// bytes per request, request building and reply reading included (the same for each path).
async fn per_request<S, F>(svc: S, make: F) -> (f64, f64)
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
    F: Fn(u64) -> http::Request<Body>,
{
    async fn one<S>(svc: &S, req: http::Request<Body>)
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone,
        S::Error: std::fmt::Debug,
    {
        let res = svc.clone().oneshot(req).await.expect("service");
        let status = res.status();
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert!(
            body.windows(4).any(|w| w == b"\"hi\""),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    for i in 0..200 {
        one(&svc, make(i)).await;
    }
    let (a0, b0) = counters();
    for i in 0..N {
        one(&svc, make(1000 + i)).await;
    }
    let (a1, b1) = counters();
    ((a1 - a0) as f64 / N as f64, (b1 - b0) as f64 / N as f64)
}

async fn open_session<S>(svc: &S, bearer: Option<&str>) -> String
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    let mut init = post();
    if let Some(token) = bearer {
        init = init.header("authorization", format!("Bearer {token}"));
    }
    let init = init
        .body(Body::from(initialize_body().to_string()))
        .expect("request");
    let res = svc.clone().oneshot(init).await.expect("service");
    assert_eq!(res.status(), 200);
    let id = res.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let mut note = post();
    if let Some(token) = bearer {
        note = note.header("authorization", format!("Bearer {token}"));
    }
    let note = note
        .header("mcp-protocol-version", LATEST)
        .header("mcp-session-id", id.as_str())
        .body(Body::from(
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string(),
        ))
        .expect("request");
    assert_eq!(
        svc.clone().oneshot(note).await.expect("service").status(),
        202
    );
    id
}

fn session_call(id: &str, bearer: Option<&str>, n: u64) -> http::Request<Body> {
    let mut b = post()
        .header("mcp-protocol-version", LATEST)
        .header("mcp-session-id", id);
    if let Some(token) = bearer {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    b.body(Body::from(call_body(n).to_string()))
        .expect("request")
}

fn row(name: &str, (allocs, bytes): (f64, f64), ceiling: f64) {
    eprintln!("{name:<44} {allocs:>8.1} allocs/request {bytes:>9.0} bytes/request");
    assert!(
        allocs <= ceiling,
        "{name}: {allocs:.1} allocations per request, over the ceiling of {ceiling}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn allocations_per_request() {
    let json_cfg = || HttpConfig::default().json_response(true);

    let svc = StreamableHttpService::new(test_server(), json_cfg());
    let id = open_session(&svc, None).await;
    let session = per_request(svc, |n| session_call(&id, None, n)).await;

    let svc = StreamableHttpService::new(test_server(), json_cfg().stateless());
    let no_session = per_request(svc, |n| {
        post()
            .header("mcp-protocol-version", LATEST)
            .body(Body::from(call_body(n).to_string()))
            .expect("request")
    })
    .await;

    let svc = StreamableHttpService::new(test_server(), json_cfg());
    let stateless = per_request(svc, |n| {
        post()
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "echo")
            .body(Body::from(stateless_body(n).to_string()))
            .expect("request")
    })
    .await;

    let idp = TestIssuer::start().await.expect("issuer");
    let validator = JwtValidator::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience("mcp-server")
        .build()
        .expect("validator");
    let token = idp.keycloak("mcp-server").subject("alice").sign();
    let layer = AuthorizationLayer::new(validator, "http://localhost/mcp").expect("layer");
    let svc = layer.layer(StreamableHttpService::new(test_server(), json_cfg()));
    let id = open_session(&svc, Some(&token)).await;
    let jwt = per_request(svc, |n| session_call(&id, Some(&token), n)).await;

    // The same `echo` with and without one no-op server hook: the cost of the hook path.
    let plain = per_request(
        StreamableHttpService::new(echo_server(false), json_cfg().stateless()),
        |n| {
            post()
                .header("mcp-protocol-version", LATEST)
                .body(Body::from(call_body(n).to_string()))
                .expect("request")
        },
    );
    let plain = plain.await;
    let svc = StreamableHttpService::new(echo_server(true), json_cfg().stateless());
    let hooked = per_request(svc, |n| {
        post()
            .header("mcp-protocol-version", LATEST)
            .body(Body::from(call_body(n).to_string()))
            .expect("request")
    })
    .await;

    eprintln!("allocations per tools/call (in-process, JSON replies, N = {N}):");
    row(
        "session (handshake era)",
        session,
        2.0 * session.0.max(40.0),
    );
    row(
        "no session (handshake era, stateless config)",
        no_session,
        2.0 * session.0.max(40.0) + 40.0,
    );
    row(
        "2026-07-28 stateless",
        stateless,
        2.0 * stateless.0.max(60.0),
    );
    row(
        "session + RS256 JWT (cached token)",
        jwt,
        2.0 * session.0.max(40.0) + 20.0,
    );
    row(
        "no session, echo only",
        plain,
        2.0 * session.0.max(40.0) + 40.0,
    );
    // A hook adds its RequestInfo, the watch and the boxed futures of two hook calls.
    row("no session, echo + one no-op hook", hooked, plain.0 + 20.0);
}

/// Counts nothing, so the measured difference is the hook path itself.
struct NoopHook;

#[mcp_rs_server::async_trait]
impl mcp_rs_server::hooks::ServerHooks for NoopHook {}

/// Only the `echo` of [`test_server`], with or without [`NoopHook`].
fn echo_server(hook: bool) -> mcp_rs_server::Server {
    let echo =
        mcp_rs_server::tool::ToolDef::builder("echo").handler_fn(
            |_ctx: mcp_rs_server::RequestContext,
             args: serde_json::Map<String, serde_json::Value>| async move {
                mcp_rs_core::schema::CallToolResult::text(
                    args.get("text")
                        .and_then(|t| t.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                )
            },
        );
    let builder = mcp_rs_server::Server::builder().tool(echo);
    if hook {
        builder.hook(NoopHook)
    } else {
        builder
    }
    .build()
}
