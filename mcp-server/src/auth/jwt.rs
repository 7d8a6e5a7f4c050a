//! [`JwtValidator`]: signed JWT access tokens (RFC 9068 and IdP-specific shapes).

use super::ConfigError;
use super::jwks::{JwksProvider, KeyError, alg_family};
use super::util::{now_secs, token_hash};
use super::validator::{AuthorizationResult, TokenValidator};
use crate::identity::{OAuthContext, Scopes};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use quick_cache::sync::Cache;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Where scopes are read from. Each source accepts a space-separated string or an array of
/// strings; all configured sources are merged into one set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeClaim {
    /// `scope` (RFC 8693 / RFC 9068, Keycloak, Auth0, Okta).
    Scope,
    /// `scp` (Entra delegated permissions; Okta uses an array).
    Scp,
    /// `roles` (Entra app roles, app-only tokens).
    Roles,
    /// Any other claim.
    Claim(String),
}

impl ScopeClaim {
    fn name(&self) -> &str {
        match self {
            ScopeClaim::Scope => "scope",
            ScopeClaim::Scp => "scp",
            ScopeClaim::Roles => "roles",
            ScopeClaim::Claim(c) => c,
        }
    }
}

#[derive(Debug, Clone)]
struct IssuerPattern {
    template: String,
}

impl IssuerPattern {
    const TENANT: &'static str = "{tenantid}";

    fn matches(&self, iss: &str, tid: Option<&str>) -> bool {
        if !self.template.contains(Self::TENANT) {
            return iss == self.template;
        }
        let Some(tid) = tid else { return false };
        if tid.is_empty() || !tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        iss == self.template.replace(Self::TENANT, tid)
    }
}

/// One verification key: `kid`, key, algorithm.
pub(crate) type StaticKey = (Option<String>, DecodingKey, Algorithm);

/// An in-memory key list that its owner may change at any time (the built-in authorization
/// server's own signing keys, rotated in place).
pub(crate) type SharedKeys = Arc<std::sync::RwLock<Vec<StaticKey>>>;

enum Keys {
    Jwks(JwksProvider),
    Static(Vec<StaticKey>),
    Shared(SharedKeys),
}

/// The key of `h` in a fixed list.
fn find_key(keys: &[StaticKey], h: &RawHeader) -> Result<DecodingKey, KeyError> {
    let found = match &h.kid {
        Some(kid) => keys.iter().find(|k| k.0.as_deref() == Some(kid.as_str())),
        None if keys.len() == 1 => keys.first(),
        None => None,
    };
    match found {
        None => Err(KeyError::UnknownKey),
        Some((_, key, alg)) if *alg == h.alg && key.family() == alg_family(h.alg) => {
            Ok(key.clone())
        }
        Some(_) => Err(KeyError::AlgorithmMismatch),
    }
}

/// A preset's check of the verified claims (who may come in at all), with the 401
/// description of a token that fails it.
pub(crate) type ClaimsCheck = (
    Arc<dyn Fn(&Map<String, Value>) -> bool + Send + Sync>,
    &'static str,
);

/// SHA-256 of a verified token → its shared identity and `exp` (seconds since the epoch).
type TokenCache = Cache<[u8; 32], (Arc<OAuthContext>, u64)>;

struct Inner {
    keys: Keys,
    issuers: Vec<IssuerPattern>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    require_at_jwt: bool,
    scope_claims: Vec<ScopeClaim>,
    allowed_tenants: Option<Vec<String>>,
    allowed_clients: Option<Vec<String>>,
    require_subject: bool,
    reject_id_tokens: bool,
    max_token_len: usize,
    /// Verified tokens by SHA-256 of the token: the shared identity and its `exp`. `None` when
    /// the capacity is 0. Sharded, so lookups on different cores do not contend; at capacity it
    /// evicts the least recently useful entries (CLOCK-style), never the whole cache.
    cache: Option<TokenCache>,
    accept_missing_issuer: bool,
    audience_error: &'static str,
    claims_check: Option<ClaimsCheck>,
}

