//! [`IntrospectionValidator`]: opaque tokens checked at the authorization server (RFC 7662).
//!
//! The resource server authenticates to the introspection endpoint with HTTP Basic (its client
//! id and secret). Results are cached by token hash for a short time (default 30 s, never past
//! the token's `exp`), so a busy client does not cause one introspection call per request;
//! revocation therefore takes effect within that window. When the endpoint cannot be reached
//! the request gets 503 with `Retry-After`.

use super::util::{default_client, now_secs, token_hash};
use super::validator::{AuthorizationResult, TokenValidator};
use crate::identity::{OAuthContext, Scopes};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type CacheMap = HashMap<[u8; 32], (Option<OAuthContext>, Instant)>;

/// Validates tokens through an RFC 7662 introspection endpoint.
pub struct IntrospectionValidator {
    endpoint: String,
    client_id: String,
    client_secret: String,
    client: reqwest::Client,
    audiences: Vec<String>,
    issuer: Option<String>,
    cache_ttl: Duration,
    cache: Mutex<CacheMap>,
}

impl fmt::Debug for IntrospectionValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionValidator")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl IntrospectionValidator {
    /// Introspects at `endpoint`, authenticating as `client_id`/`client_secret`.
    #[must_use]
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        IntrospectionValidator {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            client: default_client(),
            audiences: Vec::new(),
            issuer: None,
            cache_ttl: Duration::from_secs(30),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Requires `aud` (when the response has one) to contain one of these.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Requires `iss` (when the response has one) to equal `issuer`.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// How long results are cached (default 30 s; zero disables).
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Uses `client` for introspection calls.
    #[must_use]
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    fn decide(&self, resp: &Map<String, Value>) -> Option<OAuthContext> {
        if resp.get("active").and_then(Value::as_bool) != Some(true) {
            return None;
        }
        let s = |k: &str| resp.get(k).and_then(Value::as_str).map(str::to_owned);
        let exp = resp.get("exp").and_then(Value::as_u64);
        if exp.is_some_and(|e| e <= now_secs()) {
            return None;
        }
        if let Some(iss) = &self.issuer {
            if s("iss").is_some_and(|i| &i != iss) {
                return None;
            }
        }
        if !self.audiences.is_empty() {
            let ok = match resp.get("aud") {
                Some(Value::String(a)) => self.audiences.contains(a),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|a| self.audiences.iter().any(|x| x == a)),
                _ => true,
            };
            if !ok {
                return None;
            }
        }
        let scopes = s("scope")
            .map(|sc| Scopes::from_space_separated(&sc))
            .unwrap_or_default();
        Some(OAuthContext {
            subject: s("sub").or_else(|| s("username")).unwrap_or_default(),
            scopes,
            client_id: s("client_id"),
            issuer: s("iss"),
            tenant: s("tid"),
            expires_at: exp,
            claims: resp.clone(),
            token: None,
        })
    }
}

#[async_trait]
impl TokenValidator for IntrospectionValidator {
    async fn validate(&self, token: &str) -> AuthorizationResult {
        if token.len() > 16 * 1024 {
            return AuthorizationResult::unauthorized("The access token is too large");
        }
        let hash = token_hash(token);
        let cached = self.cache.lock().ok().and_then(|c| c.get(&hash).cloned());
        let decision = match cached {
            Some((d, at)) if at.elapsed() < self.cache_ttl => d,
            _ => {
                let res = self
                    .client
                    .post(&self.endpoint)
                    .basic_auth(&self.client_id, Some(&self.client_secret))
                    .header(http::header::ACCEPT, "application/json")
                    .form(&[("token", token), ("token_type_hint", "access_token")])
                    .send()
                    .await;
                let body = match res {
                    Ok(r) if r.status().is_success() => r.json::<Map<String, Value>>().await.ok(),
                    _ => None,
                };
                let Some(body) = body else {
                    return AuthorizationResult::unavailable(
                        Duration::from_secs(5),
                        "The authorization server could not be reached",
                    );
                };
                let d = self.decide(&body);
                if !self.cache_ttl.is_zero() {
                    if let Ok(mut c) = self.cache.lock() {
                        if c.len() > 10_000 {
                            c.clear();
                        }
                        c.insert(hash, (d.clone(), Instant::now()));
                    }
                }
                d
            }
        };
        match decision {
            Some(ctx) if ctx.expires_at.is_none_or(|e| e > now_secs()) => {
                AuthorizationResult::Allow(ctx)
            }
            _ => AuthorizationResult::unauthorized("The access token is not active"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decisions() {
        let v = IntrospectionValidator::new("http://x", "rs", "secret").audience("mcp");
        let Value::Object(ok) = json!({"active": true, "sub": "a", "scope": "x y", "aud": ["mcp"], "exp": now_secs() + 60})
        else {
            unreachable!()
        };
        let ctx = v.decide(&ok).unwrap();
        assert_eq!(ctx.scopes.to_space_separated(), "x y");
        let Value::Object(other) = json!({"active": true, "sub": "a", "aud": "other"}) else {
            unreachable!()
        };
        assert!(v.decide(&other).is_none());
        let Value::Object(inactive) = json!({"active": false}) else {
            unreachable!()
        };
        assert!(v.decide(&inactive).is_none());
        assert!(!format!("{v:?}").contains("secret\""));
    }
}
