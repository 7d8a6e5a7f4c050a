//! The policy example (`examples/policy`) over real HTTP: API keys with roles, OAuth users of
//! the in-repo test issuer (`TestIssuer`, Keycloak-shaped tokens) and a user forwarded by a
//! trusted proxy, all on one endpoint with different rights from one policy file; the file
//! rewritten while the server runs, and the next request follows it.

use mcp_rs_server::auth::testing::TestIssuer;
use mcp_tests::bearer::{Client, PROTOCOL};
use mcp_tests::reply::Reply;
use policy_example::{Config, run};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const CI_KEY: &str = "demo-ci-key";
const OPS_KEY: &str = "demo-ops-key";

struct Example {
    url: String,
    prm_url: String,
    policy_file: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Example {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the example with a copy of its policy file (so a test may rewrite it), the shipped
/// API keys, `idp` as OAuth issuer and 127.0.0.1 as trusted proxy.
async fn start(idp: &TestIssuer) -> Example {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let shipped = Config::from_vars(|_| None).unwrap();
    let dir = std::env::temp_dir().join(format!("policy-example-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy_file = dir.join("policy.toml");
    std::fs::copy(&shipped.policy_file, &policy_file).unwrap();
    let config = Config {
        policy_file: policy_file.clone(),
        watch_every: Duration::from_millis(50),
        issuer: Some(idp.issuer().to_owned()),
        jwks_url: Some(idp.jwks_url()),
        trusted_proxies: vec!["127.0.0.1".into()],
        public_url: url.clone(),
        listen: format!("127.0.0.1:{port}"),
        ..shipped
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        run(config, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("the example serves");
    });
    Example {
        prm_url: format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"),
        url,
        policy_file,
        stop: Some(tx),
    }
}

async fn session(url: &str, token: &str) -> Client {
    let mut c = Client::new(url, token);
    let r = c.initialize("policy-test").await;
    assert_eq!(r.status, 200, "{r:?}");
    c
}

async fn tool_names(c: &mut Client) -> Vec<String> {
    let r = c.request("tools/list", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    names(&r.body)
}

fn names(body: &Value) -> Vec<String> {
    body["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn insufficient_scope(prm_url: &str, scope: &str) -> String {
    format!(
        r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{prm_url}", scope="{scope}""#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_oauth_users_share_the_endpoint_with_different_rights() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp).await;

    // ops (role operator): everything.
    let mut ops = session(&ex.url, OPS_KEY).await;
    assert_eq!(
        tool_names(&mut ops).await,
        ["add_note", "admin_reset", "list_notes", "whoami"]
    );
    let r = ops.call("add_note", json!({"text": "from ops"})).await;
    assert_eq!(
        r.body["result"]["content"][0]["text"], "note 1 added",
        "{r:?}"
    );

    // ci-bot (role ci): reads; sees admin_reset but is denied it; add_note steps up.
    let mut ci = session(&ex.url, CI_KEY).await;
    assert_eq!(
        tool_names(&mut ci).await,
        ["add_note", "admin_reset", "list_notes", "whoami"]
    );
    let r = ci.call("list_notes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["result"]["structuredContent"]["result"][0]["author"], "ops",
        "{r:?}"
    );
    let r = ci.call("admin_reset", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["error"]["code"], -32602, "{r:?}");
    assert_eq!(
        r.body["error"]["message"],
        "Access denied: the access policy does not allow tool admin_reset for this caller"
    );
    let r = ci.call("add_note", json!({"text": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp:write"));

    // An OAuth reader: admin_reset is hidden and answers as unknown.
    let reader = idp
        .keycloak("mcp-server")
        .subject("alice")
        .scopes(["mcp:read"])
        .sign();
    let mut alice = session(&ex.url, &reader).await;
    assert_eq!(
        tool_names(&mut alice).await,
        ["add_note", "list_notes", "whoami"]
    );
    let r = alice.call("admin_reset", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["error"]["message"], "Unknown tool: admin_reset",
        "{r:?}"
    );
    let r = alice.call("add_note", json!({"text": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp:write"));

    // An OAuth writer may add.
    let writer = idp
        .keycloak("mcp-server")
        .subject("bob")
        .scopes(["mcp:read", "mcp:write"])
        .sign();
    let mut bob = session(&ex.url, &writer).await;
    let r = bob.call("add_note", json!({"text": "from bob"})).await;
    assert_eq!(
        r.body["result"]["content"][0]["text"], "note 2 added",
        "{r:?}"
    );

    // A wrong key or a token of another audience: 401.
    let r = Client::new(&ex.url, "not-a-key").initialize("x").await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{}",
        r.challenge
    );
    let other = idp.keycloak("another-api").scopes(["mcp:read"]).sign();
    let r = Client::new(&ex.url, &other).initialize("x").await;
    assert_eq!(r.status, 401, "{r:?}");
}

/// POSTs `msg` without a bearer token, with the forwarded-identity headers.
async fn forwarded(
    url: &str,
    user: &str,
    groups: &str,
    session: Option<&str>,
    msg: Value,
) -> Reply {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL)
        .header("x-forwarded-user", user)
        .header("x-forwarded-groups", groups)
        .json(&msg);
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    Reply::read(req.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_forwards_users_with_their_groups_as_roles() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "proxy-test", "version": "1"}}});
    let r = forwarded(&ex.url, "carol", "staff, operator", None, init).await;
    assert_eq!(r.status, 200, "{r:?}");
    let sid = r.session.clone().unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let r = forwarded(&ex.url, "carol", "staff, operator", Some(&sid), list).await;
    assert_eq!(
        names(&r.body),
        ["add_note", "admin_reset", "list_notes", "whoami"]
    );
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let r = forwarded(&ex.url, "carol", "staff, operator", Some(&sid), call).await;
    let who = &r.body["result"]["structuredContent"];
    assert_eq!(who["subject"], "carol", "{r:?}");
    assert_eq!(who["roles"], json!(["staff", "operator"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_policy_file_applies_without_restart() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp).await;
    let mut ci = session(&ex.url, CI_KEY).await;
    assert!(
        tool_names(&mut ci)
            .await
            .contains(&"admin_reset".to_owned())
    );
    let policy = std::fs::read_to_string(&ex.policy_file).unwrap();
    // The CI key's admin tools become hidden, and it loses list_notes.
    let policy = policy
        .replace("hide = false", "hide = true")
        .replace("roles = [\"ci\", \"operator\"]", "roles = [\"operator\"]");
    std::fs::write(&ex.policy_file, policy).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let names = tool_names(&mut ci).await;
        if !names.contains(&"admin_reset".to_owned()) {
            // What is left is listed because mcp:read / mcp:write would allow it.
            assert_eq!(names, ["add_note", "list_notes", "whoami"]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reloaded: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = ci.call("admin_reset", json!({})).await;
    assert_eq!(
        r.body["error"]["message"], "Unknown tool: admin_reset",
        "{r:?}"
    );
    let r = ci.call("list_notes", json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp:read"));
    // The operator key is untouched, in the same server.
    let mut ops = session(&ex.url, OPS_KEY).await;
    assert_eq!(tool_names(&mut ops).await.len(), 4);
}
