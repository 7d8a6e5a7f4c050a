//! An MCP endpoint inside an existing axum application.
//!
//! ```text
//! cargo run -p axum-mount                 # AXUM_MOUNT_ADDR=127.0.0.1:0 picks a free port
//! curl http://127.0.0.1:8001/health          # an ordinary axum route
//! # MCP clients connect to http://127.0.0.1:8001/mcp
//! ```
//!
//! The MCP service is an ordinary tower service, mounted with `Router::nest_service`. Layers
//! that must see MCP requests first (CORS, the OAuth authorization layer of the `auth`
//! feature) wrap it with `tower::ServiceBuilder` before mounting; the MCP handlers then see
//! whatever those layers put into the request extensions through `RequestContext::http_parts`.

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use mcp_rs_server::Server;
use mcp_rs_server::context::RequestContext;
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{
    CorsLayer, HttpConfig, StreamableHttpService, shutdown_signal,
};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Greet {
    /// Who to greet.
    name: String,
}

fn mcp_server() -> Server {
    Server::builder()
        .name("axum-mount-example")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            ToolDef::builder("greet")
                .description("Greets someone, mentioning the User-Agent of the HTTP request")
                .handler_fn(|ctx: RequestContext, args: Greet| async move {
                    // Handlers can read the HTTP request head (headers, extensions).
                    let agent = ctx
                        .http_parts()
                        .and_then(|p| p.headers.get("user-agent"))
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("an unknown client")
                        .to_owned();
                    format!("Hello, {}! (via {agent})", args.name)
                }),
        )
        .build()
}

/// The application: `/health` plus the MCP endpoint `mcp` under `/mcp`.
fn app(mcp: StreamableHttpService) -> Router {
    // `nest_service` strips the `/mcp` prefix before calling the service, so the service
    // must accept any path (`HttpConfig::any_path`); the router decides what reaches it.
    let mcp = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(mcp.config()))
        .service(mcp);
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest_service("/mcp", mcp)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("AXUM_MOUNT_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let listener = listener
        // SSE replies are small writes: without TCP_NODELAY, delayed ACKs add ~40 ms each.
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    let mcp = StreamableHttpService::new(mcp_server(), HttpConfig::default().any_path());
    println!("axum-mount listening on http://{addr} (MCP at /mcp)");
    // On Ctrl-C or SIGTERM: end the MCP sessions (their open SSE streams finish), then let
    // axum finish the remaining connections.
    axum::serve(listener, app(mcp.clone()))
        .with_graceful_shutdown(mcp.close_sessions_on(shutdown_signal()))
        .await
}
