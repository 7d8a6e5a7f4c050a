//! Server hooks in practice, over stdio: an audit log, per-tool metrics and a rate limit.
//!
//! Run it with `cargo run -p audit-hooks-example` (`AUDIT_LIMIT=5` to change the limit), or
//! point an MCP client at `target/debug/audit-hooks`.
//!
//! * [`RateLimit`] refuses a request once its principal (the token's subject; `anonymous`
//!   without one, as over stdio) made `limit` requests in the last minute: JSON-RPC error
//!   `-32000 Rate limit exceeded` with `data.retryAfterSeconds`.
//! * [`Audit`] writes one line per request to target `audit` when it ends: method, tool,
//!   principal, session, outcome, error code, duration. The same event carries
//!   `monotonic_counter.mcp_tool_calls` and `histogram.mcp_request_duration_ms` fields, the
//!   names `tracing-opentelemetry`'s metrics layer turns into a counter and a histogram; any
//!   other `tracing` layer can read them as plain fields.
//!
//! Logs go to stderr (`RUST_LOG=audit=info` shows only the audit lines).

mod hooks;

use hooks::{Audit, RateLimit};
use mcp_rs_server::prelude::*;
use mcp_rs_server::tool::ToolDef;
use serde::Deserialize;

/// Text to echo.
#[derive(Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text.
    text: String,
}

/// Two numbers.
#[derive(Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The left operand.
    a: i64,
    /// The right operand.
    b: i64,
}

/// The server: two tools, the rate limit (first, so refused requests never reach the
/// handler) and the audit log (second; it also reports the refusals).
fn server(limit: usize) -> Server {
    Server::builder()
        .name("audit-hooks")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            ToolDef::builder("echo")
                .description("Echo the text back.")
                .handler_fn(|_ctx: RequestContext, a: EchoArgs| async move { a.text }),
        )
        .tool(
            ToolDef::builder("add")
                .description("Add two numbers.")
                .handler_fn(|_ctx: RequestContext, a: AddArgs| async move { a.a + a.b }),
        )
        .hook(RateLimit::per_minute(limit))
        .hook(Audit)
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    mcp_rs_server::logging::init("info");
    let limit = std::env::var("AUDIT_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    server(limit).serve_stdio().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_rs_server::transport::memory;
    use serde_json::json;

    #[tokio::test]
    async fn the_call_past_the_limit_is_refused() {
        // initialize + 2 calls fit in a limit of 3; the third call is refused.
        let server = server(3);
        let client = memory::connect(&server);
        client.initialize().await.unwrap();
        for n in 0..2 {
            let r = client
                .request(
                    "tools/call",
                    json!({"name": "add", "arguments": {"a": n, "b": 1}}),
                )
                .await
                .unwrap();
            assert_eq!(r["content"][0]["text"], (n + 1).to_string());
        }
        let err = client
            .request(
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "x"}}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({
                "code": -32000,
                "message": "Rate limit exceeded: 3 requests per minute",
                "data": {"retryAfterSeconds": 60}
            })
        );
    }
}