/// Validates signed JWT access tokens. Build with [`JwtValidator::builder`]; cheap to clone.
///
/// Checks, in order: size, shape, header (`alg` in the allow-list, never `none`; no `crit`; no
/// header `nonce`, as in Microsoft Graph tokens that cannot be verified; safe `kid`; optional
/// `typ: at+jwt`), key lookup (the key's declared `alg` and family must match the token's: an
/// HMAC token is never checked against an RSA/EC public key), signature, `exp`/`nbf` with leeway,
/// audience, issuer (exact or a `{tenantid}` template checked against `tid`), tenant
/// allow-list, and `sub`. Verified tokens are cached by SHA-256 hash until they expire.
///
/// ```
/// use mcp_rs_server::auth::{JwksProvider, JwtValidator, ScopeClaim};
/// let validator = JwtValidator::builder()
///     .jwks(JwksProvider::new("https://idp.example.com/realms/mcp/protocol/openid-connect/certs"))
///     .issuer("https://idp.example.com/realms/mcp")
///     .audience("mcp-server")
///     .scope_claims([ScopeClaim::Scope])
///     .build()
///     .unwrap();
/// # let _ = validator;
/// ```
#[derive(Clone)]
pub struct JwtValidator {
    inner: Arc<Inner>,
}

impl fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtValidator")
            .field(
                "issuers",
                &self
                    .inner
                    .issuers
                    .iter()
                    .map(|i| &i.template)
                    .collect::<Vec<_>>(),
            )
            .field("audiences", &self.inner.audiences)
            .field("algorithms", &self.inner.algorithms)
            .finish_non_exhaustive()
    }
}

/// Builder of [`JwtValidator`].
#[must_use]
pub struct JwtValidatorBuilder {
    jwks: Option<JwksProvider>,
    static_keys: Vec<StaticKey>,
    shared_keys: Option<SharedKeys>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    require_at_jwt: bool,
    scope_claims: Vec<ScopeClaim>,
    allowed_tenants: Option<Vec<String>>,
    allowed_clients: Option<Vec<String>>,
    require_subject: bool,
    reject_id_tokens: bool,
    max_token_len: usize,
    cache_capacity: usize,
    accept_missing_issuer: bool,
    audience_error: &'static str,
    claims_check: Option<ClaimsCheck>,
}

impl fmt::Debug for JwtValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtValidatorBuilder")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// The default algorithm allow-list: RSA (PKCS#1 and PSS) and ECDSA. HMAC is never a default.
pub const DEFAULT_ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

impl JwtValidatorBuilder {
    /// Keys from a JWKS endpoint.
    pub fn jwks(mut self, provider: JwksProvider) -> Self {
        self.jwks = Some(provider);
        self
    }

