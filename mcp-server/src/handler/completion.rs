//! `completion/complete`.

use super::{Gate, parse, to_value};
use crate::completion::{CompletionContext, CompletionProvider, CompletionTarget};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::policy::Item;
use crate::server::Server;
use mcp_rs_core::schema::{CompleteRequestParams, CompleteResult, Completion, CompletionReference};
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn complete(
    server: &Server,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let p: CompleteRequestParams = parse(params)?;
    let registry = &server.0.registry;
    let arg = p.argument.name;
    let (target, provider): (CompletionTarget, Option<Arc<dyn CompletionProvider>>) = match p.r#ref
    {
        CompletionReference::Prompt(r) => {
            let unknown = || McpError::invalid_params(format!("Unknown prompt: {}", r.name));
            let Some(def) = registry.prompt(&r.name) else {
                return Err(unknown());
            };
            let gate = Gate::new(&server.0, &ctx);
            gate.check(Item::Prompt(&r.name), def.scopes.as_ref(), unknown)?;
            let own = def
                .completions
                .iter()
                .find(|(n, _)| *n == arg)
                .map(|(_, p)| p.clone());
            (CompletionTarget::Prompt(r.name), own)
        }
        CompletionReference::ResourceTemplate(r) => {
            let unknown =
                || McpError::invalid_params(format!("Unknown resource template: {}", r.uri));
            let Some(entry) = registry.template(&r.uri) else {
                return Err(unknown());
            };
            let gate = Gate::new(&server.0, &ctx);
            let item = Item::ResourceTemplate(&r.uri);
            gate.check(item, entry.def.scopes.as_ref(), unknown)?;
            let own = entry
                .def
                .completions
                .iter()
                .find(|(n, _)| *n == arg)
                .map(|(_, p)| p.clone());
            (CompletionTarget::ResourceTemplate(r.uri), own)
        }
    };
    let provider = provider.or_else(|| registry.completion(&target, &arg));
    let values = match provider {
        Some(provider) => {
            let context = CompletionContext::new(
                target,
                arg,
                p.context.and_then(|c| c.arguments).unwrap_or_default(),
            );
            provider.complete(&ctx, &p.argument.value, &context).await?
        }
        None => Vec::new(),
    };
    let result = CompleteResult {
        completion: Completion::from_values(values),
        ..Default::default()
    };
    to_value(&result)
}
