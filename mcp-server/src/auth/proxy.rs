//! [`OAuthProxyLayer`]: an authorization-server façade for IdPs without DCR or RFC 8414
//! metadata in the shape MCP clients expect (Entra).
//!
//! The server advertises itself (its public base URL) as the authorization server:
//!
//! - `GET /.well-known/oauth-authorization-server` (and `/.well-known/openid-configuration`,
//!   plus the path-suffixed forms for the issuer path and any configured suffix) → metadata
//!   whose `authorization_endpoint` and `token_endpoint` point at this server, with
//!   `code_challenge_methods_supported: ["S256"]` and, when configured,
//!   `registration_endpoint`.
//! - `GET /authorize?...` → `302` to the upstream authorization endpoint with the same
//!   parameters, `client_id` replaced by the upstream application id (and `resource` dropped,
//!   which Entra v2 rejects next to scopes, unless configured otherwise).
//! - `POST /token` → forwarded to the upstream token endpoint with the upstream `client_id` and
//!   the confidential client secret injected (`client_secret_basic` or `client_secret_post`, as
//!   the upstream advertises; basic when it advertises nothing, the RFC 8414 default). Status
//!   and body are relayed. When the upstream cannot be reached: 502 with a JSON error.
//!
//! The server still never mints tokens: every token comes from the upstream IdP.

use super::ConfigError;
use super::discovery::{AuthorizationServerMetadata, DiscoveryPolicy, OidcDiscovery};
use super::util::{default_client, json_response, read_limited};
use crate::body::{Body, BoxError};
use crate::transport::http::challenge::json_error;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

enum Upstream {
    Fixed(Arc<AuthorizationServerMetadata>),
    Discover {
        issuer: String,
        discovery: OidcDiscovery,
    },
}

/// Configuration of the [`OAuthProxyLayer`].
#[must_use]
pub struct OAuthProxyConfig {
    issuer: String,
    upstream: Upstream,
    client_id: String,
    client_secret: Option<String>,
    scopes_supported: Vec<String>,
    registration_endpoint: Option<String>,
    strip_resource: bool,
    metadata_suffixes: Vec<String>,
    client: reqwest::Client,
}

impl fmt::Debug for OAuthProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthProxyConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl OAuthProxyConfig {
    /// A proxy whose public issuer is `public_base_url` (e.g. `https://mcp.example.com`) in
    /// front of the upstream IdP `upstream_issuer`, discovered leniently (Entra's metadata has
    /// no PKCE advertisement), for the upstream application `client_id`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `public_base_url` is not an absolute http(s) URL.
    pub fn discover(
        public_base_url: &str,
        upstream_issuer: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        Self::with_upstream(
            public_base_url,
            Upstream::Discover {
                issuer: upstream_issuer.into(),
                discovery: OidcDiscovery::new(DiscoveryPolicy::Lenient),
            },
            client_id.into(),
        )
    }

    /// Like [`discover`](Self::discover) with known upstream metadata.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad `public_base_url`; [`ConfigError::Missing`] when the
    /// metadata lacks `authorization_endpoint` or `token_endpoint`.
    pub fn new(
        public_base_url: &str,
        upstream: AuthorizationServerMetadata,
        client_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        if upstream.authorization_endpoint.is_none() {
            return Err(ConfigError::Missing("authorization_endpoint"));
        }
        if upstream.token_endpoint.is_none() {
            return Err(ConfigError::Missing("token_endpoint"));
        }
        Self::with_upstream(
            public_base_url,
            Upstream::Fixed(Arc::new(upstream)),
            client_id.into(),
        )
    }

    fn with_upstream(
        public_base_url: &str,
        upstream: Upstream,
        client_id: String,
    ) -> Result<Self, ConfigError> {
        let url = url::Url::parse(public_base_url).map_err(|e| ConfigError::InvalidUrl {
            option: "public_base_url",
            message: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ConfigError::InvalidUrl {
                option: "public_base_url",
                message: "must be an absolute http(s) URL".into(),
            });
        }
        Ok(OAuthProxyConfig {
            issuer: public_base_url.trim_end_matches('/').to_owned(),
            upstream,
            client_id,
            client_secret: None,
            scopes_supported: Vec::new(),
            registration_endpoint: None,
            strip_resource: true,
            metadata_suffixes: Vec::new(),
            client: default_client(),
        })
    }

