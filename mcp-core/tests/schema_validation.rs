//! Messages built with this crate validate against the official JSON Schema of each protocol
//! version that defines them, and parse back into the same Rust value.

mod common;

use std::collections::{BTreeMap, HashMap};

use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::error::ErrorObject;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::schema::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

const V2025: &str = "2025-11-25";
const V2026: &str = "2026-07-28";
const BOTH: &[&str] = &[V2025, V2026];

/// The official schemas, one validator per (version, definition).
struct Schemas {
    roots: HashMap<&'static str, Value>,
}

impl Schemas {
    fn load() -> Self {
        let dir = common::spec_dir();
        let roots = [V2025, V2026]
            .into_iter()
            .map(|v| (v, common::read_json(&dir.join(v).join("schema.json"))))
            .collect();
        Schemas { roots }
    }

    /// Validation errors of `instance` against `#/$defs/<def>` of `version` (empty when valid).
    fn errors(&self, version: &str, def: &str, instance: &Value) -> Vec<String> {
        let mut root = self.roots[version].clone();
        assert!(
            root.pointer(&format!("/$defs/{def}")).is_some(),
            "{version} schema has no definition {def}"
        );
        root.as_object_mut()
            .expect("schema is an object")
            .insert("$ref".into(), json!(format!("#/$defs/{def}")));
        let validator = jsonschema::validator_for(&root)
            .unwrap_or_else(|e| panic!("cannot compile {version} {def}: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}

/// One built message: the schema definition it must satisfy, in which versions.
struct Case {
    def: &'static str,
    versions: &'static [&'static str],
    value: Value,
    /// Parses `value` back into the Rust type and re-serialises it.
    reparse: fn(&Value) -> Value,
}

fn reparse<T: DeserializeOwned + Serialize>(v: &Value) -> Value {
    let t: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("does not parse back: {e}\n{v}"));
    serde_json::to_value(t).expect("serialises")
}

fn case<T: Serialize + DeserializeOwned>(
    def: &'static str,
    versions: &'static [&'static str],
    value: &T,
) -> Case {
    Case {
        def,
        versions,
        value: serde_json::to_value(value).expect("serialises"),
        reparse: reparse::<T>,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// `_meta` of a 2026-07-28 request.
fn request_meta() -> Meta {
    obj(json!({
        "io.modelcontextprotocol/protocolVersion": V2026,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}, "url": {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "test-client", "version": "1.0.0"},
        "progressToken": 7
    }))
}

fn tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        title: Some("Weather".into()),
        description: Some("Current weather".into()),
        input_schema: obj(
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ),
        output_schema: Some(obj(
            json!({"type": "object", "properties": {"celsius": {"type": "number"}}}),
        )),
        annotations: Some(ToolAnnotations {
            title: Some("Weather".into()),
            read_only_hint: Some(true),
            destructive_hint: Some(false),
            idempotent_hint: Some(true),
            open_world_hint: Some(true),
        }),
        icons: Some(vec![Icon {
            src: "https://example.com/sun.png".into(),
            mime_type: Some("image/png".into()),
            sizes: Some(vec!["48x48".into()]),
            theme: Some(IconTheme::Light),
        }]),
        execution: None,
        meta: Some(obj(json!({"vendor/x": 1}))),
    }
}

fn all_content() -> Vec<Content> {
    vec![
        Content::text("hello").with_annotations(Annotations {
            audience: Some(vec![Role::User, Role::Assistant]),
            priority: Some(0.5),
            last_modified: Some("2025-01-01T00:00:00Z".into()),
        }),
        Content::image("aGVsbG8=", "image/png"),
        Content::audio("aGVsbG8=", "audio/wav"),
        Content::embedded_text("file:///a.txt", "text/plain", "A"),
        Content::embedded_blob("file:///a.bin", "application/octet-stream", "AAE="),
        Content::ResourceLink(ResourceLink {
            title: Some("Main".into()),
            mime_type: Some("text/x-rust".into()),
            size: Some(42),
            ..ResourceLink::new("file:///main.rs", "main.rs")
        }),
    ]
}

/// Adds the 2026-07-28 `resultType` (and cache hints) to a result value.
fn stateless(mut v: Value, cacheable: bool) -> Value {
    let m = v.as_object_mut().expect("result object");
    m.insert("resultType".into(), json!("complete"));
    if cacheable {
        m.insert("ttlMs".into(), json!(60_000));
        m.insert("cacheScope".into(), json!("public"));
    }
    v
}

