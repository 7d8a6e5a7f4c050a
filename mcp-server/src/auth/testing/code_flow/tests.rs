//! The TestIssuer's authorization endpoint and code / refresh grants, over real HTTP.

use crate::auth::entra::EntraConfig;
use crate::auth::testing::{TestIssuer, TokenShape};
use crate::auth::{AuthorizationResult, JwtValidator, TokenValidator};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CB: &str = "http://127.0.0.1:3334/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn idp() -> TestIssuer {
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client("app", "app-secret", ["mcp:read", "mcp:write"]);
    idp.add_redirect_uri("app", CB);
    idp
}

/// GET /authorize with `extra` appended to a valid query; returns (status, Location, body).
async fn authorize(idp: &TestIssuer, query: &str) -> (u16, Option<String>, String) {
    let res = http()
        .get(format!("{}?{query}", idp.authorization_endpoint()))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, res.text().await.unwrap())
}

fn valid_query(client: &str, scope: &str) -> String {
    format!(
        "response_type=code&client_id={client}&redirect_uri=http%3A%2F%2F127.0.0.1%3A3334%2Fcb\
         &code_challenge={}&code_challenge_method=S256&state=xyz&scope={scope}",
        challenge(VERIFIER)
    )
}

/// Runs /authorize and returns the code, checking the exact Location.
async fn code_for(idp: &TestIssuer, client: &str, scope: &str) -> String {
    let (status, location, _) = authorize(idp, &valid_query(client, scope)).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(location, format!("{CB}?code={code}&state=xyz"));
    code
}

async fn token(
    idp: &TestIssuer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = http().post(idp.token_endpoint()).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn exchange(idp: &TestIssuer, code: &str, verifier: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", verifier),
    ];
    token(idp, Some(("app", "app-secret")), &form).await
}

async fn refresh(idp: &TestIssuer, client: (&str, &str), refresh_token: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token(idp, Some(client), &form).await
}

