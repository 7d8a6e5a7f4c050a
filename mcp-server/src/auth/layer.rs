//! [`AuthorizationLayer`] → [`Authorization`]: bearer-token validation in front of the MCP service.

use super::server::forwarded::{ForwardedAuth, ForwardedRejection, ForwardedUser};
use super::validator::{AuthorizationResult, TokenValidator};
use super::{ConfigError, audit};
use crate::body::{Body, BoxError};
use crate::identity::OAuthContext;
use crate::transport::http::challenge::{self, ChallengeInfo};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::AUTHORIZATION;
use http::{Method, Request, Response};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::Layer;
use tower::Service;

/// Validates `Authorization: Bearer …` on every request and puts the verified
/// [`OAuthContext`] (as `Arc<OAuthContext>`, shared with the validator's cache) and a
/// [`ChallengeInfo`] into the request extensions.
///
/// | Request | Response |
/// |---|---|
/// | `OPTIONS` (CORS preflight) | passed through untouched |
/// | no `Authorization` header | 401, `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` |
/// | header not `Bearer <token68>`, or repeated | 400 `invalid_request` |
/// | token rejected | 401 `invalid_token` |
/// | token lacks the layer's required scopes | 403 `insufficient_scope` |
/// | keys unavailable | 503 with `Retry-After` |
///
/// # Example
/// ```
/// use http::{Request, Response};
/// use mcp_rs_server::auth::{AuthorizationLayer, StaticKeyValidator};
/// use mcp_rs_server::body::Body;
/// use mcp_rs_server::identity::OAuthContext;
/// use std::sync::Arc;
/// use tower::{Layer, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let layer = AuthorizationLayer::new(
///     StaticKeyValidator::new().key("s3cret", "ci-bot", ["mcp:read"]),
///     "https://api.example.com/mcp",
/// )?;
/// let svc = layer.layer(tower::service_fn(|req: Request<Body>| async move {
///     let who = req.extensions().get::<Arc<OAuthContext>>().map(|c| c.subject.clone());
///     Ok::<_, std::convert::Infallible>(Response::new(Body::from(who.unwrap_or_default())))
/// }));
///
/// // A wrong key: 401 `invalid_token`, pointing at the protected-resource metadata.
/// let req = Request::post("/mcp").header("authorization", "Bearer nope").body(Body::empty())?;
/// let res = svc.clone().oneshot(req).await?;
/// assert_eq!(res.status(), 401);
/// let challenge = res.headers()["www-authenticate"].to_str()?;
/// assert!(challenge.starts_with(r#"Bearer error="invalid_token""#));
/// assert!(challenge.contains(
///     r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
/// ));
///
/// // The right key reaches the service with its identity.
/// let req = Request::post("/mcp").header("authorization", "Bearer s3cret").body(Body::empty())?;
/// assert_eq!(svc.oneshot(req).await?.status(), 200);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct AuthorizationLayer {
    cfg: Arc<Config>,
}

struct Config {
    validator: Arc<dyn TokenValidator>,
    challenge: ChallengeInfo,
    required_scopes: Vec<String>,
    expose_token: bool,
    forwarded: Option<ForwardedAuth>,
}

impl fmt::Debug for AuthorizationLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationLayer")
            .field(
                "resource_metadata_url",
                &self.cfg.challenge.resource_metadata_url(),
            )
            .field("required_scopes", &self.cfg.required_scopes)
            .field("expose_token", &self.cfg.expose_token)
            .finish_non_exhaustive()
    }
}

impl AuthorizationLayer {
    /// A layer for the protected resource whose public URL is `resource` (the MCP endpoint as
    /// clients reach it, e.g. `https://api.example.com/mcp`, i.e. the RFC 9728 `resource`). The
    /// metadata URL in challenges is derived from it, never from the `Host` header.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `resource` is not an absolute http(s) URL.
    pub fn new(validator: impl TokenValidator, resource: &str) -> Result<Self, ConfigError> {
        Ok(Self::with_challenge(
            validator,
            ChallengeInfo::for_resource(resource)?,
        ))
    }

    /// A layer whose challenges use `challenge` as is.
    #[must_use]
    pub fn with_challenge(validator: impl TokenValidator, challenge: ChallengeInfo) -> Self {
        AuthorizationLayer {
            cfg: Arc::new(Config {
                validator: Arc::new(validator),
                challenge,
                required_scopes: Vec::new(),
                expose_token: false,
                forwarded: None,
            }),
        }
    }

    fn map(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut cfg = Config {
            validator: self.cfg.validator.clone(),
            challenge: self.cfg.challenge.clone(),
            required_scopes: self.cfg.required_scopes.clone(),
            expose_token: self.cfg.expose_token,
            forwarded: self.cfg.forwarded.clone(),
        };
        f(&mut cfg);
        AuthorizationLayer { cfg: Arc::new(cfg) }
    }

