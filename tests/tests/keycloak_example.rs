//! The Keycloak example (`examples/keycloak`) against a real Keycloak with the example realm
//! (`scripts/keycloak.sh start`; `scripts/test-all.sh` exports `KEYCLOAK_URL`).
//!
//! The server runs in-process through `keycloak_example::run` with the binary's configuration
//! (only the listen address is a random port and the public URL follows it). Checked: the
//! unauthenticated 401 and the PRM document; client-credentials tokens; user tokens from the
//! authorization-code + PKCE flow (demo, admin) driven headlessly by
//! `tests/interop/keycloak_flow.py`; per-scope allow/deny with the exact 403 challenge; session
//! binding; the official Python SDK client through the discovery chain (client credentials and
//! auth code + PKCE with DCR); and mcp-remote (DCR, PKCE, headless login).
//!
//! Without `KEYCLOAK_URL` the tests are skipped with a message, unless `MCP_REQUIRE_KEYCLOAK=1`.

use keycloak_example::{Config, run};
use mcp_tests::bearer::Client;
use mcp_tests::interop::available as interop_available;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The realm's issuer, or `None` (skip) when no Keycloak is configured.
fn keycloak_issuer() -> Option<String> {
    mcp_tests::interop::keycloak_url().map(|url| format!("{url}/realms/mcp"))
}

fn python() -> PathBuf {
    std::env::var_os("MCP_INTEROP_PYTHON")
        .map_or_else(|| root().join(".cache/venv/bin/python"), PathBuf::from)
}

fn flow_script() -> PathBuf {
    std::env::var_os("KEYCLOAK_FLOW").map_or_else(
        || root().join("tests/interop/keycloak_flow.py"),
        PathBuf::from,
    )
}

/// Runs `keycloak_flow.py` and returns its JSON output (panics with its stderr on failure).
async fn flow(issuer: &str, args: &[&str]) -> Value {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .arg(flow_script())
            .args(["--issuer", issuer])
            .args(args)
            .output(),
    )
    .await
    .expect("keycloak_flow.py finished in time")
    .expect("python3 runs");
    assert!(
        out.status.success(),
        "keycloak_flow.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("keycloak_flow.py prints JSON")
}

async fn token(issuer: &str, args: &[&str]) -> (String, Value) {
    let v = flow(issuer, args).await;
    (
        v["access_token"].as_str().expect("access_token").to_owned(),
        v["claims"].clone(),
    )
}

/// A running example server.
struct Example {
    url: String,
    prm_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Example {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(issuer: &str) -> Example {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let config = Config {
        issuer: issuer.to_owned(),
        public_url: url.clone(),
        listen: format!("127.0.0.1:{port}"),
        ..Config::from_vars(|_| None)
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(e) = run(config, listener, async {
            let _ = rx.await;
        })
        .await
        {
            panic!("keycloak example failed: {e}");
        }
    });
    Example {
        prm_url: format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"),
        url,
        stop: Some(tx),
    }
}

/// `initialize` + `notifications/initialized` against the example, which must succeed and issue
/// a session id.
async fn initialize(c: &mut Client) {
    let r = c.initialize("keycloak-test").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["serverInfo"]["name"], "keycloak-example");
    assert!(c.session.is_some(), "a session id is issued");
}

