//! [`HostGuardLayer`]: the transport's DNS-rebinding guard (`Host` and `Origin` allow-lists) as
//! a tower layer, for routes mounted beside the MCP endpoint (OAuth authorization-server
//! routes, metadata documents, anything else).
//!
//! [`StreamableHttpService`](super::StreamableHttpService) checks its own requests; put this
//! layer outside every other route so that they get the same protection. A refused request
//! gets `403` with a JSON body `{"error": "forbidden", "error_description": …}` and
//! `Cache-Control: no-store`; the inner service is not called.

use super::config::HttpConfig;
use super::guard::HostGuard;
use crate::body::{Body, BoxError};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode};
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Applies the `Host`/`Origin` allow-lists of an [`HttpConfig`] to every request.
#[derive(Debug, Clone)]
#[must_use]
pub struct HostGuardLayer {
    guard: HostGuard,
}

impl HostGuardLayer {
    /// The allow-lists of `config` (localhost on any port plus
    /// [`HttpConfig::allowed_hosts`] / [`HttpConfig::allowed_origins`]; nothing checked when
    /// the config disabled the guard).
    pub fn from_config(config: &HttpConfig) -> Self {
        HostGuardLayer {
            guard: config.guard.clone(),
        }
    }
}

impl<S> Layer<S> for HostGuardLayer {
    type Service = HostGuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HostGuardService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service built by [`HostGuardLayer`].
#[derive(Debug, Clone)]
pub struct HostGuardService<S> {
    inner: S,
    guard: HostGuard,
}

fn forbidden(message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": "forbidden", "error_description": message });
    let mut res = Response::new(Body::json(&body));
    *res.status_mut() = StatusCode::FORBIDDEN;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HostGuardService<S>
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
        let (parts, body) = req.into_parts();
        if let Err(rejection) = self.guard.check(&parts) {
            let res = forbidden(&rejection.message());
            return Box::pin(async move { Ok(res) });
        }
        let fut = self.inner.call(Request::from_parts(parts, body));
        Box::pin(async move { fut.await.map(|r| r.map(Body::new)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn status(layer: &HostGuardLayer, host: &str, origin: Option<&str>) -> u16 {
        let inner = tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        });
        let mut b = Request::builder().uri("/token").header("host", host);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        let res = layer
            .layer(inner)
            .oneshot(b.body(Body::empty()).unwrap())
            .await
            .unwrap();
        res.status().as_u16()
    }

    #[tokio::test]
    async fn foreign_host_and_origin_are_refused() {
        let layer =
            HostGuardLayer::from_config(&HttpConfig::default().allowed_hosts(["mcp.example.com"]));
        assert_eq!(status(&layer, "127.0.0.1:8000", None).await, 200);
        assert_eq!(status(&layer, "mcp.example.com", None).await, 200);
        assert_eq!(status(&layer, "evil.example.com", None).await, 403);
        assert_eq!(
            status(&layer, "localhost:1", Some("http://evil.example.com")).await,
            403
        );
    }
}
