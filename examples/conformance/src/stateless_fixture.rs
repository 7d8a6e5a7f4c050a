//! The 2026-07-28 (stateless era) part of the fixture: CONFORMANCE.md §5.6–5.8 (diagnostic
//! tools, trigger hooks, the `input_required` tools and prompt, an `x-mcp-header` tool).
//!
//! Owned by the stateless-era work; `main.rs` calls [`register`] after the handshake-era
//! fixture, so everything added here is served on the same endpoint. The multi-round tools
//! serve handshake-era clients too: the server then performs their input requests as real
//! server→client requests.

use mcp_rs_core::schema::{
    BooleanSchema, CallToolResult, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitResult, ElicitationSchema, GetPromptResult, ListRootsResult, PromptMessage,
    SamplingMessage, StringSchema,
};
use mcp_rs_server::builder::ServerBuilder;
use mcp_rs_server::context::RequestContext;
use mcp_rs_server::error::McpError;
use mcp_rs_server::prompt::PromptDef;
use mcp_rs_server::protocol::mrtr::{InputRequired, InputResponsesExt};
use mcp_rs_server::server::ServerEvent;
use mcp_rs_server::tool::ToolDef;
use serde_json::{Map, Value, json};

type ToolResult = Result<CallToolResult, McpError>;

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A tool without arguments whose body is `f`.
fn tool<F, Fut>(name: &str, description: &str, f: F) -> ToolDef
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ToolResult> + Send + 'static,
{
    ToolDef::builder(name)
        .description(description)
        .input_schema(object(json!({"type": "object", "properties": {}})))
        .handler_fn(move |ctx: RequestContext, _args: Map<String, Value>| f(ctx))
}

/// A one-field text form.
fn text_form(field: &str) -> ElicitationSchema {
    ElicitationSchema::new().property(field, StringSchema::default(), true)
}