fn insufficient_scope(prm_url: &str, scope: &str) -> String {
    format!(
        r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{prm_url}", scope="{scope}""#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_401_and_protected_resource_metadata() {
    let Some(issuer) = keycloak_issuer() else {
        return;
    };
    let ex = start(&issuer).await;
    let http = reqwest::Client::new();
    let res = http
        .post(&ex.url)
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp:read mcp:write mcp:admin""#,
            ex.prm_url
        )
        .as_str()
    );
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error": "unauthorized", "error_description": "A bearer access token is required"})
    );

    let prm: Value = http
        .get(&ex.prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        prm,
        json!({
            "resource": ex.url,
            "authorization_servers": [issuer],
            "scopes_supported": ["mcp:read", "mcp:write", "mcp:admin"],
            "bearer_methods_supported": ["header"],
            "resource_name": "mcp-rs Keycloak example",
        })
    );
    // The authorization server it names is the real Keycloak realm, with PKCE S256.
    let asm: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asm["issuer"], issuer.as_str());
    assert!(
        asm["code_challenge_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("S256"))
    );

    // A garbage token is invalid_token, not a crash.
    let res = http
        .post(&ex.url)
        .bearer_auth("not-a-jwt")
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_token_has_every_scope() {
    let Some(issuer) = keycloak_issuer() else {
        return;
    };
    let ex = start(&issuer).await;
    let (tok, claims) = token(&issuer, &["client-credentials"]).await;
    assert_eq!(claims["azp"], "mcp-service");
    let mut c = Client::new(&ex.url, &tok);
    initialize(&mut c).await;
    let r = c.call("whoami", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let who = &r.body["result"]["structuredContent"];
    assert_eq!(who["client_id"], "mcp-service");
    assert_eq!(who["issuer"], issuer.as_str());
    assert_eq!(who["subject"], claims["sub"]);
    for s in ["mcp:read", "mcp:write", "mcp:admin"] {
        assert!(
            who["scopes"].as_array().unwrap().contains(&json!(s)),
            "{who}"
        );
    }
    let r = c.call("reset_notes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["isError"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_user_tokens_are_guarded_per_scope() {
    let Some(issuer) = keycloak_issuer() else {
        return;
    };
    let ex = start(&issuer).await;

    // demo: mcp:read + mcp:write (asking for mcp:admin too: Keycloak leaves it out).
    let (demo, claims) = token(
        &issuer,
        &[
            "pkce",
            "--user",
            "demo",
            "--password",
            "demo123",
            "--scope",
            "openid mcp:read mcp:write mcp:admin",
        ],
    )
    .await;
    let scope = claims["scope"].as_str().unwrap();
    assert!(
        scope.contains("mcp:read") && scope.contains("mcp:write") && !scope.contains("mcp:admin"),
        "{scope}"
    );
    let mut c = Client::new(&ex.url, &demo);
    initialize(&mut c).await;
    let r = c.call("whoami", json!({})).await;
    assert_eq!(
        r.body["result"]["structuredContent"]["client_id"],
        "mcp-client"
    );
    let r = c.call("add_note", json!({"text": "buy milk"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["content"][0]["text"], "note 1 added");
    let r = c.call("list_notes", json!({})).await;
    assert_eq!(
        r.body["result"]["structuredContent"]["notes"][0]["text"],
        "buy milk"
    );
    assert_eq!(
        r.body["result"]["structuredContent"]["notes"][0]["author"],
        claims["sub"]
    );
    let r = c
        .request("resources/read", json!({"uri": "notes://all"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("buy milk")
    );
    let r = c
        .request(
            "prompts/get",
            json!({"name": "summarize_notes", "arguments": {}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // reset_notes needs mcp:admin: 403 with the exact step-up challenge.
    let r = c.call("reset_notes", json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp:admin"));

    // The same session id with another user's token is not found (no hijack by id).
    let (admin, admin_claims) = token(
        &issuer,
        &[
            "pkce",
            "--user",
            "admin",
            "--password",
            "admin123",
            "--scope",
            "openid mcp:read mcp:write mcp:admin",
        ],
    )
    .await;
    assert!(
        admin_claims["scope"]
            .as_str()
            .unwrap()
            .contains("mcp:admin")
    );
    let mut hijack = Client::new(&ex.url, &admin);
    hijack.session = c.session.clone();
    hijack.next_id = 10;
    let r = hijack.call("list_notes", json!({})).await;
    assert_eq!(r.status, 404, "{r:?}");

    // admin: all three scopes.
    let mut a = Client::new(&ex.url, &admin);
    initialize(&mut a).await;
    let r = a.call("reset_notes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["content"][0]["text"], "1 notes removed");

    // A read-only token: list allowed, add_note 403 asking for mcp:write.
    let (reader, _) = token(
        &issuer,
        &[
            "pkce",
            "--user",
            "demo",
            "--password",
            "demo123",
            "--scope",
            "openid mcp:read",
        ],
    )
    .await;
    let mut r_only = Client::new(&ex.url, &reader);
    initialize(&mut r_only).await;
    let r = r_only.request("tools/list", json!({})).await;
    let names: Vec<&str> = r.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["list_notes", "whoami"]);
    let r = r_only.call("list_notes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["structuredContent"]["notes"], json!([]));
    let r = r_only.call("add_note", json!({"text": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp:write"));
}

async fn python_client(url: &str, args: &[&str]) -> Value {
    let script = std::env::var_os("MCP_INTEROP_PY_CLIENT")
        .map_or_else(|| root().join("tests/interop/mcp_client.py"), PathBuf::from);
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(python())
            .arg(script)
            .args(["http", url, "--timeout", "60"])
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python client finished in time")
    .expect("python client ran");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client output is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_through_the_discovery_chain() {
    let Some(issuer) = keycloak_issuer() else {
        return;
    };
    if !interop_available("the Python interop venv", &python()) {
        return;
    }
    let ex = start(&issuer).await;

    // Client credentials: 401 -> PRM -> Keycloak metadata -> token -> MCP.
    let s = python_client(
        &ex.url,
        &[
            "--client-credentials",
            "mcp-service:mcp-service-secret",
            "--issuer",
            &issuer,
            "--call",
            "whoami",
            "--call",
            r#"add_note={"text":"from python"}"#,
            "--read",
            "notes://all",
        ],
    )
    .await;
    assert_eq!(s["error"], Value::Null, "{s:#}");
    assert_eq!(s["serverInfo"]["name"], "keycloak-example");
    assert_eq!(
        s["calls"][0]["result"]["structuredContent"]["client_id"],
        "mcp-service"
    );
    assert_eq!(
        s["calls"][1]["result"]["content"][0]["text"],
        "note 1 added"
    );
    assert!(
        s["reads"][0]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("from python")
    );

    // Auth code + PKCE with dynamic client registration, logged in as demo: admin tool denied.
    let s = python_client(
        &ex.url,
        &[
            "--oauth-user",
            "demo:demo123",
            "--call",
            "whoami",
            "--call",
            "list_notes",
            "--call",
            "reset_notes",
        ],
    )
    .await;
    let calls = s["calls"].as_array().unwrap();
    let scopes = &calls[0]["result"]["structuredContent"]["scopes"];
    assert!(
        scopes.as_array().unwrap().contains(&json!("mcp:read")),
        "{s:#}"
    );
    assert!(
        !scopes.as_array().unwrap().contains(&json!("mcp:admin")),
        "{s:#}"
    );
    assert_eq!(
        calls[1]["result"]["structuredContent"]["notes"][0]["text"], "from python",
        "{s:#}"
    );
    assert_eq!(calls[2]["result"], Value::Null, "{s:#}");
    assert!(
        !calls[2]["error"].is_null(),
        "reset_notes must fail for demo: {s:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_remote_through_the_discovery_chain() {
    let Some(issuer) = keycloak_issuer() else {
        return;
    };
    let remote = std::env::var_os("MCP_REMOTE_BIN").map_or_else(
        || root().join("tests/interop/node_modules/.bin/mcp-remote"),
        PathBuf::from,
    );
    if !interop_available("mcp-remote", &remote)
        || !interop_available("the Python interop venv", &python())
    {
        return;
    }
    let ex = start(&issuer).await;
    let config_dir = std::env::temp_dir().join(format!(
        "mcp-remote-kc-{}-{}",
        std::process::id(),
        ex.url.len() + ex.prm_url.len()
    ));
    let _ = std::fs::remove_dir_all(&config_dir);
    std::fs::create_dir_all(&config_dir).unwrap();
    let headless = root().join("tests/interop/headless-bin");
    let path = format!(
        "{}:{}",
        headless.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let node = std::env::var_os("MCP_INTEROP_NODE").unwrap_or_else(|| "node".into());
    let client = std::env::var_os("MCP_INTEROP_NODE_CLIENT").map_or_else(
        || root().join("tests/interop/mcp_client.mjs"),
        PathBuf::from,
    );
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new(node)
            .arg(client)
            .args([
                "stdio",
                "--timeout",
                "90",
                "--call",
                "whoami",
                "--call",
                "list_notes",
                "--",
            ])
            .arg(&remote)
            .arg(&ex.url)
            .env("PATH", path)
            .env("MCP_REMOTE_CONFIG_DIR", &config_dir)
            .env("MCP_INTEROP_PYTHON", python())
            .env("KEYCLOAK_URL", issuer.trim_end_matches("/realms/mcp"))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mcp-remote session finished in time")
    .expect("node runs");
    let _ = std::fs::remove_dir_all(&config_dir);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client output is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(s["error"], Value::Null, "{s:#}");
    assert_eq!(s["serverInfo"]["name"], "keycloak-example", "{s:#}");
    let who = &s["calls"][0]["result"]["structuredContent"];
    assert!(
        who["scopes"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("mcp:read"))),
        "{s:#}"
    );
    assert_eq!(s["calls"][1]["result"]["isError"], false, "{s:#}");
}

/// Runs without Keycloak: the example's server in memory, with the identity a Keycloak
/// token of each scope set becomes.
#[tokio::test]
async fn lists_hide_what_the_token_cannot_use() {
    use mcp_rs_server::identity::{OAuthContext, Scopes};
    use mcp_rs_server::transport::memory;

    let server = keycloak_example::server();
    let client = memory::connect(&server);
    client.initialize().await.unwrap();
    let names = |r: Value| -> Vec<String> {
        r["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    client.set_identity(Some(OAuthContext::new(
        "demo",
        Scopes::from_space_separated("mcp:read"),
    )));
    let r = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(names(r), ["list_notes", "whoami"]);
    let r = client
        .request(
            "tools/call",
            json!({"name": "add_note", "arguments": {"text": "x"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        r["content"][0]["text"],
        "insufficient scope: requires mcp:write"
    );
    client.set_identity(Some(OAuthContext::new(
        "admin",
        Scopes::from_space_separated("mcp:read mcp:write mcp:admin"),
    )));
    let r = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(
        names(r),
        ["add_note", "list_notes", "reset_notes", "whoami"]
    );
}
