//! RFC 9728 OAuth 2.0 Protected Resource Metadata, and the layer that serves it before auth.

use super::ConfigError;
use super::util::json_response;
use crate::body::{Body, BoxError};
use bytes::Bytes;
use futures::future::{BoxFuture, Either, Ready};
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The well-known path prefix of RFC 9728.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// Derives the metadata URL of `resource` (RFC 9728 §3.1): the well-known segment is inserted
/// between the host and the path, and a trailing `/` of the path is dropped.
///
/// ```
/// use mcp_rs_server::auth::metadata_url_for;
/// assert_eq!(
///     metadata_url_for("https://api.example.com/mcp").unwrap(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert_eq!(
///     metadata_url_for("http://localhost:8000").unwrap(),
///     "http://localhost:8000/.well-known/oauth-protected-resource"
/// );
/// ```
///
/// # Errors
/// [`ConfigError::InvalidUrl`] when `resource` is not an absolute http(s) URL, or has a
/// fragment (RFC 9728 §1.2).
pub fn metadata_url_for(resource: &str) -> Result<String, ConfigError> {
    let url = parse_resource(resource)?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Ok(format!("{origin}{WELL_KNOWN_PATH}{path}{query}"))
}

fn parse_resource(resource: &str) -> Result<url::Url, ConfigError> {
    let invalid = |message: &str| ConfigError::InvalidUrl {
        option: "resource",
        message: message.to_owned(),
    };
    let url = url::Url::parse(resource).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(
            "scheme must be https (or http for local development)",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not contain a fragment"));
    }
    if url.host().is_none() {
        return Err(invalid("must have a host"));
    }
    Ok(url)
}

/// An RFC 9728 protected-resource metadata document. `resource` is required; every other
/// field is optional and omitted from JSON when unset. Unknown and localized fields (e.g.
/// `resource_name#fr`) go through [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: the public URL of the MCP endpoint.
    pub resource: String,
    /// Issuer identifiers of authorization servers that issue tokens for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// URL of the resource's own JWK set (for signed responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Scopes used in requests to this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How bearer tokens may be presented; `["header"]` by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bearer_methods_supported: Vec<String>,
    /// JWS algorithms the resource signs responses with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_signing_alg_values_supported: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// URL of developer documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// URL of the data-use policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy_uri: Option<String>,
    /// URL of the terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tos_uri: Option<String>,
    /// Whether tokens must be mTLS-bound (RFC 8705).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// RFC 9396 authorization details types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_details_types_supported: Vec<String>,
    /// DPoP algorithms (RFC 9449).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Whether DPoP-bound tokens are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens_required: Option<bool>,
    /// A signed JWT of these claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_metadata: Option<String>,
    /// Any other field, including localized ones (`resource_name#de`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProtectedResourceMetadata {
    /// A document for `resource`, with `bearer_methods_supported: ["header"]`.
    #[must_use]
    pub fn new(resource: impl Into<String>) -> Self {
        ProtectedResourceMetadata {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            jwks_uri: None,
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_signing_alg_values_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            tls_client_certificate_bound_access_tokens: None,
            authorization_details_types_supported: Vec::new(),
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: None,
            signed_metadata: None,
            extra: Map::new(),
        }
    }

    /// Adds an authorization server (its issuer identifier).
    #[must_use]
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Sets `scopes_supported`.
    #[must_use]
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `bearer_methods_supported`.
    #[must_use]
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `jwks_uri`.
    #[must_use]
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Sets `resource_name`.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Sets a localized `resource_name#<lang>` (RFC 9728 §2.1).
    #[must_use]
    pub fn localized_resource_name(mut self, lang: &str, name: impl Into<String>) -> Self {
        self.extra
            .insert(format!("resource_name#{lang}"), Value::String(name.into()));
        self
    }

    /// Sets `resource_documentation`.
    #[must_use]
    pub fn resource_documentation(mut self, uri: impl Into<String>) -> Self {
        self.resource_documentation = Some(uri.into());
        self
    }

    /// Sets `resource_policy_uri`.
    #[must_use]
    pub fn resource_policy_uri(mut self, uri: impl Into<String>) -> Self {
        self.resource_policy_uri = Some(uri.into());
        self
    }

    /// Sets `resource_tos_uri`.
    #[must_use]
    pub fn resource_tos_uri(mut self, uri: impl Into<String>) -> Self {
        self.resource_tos_uri = Some(uri.into());
        self
    }

    /// Sets `resource_signing_alg_values_supported`.
    #[must_use]
    pub fn resource_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_signing_alg_values_supported = algs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `tls_client_certificate_bound_access_tokens`.
    #[must_use]
    pub fn tls_client_certificate_bound_access_tokens(mut self, v: bool) -> Self {
        self.tls_client_certificate_bound_access_tokens = Some(v);
        self
    }

    /// Sets `authorization_details_types_supported`.
    #[must_use]
    pub fn authorization_details_types_supported<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_details_types_supported = types.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `dpop_signing_alg_values_supported`.
    #[must_use]
    pub fn dpop_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dpop_signing_alg_values_supported = algs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `dpop_bound_access_tokens_required`.
    #[must_use]
    pub fn dpop_bound_access_tokens_required(mut self, v: bool) -> Self {
        self.dpop_bound_access_tokens_required = Some(v);
        self
    }

    /// Sets `signed_metadata`.
    #[must_use]
    pub fn signed_metadata(mut self, jwt: impl Into<String>) -> Self {
        self.signed_metadata = Some(jwt.into());
        self
    }

    /// Adds any other field.
    #[must_use]
    pub fn extra(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// The public URL of this document (see [`metadata_url_for`]).
    ///
    /// # Errors
    /// See [`metadata_url_for`].
    pub fn metadata_url(&self) -> Result<String, ConfigError> {
        metadata_url_for(&self.resource)
    }
}

