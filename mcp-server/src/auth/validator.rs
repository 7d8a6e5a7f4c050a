//! The [`TokenValidator`] trait, its [`AuthorizationResult`], validator chains and static API keys.

use super::ConfigError;
use crate::identity::{OAuthContext, Scopes};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The decision of a [`TokenValidator`] about one bearer token (PHP `AuthorizationResult`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthorizationResult {
    /// The token is valid; the request proceeds with this identity.
    Allow(OAuthContext),
    /// 401 `invalid_token`. The description is sent to the client: keep it generic.
    Unauthorized {
        /// A short, non-sensitive reason.
        description: String,
    },
    /// 403 `insufficient_scope`, naming the scopes the request needs.
    Forbidden {
        /// The scopes needed.
        scopes: Vec<String>,
        /// A short, non-sensitive reason.
        description: String,
    },
    /// 400 `invalid_request`.
    BadRequest {
        /// A short, non-sensitive reason.
        description: String,
    },
    /// 503 with `Retry-After`: the token cannot be checked now (no keys, introspection down).
    Unavailable {
        /// When the client may retry.
        retry_after: Duration,
        /// A short, non-sensitive reason.
        description: String,
    },
    /// This validator does not handle this kind of token; in a [`ValidatorChain`] the next
    /// validator is asked. At the end of a chain it becomes 401 `invalid_token`.
    NotRecognized,
}

impl AuthorizationResult {
    /// Allows the request with `ctx`.
    #[must_use]
    pub fn allow(ctx: OAuthContext) -> Self {
        AuthorizationResult::Allow(ctx)
    }

    /// Rejects with 401 `invalid_token`.
    #[must_use]
    pub fn unauthorized(description: impl Into<String>) -> Self {
        AuthorizationResult::Unauthorized {
            description: description.into(),
        }
    }

    /// Rejects with 403 `insufficient_scope`.
    #[must_use]
    pub fn forbidden<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuthorizationResult::Forbidden {
            scopes: scopes.into_iter().map(Into::into).collect(),
            description: "The access token lacks a required scope".to_owned(),
        }
    }

    /// Rejects with 400 `invalid_request`.
    #[must_use]
    pub fn bad_request(description: impl Into<String>) -> Self {
        AuthorizationResult::BadRequest {
            description: description.into(),
        }
    }

    /// Answers 503 with `Retry-After`.
    #[must_use]
    pub fn unavailable(retry_after: Duration, description: impl Into<String>) -> Self {
        AuthorizationResult::Unavailable {
            retry_after,
            description: description.into(),
        }
    }

    /// Not this validator's kind of token.
    #[must_use]
    pub fn not_recognized() -> Self {
        AuthorizationResult::NotRecognized
    }

    /// Whether the request is allowed.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, AuthorizationResult::Allow(_))
    }
}

/// Checks bearer tokens. Implemented by [`JwtValidator`](super::JwtValidator),
/// [`IntrospectionValidator`](super::IntrospectionValidator), [`StaticKeyValidator`],
/// [`ValidatorChain`] and by closures through [`validator_fn`].
///
/// Descriptions in the result are sent to clients: never put the token or key material in them.
#[async_trait]
pub trait TokenValidator: Send + Sync + 'static {
    /// Validates `token` (the value after `Bearer `).
    async fn validate(&self, token: &str) -> AuthorizationResult;

    /// The same decision with the identity behind an [`Arc`]: `Ok` for
    /// [`Allow`](AuthorizationResult::Allow), `Err` with any other result. This is what
    /// [`AuthorizationLayer`](super::AuthorizationLayer) calls on every request. The default
    /// wraps [`validate`](Self::validate); validators that keep verified identities (the JWT
    /// cache, static keys) override it to hand out a shared one without copying its claims.
    async fn validate_shared(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        match self.validate(token).await {
            AuthorizationResult::Allow(ctx) => Ok(Arc::new(ctx)),
            other => Err(other),
        }
    }
}

#[async_trait]
impl<T: TokenValidator + ?Sized> TokenValidator for Arc<T> {
    async fn validate(&self, token: &str) -> AuthorizationResult {
        (**self).validate(token).await
    }

    async fn validate_shared(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        (**self).validate_shared(token).await
    }
}

#[async_trait]
impl<T: TokenValidator + ?Sized> TokenValidator for Box<T> {
    async fn validate(&self, token: &str) -> AuthorizationResult {
        (**self).validate(token).await
    }

    async fn validate_shared(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        (**self).validate_shared(token).await
    }
}

