//! RFC 7591 Dynamic Client Registration for IdPs that lack it (Entra), as a layer.
//!
//! [`ClientRegistrationLayer`] answers `POST /register` (configurable) through a
//! [`ClientRegistrar`]; [`InMemoryClientRegistrar`] registers public clients (PKCE,
//! `token_endpoint_auth_method: none`) in memory. Pair it with the
//! [`OAuthProxyLayer`](super::OAuthProxyLayer), which advertises the `registration_endpoint`
//! and maps registered clients to the upstream application.
//!
//! Redirect URIs must be `https`, `http` on a loopback host (`localhost`, `127.0.0.1`,
//! `[::1]`), or a private-use scheme containing a dot (`com.example.app:/cb`); no fragments.

use super::util::{json_response, now_secs, read_limited};
use crate::body::{Body, BoxError};
use crate::transport::http::challenge::json_error;
use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Client metadata sent to the registration endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientMetadata {
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Client name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Grant types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// Response types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types: Vec<String>,
    /// Token endpoint authentication method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Requested scopes (space-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Other metadata (`client_uri`, `logo_uri`, `software_id`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A registered client (RFC 7591 §3.2.1).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisteredClient {
    /// The issued client id.
    pub client_id: String,
    /// The issued secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Issue time (seconds since the epoch).
    pub client_id_issued_at: u64,
    /// Secret expiry (0 = never), present with a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// The registered metadata.
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}

impl fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// A rejected registration (RFC 7591 §3.2.2), answered with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// `invalid_redirect_uri`.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// `invalid_client_metadata`.
    #[error("{0}")]
    InvalidClientMetadata(String),
}

impl RegistrationError {
    fn code(&self) -> &'static str {
        match self {
            RegistrationError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            RegistrationError::InvalidClientMetadata(_) => "invalid_client_metadata",
        }
    }
}

/// Registers clients. Implement it to persist registrations.
#[async_trait]
pub trait ClientRegistrar: Send + Sync + 'static {
    /// Registers a client.
    async fn register(
        &self,
        request: ClientMetadata,
    ) -> Result<RegisteredClient, RegistrationError>;

    /// Looks a client up.
    async fn get(&self, client_id: &str) -> Option<RegisteredClient>;
}

/// Checks a redirect URI (see the [module docs](self)).
///
/// # Errors
/// [`RegistrationError::InvalidRedirectUri`] with the reason.
pub fn validate_redirect_uri(uri: &str) -> Result<(), RegistrationError> {
    let bad = |m: &str| Err(RegistrationError::InvalidRedirectUri(m.to_owned()));
    let Ok(url) = url::Url::parse(uri) else {
        return bad("redirect URI is not an absolute URI");
    };
    if url.fragment().is_some() {
        return bad("redirect URI must not contain a fragment");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => bad("http redirect URIs must use a loopback host"),
        },
        s if s.contains('.') => Ok(()),
        _ => bad("unsupported redirect URI scheme"),
    }
}

/// Public clients registered in memory (lost on restart).
#[derive(Debug, Default, Clone)]
pub struct InMemoryClientRegistrar {
    clients: Arc<Mutex<HashMap<String, RegisteredClient>>>,
}

