//! CORS for browser-based MCP clients.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tower::{Layer, Service};

use super::config::HttpConfig;
use super::guard::HostAllowList;

/// Request headers a browser may send (lower case); `mcp-param-*` is matched by prefix.
const ALLOWED_HEADERS: [&str; 8] = [
    "authorization",
    "content-type",
    "accept",
    "mcp-protocol-version",
    "mcp-session-id",
    "last-event-id",
    "mcp-method",
    "mcp-name",
];
const PARAM_PREFIX: &str = "mcp-param-";
const EXPOSED: &str = "Mcp-Session-Id, WWW-Authenticate";
const METHODS: &str = "GET, POST, DELETE, OPTIONS";
const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

#[derive(Debug, Clone)]
enum OriginPolicy {
    Any,
    Guard(HostAllowList),
}

/// A [`Layer`] adding MCP's CORS rules.
///
/// [`CorsLayer`] answers preflight requests itself, before any inner layer (put it outside the
/// authorization layer, so a preflight never needs a token), and adds
/// `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers: Mcp-Session-Id,
/// WWW-Authenticate` to the answers of allowed origins. It allows the request headers MCP uses:
/// `Authorization`, `Content-Type`, `Accept`, `MCP-Protocol-Version`, `Mcp-Session-Id`,
/// `Last-Event-ID`, `Mcp-Method`, `Mcp-Name` and every `Mcp-Param-*` (a prefix rule that a
/// fixed list of allowed headers cannot express, hence a layer of its own).
///
/// ```
/// use mcp_rs_server::transport::http::CorsLayer;
/// use tower::{Layer, ServiceExt};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let svc = CorsLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(mcp_rs_server::body::Body::empty()))
/// }));
/// let preflight = http::Request::options("/mcp")
///     .header("origin", "http://localhost:5173")
///     .header("access-control-request-method", "POST")
///     .header("access-control-request-headers", "content-type, mcp-session-id")
///     .body(())
///     .unwrap();
/// let res = svc.oneshot(preflight).await.unwrap();
/// assert_eq!(res.status(), 204);
/// assert_eq!(res.headers()["access-control-allow-origin"], "http://localhost:5173");
/// assert_eq!(res.headers()["access-control-allow-headers"], "content-type, mcp-session-id");
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CorsLayer {
    policy: Arc<OriginPolicy>,
    max_age: u64,
}

impl Default for CorsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CorsLayer {
    /// Allows localhost origins (`http(s)://localhost|127.0.0.1|[::1]` on any port).
    pub fn new() -> Self {
        CorsLayer {
            policy: Arc::new(OriginPolicy::Guard(HostAllowList::localhost())),
            max_age: 7200,
        }
    }

    /// Allows the origins the transport's DNS-rebinding guard of `config` accepts (localhost
    /// plus [`HttpConfig::allowed_origins`]; every origin when the guard is disabled).
    pub fn from_config(config: &HttpConfig) -> Self {
        let policy = if config.guard.is_enabled() {
            OriginPolicy::Guard(config.guard.clone())
        } else {
            OriginPolicy::Any
        };
        CorsLayer {
            policy: Arc::new(policy),
            max_age: 7200,
        }
    }

    /// Allows localhost origins and `origins` (e.g. `https://app.example.com`).
    pub fn allow_origins<I, S>(self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut guard = match &*self.policy {
            OriginPolicy::Guard(g) => g.clone(),
            OriginPolicy::Any => return self,
        };
        guard.add_origins(origins);
        CorsLayer {
            policy: Arc::new(OriginPolicy::Guard(guard)),
            ..self
        }
    }

    /// Allows every origin. Only sensible for a public server without cookies (bearer tokens
    /// are not sent automatically by browsers, so this does not expose them).
    pub fn allow_any_origin(self) -> Self {
        CorsLayer {
            policy: Arc::new(OriginPolicy::Any),
            ..self
        }
    }

