//! Helpers shared by the authorization-server routes: RFC 6749 errors, redirects, request
//! parameters, random values, hashes and PKCE.

use crate::body::Body;
use crate::transport::http::challenge::json_error;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{CACHE_CONTROL, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::page::error_page;

/// An RFC 6749 §5.2 error answered as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) description: String,
    /// Answer `WWW-Authenticate: Basic` (the client tried HTTP Basic authentication).
    pub(crate) basic: bool,
    /// `Retry-After` seconds, for 429/503.
    pub(crate) retry_after: Option<u64>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        description: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
            basic: false,
            retry_after: None,
        }
    }

    pub(crate) fn bad(code: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad("invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad("invalid_grant", description)
    }

    pub(crate) fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        OAuthError {
            basic,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut res = json_error(self.status, self.code, &self.description);
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.basic {
            res.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\", charset=\"UTF-8\""),
            );
        }
        res
    }
}

/// Request parameters (query or form), each at most once (RFC 6749 §3.1, §3.2).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded`; `Err` names a repeated parameter.
    pub(crate) fn parse(input: &[u8]) -> Result<Self, String> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(input).into_owned().collect();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(k2, _)| k2 == k) {
                let k: String = k.chars().take(40).filter(char::is_ascii_graphic).collect();
                return Err(format!("parameter {k} is repeated"));
            }
        }
        Ok(Params(pairs))
    }

    /// A non-empty parameter.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("{key} is required")))
    }
}

/// `302 Found` to `location` with `Cache-Control: no-store`.
pub(crate) fn found(location: &str) -> Response<Body> {
    let Ok(value) = HeaderValue::from_str(location) else {
        return error_page("server_error", "The redirect address is not valid.");
    };
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::FOUND;
    res.headers_mut().insert(LOCATION, value);
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `redirect_uri` with `params` appended to its query (and `state` when given).
pub(crate) fn with_query(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> String {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    url.into()
}

/// `302` to the client's verified redirect URI with an RFC 6749 §4.1.2.1 error, the state and
/// our issuer (RFC 9207).
pub(crate) fn redirect_error(
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> Response<Body> {
    found(&with_query(
        redirect_uri,
        &[
            ("error", error),
            ("error_description", description),
            ("iss", issuer),
        ],
        state,
    ))
}

/// 32 random bytes, base64url: codes, tokens, transaction ids, client ids and secrets.
pub(crate) fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256, hex: the storage key of codes and refresh tokens, the stored form of secrets.
pub(crate) fn hash_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time string equality.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`. Challenges have the same alphabet
/// and, for S256, exactly 43 characters.
pub(crate) fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `v` looks like an S256 challenge (43 base64url characters).
pub(crate) fn valid_challenge(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The client's address as the owner key of stored entries and rate-limit buckets.
pub(crate) fn owner_of(ext: &http::Extensions) -> String {
    ext.get::<crate::transport::http::RemoteAddr>()
        .map_or_else(|| "unknown".to_owned(), |a| a.0.ip().to_string())
}

/// Whether `requested` (a redirect URI in a request) matches `registered` exactly, or — for
/// `http` loopback IP literals (RFC 8252 §7.3) — in everything but the port.
pub(crate) fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            }
    };
    loopback(&a)
        && loopback(&b)
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
        && b.fragment().is_none()
        && b.username().is_empty()
        && b.password().is_none()
}

/// The longest URI accepted in client metadata.
pub(crate) const MAX_URI: usize = 1024;

/// Checks one redirect URI (the rules of the `dcr` module docs: https, loopback http on any port, private-use schemes).
pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_URI {
        return Err("redirect URI too long".into());
    }
    let url = url::Url::parse(uri).map_err(|_| "redirect URI is not an absolute URI".to_owned())?;
    if url.fragment().is_some() {
        return Err("redirect URI must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("redirect URI must not contain user information".into());
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("http redirect URIs must use a loopback host".into()),
        },
        s if s.contains('.') => Ok(()),
        _ => Err("unsupported redirect URI scheme".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_of_the_rfc_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(valid_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!valid_verifier("short"));
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_challenge("abc"));
    }

    #[test]
    fn loopback_redirects_may_change_port_only() {
        let reg = "http://127.0.0.1:3334/callback";
        assert!(redirect_matches(reg, "http://127.0.0.1:50123/callback"));
        assert!(redirect_matches(reg, reg));
        assert!(!redirect_matches(reg, "http://127.0.0.1:3334/other"));
        assert!(!redirect_matches(reg, "http://localhost:3334/callback"));
        assert!(!redirect_matches(reg, "http://127.0.0.1:3334/callback?x=1"));
        let https = "https://app.example.com/cb";
        assert!(!redirect_matches(https, "https://app.example.com:8443/cb"));
        assert!(!redirect_matches(https, "https://app.example.com/cb/"));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse(b"a=1&b=2").is_ok());
        assert_eq!(
            Params::parse(b"a=1&a=2").unwrap_err(),
            "parameter a is repeated"
        );
        let p = Params::parse(b"a=&b=x").unwrap();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("x"));
    }
}
