//! `#[mcp_server]` impl blocks registered with `with_handler`, and the macro features beyond
//! the user story: typed and optional arguments, `#[schema]` constraints, enum and function
//! completions, `Params<T>` prompts, typed URI variables, `scopes_any`, injected context.

use mcp_rs_server::completion::CompletionContext;
use mcp_rs_server::identity::Scopes;
use mcp_rs_server::prelude::*;
use mcp_rs_server::transport::memory::{self, MemoryClient};
use serde_json::{Value, json};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Priority {
    Low,
    High,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Stats {
    count: usize,
    last: Option<String>,
}

struct Notes {
    notes: Mutex<Vec<(String, Priority)>>,
}

async fn tags(prefix: String) -> Vec<String> {
    ["work", "home", "urgent"]
        .iter()
        .filter(|t| t.starts_with(&prefix))
        .map(|t| (*t).to_owned())
        .collect()
}

async fn by_other_argument(
    value: String,
    context: CompletionContext,
) -> Result<Vec<String>, McpError> {
    let style = context.arguments.get("style").cloned().unwrap_or_default();
    Ok(vec![format!("{style}:{value}")])
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct DigestArgs {
    /// How many notes.
    count: u32,
    /// A heading.
    heading: Option<String>,
}

#[mcp_server]
impl Notes {
    /// Add a note.
    #[mcp_tool(title = "Add note", idempotent = false, open_world = false)]
    async fn add_note(
        &self,
        /// The note's text.
        text: String,
        #[schema(description = "How urgent")] priority: Option<Priority>,
        #[schema(minimum = 1, maximum = 3)] copies: Option<u8>,
    ) -> usize {
        let mut notes = self.notes.lock().unwrap();
        for _ in 0..copies.unwrap_or(1) {
            notes.push((text.clone(), priority.unwrap_or(Priority::Low)));
        }
        notes.len()
    }

    /// Statistics.
    #[mcp_tool(read_only, scopes_any = ["notes:read", "notes:admin"])]
    async fn stats(&self, ctx: &RequestContext, cancel: CancellationToken) -> Json<Stats> {
        assert!(!cancel.is_cancelled());
        assert!(ctx.oauth().is_some());
        let notes = self.notes.lock().unwrap();
        Json(Stats {
            count: notes.len(),
            last: notes.last().map(|n| n.0.clone()),
        })
    }

    /// A note by index.
    #[mcp_resource_template(uri_template = "notes://{index}", mime_type = "text/plain")]
    async fn note(&self, index: usize) -> Result<String, McpError> {
        let notes = self.notes.lock().unwrap();
        notes
            .get(index)
            .map(|n| n.0.clone())
            .ok_or_else(|| McpError::resource_not_found(&format!("notes://{index}")))
    }

    /// Notes of a priority, with a tag.
    #[mcp_resource_template(uri_template = "notes://by/{priority}/{tag}")]
    async fn by_priority(
        &self,
        priority: Priority,
        #[complete(provider = tags)] tag: String,
    ) -> String {
        let notes = self.notes.lock().unwrap();
        let n = notes
            .iter()
            .filter(|n| {
                matches!(
                    (n.1, priority),
                    (Priority::Low, Priority::Low) | (Priority::High, Priority::High)
                )
            })
            .count();
        format!("{n} {tag}")
    }

    /// Summarise the notes.
    #[mcp_prompt(title = "Summary")]
    async fn summarise(
        &self,
        #[complete(values = ["short", "long"])] style: String,
        /// Only this priority.
        priority: Option<Priority>,
        #[complete(provider = by_other_argument)] extra: Option<String>,
    ) -> String {
        let _ = extra;
        format!(
            "{style} summary of {} notes ({priority:?})",
            self.notes.lock().unwrap().len()
        )
    }

    /// A digest.
    #[mcp_prompt]
    async fn digest(Params(args): Params<DigestArgs>) -> String {
        format!(
            "{}: {}",
            args.heading.unwrap_or_else(|| "Digest".into()),
            args.count
        )
    }
}

async fn client() -> MemoryClient {
    let server = Server::builder()
        .name("notes")
        .version("1.0.0")
        .with_handler(Notes {
            notes: Mutex::new(Vec::new()),
        })
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

async fn complete(
    client: &MemoryClient,
    reference: Value,
    name: &str,
    value: &str,
    arguments: Value,
) -> Value {
    client
        .request(
            "completion/complete",
            json!({"ref": reference, "argument": {"name": name, "value": value}, "context": {"arguments": arguments}}),
        )
        .await
        .unwrap()["completion"]["values"]
        .clone()
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn tools_share_state_through_self() {
    let client = client().await;
    let list = client.request("tools/list", json!({})).await.unwrap();
    let add = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "add_note")
        .unwrap()
        .clone();
    assert_eq!(
        add,
        json!({
            "name": "add_note",
            "title": "Add note",
            "description": "Add a note.",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "The note's text."},
                    "priority": {
                        "anyOf": [{"$ref": "#/$defs/Priority"}, {"type": "null"}],
                        "description": "How urgent"
                    },
                    "copies": {"type": ["integer", "null"], "format": "uint8", "minimum": 1, "maximum": 3}
                },
                "required": ["text"],
                "$defs": {"Priority": {"type": "string", "enum": ["low", "high"]}}
            },
            "annotations": {"idempotentHint": false, "openWorldHint": false}
        })
    );

    assert_eq!(
        text(&call(&client, "add_note", json!({"text": "a"})).await),
        "1"
    );
    assert_eq!(
        text(
            &call(
                &client,
                "add_note",
                json!({"text": "b", "priority": "high", "copies": 2})
            )
            .await
        ),
        "3"
    );

    // `#[schema(maximum = 3)]` is enforced by the input schema.
    let too_many = call(&client, "add_note", json!({"text": "c", "copies": 4})).await;
    assert_eq!(too_many["isError"], true);
    assert!(text(&too_many).contains("copies"), "{}", text(&too_many));
    // So is the enum.
    let bad_enum = call(
        &client,
        "add_note",
        json!({"text": "c", "priority": "urgent"}),
    )
    .await;
    assert_eq!(bad_enum["isError"], true);
    assert!(text(&bad_enum).contains("priority"), "{}", text(&bad_enum));
}

