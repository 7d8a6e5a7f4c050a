//! JWT validation through the `AuthorizationLayer` against the local test issuer: the attack
//! table, every token shape, JWKS rotation, outage and rate limiting.

mod auth_common;

use auth_common::*;
use mcp_rs_server::auth::entra::EntraConfig;
use mcp_rs_server::auth::keycloak::KeycloakConfig;
use mcp_rs_server::auth::testing::{SigningAlg, TestIssuer};
use mcp_rs_server::auth::{AuthorizationLayer, JwksProvider, JwtValidator, TokenValidator};
use serde_json::json;
use std::time::Duration;
use tower::Layer;

const SCOPES: &str = "mcp:read mcp:write";

fn keycloak_validator(idp: &TestIssuer, jwks: JwksProvider) -> JwtValidator {
    JwtValidator::builder()
        .jwks(jwks)
        .issuer(idp.issuer())
        .audience("mcp-server")
        .build()
        .unwrap()
}

fn layer(v: impl TokenValidator) -> AuthorizationLayer {
    AuthorizationLayer::new(v, RESOURCE)
        .unwrap()
        .challenge_scopes(["mcp:read", "mcp:write"])
}

async fn expect_invalid(l: &AuthorizationLayer, token: &str, description: &str) {
    let a = send(l.layer(whoami()), bearer(token)).await;
    assert_eq!(a.status, 401, "{description}: {:?}", a.json());
    assert_eq!(
        a.www_authenticate(),
        invalid_token_challenge(description, SCOPES)
    );
    assert_eq!(
        a.json(),
        json!({"error": "invalid_token", "error_description": description})
    );
}

#[tokio::test]
async fn attack_table() {
    let idp = TestIssuer::start().await.unwrap();
    let l = layer(keycloak_validator(&idp, JwksProvider::new(idp.jwks_url())));
    let good = || idp.keycloak("mcp-server").scopes(["mcp:read"]);

    // Sanity: the unmodified token is accepted.
    assert_eq!(
        send(l.layer(whoami()), bearer(&good().sign())).await.status,
        200
    );

    let table: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            good().sign_alg_none(),
            "Unsupported token algorithm",
        ),
        (
            "HS256 signed with the RSA public key",
            good().sign_hs256(idp.rsa_public_key_pem().as_bytes()),
            "Unsupported token algorithm",
        ),
        (
            "unknown kid",
            good().kid("no-such-key").sign(),
            "Unknown signing key",
        ),
        (
            "kid with path characters",
            good().kid("../../etc/passwd").sign(),
            "Unknown signing key",
        ),
        (
            "ES256 token naming the RSA key",
            good()
                .alg(SigningAlg::Es256)
                .kid(&idp.current_kid(SigningAlg::Rs256))
                .sign(),
            "Unsupported token algorithm",
        ),
        (
            "expired",
            good().expires_in(-3600).sign(),
            "The access token has expired",
        ),
        (
            "not yet valid",
            good().not_before_in(3600).sign(),
            "The access token is not yet valid",
        ),
        (
            "wrong issuer",
            good().issued_by("https://evil.example.com").sign(),
            "Untrusted token issuer",
        ),
        (
            "wrong audience",
            good().audience("some-other-api").sign(),
            "The access token is not intended for this resource",
        ),
        (
            "valid token for another resource",
            good().audience("https://other.example.com/mcp").sign(),
            "The access token is not intended for this resource",
        ),
        (
            "missing sub",
            good().without_claim("sub").sign(),
            "The access token has no subject",
        ),
        (
            "oversized",
            good().claim("padding", json!("x".repeat(20_000))).sign(),
            "The access token is too large",
        ),
        (
            "garbage base64",
            "eyJhbGciOi.AAAA.BBBB".to_owned(),
            "Malformed access token",
        ),
        (
            "header nonce (Graph-style)",
            good().header("nonce", json!("abc")).sign(),
            "The access token is not intended for this resource",
        ),
    ];
    for (name, token, description) in table {
        println!("attack: {name}");
        expect_invalid(&l, &token, description).await;
    }

    // A tampered signature.
    let t = good().sign();
    let (head, sig) = t.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    expect_invalid(
        &l,
        &format!("{head}.{flipped}{}", &sig[1..]),
        "Invalid token signature",
    )
    .await;

    // A token that is not a JWT at all.
    expect_invalid(&l, "opaque-token", "The access token is not recognised").await;
}

#[tokio::test]
async fn keycloak_shape_rs256_and_es256() {
    let idp = TestIssuer::start_with_path("/realms/mcp").await.unwrap();
    // No JWKS URL: discovered from the issuer.
    let v = KeycloakConfig::new(idp.issuer(), "mcp-server")
        .validator()
        .unwrap();
    let l = layer(v).expose_token(true);
    for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
        let token = idp
            .keycloak("mcp-server")
            .subject("user-1")
            .scopes(["mcp:read", "mcp:write"])
            .alg(alg)
            .sign();
        let a = send(l.layer(whoami()), bearer(&token)).await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.json(),
            json!({
                "subject": "user-1",
                "scopes": ["email", "mcp:read", "mcp:write", "openid", "profile"],
                "client_id": "mcp-client",
                "issuer": idp.issuer(),
                "tenant": null,
                "token": token,
            })
        );
    }
}

