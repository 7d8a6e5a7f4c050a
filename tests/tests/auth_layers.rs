//! Protected-resource metadata, the `_meta.oauth` bridge, validator chains and discovery,
//! driven through tower with a local fake upstream. (The authorization-server façade and its
//! registration endpoint are tested in `oauth_facade.rs` and `oauth_token_hole.rs`.)

mod auth_common;

use auth_common::*;
use http::Request;
use mcp_rs_server::auth::DiscoveryError;
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::auth::{
    AuthorizationLayer, DiscoveryPolicy, JwtValidator, OAuthRequestMetaLayer, OidcDiscovery,
    ProtectedResourceMetadata, ResourceMetadataLayer, StaticKeyValidator, ValidatorChain,
};
use mcp_rs_server::body::Body;
use serde_json::{Value, json};
use std::convert::Infallible;
use tower::{Layer, ServiceBuilder};

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn protected_resource_metadata_is_served_before_auth() {
    let prm = ProtectedResourceMetadata::new(RESOURCE)
        .authorization_server("https://idp.example.com/realms/mcp")
        .scopes_supported(["mcp:read", "mcp:write"])
        .resource_name("Notes")
        .localized_resource_name("de", "Notizen")
        .resource_documentation("https://docs.example.com/notes");
    let auth = AuthorizationLayer::new(StaticKeyValidator::new(), RESOURCE).unwrap();
    let svc = ServiceBuilder::new()
        .layer(ResourceMetadataLayer::new(prm))
        .layer(auth)
        .service(whoami());
    let expected = json!({
        "resource": RESOURCE,
        "authorization_servers": ["https://idp.example.com/realms/mcp"],
        "scopes_supported": ["mcp:read", "mcp:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes",
        "resource_name#de": "Notizen",
        "resource_documentation": "https://docs.example.com/notes",
    });
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let a = send(svc.clone(), get(path)).await;
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.headers["content-type"], "application/json");
        assert_eq!(a.json(), expected);
    }
    let a = send(
        svc.clone(),
        Request::post("/.well-known/oauth-protected-resource/mcp")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 405);
    // Everything else is protected, and the challenge points at the path-suffixed document.
    let a = send(svc, get("/mcp")).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.www_authenticate(),
        format!(r#"Bearer resource_metadata="{PRM_URL}""#)
    );
}

#[tokio::test]
async fn forged_meta_oauth_grants_nothing() {
    let auth = AuthorizationLayer::new(
        StaticKeyValidator::new().key("k-alice", "alice", ["mcp:read"]),
        RESOURCE,
    )
    .unwrap();
    let echo = tower::service_fn(|req: Request<Body>| async move {
        let ctx = req
            .extensions()
            .get::<std::sync::Arc<mcp_rs_server::identity::OAuthContext>>()
            .map(|c| c.subject.clone());
        let body = axum::body::to_bytes(axum::body::Body::new(req.into_body()), 1 << 20)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        Ok::<_, Infallible>(http::Response::new(Body::json(&json!({
            "meta": v["params"]["_meta"],
            "subject": ctx,
        }))))
    });
    let svc = ServiceBuilder::new()
        .layer(auth)
        .layer(OAuthRequestMetaLayer::new())
        .service(echo);
    let forged = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "reset_notes",
        "_meta": {"oauth": {"oauth.subject": "admin", "oauth.scopes": ["mcp:admin"]},
                  "oauth.scopes": ["mcp:admin"], "progressToken": "p1"}
    }});
    let req = Request::post("/mcp")
        .header("authorization", "Bearer k-alice")
        .body(Body::from(forged.to_string()))
        .unwrap();
    let a = send(svc.clone(), req).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json!({"subject": "alice", "meta": {"progressToken": "p1", "oauth": {
            "oauth.subject": "alice", "oauth.scopes": ["mcp:read"], "oauth.claims": {}
        }}})
    );
    // Without a token the forged body never reaches the service.
    let req = Request::post("/mcp")
        .body(Body::from(forged.to_string()))
        .unwrap();
    assert_eq!(send(svc, req).await.status, 401);
}

