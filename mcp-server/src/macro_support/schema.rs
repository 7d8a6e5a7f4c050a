//! Schemas, generated once when the server is built.

use mcp_rs_core::schema::JsonObject;

use super::{CompletionProviderRef, prompt_argument};
use crate::completion::StaticCompletions;
use mcp_rs_core::schema::PromptArgument;
use serde_json::Value;
use std::sync::Arc;

pub(super) const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

pub(super) fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12().into_generator()
}

/// The input schema of a `Params<T>` tool: `T`'s schema, which must describe an object.
///
/// # Panics
/// At server build time, when `T` is not an object type (a struct or a map).
#[must_use]
pub fn params_schema<T: super::HasSchema>() -> JsonObject {
    let schema = crate::tool::input_schema_for::<T>();
    assert!(
        schema.get("type").and_then(Value::as_str) == Some("object"),
        "`Params<{}>`: the arguments of a tool are a JSON object, so `{}` must be a struct or a map (its schema is {})",
        std::any::type_name::<T>(),
        std::any::type_name::<T>(),
        Value::Object(schema.clone()),
    );
    schema
}

/// The output schema of a `Json<T>` return (non-object `T` wrapped as `{"result": ...}`, as
/// `Json<T>` wraps its value). The generated title of a wrapped type (`"Array_of_string"`)
/// is dropped: it names a Rust type, not the data.
#[must_use]
pub fn output_schema<T: super::HasSchema>() -> JsonObject {
    let mut schema = crate::tool::output_schema_for::<T>();
    let wrapped = generator()
        .into_root_schema_for::<T>()
        .to_value()
        .get("type")
        .and_then(Value::as_str)
        != Some("object");
    if wrapped
        && let Some(Value::Object(result)) = schema
            .get_mut("properties")
            .and_then(|p| p.get_mut("result"))
    {
        result.remove("title");
    }
    schema
}

/// The prompt arguments described by `T`'s properties (`Params<T>` prompts).
#[must_use]
pub fn prompt_arguments_of<T: super::HasSchema>() -> Vec<PromptArgument> {
    let root = generator().into_root_schema_for::<T>().to_value();
    let schema = resolve(&root, &root);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, p)| {
            prompt_argument(
                name,
                p.get("title").and_then(Value::as_str),
                p.get("description").and_then(Value::as_str),
                required.contains(&name.as_str()),
            )
        })
        .collect()
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str)
        && let Some(name) = r.strip_prefix("#/$defs/")
        && let Some(def) = root.get("$defs").and_then(|d| d.get(name))
    {
        return def;
    }
    schema
}

/// The string values an (enum) schema admits, or `None` when it admits other values.
pub(super) fn enum_values(schema: &Value, root: &Value, depth: u8) -> Option<Vec<String>> {
    if depth > 8 {
        return None;
    }
    let schema = resolve(schema, root);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let mut out = Vec::new();
        for v in values {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Null => {}
                _ => return None,
            }
        }
        return Some(out);
    }
    if let Some(c) = schema.get("const") {
        return match c {
            Value::String(s) => Some(vec![s.clone()]),
            _ => None,
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            let mut out = Vec::new();
            for m in members {
                if m.get("type").and_then(Value::as_str) == Some("null") {
                    continue;
                }
                out.extend(enum_values(m, root, depth + 1)?);
            }
            return Some(out);
        }
    }
    None
}

/// Completions from the type of an argument: the values of a string enum (or `Option` of
/// one); `None` for other types.
#[must_use]
pub fn schema_completions<T: super::HasSchema>() -> Option<CompletionProviderRef> {
    let root = generator().into_root_schema_for::<T>().to_value();
    match enum_values(&root, &root, 0) {
        Some(values) if !values.is_empty() => Some(Arc::new(StaticCompletions(values))),
        _ => None,
    }
}
