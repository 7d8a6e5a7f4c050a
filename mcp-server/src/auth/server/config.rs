//! [`AuthServerConfig`] and [`UpstreamConfig`]: what the authorization server needs to know.

use super::cimd::CimdFetcher;
use super::forwarded::ForwardedAuth;
use super::keys::SigningKeys;
use super::rate_limit::{Limiter, RateLimit};
use super::store::{AuthStore, InMemoryAuthStore};
use crate::auth::ConfigError;
use crate::auth::discovery::{AuthorizationServerMetadata, DiscoveryPolicy, OidcDiscovery};
use crate::auth::util::default_client;
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default lifetime of our authorization codes (60 s; at most 300 s).
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(60);
/// Default lifetime of our refresh tokens (30 days; rotated on every use).
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default lifetime of a remembered consent (cookie `Max-Age`, 30 days).
pub const DEFAULT_CONSENT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default lifetime of the access tokens the built-in authorization server mints (5 min).
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(300);
/// Default cap of request bodies of `/register`, `/consent` and `/token` (16 KiB).
pub const DEFAULT_MAX_BODY: usize = 16 * 1024;

enum Source {
    Fixed(Arc<AuthorizationServerMetadata>),
    Discover {
        issuer: String,
        discovery: OidcDiscovery,
    },
}

/// The upstream IdP the user logs in with, and the confidential client we are there.
///
/// The façade is the only client the upstream knows: one redirect URI
/// (`<public base URL>/oauth/callback`), our own `state` and PKCE pair, and the client secret,
/// sent only in our own code exchange and refresh requests.
#[must_use]
pub struct UpstreamConfig {
    source: Source,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) extra_scopes: Vec<String>,
    pub(crate) send_resource: bool,
    pub(crate) client: reqwest::Client,
}

impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("extra_scopes", &self.extra_scopes)
            .finish_non_exhaustive()
    }
}

impl UpstreamConfig {
    /// The upstream `issuer`, discovered leniently (RFC 8414 or OpenID metadata; Entra does
    /// not advertise PKCE), where we are the client `client_id`.
    pub fn discover(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self::with_source(
            Source::Discover {
                issuer: issuer.into(),
                discovery: OidcDiscovery::new(DiscoveryPolicy::Lenient),
            },
            client_id.into(),
        )
    }

    /// Known upstream metadata.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when it lacks `authorization_endpoint` or `token_endpoint`.
    pub fn new(
        metadata: AuthorizationServerMetadata,
        client_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        if metadata.authorization_endpoint.is_none() {
            return Err(ConfigError::Missing("authorization_endpoint"));
        }
        if metadata.token_endpoint.is_none() {
            return Err(ConfigError::Missing("token_endpoint"));
        }
        Ok(Self::with_source(
            Source::Fixed(Arc::new(metadata)),
            client_id.into(),
        ))
    }

    fn with_source(source: Source, client_id: String) -> Self {
        UpstreamConfig {
            source,
            client_id,
            client_secret: None,
            extra_scopes: Vec::new(),
            send_resource: false,
            client: default_client(),
        }
    }

    /// Our client secret at the upstream (`client_secret_basic`, or `client_secret_post` when
    /// the upstream advertises only that). Never logged.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Scopes always requested upstream besides the client's (e.g. `offline_access`, which
    /// Entra needs to issue refresh tokens).
    pub fn extra_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Forward the client's RFC 8707 `resource` upstream (default `false`: Entra v2 rejects
    /// it next to scopes).
    pub fn send_resource(mut self, send: bool) -> Self {
        self.send_resource = send;
        self
    }

    /// Uses `client` for upstream calls (default: 5 s connect, 10 s total, no redirects).
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    pub(crate) async fn metadata(&self) -> Option<Arc<AuthorizationServerMetadata>> {
        match &self.source {
            Source::Fixed(m) => Some(m.clone()),
            Source::Discover { issuer, discovery } => discovery.discover(issuer).await.ok(),
        }
    }
}

/// Configuration of the [`AuthServerLayer`](super::AuthServerLayer).
#[must_use]
pub struct AuthServerConfig {
    pub(crate) issuer: String,
    pub(crate) resource: String,
    pub(crate) upstream: Option<UpstreamConfig>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) store: Arc<dyn AuthStore>,
    pub(crate) rate_limit: RateLimit,
    pub(crate) code_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) consent_ttl: Duration,
    pub(crate) secret: [u8; 32],
    pub(crate) metadata_suffixes: Vec<String>,
    pub(crate) max_body: usize,
    pub(crate) builtin: Option<Builtin>,
    pub(crate) forwarded: Option<ForwardedAuth>,
    pub(crate) cimd: Option<CimdFetcher>,
}