    /// Scopes every request needs (all of them); otherwise 403 `insufficient_scope`. They are
    /// also the `scope` hint of 401 challenges unless [`challenge_scopes`](Self::challenge_scopes)
    /// is set. Defaults to none: per-tool scopes are checked by the server.
    #[must_use]
    pub fn required_scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.map(|c| {
            if c.challenge.default_scopes().is_empty() {
                c.challenge = c.challenge.clone().with_default_scopes(scopes.clone());
            }
            c.required_scopes = scopes;
        })
    }

    /// The `scope` hint of 401 challenges (typically the `scopes_supported` of the metadata).
    #[must_use]
    pub fn challenge_scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.map(|c| c.challenge = c.challenge.clone().with_default_scopes(scopes))
    }

    /// Puts the raw token into [`OAuthContext::token`] so tools can call downstream APIs with
    /// it. Defaults to `false`: tools never see the token.
    #[must_use]
    pub fn expose_token(self, expose: bool) -> Self {
        self.map(|c| c.expose_token = expose)
    }

    /// Also accepts the identity a trusted reverse proxy forwards (`X-Forwarded-User`,
    /// `X-Forwarded-Groups`, `X-Forwarded-Email`; see
    /// [`ForwardedAuth`](super::server::forwarded::ForwardedAuth)) on requests without an
    /// `Authorization` header. The headers are read only when the TCP peer (the
    /// [`RemoteAddr`](crate::transport::http::RemoteAddr) extension) is one of the configured
    /// proxies; from any other peer they are ignored and the request needs a bearer token.
    /// A request with a bearer token is validated as such, its forwarded headers ignored.
    ///
    /// The identity: `subject` the user header, `scopes` those `auth` maps from the groups,
    /// claims `groups` (so an [`AccessPolicy`](crate::policy::AccessPolicy) sees them as
    /// roles) and `email`, issuer `urn:mcp-rs:forwarded` (so sessions of a forwarded user and
    /// of an API key with the same subject stay apart).
    #[must_use]
    pub fn forwarded_identity(self, auth: ForwardedAuth) -> Self {
        self.map(|c| c.forwarded = Some(auth))
    }

    /// The challenge information inserted into request extensions.
    #[must_use]
    pub fn challenge(&self) -> &ChallengeInfo {
        &self.cfg.challenge
    }
}

impl<S> Layer<S> for AuthorizationLayer {
    type Service = Authorization<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorization {
            inner,
            cfg: self.cfg.clone(),
        }
    }
}

