//! The built-in authorization server example (`examples/oauth-server`) end to end with a
//! headless client, the way a reverse proxy would drive it: discovery → DCR → `/authorize` with
//! the proxy's identity headers → consent → code → token → MCP calls with the minted JWT; the
//! same headers from an address that is not a trusted proxy → 403.
//!
//! The trusted proxy is `127.0.0.2`: the "proxy" client binds its socket to that address, every
//! other client connects from `127.0.0.1`.

mod oauth_common;

use mcp_tests::bearer::Client;
use oauth_common::{CHALLENGE, REDIRECT, REDIRECT_ENC, VERIFIER, hidden, location, query_of};
use oauth_server_example::{Config, run};
use serde_json::{Value, json};

struct Example {
    origin: String,
    url: String,
    key_file: std::path::PathBuf,
    /// Connects from 127.0.0.2, the trusted proxy.
    proxy: reqwest::Client,
    /// Connects from 127.0.0.1.
    direct: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn client(local: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(ip) = local {
        b = b.local_address(ip.parse::<std::net::IpAddr>().unwrap());
    }
    b.build().unwrap()
}

async fn start() -> Example {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!(
        "oauth-server-example-{port}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.json");
    let _ = std::fs::remove_file(&key_file);
    let env = [
        ("MCP_PUBLIC_URL", format!("{origin}/mcp")),
        ("MCP_LISTEN", format!("127.0.0.1:{port}")),
        ("OAUTH_TRUSTED_PROXIES", "127.0.0.2".to_owned()),
        ("OAUTH_KEY_FILE", key_file.display().to_string()),
    ];
    let config = Config::from_vars(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("valid configuration");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(e) = run(config, listener, async {
            let _ = rx.await;
        })
        .await
        {
            panic!("oauth-server example failed: {e}");
        }
    });
    Example {
        url: format!("{origin}/mcp"),
        origin,
        key_file,
        proxy: client(Some("127.0.0.2")),
        direct: client(None),
        _stop: tx,
    }
}

impl Example {
    fn authorize_url(&self, client_id: &str, scope: &str) -> String {
        format!(
            "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT_ENC}\
             &code_challenge={CHALLENGE}&code_challenge_method=S256&state=s-1&scope={}",
            self.origin,
            scope.replace(' ', "%20")
        )
    }