/// Built-in mode: our own access tokens.
pub(crate) struct Builtin {
    pub(crate) keys: SigningKeys,
    pub(crate) access_ttl: Duration,
}

impl fmt::Debug for AuthServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServerConfig")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("upstream", &self.upstream)
            .field("scopes_supported", &self.scopes_supported)
            .field("builtin", &self.builtin.is_some())
            .field("forwarded", &self.forwarded.is_some())
            .finish_non_exhaustive()
    }
}

fn absolute(option: &'static str, value: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::InvalidUrl {
        option,
        message: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::InvalidUrl {
            option,
            message: "must be an absolute http(s) URL".into(),
        });
    }
    Ok(url)
}

impl AuthServerConfig {
    /// The façade: this server (issuer `public_base_url`, e.g. `https://mcp.example.com`) is
    /// the authorization server of the MCP endpoint `resource`; users log in at `upstream`,
    /// whose access tokens the clients receive, with refresh tokens of ours that map to the
    /// upstream's.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when a URL is not an absolute http(s) URL.
    pub fn facade(
        public_base_url: &str,
        resource: &str,
        upstream: UpstreamConfig,
    ) -> Result<Self, ConfigError> {
        let mut cfg = Self::base(public_base_url, resource)?;
        cfg.upstream = Some(upstream);
        Ok(cfg)
    }

    /// The built-in authorization server: this server (issuer `public_base_url`) mints its own
    /// short-lived ES256 JWT access tokens with `keys` (`aud` = `resource`, `iss` = the issuer,
    /// `sub`, `scope`, `client_id`, `exp`, `iat`, `jti`; `typ: at+jwt`), rotating opaque
    /// refresh tokens, and serves the JWKS at `/jwks.json`. Users are authenticated by a
    /// trusted reverse proxy ([`forwarded`](Self::forwarded)) or an upstream OpenID Connect
    /// login ([`upstream`](Self::upstream)); with neither, `/authorize` answers an error page.
    /// Validate the tokens with `keys.validator(public_base_url, resource)` in the
    /// [`AuthorizationLayer`](crate::auth::AuthorizationLayer).
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when a URL is not an absolute http(s) URL.
    pub fn builtin(
        public_base_url: &str,
        resource: &str,
        keys: SigningKeys,
    ) -> Result<Self, ConfigError> {
        let mut cfg = Self::base(public_base_url, resource)?;
        cfg.builtin = Some(Builtin {
            keys,
            access_ttl: DEFAULT_ACCESS_TOKEN_TTL,
        });
        Ok(cfg)
    }

    /// Built-in mode: users are authenticated by the trusted reverse proxy in front of this
    /// server (`X-Forwarded-User` & co., only from its addresses; anyone else gets 403).
    pub fn forwarded(mut self, auth: ForwardedAuth) -> Self {
        self.forwarded = Some(auth);
        self
    }

    /// Built-in mode: users log in at this OpenID Connect provider (our own callback, state and
    /// PKCE; `openid` is requested and the subject is the ID token's `sub`, received directly
    /// from the provider's token endpoint).
    pub fn upstream(mut self, upstream: UpstreamConfig) -> Self {
        self.upstream = Some(upstream);
        self
    }

