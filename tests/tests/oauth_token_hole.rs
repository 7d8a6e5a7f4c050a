//! The OAuth proxy of the Entra example refuses, locally and without contacting the upstream,
//! every token request that does not come from a registered client's PKCE flow, and every
//! authorization request of an unknown client, an unregistered redirect URI or without S256
//! PKCE; its routes sit behind the Host/Origin guard.

use entra_example::{Config, run};
use mcp_server::auth::testing::TestIssuer;
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP: &str = "6e2b1f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const REDIRECT: &str = "http://127.0.0.1:3334/callback";
const REDIRECT_ENC: &str = "http%3A%2F%2F127.0.0.1%3A3334%2Fcallback";

struct Example {
    origin: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(idp: &TestIssuer) -> Example {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://127.0.0.1:{port}");
    let env = [
        ("ENTRA_TENANT_ID", TENANT.to_owned()),
        ("ENTRA_CLIENT_ID", APP.to_owned()),
        ("ENTRA_CLIENT_SECRET", "api-secret".to_owned()),
        ("ENTRA_AUTHORITY", idp.base_url().to_owned()),
        ("MCP_PUBLIC_URL", format!("{origin}/mcp")),
    ];
    let config = Config::from_vars(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("valid configuration");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        run(config, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("entra example runs");
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Example {
        origin,
        http,
        _stop: tx,
    }
}

impl Example {
    async fn register(&self) -> String {
        let res = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&json!({"client_name": "c", "redirect_uris": [REDIRECT]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        v["client_id"].as_str().unwrap().to_owned()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/token", self.origin))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn authorize(&self, query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize?{query}", self.origin))
            .send()
            .await
            .unwrap()
    }
}

fn err(code: &str, description: &str) -> Value {
    json!({"error": code, "error_description": description})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refuses_foreign_grants_without_contacting_the_upstream() {
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client(APP, "api-secret", ["mcp.read"]);
    let ex = start(&idp).await;
    let client = ex.register().await;
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
    let cases: Vec<(Vec<(&str, &str)>, u16, Value)> = vec![
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
                ("code_verifier", "v"),
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
                ("code_verifier", "v"),
                ("redirect_uri", REDIRECT),
            ],
            401,
            err("invalid_client", "Unknown client_id"),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("code_verifier", "v"),
                ("redirect_uri", REDIRECT),
            ],
            401,
            err("invalid_client", "Unknown client_id"),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", c),
                ("code", "x"),
                ("code_verifier", "v"),
                ("redirect_uri", "http://127.0.0.1:9/other"),
            ],
            400,
            err(
                "invalid_grant",
                "redirect_uri is not registered for this client",
            ),
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "not-registered"),
                ("refresh_token", "r"),
            ],
            401,
            err("invalid_client", "Unknown client_id"),
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
            err("invalid_request", "A parameter is repeated"),
        ),
    ];
    for (form, status, body) in cases {
        assert_eq!(ex.token(&form).await, (status, body), "{form:?}");
    }
    assert!(
        idp.token_requests().is_empty(),
        "nothing reached the upstream"
    );

    // A well-formed code exchange of a registered client is forwarded, with known parameters
    // only and the secret injected by the server.
    let _ = ex
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", c),
            ("code", "upstream-code"),
            ("code_verifier", "verifier"),
            ("redirect_uri", REDIRECT),
            ("client_secret", "guess"),
            ("scope", "openid"),
        ])
        .await;
    let seen = idp.token_requests();
    assert_eq!(seen.len(), 1);
    let form = &seen[0].form;
    assert_eq!(
        form.get("grant_type").map(String::as_str),
        Some("authorization_code")
    );
    assert_eq!(
        form.get("code_verifier").map(String::as_str),
        Some("verifier")
    );
    assert_ne!(form.get("client_secret").map(String::as_str), Some("guess"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_refuses_unknown_clients_and_missing_pkce() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp).await;
    let client = ex.register().await;
    let ok = format!(
        "response_type=code&client_id={client}&redirect_uri={REDIRECT_ENC}&code_challenge=abc&code_challenge_method=S256&state=st"
    );

    // No redirect at all: unknown client, unregistered or missing redirect URI.
    for (query, error) in [
        (ok.replace(&client, "not-registered"), "invalid_client"),
        (ok.replace("3334", "9999"), "invalid_request"),
        (
            ok.replace(&format!("&redirect_uri={REDIRECT_ENC}"), ""),
            "invalid_request",
        ),
        (format!("{ok}&client_id={client}"), "invalid_request"),
    ] {
        let res = ex.authorize(&query).await;
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

    // Known client and redirect URI: errors go back to it, with the state.
    for (query, location) in [
        (
            ok.replace(
                "&code_challenge_method=S256",
                "&code_challenge_method=plain",
            ),
            format!(
                "{REDIRECT}?error=invalid_request&error_description=PKCE+with+code_challenge_method%3DS256+is+required&state=st"
            ),
        ),
        (
            ok.replace("&code_challenge_method=S256", ""),
            format!(
                "{REDIRECT}?error=invalid_request&error_description=PKCE+with+code_challenge_method%3DS256+is+required&state=st"
            ),
        ),
        (
            ok.replace("&code_challenge=abc", ""),
            format!(
                "{REDIRECT}?error=invalid_request&error_description=code_challenge+is+required&state=st"
            ),
        ),
        (
            ok.replace("response_type=code", "response_type=token"),
            format!(
                "{REDIRECT}?error=unsupported_response_type&error_description=response_type+must+be+code&state=st"
            ),
        ),
    ] {
        let res = ex.authorize(&query).await;
        assert_eq!(res.status(), 302, "{query}");
        assert_eq!(res.headers()["location"], location.as_str(), "{query}");
    }

    // All checks passed: on to the upstream.
    let res = ex.authorize(&ok).await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&idp.authorization_endpoint()),
        "{location}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_routes_are_behind_the_host_guard() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp).await;
    let forbidden = |v: Value| {
        assert_eq!(v["error"], "forbidden", "{v}");
    };
    for (method, path) in [
        ("POST", "/token"),
        ("POST", "/register"),
        ("GET", "/authorize?client_id=x"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ] {
        let url = format!("{}{path}", ex.origin);
        let m = http::Method::from_bytes(method.as_bytes()).unwrap();
        let res = ex
            .http
            .request(m.clone(), &url)
            .header("host", "evil.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path} with a foreign Host");
        forbidden(res.json().await.unwrap());
        let res = ex
            .http
            .request(m, &url)
            .header("origin", "https://evil.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path} with a foreign Origin");
        forbidden(res.json().await.unwrap());
    }
    assert!(idp.token_requests().is_empty());
}
