//! The fixture server of the official MCP conformance suite.
//!
//! Serves exactly the tools, resources and prompts of CONFORMANCE.md §5 on
//! `http://127.0.0.1:PORT/mcp` (default port 3001):
//!
//! ```text
//! cargo run --release -p conformance-server -- --port 3001
//! ```
//!
//! For conformance and test builds only: it echoes client input and exposes diagnostic tools.
//!
//! With `--auth-issuer ISSUER --auth-audience AUDIENCE [--auth-jwks URL]` the endpoint is
//! protected by the OAuth resource-server stack (see `auth.rs`).

mod auth;
mod stateless_fixture;
mod tasks_fixture;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mcp_rs_core::schema::{
    CallToolResult, Content, GetPromptResult, LoggingLevel, PromptMessage, ResourceContents, Role,
};
use mcp_rs_server::Server;
use mcp_rs_server::ToolError;
use mcp_rs_server::builder::ServerBuilder;
use mcp_rs_server::completion::StaticCompletions;
use mcp_rs_server::context::RequestContext;
use mcp_rs_server::error::McpError;
use mcp_rs_server::prompt::PromptDef;
use mcp_rs_server::resource::{ResourceDef, ResourceTemplateDef};
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{HttpConfig, StreamControl, StreamableHttpService};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// A 1×1 PNG.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// A short silent WAV file (8 kHz, mono, 16-bit, 8 samples), base64.
fn wav_base64() -> String {
    let samples: u32 = 8;
    let data_len = samples * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&16000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(44 + data_len as usize, 0);
    BASE64.encode(wav)
}