fn elicitation_form() -> ElicitRequestFormParams {
    let schema = ElicitationSchema::new()
        .property(
            "name",
            StringSchema {
                min_length: Some(1),
                max_length: Some(50),
                ..StringSchema::new("Name")
            },
            true,
        )
        .property(
            "email",
            StringSchema {
                format: Some(StringFormat::Email),
                ..StringSchema::new("Email")
            },
            false,
        )
        .property(
            "age",
            NumberSchema {
                r#type: NumberType::Integer,
                minimum: Some(0.0),
                maximum: Some(150.0),
                default: Some(30.0),
                ..Default::default()
            },
            false,
        )
        .property(
            "subscribe",
            BooleanSchema {
                default: Some(true),
                ..Default::default()
            },
            false,
        )
        .property(
            "color",
            UntitledSingleSelectEnumSchema {
                r#enum: vec!["red".into(), "green".into()],
                default: Some("red".into()),
                ..Default::default()
            },
            false,
        )
        .property(
            "size",
            TitledSingleSelectEnumSchema {
                one_of: vec![EnumOption::new("s", "Small"), EnumOption::new("l", "Large")],
                ..Default::default()
            },
            false,
        )
        .property(
            "tags",
            UntitledMultiSelectEnumSchema {
                items: UntitledEnumItems {
                    r#enum: vec!["a".into(), "b".into()],
                    ..Default::default()
                },
                min_items: Some(1),
                max_items: Some(2),
                default: Some(vec!["a".into()]),
                ..Default::default()
            },
            false,
        )
        .property(
            "flavours",
            TitledMultiSelectEnumSchema {
                items: TitledEnumItems {
                    any_of: vec![
                        EnumOption::new("v", "Vanilla"),
                        EnumOption::new("c", "Chocolate"),
                    ],
                },
                ..Default::default()
            },
            false,
        )
        .property(
            "legacy",
            LegacyTitledEnumSchema {
                r#enum: vec!["x".into(), "y".into()],
                enum_names: Some(vec!["Ex".into(), "Why".into()]),
                ..Default::default()
            },
            false,
        );
    ElicitRequestFormParams::new("Tell me about you", schema)
}

fn sampling_with_tools() -> CreateMessageRequestParams {
    CreateMessageRequestParams {
        messages: vec![
            SamplingMessage::user_text("Weather in Paris?"),
            SamplingMessage {
                role: Role::Assistant,
                content: SamplingContent::Multiple(vec![Content::ToolUse(ToolUseContent {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    input: obj(json!({"city": "Paris"})),
                    meta: None,
                })]),
                meta: None,
            },
            SamplingMessage {
                role: Role::User,
                content: Content::ToolResult(ToolResultContent {
                    tool_use_id: "call_1".into(),
                    content: vec![Content::text("18C")],
                    structured_content: Some(json!({"celsius": 18})),
                    is_error: Some(false),
                    meta: None,
                })
                .into(),
                meta: None,
            },
        ],
        model_preferences: Some(ModelPreferences {
            hints: Some(vec![ModelHint {
                name: Some("claude".into()),
            }]),
            cost_priority: Some(0.2),
            speed_priority: Some(0.5),
            intelligence_priority: Some(1.0),
        }),
        system_prompt: Some("Be brief".into()),
        include_context: Some(IncludeContext::ThisServer),
        temperature: Some(0.7),
        stop_sequences: Some(vec!["STOP".into()]),
        metadata: Some(obj(json!({"k": "v"}))),
        tools: Some(vec![tool()]),
        tool_choice: Some(ToolChoice {
            mode: Some(ToolChoiceMode::Auto),
        }),
        ..CreateMessageRequestParams::new(vec![], 200)
    }
}

