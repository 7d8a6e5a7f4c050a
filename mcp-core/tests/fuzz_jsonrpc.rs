//! Property-based fuzzing of the JSON-RPC / MCP parser: arbitrary bytes and arbitrary JSON
//! never panic, and every input is classified exactly (-32700 for bytes that are not JSON,
//! -32600 for JSON that is not JSON-RPC, a message otherwise).
//!
//! The number of cases comes from `PROPTEST_CASES` (default 256 here, so CI stays quick);
//! `scripts/fuzz.sh` runs many more.

use mcp_rs_core::jsonrpc::{Incoming, JsonRpcMessage, RequestId, parse, parse_value};
use mcp_rs_core::schema::{
    CallToolRequestParams, CallToolResult, CompleteRequestParams, ElicitRequestParams,
    GetPromptRequestParams, InitializeRequestParams, InitializeResult, ReadResourceRequestParams,
};
use mcp_rs_core::version::ProtocolVersion;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // Failures found are written next to this file (proptest-regressions/) and replayed
        // first on every later run.
        ..ProptestConfig::default()
    }
}

/// Any JSON value, nested up to a few levels, with keys that often collide with JSON-RPC's.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("jsonrpc".to_owned()),
        Just("id".to_owned()),
        Just("method".to_owned()),
        Just("params".to_owned()),
        Just("result".to_owned()),
        Just("error".to_owned()),
        Just("code".to_owned()),
        Just("message".to_owned()),
        "[a-z_]{0,8}",
        any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!("2.0")),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn request_id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        any::<i64>().prop_map(RequestId::Number),
        any::<String>().prop_map(RequestId::String),
    ]
}

fn params() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        any_json().prop_map(|v| match v {
            Value::Object(_) | Value::Array(_) => Some(v),
            other => Some(json!({ "v": other })),
        }),
    ]
}

/// A well-formed message of every kind.
fn message() -> impl Strategy<Value = JsonRpcMessage> {
    prop_oneof![
        (request_id(), any::<String>(), params())
            .prop_map(|(id, m, p)| JsonRpcMessage::request(id, m, p)),
        (any::<String>(), params()).prop_map(|(m, p)| JsonRpcMessage::notification(m, p)),
        (request_id(), any_json()).prop_map(|(id, r)| JsonRpcMessage::response(id, r)),
        (
            prop::option::of(request_id()),
            any::<i32>(),
            any::<String>()
        )
            .prop_map(|(id, code, msg)| JsonRpcMessage::error(
                id,
                mcp_rs_core::error::ErrorObject::new(mcp_rs_core::error::ErrorCode(code), msg)
            )),
    ]
}

/// What `parse` must say about `bytes`, derived independently of the parser.
fn expected_code(bytes: &[u8]) -> Option<i32> {
    match serde_json::from_slice::<Value>(bytes) {
        Err(_) => Some(-32700),
        Ok(Value::Array(items)) if items.is_empty() => Some(-32600),
        Ok(Value::Array(_)) => None,
        Ok(Value::Object(o)) if o.get("jsonrpc") != Some(&json!("2.0")) => Some(-32600),
        Ok(Value::Object(_)) => None,
        Ok(_) => Some(-32600),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_classified(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match (parse(&bytes), expected_code(&bytes)) {
            (Err(e), Some(-32700)) => {
                prop_assert_eq!(e.error.code, -32700);
                prop_assert_eq!(e.id, None);
            }
            (Err(e), Some(code)) => prop_assert_eq!(e.error.code, code),
            (Err(e), None) => prop_assert_eq!(e.error.code, -32600),
            (Ok(_), Some(code)) => prop_assert!(false, "accepted, expected {code}"),
            (Ok(_), None) => {}
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_is_classified(v in any_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let expected = expected_code(&bytes);
        match parse_value(v.clone()) {
            Ok(Incoming::Single(m)) => {
                prop_assert_eq!(expected, None);
                // Whatever was accepted serialises back to an equivalent message.
                let again = parse(&serde_json::to_vec(&m).unwrap()).unwrap();
                prop_assert_eq!(again, Incoming::Single(m));
            }
            Ok(Incoming::Batch(items)) => {
                let Value::Array(src) = &v else { unreachable!() };
                prop_assert_eq!(items.len(), src.len());
                for (item, src) in items.iter().zip(src) {
                    if let Err(e) = item {
                        prop_assert_eq!(e.error.code, -32600);
                        // The id is recovered when the entry had a usable one.
                        let id = src.get("id").and_then(|id| match id {
                            Value::String(s) => Some(RequestId::String(s.clone())),
                            Value::Number(n) => n.as_i64().map(RequestId::Number),
                            _ => None,
                        });
                        prop_assert_eq!(&e.id, &id);
                    }
                }
            }
            Err(e) => {
                prop_assert_eq!(e.error.code, expected.unwrap_or(-32600));
                prop_assert!(!e.error.message.is_empty());
            }
        }
        prop_assert_eq!(parse(&bytes).is_ok(), parse_value(v).is_ok());
    }

    #[test]
    fn well_formed_messages_round_trip(m in message()) {
        let bytes = serde_json::to_vec(&m).unwrap();
        prop_assert_eq!(parse(&bytes).unwrap(), Incoming::Single(m));
    }

    #[test]
    fn corrupted_messages_are_rejected_not_panicked(m in message(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = serde_json::to_vec(&m).unwrap();
        let i = cut.index(bytes.len());
        bytes[i] = byte;
        let _ = parse(&bytes);
        bytes.truncate(i);
        let r = parse(&bytes);
        if let Err(e) = r {
            prop_assert!(e.error.code == -32700 || e.error.code == -32600);
        }
    }

    /// MCP params and results: any JSON is either accepted or refused with an error, and what
    /// is accepted serialises again.
    #[test]
    fn mcp_types_never_panic(v in any_json()) {
        fn check<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) {
            if let Ok(t) = serde_json::from_value::<T>(v.clone()) {
                let _ = serde_json::to_value(&t).unwrap();
            }
        }
        check::<InitializeRequestParams>(&v);
        check::<InitializeResult>(&v);
        check::<CallToolRequestParams>(&v);
        check::<CallToolResult>(&v);
        check::<ReadResourceRequestParams>(&v);
        check::<GetPromptRequestParams>(&v);
        check::<CompleteRequestParams>(&v);
        check::<ElicitRequestParams>(&v);
    }

    #[test]
    fn protocol_version_parse_never_panics(s in any::<String>()) {
        if let Some(v) = ProtocolVersion::parse(&s) {
            prop_assert_eq!(v.as_str(), s.as_str());
        }
    }
}

/// Nesting far past serde_json's recursion limit is a parse error, not a stack overflow.
#[test]
fn deep_nesting_is_a_parse_error() {
    for depth in [129usize, 1_000, 100_000] {
        let bytes = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let e = parse(bytes.as_bytes()).unwrap_err();
        assert_eq!(e.error.code, -32700, "depth {depth}");
        let obj = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        assert_eq!(parse(obj.as_bytes()).unwrap_err().error.code, -32700);
    }
}
