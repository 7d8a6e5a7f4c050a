//! The Entra example (`examples/entra`) against the in-repo test identity provider in Entra shape
//! (`mcp_rs_server::auth::testing::TestIssuer` as authority and v1 issuer base): v2 delegated (`scp`),
//! v2 app-only (`roles`), v1 (`api://` audience), multi-tenant with an allowed and a foreign
//! tenant, a Microsoft Graph token (rejected), and the authorization-server façade + DCR
//! endpoints clients discover.
//!
//! The server runs in-process through `entra_example::run` with the configuration the binary
//! reads from `ENTRA_*` / `MCP_*` (only the listen port is random).

use entra_example::{Config, run};
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_tests::bearer::Client;
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
const FOREIGN_TENANT: &str = "0d5b8b2e-1c3a-4e5f-9a7b-6c8d9e0f1a2b";
const APP: &str = "6e2b1f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

struct Example {
    url: String,
    origin: String,
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

/// Starts the example with the environment a user would set, pointed at `idp`.
async fn start(idp: &TestIssuer, tenant: &str, allowed: &str) -> Example {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://127.0.0.1:{port}");
    let url = format!("{origin}/mcp");
    let env = [
        ("ENTRA_TENANT_ID", tenant.to_owned()),
        ("ENTRA_ALLOWED_TENANTS", allowed.to_owned()),
        ("ENTRA_CLIENT_ID", APP.to_owned()),
        ("ENTRA_CLIENT_SECRET", "api-secret".to_owned()),
        ("ENTRA_ACCEPT_V1", "true".to_owned()),
        ("ENTRA_AUTHORITY", idp.base_url().to_owned()),
        ("ENTRA_V1_ISSUER_BASE", idp.base_url().to_owned()),
        ("MCP_PUBLIC_URL", url.clone()),
        ("MCP_LISTEN", format!("127.0.0.1:{port}")),
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
            panic!("entra example failed: {e}");
        }
    });
    Example {
        prm_url: format!("{origin}/.well-known/oauth-protected-resource/mcp"),
        url,
        origin,
        stop: Some(tx),
    }
}

fn insufficient_scope(prm_url: &str, scope: &str) -> String {
    format!(
        r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{prm_url}", scope="{scope}""#
    )
}

