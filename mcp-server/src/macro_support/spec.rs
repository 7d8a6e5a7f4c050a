//! Item descriptions (`ToolSpec` and friends, all `'static`: the macro writes them as literals)
//! and the `fn() -> ToolDef` (and friends) built from them.

use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::tool::ToolDef;
use mcp_rs_core::schema::JsonObject;

use super::CompletionProviderRef;
use crate::prompt::PromptHandler;
use crate::resource::{ResourceHandler, ResourceTemplateHandler};
use crate::scope::ScopeRequirement;
use crate::tool::ToolHandler;
use mcp_rs_core::schema::{
    Icon, IconTheme, Prompt, PromptArgument, Resource, ResourceTemplate, Tool, ToolAnnotations,
};
use serde_json::Value;
use std::sync::Arc;

/// One icon of an `icons = [...]` option.
#[derive(Debug, Clone, Copy)]
pub struct IconSpec {
    /// URL (or data URI).
    pub src: &'static str,
    /// Media type.
    pub mime_type: Option<&'static str>,
    /// Sizes such as `"48x48"` or `"any"`.
    pub sizes: &'static [&'static str],
    /// `"light"` or `"dark"` (checked by the macro).
    pub theme: Option<&'static str>,
}

/// The literal options of `#[mcp_tool]`.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// Tool name (validated by the macro).
    pub name: &'static str,
    /// Display title.
    pub title: Option<&'static str>,
    /// Description (option or doc comment).
    pub description: Option<&'static str>,
    /// `readOnlyHint`.
    pub read_only: Option<bool>,
    /// `destructiveHint`.
    pub destructive: Option<bool>,
    /// `idempotentHint`.
    pub idempotent: Option<bool>,
    /// `openWorldHint`.
    pub open_world: Option<bool>,
    /// Icons.
    pub icons: &'static [IconSpec],
    /// Required scopes (empty: none).
    pub scopes: &'static [&'static str],
    /// Whether any one of `scopes` suffices.
    pub scopes_any: bool,
    /// `task = "optional" | "required"`.
    pub task: Option<crate::tool::TaskSupport>,
    /// `task_start = "call" | "handler"`.
    pub task_start: crate::tool::TaskStart,
    /// `file:line` of the function.
    pub location: &'static str,
}

/// The literal options of `#[mcp_resource]`.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSpec {
    /// The resource URI.
    pub uri: &'static str,
    /// Programmatic name.
    pub name: &'static str,
    /// Display title.
    pub title: Option<&'static str>,
    /// Description.
    pub description: Option<&'static str>,
    /// Media type.
    pub mime_type: Option<&'static str>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Icons.
    pub icons: &'static [IconSpec],
    /// Required scopes (empty: none).
    pub scopes: &'static [&'static str],
    /// Whether any one of `scopes` suffices.
    pub scopes_any: bool,
    /// `file:line` of the function.
    pub location: &'static str,
}

/// The literal options of `#[mcp_resource_template]`.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSpec {
    /// The RFC 6570 template.
    pub uri_template: &'static str,
    /// Programmatic name.
    pub name: &'static str,
    /// Display title.
    pub title: Option<&'static str>,
    /// Description.
    pub description: Option<&'static str>,
    /// Media type.
    pub mime_type: Option<&'static str>,
    /// Icons.
    pub icons: &'static [IconSpec],
    /// Required scopes (empty: none).
    pub scopes: &'static [&'static str],
    /// Whether any one of `scopes` suffices.
    pub scopes_any: bool,
    /// `file:line` of the function.
    pub location: &'static str,
}

/// The literal options of `#[mcp_prompt]`.
#[derive(Debug, Clone, Copy)]
pub struct PromptSpec {
    /// Programmatic name.
    pub name: &'static str,
    /// Display title.
    pub title: Option<&'static str>,
    /// Description.
    pub description: Option<&'static str>,
    /// Icons.
    pub icons: &'static [IconSpec],
    /// Required scopes (empty: none).
    pub scopes: &'static [&'static str],
    /// Whether any one of `scopes` suffices.
    pub scopes_any: bool,
    /// `file:line` of the function.
    pub location: &'static str,
}

fn icons(specs: &[IconSpec]) -> Option<Vec<Icon>> {
    if specs.is_empty() {
        return None;
    }
    Some(
        specs
            .iter()
            .map(|s| {
                let mut icon = Icon::new(s.src);
                icon.mime_type = s.mime_type.map(str::to_owned);
                if !s.sizes.is_empty() {
                    icon.sizes = Some(s.sizes.iter().map(|&x| x.to_owned()).collect());
                }
                icon.theme = match s.theme {
                    Some("light") => Some(IconTheme::Light),
                    Some("dark") => Some(IconTheme::Dark),
                    _ => None,
                };
                icon
            })
            .collect(),
    )
}

