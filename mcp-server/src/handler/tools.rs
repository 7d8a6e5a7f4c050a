//! `tools/list` and `tools/call`.

use super::{Gate, cursor, parse, to_value};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::policy::Item;
use crate::server::Server;
use crate::tasks;
use mcp_rs_core::schema::{CallToolRequestParams, CallToolResult};
use serde_json::{Value, json};

pub(crate) fn list(
    server: &Server,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let inner = &server.0;
    let cursor = cursor(params)?;
    let gate = Gate::new(inner, ctx);
    let show = gate.lister();
    let page = inner.registry.list_tools(
        &inner.cursors,
        cursor.as_deref(),
        inner.options.page_size,
        |e| show(Item::Tool(&e.def.tool.name), e.def.scopes.as_ref()),
    )?;
    let mut out = json!({ "tools": page.items });
    if let Some(c) = page.next_cursor {
        out["nextCursor"] = Value::String(c);
    }
    Ok(out)
}

/// At most this many schema violations are reported in one result.
const MAX_REPORTED_VIOLATIONS: usize = 5;

/// Describes the schema violations of `args` (`None` when valid), naming each field by
/// its JSON Pointer.
pub(crate) fn violations(validator: &jsonschema::Validator, args: &Value) -> Option<String> {
    let mut msgs = Vec::new();
    for err in validator.iter_errors(args).take(MAX_REPORTED_VIOLATIONS) {
        let path = err.instance_path().as_str().to_owned();
        let mut msg = err.to_string();
        if msg.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|i| msg.is_char_boundary(*i))
                .unwrap_or(0);
            msg.truncate(cut);
            msg.push('…');
        }
        msgs.push(if path.is_empty() {
            msg
        } else {
            format!("{path}: {msg}")
        });
    }
    (!msgs.is_empty()).then(|| format!("Invalid arguments: {}", msgs.join("; ")))
}

pub(crate) async fn call(
    server: &Server,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let p: CallToolRequestParams = parse(params)?;
    let unknown = || McpError::invalid_params(format!("Unknown tool: {}", p.name));
    let Some(entry) = server.0.registry.tool(&p.name) else {
        return Err(unknown());
    };
    Gate::new(&server.0, &ctx).check(Item::Tool(&p.name), entry.def.scopes.as_ref(), unknown)?;
    let args = Value::Object(p.arguments.unwrap_or_default());
    if let Some(v) = &entry.validator {
        if let Some(msg) = violations(v, &args) {
            return to_value(&CallToolResult::error_text(msg));
        }
    }
    let Value::Object(args) = args else {
        unreachable!("built as an object above")
    };
    let (ctx, args) = match entry.def.task {
        None => (ctx, args),
        Some(_) => match tasks::call_tool(&server.0.tasks, &entry.def, ctx, args).await {
            tasks::TaskCall::Sync(ctx, args) => (ctx, args),
            tasks::TaskCall::Done(answer) => return answer,
        },
    };
    let result = entry.def.handler.call(ctx, args).await?;
    #[cfg(debug_assertions)]
    if let (Some(v), Some(structured), false) = (
        &entry.output_validator,
        &result.structured_content,
        result.is_error(),
    ) {
        if let Some(msg) = violations(v, structured) {
            return Err(McpError::internal(format!(
                "tool {} returned structuredContent that violates its outputSchema: {msg}",
                p.name
            )));
        }
    }
    to_value(&result)
}