    /// Keys from the JWKS at `url` with default caching.
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.jwks(JwksProvider::new(url))
    }

    /// A fixed key, matched by `kid` (or used for tokens without `kid` when it is the only key),
    /// for tokens signed with `alg`. `alg` must also be in [`algorithms`](Self::algorithms).
    pub fn static_key(mut self, kid: Option<&str>, key: DecodingKey, alg: Algorithm) -> Self {
        self.static_keys.push((kid.map(str::to_owned), key, alg));
        self
    }

    /// Keys read from `keys` at every verification (rotation-aware, no network).
    pub(crate) fn shared_keys(mut self, keys: SharedKeys) -> Self {
        self.shared_keys = Some(keys);
        self
    }

    /// An accepted issuer (`iss`), compared exactly. `{tenantid}` in the value is a template
    /// filled from the token's `tid` (Entra multi-tenant). Required: at least one.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Several accepted issuers.
    pub fn issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.issuers.extend(issuers.into_iter().map(Into::into));
        self
    }

    /// An accepted audience (`aud`). Required: at least one (RFC 8707: a token for another
    /// resource must not be accepted).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Several accepted audiences.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// The algorithm allow-list, replacing [`DEFAULT_ALGORITHMS`]. Tokens with any other `alg`
    /// are rejected.
    pub fn algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algs.into_iter().collect();
        self
    }

    /// Clock leeway for `exp` and `nbf`. Defaults to 60 seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires the header `typ` to be `at+jwt` (RFC 9068). Defaults to `false`, because
    /// Keycloak and Entra issue `typ: JWT`.
    pub fn require_at_jwt_typ(mut self, require: bool) -> Self {
        self.require_at_jwt = require;
        self
    }

    /// Where scopes come from, replacing the default `[Scope, Scp]`.
    pub fn scope_claims(mut self, claims: impl IntoIterator<Item = ScopeClaim>) -> Self {
        self.scope_claims = claims.into_iter().collect();
        self
    }

    /// Only tokens whose `tid` is in this list are accepted (Entra multi-tenant).
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// Only tokens issued to one of these clients are accepted: the token's client id
    /// (`client_id`, else `azp`, `appid` or Okta's `cid`) must be in the list; a token without
    /// one is refused too. Without this, any application of the tenant that can get a token
    /// for this audience is let in.
    pub fn allowed_clients<I, S>(mut self, clients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_clients = Some(clients.into_iter().map(Into::into).collect());
        self
    }

    /// Whether a non-empty `sub` is required. Defaults to `true`.
    pub fn require_subject(mut self, require: bool) -> Self {
        self.require_subject = require;
        self
    }

    /// Rejects ID-token-shaped JWTs presented as access tokens: a `nonce` claim, or none of
    /// the [`scope_claims`](Self::scope_claims) present. Defaults to `false` (the Entra
    /// preset turns it on: Entra ID tokens for the API's client id pass the audience check).
    pub fn reject_id_tokens(mut self, reject: bool) -> Self {
        self.reject_id_tokens = reject;
        self
    }

    /// Tokens longer than this are rejected before parsing. Defaults to 16 KiB.
    pub fn max_token_length(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// How many verified tokens are cached (by hash, until `exp`). Defaults to 10 000; 0
    /// disables the cache.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Accepts tokens without `iss` (a token that has one must still match an issuer). Only
    /// through [`insecure::accept_missing_issuer`](super::insecure::accept_missing_issuer).
    pub(crate) fn accept_missing_issuer(mut self) -> Self {
        self.accept_missing_issuer = true;
        self
    }

    /// The 401 description of a token whose `aud` is not one of the audiences (a preset that
    /// knows why this happens says so: the Google preset names ID-token misuse).
    pub(crate) fn audience_error(mut self, description: &'static str) -> Self {
        self.audience_error = description;
        self
    }

    /// A check of the verified claims; a token failing it is 401 `invalid_token` with
    /// `description` (the Google preset: only the configured domains or accounts).
    pub(crate) fn claims_check(
        mut self,
        check: impl Fn(&Map<String, Value>) -> bool + Send + Sync + 'static,
        description: &'static str,
    ) -> Self {
        self.claims_check = Some((Arc::new(check), description));
        self
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] without keys, issuer or audience; [`ConfigError::Invalid`] for
    /// an empty algorithm list, HMAC algorithms with a JWKS, or a `{tenantid}` issuer template
    /// without an allowed-tenants list.
    pub fn build(self) -> Result<JwtValidator, ConfigError> {
        let keys = match (self.jwks, self.static_keys.is_empty(), self.shared_keys) {
            (Some(j), true, None) => Keys::Jwks(j),
            (None, false, None) => Keys::Static(self.static_keys),
            (None, true, Some(s)) => Keys::Shared(s),
            (None, true, None) => return Err(ConfigError::Missing("jwks")),
            _ => {
                return Err(ConfigError::Invalid(
                    "use either a JWKS or static keys, not both".into(),
                ));
            }
        };
        if self.issuers.is_empty() && !self.accept_missing_issuer {
            return Err(ConfigError::Missing("issuer"));
        }
        if self.accept_missing_issuer {
            tracing::warn!(
                target: "mcp_rs_server::auth",
                "JWT validator: tokens WITHOUT an iss claim are accepted \
                 (insecure::accept_missing_issuer)"
            );
        }
        if self.audiences.is_empty() {
            return Err(ConfigError::Missing("audience"));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::Invalid(
                "the algorithm allow-list is empty".into(),
            ));
        }
        if matches!(keys, Keys::Jwks(_))
            && self
                .algorithms
                .iter()
                .any(|a| alg_family(*a) == AlgorithmFamily::Hmac)
        {
            return Err(ConfigError::Invalid(
                "HMAC algorithms cannot be verified with keys from a JWKS".into(),
            ));
        }
        if self
            .issuers
            .iter()
            .any(|i| i.contains(IssuerPattern::TENANT))
            && self.allowed_tenants.is_none()
        {
            return Err(ConfigError::Invalid(
                "an issuer template with {tenantid} needs allowed_tenants".into(),
            ));
        }
        Ok(JwtValidator {
            inner: Arc::new(Inner {
                keys,
                issuers: self
                    .issuers
                    .into_iter()
                    .map(|template| IssuerPattern { template })
                    .collect(),
                audiences: self.audiences,
                algorithms: self.algorithms,
                leeway: self.leeway,
                require_at_jwt: self.require_at_jwt,
                scope_claims: self.scope_claims,
                allowed_tenants: self.allowed_tenants,
                allowed_clients: self.allowed_clients,
                require_subject: self.require_subject,
                reject_id_tokens: self.reject_id_tokens,
                max_token_len: self.max_token_len,
                cache: (self.cache_capacity > 0).then(|| Cache::new(self.cache_capacity)),
                accept_missing_issuer: self.accept_missing_issuer,
                audience_error: self.audience_error,
                claims_check: self.claims_check,
            }),
        })
    }
}