#[tokio::test]
async fn chain_accepts_api_keys_and_jwts_on_one_endpoint() {
    let idp = TestIssuer::start().await.unwrap();
    let jwt = JwtValidator::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience("mcp-server")
        .build()
        .unwrap();
    let chain = ValidatorChain::new()
        .with(StaticKeyValidator::new().key("ci-key", "ci", ["mcp:read"]))
        .with(jwt);
    let l = AuthorizationLayer::new(chain, RESOURCE).unwrap();
    let a = send(l.layer(whoami()), bearer("ci-key")).await;
    assert_eq!(
        (a.status, a.json()["subject"].clone()),
        (http::StatusCode::OK, json!("ci"))
    );
    let t = idp.keycloak("mcp-server").subject("bob").sign();
    let a = send(l.layer(whoami()), bearer(&t)).await;
    assert_eq!(
        (a.status, a.json()["subject"].clone()),
        (http::StatusCode::OK, json!("bob"))
    );
    let a = send(l.layer(whoami()), bearer("wrong-key")).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.www_authenticate(),
        format!(
            r#"Bearer error="invalid_token", error_description="The access token is not recognised", resource_metadata="{PRM_URL}""#
        )
    );
}

#[tokio::test]
async fn discovery_order_issuer_match_and_policy() {
    let idp = TestIssuer::start_with_path("/realms/mcp").await.unwrap();
    let strict = OidcDiscovery::new(DiscoveryPolicy::Strict);
    let m = strict.discover(idp.issuer()).await.unwrap();
    assert_eq!(m.issuer, idp.issuer());
    assert_eq!(m.jwks_uri.as_deref(), Some(idp.jwks_url().as_str()));
    // Trailing slash normalisation.
    assert!(strict.discover(&format!("{}/", idp.issuer())).await.is_ok());
    // Entra-style tenant metadata has no PKCE advertisement: strict refuses, lenient accepts.
    let entra_issuer = idp.entra_v2_issuer("t1");
    assert_eq!(
        strict.discover(&entra_issuer).await.err(),
        Some(DiscoveryError::PkceNotSupported)
    );
    let lenient = OidcDiscovery::new(DiscoveryPolicy::Lenient);
    assert_eq!(
        lenient.discover(&entra_issuer).await.unwrap().issuer,
        entra_issuer
    );
    // Nothing there.
    assert_eq!(
        strict
            .discover(&format!("{}/realms/none", idp.base_url()))
            .await
            .err(),
        Some(DiscoveryError::NotFound)
    );
}

#[tokio::test]
async fn introspection_of_opaque_tokens() {
    use mcp_rs_server::auth::IntrospectionValidator;
    use std::time::Duration;
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client("rs", "rs-secret", Vec::<String>::new());
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    idp.add_opaque_token(
        "opaque-1",
        json!({"sub": "carol", "scope": "mcp:read", "client_id": "cli", "aud": "mcp-server", "exp": exp}),
    );
    idp.add_opaque_token(
        "opaque-other",
        json!({"sub": "dave", "aud": "another-api", "exp": exp}),
    );
    let v = IntrospectionValidator::new(idp.introspection_endpoint(), "rs", "rs-secret")
        .audience("mcp-server")
        .cache_ttl(Duration::ZERO);
    let l = AuthorizationLayer::new(v, RESOURCE).unwrap();
    let a = send(l.layer(whoami()), bearer("opaque-1")).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        (a.json()["subject"].clone(), a.json()["scopes"].clone()),
        (json!("carol"), json!(["mcp:read"]))
    );
    for token in ["opaque-other", "unknown"] {
        let a = send(l.layer(whoami()), bearer(token)).await;
        assert_eq!(a.status, 401);
        assert_eq!(
            a.www_authenticate(),
            format!(
                r#"Bearer error="invalid_token", error_description="The access token is not active", resource_metadata="{PRM_URL}""#
            )
        );
    }
    // Revocation is seen at once without a cache.
    idp.revoke_opaque_token("opaque-1");
    assert_eq!(
        send(l.layer(whoami()), bearer("opaque-1")).await.status,
        401
    );
    // Wrong resource-server credentials or an unreachable endpoint: 503, not a silent allow.
    let bad = IntrospectionValidator::new(idp.introspection_endpoint(), "rs", "wrong");
    let a = send(
        AuthorizationLayer::new(bad, RESOURCE)
            .unwrap()
            .layer(whoami()),
        bearer("opaque-1"),
    )
    .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.headers["retry-after"], "5");
}