/// `{"type":"object","properties":{}}`.
fn no_args() -> Map<String, Value> {
    object(json!({ "type": "object", "properties": {} }))
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A tool without arguments whose body is `f`.
fn simple_tool<F, Fut>(name: &str, description: &str, f: F) -> ToolDef
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<CallToolResult, McpError>> + Send + 'static,
{
    ToolDef::builder(name)
        .description(description)
        .input_schema(no_args())
        .handler_fn(move |ctx: RequestContext, _args: Map<String, Value>| f(ctx))
}

/// Sends `elicitation/create` with `schema` and describes the answer.
async fn elicit(
    ctx: &RequestContext,
    message: &str,
    schema: Value,
) -> Result<CallToolResult, McpError> {
    let result = ctx
        .send_request(
            "elicitation/create",
            json!({ "message": message, "requestedSchema": schema }),
        )
        .await?;
    let action = result
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let content = result.get("content").cloned().unwrap_or(Value::Null);
    Ok(CallToolResult::text(format!(
        "User response: action={action}, content={content}"
    )))
}

fn tools() -> Vec<ToolDef> {
    let wav = wav_base64();
    vec![
        simple_tool("test_simple_text", "Returns a simple text response", |_ctx| async {
            Ok(CallToolResult::text("This is a simple text response for testing."))
        }),
        simple_tool("test_image_content", "Returns an image (1x1 PNG)", |_ctx| async {
            Ok(CallToolResult::success(vec![Content::image(PNG_1X1, "image/png")]))
        }),
        simple_tool("test_audio_content", "Returns audio (a short WAV)", move |_ctx| {
            let wav = wav.clone();
            async move { Ok(CallToolResult::success(vec![Content::audio(wav, "audio/wav")])) }
        }),
        simple_tool("test_embedded_resource", "Returns an embedded resource", |_ctx| async {
            Ok(CallToolResult::success(vec![Content::embedded_text(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content.",
            )]))
        }),
        simple_tool("test_multiple_content_types", "Returns text, an image and a resource", |_ctx| async {
            Ok(CallToolResult::success(vec![
                Content::text("Multiple content types test:"),
                Content::image(PNG_1X1, "image/png"),
                Content::embedded_text(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#,
                ),
            ]))
        }),
        simple_tool("test_tool_with_logging", "Sends three log messages while it runs", |ctx| async move {
            for (i, msg) in ["Tool execution started", "Tool processing data", "Tool execution completed"]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.log(LoggingLevel::Info, msg).await?;
            }
            Ok(CallToolResult::text("Tool with logging executed successfully"))
        }),
        simple_tool("test_tool_with_progress", "Reports progress 0, 50, 100", |ctx| async move {
            for (i, p) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.progress(p, Some(100.0), None).await;
            }
            Ok(CallToolResult::text("Tool with progress executed successfully"))
        }),
        simple_tool("test_error_handling", "Always returns a tool error", |_ctx| async {
            Ok(CallToolResult::error_text("This tool intentionally returns an error for testing"))
        }),
        ToolDef::builder("test_sampling")
            .description("Asks the client's LLM to answer a prompt (sampling/createMessage)")
            .input_schema(object(json!({
                "type": "object",
                "properties": { "prompt": { "type": "string", "description": "The prompt to send" } },
                "required": ["prompt"]
            })))
            .handler_fn(|ctx: RequestContext, args: Map<String, Value>| async move {
                let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or_default().to_owned();
                let result = ctx
                    .send_request(
                        "sampling/createMessage",
                        json!({
                            "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
                            "maxTokens": 100
                        }),
                    )
                    .await?;
                let text = result
                    .pointer("/content/text")
                    .and_then(Value::as_str)
                    .unwrap_or("(no text)")
                    .to_owned();
                Ok::<_, McpError>(CallToolResult::text(format!("LLM response: {text}")))
            }),
        ToolDef::builder("test_elicitation")
            .description("Asks the user for input (elicitation/create)")
            .input_schema(object(json!({
                "type": "object",
                "properties": { "message": { "type": "string", "description": "The message shown to the user" } },
                "required": ["message"]
            })))
            .handler_fn(|ctx: RequestContext, args: Map<String, Value>| async move {
                let message = args.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" }
                    },
                    "required": ["username", "email"]
                });
                elicit(&ctx, &message, schema).await
            }),
        simple_tool(
            "test_elicitation_sep1034_defaults",
            "Elicitation whose fields carry default values (SEP-1034)",
            |ctx| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "description": "User name", "default": "John Doe" },
                        "age": { "type": "integer", "description": "User age", "default": 30 },
                        "score": { "type": "number", "description": "User score", "default": 95.5 },
                        "status": {
                            "type": "string",
                            "description": "User status",
                            "enum": ["active", "inactive", "pending"],
                            "default": "active"
                        },
                        "verified": { "type": "boolean", "description": "Verification status", "default": true }
                    }
                });
                elicit(&ctx, "Please review and update the form fields with defaults", schema).await
            },
        ),
        simple_tool(
            "test_elicitation_sep1330_enums",
            "Elicitation with every enum variant (SEP-1330)",
            |ctx| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "untitledSingle": {
                            "type": "string",
                            "description": "Choose one option",
                            "enum": ["option1", "option2", "option3"]
                        },
                        "titledSingle": {
                            "type": "string",
                            "description": "Choose one titled option",
                            "oneOf": [
                                { "const": "value1", "title": "First Option" },
                                { "const": "value2", "title": "Second Option" },
                                { "const": "value3", "title": "Third Option" }
                            ]
                        },
                        "legacyEnum": {
                            "type": "string",
                            "description": "Choose one option (legacy)",
                            "enum": ["opt1", "opt2", "opt3"],
                            "enumNames": ["Option One", "Option Two", "Option Three"]
                        },
                        "untitledMulti": {
                            "type": "array",
                            "description": "Choose several options",
                            "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
                        },
                        "titledMulti": {
                            "type": "array",
                            "description": "Choose several titled options",
                            "items": {
                                "anyOf": [
                                    { "const": "value1", "title": "First Choice" },
                                    { "const": "value2", "title": "Second Choice" },
                                    { "const": "value3", "title": "Third Choice" }
                                ]
                            }
                        }
                    }
                });
                elicit(&ctx, "Please select options from the enum fields", schema).await
            },
        ),
        simple_tool(
            "test_reconnection",
            "Closes its SSE stream mid-call; the result arrives after the client reconnects (SEP-1699)",
            |ctx| async move {
                let closed = ctx
                    .http_parts()
                    .and_then(|p| p.extensions.get::<StreamControl>())
                    .is_some_and(StreamControl::close_stream);
                if closed {
                    // Give the client time to notice the closed stream and reconnect.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(CallToolResult::text("Reconnection test completed successfully"))
            },
        ),
        ToolDef::builder("json_schema_2020_12_tool")
            .description("A tool whose input schema uses JSON Schema 2020-12 keywords")
            .input_schema(object(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "$anchor": "addressDef",
                        "type": "object",
                        "properties": {
                            "street": { "type": "string" },
                            "city": { "type": "string" }
                        }
                    }
                },
                "properties": {
                    "name": { "type": "string" },
                    "address": { "$ref": "#/$defs/address" },
                    "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                    "phone": { "type": "string" },
                    "email": { "type": "string" }
                },
                "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
                "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
                "then": { "required": ["phone"] },
                "else": { "required": ["email"] },
                "additionalProperties": false
            })))
            .handler_fn(|_ctx: RequestContext, args: Map<String, Value>| async move {
                Ok::<_, ToolError>(CallToolResult::text(format!(
                    "Received: {}",
                    Value::Object(args)
                )))
            }),
    ]
}

fn resources() -> Vec<ResourceDef> {
    vec![
        ResourceDef::builder("test://static-text", "Static Text Resource")
            .description("A static text resource for testing")
            .mime_type("text/plain")
            .handler_fn(|_ctx: RequestContext, _uri: String| async {
                "This is the content of the static text resource."
            }),
        ResourceDef::builder("test://static-binary", "Static Binary Resource")
            .description("A static binary resource (a 1x1 PNG) for testing")
            .mime_type("image/png")
            .handler_fn(|_ctx: RequestContext, uri: String| async move {
                ResourceContents::blob(uri, Some("image/png".to_owned()), PNG_1X1)
            }),
        ResourceDef::builder("test://watched-resource", "Watched Resource")
            .description("A resource clients can subscribe to")
            .mime_type("text/plain")
            .handler_fn(|_ctx: RequestContext, _uri: String| async { "Watched resource content" }),
    ]
}

