//! [`JwksProvider`]: the verification keys of an issuer, fetched from its JWKS endpoint.

use super::discovery::OidcDiscovery;
use super::util::{cache_control_max_age, default_client};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why no key could be returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No key in the set has this `kid` (and no refresh is allowed now or it did not help).
    #[error("no verification key matches the token's key id")]
    UnknownKey,
    /// A key has the `kid` but declares another algorithm, or is of another family.
    #[error("the verification key does not match the token's algorithm")]
    AlgorithmMismatch,
    /// No key set could be obtained; retry after the given delay.
    #[error("no verification key set is available; retry in {retry_after:?}")]
    Unavailable {
        /// Suggested delay.
        retry_after: Duration,
    },
}

struct StoredKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

enum Source {
    Url(String),
    Discover {
        issuer: String,
        discovery: OidcDiscovery,
        resolved: Mutex<Option<String>>,
    },
}

struct State {
    keys: Option<Arc<Vec<StoredKey>>>,
    expires_at: Option<Instant>,
    last_attempt: Option<Instant>,
    generation: u64,
}

struct Inner {
    source: Source,
    client: reqwest::Client,
    default_ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    min_refresh_interval: Duration,
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
}

/// Verification keys from a JWKS endpoint. Cheap to clone; clones share the cache.
///
/// - Cached for the `Cache-Control: max-age` of the response (clamped to
///   [`min_ttl`](JwksProvider::min_ttl)..=[`max_ttl`](JwksProvider::max_ttl); ten minutes
///   without the header).
/// - A token with an unknown `kid` triggers one refresh, shared by all concurrent requests
///   (single flight) and at most once per [`min_refresh_interval`](JwksProvider::min_refresh_interval),
///   so random kids cannot make the server hammer the IdP. Key rotation is picked up this way.
/// - While the IdP is down the last good key set keeps being used; when no key set was ever
///   obtained the lookup reports [`KeyError::Unavailable`] (the layer answers 503 with
///   `Retry-After`).
#[derive(Clone)]
pub struct JwksProvider {
    inner: Arc<Inner>,
}

impl fmt::Debug for JwksProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match &self.inner.source {
            Source::Url(u) => u.clone(),
            Source::Discover { issuer, .. } => format!("<discovered from {issuer}>"),
        };
        f.debug_struct("JwksProvider")
            .field("url", &url)
            .field("min_refresh_interval", &self.inner.min_refresh_interval)
            .finish_non_exhaustive()
    }
}

