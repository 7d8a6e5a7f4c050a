// The user story of the macros issue, as written (main builds the server instead of serving).
use mcp_rs_server::prelude::*;

/// Add two numbers.
#[mcp_tool]
async fn add(a: i64, b: i64) -> i64 { a + b }

/// Delete a document. Needs write access.
#[mcp_tool(scopes = ["mcp:write"], destructive)]
async fn delete_doc(ctx: RequestContext, id: String) -> Result<String, ToolError> {
    let who = ctx.oauth().map(|o| o.subject.clone()).unwrap_or_default();
    let can_admin = ctx.oauth().is_some_and(|o| o.scopes.contains("mcp:admin"));
    Ok(format!("{id} deleted by {who} (admin: {can_admin})"))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct SearchArgs { /// Text to look for.
    query: String, limit: Option<u32> }

/// Search documents.
#[mcp_tool(name = "search", read_only)]
async fn search(Params(args): Params<SearchArgs>) -> Json<Vec<String>> { Json(vec![args.query]) }

/// The app configuration.
#[mcp_resource(uri = "config://app", mime_type = "application/json")]
async fn app_config() -> String { "{}".into() }

/// A user's profile.
#[mcp_resource_template(uri_template = "users://{id}/profile")]
async fn user_profile(id: String) -> String { format!("profile of {id}") }

/// Review code.
#[mcp_prompt]
async fn code_review(code: String, #[complete(values = ["rust", "php"])] language: String) -> Vec<PromptMessage> {
    vec![PromptMessage::user(format!("Review this {language} code:\n{code}"))]
}

fn main() {
    let server = Server::builder().name("demo").version("1.0.0").discover().build();
    drop(server);
}
