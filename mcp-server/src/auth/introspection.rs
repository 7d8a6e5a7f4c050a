//! [`IntrospectionValidator`]: opaque tokens checked at the authorization server (RFC 7662).
//!
//! The resource server authenticates to the introspection endpoint with HTTP Basic (its client
//! id and secret). Results are cached by token hash for a short time (default 30 s, never past
//! the token's `exp`), so a busy client does not cause one introspection call per request;
//! revocation therefore takes effect within that window. Rejected tokens are cached too
//! (default 30 s), in a separate bounded LRU cache; calls to the endpoint are limited in
//! concurrency (16) and rate (50 per second). When the endpoint cannot be reached the request
//! gets 503 with `Retry-After: 5`, when the call budget is spent 503 with `Retry-After: 1`.

use super::util::{default_client, now_secs, token_hash};
use super::validator::{AuthorizationResult, TokenValidator};
use crate::identity::{OAuthContext, Scopes};
use async_trait::async_trait;
use lru::LruCache;
use serde_json::{Map, Value};
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Default number of cached introspection results (valid and rejected tokens each).
pub const DEFAULT_INTROSPECTION_CACHE_ENTRIES: usize = 10_000;
/// Default time a rejected token stays rejected without asking the IdP again.
pub const DEFAULT_NEGATIVE_CACHE_TTL: Duration = Duration::from_secs(30);
/// Default number of introspection calls in flight at once.
pub const DEFAULT_MAX_CONCURRENT_INTROSPECTIONS: usize = 16;
/// Default number of introspection calls per second (also the burst size).
pub const DEFAULT_MAX_INTROSPECTIONS_PER_SECOND: u32 = 50;
/// How long a request waits for a free introspection slot before it gets 503.
const SLOT_WAIT: Duration = Duration::from_secs(1);
/// `Retry-After` when the introspection budget is spent.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Valid tokens and rejected tokens are cached apart, so a flood of bogus tokens cannot push
/// the valid ones out.
struct Caches {
    valid: LruCache<[u8; 32], (OAuthContext, Instant)>,
    rejected: LruCache<[u8; 32], Instant>,
}

/// A token bucket: `per_second` calls, bursts up to `per_second`.
struct Bucket {
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Bucket {
            per_second,
            tokens: per_second,
            last: Instant::now(),
        }
    }

    /// Takes one call, or says how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

