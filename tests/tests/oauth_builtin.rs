//! The built-in authorization server (`AuthServerConfig::builtin`): our own ES256 access tokens
//! validated by the same `AuthorizationLayer`, users authenticated by a trusted reverse proxy
//! (`X-Forwarded-User` / `-Groups`, groups mapped to scopes) or by an upstream OpenID Connect
//! login (the in-repo test IdP); rotating refresh tokens; JWKS and metadata.

mod oauth_common;

use base64::Engine as _;
use mcp_rs_core::schema::CallToolResult;
use mcp_rs_server::auth::AuthorizationLayer;
use mcp_rs_server::auth::server::forwarded::ForwardedAuth;
use mcp_rs_server::auth::server::keys::SigningKeys;
use mcp_rs_server::auth::server::{AuthServerConfig, AuthServerLayer, UpstreamConfig};
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{
    DEFAULT_GRACE_PERIOD, HostGuardLayer, HttpConfig, StreamableHttpService, serve_listener,
};
use mcp_rs_server::{RequestContext, Server, ToolError};
use oauth_common::{
    CHALLENGE, REDIRECT, REDIRECT_ENC, VERIFIER, hidden, location, no_redirects, query_of,
};
use serde_json::{Map, Value, json};

fn server() -> Server {
    let whoami = ToolDef::builder("whoami")
        .description("The verified identity of the caller")
        .input_schema(match json!({"type": "object", "properties": {}}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        })
        .handler_fn(
            |ctx: RequestContext, _args: Map<String, Value>| async move {
                let who = ctx.oauth().ok_or_else(|| ToolError::new("no identity"))?;
                let mut scopes: Vec<&str> = who.scopes.iter().collect();
                scopes.sort_unstable();
                Ok::<_, ToolError>(CallToolResult::text(
                    json!({"subject": who.subject, "client_id": who.client_id, "scopes": scopes})
                        .to_string(),
                ))
            },
        );
    Server::builder()
        .name("builtin")
        .version("1.0.0")
        .tool(whoami)
        .build()
}

struct As {
    origin: String,
    url: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The built-in AS on a random port; `login` picks how users are authenticated.
async fn start(login: impl FnOnce(AuthServerConfig, &str) -> AuthServerConfig) -> As {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let url = format!("{origin}/mcp");
    let keys = SigningKeys::generate().unwrap();
    let http = HttpConfig::default().path("/mcp");
    let cfg = AuthServerConfig::builtin(&origin, &url, keys.clone())
        .unwrap()
        .scopes_supported(["mcp:read", "mcp:write"]);
    let cfg = login(cfg, &origin);
    let auth = AuthorizationLayer::new(keys.validator(&origin, &url).unwrap(), &url).unwrap();
    let service = tower::ServiceBuilder::new()
        .layer(HostGuardLayer::from_config(&http))
        .layer(AuthServerLayer::new(cfg))
        .layer(auth)
        .service(StreamableHttpService::new(server(), http));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        serve_listener(
            listener,
            service,
            async {
                let _ = rx.await;
            },
            DEFAULT_GRACE_PERIOD,
        )
        .await
        .unwrap();
    });
    As {
        origin,
        url,
        http: no_redirects(),
        _stop: tx,
    }
}

fn forwarded(trusted: &str) -> impl FnOnce(AuthServerConfig, &str) -> AuthServerConfig {
    let trusted = trusted.to_owned();
    move |cfg, _| {
        cfg.forwarded(
            ForwardedAuth::new()
                .trusted_proxies([trusted.as_str()])
                .unwrap()
                .group_scopes("readers", ["mcp:read"])
                .group_scopes("admins", ["mcp:read", "mcp:write"]),
        )
    }
}

impl As {
    async fn register(&self) -> String {
        let res = self
            .http
            .post(format!("{}/register", self.origin))
            .json(&json!({"client_name": "cli", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn authorize_url(&self, client: &str, scope: &str) -> String {
        format!(
            "{}/authorize?response_type=code&client_id={client}&redirect_uri={REDIRECT_ENC}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=st&scope={}",
            self.origin,
            scope.replace(' ', "%20")
        )
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

    async fn whoami(&self, token: &str) -> Value {
        let c = reqwest::Client::new();
        let post = |body: Value, session: Option<String>| {
            let mut r = c
                .post(&self.url)
                .bearer_auth(token)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .json(&body);
            if let Some(s) = session {
                r = r.header("mcp-session-id", s);
            }
            r.send()
        };
        let res = post(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}), None)
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let session = res
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let _ = res.text().await;
        let res = post(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            session.clone(),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 202);
        let res = post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}), session)
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        let json_text = text
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or(&text)
            .to_owned();
        let v: Value = serde_json::from_str(&json_text).unwrap();
        serde_json::from_str(v["result"]["content"][0]["text"].as_str().unwrap()).unwrap()
    }
}

