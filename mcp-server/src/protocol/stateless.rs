//! The per-request `_meta` envelope of the 2026-07-28 (stateless) era.
//!
//! Without `initialize`, every request states what a handshake used to negotiate, in
//! `params._meta`:
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `io.modelcontextprotocol/protocolVersion` | yes | the revision the request is written in |
//! | `io.modelcontextprotocol/clientCapabilities` | yes | what the client supports *for this request* |
//! | `io.modelcontextprotocol/clientInfo` | no | the client's name and version (display only) |
//! | `io.modelcontextprotocol/logLevel` | no | without it the server sends no `notifications/message` |
//! | `progressToken` | no | as in every era |
//! | `traceparent`, `tracestate`, `baggage` | no | W3C trace context, echoed on notifications |
//!
//! A retried multi-round request also carries `params.inputResponses` and
//! `params.requestState` ([`mrtr`](super::mrtr)).
// Used by the HTTP transport; a stdio-only build (no `http` feature) keeps it for the
// stateless era's envelope rules without calling every helper.
#![cfg_attr(not(feature = "http"), allow(dead_code))]

use mcp_rs_core::meta;
use mcp_rs_core::schema::{
    ClientCapabilities, Implementation, InputResponse, InputResponses, LoggingLevel, ProgressToken,
};
use mcp_rs_core::{ErrorObject, ProtocolVersion, RequestId};
use serde_json::{Map, Value, json};

/// The longest `tracestate` kept (W3C: at most 32 list members of bounded size).
const MAX_TRACESTATE: usize = 512;
/// The longest `baggage` kept (W3C Baggage: 8192 bytes).
const MAX_BAGGAGE: usize = 8192;

use super::TraceContext;

/// Reads the W3C trace context of a `_meta` object, leniently: an invalid `traceparent` is
/// dropped (W3C: the receiver then starts a new trace), as are non-string or oversized
/// `tracestate`/`baggage` values; none of them makes a request fail. `None` when nothing valid
/// remains.
#[must_use]
pub(crate) fn trace_context(meta_obj: &Map<String, Value>) -> Option<TraceContext> {
    let text = |key: &str, max: usize| {
        meta_obj
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| s.len() <= max && is_visible_ascii(s))
            .map(str::to_owned)
    };
    let t = TraceContext {
        traceparent: text(meta::TRACEPARENT, 55).filter(|s| is_valid_traceparent(s)),
        tracestate: text(meta::TRACESTATE, MAX_TRACESTATE),
        baggage: text(meta::BAGGAGE, MAX_BAGGAGE),
    };
    (t != TraceContext::default()).then_some(t)
}

/// Copies the set members of `trace` into a `_meta` object (to echo them on notifications);
/// keys already present are kept.
pub(crate) fn write_trace(trace: &TraceContext, meta_obj: &mut Map<String, Value>) {
    for (key, value) in [
        (meta::TRACEPARENT, &trace.traceparent),
        (meta::TRACESTATE, &trace.tracestate),
        (meta::BAGGAGE, &trace.baggage),
    ] {
        if let Some(v) = value {
            meta_obj
                .entry(key.to_owned())
                .or_insert_with(|| Value::String(v.clone()));
        }
    }
}

fn is_visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
}

/// `version-traceid-parentid-flags`, lower-case hex, ids not all zero, version not `ff`.
fn is_valid_traceparent(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let hex = |p: &str, n: usize| {
        p.len() == n
            && p.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let [version, trace_id, parent_id, flags] = parts.as_slice() else {
        return false;
    };
    hex(version, 2)
        && *version != "ff"
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && hex(flags, 2)
}

/// The validated per-request envelope of a stateless-era request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StatelessEnvelope {
    /// `io.modelcontextprotocol/protocolVersion` (always a stateless-era version).
    pub protocol_version: ProtocolVersion,
    /// `io.modelcontextprotocol/clientCapabilities`.
    pub client_capabilities: ClientCapabilities,
    /// `io.modelcontextprotocol/clientInfo`, when sent.
    pub client_info: Option<Implementation>,
    /// `io.modelcontextprotocol/logLevel`: without it no `notifications/message` may be sent.
    pub log_level: Option<LoggingLevel>,
    /// `progressToken`.
    pub progress_token: Option<ProgressToken>,
    /// W3C trace context (valid members only).
    pub trace: Option<TraceContext>,
    /// `params.inputResponses`: answers to a previous `input_required` result.
    pub input_responses: Option<InputResponses>,
    /// `params.requestState` as received (sealed); the transport replaces it with the opened
    /// state before the handler runs.
    pub request_state: Option<String>,
}