/// The service built by [`AuthorizationLayer`].
#[derive(Clone)]
pub struct Authorization<S> {
    inner: S,
    cfg: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for Authorization<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> Authorization<S> {
    /// Wraps `inner`.
    pub fn layer(
        validator: impl TokenValidator,
        resource: &str,
    ) -> Result<AuthorizationLayer, ConfigError> {
        AuthorizationLayer::new(validator, resource)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Outcome of reading the `Authorization` header.
enum Credentials {
    Missing,
    Malformed(&'static str),
    Bearer(String),
}

fn credentials(headers: &http::HeaderMap) -> Credentials {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credentials::Missing;
    };
    if values.next().is_some() {
        return Credentials::Malformed("Multiple Authorization headers");
    }
    let Ok(value) = value.to_str() else {
        return Credentials::Malformed("Malformed Authorization header");
    };
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Credentials::Malformed("Malformed Authorization header");
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::Malformed("Unsupported authorization scheme; use Bearer");
    }
    let token = rest.trim_matches(' ');
    // RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    {
        return Credentials::Malformed("Malformed bearer token");
    }
    Credentials::Bearer(token.to_owned())
}

/// Response future of [`Authorization`].
pub struct ResponseFuture<E> {
    inner: BoxFuture<'static, Result<Response<Body>, E>>,
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response<Body>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

fn map_body<B>(res: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    res.map(Body::new)
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authorization<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cfg = self.cfg.clone();

        if req.method() == Method::OPTIONS {
            let fut = inner.call(req);
            return ResponseFuture {
                inner: Box::pin(async move { fut.await.map(map_body) }),
            };
        }

        let creds = credentials(req.headers());
        let forwarded = match (&creds, &cfg.forwarded) {
            (Credentials::Missing, Some(f)) => {
                Some(f.authenticate_headers(req.headers(), req.extensions()))
            }
            _ => None,
        };
        ResponseFuture {
            inner: Box::pin(async move {
                let ctx = match identify(&cfg, creds, forwarded).await {
                    Ok(ctx) => ctx,
                    Err(res) => return Ok(res),
                };
                req.extensions_mut().insert::<Arc<OAuthContext>>(ctx);
                req.extensions_mut()
                    .insert::<ChallengeInfo>(cfg.challenge.clone());
                inner.call(req).await.map(map_body)
            }),
        }
    }
}

/// The caller's identity: the forwarded user (from a trusted proxy, without a bearer token) or
/// the bearer token's, with the layer's required scopes; otherwise the response refusing it.
async fn identify(
    cfg: &Config,
    creds: Credentials,
    forwarded: Option<Result<ForwardedUser, ForwardedRejection>>,
) -> Result<Arc<OAuthContext>, Response<Body>> {
    let ch = &cfg.challenge;
    let ctx = match forwarded {
        Some(Ok(user)) => Arc::new(forwarded_context(user)),
        Some(Err(ForwardedRejection::InvalidHeader(_))) => {
            let why = "Invalid forwarded identity header";
            audit::denied(None, None, why);
            return Err(ch.invalid_request(why));
        }
        // Untrusted peer, or no user: the request needs a bearer token.
        Some(Err(_)) | None => {
            let token = match creds {
                Credentials::Missing => {
                    audit::denied(None, None, "missing bearer token");
                    return Err(ch.missing_token());
                }
                Credentials::Malformed(why) => {
                    audit::denied(None, None, why);
                    return Err(ch.invalid_request(why));
                }
                Credentials::Bearer(t) => t,
            };
            let mut ctx = validate(cfg, &token).await?;
            if cfg.expose_token {
                Arc::make_mut(&mut ctx).token = Some(Arc::<str>::from(token));
            }
            ctx
        }
    };
    if !ctx
        .scopes
        .contains_all(cfg.required_scopes.iter().map(String::as_str))
    {
        audit::denied(
            Some(&ctx.subject),
            ctx.client_id.as_deref(),
            "insufficient scope",
        );
        return Err(ch.insufficient_scope(&cfg.required_scopes));
    }
    audit::allowed(&ctx);
    Ok(ctx)
}

/// The validator's decision about a bearer token, as an identity or the refusing response.
async fn validate(cfg: &Config, token: &str) -> Result<Arc<OAuthContext>, Response<Body>> {
    let ch = &cfg.challenge;
    match cfg.validator.validate_shared(token).await {
        Ok(ctx) => Ok(ctx),
        Err(AuthorizationResult::Allow(ctx)) => Ok(Arc::new(ctx)),
        Err(AuthorizationResult::Unauthorized { description }) => {
            audit::denied(None, None, &description);
            Err(ch.invalid_token(&description))
        }
        Err(AuthorizationResult::NotRecognized) => {
            let why = "The access token is not recognised";
            audit::denied(None, None, why);
            Err(ch.invalid_token(why))
        }
        Err(AuthorizationResult::BadRequest { description }) => {
            audit::denied(None, None, &description);
            Err(ch.invalid_request(&description))
        }
        Err(AuthorizationResult::Forbidden {
            scopes,
            description,
        }) => {
            audit::denied(None, None, &description);
            Err(challenge::error_response(
                ch.resource_metadata_url(),
                challenge::BearerError::InsufficientScope,
                &description,
                &scopes,
            ))
        }
        Err(AuthorizationResult::Unavailable {
            retry_after,
            description,
        }) => {
            audit::denied(None, None, &description);
            Err(challenge::unavailable_response(retry_after, &description))
        }
    }
}

/// The identity of a user a trusted proxy forwarded.
fn forwarded_context(user: ForwardedUser) -> OAuthContext {
    let mut ctx = OAuthContext::new(user.subject, user.scopes.into_iter().collect());
    ctx.issuer = Some(FORWARDED_ISSUER.to_owned());
    ctx.claims
        .insert("groups".into(), serde_json::Value::from(user.groups));
    if let Some(email) = user.email {
        ctx.claims.insert("email".into(), email.into());
    }
    ctx
}

/// The issuer of forwarded identities.
const FORWARDED_ISSUER: &str = "urn:mcp-rs:forwarded";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::StaticKeyValidator;
    use http::header::WWW_AUTHENTICATE;
    use http_body_util::BodyExt;
    use std::convert::Infallible;
    use tower::ServiceExt;

    const PRM: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

    fn svc() -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> {
        let layer = AuthorizationLayer::new(
            StaticKeyValidator::new().key("good", "svc", ["mcp:read"]),
            "https://api.example.com/mcp",
        )
        .unwrap()
        .challenge_scopes(["mcp:read", "mcp:write"]);
        layer.layer(tower::service_fn(|req: Request<Body>| {
            let who = req
                .extensions()
                .get::<Arc<OAuthContext>>()
                .map(|c| c.subject.clone())
                .unwrap_or_default();
            let prm = req
                .extensions()
                .get::<ChallengeInfo>()
                .map(|c| c.resource_metadata_url().to_owned())
                .unwrap_or_default();
            std::future::ready(Ok(Response::new(Body::from(format!("{who} {prm}")))))
        }))
    }

