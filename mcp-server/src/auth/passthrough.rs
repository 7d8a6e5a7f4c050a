//! [`MetadataPassthroughLayer`]: serves an external authorization server's RFC 8414 metadata
//! unchanged at `/.well-known/oauth-authorization-server` on the MCP origin.
//!
//! Clients that predate RFC 9728 look for the authorization server's metadata on the MCP
//! server's own origin. When the authorization server registers clients itself (WorkOS
//! AuthKit supports DCR), the MCP server has nothing to add: this layer fetches the provider's
//! document and returns its bytes as they are. It never rewrites endpoints or client ids.
//! No header of the provider's response is copied: the document is served as
//! `application/json` with `X-Content-Type-Options: nosniff`, whatever type the provider
//! declared, so a provider answering `text/html` cannot make the MCP origin render markup.
//!
//! Bounds: one fetch at a time (callers wait for it), each fetch limited by
//! [`DEFAULT_PASSTHROUGH_TIMEOUT`] and [`DEFAULT_PASSTHROUGH_MAX_BYTES`], the document cached
//! for [`DEFAULT_PASSTHROUGH_TTL`]. When the provider cannot be reached the route answers 503
//! with `Retry-After` ([`DEFAULT_PASSTHROUGH_RETRY_AFTER`]) and does not ask again before then.

use super::ConfigError;
use super::discovery::discovery_urls;
use super::util::default_client;
use crate::body::{Body, BoxError};
use crate::transport::http::challenge::{json_error, unavailable_response};
use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tower::{Layer, Service};

/// The path this layer answers (RFC 8414 §3, root form).
pub const AUTHORIZATION_SERVER_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// How long a fetched document is served before it is fetched again: 5 minutes.
pub const DEFAULT_PASSTHROUGH_TTL: Duration = Duration::from_secs(300);
/// The limit of one fetch (connect, response and body): 5 seconds.
pub const DEFAULT_PASSTHROUGH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest document accepted: 64 KiB.
pub const DEFAULT_PASSTHROUGH_MAX_BYTES: usize = 64 * 1024;
/// After a failed fetch, the `Retry-After` of the 503 and the pause before the next try: 10 s.
pub const DEFAULT_PASSTHROUGH_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Serves the metadata of an external authorization server at
/// [`AUTHORIZATION_SERVER_METADATA_PATH`], byte for byte; every other request goes to the
/// inner service. Place it outside the [`AuthorizationLayer`](super::AuthorizationLayer): the
/// document is public.
///
/// ```
/// use mcp_rs_server::auth::MetadataPassthroughLayer;
/// let layer = MetadataPassthroughLayer::for_issuer("https://example.authkit.app")?;
/// assert_eq!(layer.upstream_url(), "https://example.authkit.app/.well-known/oauth-authorization-server");
/// # Ok::<_, mcp_rs_server::auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MetadataPassthroughLayer {
    upstream: Arc<Upstream>,
}

#[derive(Debug)]
struct Upstream {
    url: String,
    /// With [`MetadataPassthroughLayer::for_issuer`]: the `issuer` the document must name.
    issuer: Option<String>,
    client: reqwest::Client,
    ttl: Duration,
    timeout: Duration,
    max_bytes: usize,
    retry_after: Duration,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    doc: Option<(Bytes, Instant)>,
    failed_until: Option<Instant>,
}

impl MetadataPassthroughLayer {
    /// Serves the document at `url` (an absolute http(s) URL).
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `url` is not an absolute http(s) URL.
    pub fn new(url: impl Into<String>) -> Result<Self, ConfigError> {
        let url = url.into();
        let parsed = url::Url::parse(&url).map_err(|e| ConfigError::InvalidUrl {
            option: "metadata_url",
            message: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
            return Err(ConfigError::InvalidUrl {
                option: "metadata_url",
                message: "must be an absolute http(s) URL".into(),
            });
        }
        Ok(MetadataPassthroughLayer {
            upstream: Arc::new(Upstream {
                url,
                issuer: None,
                client: default_client(),
                ttl: DEFAULT_PASSTHROUGH_TTL,
                timeout: DEFAULT_PASSTHROUGH_TIMEOUT,
                max_bytes: DEFAULT_PASSTHROUGH_MAX_BYTES,
                retry_after: DEFAULT_PASSTHROUGH_RETRY_AFTER,
                state: Mutex::new(CacheState::default()),
            }),
        })
    }

    /// Serves the RFC 8414 document of `issuer`
    /// (`<origin>/.well-known/oauth-authorization-server<path>`). A document whose `issuer`
    /// is not exactly `issuer` (RFC 8414 §3.3: another environment, a misrouted host) is not
    /// served: the route answers 503 as when the provider is down.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `issuer` is not an absolute http(s) URL.
    pub fn for_issuer(issuer: &str) -> Result<Self, ConfigError> {
        let urls = discovery_urls(issuer).map_err(|e| ConfigError::InvalidUrl {
            option: "issuer",
            message: e.to_string(),
        })?;
        let layer = Self::new(urls.into_iter().next().unwrap_or_default())?;
        let issuer = issuer.to_owned();
        Ok(layer.with(|u| u.issuer = Some(issuer)))
    }

    /// The URL the document is fetched from.
    #[must_use]
    pub fn upstream_url(&self) -> &str {
        &self.upstream.url
    }

    /// How long a fetched document is served. Defaults to [`DEFAULT_PASSTHROUGH_TTL`].
    pub fn ttl(self, ttl: Duration) -> Self {
        self.with(|u| u.ttl = ttl)
    }

    /// The limit of one fetch. Defaults to [`DEFAULT_PASSTHROUGH_TIMEOUT`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|u| u.timeout = timeout)
    }

