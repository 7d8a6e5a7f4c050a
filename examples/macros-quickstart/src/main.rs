//! The macros quickstart: every kind of MCP item written as an annotated `async fn`,
//! discovered at start-up and served over stdio.
//!
//! Run it with `cargo run -p macros-quickstart`, then speak MCP on stdin, for example:
//!
//! ```text
//! {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"cli","version":"0"}}}
//! {"jsonrpc":"2.0","method":"notifications/initialized"}
//! {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}
//! ```

use mcp_rs_server::prelude::*;

/// Add two numbers.
#[mcp_tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Delete a document. Needs write access.
#[mcp_tool(scopes = ["mcp:write"], destructive)]
async fn delete_doc(ctx: RequestContext, id: String) -> Result<String, ToolError> {
    let who = ctx.oauth().map(|o| o.subject.clone()).unwrap_or_default();
    let can_admin = ctx.oauth().is_some_and(|o| o.scopes.contains("mcp:admin"));
    Ok(format!("{id} deleted by {who} (admin: {can_admin})"))
}

/// Arguments of `search`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct SearchArgs {
    /// Text to look for.
    query: String,
    limit: Option<u32>,
}

/// Search documents.
#[mcp_tool(name = "search", read_only)]
async fn search(Params(args): Params<SearchArgs>) -> Json<Vec<String>> {
    let limit = args.limit.unwrap_or(10) as usize;
    Json(vec![args.query].into_iter().take(limit).collect())
}

/// The app configuration.
#[mcp_resource(uri = "config://app", mime_type = "application/json")]
async fn app_config() -> String {
    "{}".into()
}

/// A user's profile.
#[mcp_resource_template(uri_template = "users://{id}/profile")]
async fn user_profile(id: String) -> String {
    format!("profile of {id}")
}

/// Review code.
#[mcp_prompt]
async fn code_review(
    code: String,
    #[complete(values = ["rust", "php"])] language: String,
) -> Vec<PromptMessage> {
    vec![PromptMessage::user(format!(
        "Review this {language} code:\n{code}"
    ))]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .name("demo")
        .version("1.0.0")
        .discover()
        .build();
    server.serve_stdio().await?;
    Ok(())
}