/// Token header fields inspected before any key lookup.
struct RawHeader {
    alg: Algorithm,
    kid: Option<String>,
}

fn deny(description: &str) -> AuthorizationResult {
    AuthorizationResult::unauthorized(description)
}

const MALFORMED: &str = "Malformed access token";
const NOT_FOR_THIS_RESOURCE: &str = "The access token is not intended for this resource";

fn safe_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 256
        && !kid.contains("..")
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+=:".contains(&b))
}

impl JwtValidator {
    /// A builder with the defaults: [`DEFAULT_ALGORITHMS`], 60 s leeway, scopes from `scope`
    /// and `scp`, `sub` required, 16 KiB maximum, cache on.
    pub fn builder() -> JwtValidatorBuilder {
        JwtValidatorBuilder {
            jwks: None,
            static_keys: Vec::new(),
            shared_keys: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: Duration::from_secs(60),
            require_at_jwt: false,
            scope_claims: vec![ScopeClaim::Scope, ScopeClaim::Scp],
            allowed_tenants: None,
            allowed_clients: None,
            require_subject: true,
            reject_id_tokens: false,
            max_token_len: 16 * 1024,
            cache_capacity: 10_000,
            accept_missing_issuer: false,
            audience_error: NOT_FOR_THIS_RESOURCE,
            claims_check: None,
        }
    }