impl StatelessEnvelope {
    /// Parses and validates the envelope of a request's `params`.
    ///
    /// `supported` lists the stateless-era versions this server accepts.
    ///
    /// # Errors
    /// - `-32602` when `params`/`_meta` is missing or not an object, when protocolVersion or
    ///   clientCapabilities is missing or ill-typed (every missing one is named in the message
    ///   and in `data.missing`), or when an optional member is ill-typed
    ///   (clientInfo, logLevel, progressToken, inputResponses, requestState);
    /// - `-32022` (with `data.supported` and `data.requested`) when the version is not one of
    ///   `supported`.
    pub fn from_params(
        params: Option<&Value>,
        supported: &[ProtocolVersion],
    ) -> Result<Self, ErrorObject> {
        let (params, meta_obj) = envelope_objects(params)?;
        let (requested, client_capabilities) = required_members(meta_obj)?;
        let protocol_version = ProtocolVersion::parse(requested)
            .filter(|v| supported.contains(v))
            .ok_or_else(|| unsupported(supported, requested))?;
        let client_info = optional(
            meta_obj,
            meta::CLIENT_INFO,
            "an Implementation {name, version}",
        )?;
        let request_state = match params.get("requestState") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid("requestState must be a string")),
        };
        Ok(StatelessEnvelope {
            protocol_version,
            client_capabilities,
            client_info,
            log_level: optional(meta_obj, meta::LOG_LEVEL, "a logging level")?,
            progress_token: progress_token(meta_obj)?,
            trace: trace_context(meta_obj),
            input_responses: input_responses(params)?,
            request_state,
        })
    }

    /// Whether a `notifications/message` at `level` may be sent for this request.
    #[must_use]
    pub fn allows_log(&self, level: LoggingLevel) -> bool {
        self.log_level.is_some_and(|min| level >= min)
    }
}

/// The `-32602` error naming every required envelope member in `missing` (as `_meta["key"]`),
/// with `data.missing` listing them.
pub(crate) fn missing_members(missing: &[&str]) -> ErrorObject {
    let names: Vec<String> = missing.iter().map(|k| format!("_meta[\"{k}\"]")).collect();
    invalid(format!("missing {}", names.join(", "))).with_data(json!({ "missing": names }))
}

/// A JSON object.
type JsonObject = Map<String, Value>;

/// `params` and `params._meta` as objects. Without `_meta` every required member is missing,
/// and the error names them all.
fn envelope_objects(params: Option<&Value>) -> Result<(&JsonObject, &JsonObject), ErrorObject> {
    let absent = || {
        let names = REQUIRED.map(|k| format!("_meta[\"{k}\"]"));
        invalid(format!(
            "missing params._meta (required in protocol version 2026-07-28), so {} and {}",
            names[0], names[1]
        ))
        .with_data(json!({ "missing": names }))
    };
    let params = match params {
        None => return Err(absent()),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(invalid("params must be an object")),
    };
    match params.get("_meta") {
        None => Err(absent()),
        Some(Value::Object(m)) => Ok((params, m)),
        Some(_) => Err(invalid("params._meta must be an object")),
    }
}

/// The members every stateless request carries in `_meta`.
const REQUIRED: [&str; 2] = [meta::PROTOCOL_VERSION, meta::CLIENT_CAPABILITIES];

