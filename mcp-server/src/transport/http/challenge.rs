//! `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9728 §5.1) and the JSON error
//! responses that carry them: the one builder of these headers in the crate, used by the
//! authorization layers (feature `auth`, which re-exports the public items as
//! `mcp_rs_server::auth::…`) and by the transport's 403 answer to a per-tool scope denial.
//!
//! Every parameter value is emitted as an RFC 7230 `quoted-string`: `"` and `\` are
//! backslash-escaped, and characters RFC 6750 does not allow in these values (controls,
//! non-ASCII) are replaced by `?`, so a header value can always be built.

// Without the `auth` feature only `forbidden_response` is used and nothing is re-exported.
#![cfg_attr(not(feature = "auth"), allow(dead_code, unreachable_pub))]

use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::body::Body;
use crate::scope::ScopeRequirement;

/// The `error` codes of RFC 6750 §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerError {
    /// `invalid_request`: the request is malformed (400).
    InvalidRequest,
    /// `invalid_token`: the token is expired, revoked, malformed or invalid (401).
    InvalidToken,
    /// `insufficient_scope`: the token lacks scopes the request needs (403).
    InsufficientScope,
}

impl BearerError {
    /// The RFC 6750 error code.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }

    /// The HTTP status RFC 6750 assigns to the error.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            BearerError::InvalidRequest => StatusCode::BAD_REQUEST,
            BearerError::InvalidToken => StatusCode::UNAUTHORIZED,
            BearerError::InsufficientScope => StatusCode::FORBIDDEN,
        }
    }
}

/// The `error_description` of every `insufficient_scope` answer.
const INSUFFICIENT_SCOPE: &str = "The access token lacks a required scope";

/// Appends `value` as a quoted-string, escaping `"` and `\` and replacing characters outside
/// printable ASCII.
fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

/// Builds a `WWW-Authenticate` value for the Bearer scheme.
///
/// Parameters appear in this order, each only when given: `error`, `error_description`,
/// `resource_metadata`, `scope` (the scopes joined by spaces).
///
/// # Example
/// ```
/// # #[cfg(feature = "auth")] {
/// use mcp_rs_server::auth::{challenge_for, BearerError};
/// let v = challenge_for(
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp",
///     Some(BearerError::InsufficientScope),
///     Some("needs \"write\""),
///     &["mcp:write".to_owned()],
/// );
/// assert_eq!(
///     v,
///     r#"Bearer error="insufficient_scope", error_description="needs \"write\"", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:write""#
/// );
/// # }
/// ```
#[must_use]
pub fn challenge_for(
    resource_metadata_url: &str,
    error: Option<BearerError>,
    description: Option<&str>,
    scopes: &[String],
) -> String {
    let mut out = String::from("Bearer ");
    let mut first = true;
    let mut param = |out: &mut String, name: &str, value: &str| {
        if !first {
            out.push_str(", ");
        }
        first = false;
        let _ = write!(out, "{name}=");
        push_quoted(out, value);
    };
    if let Some(error) = error {
        param(&mut out, "error", error.as_str());
    }
    if let Some(description) = description {
        param(&mut out, "error_description", description);
    }
    if !resource_metadata_url.is_empty() {
        param(&mut out, "resource_metadata", resource_metadata_url);
    }
    if !scopes.is_empty() {
        param(&mut out, "scope", &scopes.join(" "));
    }
    if first {
        // No parameter at all: a bare scheme.
        out.truncate("Bearer".len());
    }
    out
}