/// The accepted string field `field` of an elicitation answer, if any.
fn accepted_text(answer: &ElicitResult, field: &str) -> Option<String> {
    if answer.action != ElicitAction::Accept {
        return None;
    }
    answer
        .content
        .as_ref()?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

fn sampled_text(answer: &CreateMessageResult) -> String {
    answer
        .content
        .blocks()
        .iter()
        .filter_map(|c| c.as_text())
        .collect::<Vec<_>>()
        .join(" ")
}

fn ask(text: &str, max_tokens: u64) -> CreateMessageRequestParams {
    CreateMessageRequestParams::new(vec![SamplingMessage::user_text(text)], max_tokens)
}

/// Adds the stateless-era fixture items to `builder`.
pub(crate) fn register(builder: ServerBuilder) -> ServerBuilder {
    builder
        .tools(diagnostics())
        .tools(multi_round())
        .tool(header_tool())
        .prompt(input_required_prompt())
}

/// §5.6: the diagnostic tools and the list-change hooks of `server-stateless`.
fn diagnostics() -> Vec<ToolDef> {
    vec![
        tool(
            "test_missing_capability",
            "Needs the client's sampling capability: without it the call is refused with -32021",
            |ctx| async move {
                if let Some(answer) = ctx.input_response_as::<CreateMessageResult>("probe")? {
                    return Ok(CallToolResult::text(format!(
                        "capability-ok: {}",
                        sampled_text(&answer)
                    )));
                }
                Err(InputRequired::new()
                    .sample("probe", ask("Say hello", 10))
                    .into())
            },
        ),
        tool(
            "test_streaming_elicitation",
            "Reports progress, then asks the user to confirm through an input_required result",
            |ctx| async move {
                ctx.progress(50.0, Some(100.0), Some("waiting for confirmation".into()))
                    .await;
                match ctx.input_response_as::<ElicitResult>("confirm")? {
                    Some(answer) => Ok(CallToolResult::text(format!(
                        "Streaming complete: action={}",
                        serde_json::to_value(answer.action)
                            .unwrap_or_default()
                            .as_str()
                            .unwrap_or_default()
                    ))),
                    None => Err(InputRequired::new()
                        .elicit(
                            "confirm",
                            "Continue?",
                            ElicitationSchema::new().property("ok", BooleanSchema::default(), true),
                        )
                        .into()),
                }
            },
        ),
        tool(
            "test_logging_tool",
            "Logs at info level (delivered only when the request set a log level)",
            |ctx| async move {
                ctx.log(
                    mcp_rs_core::schema::LoggingLevel::Info,
                    "Diagnostic trace logging activated",
                )
                .await?;
                Ok(CallToolResult::text("Logging evaluated"))
            },
        ),
        tool(
            "test_trigger_tool_change",
            "Announces a tool list change to every listener",
            |ctx| async move {
                ctx.server().emit(ServerEvent::ToolsListChanged);
                Ok(CallToolResult::text("Mutation triggered"))
            },
        ),
        tool(
            "test_trigger_prompt_change",
            "Announces a prompt list change to every listener",
            |ctx| async move {
                ctx.server().emit(ServerEvent::PromptsListChanged);
                Ok(CallToolResult::text("Mutation triggered"))
            },
        ),
    ]
}

/// §5.7: the SEP-2322 multi-round tools.
fn multi_round() -> Vec<ToolDef> {
    vec![
        tool(
            "test_input_required_result_elicitation",
            "Asks for the user's name (input_required) and greets them",
            |ctx| async move {
                match ctx.input_response_as::<ElicitResult>("user_name")? {
                    Some(answer) => {
                        let name =
                            accepted_text(&answer, "name").unwrap_or_else(|| "anonymous".into());
                        Ok(CallToolResult::text(format!("Hello, {name}!")))
                    }
                    None => Err(InputRequired::new()
                        .elicit("user_name", "What is your name?", text_form("name"))
                        .into()),
                }
            },
        ),
        tool(
            "test_input_required_result_sampling",
            "Asks the client's model a question (input_required) and reports the answer",
            |ctx| async move {
                match ctx.input_response_as::<CreateMessageResult>("capital_question")? {
                    Some(answer) => Ok(CallToolResult::text(format!(
                        "Sampling result: {}",
                        sampled_text(&answer)
                    ))),
                    None => Err(InputRequired::new()
                        .sample(
                            "capital_question",
                            ask("What is the capital of France?", 100),
                        )
                        .into()),
                }
            },
        ),
        tool(
            "test_input_required_result_list_roots",
            "Asks for the client's roots (input_required) and counts them",
            |ctx| async move {
                match ctx.input_response_as::<ListRootsResult>("client_roots")? {
                    Some(answer) => Ok(CallToolResult::text(format!(
                        "Found {} root(s)",
                        answer.roots.len()
                    ))),
                    None => Err(InputRequired::new().list_roots("client_roots").into()),
                }
            },
        ),
        tool(
            "test_input_required_result_request_state",
            "Asks for a confirmation and carries requestState across the retry",
            |ctx| async move {
                let state = ctx.request_state_as::<Value>()?;
                let answer = ctx.input_response_as::<ElicitResult>("confirm")?;
                if let (Some(state), Some(answer)) = (state, answer) {
                    if state["step"] == "confirm" {
                        let ok = answer
                            .content
                            .as_ref()
                            .and_then(|c| c.get("ok"))
                            .and_then(Value::as_bool);
                        return Ok(CallToolResult::text(format!(
                            "state-ok: confirmed={}",
                            ok.unwrap_or(false)
                        )));
                    }
                }
                Err(InputRequired::new()
                    .elicit(
                        "confirm",
                        "Please confirm",
                        ElicitationSchema::new().property("ok", BooleanSchema::default(), true),
                    )
                    .state(json!({"step": "confirm"}))
                    .into())
            },
        ),
        tool(
            "test_input_required_result_multiple_inputs",
            "Asks for a name, a sampled greeting and the roots at once",
            |ctx| async move {
                let name = ctx.input_response_as::<ElicitResult>("user_name")?;
                let greeting = ctx.input_response_as::<CreateMessageResult>("greeting")?;
                let roots = ctx.input_response_as::<ListRootsResult>("client_roots")?;
                let state = ctx.request_state_as::<Value>()?;
                if let (Some(name), Some(greeting), Some(roots), Some(_)) =
                    (name, greeting, roots, state)
                {
                    return Ok(CallToolResult::text(format!(
                        "Multiple inputs complete: name={}, greeting={}, roots={}",
                        accepted_text(&name, "name").unwrap_or_else(|| "anonymous".into()),
                        sampled_text(&greeting),
                        roots.roots.len()
                    )));
                }
                Err(InputRequired::new()
                    .elicit("user_name", "What is your name?", text_form("name"))
                    .sample("greeting", ask("Generate a greeting", 50))
                    .list_roots("client_roots")
                    .state(json!({"step": "all"}))
                    .into())
            },
        ),
        tool(
            "test_input_required_result_multi_round",
            "Asks for a name, then for a colour, keeping state between the rounds",
            |ctx| async move {
                let state = ctx.request_state_as::<Value>()?.unwrap_or(Value::Null);
                if state["step"] == 2 {
                    if let Some(answer) = ctx.input_response_as::<ElicitResult>("step2")? {
                        let color =
                            accepted_text(&answer, "color").unwrap_or_else(|| "nothing".into());
                        let name = state["name"].as_str().unwrap_or("someone");
                        return Ok(CallToolResult::text(format!(
                            "Multi-round complete for {name} who likes {color}"
                        )));
                    }
                }
                if state["step"] == 1 {
                    if let Some(answer) = ctx.input_response_as::<ElicitResult>("step1")? {
                        let name =
                            accepted_text(&answer, "name").unwrap_or_else(|| "someone".into());
                        return Err(InputRequired::new()
                            .elicit(
                                "step2",
                                "Step 2: What is your favorite color?",
                                text_form("color"),
                            )
                            .state(json!({"step": 2, "name": name}))
                            .into());
                    }
                }
                Err(InputRequired::new()
                    .elicit("step1", "Step 1: What is your name?", text_form("name"))
                    .state(json!({"step": 1}))
                    .into())
            },
        ),
        tool(
            "test_input_required_result_tampered_state",
            "Carries an integrity-protected requestState; a tampered one is refused with -32602",
            |ctx| async move {
                let state = ctx.request_state_as::<Value>()?;
                if let (Some(state), Some(_)) =
                    (state, ctx.input_response_as::<ElicitResult>("confirm")?)
                {
                    if state["kind"] == "tamper-test" {
                        return Ok(CallToolResult::text("integrity-ok: state verified"));
                    }
                }
                Err(InputRequired::new()
                    .elicit(
                        "confirm",
                        "Please confirm",
                        ElicitationSchema::new().property("ok", BooleanSchema::default(), true),
                    )
                    .state(json!({"kind": "tamper-test"}))
                    .into())
            },
        ),
        tool(
            "test_input_required_result_capabilities",
            "Asks only for what the client declared it supports",
            |ctx| async move {
                if let Some(answers) = ctx.input_responses().filter(|a| !a.is_empty()) {
                    let keys: Vec<&str> = answers.keys().map(String::as_str).collect();
                    return Ok(CallToolResult::text(format!(
                        "capabilities-ok: received {}",
                        keys.join(",")
                    )));
                }
                let caps = ctx.client_capabilities().cloned().unwrap_or_default();
                let mut ask_for = InputRequired::new();
                if caps.elicitation.is_some() {
                    ask_for =
                        ask_for.elicit("elicit_input", "Elicitation input", text_form("value"));
                }
                if caps.sampling.is_some() {
                    ask_for = ask_for.sample("sample_input", ask("Sample request", 50));
                }
                if caps.roots.is_some() {
                    ask_for = ask_for.list_roots("roots_input");
                }
                if ask_for.requests().is_empty() {
                    return Ok(CallToolResult::text("No supported capabilities declared"));
                }
                Err(ask_for.state(json!({"kind": "capabilities-test"})).into())
            },
        ),
    ]
}

/// §5.8: a tool with an `x-mcp-header` argument (SEP-2243 `Mcp-Param-Region`).
fn header_tool() -> ToolDef {
    ToolDef::builder("test_x_mcp_header")
        .description("Echoes the region argument, which clients mirror into the Mcp-Param-Region header")
        .input_schema(object(json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "description": "A region name", "x-mcp-header": "Region"}
            },
            "required": ["region"]
        })))
        .handler_fn(|_ctx: RequestContext, args: Map<String, Value>| async move {
            let region = args.get("region").and_then(Value::as_str).unwrap_or_default().to_owned();
            Ok::<_, McpError>(CallToolResult::text(format!("Region: {region}")))
        })
}

/// §5.7: the multi-round prompt.
fn input_required_prompt() -> PromptDef {
    PromptDef::builder("test_input_required_result_prompt")
        .description("Asks for context (input_required) before producing its messages")
        .handler_fn(
            |ctx: RequestContext, _args: Map<String, Value>| async move {
                match ctx.input_response_as::<ElicitResult>("user_context")? {
                    Some(answer) => {
                        let context = accepted_text(&answer, "context").unwrap_or_default();
                        Ok(GetPromptResult::new(
                            None,
                            vec![PromptMessage::user(format!(
                                "Prompt with context: {context}"
                            ))],
                        ))
                    }
                    None => Err(McpError::from(InputRequired::new().elicit(
                        "user_context",
                        "What context should the prompt use?",
                        text_form("context"),
                    ))),
                }
            },
        )
}