    fn header(&self, segment: &str) -> Result<RawHeader, &'static str> {
        let bytes = URL_SAFE_NO_PAD
            .decode(segment.trim_end_matches('='))
            .map_err(|_| MALFORMED)?;
        let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| MALFORMED)?;
        let alg = header.get("alg").and_then(Value::as_str).ok_or(MALFORMED)?;
        let alg = Algorithm::from_str(alg)
            .ok()
            .filter(|a| self.inner.algorithms.contains(a))
            .ok_or("Unsupported token algorithm")?;
        if header.contains_key("nonce") {
            // Microsoft Graph access tokens: the signature covers a hashed nonce and cannot be
            // verified by anyone but Graph. Never accept them.
            return Err("The access token is not intended for this resource");
        }
        if header.contains_key("crit") {
            return Err("Unsupported token header");
        }
        if self.inner.require_at_jwt {
            let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
            if !typ.eq_ignore_ascii_case("at+jwt")
                && !typ.eq_ignore_ascii_case("application/at+jwt")
            {
                return Err("The token is not an access token");
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) if safe_kid(k) => Some(k.clone()),
            Some(_) => return Err("Unknown signing key"),
        };
        Ok(RawHeader { alg, kid })
    }

    async fn key(&self, h: &RawHeader) -> Result<DecodingKey, AuthorizationResult> {
        let result = match &self.inner.keys {
            Keys::Jwks(p) => p.decoding_key(h.kid.as_deref(), h.alg).await,
            Keys::Static(keys) => find_key(keys, h),
            Keys::Shared(keys) => match keys.read() {
                Ok(keys) => find_key(&keys, h),
                Err(_) => Err(KeyError::UnknownKey),
            },
        };
        result.map_err(|e| match e {
            KeyError::UnknownKey => deny("Unknown signing key"),
            KeyError::AlgorithmMismatch => deny("Unsupported token algorithm"),
            KeyError::Unavailable { retry_after } => AuthorizationResult::unavailable(
                retry_after,
                "The signing keys of the authorization server are unavailable",
            ),
        })
    }

    /// A cache hit: one sharded hash lookup and an `Arc` clone. Expired entries are dropped.
    fn cached(&self, hash: &[u8; 32]) -> Option<Arc<OAuthContext>> {
        let cache = self.inner.cache.as_ref()?;
        let (ctx, exp) = cache.get(hash)?;
        if exp > now_secs() {
            return Some(ctx);
        }
        cache.remove(hash);
        None
    }

    fn remember(&self, hash: [u8; 32], ctx: &Arc<OAuthContext>, exp: u64) {
        if let Some(cache) = &self.inner.cache {
            cache.insert(hash, (Arc::clone(ctx), exp));
        }
    }

    /// A `nonce` claim (only ID tokens carry one), or no scope claim at all.
    fn id_token_shaped(&self, claims: &Map<String, Value>) -> bool {
        claims.contains_key("nonce")
            || !self
                .inner
                .scope_claims
                .iter()
                .any(|c| claims.contains_key(c.name()))
    }

    fn scopes(&self, claims: &Map<String, Value>) -> Scopes {
        let mut scopes = Scopes::new();
        for source in &self.inner.scope_claims {
            match claims.get(source.name()) {
                Some(Value::String(s)) => scopes.extend(s.split_ascii_whitespace()),
                Some(Value::Array(items)) => {
                    scopes.extend(items.iter().filter_map(Value::as_str));
                }
                _ => {}
            }
        }
        scopes
    }

    async fn check(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        if token.len() > self.inner.max_token_len {
            return Err(deny("The access token is too large"));
        }
        let mut segments = token.split('.');
        let (Some(head), Some(_), Some(_), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AuthorizationResult::NotRecognized);
        };
        let hash = token_hash(token);
        if let Some(ctx) = self.cached(&hash) {
            return Ok(ctx);
        }
        let ctx = match self.verify(token, head).await {
            AuthorizationResult::Allow(ctx) => Arc::new(ctx),
            other => return Err(other),
        };
        if let Some(exp) = ctx.expires_at {
            self.remember(hash, &ctx, exp);
        }
        Ok(ctx)
    }

    /// The full check of a token that is not in the cache: header, key, signature, claims.
    async fn verify(&self, token: &str, head: &str) -> AuthorizationResult {
        let header = match self.header(head) {
            Ok(h) => h,
            Err(why) => return deny(why),
        };
        let key = match self.key(&header).await {
            Ok(k) => k,
            Err(r) => return r,
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.inner.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_audience(&self.inner.audiences);
        let mut required = vec!["exp", "aud"];
        if !self.inner.accept_missing_issuer {
            required.push("iss");
        }
        if self.inner.require_subject {
            required.push("sub");
        }
        validation.set_required_spec_claims(&required);
        let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => data.claims,
            Err(e) => {
                return deny(match e.kind() {
                    ErrorKind::ExpiredSignature => "The access token has expired",
                    ErrorKind::ImmatureSignature => "The access token is not yet valid",
                    ErrorKind::InvalidAudience => self.inner.audience_error,
                    ErrorKind::InvalidSignature => "Invalid token signature",
                    ErrorKind::InvalidAlgorithm => "Unsupported token algorithm",
                    ErrorKind::MissingRequiredClaim(c) => match c.as_str() {
                        "sub" => "The access token has no subject",
                        "aud" => "The access token has no audience",
                        "iss" => "The access token has no issuer",
                        "exp" => "The access token has no expiry",
                        _ => MALFORMED,
                    },
                    _ => MALFORMED,
                });
            }
        };
        let str_claim = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let tenant = str_claim("tid");
        let iss = str_claim("iss");
        match &iss {
            None if self.inner.accept_missing_issuer => {}
            None => return deny("The access token has no issuer"),
            Some(iss) => {
                if !self
                    .inner
                    .issuers
                    .iter()
                    .any(|p| p.matches(iss, tenant.as_deref()))
                {
                    return deny("Untrusted token issuer");
                }
            }
        }
        if let Some(allowed) = &self.inner.allowed_tenants {
            if !tenant
                .as_ref()
                .is_some_and(|t| allowed.iter().any(|a| a == t))
            {
                return deny("The token's tenant is not allowed");
            }
        }
        let subject = str_claim("sub").unwrap_or_default();
        if self.inner.require_subject && subject.is_empty() {
            return deny("The access token has no subject");
        }
        if self.inner.reject_id_tokens && self.id_token_shaped(&claims) {
            return deny("The token is not an access token");
        }
        if let Some((check, why)) = &self.inner.claims_check {
            if !check(&claims) {
                return deny(why);
            }
        }
        let client_id = str_claim("client_id")
            .or_else(|| str_claim("azp"))
            .or_else(|| str_claim("appid"))
            .or_else(|| str_claim("cid"));
        if let Some(allowed) = &self.inner.allowed_clients {
            if !client_id
                .as_ref()
                .is_some_and(|c| allowed.iter().any(|a| a == c))
            {
                return deny("The token was issued to a client that is not allowed");
            }
        }
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        let ctx = OAuthContext {
            subject,
            scopes: self.scopes(&claims),
            client_id,
            issuer: iss,
            tenant,
            expires_at,
            claims,
            token: None,
        };
        AuthorizationResult::Allow(ctx)
    }
}