fn entra(idp: &TestIssuer, tenant: &str) -> EntraConfig {
    EntraConfig::new(tenant, "api-app-id")
        .authority(idp.base_url())
        .v1_issuer_base(idp.base_url())
        .jwks_url(idp.jwks_url())
}

#[tokio::test]
async fn entra_shapes() {
    let idp = TestIssuer::start().await.unwrap();
    let tid = "11111111-1111-1111-1111-111111111111";
    let l = layer(entra(&idp, tid).accept_v1(true).validator().unwrap());

    let v1 = idp.entra_v1(tid, "api-app-id").scp(["mcp.read"]).sign();
    let a = send(l.layer(whoami()), bearer(&v1)).await;
    assert_eq!(a.status, 200, "{:?}", a.json());
    assert_eq!(a.json()["scopes"], json!(["mcp.read"]));
    assert_eq!(
        a.json()["client_id"],
        "0b1d4a4c-2a3e-4a53-9bd8-1b2c3d4e5f60"
    );
    assert_eq!(a.json()["tenant"], tid);

    let v2 = idp
        .entra_v2_delegated(tid, "api-app-id")
        .scp(["mcp.read", "mcp.write"])
        .sign();
    let a = send(l.layer(whoami()), bearer(&v2)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["scopes"], json!(["mcp.read", "mcp.write"]));

    // Audience `api://<id>` is accepted for v2 too.
    let v2_uri = idp
        .entra_v2_delegated(tid, "api-app-id")
        .audience("api://api-app-id")
        .scp(["mcp.read"])
        .sign();
    assert_eq!(send(l.layer(whoami()), bearer(&v2_uri)).await.status, 200);

    let app = idp
        .entra_v2_app(tid, "api-app-id")
        .roles(["mcp.admin", "mcp.read"])
        .sign();
    let a = send(l.layer(whoami()), bearer(&app)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["scopes"], json!(["mcp.admin", "mcp.read"]));
    assert_eq!(
        a.json()["client_id"],
        "9e8d7c6b-5a49-4382-a716-d5c4b3a29180"
    );

    // Graph tokens carry a header nonce: never accepted.
    let graph = idp
        .entra_v2_delegated(tid, "api-app-id")
        .scp(["mcp.read"])
        .header("nonce", json!("AQAB-graph-nonce"))
        .sign();
    expect_invalid(
        &l,
        &graph,
        "The access token is not intended for this resource",
    )
    .await;

    // Another tenant's token, even signed by the same keys, is not accepted.
    let foreign = idp
        .entra_v2_delegated("22222222-2222-2222-2222-222222222222", "api-app-id")
        .sign();
    expect_invalid(&l, &foreign, "Untrusted token issuer").await;

    // v1 disabled: v1 tokens are rejected.
    let only_v2 = layer(entra(&idp, tid).validator().unwrap());
    expect_invalid(&only_v2, &v1, "Untrusted token issuer").await;
}

#[tokio::test]
async fn entra_multi_tenant() {
    let idp = TestIssuer::start().await.unwrap();
    let allowed = "33333333-3333-3333-3333-333333333333";
    let foreign = "44444444-4444-4444-4444-444444444444";
    let l = layer(
        entra(&idp, "organizations")
            .accept_v1(true)
            .allowed_tenants([allowed])
            .validator()
            .unwrap(),
    );
    for token in [
        idp.entra_v2_delegated(allowed, "api-app-id")
            .scp(["mcp.read"])
            .sign(),
        idp.entra_v1(allowed, "api-app-id").scp(["mcp.read"]).sign(),
    ] {
        assert_eq!(send(l.layer(whoami()), bearer(&token)).await.status, 200);
    }
    let t = idp
        .entra_v2_delegated(foreign, "api-app-id")
        .scp(["mcp.read"])
        .sign();
    expect_invalid(&l, &t, "The token's tenant is not allowed").await;
    // An issuer whose tenant segment differs from `tid` does not match the template.
    let t = idp
        .entra_v2_delegated(allowed, "api-app-id")
        .issued_by(&idp.entra_v2_issuer(foreign))
        .sign();
    expect_invalid(&l, &t, "Untrusted token issuer").await;
}

