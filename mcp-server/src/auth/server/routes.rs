//! [`AuthServerLayer`]: the authorization-server routes in front of an inner service.

use super::common::{OAuthError, owner_of};
use super::config::{AuthServerConfig, State};
use crate::auth::util::{json_response, read_limited};
use crate::body::{Body, BoxError};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{ALLOW, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Serves the OAuth 2.1 authorization server (RFC 8414 metadata, `/register`,
/// `/authorize`, `/consent`, `/oauth/callback`, `/token`, under the issuer's path) and passes
/// every other request to the inner service.
///
/// Every route is rate-limited per client address (429 with `Retry-After`); put a
/// [`HostGuardLayer`](crate::transport::http::HostGuardLayer) outside it. See
/// `docs/authorization.md` for the flow, what is stored and the threat model.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthServerLayer {
    state: Arc<State>,
}

impl AuthServerLayer {
    /// The layer for `config`.
    pub fn new(config: AuthServerConfig) -> Self {
        AuthServerLayer {
            state: Arc::new(State::new(config)),
        }
    }
}

impl<S> Layer<S> for AuthServerLayer {
    type Service = AuthServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthServer {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service built by [`AuthServerLayer`].
#[derive(Debug, Clone)]
pub struct AuthServer<S> {
    inner: S,
    state: Arc<State>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Metadata,
    Register,
    Authorize,
    Consent,
    Callback,
    Token,
    Jwks,
}

impl State {
    fn route(&self, path: &str) -> Option<Route> {
        if self.metadata_paths.iter().any(|p| p == path) {
            return Some(Route::Metadata);
        }
        let rest = path.strip_prefix(self.base_path.as_str())?;
        Some(match rest {
            "/register" => Route::Register,
            "/authorize" => Route::Authorize,
            "/consent" => Route::Consent,
            "/oauth/callback" => Route::Callback,
            "/token" => Route::Token,
            "/jwks.json" if self.cfg.builtin.is_some() => Route::Jwks,
            _ => return None,
        })
    }
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = OAuthError::invalid_request(format!("Use {allow}")).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

fn too_many(retry_after: u64) -> Response<Body> {
    let mut r = OAuthError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "slow_down",
        "Too many requests from this address; retry later",
    )
    .into_response();
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    r
}

async fn handle<B>(st: Arc<State>, route: Route, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let owner = owner_of(req.extensions());
    if let Err(wait) = st.limiter.check(&owner) {
        return too_many(wait);
    }
    let (parts, body) = req.into_parts();
    let get = parts.method == Method::GET || parts.method == Method::HEAD;
    let post = parts.method == Method::POST;
    match route {
        Route::Metadata if get => {
            json_response(StatusCode::OK, &st.metadata, "public, max-age=3600")
        }
        Route::Authorize if get => super::authorize::authorize(&st, &parts, owner).await,
        Route::Callback if get => super::callback::callback(&st, &parts).await,
        Route::Jwks if get => match &st.cfg.builtin {
            Some(b) => b.keys.jwks_response(),
            None => method_not_allowed("GET"),
        },
        Route::Metadata | Route::Authorize | Route::Callback | Route::Jwks => {
            method_not_allowed("GET")
        }
        Route::Register | Route::Consent | Route::Token if !post => method_not_allowed("POST"),
        Route::Register | Route::Consent | Route::Token => {
            let Some(body) = read_limited(body, st.cfg.max_body).await else {
                let mut r =
                    OAuthError::invalid_request("The request body is too large").into_response();
                *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                return r;
            };
            match route {
                Route::Register => super::dcr::register(&st, &body, owner).await,
                Route::Consent => super::authorize::consent(&st, &parts, &body).await,
                _ => super::token::token(&st, &parts, &body).await,
            }
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthServer<S>
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
        match self.state.route(req.uri().path()) {
            Some(route) => {
                let st = self.state.clone();
                Box::pin(async move { Ok(handle(st, route, req).await) })
            }
            None => {
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map(|r| r.map(Body::new)) })
            }
        }
    }
}