#[async_trait]
impl TokenValidator for JwtValidator {
    async fn validate(&self, token: &str) -> AuthorizationResult {
        match self.check(token).await {
            Ok(ctx) => AuthorizationResult::Allow(Arc::unwrap_or_clone(ctx)),
            Err(decision) => decision,
        }
    }

    async fn validate_shared(&self, token: &str) -> Result<Arc<OAuthContext>, AuthorizationResult> {
        self.check(token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// The test validator's keys, issuer and audience.
    fn base_builder() -> JwtValidatorBuilder {
        JwtValidator::builder()
            .static_key(
                Some("k1"),
                DecodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .algorithms([Algorithm::HS256])
            .issuer("https://idp")
            .audience("mcp")
    }

    fn validator() -> JwtValidator {
        base_builder()
            .scope_claims([
                ScopeClaim::Scope,
                ScopeClaim::Roles,
                ScopeClaim::Claim("perms".into()),
            ])
            .build()
            .unwrap()
    }

    fn token(claims: Value) -> String {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        encode(&h, &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    fn base() -> Value {
        json!({"iss": "https://idp", "aud": "mcp", "sub": "alice", "exp": now_secs() + 300,
               "scope": "a b", "roles": ["c"], "perms": ["d"], "azp": "cli"})
    }

    #[tokio::test]
    async fn scopes_merge_and_identity() {
        let AuthorizationResult::Allow(ctx) = validator().validate(&token(base())).await else {
            panic!("rejected")
        };
        assert_eq!(ctx.scopes.to_space_separated(), "a b c d");
        assert_eq!(ctx.subject, "alice");
        assert_eq!(ctx.client_id.as_deref(), Some("cli"));
        assert_eq!(ctx.issuer.as_deref(), Some("https://idp"));
    }

    #[tokio::test]
    async fn allowed_clients_refuse_other_and_missing_client_ids() {
        let v = base_builder()
            .allowed_clients(["cli", "okta-app"])
            .build()
            .unwrap();
        let denied = |r: AuthorizationResult| {
            matches!(r, AuthorizationResult::Unauthorized { description }
                if description == "The token was issued to a client that is not allowed")
        };
        // azp in the list.
        assert!(matches!(
            v.validate(&token(base())).await,
            AuthorizationResult::Allow(_)
        ));
        // Okta's cid is a client id too.
        let mut okta = base();
        okta.as_object_mut().unwrap().remove("azp");
        okta["cid"] = json!("okta-app");
        let AuthorizationResult::Allow(ctx) = v.validate(&token(okta)).await else {
            panic!("rejected")
        };
        assert_eq!(ctx.client_id.as_deref(), Some("okta-app"));
        // Another application of the tenant.
        let mut other = base();
        other["azp"] = json!("someone-else");
        assert!(denied(v.validate(&token(other)).await));
        // No client id at all.
        let mut none = base();
        none.as_object_mut().unwrap().remove("azp");
        assert!(denied(v.validate(&token(none)).await));
    }

    fn with_capacity(capacity: usize) -> JwtValidator {
        base_builder().cache_capacity(capacity).build().unwrap()
    }

    #[tokio::test]
    async fn cache_hit_shares_the_identity() {
        let v = validator();
        let t = token(base());
        let first = v.validate_shared(&t).await.unwrap();
        let second = v.validate_shared(&t).await.unwrap();
        assert!(Arc::ptr_eq(&first, &second), "a hit must not copy claims");
        // Without a cache every call verifies again and builds its own identity.
        let uncached = with_capacity(0);
        let a = uncached.validate_shared(&t).await.unwrap();
        let b = uncached.validate_shared(&t).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a.subject, "alice");
    }

    #[tokio::test]
    async fn cache_evicts_at_capacity_instead_of_clearing() {
        let v = with_capacity(8);
        for i in 0..40 {
            let mut claims = base();
            claims["jti"] = json!(i);
            assert!(v.validate(&token(claims)).await.is_allowed());
        }
        let cache = v.inner.cache.as_ref().unwrap();
        assert!(cache.len() <= 8, "bounded: {}", cache.len());
        assert!(
            cache.len() >= 4,
            "evicts entries, not the whole cache: {}",
            cache.len()
        );
        // An expired entry is never served, and is dropped on lookup.
        let mut claims = base();
        claims["exp"] = json!(now_secs() - 1);
        let old = token(claims);
        let hash = token_hash(&old);
        let stale = Arc::new(OAuthContext::new("stale", Scopes::new()));
        v.remember(hash, &stale, now_secs() - 1);
        assert!(v.cached(&hash).is_none());
        assert!(cache.get(&hash).is_none());
    }

    #[tokio::test]
    async fn at_jwt_typ_and_hmac_only_when_configured() {
        let strict = JwtValidator::builder()
            .static_key(
                Some("k1"),
                DecodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .algorithms([Algorithm::HS256])
            .issuer("https://idp")
            .audience("mcp")
            .require_at_jwt_typ(true)
            .build()
            .unwrap();
        assert!(matches!(
            strict.validate(&token(base())).await,
            AuthorizationResult::Unauthorized { ref description } if description == "The token is not an access token"
        ));
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        h.typ = Some("at+jwt".into());
        let t = encode(&h, &base(), &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(strict.validate(&t).await.is_allowed());
        // The default allow-list has no HMAC algorithm: the same key and token are refused.
        let default_algs = JwtValidator::builder()
            .static_key(
                Some("k1"),
                DecodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .issuer("https://idp")
            .audience("mcp")
            .build()
            .unwrap();
        assert!(matches!(
            default_algs.validate(&t).await,
            AuthorizationResult::Unauthorized { ref description } if description == "Unsupported token algorithm"
        ));
    }

    #[test]
    fn build_requires_issuer_audience_keys() {
        assert_eq!(
            JwtValidator::builder()
                .issuer("i")
                .audience("a")
                .build()
                .err(),
            Some(ConfigError::Missing("jwks"))
        );
        assert_eq!(
            JwtValidator::builder()
                .jwks_url("http://x")
                .audience("a")
                .build()
                .err(),
            Some(ConfigError::Missing("issuer"))
        );
        assert!(
            JwtValidator::builder()
                .jwks_url("http://x")
                .issuer("i")
                .audience("a")
                .algorithms([Algorithm::HS256])
                .build()
                .is_err()
        );
    }

    #[test]
    fn issuer_templates() {
        let p = IssuerPattern {
            template: "https://login/{tenantid}/v2.0".into(),
        };
        assert!(p.matches("https://login/t1/v2.0", Some("t1")));
        assert!(!p.matches("https://login/t2/v2.0", Some("t1")));
        assert!(!p.matches("https://login/../v2.0", Some("..")));
        assert!(!p.matches("https://login/t1/v2.0", None));
    }

    #[test]
    fn kid_charset() {
        assert!(safe_kid("abc-DEF_1.2"));
        assert!(!safe_kid("../../etc/passwd"));
        assert!(!safe_kid("a/b"));
        assert!(!safe_kid(""));
    }

    /// An HS256 token over any header and claims JSON, signed with the test key.
    fn signed(header: &Value, claims: &Value) -> String {
        use hmac::{Hmac, Mac};
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{head}.{body}.{sig}")
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    proptest::proptest! {
        /// Arbitrary text, and three arbitrary base64url segments, are never accepted and never
        /// panic.
        #[test]
        fn fuzz_jwt_garbage_is_refused(
            text in ".{0,200}",
            segments in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120), 3),
        ) {
            let v = validator();
            let joined = segments.iter().map(|s| URL_SAFE_NO_PAD.encode(s)).collect::<Vec<_>>().join(".");
            for token in [text, joined] {
                let r = block_on(v.validate(&token));
                proptest::prop_assert!(!matches!(r, AuthorizationResult::Allow(_)), "{token}");
            }
        }

        /// The header pre-checks on validly signed tokens: accepted only with `alg` HS256, the
        /// known `kid` (or none), and neither `crit` nor `nonce`; each refusal names the header
        /// problem.
        #[test]
        fn fuzz_jwt_header_prechecks(
            alg in proptest::sample::select(vec!["HS256", "HS384", "RS256", "none", "hs256", ""]),
            kid in proptest::option::of(proptest::prop_oneof![proptest::strategy::Just("k1".to_owned()), "[ -~]{0,20}"]),
            crit in proptest::bool::weighted(0.2),
            nonce in proptest::bool::weighted(0.2),
            extra in proptest::collection::btree_map("x_[a-z]{1,6}", ".{0,10}", 0..3),
        ) {
            let mut header = json!({"alg": alg, "typ": "JWT"});
            for (k, v) in &extra {
                header[k] = json!(v);
            }
            if let Some(k) = &kid {
                header["kid"] = json!(k);
            }
            if crit {
                header["crit"] = json!(["exp"]);
            }
            if nonce {
                header["nonce"] = json!("n");
            }
            let token = signed(&header, &base());
            let r = block_on(validator().validate(&token));
            // Without `kid` the one static key is used.
            let ok = alg == "HS256" && kid.as_deref().is_none_or(|k| k == "k1") && !crit && !nonce;
            proptest::prop_assert_eq!(matches!(r, AuthorizationResult::Allow(_)), ok, "{:?}", header);
            // The header check alone agrees on what it can see.
            let head = token.split('.').next().unwrap();
            let pre = validator().header(head);
            if alg != "HS256" {
                proptest::prop_assert_eq!(pre.err(), Some("Unsupported token algorithm"));
            } else if nonce {
                proptest::prop_assert_eq!(pre.err(), Some("The access token is not intended for this resource"));
            } else if crit {
                proptest::prop_assert_eq!(pre.err(), Some("Unsupported token header"));
            } else if let Some(k) = kid.as_deref().filter(|k| !safe_kid(k)) {
                proptest::prop_assert_eq!(pre.err(), Some("Unknown signing key"), "{}", k);
            } else {
                proptest::prop_assert_eq!(pre.map(|h| h.kid).ok(), Some(kid.clone()));
            }
        }
    }
}
