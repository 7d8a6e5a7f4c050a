//! Which era a POST belongs to.
//!
//! One endpoint serves both eras. A 2026-07-28 request names its version in the body
//! (`params._meta["io.modelcontextprotocol/protocolVersion"]`) and repeats it in the
//! `MCP-Protocol-Version` header; a handshake-era message never carries that `_meta` key.
//! [`classify`] looks at both and either routes the message or rejects it:
//!
//! | situation | outcome |
//! |---|---|
//! | body claim present, header equal | stateless leg |
//! | body claim present but not a non-empty string | 400, `-32602` |
//! | body claim present, header missing or different | 400, `-32020` |
//! | no claim, stateless-era header, on a request | 400, `-32602` (the envelope is missing) |
//! | no claim, stateless-era header, notification or response | stateless leg |
//! | batch carrying a claim or sent with a stateless-era header | 400, `-32600` |
//! | anything else | handshake leg |
//! | the routed era is switched off | 400, `-32022` listing the versions still served |
// Used by the HTTP transport; a stdio-only build (no `http` feature) keeps it for the
// stateless era's envelope rules without calling every helper.
#![cfg_attr(not(feature = "http"), allow(dead_code))]

use super::ProtocolOptions;
use super::headers::check_standard_headers;
use super::stateless::{merge_missing, missing_members};
use http::{HeaderMap, StatusCode};
use mcp_rs_core::jsonrpc::{Incoming, JsonRpcMessage, JsonRpcRequest};
use mcp_rs_core::{ErrorObject, ProtocolVersion, RequestId, meta};
use serde_json::{Value, json};

/// The header naming the protocol version.
pub(crate) const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// The handshake era (`initialize`, sessions): the Streamable HTTP session leg.
    Handshake,
    /// The 2026-07-28 era: the stateless leg of the HTTP transport.
    Stateless,
}

/// A message refused before any handler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The HTTP status.
    pub status: StatusCode,
    /// The request id, when the message had one.
    pub id: Option<RequestId>,
    /// The JSON-RPC error.
    pub error: ErrorObject,
}

impl Rejection {
    fn bad_request(id: Option<RequestId>, error: ErrorObject) -> Self {
        Rejection {
            status: StatusCode::BAD_REQUEST,
            id,
            error,
        }
    }
}

/// The body's version claim, when the `_meta` key is present (any JSON type).
#[must_use]
pub(crate) fn version_claim(msg: &JsonRpcMessage) -> Option<&Value> {
    let params = match msg {
        JsonRpcMessage::Request(r) => r.params.as_ref(),
        JsonRpcMessage::Notification(n) => n.params.as_ref(),
        _ => None,
    }?;
    params.get("_meta")?.get(meta::PROTOCOL_VERSION)
}

/// The `-32602` error of a stateless request without the version claim. It also names the
/// other missing pieces (client capabilities, standard headers), so one answer lists them all.
fn missing_version(headers: &HeaderMap, req: &JsonRpcRequest, version: &str) -> ErrorObject {
    let claim = format!("_meta[\"{}\"]", meta::PROTOCOL_VERSION);
    let mut error = ErrorObject::invalid_params(format!(
        "Invalid params: missing {claim} (required with MCP-Protocol-Version {version})"
    ))
    .with_data(json!({ "missing": [claim] }));
    let meta_obj = req.params.as_ref().and_then(|p| p.get("_meta"));
    if meta_obj.is_none_or(|m| m.get(meta::CLIENT_CAPABILITIES).is_none()) {
        error = merge_missing(error, missing_members(&[meta::CLIENT_CAPABILITIES]));
    }
    if let Err(h) = check_standard_headers(headers, &req.method, req.params.as_ref()) {
        error = merge_missing(error, h);
    }
    error
}

fn request_id(msg: &JsonRpcMessage) -> Option<RequestId> {
    match msg {
        JsonRpcMessage::Request(r) => Some(r.id.clone()),
        _ => None,
    }
}

/// Classifies one POST body.
///
/// # Errors
/// A [`Rejection`] (always HTTP 400) as listed in the [module docs](self).
pub(crate) fn classify(
    headers: &HeaderMap,
    incoming: &Incoming,
    options: &ProtocolOptions,
) -> Result<Route, Rejection> {
    let header = read_version_header(headers);
    let header_is_stateless = matches!(header, Header::One(h) if ProtocolVersion::parse(h).is_some_and(ProtocolVersion::is_stateless));
    let msg = match incoming {
        Incoming::Batch(items) => {
            let claims = items.iter().flatten().any(|m| version_claim(m).is_some());
            if claims || header_is_stateless {
                return Err(Rejection::bad_request(
                    None,
                    ErrorObject::invalid_request(
                        "Invalid Request: JSON-RPC batches are not allowed in protocol version 2026-07-28",
                    ),
                ));
            }
            return handshake(options, header, None, None);
        }
        Incoming::Single(msg) => msg,
    };
    let id = request_id(msg);
    let Some(claim) = version_claim(msg) else {
        if header_is_stateless {
            return unclaimed_stateless(headers, options, header, id, msg);
        }
        return handshake(options, header, id, Some(msg));
    };
    let checked = claimed_version(claim).and_then(|claim| {
        header_agrees(header, claim)?;
        Ok(claim)
    });
    let claim = match checked {
        Ok(claim) => claim,
        Err(error) => return Err(Rejection::bad_request(id, error)),
    };
    if !options.stateless_enabled() {
        return Err(stateless_off(options, id, claim));
    }
    Ok(Route::Stateless)
}

