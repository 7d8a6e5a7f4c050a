//! The HTTP edge: request checks (headers, body cap, caller identity) and JSON-RPC error
//! responses.
//!
//! Every rejection of the transport is an HTTP status plus a JSON-RPC error body
//! (`{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…}}`), never bare text, so clients
//! can show the reason.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderName, RETRY_AFTER};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use mcp_rs_core::jsonrpc::{JsonRpcMessage, RequestId};
use mcp_rs_core::{ErrorCode, ErrorObject, ProtocolVersion};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::body::{Body, BoxError};
use crate::identity::OAuthContext;

/// `Mcp-Session-Id`.
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version`.
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Last-Event-ID`.
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The JSON-RPC code of transport-level rejections that have no code of their own
/// (bad headers, unknown session, forbidden host): -32600 Invalid Request.
pub const TRANSPORT_REJECTION: ErrorCode = ErrorCode::INVALID_REQUEST;
/// The JSON-RPC code of 503 "server busy": -32000 (implementation-defined server error).
pub const SERVER_BUSY: ErrorCode = ErrorCode(-32000);

/// A rejection at the HTTP edge: status, JSON-RPC error, optional extra headers (boxed: it
/// travels in `Result`s on the hot path).
#[derive(Debug, Clone)]
pub(crate) struct EdgeError(Box<EdgeErrorInner>);

/// The contents of an [`EdgeError`].
#[derive(Debug, Clone)]
pub(crate) struct EdgeErrorInner {
    pub(crate) status: StatusCode,
    pub(crate) id: Option<RequestId>,
    pub(crate) error: ErrorObject,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) allow: Option<&'static str>,
}

impl std::ops::Deref for EdgeError {
    type Target = EdgeErrorInner;

    fn deref(&self) -> &EdgeErrorInner {
        &self.0
    }
}

impl std::ops::DerefMut for EdgeError {
    fn deref_mut(&mut self) -> &mut EdgeErrorInner {
        &mut self.0
    }
}

impl EdgeError {
    pub(crate) fn new(status: StatusCode, error: ErrorObject) -> Self {
        EdgeError(Box::new(EdgeErrorInner {
            status,
            id: None,
            error,
            retry_after: None,
            allow: None,
        }))
    }

    /// A -32600 rejection with `message`.
    pub(crate) fn rejection(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, ErrorObject::new(TRANSPORT_REJECTION, message))
    }

    pub(crate) fn with_id(mut self, id: Option<RequestId>) -> Self {
        self.id = id;
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::rejection(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn session_not_found() -> Self {
        Self::rejection(StatusCode::NOT_FOUND, "Session not found")
    }

    pub(crate) fn missing_session_id() -> Self {
        Self::bad_request("Bad Request: Mcp-Session-Id header is required")
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::rejection(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        e.allow = Some(allow);
        e
    }

    pub(crate) fn busy(retry_after: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorObject::new(SERVER_BUSY, "Server busy: too many sessions, retry later"),
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// The shared session store cannot be reached: 503 with `Retry-After`.
    pub(crate) fn store_unavailable(retry_after: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorObject::new(
                SERVER_BUSY,
                "Service unavailable: the session store cannot be reached, retry later",
            ),
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let this = *self.0;
        let msg = JsonRpcMessage::error(this.id, this.error);
        let mut res = json_response(this.status, &msg);
        if let Some(after) = this.retry_after {
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
        }
        if let Some(allow) = this.allow {
            res.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        res
    }
}

/// A JSON response carrying one message (or, via [`json_bytes_response`], several).
pub(crate) fn json_response(status: StatusCode, msg: &JsonRpcMessage) -> Response<Body> {
    json_bytes_response(
        status,
        Bytes::from(serde_json::to_vec(msg).unwrap_or_default()),
    )
}

/// A JSON response with a pre-serialised body.
pub(crate) fn json_bytes_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// An empty response with `status` (202 Accepted for notifications, 204 for DELETE).
pub(crate) fn empty_response(status: StatusCode) -> Response<Body> {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = status;
    res
}

/// The value of a header that may appear at most once: `Ok(None)` when absent, 400 when
/// repeated or not visible ASCII.
pub(crate) fn single_header<'a>(
    parts: &'a Parts,
    name: &HeaderName,
) -> Result<Option<&'a str>, EdgeError> {
    let mut values = parts.headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(EdgeError::bad_request(format!(
            "Bad Request: the {name} header must appear only once"
        )));
    }
    first
        .to_str()
        .map(|s| Some(s.trim()))
        .map_err(|_| EdgeError::bad_request(format!("Bad Request: invalid {name} header value")))
}

/// The `Mcp-Session-Id` header, validated: visible ASCII 0x21–0x7E, at most 256 bytes.
pub(crate) fn session_id_header(parts: &Parts) -> Result<Option<&str>, EdgeError> {
    let Some(id) = single_header(parts, &MCP_SESSION_ID)? else {
        return Ok(None);
    };
    if id.is_empty() || id.len() > 256 || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        // Not a session id we could have issued.
        return Err(EdgeError::session_not_found());
    }
    Ok(Some(id))
}

