//! Opt-in PHP-SDK compatibility: the verified identity copied into `params._meta.oauth`.

use crate::body::{Body, BoxError};
use crate::identity::OAuthContext;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::CONTENT_LENGTH;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The PHP SDK's `OAuthRequestMetaMiddleware` merges the HTTP-layer `oauth.*` attributes into
/// the JSON body's `params._meta.oauth`, keeping whatever the client already put there — so a
/// client can forge it. [`OAuthRequestMetaLayer`] first removes every `_meta` entry whose key
/// starts with `oauth` from every message of the body (single or batch), then, when the
/// [`AuthorizationLayer`](super::AuthorizationLayer) verified the caller, writes
/// `_meta.oauth` with the PHP key names `oauth.subject`, `oauth.scopes` (array),
/// `oauth.client_id`, `oauth.issuer`, `oauth.tenant`, `oauth.expires_at` and `oauth.claims`.
///
/// Place it **inside** the authorization layer (it reads the identity from the request
/// extensions). Handlers of this crate never read identity from JSON; use
/// `RequestContext::oauth()` instead — this layer exists for code ported from PHP that reads
/// `_meta`.
#[derive(Debug, Clone)]
pub struct OAuthRequestMetaLayer {
    max_body: usize,
}

impl Default for OAuthRequestMetaLayer {
    fn default() -> Self {
        OAuthRequestMetaLayer { max_body: 4 << 20 }
    }
}

impl OAuthRequestMetaLayer {
    /// The layer, with a 4 MiB body limit.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest body it rewrites; larger bodies get 413.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

impl<S> Layer<S> for OAuthRequestMetaLayer {
    type Service = OAuthRequestMeta<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OAuthRequestMeta {
            inner,
            max_body: self.max_body,
        }
    }
}

/// The service built by [`OAuthRequestMetaLayer`].
#[derive(Debug, Clone)]
pub struct OAuthRequestMeta<S> {
    inner: S,
    max_body: usize,
}

/// The `_meta.oauth` object for `ctx`.
fn oauth_meta(ctx: &OAuthContext) -> Value {
    let mut m = Map::new();
    m.insert("oauth.subject".into(), json!(ctx.subject));
    m.insert(
        "oauth.scopes".into(),
        json!(ctx.scopes.iter().collect::<Vec<_>>()),
    );
    if let Some(c) = &ctx.client_id {
        m.insert("oauth.client_id".into(), json!(c));
    }
    if let Some(i) = &ctx.issuer {
        m.insert("oauth.issuer".into(), json!(i));
    }
    if let Some(t) = &ctx.tenant {
        m.insert("oauth.tenant".into(), json!(t));
    }
    if let Some(e) = ctx.expires_at {
        m.insert("oauth.expires_at".into(), json!(e));
    }
    m.insert("oauth.claims".into(), Value::Object(ctx.claims.clone()));
    Value::Object(m)
}

fn rewrite_message(msg: &mut Value, meta: Option<&Value>) {
    let Some(obj) = msg.as_object_mut() else {
        return;
    };
    if !obj.contains_key("method") {
        return;
    }
    let params = obj
        .entry("params")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(params) = params.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(m)) = params.get_mut("_meta") {
        m.retain(|k, _| !k.starts_with("oauth"));
    } else if params.contains_key("_meta") {
        // A non-object `_meta` is invalid anyway; leave it for the server to reject.
        return;
    }
    if let Some(meta) = meta {
        let m = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = m.as_object_mut() {
            m.insert("oauth".into(), meta.clone());
        }
    } else if params
        .get("_meta")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        params.remove("_meta");
    }
}

/// Strips client-sent `_meta.oauth*` from a JSON-RPC body and fills `_meta.oauth` from `ctx`.
/// Returns `None` when the body is not JSON (left untouched).
#[must_use]
pub(crate) fn rewrite_body(body: &[u8], ctx: Option<&OAuthContext>) -> Option<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(body).ok()?;
    let meta = ctx.map(oauth_meta);
    match &mut doc {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|m| rewrite_message(m, meta.as_ref())),
        other => rewrite_message(other, meta.as_ref()),
    }
    serde_json::to_vec(&doc).ok()
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OAuthRequestMeta<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
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
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let max = self.max_body;
        Box::pin(async move {
            if req.method() != Method::POST {
                return inner
                    .call(req.map(Body::new))
                    .await
                    .map(|r| r.map(Body::new));
            }
            let (mut parts, body) = req.into_parts();
            let Some(bytes) = super::util::read_limited(body, max).await else {
                return Ok(crate::transport::http::challenge::json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    "Request body too large",
                ));
            };
            let ctx = crate::identity::from_extensions(&parts.extensions);
            let bytes = match rewrite_body(&bytes, ctx) {
                Some(new) => {
                    parts.headers.remove(CONTENT_LENGTH);
                    Bytes::from(new)
                }
                None => bytes,
            };
            let req = Request::from_parts(parts, Body::from(bytes));
            inner.call(req).await.map(|r| r.map(Body::new))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Scopes;

    #[test]
    fn forged_meta_is_replaced() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"oauth":{"oauth.scopes":["admin"]},"oauth.subject":"root","progressToken":7}}}"#;
        let ctx = OAuthContext::new("alice", Scopes::from_space_separated("read"));
        let out: Value = serde_json::from_slice(&rewrite_body(body, Some(&ctx)).unwrap()).unwrap();
        assert_eq!(
            out["params"]["_meta"],
            json!({"progressToken": 7, "oauth": {"oauth.subject": "alice", "oauth.scopes": ["read"], "oauth.claims": {}}})
        );
        let out: Value = serde_json::from_slice(&rewrite_body(body, None).unwrap()).unwrap();
        assert_eq!(out["params"]["_meta"], json!({"progressToken": 7}));
    }

    #[test]
    fn batch_and_non_json() {
        let body = br#"[{"jsonrpc":"2.0","method":"a","params":{"_meta":{"oauth":1}}},{"jsonrpc":"2.0","id":2,"result":{}}]"#;
        let out: Value = serde_json::from_slice(&rewrite_body(body, None).unwrap()).unwrap();
        assert_eq!(
            out,
            json!([{"jsonrpc":"2.0","method":"a","params":{}},{"jsonrpc":"2.0","id":2,"result":{}}])
        );
        assert!(rewrite_body(b"not json", None).is_none());
    }
}