    /// DCR → authorize → consent → code → token for `user` in `groups`, through the proxy.
    async fn login(&self, client_id: &str, user: &str, groups: &str, scope: &str) -> Value {
        let with_identity = |r: reqwest::RequestBuilder| {
            r.header("x-forwarded-user", user)
                .header("x-forwarded-email", format!("{user}@example.com"))
                .header("x-forwarded-groups", groups)
        };
        let res = with_identity(self.proxy.get(self.authorize_url(client_id, scope)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "the consent page");
        let page = res.text().await.unwrap();
        assert!(page.contains("oauth-example-cli"), "{page}");
        let res = with_identity(self.proxy.post(format!("{}/consent", self.origin)))
            .form(&[
                ("tx", hidden(&page, "tx")),
                ("csrf", hidden(&page, "csrf")),
                ("decision", "approve".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        let back = location(&res);
        assert!(back.starts_with(&format!("{REDIRECT}?code=")), "{back}");
        let q = query_of(&back);
        assert_eq!(q["state"], "s-1");
        assert_eq!(q["iss"], self.origin);
        // The client talks to the token endpoint directly (not through the proxy).
        let res = self
            .direct
            .post(format!("{}/token", self.origin))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", &q["code"]),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        res.json().await.unwrap()
    }
}

fn payload(jwt: &str) -> Value {
    use base64::Engine as _;
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_user_flow_end_to_end() {
    // 127.0.0.2 is a loopback address on Linux; macOS only has 127.0.0.1 unless aliased.
    if std::net::TcpListener::bind("127.0.0.2:0").is_err() {
        eprintln!("skipped: 127.0.0.2 is not a local address here (ifconfig lo0 alias 127.0.0.2)");
        return;
    }
    let ex = start().await;
    let prm_url = format!("{}/.well-known/oauth-protected-resource/mcp", ex.origin);

    // Discovery: 401 → protected resource metadata → authorization server metadata.
    let res = ex
        .direct
        .post(&ex.url)
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        format!(r#"Bearer resource_metadata="{prm_url}", scope="mcp:read mcp:write""#).as_str()
    );
    let prm: Value = ex
        .direct
        .get(&prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], ex.url);
    assert_eq!(prm["authorization_servers"], json!([ex.origin]));
    let asm: Value = ex
        .direct
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            ex.origin
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asm["issuer"], ex.origin);
    assert_eq!(
        asm["authorization_endpoint"],
        format!("{}/authorize", ex.origin)
    );
    assert_eq!(asm["token_endpoint"], format!("{}/token", ex.origin));
    assert_eq!(
        asm["registration_endpoint"],
        format!("{}/register", ex.origin)
    );
    assert_eq!(asm["jwks_uri"], format!("{}/jwks.json", ex.origin));
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    // The path-suffixed form (RFC 8414 §3.1 for an issuer with the MCP path) answers too.
    let res = ex
        .direct
        .get(format!(
            "{}/.well-known/oauth-authorization-server/mcp",
            ex.origin
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The signing key was persisted privately.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&ex.key_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    // Dynamic client registration of a public client (as mcp-remote / Claude do).
    let res = ex
        .direct
        .post(format!("{}/register", ex.origin))
        .json(
            &json!({"client_name": "oauth-example-cli", "redirect_uris": [REDIRECT],
                      "token_endpoint_auth_method": "none"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let reg: Value = res.json().await.unwrap();
    let client_id = reg["client_id"].as_str().unwrap().to_owned();

    // The proxy's headers from an address that is not the trusted proxy: 403, no redirect.
    let res = ex
        .direct
        .get(ex.authorize_url(&client_id, "mcp:read"))
        .header("x-forwarded-user", "mallory")
        .header("x-forwarded-groups", "mcp-admins")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("location").is_none());
    // From the trusted proxy without a user header: 401, no redirect.
    let res = ex
        .proxy
        .get(ex.authorize_url(&client_id, "mcp:read"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("location").is_none());

    // alice (mcp-users) asks for read and write, gets read.
    let tokens = ex
        .login(
            &client_id,
            "alice",
            "staff, mcp-users",
            "mcp:read mcp:write",
        )
        .await;
    assert_eq!(tokens["scope"], "mcp:read");
    let at = tokens["access_token"].as_str().unwrap();
    let claims = payload(at);
    assert_eq!(claims["iss"], ex.origin);
    assert_eq!(claims["aud"], ex.url);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], client_id);

    let mut mcp = Client::new(&ex.url, at);
    assert_eq!(mcp.initialize("oauth-example-test").await.status, 200);
    let r = mcp.call("whoami", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["result"]["structuredContent"],
        json!({"subject": "alice", "client_id": client_id, "scopes": ["mcp:read"]})
    );
    let r = mcp.call("list_notes", json!({})).await;
    assert_eq!(r.body["result"]["structuredContent"], json!({"notes": []}));
    let r = mcp.call("add_note", json!({"text": "from alice"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        r.challenge,
        format!(
            r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{prm_url}", scope="mcp:write""#
        )
    );

    // bob (mcp-admins) may write.
    let tokens = ex
        .login(&client_id, "bob", "mcp-admins", "mcp:read mcp:write")
        .await;
    assert_eq!(tokens["scope"], "mcp:read mcp:write");
    let mut mcp = Client::new(&ex.url, tokens["access_token"].as_str().unwrap());
    assert_eq!(mcp.initialize("oauth-example-test").await.status, 200);
    let r = mcp.call("add_note", json!({"text": "from bob"})).await;
    assert_eq!(r.body["result"]["content"][0]["text"], "note 1 added");
    let r = mcp.call("list_notes", json!({})).await;
    assert_eq!(
        r.body["result"]["structuredContent"]["notes"],
        json!([{"id": 1, "text": "from bob", "author": "bob"}])
    );

    // A token minted by another key set (a forged "our" token) is refused.
    let forged = mcp_rs_server::auth::server::keys::SigningKeys::generate()
        .unwrap()
        .mint(
            &mcp_rs_server::auth::server::keys::AccessTokenClaims::new(&ex.origin, "bob", &ex.url)
                .scope("mcp:read mcp:write"),
        )
        .unwrap();
    let mut mcp = Client::new(&ex.url, &forged);
    assert_eq!(mcp.initialize("oauth-example-test").await.status, 401);
    let _ = std::fs::remove_dir_all(ex.key_file.parent().unwrap());
}