/// The `MCP-Protocol-Version` header: absent ⇒ 2025-03-26; one of `supported` ⇒ that version;
/// anything else ⇒ 400 with -32022 and `data.supported`.
pub(crate) fn protocol_version_header(
    parts: &Parts,
    supported: &[ProtocolVersion],
) -> Result<ProtocolVersion, EdgeError> {
    match single_header(parts, &MCP_PROTOCOL_VERSION)? {
        None => Ok(ProtocolVersion::HTTP_DEFAULT),
        Some(v) => match ProtocolVersion::parse(v) {
            Some(p) if supported.contains(&p) => Ok(p),
            _ => Err(unsupported_version(v, supported)),
        },
    }
}

/// 400 with -32022, `data.supported` and `data.requested`.
pub(crate) fn unsupported_version(requested: &str, supported: &[ProtocolVersion]) -> EdgeError {
    let names: Vec<&str> = supported.iter().map(|v| v.as_str()).collect();
    let requested: String = requested.chars().take(64).collect();
    EdgeError::new(
        StatusCode::BAD_REQUEST,
        ErrorObject::unsupported_protocol_version(&names, &requested),
    )
}

/// Which media types an `Accept` header admits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Accepts {
    pub(crate) json: bool,
    pub(crate) sse: bool,
}

/// Parses every `Accept` header. Wildcards (`*/*`, `application/*`, `text/*`) count; a media
/// range with `q=0` does not.
pub(crate) fn accepts(parts: &Parts) -> Accepts {
    let mut out = Accepts::default();
    for value in parts.headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut pieces = range.split(';');
            let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = pieces.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match media.as_str() {
                "*/*" => {
                    out.json = true;
                    out.sse = true;
                }
                "application/json" | "application/*" => out.json = true,
                "text/event-stream" | "text/*" => out.sse = true,
                _ => {}
            }
        }
    }
    out
}

/// Whether `Content-Type` is `application/json` (parameters such as `charset` allowed).
pub(crate) fn is_json_content_type(parts: &Parts) -> bool {
    let mut values = parts.headers.get_all(CONTENT_TYPE).iter();
    let (Some(v), None) = (values.next(), values.next()) else {
        return false;
    };
    v.to_str().is_ok_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Reads the body, refusing more than `cap` bytes with 413.
pub(crate) async fn read_body<B>(parts: &Parts, body: B, cap: usize) -> Result<Bytes, EdgeError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        EdgeError::rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload Too Large: the body exceeds {cap} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(e) if e.downcast_ref::<super::conn::BodyTimeoutError>().is_some() => Err(
            EdgeError::rejection(StatusCode::REQUEST_TIMEOUT, format!("Request Timeout: {e}")),
        ),
        Err(_) => Err(EdgeError::bad_request(
            "Bad Request: failed to read the request body",
        )),
    }
}

/// The instant the request's access token expires, for closing long-lived streams.
pub(crate) fn token_deadline(parts: &Parts) -> Option<tokio::time::Instant> {
    let exp = crate::identity::from_extensions(&parts.extensions)?.expires_at?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(tokio::time::Instant::now() + Duration::from_secs(exp.saturating_sub(now)))
}