#[tokio::test]
async fn jwks_rotation_is_picked_up() {
    let idp = TestIssuer::start().await.unwrap();
    let jwks = JwksProvider::new(idp.jwks_url()).min_refresh_interval(Duration::ZERO);
    let l = layer(keycloak_validator(&idp, jwks));
    let before = idp.keycloak("mcp-server").sign();
    assert_eq!(send(l.layer(whoami()), bearer(&before)).await.status, 200);
    assert_eq!(idp.jwks_fetch_count(), 1);

    idp.rotate_keys();
    idp.retire_old_keys();
    for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
        let after = idp.keycloak("mcp-server").alg(alg).sign();
        assert_eq!(send(l.layer(whoami()), bearer(&after)).await.status, 200);
    }
    assert_eq!(idp.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn unknown_kids_are_rate_limited() {
    let idp = TestIssuer::start().await.unwrap();
    let jwks = JwksProvider::new(idp.jwks_url()).min_refresh_interval(Duration::from_secs(3600));
    let l = layer(keycloak_validator(&idp, jwks));
    assert_eq!(
        send(
            l.layer(whoami()),
            bearer(&idp.keycloak("mcp-server").sign())
        )
        .await
        .status,
        200
    );
    for i in 0..20 {
        let t = idp
            .keycloak("mcp-server")
            .kid(&format!("random-{i}"))
            .sign();
        expect_invalid(&l, &t, "Unknown signing key").await;
    }
    assert_eq!(idp.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn concurrent_cold_start_fetches_once() {
    let idp = TestIssuer::start().await.unwrap();
    let v = keycloak_validator(&idp, JwksProvider::new(idp.jwks_url()));
    let tokens: Vec<String> = (0..16)
        .map(|i| idp.keycloak("mcp-server").subject(&format!("u{i}")).sign())
        .collect();
    let results = futures::future::join_all(tokens.iter().map(|t| v.validate(t))).await;
    assert!(results.iter().all(|r| r.is_allowed()));
    assert_eq!(idp.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn cache_control_max_age_is_honoured() {
    let idp = TestIssuer::start().await.unwrap();
    let jwks = JwksProvider::new(idp.jwks_url())
        .min_ttl(Duration::ZERO)
        .min_refresh_interval(Duration::ZERO);
    let v = JwtValidator::builder()
        .jwks(jwks)
        .issuer(idp.issuer())
        .audience("mcp-server")
        .cache_capacity(0)
        .build()
        .unwrap();
    // max-age=300: one fetch for several tokens.
    for _ in 0..3 {
        assert!(
            v.validate(&idp.keycloak("mcp-server").sign())
                .await
                .is_allowed()
        );
    }
    assert_eq!(idp.jwks_fetch_count(), 1);
    // max-age=0 (fetched on the next expiry check): every validation refetches.
    idp.set_jwks_max_age(0);
    let v0 = JwtValidator::builder()
        .jwks(
            JwksProvider::new(idp.jwks_url())
                .min_ttl(Duration::ZERO)
                .min_refresh_interval(Duration::ZERO),
        )
        .issuer(idp.issuer())
        .audience("mcp-server")
        .cache_capacity(0)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(
            v0.validate(&idp.keycloak("mcp-server").sign())
                .await
                .is_allowed()
        );
    }
    assert_eq!(idp.jwks_fetch_count(), 4);
}

#[tokio::test]
async fn outage_keeps_last_good_keys() {
    let idp = TestIssuer::start().await.unwrap();
    idp.set_jwks_max_age(0);
    let jwks = JwksProvider::new(idp.jwks_url())
        .min_ttl(Duration::ZERO)
        .min_refresh_interval(Duration::ZERO);
    let v = JwtValidator::builder()
        .jwks(jwks)
        .issuer(idp.issuer())
        .audience("mcp-server")
        .cache_capacity(0)
        .build()
        .unwrap();
    let l = layer(v);
    assert_eq!(
        send(
            l.layer(whoami()),
            bearer(&idp.keycloak("mcp-server").sign())
        )
        .await
        .status,
        200
    );
    idp.set_outage(true);
    // The key set is stale and the IdP is down: the last good set still verifies tokens.
    for _ in 0..3 {
        assert_eq!(
            send(
                l.layer(whoami()),
                bearer(&idp.keycloak("mcp-server").sign())
            )
            .await
            .status,
            200
        );
    }
    idp.set_outage(false);
    assert_eq!(
        send(
            l.layer(whoami()),
            bearer(&idp.keycloak("mcp-server").sign())
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn no_keys_at_all_is_503_with_retry_after() {
    let idp = TestIssuer::start().await.unwrap();
    idp.set_outage(true);
    let l = layer(keycloak_validator(&idp, JwksProvider::new(idp.jwks_url())));
    for _ in 0..2 {
        let a = send(
            l.layer(whoami()),
            bearer(&idp.keycloak("mcp-server").sign()),
        )
        .await;
        assert_eq!(a.status, 503);
        assert_eq!(a.headers["retry-after"], "30");
        assert_eq!(
            a.json(),
            json!({"error": "temporarily_unavailable",
                   "error_description": "The signing keys of the authorization server are unavailable"})
        );
    }
}

#[tokio::test]
async fn client_credentials_token_from_the_issuer_is_accepted() {
    let idp = TestIssuer::start_with_path("/realms/mcp").await.unwrap();
    idp.add_client("svc", "svc-secret", ["mcp:read", "mcp:write"]);
    let res: serde_json::Value = reqwest::Client::new()
        .post(idp.token_endpoint())
        .basic_auth("svc", Some("svc-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "mcp:read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = res["access_token"].as_str().unwrap();
    let l = layer(keycloak_validator(&idp, JwksProvider::new(idp.jwks_url())));
    let a = send(l.layer(whoami()), bearer(token)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["scopes"], json!(["mcp:read"]));
    assert_eq!(a.json()["client_id"], "svc");
}