    /// The upstream confidential client's secret, injected into token requests.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// `scopes_supported` of the advertised metadata.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Advertises `registration_endpoint` at `<issuer><path>` (use with
    /// [`ClientRegistrationLayer`](super::ClientRegistrationLayer), default path `/register`).
    pub fn registration_path(mut self, path: &str) -> Self {
        self.registration_endpoint = Some(format!("{}{path}", self.issuer));
        self
    }

    /// Whether the `resource` parameter is removed before forwarding (default `true`).
    pub fn strip_resource(mut self, strip: bool) -> Self {
        self.strip_resource = strip;
        self
    }

    /// Also serve the metadata at `/.well-known/oauth-authorization-server<suffix>` (e.g. `/mcp`).
    pub fn metadata_path_suffix(mut self, suffix: &str) -> Self {
        self.metadata_suffixes
            .push(suffix.trim_end_matches('/').to_owned());
        self
    }

    /// Uses `client` for upstream calls.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    fn metadata(&self) -> Value {
        let mut m = AuthorizationServerMetadata::new(self.issuer.clone());
        m.authorization_endpoint = Some(format!("{}/authorize", self.issuer));
        m.token_endpoint = Some(format!("{}/token", self.issuer));
        m.registration_endpoint = self.registration_endpoint.clone();
        m.scopes_supported = self.scopes_supported.clone();
        m.response_types_supported = vec!["code".into()];
        m.grant_types_supported = vec!["authorization_code".into(), "refresh_token".into()];
        m.token_endpoint_auth_methods_supported = vec!["none".into()];
        m.code_challenge_methods_supported = vec!["S256".into()];
        serde_json::to_value(m).unwrap_or(Value::Null)
    }

    fn metadata_paths(&self) -> Vec<String> {
        let issuer_path = url::Url::parse(&self.issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let mut suffixes = vec![String::new()];
        if !issuer_path.is_empty() {
            suffixes.push(issuer_path);
        }
        suffixes.extend(self.metadata_suffixes.iter().cloned());
        let mut paths = Vec::new();
        for s in &suffixes {
            paths.push(format!("/.well-known/oauth-authorization-server{s}"));
            paths.push(format!("/.well-known/openid-configuration{s}"));
        }
        paths
    }

    async fn upstream(&self) -> Option<Arc<AuthorizationServerMetadata>> {
        match &self.upstream {
            Upstream::Fixed(m) => Some(m.clone()),
            Upstream::Discover { issuer, discovery } => discovery.discover(issuer).await.ok(),
        }
    }
}

/// See the [module docs](self).
#[derive(Debug, Clone)]
pub struct OAuthProxyLayer {
    cfg: Arc<ProxyState>,
}

#[derive(Debug)]
struct ProxyState {
    cfg: OAuthProxyConfig,
    metadata: Value,
    metadata_paths: Vec<String>,
    authorize_path: String,
    token_path: String,
}

impl OAuthProxyLayer {
    /// The layer for `config`.
    pub fn new(config: OAuthProxyConfig) -> Self {
        let base_path = url::Url::parse(&config.issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        OAuthProxyLayer {
            cfg: Arc::new(ProxyState {
                metadata: config.metadata(),
                metadata_paths: config.metadata_paths(),
                authorize_path: format!("{base_path}/authorize"),
                token_path: format!("{base_path}/token"),
                cfg: config,
            }),
        }
    }
}

impl<S> Layer<S> for OAuthProxyLayer {
    type Service = OAuthProxy<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OAuthProxy {
            inner,
            state: self.cfg.clone(),
        }
    }
}

/// The service built by [`OAuthProxyLayer`].
#[derive(Debug, Clone)]
pub struct OAuthProxy<S> {
    inner: S,
    state: Arc<ProxyState>,
}