fn claims(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let dec = |p: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .unwrap(),
        )
        .unwrap()
    };
    let header = dec(parts.next().unwrap());
    (header, dec(parts.next().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_user_flow_mints_our_own_tokens() {
    let s = start(forwarded("127.0.0.1")).await;
    let client = s.register().await;
    let as_alice = |r: reqwest::RequestBuilder| {
        r.header("x-forwarded-user", "alice")
            .header("x-forwarded-groups", "readers")
    };

    // Metadata advertises the JWKS; the JWKS is served with cache headers.
    let meta: Value = s
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            s.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["jwks_uri"], format!("{}/jwks.json", s.origin));
    let res = s
        .http
        .get(format!("{}/jwks.json", s.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = res.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert!(jwks["keys"][0].get("d").is_none(), "public parts only");

    // Without the proxy's user header: 401 page. With it: consent, then our code at once.
    let res = s
        .http
        .get(s.authorize_url(&client, "mcp:read mcp:write"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = as_alice(s.http.get(s.authorize_url(&client, "mcp:read mcp:write")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    // Approving without the proxy headers is refused; with another user too.
    let form = [
        ("tx", hidden(&page, "tx")),
        ("csrf", hidden(&page, "csrf")),
        ("decision", "approve".to_owned()),
    ];
    let consent = format!("{}/consent", s.origin);
    assert_eq!(
        s.http
            .post(&consent)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = s
        .http
        .post(&consent)
        .header("x-forwarded-user", "mallory")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = as_alice(s.http.post(&consent))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(&format!("{REDIRECT}?code=")), "{back}");
    let q = query_of(&back);
    assert_eq!(
        (q["state"].as_str(), q["iss"].as_str()),
        ("st", s.origin.as_str())
    );

    // Token: an ES256 at+jwt for this resource with the scopes alice's group grants.
    let (status, tok) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client),
            ("code", &q["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 300);
    assert_eq!(tok["scope"], "mcp:read");
    let at = tok["access_token"].as_str().unwrap();
    let (header, c) = claims(at);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(c["iss"], s.origin);
    assert_eq!(c["aud"], s.url);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["scope"], "mcp:read");
    assert_eq!(c["client_id"], client);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 300);

    // The same AuthorizationLayer accepts it.
    let who = s.whoami(at).await;
    assert_eq!(
        who,
        json!({"subject": "alice", "client_id": client, "scopes": ["mcp:read"]})
    );

    // Rotating refresh: a new access token and refresh token; the old refresh token is dead.
    let rt = tok["refresh_token"].as_str().unwrap();
    let (status, t2) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", rt),
        ])
        .await;
    assert_eq!(status, 200, "{t2}");
    assert_ne!(t2["refresh_token"], tok["refresh_token"]);
    assert_eq!(
        claims(t2["access_token"].as_str().unwrap()).1["sub"],
        "alice"
    );
    let (status, again) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", rt),
        ])
        .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_an_untrusted_peer_get_403() {
    let s = start(forwarded("10.9.8.7")).await;
    let client = s.register().await;
    let res = s
        .http
        .get(s.authorize_url(&client, "mcp:read"))
        .header("x-forwarded-user", "alice")
        .header("x-forwarded-groups", "admins")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("location").is_none());
    let page = res.text().await.unwrap();
    assert!(
        page.contains("This sign-in must go through the organisation&#39;s proxy."),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_oidc_login_gives_our_token_with_the_upstream_subject() {
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client("builtin-as", "as-secret", ["mcp:read"]);
    idp.set_user("bob");
    let s = start(|cfg, origin| {
        idp.add_redirect_uri("builtin-as", &format!("{origin}/oauth/callback"));
        cfg.upstream(
            UpstreamConfig::discover(idp.issuer(), "builtin-as").client_secret("as-secret"),
        )
    })
    .await;
    let client = s.register().await;
    let page = s
        .http
        .get(s.authorize_url(&client, "mcp:read"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("tx", hidden(&page, "tx")),
        ("csrf", hidden(&page, "csrf")),
        ("decision", "approve".to_owned()),
    ];
    let res = s
        .http
        .post(format!("{}/consent", s.origin))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let to_idp = location(&res);
    assert_eq!(query_of(&to_idp)["scope"], "mcp:read openid");
    let to_cb = location(&s.http.get(&to_idp).send().await.unwrap());
    let back = location(&s.http.get(&to_cb).send().await.unwrap());
    let code = query_of(&back)["code"].clone();
    let (status, tok) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, 200, "{tok}");
    let (_, c) = claims(tok["access_token"].as_str().unwrap());
    assert_eq!(
        (c["iss"].as_str(), c["sub"].as_str()),
        (Some(s.origin.as_str()), Some("bob"))
    );
    assert_eq!(
        s.whoami(tok["access_token"].as_str().unwrap()).await["subject"],
        "bob"
    );
}

/// Serves `doc(url)` at `http://127.0.0.1:<port>/client.json`; returns the URL.
async fn serve_client_document() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/client.json",
        listener.local_addr().unwrap().port()
    );
    let doc = json!({"client_id": url, "client_name": "CIMD <app>", "redirect_uris": [REDIRECT],
                     "token_endpoint_auth_method": "none"});
    let app = axum::Router::new().route(
        "/client.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_id_metadata_documents_are_clients_without_registration() {
    use mcp_rs_server::auth::server::cimd::insecure::InsecureCimdOptions;
    use mcp_rs_server::auth::server::cimd::{CimdConfig, CimdFetcher};
    let doc_url = serve_client_document().await;
    let s = start(|cfg, origin| {
        // Test-only: the document is served over http from loopback.
        let fetcher = CimdFetcher::new(
            CimdConfig::default().insecure(
                InsecureCimdOptions::new()
                    .allow_http(true)
                    .allow_private_addresses(true),
            ),
        );
        forwarded("127.0.0.1")(cfg, origin).client_id_metadata_documents(fetcher)
    })
    .await;
    let meta: Value = s
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            s.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["client_id_metadata_document_supported"], true);

    let client: String = url::form_urlencoded::byte_serialize(doc_url.as_bytes()).collect();
    let as_alice = |r: reqwest::RequestBuilder| {
        r.header("x-forwarded-user", "alice")
            .header("x-forwarded-groups", "admins")
    };
    let res = as_alice(s.http.get(s.authorize_url(&client, "mcp:write")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("<strong>CIMD &lt;app&gt;</strong>"), "{page}");
    let form = [
        ("tx", hidden(&page, "tx")),
        ("csrf", hidden(&page, "csrf")),
        ("decision", "approve".to_owned()),
    ];
    let res = as_alice(s.http.post(format!("{}/consent", s.origin)))
        .form(&form)
        .send()
        .await
        .unwrap();
    let code = query_of(&location(&res))["code"].clone();
    let (status, tok) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &doc_url),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(
        claims(tok["access_token"].as_str().unwrap()).1["client_id"],
        doc_url
    );

    // A document URL that does not exist: the error page, no redirect.
    let missing: String = url::form_urlencoded::byte_serialize(
        doc_url.replace("client.json", "nope.json").as_bytes(),
    )
    .collect();
    let res = as_alice(s.http.get(s.authorize_url(&missing, "mcp:read")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_cap_evicts_unused_clients_instead_of_locking_out() {
    use mcp_rs_server::auth::server::{InMemoryAuthStore, StoreLimits};
    let mut limits = StoreLimits::default();
    limits.max_clients = 4;
    let s = start(|cfg, origin| {
        forwarded("127.0.0.1")(cfg, origin).store(InMemoryAuthStore::new(limits))
    })
    .await;
    let as_alice = |r: reqwest::RequestBuilder| {
        r.header("x-forwarded-user", "alice")
            .header("x-forwarded-groups", "readers")
    };
    // A client that is used (a token was issued to it) ...
    let used = s.register().await;
    let page = as_alice(s.http.get(s.authorize_url(&used, "mcp:read")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("tx", hidden(&page, "tx")),
        ("csrf", hidden(&page, "csrf")),
        ("decision", "approve".to_owned()),
    ];
    let res = as_alice(s.http.post(format!("{}/consent", s.origin)))
        .form(&form)
        .send()
        .await
        .unwrap();
    let code = query_of(&location(&res))["code"].clone();
    let (status, _) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &used),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, 200);
    // ... survives a flood of registrations far over the cap, which never locks anyone out.
    let mut flood = Vec::new();
    for _ in 0..12 {
        flood.push(s.register().await);
    }
    let status_of = |client: String| {
        let r = as_alice(s.http.get(s.authorize_url(&client, "mcp:read"))).send();
        async move { r.await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status_of(used.clone()).await,
        200,
        "the used client is kept"
    );
    assert_eq!(
        status_of(flood[11].clone()).await,
        200,
        "the newest is there"
    );
    assert_eq!(
        status_of(flood[0].clone()).await,
        400,
        "the oldest unused was evicted"
    );
}