impl InMemoryClientRegistrar {
    /// An empty registrar.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of registered clients.
    #[must_use]
    pub fn len(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Whether no client is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ClientRegistrar for InMemoryClientRegistrar {
    async fn register(
        &self,
        mut request: ClientMetadata,
    ) -> Result<RegisteredClient, RegistrationError> {
        if request.redirect_uris.is_empty() {
            return Err(RegistrationError::InvalidRedirectUri(
                "at least one redirect URI is required".into(),
            ));
        }
        for uri in &request.redirect_uris {
            validate_redirect_uri(uri)?;
        }
        if request
            .grant_types
            .iter()
            .any(|g| g != "authorization_code" && g != "refresh_token")
        {
            return Err(RegistrationError::InvalidClientMetadata(
                "only authorization_code and refresh_token grants are supported".into(),
            ));
        }
        if request.grant_types.is_empty() {
            request.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
        }
        if request.response_types.is_empty() {
            request.response_types = vec!["code".into()];
        }
        // Public clients with PKCE: the upstream secret stays on the server.
        request.token_endpoint_auth_method = Some("none".into());
        let client = RegisteredClient {
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret: None,
            client_id_issued_at: now_secs(),
            client_secret_expires_at: None,
            metadata: request,
        };
        if let Ok(mut c) = self.clients.lock() {
            if c.len() >= 100_000 {
                return Err(RegistrationError::InvalidClientMetadata(
                    "registration limit reached".into(),
                ));
            }
            c.insert(client.client_id.clone(), client.clone());
        }
        Ok(client)
    }

    async fn get(&self, client_id: &str) -> Option<RegisteredClient> {
        self.clients.lock().ok()?.get(client_id).cloned()
    }
}

/// Serves `POST <path>` (default `/register`) through a [`ClientRegistrar`]; other requests go
/// to the inner service. Place it outside the [`AuthorizationLayer`](super::AuthorizationLayer).
#[derive(Clone)]
pub struct ClientRegistrationLayer {
    registrar: Arc<dyn ClientRegistrar>,
    path: Arc<str>,
}

impl fmt::Debug for ClientRegistrationLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistrationLayer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ClientRegistrationLayer {
    /// Registration through `registrar` at `/register`.
    #[must_use]
    pub fn new(registrar: impl ClientRegistrar) -> Self {
        ClientRegistrationLayer {
            registrar: Arc::new(registrar),
            path: Arc::from("/register"),
        }
    }

    /// Serves registration at `path` instead.
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        self.path = Arc::from(path);
        self
    }
}

impl<S> Layer<S> for ClientRegistrationLayer {
    type Service = ClientRegistration<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientRegistration {
            inner,
            registrar: self.registrar.clone(),
            path: self.path.clone(),
        }
    }
}

/// The service built by [`ClientRegistrationLayer`].
#[derive(Clone)]
pub struct ClientRegistration<S> {
    inner: S,
    registrar: Arc<dyn ClientRegistrar>,
    path: Arc<str>,
}

impl<S: fmt::Debug> fmt::Debug for ClientRegistration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientRegistration<S>
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
        if req.uri().path() != &*self.path {
            let fut = self.inner.call(req);
            return Box::pin(async move { fut.await.map(|r| r.map(Body::new)) });
        }
        let registrar = self.registrar.clone();
        Box::pin(async move {
            if req.method() != Method::POST {
                let mut r = json_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "invalid_request",
                    "Use POST",
                );
                r.headers_mut()
                    .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
                return Ok(r);
            }
            let Some(body) = read_limited(req.into_body(), 64 * 1024).await else {
                return Ok(json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_client_metadata",
                    "Registration request too large",
                ));
            };
            let Ok(request) = serde_json::from_slice::<ClientMetadata>(&body) else {
                return Ok(json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client_metadata",
                    "The registration request is not valid client metadata",
                ));
            };
            Ok(match registrar.register(request).await {
                Ok(client) => {
                    tracing::info!(target: "mcp_server::auth::audit", client = %client.client_id, "client registered");
                    let v = serde_json::to_value(&client).unwrap_or(Value::Null);
                    json_response(StatusCode::CREATED, &v, "no-store")
                }
                Err(e) => json_error(StatusCode::BAD_REQUEST, e.code(), &e.to_string()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        assert!(validate_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(validate_redirect_uri("http://localhost:6274/oauth/callback").is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1:33418/").is_ok());
        assert!(validate_redirect_uri("http://[::1]:8080/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app:/cb").is_ok());
        assert!(validate_redirect_uri("http://evil.example.com/cb").is_err());
        assert!(validate_redirect_uri("javascript:alert(1)").is_err());
        assert!(validate_redirect_uri("https://a.example/cb#frag").is_err());
        assert!(validate_redirect_uri("/relative").is_err());
    }
}