impl JwksProvider {
    /// Keys from the JWKS at `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self::from_source(Source::Url(url.into()))
    }

    /// Keys from the `jwks_uri` discovered for `issuer` (resolved on first use).
    #[must_use]
    pub fn discovered(issuer: impl Into<String>, discovery: OidcDiscovery) -> Self {
        Self::from_source(Source::Discover {
            issuer: issuer.into(),
            discovery,
            resolved: Mutex::new(None),
        })
    }

    fn from_source(source: Source) -> Self {
        JwksProvider {
            inner: Arc::new(Inner {
                source,
                client: default_client(),
                default_ttl: Duration::from_secs(600),
                min_ttl: Duration::from_secs(30),
                max_ttl: Duration::from_secs(86_400),
                min_refresh_interval: Duration::from_secs(30),
                state: Mutex::new(State {
                    keys: None,
                    expires_at: None,
                    last_attempt: None,
                    generation: 0,
                }),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn map(self, f: impl FnOnce(&mut Inner)) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                f(&mut inner);
                JwksProvider {
                    inner: Arc::new(inner),
                }
            }
            // Already shared: configuration must happen before cloning.
            Err(inner) => JwksProvider { inner },
        }
    }

    /// Uses `client` for fetches (configure it with timeouts).
    #[must_use]
    pub fn with_client(self, client: reqwest::Client) -> Self {
        self.map(|i| i.client = client)
    }

    /// Cache lifetime without `Cache-Control: max-age`. Defaults to 10 minutes.
    #[must_use]
    pub fn default_ttl(self, ttl: Duration) -> Self {
        self.map(|i| i.default_ttl = ttl)
    }

    /// Lower bound of the cache lifetime (applies to `max-age=0`/`no-store`). Defaults to 30 s.
    #[must_use]
    pub fn min_ttl(self, ttl: Duration) -> Self {
        self.map(|i| i.min_ttl = ttl)
    }

    /// Upper bound of the cache lifetime. Defaults to 24 hours.
    #[must_use]
    pub fn max_ttl(self, ttl: Duration) -> Self {
        self.map(|i| i.max_ttl = ttl)
    }

    /// Minimum delay between two fetches (unknown `kid`, expiry or failure). Defaults to 30 s.
    /// Lower it only for tests: it is what keeps random `kid`s from hammering the IdP.
    #[must_use]
    pub fn min_refresh_interval(self, interval: Duration) -> Self {
        self.map(|i| i.min_refresh_interval = interval)
    }

    /// The number of keys currently cached.
    #[must_use]
    pub fn cached_key_count(&self) -> usize {
        self.inner
            .state
            .lock()
            .ok()
            .and_then(|s| s.keys.as_ref().map(|k| k.len()))
            .unwrap_or(0)
    }

    fn snapshot(&self) -> (Option<Arc<Vec<StoredKey>>>, bool, u64, bool) {
        let Ok(s) = self.inner.state.lock() else {
            return (None, false, 0, false);
        };
        let now = Instant::now();
        let fresh = s.expires_at.is_some_and(|e| now < e);
        let may_refresh = s
            .last_attempt
            .is_none_or(|t| now.duration_since(t) >= self.inner.min_refresh_interval);
        (s.keys.clone(), fresh, s.generation, may_refresh)
    }

    /// The key for a token with header `kid` and `alg`.
    ///
    /// # Errors
    /// See [`KeyError`].
    pub async fn decoding_key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, KeyError> {
        let (keys, fresh, generation, may_refresh) = self.snapshot();
        let mut refreshed = false;
        if (keys.is_none() || !fresh) && may_refresh {
            self.refresh(generation).await;
            refreshed = true;
        }
        let (keys, _, generation, may_refresh) = self.snapshot();
        let Some(keys) = keys else {
            return Err(KeyError::Unavailable {
                retry_after: self.inner.min_refresh_interval.max(Duration::from_secs(1)),
            });
        };
        match find(&keys, kid, alg) {
            Err(KeyError::UnknownKey) if !refreshed && may_refresh => {}
            other => return other,
        }
        self.refresh(generation).await;
        let (keys, ..) = self.snapshot();
        match keys {
            Some(keys) => find(&keys, kid, alg),
            None => Err(KeyError::UnknownKey),
        }
    }

    /// Refreshes unless another task refreshed since `seen_generation` (single flight).
    async fn refresh(&self, seen_generation: u64) {
        let _guard = self.inner.refresh.lock().await;
        if self
            .inner
            .state
            .lock()
            .map(|s| s.generation != seen_generation)
            .unwrap_or(true)
        {
            return;
        }
        let result = self.fetch().await;
        let Ok(mut s) = self.inner.state.lock() else {
            return;
        };
        let now = Instant::now();
        s.last_attempt = Some(now);
        s.generation += 1;
        match result {
            Ok((keys, ttl)) => {
                tracing::debug!(target: "mcp_rs_server::auth", keys = keys.len(), "JWKS refreshed");
                s.keys = Some(Arc::new(keys));
                s.expires_at = Some(now + ttl);
            }
            Err(why) => {
                tracing::warn!(target: "mcp_rs_server::auth", reason = why, "JWKS fetch failed; keeping the last good key set");
            }
        }
    }

    async fn url(&self) -> Result<String, &'static str> {
        match &self.inner.source {
            Source::Url(u) => Ok(u.clone()),
            Source::Discover {
                issuer,
                discovery,
                resolved,
            } => {
                if let Some(u) = resolved.lock().ok().and_then(|r| r.clone()) {
                    return Ok(u);
                }
                let meta = discovery
                    .discover(issuer)
                    .await
                    .map_err(|_| "discovery failed")?;
                let url = meta
                    .jwks_uri
                    .clone()
                    .ok_or("discovered metadata has no jwks_uri")?;
                if let Ok(mut r) = resolved.lock() {
                    *r = Some(url.clone());
                }
                Ok(url)
            }
        }
    }

    async fn fetch(&self) -> Result<(Vec<StoredKey>, Duration), &'static str> {
        let url = self.url().await?;
        let res = self
            .inner
            .client
            .get(&url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| "request failed")?;
        if !res.status().is_success() {
            return Err("non-success status");
        }
        let ttl = res
            .headers()
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_control_max_age)
            .unwrap_or(self.inner.default_ttl)
            .clamp(
                self.inner.min_ttl,
                self.inner.max_ttl.max(self.inner.min_ttl),
            );
        let bytes = res.bytes().await.map_err(|_| "body read failed")?;
        if bytes.len() > 1 << 20 {
            return Err("JWKS too large");
        }
        let keys = parse_jwks(&bytes)?;
        Ok((keys, ttl))
    }
}