/// A message without a `_meta` protocol version under a stateless-era header: a request
/// lacks its envelope (one error naming what is missing); a notification or response
/// routes to the stateless era.
fn unclaimed_stateless(
    headers: &HeaderMap,
    options: &ProtocolOptions,
    header: Header<'_>,
    id: Option<RequestId>,
    msg: &JsonRpcMessage,
) -> Result<Route, Rejection> {
    let version = header.value().unwrap_or_default();
    if !options.stateless_enabled() {
        return Err(stateless_off(options, id, version));
    }
    if let JsonRpcMessage::Request(req) = msg {
        return Err(Rejection::bad_request(
            id,
            missing_version(headers, req, version),
        ));
    }
    Ok(Route::Stateless)
}

/// The body's `_meta` protocol version, which must be a non-empty string.
fn claimed_version(claim: &Value) -> Result<&str, ErrorObject> {
    match claim {
        Value::String(s) if !s.is_empty() => Ok(s.as_str()),
        _ => Err(ErrorObject::invalid_params(format!(
            "Invalid params: _meta[\"{}\"] must be a non-empty string",
            meta::PROTOCOL_VERSION
        ))),
    }
}

/// The `MCP-Protocol-Version` header must be present once, readable, and equal the body's
/// claim.
fn header_agrees(header: Header<'_>, claim: &str) -> Result<(), ErrorObject> {
    match header {
        Header::None => Err(ErrorObject::header_mismatch(format!(
            "Header mismatch: required header MCP-Protocol-Version is missing (body protocolVersion '{claim}')"
        ))),
        Header::Repeated => Err(ErrorObject::header_mismatch(
            "Header mismatch: header MCP-Protocol-Version appears more than once",
        )),
        Header::Invalid => Err(ErrorObject::header_mismatch(
            "Header mismatch: header MCP-Protocol-Version is not visible ASCII",
        )),
        Header::One(h) if h != claim => Err(ErrorObject::header_mismatch(format!(
            "Header mismatch: MCP-Protocol-Version header value '{h}' does not match body value '{claim}'"
        ))),
        Header::One(_) => Ok(()),
    }
}

fn handshake(
    options: &ProtocolOptions,
    header: Header<'_>,
    id: Option<RequestId>,
    msg: Option<&JsonRpcMessage>,
) -> Result<Route, Rejection> {
    if options.handshake_enabled() {
        return Ok(Route::Handshake);
    }
    let initialize_version = msg.and_then(|m| match m {
        JsonRpcMessage::Request(r) if r.method == "initialize" => {
            r.params.as_ref()?.get("protocolVersion")?.as_str()
        }
        _ => None,
    });
    let requested = header
        .value()
        .or(initialize_version)
        .unwrap_or(ProtocolVersion::HTTP_DEFAULT.as_str());
    Err(Rejection::bad_request(
        id,
        super::stateless::unsupported(options.stateless_versions(), requested),
    ))
}

fn stateless_off(options: &ProtocolOptions, id: Option<RequestId>, requested: &str) -> Rejection {
    let served: Vec<ProtocolVersion> = if options.handshake_enabled() {
        ProtocolVersion::of_era(mcp_rs_core::Era::Handshake).collect()
    } else {
        Vec::new()
    };
    Rejection::bad_request(id, super::stateless::unsupported(&served, requested))
}

#[derive(Debug, Clone, Copy)]
enum Header<'a> {
    None,
    One(&'a str),
    Repeated,
    Invalid,
}

impl<'a> Header<'a> {
    fn value(self) -> Option<&'a str> {
        match self {
            Header::One(v) => Some(v),
            _ => None,
        }
    }
}

