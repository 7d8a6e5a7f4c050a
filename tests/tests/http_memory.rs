//! Memory per idle Streamable HTTP session, measured as resident set growth over 1000
//! `initialize` + `notifications/initialized` exchanges driven straight into the service (no
//! sockets, so no client buffers in the measurement). Own test binary: nothing else allocates
//! meanwhile. Run with `--nocapture` to see the figure.

mod http_common;

use http_common::{LATEST, initialize_body, test_server};
use mcp_rs_server::body::Body;
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
use serde_json::json;
use tower::ServiceExt;

/// Resident set size in bytes (Linux `/proc/self/statm`; `None` elsewhere).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn open_session(svc: &StreamableHttpService) -> String {
    let req = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(Body::from(initialize_body().to_string()))
        .expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), 200);
    let id = res.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let req = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", LATEST)
        .header("mcp-session-id", id.as_str())
        .body(Body::from(
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string(),
        ))
        .expect("request");
    let res = svc.clone().oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), 202);
    id
}

#[tokio::test(flavor = "current_thread")]
async fn idle_session_memory() {
    let svc = StreamableHttpService::new(
        test_server(),
        HttpConfig::default()
            .max_sessions(100_000)
            .max_sessions_per_addr(None),
    );
    // Warm up: runtime, allocator arenas, lazily built schemas.
    for _ in 0..200 {
        open_session(&svc).await;
    }
    let Some(before) = rss() else {
        eprintln!("no /proc/self/statm: skipping the measurement");
        return;
    };
    const N: u64 = 1000;
    let mut ids = Vec::with_capacity(N as usize);
    for _ in 0..N {
        ids.push(open_session(&svc).await);
    }
    let after = rss().unwrap_or(before);
    assert_eq!(svc.session_count(), 1200);
    let per_session = after.saturating_sub(before) as f64 / N as f64 / 1024.0;
    eprintln!(
        "idle session memory: {per_session:.2} KB/session (RSS {before} -> {after} bytes over {N} sessions)"
    );
    // Generous bound (RSS is page-granular and allocator-dependent); the figure is reported.
    assert!(per_session < 8.0, "{per_session:.2} KB per idle session");
    drop(ids);
}