    /// How long browsers may cache a preflight answer (default 7200 s).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = seconds;
        self
    }

    fn allows(&self, origin: &str) -> bool {
        match &*self.policy {
            OriginPolicy::Any => true,
            OriginPolicy::Guard(g) => g.origin_allowed(origin),
        }
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cors {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    layer: CorsLayer,
}

impl<S> Cors<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The allowed subset of an `Access-Control-Request-Headers` list, or `None` when a requested
/// header is not allowed.
fn allowed_request_headers(requested: &str) -> Option<String> {
    let mut out = Vec::new();
    for h in requested.split(',') {
        let h = h.trim().to_ascii_lowercase();
        if h.is_empty() {
            continue;
        }
        let ok = ALLOWED_HEADERS.contains(&h.as_str())
            || (h.len() > PARAM_PREFIX.len() && h.starts_with(PARAM_PREFIX));
        if !ok {
            return None;
        }
        out.push(h);
    }
    Some(out.join(", "))
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Cors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let origin = req
            .headers()
            .get(ORIGIN)
            .filter(|o| o.to_str().is_ok_and(|o| self.layer.allows(o)))
            .cloned();
        let is_preflight = req.method() == Method::OPTIONS
            && req.headers().contains_key(ORIGIN)
            && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        if is_preflight {
            let mut res = Response::new(ResBody::default());
            *res.status_mut() = StatusCode::NO_CONTENT;
            let h = res.headers_mut();
            h.insert(VARY, HeaderValue::from_static(VARY_PREFLIGHT));
            let requested = req
                .headers()
                .get(ACCESS_CONTROL_REQUEST_HEADERS)
                .map(|v| v.to_str().map(allowed_request_headers).ok().flatten());
            // Only an allowed origin asking for allowed headers gets the grant; otherwise the
            // browser sees no `Access-Control-Allow-Origin` and blocks the request.
            let grant = match (origin, requested) {
                (Some(origin), None) => Some((origin, String::new())),
                (Some(origin), Some(Some(headers))) => Some((origin, headers)),
                _ => None,
            };
            if let Some((origin, headers)) = grant {
                h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                h.insert(
                    ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(METHODS),
                );
                if !headers.is_empty() {
                    if let Ok(v) = HeaderValue::from_str(&headers) {
                        h.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
                    }
                }
                h.insert(
                    ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from(self.layer.max_age),
                );
            }
            return ResponseFuture {
                kind: Kind::Preflight {
                    response: Some(res),
                },
            };
        }
        ResponseFuture {
            kind: Kind::Inner {
                future: self.inner.call(req),
                origin,
            },
        }
    }
}

pin_project! {
    /// The response future of [`Cors`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F, origin: Option<HeaderValue> },
        Preflight { response: Option<Response<B>> },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Preflight { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => Poll::Pending,
            },
            KindProj::Inner { future, origin } => {
                let mut res = ready!(future.poll(cx))?;
                let h = res.headers_mut();
                h.append(VARY, HeaderValue::from_static("Origin"));
                if let Some(origin) = origin.take() {
                    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                    h.insert(
                        ACCESS_CONTROL_EXPOSE_HEADERS,
                        HeaderValue::from_static(EXPOSED),
                    );
                }
                Poll::Ready(Ok(res))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;
    use std::convert::Infallible;
    use tower::ServiceExt;

    fn svc(
        layer: CorsLayer,
    ) -> Cors<impl Service<Request<()>, Response = Response<Body>, Error = Infallible> + Clone>
    {
        layer.layer(tower::service_fn(|_req: Request<()>| async {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::UNAUTHORIZED; // as an auth layer would answer
            Ok::<_, Infallible>(res)
        }))
    }

    fn preflight(origin: &str, headers: &str) -> Request<()> {
        Request::options("/mcp")
            .header(ORIGIN, origin)
            .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(ACCESS_CONTROL_REQUEST_HEADERS, headers)
            .body(())
            .unwrap()
    }

    #[tokio::test]
    async fn preflight_is_answered_before_inner_layers() {
        let res = svc(CorsLayer::new())
            .oneshot(preflight(
                "http://127.0.0.1:6274",
                "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Param-Region, Last-Event-ID",
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(
            res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:6274"
        );
        assert_eq!(res.headers()[ACCESS_CONTROL_ALLOW_METHODS], METHODS);
        assert_eq!(
            res.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization, content-type, mcp-protocol-version, mcp-param-region, last-event-id"
        );
        assert_eq!(res.headers()[ACCESS_CONTROL_MAX_AGE], "7200");
    }

    #[tokio::test]
    async fn foreign_origin_or_header_gets_no_grant() {
        let res = svc(CorsLayer::new())
            .oneshot(preflight("https://evil.example.com", "content-type"))
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let res = svc(CorsLayer::new())
            .oneshot(preflight("http://localhost", "x-evil"))
            .await
            .unwrap();
        assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let res = svc(CorsLayer::new().allow_origins(["https://app.example.com"]))
            .oneshot(preflight("https://app.example.com", "mcp-session-id"))
            .await
            .unwrap();
        assert_eq!(
            res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
    }

    #[tokio::test]
    async fn actual_response_exposes_session_id_and_challenge() {
        let req = Request::post("/mcp")
            .header(ORIGIN, "http://localhost:3000")
            .body(())
            .unwrap();
        let res = svc(CorsLayer::new()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:3000"
        );
        assert_eq!(res.headers()[ACCESS_CONTROL_EXPOSE_HEADERS], EXPOSED);
        let req = Request::post("/mcp")
            .header(ORIGIN, "https://evil.example.com")
            .body(())
            .unwrap();
        let res = svc(CorsLayer::new()).oneshot(req).await.unwrap();
        assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let req = Request::post("/mcp")
            .header(ORIGIN, "https://evil.example.com")
            .body(())
            .unwrap();
        let res = svc(CorsLayer::new().allow_any_origin())
            .oneshot(req)
            .await
            .unwrap();
        assert_eq!(
            res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://evil.example.com"
        );
    }
}
