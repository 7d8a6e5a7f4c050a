//! The token hole stays closed: the authorization-server façade of the Entra example refuses,
//! locally and without contacting the upstream, every token request that does not redeem a
//! code or refresh token it issued itself; `/authorize` never redirects for an unknown client
//! or an unregistered redirect URI; every OAuth route sits behind the Host/Origin guard.

mod oauth_common;

use oauth_common::*;
use serde_json::{Value, json};

/// A token request form, the expected status and body.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, Value);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refuses_foreign_grants_without_contacting_the_upstream() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("c").await;
    let c = client.as_str();
    let unsupported = err(
        "unsupported_grant_type",
        "Only authorization_code and refresh_token are supported",
    );
    for grant in [
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let got = ex
            .token(&[("grant_type", grant), ("client_id", c), ("username", "u")])
            .await;
        assert_eq!(got, (400, unsupported.clone()), "{grant}");
    }
    let auth_failed = err("invalid_client", "Client authentication failed");
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("client_id", c)],
            400,
            err("invalid_request", "grant_type is required"),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", c),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
            ],
            400,
            err("invalid_request", "code_verifier is required"),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", c),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
            400,
            err("invalid_request", "code is required"),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", "not-registered"),
                ("code", "x"),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
            401,
            auth_failed.clone(),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
            401,
            auth_failed.clone(),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", c),
                ("code", "upstream-code"),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
            400,
            err(
                "invalid_grant",
                "The authorization code is invalid or expired",
            ),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", c),
                ("client_secret", "guess"),
                ("code", "x"),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
            ],
            401,
            auth_failed.clone(),
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "not-registered"),
                ("refresh_token", "r"),
            ],
            401,
            auth_failed.clone(),
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", c),
                ("refresh_token", "r"),
            ],
            400,
            err("invalid_grant", "The refresh token is invalid or expired"),
        ),
        (
            vec![("grant_type", "refresh_token"), ("client_id", c)],
            400,
            err("invalid_request", "refresh_token is required"),
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("grant_type", "client_credentials"),
                ("client_id", c),
                ("refresh_token", "r"),
            ],
            400,
            err("invalid_request", "parameter grant_type is repeated"),
        ),
    ];
    for (form, status, body) in cases {
        assert_eq!(ex.token(&form).await, (status, body), "{form:?}");
    }
    assert!(
        idp.token_requests().is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_never_redirects_for_unknown_clients_or_redirect_uris() {
    let idp = idp().await;
    let ex = start(&idp).await;
    let client = ex.public_client("c").await;
    let ok = ex.authorize_query(&client, "st");
    for (query, error) in [
        (ok.replace(&client, "not-registered"), "invalid_client"),
        (ok.replace("%2Fcallback", "%2Fother"), "invalid_request"),
        (
            ok.replace("http%3A%2F%2F127.0.0.1", "http%3A%2F%2Flocalhost"),
            "invalid_request",
        ),
        (
            ok.replace(&format!("&redirect_uri={REDIRECT_ENC}"), ""),
            "invalid_request",
        ),
        (format!("{ok}&client_id={client}"), "invalid_request"),
    ] {
        let res = ex.authorize(&query, None).await;
        assert_eq!(res.status(), 400, "{query}");
        assert!(res.headers().get("location").is_none(), "{query}");
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        let page = res.text().await.unwrap();
        assert!(
            page.contains(&format!("<code>{error}</code>")),
            "{query}: {page}"
        );
    }
    assert!(
        idp.authorize_requests().is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_routes_are_behind_the_host_guard() {
    let idp = idp().await;
    let ex = start(&idp).await;
    for (method, path) in [
        ("POST", "/token"),
        ("POST", "/register"),
        ("GET", "/authorize?client_id=x"),
        ("POST", "/consent"),
        ("GET", "/oauth/callback?state=x"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ] {
        let url = format!("{}{path}", ex.origin);
        let m = http::Method::from_bytes(method.as_bytes()).unwrap();
        for (name, value) in [
            ("host", "evil.example.com"),
            ("origin", "https://evil.example.com"),
        ] {
            let res = ex
                .http
                .request(m.clone(), &url)
                .header(name, value)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{method} {path} with a foreign {name}");
            let v: Value = res.json().await.unwrap();
            assert_eq!(v["error"]["code"], json!(-32600), "{v}");
            let msg = v["error"]["message"].as_str().unwrap_or_default();
            assert!(msg.starts_with("Forbidden: "), "{v}");
        }
    }
    assert!(idp.token_requests().is_empty());
}
