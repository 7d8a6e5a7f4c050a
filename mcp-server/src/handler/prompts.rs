//! `prompts/list` and `prompts/get`.

use super::{Gate, cursor, parse, to_value};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::policy::Item;
use crate::server::Server;
use mcp_rs_core::schema::GetPromptRequestParams;
use serde_json::{Map, Value, json};

pub(crate) fn list(
    server: &Server,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let inner = &server.0;
    let cursor = cursor(params)?;
    let gate = Gate::new(inner, ctx);
    let show = gate.lister();
    let page = inner.registry.list_prompts(
        &inner.cursors,
        cursor.as_deref(),
        inner.options.page_size,
        |d| show(Item::Prompt(&d.prompt.name), d.scopes.as_ref()),
    )?;
    let mut out = json!({ "prompts": page.items });
    if let Some(c) = page.next_cursor {
        out["nextCursor"] = Value::String(c);
    }
    Ok(out)
}

pub(crate) async fn get(
    server: &Server,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let p: GetPromptRequestParams = parse(params)?;
    let unknown = || McpError::invalid_params(format!("Unknown prompt: {}", p.name));
    let Some(def) = server.0.registry.prompt(&p.name) else {
        return Err(unknown());
    };
    Gate::new(&server.0, &ctx).check(Item::Prompt(&p.name), def.scopes.as_ref(), unknown)?;
    let given = p.arguments.unwrap_or_default();
    let missing: Vec<&str> = def
        .prompt
        .arguments
        .iter()
        .flatten()
        .filter(|a| a.required == Some(true) && !given.contains_key(&a.name))
        .map(|a| a.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(McpError::invalid_params(format!(
            "Missing required arguments: {}",
            missing.join(", ")
        )));
    }
    let args: Map<String, Value> = given
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let result = def.handler.get(ctx, args).await?;
    to_value(&result)
}