fn requested_scopes() -> String {
    format!("api://{APP}/mcp.read api://{APP}/mcp.write api://{APP}/mcp.admin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_delegated_scp_is_guarded_per_scope() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp, TENANT, "").await;
    let token = idp
        .entra_v2_delegated(TENANT, APP)
        .scp(["mcp.read", "mcp.write"])
        .sign();
    let mut c = Client::new(&ex.url, &token);
    assert_eq!(c.initialize("entra-test").await.status, 200);
    let r = c.call("whoami", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let who = &r.body["result"]["structuredContent"];
    assert_eq!(who["version"], "2.0");
    assert_eq!(who["tenant"], TENANT);
    assert_eq!(who["issuer"], idp.entra_v2_issuer(TENANT));
    assert_eq!(who["client_id"], "0b1d4a4c-2a3e-4a53-9bd8-1b2c3d4e5f60");
    assert_eq!(who["scopes"], json!(["mcp.read", "mcp.write"]));
    let r = c.call("add_note", json!({"text": "entra"})).await;
    assert_eq!(
        r.body["result"]["content"][0]["text"], "note 1 added",
        "{r:?}"
    );
    let r = c
        .request("resources/read", json!({"uri": "notes://all"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c
        .request(
            "prompts/get",
            json!({"name": "summarize_notes", "arguments": {"topic": "x"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.call("reset_notes", json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp.admin"));
}

/// The names of the tools `c` sees in `tools/list`.
async fn tool_names(c: &mut Client) -> Vec<String> {
    let r = c.request("tools/list", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_hide_what_the_token_cannot_use() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp, TENANT, "").await;
    let reader = idp.entra_v2_delegated(TENANT, APP).scp(["mcp.read"]).sign();
    let mut c = Client::new(&ex.url, &reader);
    assert_eq!(c.initialize("entra-test").await.status, 200);
    assert_eq!(tool_names(&mut c).await, ["list_notes", "whoami"]);
    // Hidden is not callable either: still 403 with the step-up challenge.
    let r = c.call("add_note", json!({"text": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp.write"));
    let all = idp
        .entra_v2_delegated(TENANT, APP)
        .scp(["mcp.read", "mcp.write", "mcp.admin"])
        .sign();
    let mut c = Client::new(&ex.url, &all);
    assert_eq!(c.initialize("entra-test").await.status, 200);
    assert_eq!(
        tool_names(&mut c).await,
        ["add_note", "list_notes", "reset_notes", "whoami"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_app_only_roles_grant_admin() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp, TENANT, "").await;
    let token = idp
        .entra_v2_app(TENANT, APP)
        .roles(["mcp.read", "mcp.write", "mcp.admin"])
        .sign();
    let mut c = Client::new(&ex.url, &token);
    assert_eq!(c.initialize("entra-test").await.status, 200);
    let r = c.call("whoami", json!({})).await;
    assert_eq!(
        r.body["result"]["structuredContent"]["scopes"],
        json!(["mcp.admin", "mcp.read", "mcp.write"])
    );
    assert_eq!(
        r.body["result"]["structuredContent"]["client_id"],
        "9e8d7c6b-5a49-4382-a716-d5c4b3a29180"
    );
    let r = c.call("reset_notes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["content"][0]["text"], "0 notes removed");
    // An app token with only the read role cannot write.
    let reader = idp.entra_v2_app(TENANT, APP).roles(["mcp.read"]).sign();
    let mut c = Client::new(&ex.url, &reader);
    assert_eq!(c.initialize("entra-test").await.status, 200);
    let r = c.call("add_note", json!({"text": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp.write"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_token_with_api_audience() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp, TENANT, "").await;
    let token = idp.entra_v1(TENANT, APP).scp(["mcp.read"]).sign();
    let mut c = Client::new(&ex.url, &token);
    assert_eq!(c.initialize("entra-test").await.status, 200);
    let r = c.call("whoami", json!({})).await;
    let who = &r.body["result"]["structuredContent"];
    assert_eq!(who["version"], "1.0");
    assert_eq!(who["issuer"], idp.entra_v1_issuer(TENANT));
    assert_eq!(who["client_id"], "0b1d4a4c-2a3e-4a53-9bd8-1b2c3d4e5f60");
    let r = c.call("list_notes", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.call("add_note", json!({"text": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&ex.prm_url, "mcp.write"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_tenant_allows_listed_tenants_only() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp, "organizations", &format!("{TENANT},{OTHER_TENANT}")).await;
    for tenant in [TENANT, OTHER_TENANT] {
        let token = idp.entra_v2_delegated(tenant, APP).scp(["mcp.read"]).sign();
        let mut c = Client::new(&ex.url, &token);
        assert_eq!(
            c.initialize("entra-test").await.status,
            200,
            "tenant {tenant}"
        );
        let r = c.call("whoami", json!({})).await;
        assert_eq!(r.body["result"]["structuredContent"]["tenant"], tenant);
    }
    // A token from a tenant that is not on the list: invalid_token, whatever it claims.
    let foreign = idp
        .entra_v2_delegated(FOREIGN_TENANT, APP)
        .scp(["mcp.read", "mcp.write", "mcp.admin"])
        .sign();
    let r = Client::new(&ex.url, &foreign)
        .initialize("entra-test")
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{}",
        r.challenge
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_tokens_are_rejected() {
    let idp = TestIssuer::start().await.unwrap();
    let ex = start(&idp, TENANT, "").await;
    // A Microsoft Graph token: audience Graph and a `nonce` in the header (its signature
    // cannot be verified by anyone but Graph).
    let graph = idp
        .entra_v2_delegated(TENANT, GRAPH)
        .scp(["User.Read"])
        .header("nonce", json!("kX3b9n1sTq0"))
        .sign();
    let r = Client::new(&ex.url, &graph).initialize("entra-test").await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{}",
        r.challenge
    );
    // The same shape for our API, but with a header nonce: still rejected.
    let nonce = idp
        .entra_v2_delegated(TENANT, APP)
        .scp(["mcp.read"])
        .header("nonce", json!("kX3b9n1sTq0"))
        .sign();
    let r = Client::new(&ex.url, &nonce).initialize("entra-test").await;
    assert_eq!(r.status, 401, "{r:?}");
    // A valid token for Graph without a nonce: wrong audience.
    let other_aud = idp
        .entra_v2_delegated(TENANT, GRAPH)
        .scp(["mcp.read"])
        .sign();
    let r = Client::new(&ex.url, &other_aud)
        .initialize("entra-test")
        .await;
    assert_eq!(r.status, 401, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_chain_through_the_facade_and_dcr() {
    let idp = TestIssuer::start().await.unwrap();
    idp.add_client(APP, "api-secret", ["mcp.read"]);
    let ex = start(&idp, TENANT, "").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // 401 pointing at the PRM, asking for the api:// scopes.
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
            r#"Bearer resource_metadata="{}", scope="{}""#,
            ex.prm_url,
            requested_scopes()
        )
        .as_str()
    );

    // PRM: this server (the façade) is the authorization server.
    let prm: Value = http
        .get(&ex.prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], ex.url.as_str());
    assert_eq!(prm["authorization_servers"], json!([ex.origin]));

    // Authorization-server metadata with PKCE and a registration endpoint.
    let asm: Value = http
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
    assert_eq!(asm["issuer"], ex.origin.as_str());
    assert_eq!(
        asm["authorization_endpoint"],
        format!("{}/authorize", ex.origin)
    );
    assert_eq!(asm["token_endpoint"], format!("{}/token", ex.origin));
    assert_eq!(
        asm["registration_endpoint"],
        format!("{}/register", ex.origin)
    );
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));

    // Dynamic client registration (Entra has none; the server's registrar answers).
    let res = http
        .post(format!("{}/register", ex.origin))
        .json(
            &json!({"client_name": "test", "redirect_uris": ["http://127.0.0.1:3334/callback"],
                      "token_endpoint_auth_method": "none"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let reg: Value = res.json().await.unwrap();
    let registered = reg["client_id"].as_str().unwrap().to_owned();

    // /authorize of a registered client shows the consent page before anything goes to
    // Entra (the whole flow is in oauth_facade.rs).
    let res = http
        .get(format!(
            "{}/authorize?response_type=code&client_id={registered}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A3334%2Fcallback",
            ex.origin
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-frame-options"], "DENY");

    // /token refuses grants outside the PKCE flow locally: the upstream sees nothing.
    let res = http
        .post(format!("{}/token", ex.origin))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", registered.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let tok: Value = res.json().await.unwrap();
    assert_eq!(tok["error"], "unsupported_grant_type", "{tok}");
    assert!(idp.token_requests().is_empty());
}