/// Serves a [`ProtectedResourceMetadata`] document at the root well-known path and at the
/// path-suffixed form for the resource path; every other request goes to the inner service.
/// Place it outside the [`AuthorizationLayer`](super::AuthorizationLayer): the document is public.
///
/// For a resource `https://api.example.com/mcp` the document is served at
/// `/.well-known/oauth-protected-resource/mcp` (RFC 9728 §3.1) and, for clients that only try
/// the root, at `/.well-known/oauth-protected-resource`.
///
/// ```
/// use mcp_rs_server::auth::{ProtectedResourceMetadata, ResourceMetadataLayer};
/// use mcp_rs_server::body::Body;
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let prm = ProtectedResourceMetadata::new("https://api.example.com/mcp")
///     .authorization_server("https://idp.example.com/realms/mcp")
///     .scopes_supported(["mcp:read", "mcp:write"]);
/// let svc = ResourceMetadataLayer::new(prm).layer(tower::service_fn(|_r: Request<Body>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
/// }));
/// let res = svc
///     .oneshot(Request::get("/.well-known/oauth-protected-resource/mcp").body(Body::empty()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.headers()["content-type"], "application/json");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ResourceMetadataLayer {
    cfg: Arc<PrmConfig>,
}

#[derive(Debug)]
struct PrmConfig {
    json: Value,
    paths: Vec<String>,
}

impl ResourceMetadataLayer {
    /// Serves `metadata`.
    ///
    /// # Panics
    /// If `metadata.resource` is not an absolute http(s) URL without a fragment.
    #[track_caller]
    #[must_use]
    pub fn new(metadata: ProtectedResourceMetadata) -> Self {
        match Self::try_new(metadata) {
            Ok(l) => l,
            Err(e) => panic!("Invalid protected resource metadata: {e}"),
        }
    }

    /// Like [`new`](Self::new), reporting a bad `resource`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad `resource`.
    pub fn try_new(metadata: ProtectedResourceMetadata) -> Result<Self, ConfigError> {
        let url = parse_resource(&metadata.resource)?;
        let suffix = url.path().trim_end_matches('/');
        let mut paths = vec![WELL_KNOWN_PATH.to_owned()];
        if !suffix.is_empty() {
            paths.push(format!("{WELL_KNOWN_PATH}{suffix}"));
        }
        let json =
            serde_json::to_value(&metadata).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(ResourceMetadataLayer {
            cfg: Arc::new(PrmConfig { json, paths }),
        })
    }

    /// The request paths answered by this layer.
    #[must_use]
    pub fn paths(&self) -> &[String] {
        &self.cfg.paths
    }
}

impl<S> Layer<S> for ResourceMetadataLayer {
    type Service = ResourceMetadata<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResourceMetadata {
            inner,
            cfg: self.cfg.clone(),
        }
    }
}