fn scopes(scopes: &[&str], any: bool) -> Option<ScopeRequirement> {
    match (scopes.is_empty(), any) {
        (true, _) => None,
        (false, false) => Some(ScopeRequirement::all(scopes.iter().copied())),
        (false, true) => Some(ScopeRequirement::any(scopes.iter().copied())),
    }
}

fn meta(meta: Option<Value>) -> Option<JsonObject> {
    match meta {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// Builds the [`ToolDef`] of an `#[mcp_tool]` function.
pub fn tool_def(
    spec: ToolSpec,
    meta_value: Option<Value>,
    input_schema: JsonObject,
    output_schema: Option<JsonObject>,
    handler: impl ToolHandler,
) -> ToolDef {
    let annotations = ToolAnnotations {
        read_only_hint: spec.read_only,
        destructive_hint: spec.destructive,
        idempotent_hint: spec.idempotent,
        open_world_hint: spec.open_world,
        ..Default::default()
    };
    let has_annotations = annotations != ToolAnnotations::default();
    let tool = Tool {
        name: spec.name.to_owned(),
        title: owned(spec.title),
        description: owned(spec.description),
        input_schema,
        output_schema,
        annotations: has_annotations.then_some(annotations),
        icons: icons(spec.icons),
        meta: meta(meta_value),
        ..Default::default()
    };
    let def = ToolDef {
        tool,
        handler: Arc::new(handler),
        scopes: scopes(spec.scopes, spec.scopes_any),
        location: Some(spec.location),
        task: None,
        task_start: spec.task_start,
    };
    match spec.task {
        Some(support) => def.with_task(support),
        None => def,
    }
}

/// Builds the [`ResourceDef`] of an `#[mcp_resource]` function.
pub fn resource_def(
    spec: ResourceSpec,
    meta_value: Option<Value>,
    handler: impl ResourceHandler,
) -> ResourceDef {
    let resource = Resource {
        uri: spec.uri.to_owned(),
        name: spec.name.to_owned(),
        title: owned(spec.title),
        description: owned(spec.description),
        mime_type: owned(spec.mime_type),
        size: spec.size,
        icons: icons(spec.icons),
        meta: meta(meta_value),
        ..Default::default()
    };
    ResourceDef {
        resource,
        handler: Arc::new(handler),
        scopes: scopes(spec.scopes, spec.scopes_any),
        location: Some(spec.location),
    }
}

/// Builds the [`ResourceTemplateDef`] of an `#[mcp_resource_template]` function.
pub fn template_def(
    spec: TemplateSpec,
    meta_value: Option<Value>,
    completions: Vec<(&'static str, CompletionProviderRef)>,
    handler: impl ResourceTemplateHandler,
) -> ResourceTemplateDef {
    let template = ResourceTemplate {
        uri_template: spec.uri_template.to_owned(),
        name: spec.name.to_owned(),
        title: owned(spec.title),
        description: owned(spec.description),
        mime_type: owned(spec.mime_type),
        icons: icons(spec.icons),
        meta: meta(meta_value),
        ..Default::default()
    };
    ResourceTemplateDef {
        template,
        handler: Arc::new(handler),
        scopes: scopes(spec.scopes, spec.scopes_any),
        completions: completions
            .into_iter()
            .map(|(n, p)| (n.to_owned(), p))
            .collect(),
        location: Some(spec.location),
    }
}

/// One prompt argument.
#[must_use]
pub fn prompt_argument(
    name: &str,
    title: Option<&str>,
    description: Option<&str>,
    required: bool,
) -> PromptArgument {
    let mut arg = PromptArgument::new(name, owned(description), required);
    arg.title = owned(title);
    arg
}

/// Builds the [`PromptDef`] of an `#[mcp_prompt]` function.
pub fn prompt_def(
    spec: PromptSpec,
    meta_value: Option<Value>,
    arguments: Vec<PromptArgument>,
    completions: Vec<(&'static str, CompletionProviderRef)>,
    handler: impl PromptHandler,
) -> PromptDef {
    let prompt = Prompt {
        name: spec.name.to_owned(),
        title: owned(spec.title),
        description: owned(spec.description),
        arguments: (!arguments.is_empty()).then_some(arguments),
        icons: icons(spec.icons),
        meta: meta(meta_value),
    };
    PromptDef {
        prompt,
        handler: Arc::new(handler),
        scopes: scopes(spec.scopes, spec.scopes_any),
        completions: completions
            .into_iter()
            .map(|(n, p)| (n.to_owned(), p))
            .collect(),
        location: Some(spec.location),
    }
}
