//! The macros user story (issue 9), served through the in-memory transport: every item is
//! listed and called with exact results, argument validation errors, completions and scopes.

use mcp_rs_server::identity::Scopes;
use mcp_rs_server::prelude::*;
use mcp_rs_server::transport::memory::{self, MemoryClient};
use serde_json::{Value, json};

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

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

async fn client() -> MemoryClient {
    let server = Server::builder()
        .name("demo")
        .version("1.0.0")
        .discover()
        .build();
    let client = memory::connect(&server);
    client.initialize().await.expect("initialize");
    client
}

async fn call(client: &MemoryClient, name: &str, arguments: Value) -> Value {
    client
        .request("tools/call", json!({"name": name, "arguments": arguments}))
        .await
        .expect("tools/call answers with a result")
}

fn identity(subject: &str, scopes: &str) -> OAuthContext {
    OAuthContext::new(subject, Scopes::from_space_separated(scopes))
}

#[tokio::test]
async fn lists_the_tools_with_their_schemas() {
    let client = client().await;
    let list = client.request("tools/list", json!({})).await.unwrap();
    let mut tools = list["tools"].as_array().unwrap().clone();
    tools.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    assert_eq!(
        Value::Array(tools),
        json!([
            {
                "name": "add",
                "description": "Add two numbers.",
                "inputSchema": {
                    "$schema": DIALECT,
                    "type": "object",
                    "properties": {
                        "a": {"type": "integer", "format": "int64"},
                        "b": {"type": "integer", "format": "int64"}
                    },
                    "required": ["a", "b"]
                }
            },
            {
                "name": "delete_doc",
                "description": "Delete a document. Needs write access.",
                "inputSchema": {
                    "$schema": DIALECT,
                    "type": "object",
                    "properties": {"id": {"type": "string"}},
                    "required": ["id"]
                },
                "annotations": {"destructiveHint": true}
            },
            {
                "name": "search",
                "description": "Search documents.",
                "inputSchema": {
                    "$schema": DIALECT,
                    "title": "SearchArgs",
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "Text to look for."},
                        "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 0}
                    },
                    "required": ["query"]
                },
                "outputSchema": {
                    "$schema": DIALECT,
                    "type": "object",
                    "properties": {"result": {"type": "array", "items": {"type": "string"}}},
                    "required": ["result"]
                },
                "annotations": {"readOnlyHint": true}
            }
        ])
    );
}

#[tokio::test]
async fn calls_add() {
    let client = client().await;
    assert_eq!(
        call(&client, "add", json!({"a": 2, "b": 40})).await,
        json!({"content": [{"type": "text", "text": "42"}], "isError": false})
    );
}

#[tokio::test]
async fn invalid_arguments_are_tool_errors_naming_the_field() {
    let client = client().await;
    let wrong_type = call(&client, "add", json!({"a": "two", "b": 40})).await;
    assert_eq!(wrong_type["isError"], true);
    let text = wrong_type["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("\"a\"") || text.contains("/a") || text.contains("`a`"),
        "{text}"
    );

    let missing = call(&client, "add", json!({"a": 2})).await;
    assert_eq!(missing["isError"], true);
    let text = missing["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("\"b\"") || text.contains("`b`"), "{text}");

    let missing_query = call(&client, "search", json!({"limit": 1})).await;
    assert_eq!(missing_query["isError"], true);
    let text = missing_query["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("query"), "{text}");
}

#[tokio::test]
async fn structured_search_result() {
    let client = client().await;
    assert_eq!(
        call(&client, "search", json!({"query": "rust", "limit": 5})).await,
        json!({
            "content": [{"type": "text", "text": "{\"result\":[\"rust\"]}"}],
            "structuredContent": {"result": ["rust"]},
            "isError": false
        })
    );
    assert_eq!(
        call(&client, "search", json!({"query": "rust", "limit": 0})).await["structuredContent"],
        json!({"result": []})
    );
}

#[tokio::test]
async fn scoped_tool_needs_the_scope() {
    let client = client().await;
    // No identity at all (as over stdio): denied.
    let denied = call(&client, "delete_doc", json!({"id": "doc1"})).await;
    assert_eq!(denied["isError"], true);
    assert_eq!(
        denied["content"][0]["text"],
        "insufficient scope: requires mcp:write"
    );

    // An identity without the scope: denied.
    client.set_identity(Some(identity("bob", "mcp:read")));
    let denied = call(&client, "delete_doc", json!({"id": "doc1"})).await;
    assert_eq!(denied["isError"], true);
    assert_eq!(
        denied["content"][0]["text"],
        "insufficient scope: requires mcp:write"
    );

    // With the scope: runs, and sees the identity.
    client.set_identity(Some(identity("alice", "mcp:write mcp:admin")));
    assert_eq!(
        call(&client, "delete_doc", json!({"id": "doc1"})).await,
        json!({"content": [{"type": "text", "text": "doc1 deleted by alice (admin: true)"}], "isError": false})
    );
}

#[tokio::test]
async fn reads_the_resource_and_the_template() {
    let client = client().await;
    assert_eq!(
        client.request("resources/list", json!({})).await.unwrap()["resources"],
        json!([{
            "uri": "config://app",
            "name": "app_config",
            "description": "The app configuration.",
            "mimeType": "application/json"
        }])
    );
    assert_eq!(
        client
            .request("resources/read", json!({"uri": "config://app"}))
            .await
            .unwrap(),
        json!({"contents": [{"uri": "config://app", "mimeType": "application/json", "text": "{}"}]})
    );
    assert_eq!(
        client
            .request("resources/templates/list", json!({}))
            .await
            .unwrap()["resourceTemplates"],
        json!([{
            "uriTemplate": "users://{id}/profile",
            "name": "user_profile",
            "description": "A user's profile."
        }])
    );
    assert_eq!(
        client
            .request("resources/read", json!({"uri": "users://42/profile"}))
            .await
            .unwrap(),
        json!({"contents": [{"uri": "users://42/profile", "mimeType": "text/plain", "text": "profile of 42"}]})
    );
}

#[tokio::test]
async fn gets_the_prompt() {
    let client = client().await;
    assert_eq!(
        client.request("prompts/list", json!({})).await.unwrap()["prompts"],
        json!([{
            "name": "code_review",
            "description": "Review code.",
            "arguments": [
                {"name": "code", "required": true},
                {"name": "language", "required": true}
            ]
        }])
    );
    assert_eq!(
        client
            .request("prompts/get", json!({"name": "code_review", "arguments": {"code": "fn main() {}", "language": "rust"}}))
            .await
            .unwrap(),
        json!({"messages": [{"role": "user", "content": {"type": "text", "text": "Review this rust code:\nfn main() {}"}}]})
    );
    let err = client
        .request(
            "prompts/get",
            json!({"name": "code_review", "arguments": {"code": "x"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, -32602);
    assert_eq!(err.message, "Missing required arguments: language");
}

#[tokio::test]
async fn completes_the_prompt_argument() {
    let client = client().await;
    let complete = |value: &'static str| {
        let client = client.clone();
        async move {
            client
                .request(
                    "completion/complete",
                    json!({
                        "ref": {"type": "ref/prompt", "name": "code_review"},
                        "argument": {"name": "language", "value": value}
                    }),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(
        complete("R").await["completion"],
        json!({"values": ["rust"], "total": 1, "hasMore": false})
    );
    assert_eq!(
        complete("").await["completion"]["values"],
        json!(["rust", "php"])
    );
    assert_eq!(complete("x").await["completion"]["values"], json!([]));
}
