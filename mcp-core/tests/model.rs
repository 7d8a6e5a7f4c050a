//! Unit-level behaviour of the wire model: constructors, exact JSON output, unknown-field
//! preservation and era-specific shapes.

use mcp_rs_core::jsonrpc::RequestId;
use mcp_rs_core::schema::*;
use serde_json::{Value, json};

fn to_json<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("serialises")
}

#[test]
fn content_constructors_produce_exact_json() {
    assert_eq!(
        to_json(&Content::text("hi")),
        json!({"type": "text", "text": "hi"})
    );
    assert_eq!(
        to_json(&Content::image("AAA=", "image/png")),
        json!({"type": "image", "data": "AAA=", "mimeType": "image/png"})
    );
    assert_eq!(
        to_json(&Content::audio("AAA=", "audio/wav")),
        json!({"type": "audio", "data": "AAA=", "mimeType": "audio/wav"})
    );
    assert_eq!(
        to_json(&Content::embedded_text("file:///a", "text/plain", "A")),
        json!({"type": "resource", "resource": {"uri": "file:///a", "mimeType": "text/plain", "text": "A"}})
    );
    assert_eq!(
        to_json(&Content::embedded_blob(
            "file:///b",
            "application/pdf",
            "AAE="
        )),
        json!({"type": "resource", "resource": {"uri": "file:///b", "mimeType": "application/pdf", "blob": "AAE="}})
    );
    assert_eq!(
        to_json(&Content::resource_link("file:///c", "c")),
        json!({"type": "resource_link", "uri": "file:///c", "name": "c"})
    );
    assert_eq!(Content::text("x").as_text(), Some("x"));
    assert_eq!(Content::image("a", "b").as_text(), None);
}

#[test]
fn call_tool_result_constructors() {
    assert_eq!(
        to_json(&CallToolResult::text("ok")),
        json!({"content": [{"type": "text", "text": "ok"}], "isError": false})
    );
    assert_eq!(
        to_json(&CallToolResult::error_text("bad")),
        json!({"content": [{"type": "text", "text": "bad"}], "isError": true})
    );
    assert!(CallToolResult::error(vec![]).is_error());
    assert!(!CallToolResult::success(vec![]).is_error());
    assert_eq!(
        to_json(&CallToolResult::structured(json!({"a": 1}))),
        json!({
            "content": [{"type": "text", "text": "{\"a\":1}"}],
            "structuredContent": {"a": 1},
            "isError": false
        })
    );
}

#[test]
fn unknown_capability_members_survive_a_round_trip() {
    let caps = json!({
        "experimental": {"vendor.feature": {"x": 1}},
        "extensions": {"io.example/ext": {"setting": true}},
        "tasks": {"list": {}, "requests": {"tools": {"call": {}}}},
        "tools": {"listChanged": true, "futureFlag": 3},
        "resources": {"subscribe": true, "other": "kept"},
        "prompts": {"z": null},
        "logging": {"levels": ["debug"]},
        "completions": {}
    });
    let parsed: ServerCapabilities = serde_json::from_value(caps.clone()).unwrap();
    assert_eq!(parsed.extra.get("tasks"), caps.get("tasks"));
    assert_eq!(
        parsed.tools.as_ref().unwrap().extra.get("futureFlag"),
        Some(&json!(3))
    );
    assert_eq!(to_json(&parsed), caps);

    let client = json!({
        "roots": {"listChanged": true, "extra": 1},
        "sampling": {"context": {}, "tools": {}, "x": 2},
        "elicitation": {"form": {}, "url": {}, "y": 3},
        "experimental": {"e": {}},
        "extensions": {"io.example/ext": {}},
        "tasks": {"cancel": {}}
    });
    let parsed: ClientCapabilities = serde_json::from_value(client.clone()).unwrap();
    assert_eq!(to_json(&parsed), client);
    let e = parsed.elicitation.unwrap();
    assert!(e.supports_form() && e.supports_url());
}

#[test]
fn elicitation_capability_defaults_to_form() {
    let empty = ElicitationCapability::default();
    assert!(empty.supports_form());
    assert!(!empty.supports_url());
    let url_only: ElicitationCapability = serde_json::from_value(json!({"url": {}})).unwrap();
    assert!(!url_only.supports_form());
    assert!(url_only.supports_url());
}