/// A JSON error response: `{"error": …, "error_description": …}` with `Cache-Control: no-store`.
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    let body = json!({ "error": error, "error_description": description });
    let mut res = Response::new(Body::json(&body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn with_challenge(mut res: Response<Body>, challenge: &str) -> Response<Body> {
    // `push_quoted` only emits visible ASCII, so this cannot fail; fall back to a bare scheme.
    let value = HeaderValue::from_str(challenge).unwrap_or(HeaderValue::from_static("Bearer"));
    res.headers_mut().insert(WWW_AUTHENTICATE, value);
    res
}

/// The 403 answer for a caller whose token lacks `required` scopes: `error="insufficient_scope"`,
/// `scope="<required>"` and `resource_metadata`, so the client can step up.
///
/// # Example
/// ```
/// # #[cfg(feature = "auth")] {
/// use mcp_rs_server::auth::insufficient_scope_response;
/// let res = insufficient_scope_response(
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp",
///     &["mcp:write".to_owned()],
/// );
/// assert_eq!(res.status(), 403);
/// assert_eq!(
///     res.headers()["www-authenticate"],
///     r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:write""#
/// );
/// # }
/// ```
#[must_use]
pub fn insufficient_scope_response(
    resource_metadata_url: &str,
    required: &[String],
) -> Response<Body> {
    error_response(
        resource_metadata_url,
        BearerError::InsufficientScope,
        INSUFFICIENT_SCOPE,
        required,
    )
}

/// A challenge response for `error`: the status RFC 6750 assigns, the `WWW-Authenticate` header
/// and a JSON body with `error` and `error_description`.
#[must_use]
pub fn error_response(
    resource_metadata_url: &str,
    error: BearerError,
    description: &str,
    scopes: &[String],
) -> Response<Body> {
    let challenge = challenge_for(
        resource_metadata_url,
        Some(error),
        Some(description),
        scopes,
    );
    with_challenge(
        json_error(error.status(), error.as_str(), description),
        &challenge,
    )
}

/// The 401 answer to a request without credentials: no `error` code (RFC 6750 §3.1), only
/// `resource_metadata` and the `scope` hint.
#[must_use]
pub fn missing_token_response(resource_metadata_url: &str, scopes: &[String]) -> Response<Body> {
    let challenge = challenge_for(resource_metadata_url, None, None, scopes);
    with_challenge(
        json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A bearer access token is required",
        ),
        &challenge,
    )
}

/// The 503 answer when no verification key can be obtained: `Retry-After` in whole seconds.
#[must_use]
pub fn unavailable_response(retry_after: Duration, description: &str) -> Response<Body> {
    let mut res = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        description,
    );
    let secs = retry_after.as_secs().max(1);
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// What the HTTP transport needs to challenge a caller after the authorization layer let the
/// request through (a per-tool scope failure): the public URL of the protected-resource
/// metadata. The `AuthorizationLayer` inserts a `ChallengeInfo` into
/// the extensions of every request it forwards; read it with
/// `req.extensions().get::<ChallengeInfo>()`.
///
/// The URL comes from configuration (the public resource URL), never from the `Host` header.
#[derive(Debug, Clone)]
pub struct ChallengeInfo {
    inner: Arc<ChallengeInner>,
}

#[derive(Debug)]
struct ChallengeInner {
    resource_metadata_url: String,
    default_scopes: Vec<String>,
}

impl ChallengeInfo {
    /// A challenge pointing at `resource_metadata_url`.
    #[must_use]
    pub fn new(resource_metadata_url: impl Into<String>) -> Self {
        ChallengeInfo {
            inner: Arc::new(ChallengeInner {
                resource_metadata_url: resource_metadata_url.into(),
                default_scopes: Vec::new(),
            }),
        }
    }

    /// Sets the scopes advertised in the `scope` parameter of 401 challenges.
    #[must_use]
    pub fn with_default_scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ChallengeInfo {
            inner: Arc::new(ChallengeInner {
                resource_metadata_url: self.inner.resource_metadata_url.clone(),
                default_scopes: scopes.into_iter().map(Into::into).collect(),
            }),
        }
    }

    /// The public URL of the protected-resource metadata document.
    #[must_use]
    pub fn resource_metadata_url(&self) -> &str {
        &self.inner.resource_metadata_url
    }

    /// The scopes advertised in 401 challenges.
    #[must_use]
    pub fn default_scopes(&self) -> &[String] {
        &self.inner.default_scopes
    }

    /// The 403 `insufficient_scope` response naming `required`.
    #[must_use]
    pub fn insufficient_scope(&self, required: &[String]) -> Response<Body> {
        insufficient_scope_response(self.resource_metadata_url(), required)
    }

    /// The 401 response for a request without a token.
    #[must_use]
    pub fn missing_token(&self) -> Response<Body> {
        missing_token_response(self.resource_metadata_url(), self.default_scopes())
    }

    /// The 401 `invalid_token` response.
    #[must_use]
    pub fn invalid_token(&self, description: &str) -> Response<Body> {
        error_response(
            self.resource_metadata_url(),
            BearerError::InvalidToken,
            description,
            self.default_scopes(),
        )
    }

    /// The 400 `invalid_request` response.
    #[must_use]
    pub fn invalid_request(&self, description: &str) -> Response<Body> {
        error_response(
            self.resource_metadata_url(),
            BearerError::InvalidRequest,
            description,
            &[],
        )
    }
}

