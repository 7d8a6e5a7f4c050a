//! `HostGuardLayer` in front of every route of a server (an axum router with the MCP endpoint
//! and other routes), including absolute-form request targets.

mod http_common;

use axum::routing::get;
use http::{Request, StatusCode};
use mcp_rs_server::transport::http::{
    HostGuardLayer, HttpConfig, StreamableHttpService, serve_listener,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn app() -> axum::Router {
    let config = HttpConfig::default().allowed_hosts(["mcp.example.com"]);
    let mcp = StreamableHttpService::new(http_common::test_server(), config.clone());
    axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(|| async { "{}" }),
        )
        .route_service("/mcp", mcp)
        .layer(HostGuardLayer::from_config(&config))
}

async fn status(uri: &str, host: &str, origin: Option<&str>) -> (StatusCode, String) {
    let mut b = Request::builder().uri(uri).header("host", host);
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    let res = app()
        .oneshot(b.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_route_refuses_a_foreign_host_or_origin() {
    for path in [
        "/health",
        "/.well-known/oauth-protected-resource/mcp",
        "/mcp",
    ] {
        let (s, body) = status(path, "evil.example", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            body,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Forbidden: Host not allowed: evil.example"}}"#
        );
        let (s, body) = status(path, "localhost:3000", Some("https://evil.example")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("Forbidden: Origin not allowed: https://evil.example"));
    }
    assert_eq!(
        status("/health", "mcp.example.com", None).await,
        (StatusCode::OK, "ok".to_owned())
    );
    assert_eq!(
        status("/health", "127.0.0.1:8000", Some("http://localhost:5173")).await,
        (StatusCode::OK, "ok".to_owned())
    );
}

#[tokio::test]
async fn an_absolute_form_target_is_checked_against_the_allow_list() {
    let (s, body) = status("http://evil.example/health", "localhost", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("Forbidden: Host not allowed: evil.example"));
    assert_eq!(
        status("http://mcp.example.com/health", "mcp.example.com", None)
            .await
            .0,
        StatusCode::OK
    );
    // Over a real socket: hyper hands the absolute-form target to the guard as it came.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_listener(
        listener,
        app(),
        async move {
            let _ = rx.await;
        },
        Duration::from_millis(100),
    ));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"GET http://evil.example/health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(got.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{got}");
    drop(tx);
}
