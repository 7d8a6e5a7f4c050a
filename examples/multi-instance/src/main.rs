//! One MCP server meant to run as several instances behind a load balancer without sticky
//! routing: sessions, resumable SSE events, notifications and answers to server→client
//! requests go through Redis. See README.md.
//!
//! Configuration (environment): `REDIS_URL` (default `redis://127.0.0.1:6379`), `MCP_LISTEN`
//! (default `127.0.0.1:8000`), `INSTANCE_NAME` (default the listen address),
//! `MCP_ALLOWED_HOSTS` (comma-separated `Host` values to accept besides localhost, e.g. the
//! proxy's public name).

use mcp_rs_core::schema::CallToolResult;
use mcp_rs_server::Server;
use mcp_rs_server::context::{ElicitResponse, RequestContext};
use mcp_rs_server::error::McpError;
use mcp_rs_server::redis::{Redis, RedisConfig};
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// Most progress notifications `ticks` sends in one call.
const MAX_TICKS: u32 = 1000;
/// Longest pause `ticks` makes between two notifications.
const MAX_DELAY_MS: u64 = 10_000;

#[derive(Deserialize, JsonSchema)]
struct AddTool {
    /// The name of the tool to register on this instance.
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct Ticks {
    /// How many progress notifications to send (at most 1000).
    count: u32,
    /// Milliseconds between two of them (at most 10000).
    delay_ms: u64,
}

/// The form `ask` shows the user.
#[derive(Deserialize, JsonSchema)]
struct Answer {
    /// Your answer.
    answer: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn build_server(instance: String) -> Server {
    Server::builder()
        .name("mcp-rs-multi-instance")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            ToolDef::builder("instance")
                .description("The name of the instance that runs this call")
                .handler_fn(move |_ctx: RequestContext, _args: serde_json::Map<String, serde_json::Value>| {
                    let name = instance.clone();
                    async move { name }
                }),
        )
        .tool(
            ToolDef::builder("add_tool")
                .description("Registers a tool named `name` on this instance; every client of every instance hears tools/list_changed")
                .handler_fn(|ctx: RequestContext, args: AddTool| async move { add_tool(&ctx, args.name) }),
        )
        .tool(
            ToolDef::builder("ask")
                .description("Asks the user for an answer (elicitation) and returns it")
                .handler_fn(|ctx: RequestContext, _args: serde_json::Map<String, serde_json::Value>| async move {
                    ask(&ctx).await
                }),
        )
        .tool(
            ToolDef::builder("ticks")
                .description("Sends `count` progress notifications `delay_ms` apart, then returns \"done\"")
                .handler_fn(|ctx: RequestContext, args: Ticks| async move { ticks(&ctx, args).await }),
        )
        .build()
}

fn add_tool(ctx: &RequestContext, name: String) -> Result<CallToolResult, McpError> {
    let reply = format!("tool {name} added");
    let def = ToolDef::builder(name.clone())
        .description("Added at runtime by add_tool")
        .handler_fn(
            move |_ctx: RequestContext, _args: serde_json::Map<String, serde_json::Value>| {
                let name = name.clone();
                async move { name }
            },
        );
    ctx.server()
        .add_tool(def)
        .map_err(|e| McpError::invalid_params(e.to_string()))?;
    Ok(CallToolResult::text(reply))
}

async fn ask(ctx: &RequestContext) -> Result<CallToolResult, McpError> {
    Ok(CallToolResult::text(
        match ctx.elicit::<Answer>("What is your answer?").await? {
            ElicitResponse::Accept(a) => a.answer,
            ElicitResponse::Decline => "declined".to_owned(),
            ElicitResponse::Cancel => "cancelled".to_owned(),
        },
    ))
}

async fn ticks(ctx: &RequestContext, args: Ticks) -> Result<CallToolResult, McpError> {
    if args.count > MAX_TICKS || args.delay_ms > MAX_DELAY_MS {
        return Err(McpError::invalid_params(format!(
            "count must be at most {MAX_TICKS} and delay_ms at most {MAX_DELAY_MS}"
        )));
    }
    for i in 1..=args.count {
        tokio::time::sleep(Duration::from_millis(args.delay_ms)).await;
        ctx.progress(f64::from(i), Some(f64::from(args.count)), None)
            .await;
    }
    Ok(CallToolResult::text("done"))
}

fn http_config(redis: &Redis) -> HttpConfig {
    let extra: Vec<String> = env_or("MCP_ALLOWED_HOSTS", "")
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    // Localhost is always allowed; these come in addition.
    redis.configure(HttpConfig::default().allowed_hosts(extra))
}

#[tokio::main]
async fn main() {
    mcp_rs_server::logging::init("info");
    let listen = env_or("MCP_LISTEN", "127.0.0.1:8000");
    let instance = env_or("INSTANCE_NAME", &listen);
    let url = env_or("REDIS_URL", "redis://127.0.0.1:6379");
    let redis = match Redis::new(RedisConfig::new(url)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("multi-instance: REDIS_URL: {e}");
            std::process::exit(2);
        }
    };
    let service = StreamableHttpService::new(build_server(instance.clone()), http_config(&redis));
    println!("mcp-rs multi-instance {instance} listening on http://{listen}/mcp");
    if let Err(e) = service.serve(listen.as_str()).await {
        eprintln!("multi-instance: {e}");
        std::process::exit(1);
    }
}