fn read_version_header(headers: &HeaderMap) -> Header<'_> {
    let mut all = headers.get_all(PROTOCOL_VERSION_HEADER).iter();
    let Some(first) = all.next() else {
        return Header::None;
    };
    if all.next().is_some() {
        return Header::Repeated;
    }
    match first.to_str() {
        Ok(v) => Header::One(v.trim_matches([' ', '\t'])),
        Err(_) => Header::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use mcp_rs_core::jsonrpc::parse;
    use serde_json::json;

    fn h(v: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        if let Some(v) = v {
            m.insert(PROTOCOL_VERSION_HEADER, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    fn body(v: Value) -> Incoming {
        parse(v.to_string().as_bytes()).unwrap()
    }

    fn req(meta: Value) -> Incoming {
        body(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": meta}}))
    }

    fn rejected(r: Result<Route, Rejection>) -> (u16, i32, Option<RequestId>) {
        let r = r.unwrap_err();
        (r.status.as_u16(), r.error.code, r.id)
    }

    const PV: &str = "io.modelcontextprotocol/protocolVersion";

    #[test]
    fn routes() {
        let o = ProtocolOptions::default();
        assert_eq!(
            classify(&h(Some("2026-07-28")), &req(json!({PV: "2026-07-28"})), &o),
            Ok(Route::Stateless)
        );
        // Unknown claimed versions still go stateless (the envelope answers -32022).
        assert_eq!(
            classify(&h(Some("v999")), &req(json!({PV: "v999"})), &o),
            Ok(Route::Stateless)
        );
        let init = body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}),
        );
        assert_eq!(classify(&h(None), &init, &o), Ok(Route::Handshake));
        assert_eq!(
            classify(&h(Some("2025-11-25")), &req(json!({})), &o),
            Ok(Route::Handshake)
        );
        let note = body(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(
            classify(&h(Some("2026-07-28")), &note, &o),
            Ok(Route::Stateless)
        );
        assert_eq!(
            classify(&h(Some("2025-06-18")), &note, &o),
            Ok(Route::Handshake)
        );
    }

    #[test]
    fn rejections() {
        let o = ProtocolOptions::default();
        let id = Some(RequestId::Number(9));
        assert_eq!(
            rejected(classify(&h(Some("2026-07-28")), &req(json!({PV: 1})), &o)),
            (400, -32602, id.clone())
        );
        assert_eq!(
            rejected(classify(&h(Some("2026-07-28")), &req(json!({PV: ""})), &o)),
            (400, -32602, id.clone())
        );
        assert_eq!(
            rejected(classify(&h(None), &req(json!({PV: "2026-07-28"})), &o)),
            (400, -32020, id.clone())
        );
        let r = classify(&h(Some("2026-07-28")), &req(json!({PV: "v999.0.0"})), &o).unwrap_err();
        assert_eq!(
            r.error.message,
            "Header mismatch: MCP-Protocol-Version header value '2026-07-28' does not match body value 'v999.0.0'"
        );
        assert_eq!(
            rejected(classify(&h(Some("2026-07-28")), &req(json!({})), &o)),
            (400, -32602, id.clone())
        );
        let no_params = body(json!({"jsonrpc": "2.0", "id": "x", "method": "server/discover"}));
        assert_eq!(
            rejected(classify(&h(Some("2026-07-28")), &no_params, &o)),
            (400, -32602, Some(RequestId::String("x".into())))
        );
        let batch = body(
            json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {PV: "2026-07-28"}}}]),
        );
        assert_eq!(
            rejected(classify(&h(Some("2026-07-28")), &batch, &o)),
            (400, -32600, None)
        );
        let plain_batch = body(json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]));
        assert_eq!(
            rejected(classify(&h(Some("2026-07-28")), &plain_batch, &o)),
            (400, -32600, None)
        );
        assert_eq!(
            classify(&h(Some("2025-11-25")), &plain_batch, &o),
            Ok(Route::Handshake)
        );
        let mut twice = h(Some("2026-07-28"));
        twice.append(
            PROTOCOL_VERSION_HEADER,
            HeaderValue::from_static("2026-07-28"),
        );
        assert_eq!(
            rejected(classify(&twice, &req(json!({PV: "2026-07-28"})), &o)),
            (400, -32020, id)
        );
    }

    #[test]
    fn eras_can_be_switched_off() {
        let no_stateless = ProtocolOptions::default().stateless_era(false);
        let r = classify(
            &h(Some("2026-07-28")),
            &req(json!({PV: "2026-07-28"})),
            &no_stateless,
        )
        .unwrap_err();
        assert_eq!((r.status.as_u16(), r.error.code), (400, -32022));
        assert_eq!(
            r.error.data.unwrap()["supported"],
            json!(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
        );
        let no_handshake = ProtocolOptions::default().handshake_era(false);
        let init = body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}),
        );
        let r = classify(&h(None), &init, &no_handshake).unwrap_err();
        assert_eq!((r.status.as_u16(), r.error.code), (400, -32022));
        assert_eq!(
            r.error.data.unwrap(),
            json!({"supported": ["2026-07-28"], "requested": "2025-06-18"})
        );
        assert_eq!(
            classify(
                &h(Some("2026-07-28")),
                &req(json!({PV: "2026-07-28"})),
                &no_handshake
            ),
            Ok(Route::Stateless)
        );
    }
}