fn cases() -> Vec<Case> {
    let caps = ServerCapabilities::default()
        .with_tools(true)
        .with_resources(true, true)
        .with_prompts(false)
        .with_logging()
        .with_completions();
    let mut server_info = Implementation::new("mcp-rs-test", "0.1.0");
    server_info.title = Some("Test server".into());
    server_info.website_url = Some("https://example.com".into());
    server_info.icons = Some(vec![Icon::new("data:image/png;base64,AAAA")]);
    let client_caps = ClientCapabilities {
        roots: Some(RootsCapability {
            list_changed: Some(true),
            ..Default::default()
        }),
        sampling: Some(SamplingCapability {
            tools: Some(Map::new()),
            context: Some(Map::new()),
            ..Default::default()
        }),
        elicitation: Some(ElicitationCapability {
            form: Some(Map::new()),
            url: Some(Map::new()),
            ..Default::default()
        }),
        experimental: Some(obj(json!({"x": {}}))),
        ..Default::default()
    };

    let list_tools = ListToolsResult {
        tools: vec![tool()],
        next_cursor: Some("p2".into()),
        ..Default::default()
    };
    let resources = ListResourcesResult {
        resources: vec![Resource {
            title: Some("Readme".into()),
            description: Some("The readme".into()),
            mime_type: Some("text/markdown".into()),
            size: Some(10),
            annotations: Some(Annotations {
                priority: Some(1.0),
                ..Default::default()
            }),
            ..Resource::new("file:///README.md", "README.md")
        }],
        ..Default::default()
    };
    let templates = ListResourceTemplatesResult {
        resource_templates: vec![ResourceTemplate {
            mime_type: Some("application/json".into()),
            ..ResourceTemplate::new("users://{id}", "user")
        }],
        ..Default::default()
    };
    let read = ReadResourceResult::new(vec![
        ResourceContents::text("file:///a.txt", Some("text/plain".into()), "A"),
        ResourceContents::blob("file:///a.bin", None, "AAE="),
    ]);
    let prompts = ListPromptsResult {
        prompts: vec![Prompt {
            arguments: Some(vec![PromptArgument::new(
                "code",
                Some("The code".into()),
                true,
            )]),
            ..Prompt::new("review", "Review code")
        }],
        ..Default::default()
    };
    let get_prompt = GetPromptResult::new(
        Some("A review".into()),
        vec![
            PromptMessage::user("Please review"),
            PromptMessage::assistant("Sure"),
            PromptMessage::new(
                Role::User,
                Content::embedded_text("file:///x.rs", "text/x-rust", "fn main() {}"),
            ),
        ],
    );
    let complete = CompleteResult {
        completion: Completion::from_values((0..120).map(|i| format!("v{i}")).collect()),
        ..Default::default()
    };
    let complete_params = CompleteRequestParams {
        r#ref: CompletionReference::Prompt(PromptReference {
            name: "review".into(),
            title: None,
        }),
        argument: CompletionArgument {
            name: "code".into(),
            value: "fn".into(),
        },
        context: Some(CompletionContext {
            arguments: Some(BTreeMap::from([("lang".into(), "rust".into())])),
        }),
        meta: None,
    };
    let complete_params_2026 = CompleteRequestParams {
        r#ref: CompletionReference::ResourceTemplate(ResourceTemplateReference {
            uri: "users://{id}".into(),
        }),
        meta: Some(request_meta()),
        ..complete_params.clone()
    };

    let log = LoggingMessageNotification::new(LoggingMessageNotificationParams::new(
        LoggingLevel::Warning,
        Some("db".into()),
        json!({"msg": "slow query", "ms": 1200}),
    ));
    let progress = ProgressNotification::new(ProgressNotificationParams::new(
        RequestId::from("tok"),
        50.0,
        Some(100.0),
        Some("half way".into()),
    ));
    let cancelled = CancelledNotification::new(CancelledNotificationParams {
        request_id: Some(RequestId::Number(3)),
        reason: Some("user abort".into()),
        meta: None,
    });
    let url_2025 = ElicitRequestURLParams {
        elicitation_id: Some("el-1".into()),
        ..ElicitRequestURLParams::new("Sign in", "https://example.com/login")
    };
    let url_2026 = ElicitRequestURLParams::new("Sign in", "https://example.com/login");
    let create_result = CreateMessageResult {
        role: Role::Assistant,
        content: SamplingContent::Multiple(vec![Content::ToolUse(ToolUseContent {
            id: "call_2".into(),
            name: "get_weather".into(),
            input: obj(json!({"city": "Rome"})),
            meta: None,
        })]),
        model: "claude".into(),
        stop_reason: Some("toolUse".into()),
        meta: None,
    };
    let discover = DiscoverResult {
        supported_versions: vec![V2026.into(), V2025.into()],
        capabilities: caps.clone(),
        instructions: Some("Use get_weather".into()),
        result_type: Some(ResultType::Complete),
        ttl_ms: Some(3_600_000),
        cache_scope: Some(CacheScope::Public),
        meta: None,
    }
    .with_server_info(&server_info);
    let input_required = InputRequiredResult::new(
        BTreeMap::from([
            (
                "login".into(),
                InputRequest::Elicit(ElicitRequest::new(ElicitRequestParams::Form(
                    elicitation_form(),
                ))),
            ),
            (
                "url".into(),
                InputRequest::Elicit(ElicitRequest::new(ElicitRequestParams::Url(
                    url_2026.clone(),
                ))),
            ),
            (
                "ask".into(),
                InputRequest::CreateMessage(CreateMessageRequest::new(sampling_with_tools())),
            ),
            (
                "roots".into(),
                InputRequest::ListRoots(ListRootsRequest::new(None)),
            ),
        ]),
        Some("c3RhdGU".into()),
    );
    let call_retry = CallToolRequest::new(
        1,
        CallToolRequestParams {
            input_responses: Some(BTreeMap::from([
                (
                    "login".into(),
                    InputResponse::Elicit(ElicitResult::accept(obj(
                        json!({"name": "octocat", "age": 30}),
                    ))),
                ),
                (
                    "ask".into(),
                    InputResponse::CreateMessage(create_result.clone()),
                ),
                (
                    "roots".into(),
                    InputResponse::ListRoots(ListRootsResult {
                        roots: vec![Root {
                            uri: "file:///home".into(),
                            name: Some("home".into()),
                            meta: None,
                        }],
                        meta: None,
                    }),
                ),
            ])),
            request_state: Some("c3RhdGU".into()),
            meta: Some(request_meta()),
            ..CallToolRequestParams::new("get_weather", Some(obj(json!({"city": "Paris"}))))
        },
    );
    let filter = SubscriptionFilter {
        tools_list_changed: Some(true),
        prompts_list_changed: Some(false),
        resources_list_changed: Some(true),
        resource_subscriptions: Some(vec!["file:///a.txt".into()]),
    };
    let listen = SubscriptionsListenRequest::new(
        "listen-1",
        SubscriptionsListenRequestParams {
            notifications: filter.clone(),
            meta: Some(request_meta()),
        },
    );
    let ack = SubscriptionsAcknowledgedNotification::new(
        SubscriptionsAcknowledgedNotificationParams::new(filter, &RequestId::from("listen-1")),
    );
    let listen_done = SubscriptionsListenResultResponse::new(
        "listen-1",
        SubscriptionsListenResult::new(&RequestId::from("listen-1")),
    );

    let call_results = [
        ("text", CallToolResult::text("hi")),
        ("all kinds", CallToolResult::success(all_content())),
        ("error", CallToolResult::error_text("no such city")),
    ];

    let mut cases = vec![
        case(
            "InitializeResult",
            &[V2025],
            &InitializeResult {
                instructions: Some("hi".into()),
                ..InitializeResult::new(V2025, caps.clone(), server_info.clone())
            },
        ),
        case(
            "InitializeRequestParams",
            &[V2025],
            &InitializeRequestParams {
                protocol_version: V2025.into(),
                capabilities: client_caps.clone(),
                client_info: Implementation::new("c", "1"),
                meta: None,
            },
        ),
        case(
            "ClientCapabilities",
            BOTH,
            &ClientCapabilities {
                extensions: Some(obj(json!({"io.example/ext": {}}))),
                ..client_caps.clone()
            },
        ),
        case("ServerCapabilities", BOTH, &caps),
        case("ListToolsResult", &[V2025], &list_tools),
        case("ListResourcesResult", &[V2025], &resources),
        case("ListResourceTemplatesResult", &[V2025], &templates),
        case("ReadResourceResult", &[V2025], &read),
        case("ListPromptsResult", &[V2025], &prompts),
        case("GetPromptResult", &[V2025], &get_prompt),
        case("CompleteResult", &[V2025], &complete),
        case("CompleteRequestParams", &[V2025], &complete_params),
        case("CompleteRequestParams", &[V2026], &complete_params_2026),
        case("LoggingMessageNotification", BOTH, &log),
        case(
            "SetLevelRequest",
            &[V2025],
            &SetLevelRequest::new(
                2,
                SetLevelRequestParams {
                    level: LoggingLevel::Debug,
                    meta: None,
                },
            ),
        ),
        case("ProgressNotification", BOTH, &progress),
        case("CancelledNotification", BOTH, &cancelled),
        case("ElicitRequestFormParams", BOTH, &elicitation_form()),
        case(
            "ElicitRequestParams",
            BOTH,
            &ElicitRequestParams::Form(elicitation_form()),
        ),
        case("ElicitRequestURLParams", &[V2025], &url_2025),
        case("ElicitRequestURLParams", &[V2026], &url_2026),
        case(
            "ElicitResult",
            BOTH,
            &ElicitResult::accept(obj(json!({"name": "a", "tags": ["x"], "n": 1, "ok": true}))),
        ),
        case("ElicitResult", BOTH, &ElicitResult::decline()),
        case("CreateMessageRequestParams", BOTH, &sampling_with_tools()),
        case("CreateMessageResult", BOTH, &create_result),
        case(
            "ListRootsResult",
            BOTH,
            &ListRootsResult {
                roots: vec![Root {
                    uri: "file:///r".into(),
                    name: None,
                    meta: None,
                }],
                meta: None,
            },
        ),
        case("EmptyResult", &[V2025], &EmptyResult::default()),
        case("DiscoverResult", &[V2026], &discover),
        case("InputRequiredResult", &[V2026], &input_required),
        case("CallToolRequest", &[V2026], &call_retry),
        case("SubscriptionsListenRequest", &[V2026], &listen),
        case("SubscriptionsAcknowledgedNotification", &[V2026], &ack),
        case("SubscriptionsListenResultResponse", &[V2026], &listen_done),
        case(
            "ResourceUpdatedNotification",
            BOTH,
            &ResourceUpdatedNotification::new(ResourceUpdatedNotificationParams {
                uri: "file:///a.txt".into(),
                meta: None,
            }),
        ),
        case(
            "ToolListChangedNotification",
            BOTH,
            &ToolListChangedNotification::default(),
        ),
        case(
            "InitializedNotification",
            &[V2025],
            &InitializedNotification::default(),
        ),
        case("PingRequest", &[V2025], &PingRequest::new(9, None)),
        case(
            "ListToolsRequest",
            &[V2025],
            &ListToolsRequest::new(
                "a",
                Some(PaginatedRequestParams {
                    cursor: Some("p2".into()),
                    meta: None,
                }),
            ),
        ),
        case(
            "ListToolsRequest",
            &[V2026],
            &ListToolsRequest::new(
                "a",
                Some(PaginatedRequestParams {
                    cursor: None,
                    meta: Some(request_meta()),
                }),
            ),
        ),
        case(
            "DiscoverRequest",
            &[V2026],
            &DiscoverRequest::new(
                1,
                Some(RequestParams {
                    meta: Some(request_meta()),
                }),
            ),
        ),
        case("ListRootsRequest", &[V2026], &ListRootsRequest::new(None)),
        case(
            "ToolResultContent",
            BOTH,
            &ToolResultContent {
                tool_use_id: "t".into(),
                content: vec![Content::text("x")],
                structured_content: None,
                is_error: Some(true),
                meta: None,
            },
        ),
    ];

    for (_, result) in &call_results {
        cases.push(case("CallToolResult", &[V2025], result));
    }
    let structured = CallToolResult::structured(json!({"celsius": 18}));
    cases.push(case("CallToolResult", &[V2025], &structured));

    // 2026-07-28 shapes of the same results: resultType and cache hints.
    let with_2026 = |c: Case, cacheable: bool| Case {
        versions: &[V2026],
        value: stateless(c.value, cacheable),
        ..c
    };
    cases.push(with_2026(case("ListToolsResult", &[], &list_tools), true));
    cases.push(with_2026(
        case("ListResourcesResult", &[], &resources),
        true,
    ));
    cases.push(with_2026(
        case("ListResourceTemplatesResult", &[], &templates),
        true,
    ));
    cases.push(with_2026(case("ReadResourceResult", &[], &read), true));
    cases.push(with_2026(case("ListPromptsResult", &[], &prompts), true));
    cases.push(with_2026(case("GetPromptResult", &[], &get_prompt), false));
    cases.push(with_2026(case("CompleteResult", &[], &complete), false));
    for (_, result) in call_results {
        cases.push(with_2026(case("CallToolResult", &[], &result), false));
    }
    // From 2026-07-28 structuredContent may be any JSON value.
    cases.push(with_2026(
        case(
            "CallToolResult",
            &[],
            &CallToolResult::structured(json!([1, 2, 3])),
        ),
        false,
    ));
    cases.push(case(
        "CallToolResult",
        &[V2026],
        &CallToolResult {
            result_type: Some(ResultType::Complete),
            ..structured
        },
    ));

    // Error responses built from the crate's constructors.
    let err = |id: i64, e: ErrorObject| JsonRpcMessage::error(Some(RequestId::Number(id)), e);
    cases.push(case(
        "UnsupportedProtocolVersionError",
        &[V2026],
        &err(
            1,
            ErrorObject::unsupported_protocol_version(&[V2026, V2025], "1900-01-01"),
        ),
    ));
    cases.push(case(
        "MissingRequiredClientCapabilityError",
        &[V2026],
        &err(
            2,
            ErrorObject::missing_client_capability(json!({"elicitation": {}})),
        ),
    ));
    cases.push(case(
        "HeaderMismatchError",
        &[V2026],
        &err(
            3,
            ErrorObject::header_mismatch("Mcp-Method header does not match body"),
        ),
    ));
    cases.push(case(
        "URLElicitationRequiredError",
        &[V2025],
        &err(
            6,
            ErrorObject::url_elicitation_required(std::slice::from_ref(&url_2025)),
        ),
    ));
    // An error whose request id is unknown (a parse error) is written without `id`, as the
    // MCP schema wants.
    cases.push(case(
        "JSONRPCErrorResponse",
        BOTH,
        &JsonRpcMessage::error(None, ErrorObject::parse_error("Parse error")).to_value(),
    ));
    cases.push(case(
        "JSONRPCErrorResponse",
        BOTH,
        &err(5, ErrorObject::invalid_params("bad")),
    ));
    cases.push(case(
        "JSONRPCErrorResponse",
        BOTH,
        &err(4, ErrorObject::method_not_found("nope")),
    ));
    cases
}