#[tokio::test]
async fn scopes_any_and_structured_output() {
    let client = client().await;
    let denied = call(&client, "stats", json!({})).await;
    assert_eq!(denied["isError"], true);
    assert_eq!(
        text(&denied),
        "insufficient scope: requires one of notes:read, notes:admin"
    );

    client.set_identity(Some(OAuthContext::new(
        "carol",
        Scopes::from_space_separated("notes:admin"),
    )));
    call(&client, "add_note", json!({"text": "first"})).await;
    assert_eq!(
        call(&client, "stats", json!({})).await,
        json!({
            "content": [{"type": "text", "text": "{\"count\":1,\"last\":\"first\"}"}],
            "structuredContent": {"count": 1, "last": "first"},
            "isError": false
        })
    );
    let list = client.request("tools/list", json!({})).await.unwrap();
    let stats = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "stats")
        .unwrap()
        .clone();
    assert_eq!(stats["outputSchema"]["type"], "object");
    assert_eq!(
        stats["outputSchema"]["properties"]["count"]["type"],
        "integer"
    );
    assert_eq!(stats["outputSchema"]["required"], json!(["count"]));
    assert_eq!(stats["annotations"], json!({"readOnlyHint": true}));
}

#[tokio::test]
async fn typed_uri_variables() {
    let client = client().await;
    call(&client, "add_note", json!({"text": "zero"})).await;
    assert_eq!(
        client
            .request("resources/read", json!({"uri": "notes://0"}))
            .await
            .unwrap()["contents"][0]["text"],
        "zero"
    );
    let missing = client
        .request("resources/read", json!({"uri": "notes://7"}))
        .await
        .unwrap_err();
    assert_eq!(missing.code, -32002);
    let not_a_number = client
        .request("resources/read", json!({"uri": "notes://seven"}))
        .await
        .unwrap_err();
    assert_eq!(not_a_number.code, -32602);
    assert_eq!(
        not_a_number.message,
        "Invalid value for URI variable `index`: invalid type: string \"seven\", expected usize"
    );
    assert_eq!(
        client
            .request("resources/read", json!({"uri": "notes://by/low/work"}))
            .await
            .unwrap()["contents"][0]["text"],
        "1 work"
    );
}

#[tokio::test]
async fn template_completions_from_enum_and_function() {
    let client = client().await;
    let r = json!({"type": "ref/resource", "uri": "notes://by/{priority}/{tag}"});
    assert_eq!(
        complete(&client, r.clone(), "priority", "h", json!({})).await,
        json!(["high"])
    );
    assert_eq!(
        complete(&client, r.clone(), "priority", "", json!({})).await,
        json!(["low", "high"])
    );
    assert_eq!(
        complete(&client, r.clone(), "tag", "u", json!({})).await,
        json!(["urgent"])
    );
}

#[tokio::test]
async fn prompts_with_typed_arguments_and_completions() {
    let client = client().await;
    let list = client.request("prompts/list", json!({})).await.unwrap();
    let mut prompts = list["prompts"].as_array().unwrap().clone();
    prompts.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    assert_eq!(
        Value::Array(prompts),
        json!([
            {
                "name": "digest",
                "description": "A digest.",
                "arguments": [
                    {"name": "count", "description": "How many notes.", "required": true},
                    {"name": "heading", "description": "A heading.", "required": false}
                ]
            },
            {
                "name": "summarise",
                "title": "Summary",
                "description": "Summarise the notes.",
                "arguments": [
                    {"name": "style", "required": true},
                    {"name": "priority", "description": "Only this priority.", "required": false},
                    {"name": "extra", "required": false}
                ]
            }
        ])
    );

    let get = |args: Value| {
        let client = client.clone();
        async move {
            client
                .request(
                    "prompts/get",
                    json!({"name": "summarise", "arguments": args}),
                )
                .await
        }
    };
    assert_eq!(
        get(json!({"style": "short", "priority": "high"}))
            .await
            .unwrap()["messages"][0]["content"]["text"],
        "short summary of 0 notes (Some(High))"
    );
    let bad = get(json!({"style": "short", "priority": "medium"}))
        .await
        .unwrap_err();
    assert_eq!(bad.code, -32602);
    assert!(
        bad.message
            .starts_with("Invalid argument `priority`: unknown variant `medium`"),
        "{}",
        bad.message
    );

    // `Params<T>` prompts read numbers from their string arguments.
    assert_eq!(
        client
            .request(
                "prompts/get",
                json!({"name": "digest", "arguments": {"count": "3"}})
            )
            .await
            .unwrap()["messages"][0]["content"]["text"],
        "Digest: 3"
    );

    let p = json!({"type": "ref/prompt", "name": "summarise"});
    assert_eq!(
        complete(&client, p.clone(), "style", "l", json!({})).await,
        json!(["long"])
    );
    assert_eq!(
        complete(&client, p.clone(), "priority", "l", json!({})).await,
        json!(["low"])
    );
    assert_eq!(
        complete(&client, p.clone(), "extra", "x", json!({"style": "short"})).await,
        json!(["short:x"])
    );
}