fn templates() -> Vec<ResourceTemplateDef> {
    vec![
        ResourceTemplateDef::builder("test://template/{id}/data", "Resource Template")
            .description("A resource template with an id parameter")
            .mime_type("application/json")
            .handler_fn(|_ctx: RequestContext, uri: String, vars: HashMap<String, String>| async move {
                let id = vars.get("id").cloned().unwrap_or_default();
                let text = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
                ResourceContents::text(uri, Some("application/json".to_owned()), text.to_string())
            }),
    ]
}

fn prompts() -> Vec<PromptDef> {
    vec![
        PromptDef::builder("test_simple_prompt")
            .description("A simple prompt without arguments")
            .handler_fn(|_ctx: RequestContext, _args: Map<String, Value>| async {
                PromptMessage::user("This is a simple prompt for testing.")
            }),
        PromptDef::builder("test_prompt_with_arguments")
            .description("A prompt with two required arguments")
            .argument("arg1", "First test argument", true)
            .argument("arg2", "Second test argument", true)
            .complete(
                "arg1",
                StaticCompletions::new(["test", "testing", "tested"]),
            )
            .handler_fn(
                |_ctx: RequestContext, args: Map<String, Value>| async move {
                    let arg = |k: &str| {
                        args.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    PromptMessage::user(format!(
                        "Prompt with arguments: arg1='{}', arg2='{}'",
                        arg("arg1"),
                        arg("arg2")
                    ))
                },
            ),
        PromptDef::builder("test_prompt_with_embedded_resource")
            .description("A prompt that embeds a resource")
            .argument("resourceUri", "URI of the resource to embed", true)
            .handler_fn(
                |_ctx: RequestContext, args: Map<String, Value>| async move {
                    let uri = args
                        .get("resourceUri")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    GetPromptResult::new(
                        None,
                        vec![
                            PromptMessage::new(
                                Role::User,
                                Content::embedded_text(
                                    uri,
                                    "text/plain",
                                    "Embedded resource content for testing.",
                                ),
                            ),
                            PromptMessage::user("Please process the embedded resource above."),
                        ],
                    )
                },
            ),
        PromptDef::builder("test_prompt_with_image")
            .description("A prompt that contains an image")
            .handler_fn(|_ctx: RequestContext, _args: Map<String, Value>| async {
                vec![
                    PromptMessage::new(Role::User, Content::image(PNG_1X1, "image/png")),
                    PromptMessage::user("Please analyze the image above."),
                ]
            }),
    ]
}

/// The handshake-era fixture (CONFORMANCE.md §5.1–5.4).
fn fixture(builder: ServerBuilder) -> ServerBuilder {
    builder
        .name("mcp-rs-conformance-server")
        .version(env!("CARGO_PKG_VERSION"))
        .tools(tools())
        .resources_from(resources())
        .templates_from(templates())
        .prompts_from(prompts())
}

/// Small extension so the item lists read like `tools(...)`.
trait BuilderExt {
    fn resources_from(self, defs: Vec<ResourceDef>) -> Self;
    fn templates_from(self, defs: Vec<ResourceTemplateDef>) -> Self;
    fn prompts_from(self, defs: Vec<PromptDef>) -> Self;
}

impl BuilderExt for ServerBuilder {
    fn resources_from(self, defs: Vec<ResourceDef>) -> Self {
        defs.into_iter().fold(self, ServerBuilder::resource)
    }
    fn templates_from(self, defs: Vec<ResourceTemplateDef>) -> Self {
        defs.into_iter()
            .fold(self, ServerBuilder::resource_template)
    }
    fn prompts_from(self, defs: Vec<PromptDef>) -> Self {
        defs.into_iter().fold(self, ServerBuilder::prompt)
    }
}

fn parse_port() -> Result<(u16, Option<auth::AuthOptions>), String> {
    let mut port = 3001;
    let mut auth_args = auth::AuthArgs::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if auth_args.accept(&arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--port" | "-p" => {
                let v = args.next().ok_or("--port needs a value")?;
                port = v.parse().map_err(|_| format!("invalid port {v:?}"))?;
            }
            other => match other.strip_prefix("--port=") {
                Some(v) => port = v.parse().map_err(|_| format!("invalid port {v:?}"))?,
                None => {
                    return Err(format!(
                        "unknown argument {other:?} (usage: conformance-server [--port PORT] [{}])",
                        auth::USAGE
                    ));
                }
            },
        }
    }
    Ok((port, auth_args.finish()?))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let (port, protected) = match parse_port() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let server: Server =
        tasks_fixture::register(stateless_fixture::register(fixture(Server::builder()))).build();
    if let Some(opts) = protected {
        if let Err(e) = auth::serve_protected(server, HttpConfig::default(), port, &opts).await {
            eprintln!("conformance-server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    eprintln!("conformance-server listening on http://{addr}/mcp");
    let service = StreamableHttpService::new(server, HttpConfig::default());
    if let Err(e) = service.serve(addr).await {
        eprintln!("conformance-server: {e}");
        std::process::exit(1);
    }
}