    /// Built-in mode: lifetime of the minted access tokens (clamped to 30 s – 1 h; default
    /// [`DEFAULT_ACCESS_TOKEN_TTL`]).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        if let Some(b) = &mut self.builtin {
            b.access_ttl = ttl.clamp(Duration::from_secs(30), Duration::from_secs(3600));
        }
        self
    }

    fn base(public_base_url: &str, resource: &str) -> Result<Self, ConfigError> {
        absolute("public_base_url", public_base_url)?;
        absolute("resource", resource)?;
        Ok(AuthServerConfig {
            issuer: public_base_url.trim_end_matches('/').to_owned(),
            resource: resource.to_owned(),
            upstream: None,
            scopes_supported: Vec::new(),
            store: Arc::new(InMemoryAuthStore::default()),
            rate_limit: RateLimit::default(),
            code_ttl: DEFAULT_CODE_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
            consent_ttl: DEFAULT_CONSENT_TTL,
            secret: rand::random(),
            metadata_suffixes: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            builtin: None,
            forwarded: None,
            cimd: None,
        })
    }

    /// The scopes clients may ask for (advertised; other requested scopes get
    /// `invalid_scope`). Empty (the default): any scope is passed on.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Accept Client ID Metadata Documents: a `client_id` that is a URL is fetched (SSRF-safe,
    /// cached, see [`CimdFetcher`]) instead of looked up among registrations. Such clients are
    /// public (PKCE, no secret). Off by default.
    pub fn client_id_metadata_documents(mut self, fetcher: CimdFetcher) -> Self {
        self.cimd = Some(fetcher);
        self
    }

    /// The storage backend (default: an [`InMemoryAuthStore`] with default limits).
    pub fn store(mut self, store: impl AuthStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Per-address rate limit of every authorization-server route.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Lifetime of our authorization codes (clamped to 1–300 s).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl.clamp(Duration::from_secs(1), Duration::from_secs(300));
        self
    }

    /// Lifetime of our refresh tokens.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// How long an approved consent is remembered (the cookie's `Max-Age`).
    pub fn consent_ttl(mut self, ttl: Duration) -> Self {
        self.consent_ttl = ttl;
        self
    }

    /// The key of the CSRF tokens and consent cookies (default: random per process; set the
    /// same 32 secret bytes on every instance behind one load balancer).
    pub fn signing_secret(mut self, secret: [u8; 32]) -> Self {
        self.secret = secret;
        self
    }

    /// Also serve the metadata at `/.well-known/oauth-authorization-server<suffix>` (e.g. `/mcp`).
    pub fn metadata_path_suffix(mut self, suffix: &str) -> Self {
        self.metadata_suffixes
            .push(suffix.trim_end_matches('/').to_owned());
        self
    }

    /// Body cap of `/register`, `/consent` and `/token`.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

/// The state shared by the routes.
pub(crate) struct State {
    pub(crate) cfg: AuthServerConfig,
    pub(crate) limiter: Limiter,
    pub(crate) base_path: String,
    pub(crate) metadata: serde_json::Value,
    pub(crate) metadata_paths: Vec<String>,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(cfg: AuthServerConfig) -> Self {
        let base_path = url::Url::parse(&cfg.issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let mut suffixes = vec![String::new()];
        if !base_path.is_empty() {
            suffixes.push(base_path.clone());
        }
        suffixes.extend(cfg.metadata_suffixes.iter().cloned());
        let mut metadata_paths = Vec::new();
        for s in &suffixes {
            metadata_paths.push(format!("/.well-known/oauth-authorization-server{s}"));
            metadata_paths.push(format!("/.well-known/openid-configuration{s}"));
        }
        State {
            metadata: metadata(&cfg),
            limiter: Limiter::new(cfg.rate_limit),
            base_path,
            metadata_paths,
            cfg,
        }
    }

    /// Our absolute URL for `path` (e.g. `/oauth/callback`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.issuer)
    }

    /// The request path of `path` under the issuer's path.
    pub(crate) fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }

    pub(crate) fn cookie_secure(&self) -> bool {
        self.cfg.issuer.starts_with("https://")
    }
}

/// The RFC 8414 metadata of our authorization server.
pub(crate) fn metadata(cfg: &AuthServerConfig) -> Value {
    let mut m = AuthorizationServerMetadata::new(cfg.issuer.clone());
    m.authorization_endpoint = Some(format!("{}/authorize", cfg.issuer));
    m.token_endpoint = Some(format!("{}/token", cfg.issuer));
    m.registration_endpoint = Some(format!("{}/register", cfg.issuer));
    m.scopes_supported = cfg.scopes_supported.clone();
    m.response_types_supported = vec!["code".into()];
    m.grant_types_supported = vec!["authorization_code".into(), "refresh_token".into()];
    m.token_endpoint_auth_methods_supported = vec![
        "none".into(),
        "client_secret_basic".into(),
        "client_secret_post".into(),
    ];
    m.code_challenge_methods_supported = vec!["S256".into()];
    if cfg.builtin.is_some() {
        m.jwks_uri = Some(format!("{}/jwks.json", cfg.issuer));
    }
    let mut v = serde_json::to_value(m).unwrap_or_else(|_| json!({}));
    v["authorization_response_iss_parameter_supported"] = json!(true);
    if cfg.cimd.is_some() {
        v["client_id_metadata_document_supported"] = json!(true);
    }
    v
}