fn parse_jwks(bytes: &[u8]) -> Result<Vec<StoredKey>, &'static str> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|_| "JWKS is not JSON")?;
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("JWKS has no keys array")?;
    let mut keys = Vec::new();
    for raw in list {
        if raw
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            continue;
        }
        // Symmetric keys never come from a public JWKS.
        if raw.get("kty").and_then(Value::as_str) == Some("oct") {
            continue;
        }
        let alg = match raw.get("alg").and_then(Value::as_str) {
            Some(a) => match Algorithm::from_str(a) {
                Ok(a) => Some(a),
                Err(_) => continue,
            },
            None => None,
        };
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let kid = raw.get("kid").and_then(Value::as_str).map(str::to_owned);
        keys.push(StoredKey { kid, alg, key });
    }
    if keys.is_empty() {
        return Err("JWKS has no usable signing key");
    }
    Ok(keys)
}

/// The key family an algorithm needs.
pub(crate) fn alg_family(alg: Algorithm) -> AlgorithmFamily {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => AlgorithmFamily::Rsa,
    }
}

fn find(keys: &[StoredKey], kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, KeyError> {
    let candidate = match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        // No kid: only unambiguous when exactly one key can verify this algorithm.
        None => {
            let mut it = keys.iter().filter(|k| k.key.family() == alg_family(alg));
            match (it.next(), it.next()) {
                (Some(k), None) => Some(k),
                _ => None,
            }
        }
    };
    let Some(k) = candidate else {
        return Err(KeyError::UnknownKey);
    };
    if k.alg.is_some_and(|a| a != alg) || k.key.family() != alg_family(alg) {
        return Err(KeyError::AlgorithmMismatch);
    }
    Ok(k.key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_display() {
        assert_eq!(
            KeyError::UnknownKey.to_string(),
            "no verification key matches the token's key id"
        );
        assert_eq!(
            KeyError::AlgorithmMismatch.to_string(),
            "the verification key does not match the token's algorithm"
        );
        let e: Box<dyn std::error::Error> = Box::new(KeyError::Unavailable {
            retry_after: Duration::from_secs(5),
        });
        assert_eq!(
            e.to_string(),
            "no verification key set is available; retry in 5s"
        );
    }

    #[test]
    fn parse_skips_unusable_keys() {
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
            {"kty": "RSA", "use": "enc", "kid": "e", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "x", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "alg": "ES256",
             "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
             "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}
        ]});
        let keys = parse_jwks(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("ec"));
        assert!(find(&keys, Some("ec"), Algorithm::ES256).is_ok());
        assert_eq!(
            find(&keys, Some("ec"), Algorithm::ES384).err(),
            Some(KeyError::AlgorithmMismatch)
        );
        assert_eq!(
            find(&keys, Some("ec"), Algorithm::HS256).err(),
            Some(KeyError::AlgorithmMismatch)
        );
        assert_eq!(
            find(&keys, Some("zz"), Algorithm::ES256).err(),
            Some(KeyError::UnknownKey)
        );
        assert!(find(&keys, None, Algorithm::ES256).is_ok());
        assert!(parse_jwks(b"{\"keys\": []}").is_err());
    }
}
