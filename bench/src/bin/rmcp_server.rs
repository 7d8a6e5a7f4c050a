//! The official Rust SDK (rmcp, from crates.io) serving the benchmark's `sum` tool.
//!
//! Usage: `rmcp-server --port PORT [--stateless] [--tuned]`
//!
//! * default ("as shipped"): the shape of rmcp's `counter_streamhttp` example:
//!   `StreamableHttpService` with `LocalSessionManager`, default config, mounted on
//!   `/mcp` of an axum router served by `axum::serve` (no `TCP_NODELAY`).
//! * `--stateless`: `legacy_session_mode = false` (no `Mcp-Session-Id`).
//! * `--tuned`: `TCP_NODELAY` on every accepted socket and, when stateless,
//!   `json_response = true` (rmcp only answers plain JSON without sessions).
//!
//! Binds 127.0.0.1 only; logs at warn level.

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::serve::ListenerExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_router};

/// Arguments of the `sum` tool.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct SumRequest {
    /// Left operand.
    a: i64,
    /// Right operand.
    b: i64,
}

/// The benchmark server: one `sum` tool, written with rmcp's macros.
#[derive(Debug, Clone)]
struct Calculator;

#[tool_router(server_handler)]
impl Calculator {
    #[tool(description = "Add two integers")]
    fn sum(&self, Parameters(SumRequest { a, b }): Parameters<SumRequest>) -> String {
        a.wrapping_add(b).to_string()
    }
}

/// Parsed command line.
struct Args {
    port: u16,
    stateless: bool,
    tuned: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut port = None;
    let mut stateless = false;
    let mut tuned = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                let v = it.next().ok_or("--port needs a value")?;
                port = Some(
                    v.parse::<u16>()
                        .map_err(|e| format!("bad --port {v:?}: {e}"))?,
                );
            }
            "--stateless" => stateless = true,
            "--tuned" => tuned = true,
            "-h" | "--help" => {
                return Err("usage: rmcp-server --port PORT [--stateless] [--tuned]".into());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        port: port.ok_or("--port is required")?,
        stateless,
        tuned,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rmcp-server: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let ct = tokio_util::sync::CancellationToken::new();
    let mut config =
        StreamableHttpServerConfig::default().with_cancellation_token(ct.child_token());
    if args.stateless {
        config = config.with_legacy_session_mode(false);
        if args.tuned {
            config = config.with_json_response(true);
        }
    }
    let service = StreamableHttpService::new(
        || Ok(Calculator),
        LocalSessionManager::default().into(),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);

    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rmcp-server: cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        ct.cancel();
    };
    let result = if args.tuned {
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!("TCP_NODELAY: {e}");
            }
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    } else {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmcp-server: {e}");
            ExitCode::FAILURE
        }
    }
}