#[test]
fn meta_is_kept_everywhere() {
    let tool = json!({
        "name": "t",
        "inputSchema": {"type": "object"},
        "_meta": {"io.example/x": {"deep": [1, 2]}}
    });
    assert_eq!(
        to_json(&serde_json::from_value::<Tool>(tool.clone()).unwrap()),
        tool
    );
    let result = json!({
        "content": [{"type": "text", "text": "a", "_meta": {"k": 1}}],
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}},
        "resultType": "complete"
    });
    assert_eq!(
        to_json(&serde_json::from_value::<CallToolResult>(result.clone()).unwrap()),
        result
    );
}

#[test]
fn logging_levels_are_ordered_and_lowercase() {
    assert!(LoggingLevel::Debug < LoggingLevel::Info);
    assert!(LoggingLevel::Alert < LoggingLevel::Emergency);
    assert_eq!(to_json(&LoggingLevel::Warning), json!("warning"));
    assert_eq!(
        LoggingLevel::parse("critical"),
        Some(LoggingLevel::Critical)
    );
    assert_eq!(LoggingLevel::parse("verbose"), None);
    let mut sorted = LoggingLevel::ALL;
    sorted.sort();
    assert_eq!(sorted, LoggingLevel::ALL);
}

#[test]
fn result_type_keeps_unknown_values() {
    assert_eq!(to_json(&ResultType::InputRequired), json!("input_required"));
    let other: ResultType = serde_json::from_value(json!("partial")).unwrap();
    assert_eq!(other, ResultType::Other("partial".into()));
    assert_eq!(to_json(&other), json!("partial"));
}

#[test]
fn outcomes_tell_input_required_from_complete() {
    let done: CallToolOutcome =
        serde_json::from_value(json!({"resultType": "complete", "content": []})).unwrap();
    assert!(matches!(done, CallToolOutcome::Complete(_)));
    let legacy: CallToolOutcome = serde_json::from_value(json!({"content": []})).unwrap();
    assert!(matches!(legacy, CallToolOutcome::Complete(_)));
    let more: CallToolOutcome =
        serde_json::from_value(json!({"resultType": "input_required", "requestState": "s"}))
            .unwrap();
    assert!(
        matches!(more, CallToolOutcome::InputRequired(ref r) if r.request_state.as_deref() == Some("s"))
    );
    assert!(
        serde_json::from_value::<InputRequiredResult>(json!({"resultType": "complete"})).is_err()
    );
}