/// A validator from an async closure taking the token.
///
/// ```
/// use mcp_rs_server::auth::{validator_fn, AuthorizationResult, TokenValidator};
/// use mcp_rs_server::identity::{OAuthContext, Scopes};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let v = validator_fn(|token: String| async move {
///     if token == "let-me-in" {
///         AuthorizationResult::allow(OAuthContext::new("alice", Scopes::from_space_separated("mcp:read")))
///     } else {
///         AuthorizationResult::not_recognized()
///     }
/// });
/// assert!(v.validate("let-me-in").await.is_allowed());
/// # });
/// ```
pub fn validator_fn<F, Fut>(f: F) -> FnValidator<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AuthorizationResult> + Send + 'static,
{
    FnValidator(f)
}

/// See [`validator_fn`].
#[derive(Clone)]
pub struct FnValidator<F>(F);

impl<F> fmt::Debug for FnValidator<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnValidator(<fn>)")
    }
}

#[async_trait]
impl<F, Fut> TokenValidator for FnValidator<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AuthorizationResult> + Send + 'static,
{
    async fn validate(&self, token: &str) -> AuthorizationResult {
        (self.0)(token.to_owned()).await
    }
}

/// Asks validators in order; the first that recognises the token (returns anything but
/// [`AuthorizationResult::NotRecognized`]) decides. Typical: static API keys, then JWTs.
#[derive(Clone, Default)]
pub struct ValidatorChain {
    validators: Vec<Arc<dyn TokenValidator>>,
}

impl fmt::Debug for ValidatorChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorChain")
            .field("len", &self.validators.len())
            .finish()
    }
}

impl ValidatorChain {
    /// An empty chain (recognises nothing).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a validator.
    #[must_use]
    pub fn with(mut self, validator: impl TokenValidator) -> Self {
        self.validators.push(Arc::new(validator));
        self
    }

    /// Appends a shared validator.
    #[must_use]
    pub fn with_shared(mut self, validator: Arc<dyn TokenValidator>) -> Self {
        self.validators.push(validator);
        self
    }
}

#[async_trait]
impl TokenValidator for ValidatorChain {
    async fn validate(&self, token: &str) -> AuthorizationResult {
        for v in &self.validators {
            match v.validate(token).await {
                AuthorizationResult::NotRecognized => continue,
                decided => return decided,
            }
        }
        AuthorizationResult::NotRecognized
    }

    async fn validate_shared(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        for v in &self.validators {
            match v.validate_shared(token).await {
                Err(AuthorizationResult::NotRecognized) => continue,
                decided => return decided,
            }
        }
        Err(AuthorizationResult::NotRecognized)
    }
}

/// Static API keys, each mapped to a principal and scopes. Keys are stored as SHA-256 digests
/// and compared in constant time; a token that matches no key is
/// [`NotRecognized`](AuthorizationResult::NotRecognized), so a chain can try JWT next.
#[derive(Clone, Default)]
pub struct StaticKeyValidator {
    keys: Vec<([u8; 32], Arc<OAuthContext>)>,
}

impl fmt::Debug for StaticKeyValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeyValidator")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl StaticKeyValidator {
    /// No keys.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key`, granting `scopes` to `subject`.
    #[must_use]
    pub fn key<I, S>(mut self, key: impl AsRef<str>, subject: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ctx = OAuthContext::new(subject, scopes.into_iter().collect::<Scopes>());
        self.keys.push((
            Sha256::digest(key.as_ref().as_bytes()).into(),
            Arc::new(ctx),
        ));
        self
    }
}

/// Who an API key of a [`StaticKeyValidator`] stands for: a subject, scopes and roles.
///
/// ```
/// use mcp_rs_server::auth::{ApiKey, StaticKeyValidator, TokenValidator};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // The configuration holds only the key's SHA-256 digest (`StaticKeyValidator::digest`).
/// let digest = StaticKeyValidator::digest("ci-secret");
/// let keys = StaticKeyValidator::new()
///     .hashed_key(&digest, ApiKey::new("ci-bot").scopes(["mcp:read"]).roles(["ci"]))?;
/// let who = keys.validate_shared("ci-secret").await.unwrap();
/// assert_eq!(who.subject, "ci-bot");
/// assert_eq!(who.claim("roles"), Some(&serde_json::json!(["ci"])));
/// # Ok::<_, mcp_rs_server::auth::ConfigError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ApiKey {
    subject: String,
    scopes: Vec<String>,
    roles: Vec<String>,
    client_id: Option<String>,
}

impl ApiKey {
    /// A key for `subject`, without scopes or roles.
    pub fn new(subject: impl Into<String>) -> Self {
        ApiKey {
            subject: subject.into(),
            ..ApiKey::default()
        }
    }