fn keycloak_validator(idp: &TestIssuer) -> JwtValidator {
    JwtValidator::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience("mcp-server")
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_keycloak_shape_with_refresh_rotation() {
    let idp = idp().await;
    idp.set_user("alice");
    let code = code_for(&idp, "app", "mcp%3Aread").await;
    let (status, body) = exchange(&idp, &code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "mcp:read");
    assert!(body.get("id_token").is_none(), "no openid, no id_token");
    let AuthorizationResult::Allow(ctx) = keycloak_validator(&idp)
        .validate(body["access_token"].as_str().unwrap())
        .await
    else {
        panic!("the access token validates")
    };
    assert_eq!(ctx.subject, "alice");
    assert_eq!(ctx.client_id.as_deref(), Some("app"));
    assert!(ctx.scopes.contains("mcp:read"));
    assert!(!ctx.scopes.contains("mcp:write"));

    // Refresh rotates: the new token works once, the spent one is refused.
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&idp, ("app", "app-secret"), &first).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(body["scope"], "mcp:read");
    assert_eq!(idp.live_refresh_tokens(), 1);
    let (status, body) = refresh(&idp, ("app", "app-secret"), &first).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    // Another client cannot use it.
    idp.add_client("other", "other-secret", ["mcp:read"]);
    let (status, body) = refresh(&idp, ("other", "other-secret"), &second).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_grant"))
    );

    // A replayed code is refused and revokes the refresh chain it started.
    let (status, body) = exchange(&idp, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_grant"))
    );
    assert_eq!(body["error_description"], "the code was already used");
    assert_eq!(idp.live_refresh_tokens(), 0);
    let (status, _) = refresh(&idp, ("app", "app-secret"), &second).await;
    assert_eq!(status, 400);

    // The token endpoint saw the verifier and the secret (Basic).
    let seen = idp.token_requests();
    assert_eq!(seen[0].form["code_verifier"], VERIFIER);
    assert!(
        seen[0]
            .authorization
            .as_deref()
            .unwrap()
            .starts_with("Basic ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_refuses_without_redirect_for_bad_client_or_redirect_uri() {
    let idp = idp().await;
    for query in [
        valid_query("nobody", "mcp%3Aread"),
        valid_query("app", "mcp%3Aread").replace("3334%2Fcb", "3334%2Fother"),
        valid_query("app", "mcp%3Aread")
            .replace("http%3A%2F%2F127.0.0.1", "http%3A%2F%2Flocalhost"),
        format!("{}&client_id=app", valid_query("app", "mcp%3Aread")),
    ] {
        let (status, location, body) = authorize(&idp, &query).await;
        assert_eq!((status, location), (400, None), "{query}");
        assert!(body.contains("<h1>Bad request</h1>"), "{body}");
        assert!(!body.contains("nobody"), "request input is never echoed");
    }
    // Recorded for assertions, newest last.
    let seen = idp.authorize_requests();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0]["client_id"], "nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_errors_go_to_the_registered_redirect_uri_with_state() {
    let idp = idp().await;
    let ok = valid_query("app", "mcp%3Aread");
    let cases = [
        (
            ok.replace("response_type=code", "response_type=token"),
            "error=unsupported_response_type&error_description=response_type+must+be+code",
        ),
        (
            ok.replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "error=invalid_request&error_description=code_challenge_method+must+be+S256",
        ),
        (
            ok.replace("&code_challenge_method=S256", ""),
            "error=invalid_request&error_description=code_challenge_method+must+be+S256",
        ),
        (
            ok.replace(&challenge(VERIFIER), "short"),
            "error=invalid_request&error_description=code_challenge+is+missing+or+malformed",
        ),
        (
            valid_query("app", "mcp%3Aadmin"),
            "error=invalid_scope&error_description=a+requested+scope+is+not+allowed+for+this+client",
        ),
    ];
    for (query, expected) in cases {
        let (status, location, _) = authorize(&idp, &query).await;
        assert_eq!(status, 302, "{query}");
        assert_eq!(location.unwrap(), format!("{CB}?{expected}&state=xyz"));
    }
    // One-shot upstream failure, then a normal code again.
    idp.fail_next_authorize("access_denied");
    let (status, location, _) = authorize(&idp, &ok).await;
    assert_eq!(status, 302);
    assert_eq!(
        location.unwrap(),
        format!("{CB}?error=access_denied&state=xyz")
    );
    let _ = code_for(&idp, "app", "mcp%3Aread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_exchange_checks_client_redirect_uri_and_verifier() {
    let idp = idp().await;
    idp.add_client("other", "other-secret", ["mcp:read"]);

    // Wrong verifier: invalid_grant, and the code is spent.
    let code = code_for(&idp, "app", "mcp%3Aread").await;
    let (status, body) =
        exchange(&idp, &code, "wrong-verifier-wrong-verifier-wrong-verifier").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "code_verifier does not match the code_challenge"
    );
    assert_eq!(exchange(&idp, &code, VERIFIER).await.0, 400);

    // Missing verifier.
    let code = code_for(&idp, "app", "mcp%3Aread").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CB),
    ];
    let (status, body) = token(&idp, Some(("app", "app-secret")), &form).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_grant"))
    );

    // Different redirect_uri.
    let code = code_for(&idp, "app", "mcp%3Aread").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://127.0.0.1:3334/other"),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&idp, Some(("app", "app-secret")), &form).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_grant"))
    );

    // Another client's code: refused, the owner can still use it.
    let code = code_for(&idp, "app", "mcp%3Aread").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&idp, Some(("other", "other-secret")), &form).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_description"],
        "the code was issued to another client"
    );
    assert_eq!(exchange(&idp, &code, VERIFIER).await.0, 200);

    // Bad secret, unknown grant.
    let (status, body) = token(&idp, Some(("app", "nope")), &form).await;
    assert_eq!((status, body), (401, json!({"error": "invalid_client"})));
    let (status, body) = token(
        &idp,
        Some(("app", "app-secret")),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"error": "unsupported_grant_type"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_client_and_client_secret_post() {
    let idp = idp().await;
    idp.add_public_client("cli", ["mcp:read"]);
    idp.add_redirect_uri("cli", CB);
    let code = code_for(&idp, "cli", "").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "cli"),
        ("code", &code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&idp, None, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "mcp:read", "no scope requested: all allowed");
    let (status, body) = token(
        &idp,
        None,
        &[("grant_type", "client_credentials"), ("client_id", "cli")],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("unauthorized_client"))
    );
    // A confidential client without its secret is not a public client.
    let (status, _) = token(
        &idp,
        None,
        &[("grant_type", "client_credentials"), ("client_id", "app")],
    )
    .await;
    assert_eq!(status, 401);

    idp.set_token_auth_methods(["client_secret_post"]);
    let code = code_for(&idp, "app", "mcp%3Awrite").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "app"),
        ("client_secret", "app-secret"),
        ("code", &code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&idp, None, &form).await;
    assert_eq!((status, body["scope"].clone()), (200, json!("mcp:write")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_v2_shape_with_id_token() {
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const APP: &str = "6e2b1f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client(APP, "api-secret", ["mcp.read", "mcp.write"]);
    idp.add_redirect_uri(APP, CB);
    idp.set_token_shape(TokenShape::EntraV2 {
        tenant: TENANT.to_owned(),
    });
    idp.set_token_audience(APP);
    idp.set_user("entra-user");
    let scope = format!("openid%20offline_access%20api%3A%2F%2F{APP}%2Fmcp.read");
    let query = format!("{}&nonce=n-0S6", valid_query(APP, &scope));
    let (_, location, _) = authorize(&idp, &query).await;
    let code = url::Url::parse(&location.unwrap())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token(&idp, Some((APP, "api-secret")), &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid offline_access mcp.read");
    let validator = EntraConfig::new(TENANT, APP)
        .authority(idp.base_url())
        .validator()
        .unwrap();
    let AuthorizationResult::Allow(ctx) = validator
        .validate(body["access_token"].as_str().unwrap())
        .await
    else {
        panic!("the Entra-shaped token validates")
    };
    assert_eq!(ctx.subject, "entra-user");
    assert_eq!(ctx.tenant.as_deref(), Some(TENANT));
    assert_eq!(ctx.claims["scp"], "mcp.read");
    assert_eq!(ctx.claims["azpacr"], "1");
    // The ID token: audience = the client, nonce carried.
    let id_token = body["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["aud"], APP);
    assert_eq!(claims["nonce"], "n-0S6");
    assert_eq!(claims["iss"], idp.entra_v2_issuer(TENANT));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["ver"], "2.0");
}