/// Validates tokens through an RFC 7662 introspection endpoint.
///
/// Bounded against a client that sends many distinct tokens: results go into two LRU caches
/// (valid and rejected tokens, [`DEFAULT_INTROSPECTION_CACHE_ENTRIES`] each; the least
/// recently used entry goes, never the whole cache), a rejected token is answered from the
/// cache for [`negative_cache_ttl`](Self::negative_cache_ttl), and calls to the endpoint are
/// limited in concurrency and rate. Past those limits a request gets `503` with
/// `Retry-After: 1`.
pub struct IntrospectionValidator {
    endpoint: String,
    client_id: String,
    client_secret: String,
    client: reqwest::Client,
    audiences: Vec<String>,
    issuer: Option<String>,
    cache_ttl: Duration,
    negative_ttl: Duration,
    cache: Mutex<Caches>,
    slots: Semaphore,
    bucket: Mutex<Bucket>,
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

fn nonzero(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

impl IntrospectionValidator {
    /// Introspects at `endpoint`, authenticating as `client_id`/`client_secret`.
    #[must_use]
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let entries = nonzero(DEFAULT_INTROSPECTION_CACHE_ENTRIES);
        IntrospectionValidator {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            client: default_client(),
            audiences: Vec::new(),
            issuer: None,
            cache_ttl: Duration::from_secs(30),
            negative_ttl: DEFAULT_NEGATIVE_CACHE_TTL,
            cache: Mutex::new(Caches {
                valid: LruCache::new(entries),
                rejected: LruCache::new(entries),
            }),
            slots: Semaphore::new(DEFAULT_MAX_CONCURRENT_INTROSPECTIONS),
            bucket: Mutex::new(Bucket::new(DEFAULT_MAX_INTROSPECTIONS_PER_SECOND)),
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

    /// How long results for valid tokens are cached (default 30 s, never past the token's
    /// `exp`; zero disables).
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long a rejected token is answered from the cache (default 30 s; zero disables).
    #[must_use]
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Entries of each cache, valid and rejected tokens (default 10,000; at least 1).
    #[must_use]
    pub fn cache_capacity(self, entries: usize) -> Self {
        let entries = nonzero(entries);
        if let Ok(mut c) = self.cache.lock() {
            c.valid.resize(entries);
            c.rejected.resize(entries);
        }
        self
    }

    /// Introspection calls in flight at once (default 16; at least 1). A request that finds
    /// none free within a second gets 503.
    #[must_use]
    pub fn max_concurrent_calls(mut self, n: usize) -> Self {
        self.slots = Semaphore::new(n.max(1));
        self
    }

    /// Introspection calls per second, also the burst size (default 50; at least 1).
    #[must_use]
    pub fn max_calls_per_second(mut self, n: u32) -> Self {
        self.bucket = Mutex::new(Bucket::new(n));
        self
    }

    /// Uses `client` for introspection calls.
    #[must_use]
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// The cached answer for `hash`: `Some(Some(ctx))` valid, `Some(None)` rejected.
    fn cached(&self, hash: &[u8; 32], now: Instant) -> Option<Option<OAuthContext>> {
        let mut c = self.cache.lock().ok()?;
        if let Some((ctx, at)) = c.valid.get(hash) {
            if now.saturating_duration_since(*at) < self.cache_ttl {
                return Some(Some(ctx.clone()));
            }
            c.valid.pop(hash);
        }
        if let Some(at) = c.rejected.get(hash) {
            if now.saturating_duration_since(*at) < self.negative_ttl {
                return Some(None);
            }
            c.rejected.pop(hash);
        }
        None
    }

    fn remember(&self, hash: [u8; 32], decision: Option<&OAuthContext>) {
        let Ok(mut c) = self.cache.lock() else {
            return;
        };
        let now = Instant::now();
        match decision {
            Some(ctx) if !self.cache_ttl.is_zero() => {
                c.valid.put(hash, (ctx.clone(), now));
            }
            None if !self.negative_ttl.is_zero() => {
                c.rejected.put(hash, now);
            }
            _ => {}
        }
    }

    /// Asks the endpoint, within the concurrency and rate limits.
    async fn introspect(
        &self,
        token: &str,
        hash: [u8; 32],
    ) -> Result<Option<OAuthContext>, AuthorizationResult> {
        let busy = || {
            AuthorizationResult::unavailable(
                BUSY_RETRY_AFTER,
                "The authorization server is busy, retry later",
            )
        };
        let Ok(Ok(_slot)) = tokio::time::timeout(SLOT_WAIT, self.slots.acquire()).await else {
            return Err(busy());
        };
        // Another request may have introspected this token while this one waited.
        if let Some(d) = self.cached(&hash, Instant::now()) {
            return Ok(d);
        }
        let allowed = self
            .bucket
            .lock()
            .map_or(Ok(()), |mut b| b.take(Instant::now()));
        if allowed.is_err() {
            return Err(busy());
        }
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
            return Err(AuthorizationResult::unavailable(
                Duration::from_secs(5),
                "The authorization server could not be reached",
            ));
        };
        let d = self.decide(&body);
        self.remember(hash, d.as_ref());
        Ok(d)
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
        let decision = match self.cached(&hash, Instant::now()) {
            Some(d) => d,
            None => match self.introspect(token, hash).await {
                Ok(d) => d,
                Err(answer) => return answer,
            },
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

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An introspection endpoint on 127.0.0.1: tokens starting with `good` are active;
    /// every call is counted; each answer takes `delay`.
    async fn idp(delay: Duration) -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/introspect",
            axum::routing::post(move |body: String| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let active = body.contains("token=good");
                    axum::Json(json!({"active": active, "sub": "u", "exp": now_secs() + 600}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/introspect"), calls)
    }

    fn is_allowed(r: &AuthorizationResult) -> bool {
        matches!(r, AuthorizationResult::Allow(_))
    }

    fn retry_after(r: &AuthorizationResult) -> Option<Duration> {
        match r {
            AuthorizationResult::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    #[tokio::test]
    async fn rejected_tokens_are_cached() {
        let (url, calls) = idp(Duration::ZERO).await;
        let v = IntrospectionValidator::new(url, "rs", "secret");
        for _ in 0..5 {
            let r = v.validate("bogus").await;
            assert!(matches!(r, AuthorizationResult::Unauthorized { .. }));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Without a negative cache every attempt asks again.
        let (url, calls) = idp(Duration::ZERO).await;
        let v = IntrospectionValidator::new(url, "rs", "secret").negative_cache_ttl(Duration::ZERO);
        for _ in 0..3 {
            v.validate("bogus").await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_cache_is_lru_bounded_and_bogus_tokens_do_not_evict_valid_ones() {
        let (url, calls) = idp(Duration::ZERO).await;
        let v = IntrospectionValidator::new(url, "rs", "secret").cache_capacity(2);
        for t in ["good-a", "good-b"] {
            assert!(is_allowed(&v.validate(t).await));
        }
        // A flood of bogus tokens fills only the rejected-token cache.
        for i in 0..10 {
            v.validate(&format!("bogus-{i}")).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 12);
        assert!(is_allowed(&v.validate("good-a").await));
        assert!(is_allowed(&v.validate("good-b").await));
        assert_eq!(calls.load(Ordering::SeqCst), 12, "both still cached");
        // A third valid token evicts the least recently used one (good-a), not everything.
        assert!(is_allowed(&v.validate("good-c").await));
        assert!(is_allowed(&v.validate("good-b").await));
        assert_eq!(calls.load(Ordering::SeqCst), 13);
        assert!(is_allowed(&v.validate("good-a").await));
        assert_eq!(calls.load(Ordering::SeqCst), 14);
    }

    #[tokio::test]
    async fn calls_over_the_rate_get_503_with_retry_after() {
        let (url, calls) = idp(Duration::ZERO).await;
        let v = IntrospectionValidator::new(url, "rs", "secret").max_calls_per_second(3);
        for i in 0..3 {
            assert!(retry_after(&v.validate(&format!("bogus-{i}")).await).is_none());
        }
        let r = v.validate("good-late").await;
        assert_eq!(retry_after(&r), Some(Duration::from_secs(1)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Cached answers are still served while the budget is spent.
        assert!(matches!(
            v.validate("bogus-0").await,
            AuthorizationResult::Unauthorized { .. }
        ));
    }

    #[tokio::test]
    async fn calls_over_the_concurrency_get_503_after_a_short_wait() {
        let (url, calls) = idp(Duration::from_secs(3)).await;
        let v = Arc::new(IntrospectionValidator::new(url, "rs", "secret").max_concurrent_calls(1));
        let first = {
            let v = v.clone();
            tokio::spawn(async move { v.validate("good-1").await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        let r = v.validate("good-2").await;
        assert_eq!(retry_after(&r), Some(Duration::from_secs(1)));
        assert!(started.elapsed() >= Duration::from_millis(900));
        assert!(is_allowed(&first.await.unwrap()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