fn bad_gateway() -> Response<Body> {
    json_error(
        StatusCode::BAD_GATEWAY,
        "server_error",
        "The upstream authorization server could not be reached",
    )
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl ProxyState {
    fn rewrite_params(&self, pairs: Vec<(String, String)>) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .filter(|(k, _)| !(self.cfg.strip_resource && k == "resource"))
            .filter(|(k, _)| k != "client_secret")
            .map(|(k, v)| {
                if k == "client_id" {
                    (k, self.cfg.client_id.clone())
                } else {
                    (k, v)
                }
            })
            .collect()
    }

    async fn authorize(&self, query: Option<&str>) -> Response<Body> {
        let Some(up) = self.cfg.upstream().await else {
            return bad_gateway();
        };
        let Some(endpoint) = up.authorization_endpoint.as_deref() else {
            return bad_gateway();
        };
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let mut pairs = self.rewrite_params(pairs);
        if !pairs.iter().any(|(k, _)| k == "client_id") {
            pairs.push(("client_id".into(), self.cfg.client_id.clone()));
        }
        let Ok(mut url) = url::Url::parse(endpoint) else {
            return bad_gateway();
        };
        url.query_pairs_mut().extend_pairs(pairs);
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::FOUND;
        match HeaderValue::from_str(url.as_str()) {
            Ok(v) => {
                res.headers_mut().insert(LOCATION, v);
            }
            Err(_) => return bad_gateway(),
        }
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    async fn token(&self, body: &[u8]) -> Response<Body> {
        let Some(up) = self.cfg.upstream().await else {
            return bad_gateway();
        };
        let Some(endpoint) = up.token_endpoint.clone() else {
            return bad_gateway();
        };
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let mut pairs = self.rewrite_params(pairs);
        let methods = &up.token_endpoint_auth_methods_supported;
        let use_post = methods.iter().any(|m| m == "client_secret_post")
            && !methods.iter().any(|m| m == "client_secret_basic");
        let mut req = self
            .cfg
            .client
            .post(&endpoint)
            .header(http::header::ACCEPT, "application/json");
        match (&self.cfg.client_secret, use_post) {
            (Some(secret), true) => {
                pairs.retain(|(k, _)| k != "client_id");
                pairs.push(("client_id".into(), self.cfg.client_id.clone()));
                pairs.push(("client_secret".into(), secret.clone()));
            }
            (Some(secret), false) => {
                pairs.retain(|(k, _)| k != "client_id");
                let creds = format!(
                    "{}:{}",
                    form_encode(&self.cfg.client_id),
                    form_encode(secret)
                );
                req = req.header(AUTHORIZATION, format!("Basic {}", STANDARD.encode(creds)));
            }
            (None, _) => {
                if !pairs.iter().any(|(k, _)| k == "client_id") {
                    pairs.push(("client_id".into(), self.cfg.client_id.clone()));
                }
            }
        }
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let res = req
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        let Ok(res) = res else { return bad_gateway() };
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let content_type = res.headers().get(CONTENT_TYPE).cloned();
        let Ok(bytes) = res.bytes().await else {
            return bad_gateway();
        };
        let mut out = Response::new(Body::from(bytes));
        *out.status_mut() = status;
        out.headers_mut().insert(
            CONTENT_TYPE,
            content_type.unwrap_or(HeaderValue::from_static("application/json")),
        );
        out.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        out
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OAuthProxy<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let st = self.state.clone();
        let path = req.uri().path();
        let method = req.method().clone();
        if st.metadata_paths.iter().any(|p| p == path) && method == Method::GET {
            return Box::pin(async move {
                Ok(json_response(
                    StatusCode::OK,
                    &st.metadata,
                    "public, max-age=3600",
                ))
            });
        }
        if path == st.authorize_path && method == Method::GET {
            let query = req.uri().query().map(str::to_owned);
            return Box::pin(async move { Ok(st.authorize(query.as_deref()).await) });
        }
        if path == st.token_path && method == Method::POST {
            return Box::pin(async move {
                let Some(body) = read_limited(req.into_body(), 64 * 1024).await else {
                    return Ok(json_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "invalid_request",
                        "Token request too large",
                    ));
                };
                Ok(st.token(&body).await)
            });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map(|r| r.map(Body::new)) })
    }
}