    /// Adds scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds roles, given to the identity as its `roles` claim (which an
    /// [`AccessPolicy`](crate::policy::AccessPolicy) reads by default).
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// The identity's client id (a policy's `clients` patterns match it).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    fn into_context(self) -> OAuthContext {
        let mut ctx = OAuthContext::new(self.subject, self.scopes.into_iter().collect());
        ctx.client_id = self.client_id;
        if !self.roles.is_empty() {
            ctx.claims
                .insert("roles".into(), serde_json::Value::from(self.roles));
        }
        ctx
    }
}

impl StaticKeyValidator {
    /// Adds `key` for `who`.
    pub fn api_key(mut self, key: impl AsRef<str>, who: ApiKey) -> Self {
        self.keys.push((
            Sha256::digest(key.as_ref().as_bytes()).into(),
            Arc::new(who.into_context()),
        ));
        self
    }

    /// Adds a key given by its SHA-256 digest (64 hex digits, as [`digest`](Self::digest)
    /// writes it), so that the configuration never holds the key itself.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `sha256_hex` is not 64 hex digits.
    pub fn hashed_key(mut self, sha256_hex: &str, who: ApiKey) -> Result<Self, ConfigError> {
        let digest = parse_digest(sha256_hex.trim()).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "the API key digest of `{}` is not 64 hex digits (a SHA-256 digest)",
                who.subject
            ))
        })?;
        self.keys.push((digest, Arc::new(who.into_context())));
        Ok(self)
    }

    /// The SHA-256 digest of `key` in lowercase hex: what [`hashed_key`](Self::hashed_key)
    /// takes.
    #[must_use]
    pub fn digest(key: &str) -> String {
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn find(&self, token: &str) -> Option<&Arc<OAuthContext>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare against every key so timing does not reveal which one matched.
        let mut found = None;
        for (k, ctx) in &self.keys {
            if bool::from(k.ct_eq(&digest)) {
                found = Some(ctx);
            }
        }
        found
    }
}

#[async_trait]
impl TokenValidator for StaticKeyValidator {
    async fn validate(&self, token: &str) -> AuthorizationResult {
        match self.find(token) {
            Some(ctx) => AuthorizationResult::Allow(OAuthContext::clone(ctx)),
            None => AuthorizationResult::NotRecognized,
        }
    }

    async fn validate_shared(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        self.find(token)
            .map(Arc::clone)
            .ok_or(AuthorizationResult::NotRecognized)
    }
}

/// 64 hex digits → 32 bytes.
fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chain_first_recognising_validator_decides() {
        let keys = StaticKeyValidator::new().key("k1", "svc", ["mcp:read"]);
        let deny = validator_fn(|_t: String| async { AuthorizationResult::unauthorized("nope") });
        let chain = ValidatorChain::new().with(keys).with(deny);
        match chain.validate("k1").await {
            AuthorizationResult::Allow(ctx) => {
                assert_eq!(ctx.subject, "svc");
                assert!(ctx.scopes.contains("mcp:read"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            chain.validate("k2").await,
            AuthorizationResult::Unauthorized { ref description } if description == "nope"
        ));
        assert!(matches!(
            ValidatorChain::new().validate("x").await,
            AuthorizationResult::NotRecognized
        ));
    }

    #[tokio::test]
    async fn api_keys_carry_roles_and_may_be_given_hashed() {
        let digest = StaticKeyValidator::digest("k2");
        assert_eq!(digest.len(), 64);
        let keys = StaticKeyValidator::new()
            .api_key(
                "k1",
                ApiKey::new("ops").scopes(["mcp:read"]).roles(["admin"]),
            )
            .hashed_key(
                &digest.to_uppercase(),
                ApiKey::new("ci").client_id("ci-runner"),
            )
            .unwrap();
        let ops = keys.validate_shared("k1").await.unwrap();
        assert_eq!(ops.subject, "ops");
        assert_eq!(ops.scopes.to_space_separated(), "mcp:read");
        assert_eq!(ops.claims["roles"], serde_json::json!(["admin"]));
        let ci = keys.validate_shared("k2").await.unwrap();
        assert_eq!(
            (ci.subject.as_str(), ci.client_id.as_deref()),
            ("ci", Some("ci-runner"))
        );
        assert!(ci.claims.is_empty());
        assert!(matches!(
            keys.validate(&digest).await,
            AuthorizationResult::NotRecognized
        ));
        let e = StaticKeyValidator::new()
            .hashed_key("abc", ApiKey::new("x"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration: the API key digest of `x` is not 64 hex digits (a SHA-256 digest)"
        );
    }

    #[test]
    fn static_key_debug_redacts() {
        let v = StaticKeyValidator::new().key("secret-key", "svc", ["a"]);
        assert!(!format!("{v:?}").contains("secret"));
    }
}
