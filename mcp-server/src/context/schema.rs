//! The `requestedSchema` of a form elicitation, generated from a Rust type.

use schemars::JsonSchema;
use serde_json::{Map, Value};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The `requestedSchema` for `T`, generated once per type: schemars output with subschemas
/// inlined, `Option<X>` fields reduced to `X` and JSON Schema keywords elicitation does not
/// use removed.
pub(super) fn elicitation_schema<T: JsonSchema + 'static>() -> Arc<Value> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = crate::session::lock(cache).get(&TypeId::of::<T>()) {
        return s.clone();
    }
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    let mut out = Map::new();
    out.insert("type".into(), Value::String("object".into()));
    let mut props = Map::new();
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in p {
            props.insert(name.clone(), flatten_nullable(prop.clone()));
        }
    }
    out.insert("properties".into(), Value::Object(props));
    if let Some(r) = schema.get("required") {
        out.insert("required".into(), r.clone());
    }
    let schema = Arc::new(Value::Object(out));
    crate::session::lock(cache).insert(TypeId::of::<T>(), schema.clone());
    schema
}

/// `{"type": ["string", "null"]}` → `{"type": "string"}`; `{"anyOf": [X, {"type":"null"}]}` → X.
fn flatten_nullable(mut prop: Value) -> Value {
    if let Some(obj) = prop.as_object_mut() {
        if let Some(Value::Array(types)) = obj.get("type") {
            let non_null: Vec<_> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .cloned()
                .collect();
            if non_null.len() == 1 {
                obj.insert("type".into(), non_null[0].clone());
            }
        }
        if let Some(Value::Array(any)) = obj.get("anyOf") {
            let non_null: Vec<_> = any
                .iter()
                .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                .cloned()
                .collect();
            if non_null.len() == 1 {
                let mut inner = non_null[0].clone();
                if let (Some(inner_obj), Some(desc)) =
                    (inner.as_object_mut(), obj.get("description"))
                {
                    inner_obj
                        .entry("description")
                        .or_insert_with(|| desc.clone());
                }
                return inner;
            }
        }
        if let Some(Value::Array(e)) = obj.get("enum") {
            let non_null: Vec<_> = e.iter().filter(|v| !v.is_null()).cloned().collect();
            obj.insert("enum".into(), Value::Array(non_null));
        }
        obj.remove("default")
            .filter(|d| !d.is_null())
            .map(|d| obj.insert("default".into(), d));
    }
    prop
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Form {
        /// Your name.
        name: String,
        age: Option<u32>,
        color: Color,
    }

    #[test]
    fn elicitation_schema_is_flat() {
        let s = elicitation_schema::<Form>();
        assert_eq!(s["type"], "object");
        assert_eq!(
            s["properties"]["name"],
            json!({"type": "string", "description": "Your name."})
        );
        assert_eq!(s["properties"]["age"]["type"], "integer");
        assert_eq!(s["properties"]["color"]["enum"], json!(["red", "green"]));
        assert_eq!(s["required"], json!(["name", "color"]));
        assert!(Arc::ptr_eq(&s, &elicitation_schema::<Form>()));
    }
}
