//! Helpers shared by the `auth_*` integration tests.
#![allow(dead_code, unreachable_pub)]

use http::{HeaderMap, Request, Response, StatusCode};
use mcp_rs_server::body::Body;
use mcp_rs_server::identity::OAuthContext;
use serde_json::{Value, json};
use std::convert::Infallible;
use tower::{Service, ServiceExt};

/// The public resource URL used by the tests.
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
/// Its metadata URL.
pub const PRM_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

/// An inner service answering with the verified identity as JSON.
pub fn whoami()
-> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    tower::service_fn(|req: Request<Body>| async move {
        let body = match req.extensions().get::<std::sync::Arc<OAuthContext>>() {
            Some(ctx) => json!({
                "subject": ctx.subject,
                "scopes": ctx.scopes.iter().collect::<Vec<_>>(),
                "client_id": ctx.client_id,
                "issuer": ctx.issuer,
                "tenant": ctx.tenant,
                "token": ctx.token.as_deref(),
            }),
            None => Value::Null,
        };
        Ok::<_, Infallible>(Response::new(Body::json(&body)))
    })
}

/// The collected parts of a response.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn www_authenticate(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `req` through `svc` and collects the answer.
pub async fn send<S>(svc: S, req: Request<Body>) -> Answer
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    let res = svc.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = axum::body::to_bytes(axum::body::Body::new(body), 1 << 20)
        .await
        .unwrap();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.to_vec(),
    }
}

/// A POST to `/mcp` with a bearer token.
pub fn bearer(token: &str) -> Request<Body> {
    Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        .unwrap()
}

/// The exact challenge for an `invalid_token` rejection.
pub fn invalid_token_challenge(description: &str, scopes: &str) -> String {
    format!(
        r#"Bearer error="invalid_token", error_description="{description}", resource_metadata="{PRM_URL}", scope="{scopes}""#
    )
}
