//! The Laravel Passport preset against the in-repo test issuer dressed as Passport: RS256
//! tokens with `aud` = the client id, scopes in a `scopes` array, and with or without `iss`.
//! Accepted exactly when they should be; otherwise 401 with the reason.

use mcp_rs_server::auth::passport::PassportConfig;
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::auth::{
    AuthorizationLayer, AuthorizationResult, ConfigError, TokenValidator, insecure,
};
use mcp_rs_server::body::Body;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

const CLIENT: &str = "9c4f1a2b-passport-client";

/// A Passport-shaped access token's claims.
fn passport(iss: Option<&str>, aud: &str, scopes: &[&str]) -> Value {
    let mut c = json!({"aud": aud, "jti": "5f1e8c", "sub": "42", "scopes": scopes});
    if let Some(iss) = iss {
        c["iss"] = json!(iss);
    }
    c
}

fn denied(r: AuthorizationResult) -> String {
    match r {
        AuthorizationResult::Unauthorized { description } => description,
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test]
async fn with_an_issuer_tokens_must_carry_it() {
    let idp = TestIssuer::start().await.unwrap();
    let v = PassportConfig::new([CLIENT])
        .issuer(idp.issuer())
        .jwks_url(idp.jwks_url())
        .validator()
        .unwrap();
    let ok = idp
        .custom(passport(
            Some(idp.issuer()),
            CLIENT,
            &["mcp:read", "mcp:write"],
        ))
        .sign();
    let who = v.validate_shared(&ok).await.unwrap();
    assert_eq!(who.subject, "42");
    assert_eq!(who.scopes.to_space_separated(), "mcp:read mcp:write");
    assert_eq!(who.issuer.as_deref(), Some(idp.issuer()));

    let no_iss = idp.custom(passport(None, CLIENT, &["mcp:read"])).sign();
    assert_eq!(
        denied(v.validate(&no_iss).await),
        "The access token has no issuer"
    );
    let other_client = idp
        .custom(passport(Some(idp.issuer()), "another-client", &[]))
        .sign();
    assert_eq!(
        denied(v.validate(&other_client).await),
        "The access token is not intended for this resource"
    );
    let other_iss = idp
        .custom(passport(Some("https://evil.example"), CLIENT, &[]))
        .sign();
    assert_eq!(
        denied(v.validate(&other_iss).await),
        "Untrusted token issuer"
    );
}

#[tokio::test]
async fn a_public_key_that_is_not_rsa_pem_is_refused() {
    let e = PassportConfig::new([CLIENT])
        .issuer("https://app.example.com")
        .public_key_pem("not a key")
        .validator()
        .unwrap_err();
    assert!(
        matches!(e, ConfigError::Invalid(ref m) if m.starts_with("Passport public key: ")),
        "{e}"
    );
}

#[tokio::test]
async fn without_an_issuer_the_preset_refuses_to_build() {
    let e = PassportConfig::new([CLIENT])
        .jwks_url("https://app.example.com/oauth/jwks")
        .validator()
        .unwrap_err();
    assert_eq!(e, ConfigError::Missing("issuer"));
}

#[tokio::test]
async fn the_insecure_opt_out_accepts_tokens_without_iss_only() {
    let idp = TestIssuer::start().await.unwrap();
    let b = PassportConfig::new([CLIENT]).jwks_url(idp.jwks_url());
    let v = insecure::accept_missing_issuer(b.builder().unwrap())
        .build()
        .unwrap();
    let no_iss = idp.custom(passport(None, CLIENT, &["mcp:read"])).sign();
    let who = v.validate_shared(&no_iss).await.unwrap();
    assert_eq!((who.subject.as_str(), who.issuer.as_deref()), ("42", None));
    assert!(who.scopes.contains("mcp:read"));
    // A token that names an issuer is still checked (none is configured: refused).
    let with_iss = idp.custom(passport(Some(idp.issuer()), CLIENT, &[])).sign();
    assert_eq!(
        denied(v.validate(&with_iss).await),
        "Untrusted token issuer"
    );
    let other_client = idp.custom(passport(None, "another-client", &[])).sign();
    assert_eq!(
        denied(v.validate(&other_client).await),
        "The access token is not intended for this resource"
    );
}

#[tokio::test]
async fn over_http_a_rejected_passport_token_is_401_with_the_reason() {
    let idp = TestIssuer::start().await.unwrap();
    let v = PassportConfig::new([CLIENT])
        .issuer(idp.issuer())
        .jwks_url(idp.jwks_url())
        .validator()
        .unwrap();
    let layer = AuthorizationLayer::new(v, "https://mcp.example.com/mcp").unwrap();
    let svc = layer.layer(tower::service_fn(|_req: http::Request<Body>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("in")))
    }));
    let no_iss = idp.custom(passport(None, CLIENT, &["mcp:read"])).sign();
    let req = http::Request::post("/mcp")
        .header("authorization", format!("Bearer {no_iss}"))
        .body(Body::empty())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="invalid_token", error_description="The access token has no issuer", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
    );
    let ok = idp
        .custom(passport(Some(idp.issuer()), CLIENT, &["mcp:read"]))
        .sign();
    let req = http::Request::post("/mcp")
        .header("authorization", format!("Bearer {ok}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(svc.oneshot(req).await.unwrap().status(), 200);
}