/// The requested version and the client capabilities. An ill-typed member is reported first;
/// otherwise one error names every missing member.
fn required_members(
    meta_obj: &Map<String, Value>,
) -> Result<(&str, ClientCapabilities), ErrorObject> {
    let version = match meta_obj.get(meta::PROTOCOL_VERSION) {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        Some(_) => {
            return Err(invalid(format!(
                "_meta[\"{}\"] must be a non-empty string",
                meta::PROTOCOL_VERSION
            )));
        }
    };
    let caps = match meta_obj.get(meta::CLIENT_CAPABILITIES) {
        None => None,
        Some(v @ Value::Object(_)) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            invalid(format!(
                "_meta[\"{}\"] is not valid ClientCapabilities: {e}",
                meta::CLIENT_CAPABILITIES
            ))
        })?),
        Some(_) => {
            return Err(invalid(format!(
                "_meta[\"{}\"] must be an object",
                meta::CLIENT_CAPABILITIES
            )));
        }
    };
    match (version, caps) {
        (Some(v), Some(c)) => Ok((v, c)),
        (None, Some(_)) => Err(missing_members(&[meta::PROTOCOL_VERSION])),
        (Some(_), None) => Err(missing_members(&[meta::CLIENT_CAPABILITIES])),
        (None, None) => Err(missing_members(&REQUIRED)),
    }
}

/// `_meta.progressToken`: a string or an integer.
fn progress_token(meta_obj: &Map<String, Value>) -> Result<Option<ProgressToken>, ErrorObject> {
    match meta_obj.get(meta::PROGRESS_TOKEN) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(RequestId::String(s.clone()))),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().map(RequestId::Number)),
        Some(_) => Err(invalid(
            "_meta.progressToken must be a string or an integer",
        )),
    }
}

/// `params.inputResponses`: each answer an object the client's result parses from.
fn input_responses(params: &Map<String, Value>) -> Result<Option<InputResponses>, ErrorObject> {
    let m = match params.get("inputResponses") {
        None => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(invalid("inputResponses must be an object")),
    };
    let mut responses = InputResponses::new();
    for (key, v) in m {
        if !v.is_object() {
            return Err(invalid(format!(
                "inputResponses[\"{key}\"] must be an object (the client's result)"
            )));
        }
        let r: InputResponse = serde_json::from_value(v.clone()).map_err(|_| {
            invalid(format!(
                "inputResponses[\"{key}\"] is not an ElicitResult, CreateMessageResult or ListRootsResult"
            ))
        })?;
        responses.insert(key.clone(), r);
    }
    Ok(Some(responses))
}

fn optional<T: serde::de::DeserializeOwned>(
    meta_obj: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<T>, ErrorObject> {
    meta_obj
        .get(key)
        .map(|v| {
            serde_json::from_value(v.clone())
                .map_err(|_| invalid(format!("_meta[\"{key}\"] must be {what}")))
        })
        .transpose()
}

fn invalid(message: impl Into<String>) -> ErrorObject {
    let message = message.into();
    ErrorObject::invalid_params(format!("Invalid params: {message}"))
}

/// One error for a request that misses pieces in two places (standard headers, then the
/// envelope): when both `first` and `then` list `data.missing`, the result keeps `first`'s
/// code, joins both messages and lists every missing piece; otherwise `first` alone.
#[must_use]
pub(crate) fn merge_missing(first: ErrorObject, then: ErrorObject) -> ErrorObject {
    let list = |e: &ErrorObject| {
        e.data
            .as_ref()
            .and_then(|d| d.get("missing"))
            .and_then(Value::as_array)
            .cloned()
    };
    match (list(&first), list(&then)) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            let message = format!("{}; {}", first.message, then.message);
            ErrorObject::new(first.error_code(), message).with_data(json!({ "missing": a }))
        }
        _ => first,
    }
}