#[test]
fn built_messages_validate_against_the_official_schemas() {
    let schemas = Schemas::load();
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in cases() {
        assert!(!c.versions.is_empty(), "{} has no version", c.def);
        for version in c.versions {
            checked += 1;
            for e in schemas.errors(version, c.def, &c.value) {
                failures.push(format!("{version} {}: {e}\n    {}", c.def, c.value));
            }
        }
        assert_eq!(
            (c.reparse)(&c.value),
            c.value,
            "{} does not round-trip",
            c.def
        );
    }
    assert!(
        failures.is_empty(),
        "{} schema violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 80, "only {checked} validations ran");
}

#[test]
fn validator_rejects_invalid_messages() {
    let schemas = Schemas::load();
    // A 2025-era result lacks the resultType / cache hints that 2026-07-28 requires.
    let plain = serde_json::to_value(ListToolsResult {
        tools: vec![tool()],
        ..Default::default()
    })
    .unwrap();
    assert!(schemas.errors(V2025, "ListToolsResult", &plain).is_empty());
    assert!(!schemas.errors(V2026, "ListToolsResult", &plain).is_empty());
    // A tool without its input schema is invalid in both versions.
    let mut bad = serde_json::to_value(tool()).unwrap();
    bad.as_object_mut().unwrap().remove("inputSchema");
    for v in BOTH {
        assert!(
            !schemas.errors(v, "Tool", &bad).is_empty(),
            "{v} accepted a tool without inputSchema"
        );
    }
}

#[test]
fn protocol_versions_match_the_spec_folders() {
    let dir = common::spec_dir();
    for v in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
        assert!(
            dir.join(v.as_str()).join("schema.json").is_file(),
            "no schema for {v}"
        );
    }
}

#[test]
fn error_without_id_parses_with_or_without_null() {
    for v in [
        json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}}),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}),
    ] {
        match JsonRpcMessage::from_value(v) {
            Ok(JsonRpcMessage::Error(e)) => {
                assert_eq!(e.id, None);
                assert_eq!(e.error.code, -32700);
            }
            other => panic!("expected an error message, got {other:?}"),
        }
    }
}
