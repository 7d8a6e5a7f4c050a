//! Which client capabilities the input requests of an `input_required` result need.

use mcp_rs_core::ErrorObject;
use mcp_rs_core::schema::{ClientCapabilities, ElicitRequestParams, InputRequest, InputRequests};
use serde_json::{Value, json};

/// The client capabilities `requests` need that `caps` does not declare, as a
/// `ClientCapabilities`-shaped object (e.g. `{"sampling": {}}`), or `None` when all are there.
#[must_use]
pub fn missing_capabilities(requests: &InputRequests, caps: &ClientCapabilities) -> Option<Value> {
    let mut missing = serde_json::Map::new();
    for request in requests.values() {
        match request {
            InputRequest::CreateMessage(r) => match &caps.sampling {
                None => {
                    missing.insert("sampling".into(), json!({}));
                }
                Some(s) if r.params.tools.is_some() && s.tools.is_none() => {
                    missing.insert("sampling".into(), json!({"tools": {}}));
                }
                Some(_) => {}
            },
            InputRequest::Elicit(r) => {
                let url = matches!(r.params, ElicitRequestParams::Url(_));
                match &caps.elicitation {
                    None => {
                        let need = if url { json!({"url": {}}) } else { json!({}) };
                        missing.insert("elicitation".into(), need);
                    }
                    Some(e) if url && e.url.is_none() => {
                        missing.insert("elicitation".into(), json!({"url": {}}));
                    }
                    // An empty elicitation capability means form mode.
                    Some(e) if !url && e.form.is_none() && e.url.is_some() => {
                        missing.insert("elicitation".into(), json!({"form": {}}));
                    }
                    Some(_) => {}
                }
            }
            InputRequest::ListRoots(_) => {
                if caps.roots.is_none() {
                    missing.insert("roots".into(), json!({}));
                }
            }
        }
    }
    (!missing.is_empty()).then_some(Value::Object(missing))
}

/// The `-32021` error for [`missing_capabilities`].
#[must_use]
pub fn missing_capability_error(required: Value) -> ErrorObject {
    let names: Vec<&str> = required
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut e = ErrorObject::missing_client_capability(required.clone());
    e.message = format!("Missing required client capability: {}", names.join(", "));
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::mrtr::InputRequired;
    use mcp_rs_core::schema::{CreateMessageRequestParams, ElicitationSchema};

    #[test]
    fn capability_check() {
        let all = InputRequired::new()
            .elicit("e", "m", ElicitationSchema::new())
            .sample("s", CreateMessageRequestParams::new(vec![], 1))
            .list_roots("r");
        let none = ClientCapabilities::default();
        assert_eq!(
            missing_capabilities(all.requests(), &none),
            Some(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
        );
        let caps: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
                .unwrap();
        assert_eq!(missing_capabilities(all.requests(), &caps), None);
        let url = InputRequired::new().elicit_url("u", "m", "https://example.com");
        let form_only: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {}})).unwrap();
        assert_eq!(
            missing_capabilities(url.requests(), &form_only),
            Some(json!({"elicitation": {"url": {}}}))
        );
        let e = missing_capability_error(json!({"sampling": {}}));
        assert_eq!(e.code, -32021);
        assert_eq!(
            e.data,
            Some(json!({"requiredCapabilities": {"sampling": {}}}))
        );
        assert_eq!(e.message, "Missing required client capability: sampling");
    }
}
