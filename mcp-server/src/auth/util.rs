//! Small helpers shared by the auth modules.

use crate::body::Body;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// SHA-256 of a token: the key of verified-token caches, so tokens are never stored.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The HTTP client used for IdP calls: bounded timeouts, no redirects to other hosts.
pub(crate) fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Reads a request body up to `limit` bytes.
pub(crate) async fn read_limited<B>(body: B, limit: usize) -> Option<Bytes>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<crate::body::BoxError>,
{
    Limited::new(body, limit)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

/// A JSON response with `Cache-Control`.
pub(crate) fn json_response(
    status: StatusCode,
    value: &serde_json::Value,
    cache_control: &'static str,
) -> Response<Body> {
    let mut res = Response::new(Body::json(value));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    res
}

/// Parses `max-age` out of a `Cache-Control` value (`no-store`/`no-cache` give zero).
pub(crate) fn cache_control_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let d = directive.trim();
        let lower = d.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// Trims one trailing `/` for issuer comparisons.
pub(crate) fn normalize_issuer(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing() {
        assert_eq!(
            cache_control_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(cache_control_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(cache_control_max_age("public"), None);
        assert_eq!(normalize_issuer("https://a/"), "https://a");
    }
}
