//! The tasks-extension part of the fixture (CONFORMANCE.md §5.8, SEP-2663): `greet` (sync),
//! and the task-capable `slow_compute`, `failing_job`, `protocol_error_job`,
//! `confirm_delete`, `multi_input` and `test_tool_with_task`.

use mcp_rs_core::schema::{
    BooleanSchema, CallToolResult, ElicitAction, ElicitResult, ElicitationSchema, StringSchema,
};
use mcp_rs_server::builder::ServerBuilder;
use mcp_rs_server::context::RequestContext;
use mcp_rs_server::error::{ErrorKind, McpError};
use mcp_rs_server::protocol::mrtr::{InputRequired, InputResponsesExt};
use mcp_rs_server::tool::{TaskStart, TaskSupport, ToolDef};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::time::Duration;

type ToolResult = Result<CallToolResult, McpError>;

/// The longest `slow_compute` may sleep.
const MAX_SECONDS: f64 = 300.0;

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A tool with input schema `schema` whose body is `f`.
fn tool<F, Fut>(name: &str, description: &str, schema: Value, f: F) -> ToolDef
where
    F: Fn(RequestContext, Map<String, Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ToolResult> + Send + 'static,
{
    ToolDef::builder(name)
        .description(description)
        .input_schema(object(schema))
        .handler_fn(f)
}

fn no_args() -> Value {
    json!({"type": "object", "properties": {}})
}

/// Sleeps `d` unless the call is cancelled first (then the error the task runtime expects).
async fn work(ctx: &RequestContext, d: Duration) -> Result<(), McpError> {
    tokio::select! {
        () = tokio::time::sleep(d) => Ok(()),
        () = ctx.cancellation().cancelled() => Err(McpError::new(ErrorKind::Cancelled)),
    }
}

fn confirm_form() -> ElicitationSchema {
    ElicitationSchema::new().property("confirm", BooleanSchema::default(), true)
}

fn accepted(answer: &ElicitResult, field: &str) -> Option<Value> {
    (answer.action == ElicitAction::Accept)
        .then(|| answer.content.as_ref()?.get(field).cloned())
        .flatten()
}

/// Adds the tasks fixtures to `builder`.
pub(crate) fn register(builder: ServerBuilder) -> ServerBuilder {
    builder
        .tool(greet())
        .tool(slow_compute())
        .tool(failing_job())
        .tool(protocol_error_job())
        .tool(confirm_delete())
        .tool(multi_input())
        .tool(tool_with_task())
}

fn greet() -> ToolDef {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    tool(
        "greet",
        "Greets {name} (synchronous)",
        schema,
        |_ctx, args| async move {
            let name = args.get("name").and_then(Value::as_str).unwrap_or("World");
            Ok(CallToolResult::text(format!("Hello, {name}!")))
        },
    )
}

fn slow_compute() -> ToolDef {
    let schema = json!({"type": "object", "properties": {
        "seconds": {"type": "number", "minimum": 0},
        "label": {"type": "string"}
    }});
    tool(
        "slow_compute",
        "Sleeps `seconds` (cancellable), then reports `label`; runs as a task",
        schema,
        |ctx, args| async move {
            let seconds = args.get("seconds").and_then(Value::as_f64).unwrap_or(1.0);
            let seconds = seconds.clamp(0.0, MAX_SECONDS);
            let label = args.get("label").and_then(Value::as_str).unwrap_or("job");
            work(&ctx, Duration::from_secs_f64(seconds)).await?;
            Ok(CallToolResult::text(format!(
                "Computed {label} in {seconds} s"
            )))
        },
    )
    .with_task(TaskSupport::Optional)
}

fn failing_job() -> ToolDef {
    tool(
        "failing_job",
        "Fails with a tool error after about a second; task required",
        no_args(),
        |ctx, _args| async move {
            work(&ctx, Duration::from_secs(1)).await?;
            Ok(CallToolResult::error_text("failing_job failed on purpose"))
        },
    )
    .with_task(TaskSupport::Required)
}

fn protocol_error_job() -> ToolDef {
    tool(
        "protocol_error_job",
        "Panics (a protocol-level failure: the task ends `failed`)",
        no_args(),
        |ctx, _args| async move {
            work(&ctx, Duration::from_millis(100)).await?;
            panic!("protocol_error_job panics on purpose");
        },
    )
    .with_task(TaskSupport::Optional)
}

fn confirm_delete() -> ToolDef {
    let schema = json!({"type": "object", "properties": {"filename": {"type": "string"}}});
    tool(
        "confirm_delete",
        "Asks the client to confirm (one elicitation), then reports; runs as a task",
        schema,
        |ctx, args| async move {
            let file = args
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("file");
            match ctx.input_response_as::<ElicitResult>("confirm")? {
                Some(answer) => {
                    let yes = accepted(&answer, "confirm") == Some(Value::Bool(true));
                    let verb = if yes { "Deleted" } else { "Kept" };
                    Ok(CallToolResult::text(format!("{verb} {file}")))
                }
                None => Err(InputRequired::new()
                    .elicit("confirm", format!("Delete {file}?"), confirm_form())
                    .into()),
            }
        },
    )
    .with_task(TaskSupport::Optional)
}

fn multi_input() -> ToolDef {
    tool(
        "multi_input",
        "Asks two elicitations at once, then reports both answers; runs as a task",
        no_args(),
        |ctx, _args| async move {
            let first = ctx.input_response_as::<ElicitResult>("first")?;
            let second = ctx.input_response_as::<ElicitResult>("second")?;
            match (first, second) {
                (Some(a), Some(b)) => {
                    let name = |r: &ElicitResult| accepted(r, "name").unwrap_or(Value::Null);
                    Ok(CallToolResult::text(format!(
                        "Got {} and {}",
                        name(&a),
                        name(&b)
                    )))
                }
                _ => {
                    let form =
                        || ElicitationSchema::new().property("name", StringSchema::default(), true);
                    Err(InputRequired::new()
                        .elicit("first", "First name?", form())
                        .elicit("second", "Second name?", form())
                        .into())
                }
            }
        },
    )
    .with_task(TaskSupport::Optional)
}

fn tool_with_task() -> ToolDef {
    tool(
        "test_tool_with_task",
        "Asks for user_name (synchronous input round), then becomes a task that greets them",
        no_args(),
        |ctx, _args| async move {
            let Some(answer) = ctx.input_response_as::<ElicitResult>("user_name")? else {
                let form = ElicitationSchema::new().property("name", StringSchema::default(), true);
                return Err(InputRequired::new()
                    .elicit("user_name", "What is your name?", form)
                    .into());
            };
            let name = match accepted(&answer, "name") {
                Some(Value::String(s)) => s,
                _ => "anonymous".to_owned(),
            };
            ctx.start_task().await?;
            work(&ctx, Duration::from_millis(300)).await?;
            Ok(CallToolResult::text(format!(
                "Hello, {name}! (from a task)"
            )))
        },
    )
    .with_task(TaskSupport::Required)
    .with_task_start(TaskStart::Handler)
}