/// The `-32022` error listing `supported`.
#[must_use]
pub(crate) fn unsupported(supported: &[ProtocolVersion], requested: &str) -> ErrorObject {
    let list: Vec<&str> = supported.iter().map(|v| v.as_str()).collect();
    ErrorObject::unsupported_protocol_version(&list, requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: &[ProtocolVersion] = &[ProtocolVersion::V2026_07_28];

    fn params(meta: Value) -> Value {
        json!({"_meta": meta})
    }

    fn good_meta() -> Value {
        json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
        })
    }

    #[test]
    fn minimal_envelope() {
        let e = StatelessEnvelope::from_params(Some(&params(good_meta())), S).unwrap();
        assert_eq!(e.protocol_version, ProtocolVersion::V2026_07_28);
        assert!(e.client_capabilities.sampling.is_some());
        assert_eq!(e.client_info, None);
        assert_eq!(e.log_level, None);
        assert!(!e.allows_log(LoggingLevel::Emergency));
        assert!(e.trace.is_none());
    }

    #[test]
    fn full_envelope() {
        let mut m = good_meta();
        m["io.modelcontextprotocol/clientInfo"] = json!({"name": "c", "version": "1"});
        m["io.modelcontextprotocol/logLevel"] = json!("warning");
        m["progressToken"] = json!(7);
        m["traceparent"] = json!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        m["tracestate"] = json!("congo=t61rcWkgMzE");
        m["baggage"] = json!("userId=alice");
        let mut p = params(m);
        p["inputResponses"] = json!({"k": {"action": "accept"}});
        p["requestState"] = json!("mrs1.x.y");
        let e = StatelessEnvelope::from_params(Some(&p), S).unwrap();
        assert_eq!(e.client_info.as_ref().unwrap().name, "c");
        assert_eq!(e.log_level, Some(LoggingLevel::Warning));
        assert!(e.allows_log_level_test());
        assert_eq!(e.progress_token, Some(RequestId::Number(7)));
        let trace = e.trace.clone().unwrap();
        assert_eq!(
            trace.traceparent.as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        assert_eq!(trace.baggage.as_deref(), Some("userId=alice"));
        let responses = e.input_responses.clone().unwrap();
        assert!(matches!(responses["k"], InputResponse::Elicit(_)));
        assert_eq!(e.request_state.as_deref(), Some("mrs1.x.y"));
        let mut echoed = Map::new();
        write_trace(&trace, &mut echoed);
        assert_eq!(echoed.len(), 3);
    }

    impl StatelessEnvelope {
        fn allows_log_level_test(&self) -> bool {
            self.allows_log(LoggingLevel::Error)
                && self.allows_log(LoggingLevel::Warning)
                && !self.allows_log(LoggingLevel::Info)
        }
    }

    fn err(p: Option<Value>) -> (i32, String) {
        let e = StatelessEnvelope::from_params(p.as_ref(), S).unwrap_err();
        (e.code, e.message)
    }

    #[test]
    fn required_members() {
        assert_eq!(err(None).0, -32602);
        assert_eq!(err(Some(json!({}))).0, -32602);
        assert_eq!(err(Some(json!({"_meta": 1}))).0, -32602);
        let (c, m) = err(Some(params(
            json!({"io.modelcontextprotocol/clientCapabilities": {}}),
        )));
        assert_eq!(
            (c, m.as_str()),
            (
                -32602,
                "Invalid params: missing _meta[\"io.modelcontextprotocol/protocolVersion\"]"
            )
        );
        let (c, m) = err(Some(params(
            json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"}),
        )));
        assert_eq!(
            (c, m.as_str()),
            (
                -32602,
                "Invalid params: missing _meta[\"io.modelcontextprotocol/clientCapabilities\"]"
            )
        );
        let (c, _) = err(Some(params(
            json!({"io.modelcontextprotocol/protocolVersion": 5, "io.modelcontextprotocol/clientCapabilities": {}}),
        )));
        assert_eq!(c, -32602);
        let (c, _) = err(Some(params(
            json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": []}),
        )));
        assert_eq!(c, -32602);
    }

    #[test]
    fn every_missing_member_is_named_at_once() {
        let e = StatelessEnvelope::from_params(Some(&params(json!({}))), S).unwrap_err();
        let names = json!([
            "_meta[\"io.modelcontextprotocol/protocolVersion\"]",
            "_meta[\"io.modelcontextprotocol/clientCapabilities\"]"
        ]);
        assert_eq!(
            (e.code, e.message.as_str(), e.data.clone()),
            (
                -32602,
                "Invalid params: missing _meta[\"io.modelcontextprotocol/protocolVersion\"], _meta[\"io.modelcontextprotocol/clientCapabilities\"]",
                Some(json!({"missing": names.clone()}))
            )
        );
        let e = StatelessEnvelope::from_params(None, S).unwrap_err();
        assert_eq!(e.data, Some(json!({"missing": names})));
        assert_eq!(
            e.message,
            "Invalid params: missing params._meta (required in protocol version 2026-07-28), so _meta[\"io.modelcontextprotocol/protocolVersion\"] and _meta[\"io.modelcontextprotocol/clientCapabilities\"]"
        );
        let header =
            ErrorObject::header_mismatch("h").with_data(json!({"missing": ["header Mcp-Method"]}));
        let merged = merge_missing(header, e);
        assert_eq!(
            (merged.code, merged.message.as_str()),
            (
                -32020,
                "h; Invalid params: missing params._meta (required in protocol version 2026-07-28), so _meta[\"io.modelcontextprotocol/protocolVersion\"] and _meta[\"io.modelcontextprotocol/clientCapabilities\"]"
            )
        );
        assert_eq!(merged.data.unwrap()["missing"].as_array().unwrap().len(), 3);
        // An error that is not about missing pieces is kept as it is.
        let first = ErrorObject::header_mismatch("other");
        assert_eq!(
            merge_missing(first.clone(), ErrorObject::invalid_params("x")),
            first
        );
    }

    #[test]
    fn unsupported_version() {
        let mut m = good_meta();
        m["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
        let e = StatelessEnvelope::from_params(Some(&params(m)), S).unwrap_err();
        assert_eq!(e.code, -32022);
        assert_eq!(
            e.data,
            Some(json!({"supported": ["2026-07-28"], "requested": "v999.0.0"}))
        );
        // A handshake-era version is not accepted on the stateless wire.
        let mut m = good_meta();
        m["io.modelcontextprotocol/protocolVersion"] = json!("2025-11-25");
        assert_eq!(
            StatelessEnvelope::from_params(Some(&params(m)), S)
                .unwrap_err()
                .code,
            -32022
        );
    }

    #[test]
    fn optional_members_are_typed() {
        for (key, bad) in [
            ("io.modelcontextprotocol/clientInfo", json!({"name": 1})),
            ("io.modelcontextprotocol/logLevel", json!("loud")),
            ("progressToken", json!(1.5)),
            ("progressToken", json!(null)),
        ] {
            let mut m = good_meta();
            m[key] = bad;
            assert_eq!(err(Some(params(m))).0, -32602, "{key}");
        }
        let mut p = params(good_meta());
        p["inputResponses"] = json!(null);
        assert_eq!(
            err(Some(p.clone())).1,
            "Invalid params: inputResponses must be an object"
        );
        p["inputResponses"] = json!({"user_name": 12345});
        assert_eq!(
            err(Some(p.clone())).1,
            "Invalid params: inputResponses[\"user_name\"] must be an object (the client's result)"
        );
        p["inputResponses"] = json!({"k": {"unrelated": true}});
        assert_eq!(
            err(Some(p.clone())).1,
            "Invalid params: inputResponses[\"k\"] is not an ElicitResult, CreateMessageResult or ListRootsResult"
        );
        p["inputResponses"] = json!({});
        p["requestState"] = json!(5);
        assert_eq!(
            err(Some(p)).1,
            "Invalid params: requestState must be a string"
        );
    }

    #[test]
    fn trace_context_is_lenient() {
        let meta = json!({"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "tracestate": 5,
            "baggage": "x".repeat(9000)});
        assert_eq!(trace_context(meta.as_object().unwrap()), None);
        assert!(!is_valid_traceparent(
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
        ));
        assert!(!is_valid_traceparent(
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(is_valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        ));
    }
}
