//! The Entra preset refuses ID-token-shaped JWTs used as access tokens: a v2 ID token for the
//! API's own client id has `aud` = that client id and a valid signature, so only its shape
//! gives it away (a `nonce` claim, or neither `scp` nor `roles`). Access tokens with `scp` or
//! `roles` keep working, and other presets are unchanged.

mod auth_common;

use auth_common::*;
use mcp_rs_server::auth::entra::EntraConfig;
use mcp_rs_server::auth::testing::{TestIssuer, TokenShape};
use mcp_rs_server::auth::{AuthorizationLayer, JwtValidator, TokenValidator};
use serde_json::json;
use tower::Layer;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP: &str = "6e2b1f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const NOT_ACCESS: &str = "The token is not an access token";

fn layer(idp: &TestIssuer) -> AuthorizationLayer {
    let v = EntraConfig::new(TENANT, APP)
        .authority(idp.base_url())
        .v1_issuer_base(idp.base_url())
        .accept_v1(true)
        .validator()
        .unwrap();
    AuthorizationLayer::new(v, RESOURCE)
        .unwrap()
        .challenge_scopes(["mcp.read"])
}

async fn expect_not_access_token(l: &AuthorizationLayer, token: &str) {
    let a = send(l.layer(whoami()), bearer(token)).await;
    assert_eq!(a.status, 401, "{:?}", a.json());
    assert_eq!(
        a.www_authenticate(),
        invalid_token_challenge(NOT_ACCESS, "mcp.read")
    );
    assert_eq!(
        a.json(),
        json!({"error": "invalid_token", "error_description": NOT_ACCESS})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_rejects_id_token_shaped_jwts() {
    let idp = TestIssuer::start().await.unwrap();
    let l = layer(&idp);
    // A v2 ID token as Entra issues it to the API's own app registration: aud = client id.
    let id_token = idp
        .entra_v2_delegated(TENANT, APP)
        .without_claim("scp")
        .without_claim("azp")
        .without_claim("azpacr")
        .claim("nonce", json!("n-0S6_WzA2Mj"))
        .claim("email", json!("demo@contoso.example"))
        .sign();
    expect_not_access_token(&l, &id_token).await;
    // No nonce, but neither scp nor roles.
    let no_scopes = idp
        .entra_v2_delegated(TENANT, APP)
        .without_claim("scp")
        .sign();
    expect_not_access_token(&l, &no_scopes).await;
    let app_no_roles = idp.entra_v2_app(TENANT, APP).without_claim("roles").sign();
    expect_not_access_token(&l, &app_no_roles).await;
    let v1_no_scp = idp.entra_v1(TENANT, APP).without_claim("scp").sign();
    expect_not_access_token(&l, &v1_no_scp).await;
    // A nonce next to scopes is still an ID token.
    let nonce_and_scp = idp
        .entra_v2_delegated(TENANT, APP)
        .scp(["mcp.read"])
        .claim("nonce", json!("abc"))
        .sign();
    expect_not_access_token(&l, &nonce_and_scp).await;

    // Real access tokens pass: delegated (scp), app-only (roles), v1.
    for token in [
        idp.entra_v2_delegated(TENANT, APP).scp(["mcp.read"]).sign(),
        idp.entra_v2_app(TENANT, APP).roles(["mcp.read"]).sign(),
        idp.entra_v1(TENANT, APP).scp(["mcp.read"]).sign(),
    ] {
        let a = send(l.layer(whoami()), bearer(&token)).await;
        assert_eq!(a.status, 200, "{:?}", a.json());
        assert_eq!(a.json()["scopes"], json!(["mcp.read"]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_refuses_the_id_token_of_a_real_code_flow_and_accepts_its_access_token() {
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client(APP, "api-secret", ["mcp.read"]);
    let redirect = "http://127.0.0.1:9/cb";
    idp.add_redirect_uri(APP, redirect);
    idp.set_token_shape(TokenShape::EntraV2 {
        tenant: TENANT.to_owned(),
    });
    idp.set_token_audience(APP);
    let verifier = "a-verifier-that-is-long-enough-for-rfc-7636-pkce";
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .get(idp.authorization_endpoint())
        .query(&[
            ("response_type", "code"),
            ("client_id", APP),
            ("redirect_uri", redirect),
            ("scope", &format!("openid api://{APP}/mcp.read")),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    let tokens: serde_json::Value = http
        .post(idp.token_endpoint())
        .basic_auth(APP, Some("api-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let l = layer(&idp);
    let a = send(
        l.layer(whoami()),
        bearer(tokens["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.json());
    // The ID token has aud = APP and a good signature, but it is not an access token.
    let id_token = tokens["id_token"].as_str().unwrap();
    let a = send(l.layer(whoami()), bearer(id_token)).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["error_description"], NOT_ACCESS);
}

#[tokio::test]
async fn other_presets_keep_accepting_tokens_without_scope_claims() {
    // Off by default: a generic JwtValidator accepts a token without scopes (the layer's
    // scope checks decide what it may do).
    let idp = TestIssuer::start().await.unwrap();
    let v = JwtValidator::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience("mcp-server")
        .build()
        .unwrap();
    let token = idp.keycloak("mcp-server").without_claim("scope").sign();
    assert!(matches!(
        v.validate(&token).await,
        mcp_rs_server::auth::AuthorizationResult::Allow(_)
    ));
}