/// The verified caller (from the authorization layer), which sessions are bound to.
pub(crate) fn principal_of(parts: &Parts) -> Option<String> {
    crate::identity::from_extensions(&parts.extensions).map(OAuthContext::principal_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri("/mcp");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn accept_parsing() {
        let a = accepts(&parts(&[("accept", "application/json, text/event-stream")]));
        assert_eq!(
            a,
            Accepts {
                json: true,
                sse: true
            }
        );
        let a = accepts(&parts(&[("accept", "application/json")]));
        assert_eq!(
            a,
            Accepts {
                json: true,
                sse: false
            }
        );
        let a = accepts(&parts(&[("accept", "*/*")]));
        assert_eq!(
            a,
            Accepts {
                json: true,
                sse: true
            }
        );
        let a = accepts(&parts(&[(
            "accept",
            "text/event-stream;q=0, application/json;q=0.5",
        )]));
        assert_eq!(
            a,
            Accepts {
                json: true,
                sse: false
            }
        );
        let a = accepts(&parts(&[
            ("accept", "text/event-stream"),
            ("accept", "application/json"),
        ]));
        assert_eq!(
            a,
            Accepts {
                json: true,
                sse: true
            }
        );
        assert_eq!(accepts(&parts(&[])), Accepts::default());
    }

    #[test]
    fn content_type() {
        assert!(is_json_content_type(&parts(&[(
            "content-type",
            "application/json"
        )])));
        assert!(is_json_content_type(&parts(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(!is_json_content_type(&parts(&[(
            "content-type",
            "text/plain"
        )])));
        assert!(!is_json_content_type(&parts(&[])));
    }

    #[test]
    fn protocol_version() {
        let sup = [ProtocolVersion::V2025_03_26, ProtocolVersion::V2025_11_25];
        assert_eq!(
            protocol_version_header(&parts(&[]), &sup).unwrap(),
            ProtocolVersion::V2025_03_26
        );
        assert_eq!(
            protocol_version_header(&parts(&[("mcp-protocol-version", "2025-11-25")]), &sup)
                .unwrap(),
            ProtocolVersion::V2025_11_25
        );
        let e = protocol_version_header(&parts(&[("mcp-protocol-version", "1999-01-01")]), &sup)
            .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.error.code, -32022);
        assert_eq!(
            e.error.data,
            Some(
                serde_json::json!({"supported": ["2025-03-26", "2025-11-25"], "requested": "1999-01-01"})
            )
        );
        let e = protocol_version_header(
            &parts(&[
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-protocol-version", "2025-11-25"),
            ]),
            &sup,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.error.code, -32600);
    }

    #[test]
    fn session_header() {
        assert_eq!(session_id_header(&parts(&[])).unwrap(), None);
        assert_eq!(
            session_id_header(&parts(&[("mcp-session-id", "abc")])).unwrap(),
            Some("abc")
        );
        assert_eq!(
            session_id_header(&parts(&[("mcp-session-id", "a"), ("mcp-session-id", "b")]))
                .unwrap_err()
                .status,
            400
        );
    }

    proptest::proptest! {
        /// Any bytes a header value can hold, as `Mcp-Session-Id`, `MCP-Protocol-Version` and
        /// `Last-Event-ID`: never a panic; accepted exactly when well-formed (and then as sent,
        /// trimmed), otherwise 400/404 with -32600, or 400 with -32022 for an unknown version.
        #[test]
        fn fuzz_edge_headers(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            use mcp_rs_core::Era;
            let Ok(value) = HeaderValue::from_bytes(&raw) else {
                return Ok(());
            };
            let mut parts = parts(&[]);
            for name in [MCP_SESSION_ID, MCP_PROTOCOL_VERSION, LAST_EVENT_ID] {
                parts.headers.insert(name, value.clone());
            }
            let text = value.to_str().ok().map(str::trim);
            match session_id_header(&parts) {
                Ok(id) => {
                    let id = id.unwrap_or_default();
                    proptest::prop_assert_eq!(Some(id), text);
                    proptest::prop_assert!(!id.is_empty() && id.len() <= 256);
                    proptest::prop_assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
                }
                Err(e) => {
                    let want = if text.is_some() { 404 } else { 400 };
                    proptest::prop_assert_eq!(e.status.as_u16(), want);
                    proptest::prop_assert_eq!(e.error.code, -32600);
                }
            }
            let supported: Vec<ProtocolVersion> = ProtocolVersion::of_era(Era::Handshake).collect();
            match protocol_version_header(&parts, &supported) {
                Ok(v) => proptest::prop_assert_eq!(Some(v.as_str()), text),
                Err(e) => {
                    proptest::prop_assert_eq!(e.status.as_u16(), 400);
                    let want = if text.is_some() { -32022 } else { -32600 };
                    proptest::prop_assert_eq!(e.error.code, want);
                }
            }
            if let Some((stream, _)) = text.and_then(super::super::event_store::parse_event_id) {
                proptest::prop_assert!(!stream.is_empty());
            }
        }

        /// A known version, padded with spaces or tabs, is accepted as itself.
        #[test]
        fn fuzz_protocol_versions_accepted(i in 0usize..4, pad in "[ \t]{0,3}") {
            use mcp_rs_core::Era;
            let supported: Vec<ProtocolVersion> = ProtocolVersion::of_era(Era::Handshake).collect();
            let v = supported[i % supported.len()];
            let parts = parts(&[("mcp-protocol-version", &format!("{pad}{v}{pad}"))]);
            proptest::prop_assert_eq!(protocol_version_header(&parts, &supported).ok(), Some(v));
        }

        /// Event ids `<stream>-<seq>` round-trip for any stream id without surrounding spaces.
        #[test]
        fn fuzz_event_ids_round_trip(stream in "[!-~]{1,40}", seq in proptest::prelude::any::<u64>()) {
            let id = format!("{stream}-{seq}");
            let parsed = super::super::event_store::parse_event_id(&id);
            proptest::prop_assert_eq!(parsed, Some((stream.as_str(), seq)));
        }
    }
}