    fn req(auth: Option<&str>) -> Request<Body> {
        let mut b = Request::post("/mcp");
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn missing_token_is_401_with_prm_and_scopes() {
        let res = svc().oneshot(req(None)).await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            format!(r#"Bearer resource_metadata="{PRM}", scope="mcp:read mcp:write""#)
        );
    }

    #[tokio::test]
    async fn malformed_header_is_400() {
        for h in ["Basic abc", "Bearer", "Bearer a b", "Bearer ", "bearer ä"] {
            let res = svc().oneshot(req(Some(h))).await.unwrap();
            assert_eq!(res.status(), 400, "{h}");
            let v = res.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_owned();
            assert!(v.starts_with(r#"Bearer error="invalid_request""#), "{v}");
        }
    }

    #[tokio::test]
    async fn unknown_token_is_401_invalid_token() {
        let res = svc().oneshot(req(Some("Bearer bad"))).await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            format!(
                r#"Bearer error="invalid_token", error_description="The access token is not recognised", resource_metadata="{PRM}", scope="mcp:read mcp:write""#
            )
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body,
            r#"{"error":"invalid_token","error_description":"The access token is not recognised"}"#
        );
    }

    #[tokio::test]
    async fn valid_token_reaches_inner_with_identity() {
        let res = svc().oneshot(req(Some("Bearer good"))).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("svc {PRM}"));
    }

    #[tokio::test]
    async fn preflight_passes() {
        let r = Request::options("/mcp").body(Body::empty()).unwrap();
        let res = svc().oneshot(r).await.unwrap();
        assert_eq!(res.status(), 200);
    }

    #[tokio::test]
    async fn layer_required_scopes_give_403() {
        let layer = AuthorizationLayer::new(
            StaticKeyValidator::new().key("good", "svc", ["mcp:read"]),
            "https://api.example.com/mcp",
        )
        .unwrap()
        .required_scopes(["mcp:admin"]);
        let svc = layer.layer(tower::service_fn(|_r: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }));
        let res = svc.oneshot(req(Some("Bearer good"))).await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            format!(
                r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{PRM}", scope="mcp:admin""#
            )
        );
    }

    fn forwarded_svc() -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible>
    {
        let fwd = ForwardedAuth::new()
            .trusted_proxies(["10.0.0.1"])
            .unwrap()
            .group_scopes("staff", ["mcp:read"]);
        let layer = AuthorizationLayer::new(
            StaticKeyValidator::new().key("good", "svc", ["mcp:read"]),
            "https://api.example.com/mcp",
        )
        .unwrap()
        .forwarded_identity(fwd);
        layer.layer(tower::service_fn(|req: Request<Body>| {
            let who = req.extensions().get::<Arc<OAuthContext>>().map(|c| {
                format!(
                    "{} {} {} {}",
                    c.subject,
                    c.scopes.to_space_separated(),
                    c.claims.get("groups").cloned().unwrap_or_default(),
                    c.issuer.as_deref().unwrap_or("")
                )
            });
            std::future::ready(Ok(Response::new(Body::from(who.unwrap_or_default()))))
        }))
    }

    fn from_peer(peer: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut r = Request::post("/mcp");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let mut r = r.body(Body::empty()).unwrap();
        r.extensions_mut()
            .insert(crate::transport::http::RemoteAddr(peer.parse().unwrap()));
        r
    }

    #[tokio::test]
    async fn forwarded_identity_only_from_trusted_proxies() {
        let user = [
            ("x-forwarded-user", "alice"),
            ("x-forwarded-groups", "staff"),
        ];
        let res = forwarded_svc()
            .oneshot(from_peer("10.0.0.1:4000", &user))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, r#"alice mcp:read ["staff"] urn:mcp-rs:forwarded"#);
        // Another peer: the headers are not read, the request needs a token.
        let res = forwarded_svc()
            .oneshot(from_peer("10.0.0.2:4000", &user))
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        // A bearer token wins over forwarded headers, even from the proxy.
        let mut with_token = user.to_vec();
        with_token.push(("authorization", "Bearer good"));
        let res = forwarded_svc()
            .oneshot(from_peer("10.0.0.1:4000", &with_token))
            .await
            .unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(body.starts_with(b"svc mcp:read"), "{body:?}");
        // A repeated user header from the proxy: 400.
        let twice = [("x-forwarded-user", "a"), ("x-forwarded-user", "b")];
        let res = forwarded_svc()
            .oneshot(from_peer("10.0.0.1:4000", &twice))
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
}
