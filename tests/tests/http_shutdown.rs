//! Graceful shutdown ends open SSE streams wherever the service runs, within 2 s:
//!
//! * under the crate's own accept loop (`serve_listener`, what the free `serve` runs), with the
//!   service wrapped in a layer, so the loop cannot see it is an MCP service;
//! * under axum's `with_graceful_shutdown`, with `StreamableHttpService::close_sessions_on`;
//! * the `axum-mount` example binary, sent a real SIGINT (Unix).
//!
//! Each test holds a session's standalone GET stream open when the shutdown starts. Before the
//! fix the first two waited for the 10 s grace period (or forever, in axum's case).

mod http_common;

use http_common::{LATEST, initialize, test_server};
use mcp_rs_server::transport::http::{
    CorsLayer, DEFAULT_GRACE_PERIOD, HttpConfig, StreamableHttpService, serve_listener,
};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::Layer;

/// What "exits promptly" means for every test here.
const LIMIT: Duration = Duration::from_secs(2);

/// Opens the session's standalone SSE stream and checks it is one.
async fn open_sse(c: &reqwest::Client, url: &str, session: &str) -> reqwest::Response {
    let res = c
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", LATEST)
        .send()
        .await
        .expect("GET the SSE stream");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    res
}

/// Reads `sse` to its end; panics if it does not end cleanly within [`LIMIT`].
async fn assert_stream_ends(mut sse: reqwest::Response) {
    let end = tokio::time::timeout(LIMIT, async {
        loop {
            match sse.chunk().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    })
    .await;
    assert!(
        matches!(end, Ok(Ok(()))),
        "the SSE stream did not end cleanly within {LIMIT:?}: {end:?}"
    );
}

#[tokio::test]
async fn serve_listener_ends_open_sse_streams_of_a_layered_service() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let config = HttpConfig::default();
    let service =
        CorsLayer::from_config(&config).layer(StreamableHttpService::new(test_server(), config));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(
        listener,
        service,
        async move {
            let _ = stopped.await;
        },
        DEFAULT_GRACE_PERIOD,
    ));

    let c = reqwest::Client::new();
    let session = initialize(&c, &url).await;
    let sse = open_sse(&c, &url, &session).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(LIMIT, server).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "serve_listener did not return within {LIMIT:?}: {ended:?}"
    );
    assert_stream_ends(sse).await;
    assert!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn axum_graceful_shutdown_with_close_sessions_on_ends_open_sse_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let mcp = StreamableHttpService::new(test_server(), HttpConfig::default().any_path());
    let app = axum::Router::new().nest_service("/mcp", mcp.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = mcp.close_sessions_on(async move {
        let _ = stopped.await;
    });
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    });

    let c = reqwest::Client::new();
    let session = initialize(&c, &url).await;
    let sse = open_sse(&c, &url, &session).await;
    assert_eq!(mcp.session_count(), 1);
    let started = Instant::now();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(LIMIT, server).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "axum::serve did not return within {LIMIT:?}: {ended:?}"
    );
    assert_stream_ends(sse).await;
    assert_eq!(mcp.session_count(), 0);
    assert!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
}

/// Builds the `axum-mount` example into this test's target directory.
#[cfg(unix)]
fn axum_mount_bin() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "axum-mount", "--target-dir"])
        .arg(profile_dir.parent().unwrap())
        .current_dir(root)
        .status()
        .expect("run cargo build -p axum-mount");
    assert!(status.success(), "cargo build -p axum-mount failed");
    profile_dir.join("axum-mount")
}

#[cfg(unix)]
#[tokio::test]
async fn axum_mount_example_exits_on_sigint_with_an_open_sse_stream() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};

    let mut child = tokio::process::Command::new(axum_mount_bin())
        .env("AXUM_MOUNT_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start axum-mount");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("axum-mount prints its address")
        .unwrap()
        .expect("a line");
    // "axum-mount listening on http://127.0.0.1:PORT (MCP at /mcp)"
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let url = format!("{base}/mcp");

    let c = reqwest::Client::new();
    let session = initialize(&c, &url).await;
    let sse = open_sse(&c, &url, &session).await;
    let started = Instant::now();
    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(LIMIT, child.wait()).await;
    assert!(
        matches!(&status, Ok(Ok(s)) if s.success()),
        "axum-mount did not exit cleanly within {LIMIT:?} of SIGINT: {status:?}"
    );
    assert!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
    drop(sse);
}