    /// The largest document accepted. Defaults to [`DEFAULT_PASSTHROUGH_MAX_BYTES`].
    pub fn max_bytes(self, max: usize) -> Self {
        self.with(|u| u.max_bytes = max)
    }

    /// `Retry-After` after a failed fetch. Defaults to [`DEFAULT_PASSTHROUGH_RETRY_AFTER`].
    pub fn retry_after(self, retry_after: Duration) -> Self {
        self.with(|u| u.retry_after = retry_after)
    }

    /// Uses `client` for fetches (keep redirects off: the document is served as fetched).
    pub fn with_client(self, client: reqwest::Client) -> Self {
        self.with(|u| u.client = client)
    }

    fn with(self, f: impl FnOnce(&mut Upstream)) -> Self {
        let mut u = Arc::try_unwrap(self.upstream).unwrap_or_else(|shared| Upstream {
            url: shared.url.clone(),
            issuer: shared.issuer.clone(),
            client: shared.client.clone(),
            ttl: shared.ttl,
            timeout: shared.timeout,
            max_bytes: shared.max_bytes,
            retry_after: shared.retry_after,
            state: Mutex::new(CacheState::default()),
        });
        f(&mut u);
        MetadataPassthroughLayer {
            upstream: Arc::new(u),
        }
    }
}

impl Upstream {
    /// The cached document, fetched when stale; `Err(wait)` while the provider is unreachable.
    async fn document(&self) -> Result<Bytes, Duration> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if let Some((body, at)) = &state.doc {
            if now.duration_since(*at) < self.ttl {
                return Ok(body.clone());
            }
        }
        if let Some(until) = state.failed_until {
            if until > now {
                return Err(until - now);
            }
        }
        match tokio::time::timeout(self.timeout, self.fetch()).await {
            Ok(Ok(body)) => {
                state.doc = Some((body.clone(), Instant::now()));
                state.failed_until = None;
                Ok(body)
            }
            outcome => {
                let why = match outcome {
                    Ok(Err(why)) => why,
                    _ => "timed out",
                };
                tracing::warn!(
                    target: "mcp_rs_server::auth::passthrough",
                    url = %self.url,
                    reason = why,
                    "authorization server metadata unavailable"
                );
                state.doc = None;
                state.failed_until = Some(Instant::now() + self.retry_after);
                Err(self.retry_after)
            }
        }
    }

    async fn fetch(&self) -> Result<Bytes, &'static str> {
        let mut res = self
            .client
            .get(&self.url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| "request failed")?;
        if res.status() != reqwest::StatusCode::OK {
            return Err("non-200 status");
        }
        if res
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err("document too large");
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = res.chunk().await.map_err(|_| "body read failed")? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err("document too large");
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        let Ok(doc) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body)
        else {
            return Err("document is not a JSON object");
        };
        if let Some(expected) = &self.issuer {
            if doc.get("issuer").and_then(serde_json::Value::as_str) != Some(expected.as_str()) {
                return Err("the document's issuer is not the configured issuer");
            }
        }
        Ok(body)
    }
}

impl<S> Layer<S> for MetadataPassthroughLayer {
    type Service = MetadataPassthrough<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetadataPassthrough {
            inner,
            upstream: Arc::clone(&self.upstream),
        }
    }
}

/// The service built by [`MetadataPassthroughLayer`].
#[derive(Debug, Clone)]
pub struct MetadataPassthrough<S> {
    inner: S,
    upstream: Arc<Upstream>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetadataPassthrough<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
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
        if req.uri().path() != AUTHORIZATION_SERVER_METADATA_PATH {
            let fut = self.inner.call(req);
            return Box::pin(async move { fut.await.map(|r| r.map(Body::new)) });
        }
        let upstream = Arc::clone(&self.upstream);
        let method = req.method().clone();
        Box::pin(async move { Ok(serve(&upstream, &method).await) })
    }
}

async fn serve(upstream: &Upstream, method: &Method) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "Method not allowed",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match upstream.document().await {
        Ok(body) => {
            let body = if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(body)
            };
            let mut res = Response::new(body);
            let h = res.headers_mut();
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            if let Ok(v) =
                HeaderValue::from_str(&format!("public, max-age={}", upstream.ttl.as_secs()))
            {
                h.insert(CACHE_CONTROL, v);
            }
            res
        }
        Err(wait) => unavailable_response(
            wait,
            "The authorization server metadata is temporarily unavailable",
        ),
    }
}
