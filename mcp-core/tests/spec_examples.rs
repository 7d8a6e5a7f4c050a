//! Every official 2026-07-28 example parses into the Rust type of the same name and
//! re-serialises to the identical JSON value.

mod common;

use mcp_rs_core::error::ErrorObject;
use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_core::schema::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses `value` as `T` and re-serialises it; returns an error text on any difference.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<(), String> {
    let typed: T =
        serde_json::from_value(value.clone()).map_err(|e| format!("does not parse: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("does not serialise: {e}"))?;
    if &back == value {
        Ok(())
    } else {
        Err(format!(
            "round trip differs:\n  expected {}\n  got      {}",
            value, back
        ))
    }
}

/// A JSON-RPC error response (full message) with this exact error code.
fn error_message(value: &Value, code: i32) -> Result<(), String> {
    round_trip::<JsonRpcMessage>(value)?;
    match JsonRpcMessage::from_value(value.clone()) {
        Ok(JsonRpcMessage::Error(e)) if e.error.code == code => Ok(()),
        other => Err(format!(
            "expected a JSON-RPC error with code {code}, got {other:?}"
        )),
    }
}

/// A bare error object with this exact code.
fn error_object(value: &Value, code: i32) -> Result<(), String> {
    round_trip::<ErrorObject>(value)?;
    let e: ErrorObject = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    if e.code == code {
        Ok(())
    } else {
        Err(format!("expected code {code}, got {}", e.code))
    }
}

/// Checks one example against the type named by its folder. `None` for an unmapped folder.
fn check(type_name: &str, v: &Value) -> Option<Result<(), String>> {
    macro_rules! types {
        ($($name:ident),* $(,)?) => {
            match type_name {
                $(stringify!($name) => Some(round_trip::<$name>(v)),)*
                "ParseError" => Some(error_object(v, -32700)),
                "InvalidRequestError" => Some(error_object(v, -32600)),
                "MethodNotFoundError" => Some(error_object(v, -32601)),
                "InvalidParamsError" => Some(error_object(v, -32602)),
                "InternalError" => Some(error_object(v, -32603)),
                "HeaderMismatchError" => Some(error_message(v, -32020)),
                "MissingRequiredClientCapabilityError" => Some(error_message(v, -32021)),
                "UnsupportedProtocolVersionError" => Some(error_message(v, -32022)),
                _ => None,
            }
        };
    }
    types!(
        AudioContent,
        BlobResourceContents,
        BooleanSchema,
        CallToolRequest,
        CallToolRequestParams,
        CallToolResult,
        CallToolResultResponse,
        CancelledNotification,
        CancelledNotificationParams,
        ClientCapabilities,
        CompleteRequest,
        CompleteRequestParams,
        CompleteResult,
        CompleteResultResponse,
        CreateMessageRequest,
        CreateMessageRequestParams,
        CreateMessageResult,
        DiscoverRequest,
        DiscoverResult,
        DiscoverResultResponse,
        ElicitRequest,
        ElicitRequestFormParams,
        ElicitRequestURLParams,
        ElicitResult,
        EmbeddedResource,
        GetPromptRequest,
        GetPromptRequestParams,
        GetPromptResult,
        GetPromptResultResponse,
        ImageContent,
        InputRequests,
        InputRequiredResult,
        InputResponses,
        ListPromptsRequest,
        ListPromptsResult,
        ListPromptsResultResponse,
        ListResourceTemplatesRequest,
        ListResourceTemplatesResult,
        ListResourceTemplatesResultResponse,
        ListResourcesRequest,
        ListResourcesResult,
        ListResourcesResultResponse,
        ListRootsRequest,
        ListRootsResult,
        ListToolsRequest,
        ListToolsResult,
        ListToolsResultResponse,
        LoggingMessageNotification,
        LoggingMessageNotificationParams,
        ModelPreferences,
        NumberSchema,
        PaginatedRequestParams,
        ProgressNotification,
        ProgressNotificationParams,
        PromptListChangedNotification,
        ReadResourceRequest,
        ReadResourceResult,
        ReadResourceResultResponse,
        Resource,
        ResourceLink,
        ResourceListChangedNotification,
        ResourceUpdatedNotification,
        ResourceUpdatedNotificationParams,
        Root,
        SamplingMessage,
        ServerCapabilities,
        StringSchema,
        SubscriptionsAcknowledgedNotification,
        SubscriptionsListenRequest,
        SubscriptionsListenResult,
        SubscriptionsListenResultResponse,
        TextContent,
        TextResourceContents,
        TitledMultiSelectEnumSchema,
        TitledSingleSelectEnumSchema,
        Tool,
        ToolListChangedNotification,
        ToolResultContent,
        ToolUseContent,
        UntitledMultiSelectEnumSchema,
        UntitledSingleSelectEnumSchema,
        // Extra names of the schema that have no example folder yet.
        Annotations,
        Icon,
        Implementation,
        Prompt,
        PromptArgument,
        PromptMessage,
        ResourceTemplate,
        ToolAnnotations,
        LegacyTitledEnumSchema,
        ElicitRequestParams,
        PrimitiveSchemaDefinition,
        InputRequest,
        InputResponse,
        Content,
        EmptyResult,
        ToolChoice,
        ModelHint,
        SubscriptionFilter,
        SubscriptionsListenRequestParams,
        SubscriptionsAcknowledgedNotificationParams,
        InputResponseRequestParams,
        InitializeRequest,
        InitializeRequestParams,
        InitializeResult,
        PingRequest,
        SetLevelRequest,
        SetLevelRequestParams,
        SubscribeRequest,
        SubscribeRequestParams,
        UnsubscribeRequest,
        UnsubscribeRequestParams,
        InitializedNotification,
        RootsListChangedNotification,
        ElicitationCompleteNotification,
    )
}

#[test]
fn every_2026_example_round_trips() {
    let examples = common::spec_dir().join("2026-07-28/examples");
    let mut dirs: Vec<_> = std::fs::read_dir(&examples)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", examples.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 88,
        "expected at least 88 example folders in {}, found {}",
        examples.display(),
        dirs.len()
    );

    let mut failures = Vec::new();
    let mut files = 0;
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 folder name");
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("list example folder")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        entries.sort();
        assert!(
            !entries.is_empty(),
            "example folder {} holds no .json file",
            dir.display()
        );
        for file in entries {
            files += 1;
            let value = common::read_json(&file);
            match check(name, &value) {
                None => failures.push(format!(
                    "{name}: no Rust type mapped to this example folder"
                )),
                Some(Err(e)) => failures.push(format!("{}: {e}", file.display())),
                Some(Ok(())) => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {files} example files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{files} example files in {} folders round-tripped",
        dirs.len()
    );
}

#[test]
fn unmapped_folder_is_reported() {
    assert!(check("NoSuchType", &Value::Null).is_none());
    assert!(check("Tool", &serde_json::json!({"name": "x"})).is_some_and(|r| r.is_err()));
}

#[test]
fn response_folders_are_full_jsonrpc_messages() {
    let examples = common::spec_dir().join("2026-07-28/examples");
    for entry in std::fs::read_dir(&examples).expect("list examples") {
        let dir = entry.expect("entry").path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !(name.ends_with("Response")
            || name.ends_with("Request")
                && name != "ListRootsRequest"
                && name != "CreateMessageRequest"
                && name != "ElicitRequest")
        {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("list folder") {
            let path = file.expect("entry").path();
            let v = common::read_json(&path);
            let msg = JsonRpcMessage::from_value(v.clone())
                .unwrap_or_else(|e| panic!("{} is not a JSON-RPC message: {e:?}", path.display()));
            assert_eq!(msg.to_value(), v, "{}", path.display());
            let ok = if name.ends_with("Response") {
                matches!(msg, JsonRpcMessage::Response(_))
            } else {
                msg.is_request()
            };
            assert!(ok, "{} has the wrong JSON-RPC kind", path.display());
        }
    }
}