/// The transport's 403 answer to a per-tool scope denial: the request's [`ChallengeInfo`]
/// (put there by the authorization layer) answers with `resource_metadata` and
/// `error_description`; without one, a bare `Bearer error="insufficient_scope"` challenge
/// naming the required scopes, with the same JSON body.
pub(crate) fn forbidden_response(parts: &Parts, required: &ScopeRequirement) -> Response<Body> {
    if let Some(info) = parts.extensions.get::<ChallengeInfo>() {
        return info.insufficient_scope(&required.scopes);
    }
    let error = BearerError::InsufficientScope;
    let challenge = challenge_for("", Some(error), None, &required.scopes);
    let body = json!({
        "error": error.as_str(),
        "error_description": INSUFFICIENT_SCOPE,
    });
    let mut res = Response::new(Body::json(&body));
    *res.status_mut() = error.status();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    with_challenge(res, &challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRM: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

    #[test]
    fn missing_token_challenge_has_no_error() {
        assert_eq!(
            challenge_for(PRM, None, None, &["a".into(), "b".into()]),
            format!(r#"Bearer resource_metadata="{PRM}", scope="a b""#)
        );
        assert_eq!(challenge_for("", None, None, &[]), "Bearer");
    }

    #[test]
    fn values_are_escaped() {
        let v = challenge_for(
            PRM,
            Some(BearerError::InvalidToken),
            Some("bad \\ \"x\"\r\né"),
            &[],
        );
        assert_eq!(
            v,
            format!(
                r#"Bearer error="invalid_token", error_description="bad \\ \"x\"???", resource_metadata="{PRM}""#
            )
        );
        assert!(HeaderValue::from_str(&v).is_ok());
    }

    #[test]
    fn unavailable_has_retry_after() {
        let res = unavailable_response(Duration::from_millis(10), "down");
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[RETRY_AFTER], "1");
    }

    fn scope_parts(info: Option<ChallengeInfo>) -> Parts {
        let mut parts = http::Request::new(()).into_parts().0;
        if let Some(info) = info {
            parts.extensions.insert(info);
        }
        parts
    }

    #[test]
    fn forbidden_without_challenge_info_is_bare() {
        let required = ScopeRequirement::all(["mcp:write", "a\"b"]);
        let res = forbidden_response(&scope_parts(None), &required);
        assert_eq!(res.status(), 403);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", scope="mcp:write a\"b""#
        );
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        assert!(res.headers().get(CACHE_CONTROL).is_none());
        let res = forbidden_response(
            &scope_parts(None),
            &ScopeRequirement::all(Vec::<String>::new()),
        );
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope""#
        );
    }

    #[test]
    fn forbidden_with_challenge_info_points_at_metadata() {
        let required = ScopeRequirement::all(["mcp:write"]);
        let res = forbidden_response(&scope_parts(Some(ChallengeInfo::new(PRM))), &required);
        assert_eq!(res.status(), 403);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            format!(
                r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{PRM}", scope="mcp:write""#
            )
        );
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    }

    /// Reads back the parameters of a `Bearer k="v", …` value.
    fn parse_params(value: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = value.strip_prefix("Bearer").unwrap().trim_start();
        while !rest.is_empty() {
            let (name, tail) = rest.split_once("=\"").unwrap();
            let mut v = String::new();
            let mut chars = tail.char_indices();
            let end = loop {
                match chars.next().unwrap() {
                    (_, '\\') => v.push(chars.next().unwrap().1),
                    (i, '"') => break i,
                    (_, c) => v.push(c),
                }
            };
            out.push((name.to_owned(), v));
            rest = tail[end + 1..].trim_start_matches(", ");
        }
        out
    }

    fn printable(s: &str) -> String {
        s.chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
            .collect()
    }

    proptest::proptest! {
        /// Any URL, description and scopes give a valid header value whose parameters read
        /// back as given (characters outside printable ASCII as `?`), in the documented order.
        #[test]
        fn fuzz_www_authenticate(
            url in ".{0,60}",
            description in proptest::option::of(".{0,60}"),
            scopes in proptest::collection::vec("[!-~]{1,12}", 0..4),
            error in proptest::option::of(0usize..3),
        ) {
            let error = error.map(|i| {
                [BearerError::InvalidToken, BearerError::InvalidRequest, BearerError::InsufficientScope][i]
            });
            let v = challenge_for(&url, error, description.as_deref(), &scopes);
            proptest::prop_assert!(HeaderValue::from_str(&v).is_ok(), "{v:?}");
            let mut want = Vec::new();
            if let Some(e) = error {
                want.push(("error".to_owned(), e.as_str().to_owned()));
            }
            if let Some(d) = &description {
                want.push(("error_description".to_owned(), printable(d)));
            }
            if !url.is_empty() {
                want.push(("resource_metadata".to_owned(), printable(&url)));
            }
            if !scopes.is_empty() {
                want.push(("scope".to_owned(), scopes.join(" ")));
            }
            proptest::prop_assert_eq!(parse_params(&v), want);
        }
    }
}