/// The service built by [`ResourceMetadataLayer`].
#[derive(Debug, Clone)]
pub struct ResourceMetadata<S> {
    inner: S,
    cfg: Arc<PrmConfig>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ResourceMetadata<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<
        Ready<Result<Response<Body>, S::Error>>,
        BoxFuture<'static, Result<Response<Body>, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let path = req.uri().path();
        if self.cfg.paths.iter().any(|p| p == path) {
            let res = match *req.method() {
                Method::GET | Method::HEAD => {
                    json_response(StatusCode::OK, &self.cfg.json, "public, max-age=3600")
                }
                Method::OPTIONS => {
                    // CORS preflight belongs to the CORS layer outside; answer plainly.
                    let mut r = Response::new(Body::empty());
                    *r.status_mut() = StatusCode::NO_CONTENT;
                    r.headers_mut().insert(
                        http::header::ALLOW,
                        http::HeaderValue::from_static("GET, HEAD, OPTIONS"),
                    );
                    r
                }
                _ => {
                    let mut r = crate::transport::http::challenge::json_error(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "invalid_request",
                        "Method not allowed",
                    );
                    r.headers_mut().insert(
                        http::header::ALLOW,
                        http::HeaderValue::from_static("GET, HEAD, OPTIONS"),
                    );
                    r
                }
            };
            return Either::Left(futures::future::ready(Ok(res)));
        }
        let fut = self.inner.call(req);
        Either::Right(Box::pin(async move { fut.await.map(|r| r.map(Body::new)) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_document_serialises_every_field() {
        let prm = ProtectedResourceMetadata::new("https://api.example.com/mcp")
            .authorization_server("https://idp.example.com")
            .scopes_supported(["mcp:read"])
            .jwks_uri("https://api.example.com/jwks")
            .resource_name("Notes")
            .localized_resource_name("fr", "Notes FR")
            .resource_documentation("https://docs.example.com")
            .resource_policy_uri("https://example.com/policy")
            .resource_tos_uri("https://example.com/tos")
            .resource_signing_alg_values_supported(["RS256"])
            .tls_client_certificate_bound_access_tokens(false)
            .authorization_details_types_supported(["payment"])
            .dpop_signing_alg_values_supported(["ES256"])
            .dpop_bound_access_tokens_required(false)
            .signed_metadata("eyJ.x.y")
            .extra("custom", json!(1));
        assert_eq!(
            serde_json::to_value(&prm).unwrap(),
            json!({
                "resource": "https://api.example.com/mcp",
                "authorization_servers": ["https://idp.example.com"],
                "jwks_uri": "https://api.example.com/jwks",
                "scopes_supported": ["mcp:read"],
                "bearer_methods_supported": ["header"],
                "resource_signing_alg_values_supported": ["RS256"],
                "resource_name": "Notes",
                "resource_name#fr": "Notes FR",
                "resource_documentation": "https://docs.example.com",
                "resource_policy_uri": "https://example.com/policy",
                "resource_tos_uri": "https://example.com/tos",
                "tls_client_certificate_bound_access_tokens": false,
                "authorization_details_types_supported": ["payment"],
                "dpop_signing_alg_values_supported": ["ES256"],
                "dpop_bound_access_tokens_required": false,
                "signed_metadata": "eyJ.x.y",
                "custom": 1
            })
        );
        let back: ProtectedResourceMetadata =
            serde_json::from_value(serde_json::to_value(&prm).unwrap()).unwrap();
        assert_eq!(back, prm);
    }

    #[test]
    fn metadata_urls() {
        assert_eq!(
            metadata_url_for("https://a.example/mcp/").unwrap(),
            "https://a.example/.well-known/oauth-protected-resource/mcp"
        );
        assert!(metadata_url_for("ftp://a.example/mcp").is_err());
        assert!(metadata_url_for("https://a.example/mcp#x").is_err());
        assert!(metadata_url_for("/mcp").is_err());
        let l =
            ResourceMetadataLayer::new(ProtectedResourceMetadata::new("https://a.example/v1/mcp"));
        assert_eq!(
            l.paths(),
            [
                "/.well-known/oauth-protected-resource".to_owned(),
                "/.well-known/oauth-protected-resource/v1/mcp".to_owned()
            ]
        );
    }
}