#[test]
fn input_requests_dispatch_on_method() {
    let r: InputRequest = serde_json::from_value(json!({"method": "roots/list"})).unwrap();
    assert!(matches!(r, InputRequest::ListRoots(_)));
    assert_eq!(r.method(), "roots/list");
    let err = serde_json::from_value::<InputRequest>(json!({"method": "tools/call", "params": {}}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported input request method \"tools/call\""
    );
    let url: InputRequest = serde_json::from_value(json!({
        "method": "elicitation/create",
        "params": {"mode": "url", "message": "m", "url": "https://x"}
    }))
    .unwrap();
    assert!(matches!(
        url,
        InputRequest::Elicit(ElicitRequest {
            params: ElicitRequestParams::Url(_),
            ..
        })
    ));
}

#[test]
fn elicitation_modes() {
    let form: ElicitRequestParams = serde_json::from_value(json!({
        "message": "m",
        "requestedSchema": {"type": "object", "properties": {"n": {"type": "string"}}}
    }))
    .unwrap();
    assert!(matches!(
        form,
        ElicitRequestParams::Form(ElicitRequestFormParams { mode: None, .. })
    ));
    assert_eq!(form.message(), "m");
    // URL mode without a url is an error, not a form.
    assert!(
        serde_json::from_value::<ElicitRequestParams>(json!({"mode": "url", "message": "m"}))
            .is_err()
    );
    assert_eq!(
        to_json(&ElicitRequestURLParams::new("m", "https://x")),
        json!({"mode": "url", "message": "m", "url": "https://x"})
    );
}

#[test]
fn primitive_schema_shapes_are_told_apart() {
    let cases = [
        (json!({"type": "string"}), "String"),
        (json!({"type": "integer", "minimum": 1}), "Number"),
        (json!({"type": "boolean"}), "Boolean"),
        (
            json!({"type": "string", "enum": ["a"]}),
            "UntitledSingleSelect",
        ),
        (
            json!({"type": "string", "oneOf": [{"const": "a", "title": "A"}]}),
            "TitledSingleSelect",
        ),
        (
            json!({"type": "string", "enum": ["a"], "enumNames": ["A"]}),
            "LegacyTitled",
        ),
        (
            json!({"type": "array", "items": {"type": "string", "enum": ["a"]}}),
            "UntitledMultiSelect",
        ),
        (
            json!({"type": "array", "items": {"anyOf": [{"const": "a", "title": "A"}]}}),
            "TitledMultiSelect",
        ),
    ];
    for (v, want) in cases {
        let p: PrimitiveSchemaDefinition = serde_json::from_value(v.clone()).unwrap();
        let got = match p {
            PrimitiveSchemaDefinition::String(_) => "String",
            PrimitiveSchemaDefinition::Number(_) => "Number",
            PrimitiveSchemaDefinition::Boolean(_) => "Boolean",
            PrimitiveSchemaDefinition::UntitledSingleSelect(_) => "UntitledSingleSelect",
            PrimitiveSchemaDefinition::TitledSingleSelect(_) => "TitledSingleSelect",
            PrimitiveSchemaDefinition::LegacyTitled(_) => "LegacyTitled",
            PrimitiveSchemaDefinition::UntitledMultiSelect(_) => "UntitledMultiSelect",
            PrimitiveSchemaDefinition::TitledMultiSelect(_) => "TitledMultiSelect",
        };
        assert_eq!(got, want, "{v}");
        assert_eq!(to_json(&p), v);
    }
    let err =
        serde_json::from_value::<PrimitiveSchemaDefinition>(json!({"type": "object"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported elicitation field type \"object\""
    );
}

#[test]
fn envelopes_check_method_and_jsonrpc() {
    let ok = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}});
    let req: CallToolRequest = serde_json::from_value(ok.clone()).unwrap();
    assert_eq!(req.id, RequestId::Number(1));
    assert_eq!(to_json(&req), ok);
    let wrong = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"name": "x"}});
    assert_eq!(
        serde_json::from_value::<CallToolRequest>(wrong)
            .unwrap_err()
            .to_string(),
        "expected method \"tools/call\", found \"tools/list\""
    );
    let no_version = json!({"id": 1, "method": "tools/call", "params": {"name": "x"}});
    assert_eq!(
        serde_json::from_value::<CallToolRequest>(no_version)
            .unwrap_err()
            .to_string(),
        "missing field `jsonrpc`"
    );
    let no_params = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call"});
    assert_eq!(
        serde_json::from_value::<CallToolRequest>(no_params)
            .unwrap_err()
            .to_string(),
        "missing field `params`"
    );
    assert_eq!(
        to_json(&ToolListChangedNotification::default()),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
}

#[test]
fn progress_numbers_stay_integral_when_they_are() {
    let p = ProgressNotificationParams::new(RequestId::Number(1), 50.0, Some(100.0), None);
    assert_eq!(
        to_json(&p),
        json!({"progressToken": 1, "progress": 50, "total": 100})
    );
    let p = ProgressNotificationParams::new(RequestId::from("t"), 0.25, None, Some("m".into()));
    assert_eq!(
        to_json(&p),
        json!({"progressToken": "t", "progress": 0.25, "message": "m"})
    );
}

#[test]
fn completion_is_capped_at_100() {
    let c = Completion::from_values((0..150).map(|i| i.to_string()).collect());
    assert_eq!(c.values.len(), 100);
    assert_eq!(c.total, Some(150));
    assert_eq!(c.has_more, Some(true));
    let c = Completion::from_values(vec!["a".into()]);
    assert_eq!(
        to_json(&c),
        json!({"values": ["a"], "total": 1, "hasMore": false})
    );
}

#[test]
fn discover_server_info_round_trips_through_meta() {
    let info = Implementation::new("srv", "2.0");
    let d = DiscoverResult::default().with_server_info(&info);
    assert_eq!(d.server_info(), Some(info));
    assert_eq!(
        to_json(&d)["_meta"],
        json!({"io.modelcontextprotocol/serverInfo": {"name": "srv", "version": "2.0"}})
    );
}

#[test]
fn listen_result_and_ack_carry_the_subscription_id() {
    let id = RequestId::from("listen-1");
    assert_eq!(
        to_json(&SubscriptionsListenResult::new(&id)),
        json!({"resultType": "complete", "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}})
    );
    let ack = SubscriptionsAcknowledgedNotificationParams::new(
        SubscriptionFilter {
            tools_list_changed: Some(true),
            ..Default::default()
        },
        &RequestId::Number(4),
    );
    assert_eq!(
        to_json(&ack),
        json!({"notifications": {"toolsListChanged": true}, "_meta": {"io.modelcontextprotocol/subscriptionId": 4}})
    );
}
