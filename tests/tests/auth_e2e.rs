//! Authorization end to end, against the in-repo test identity provider
//! (`mcp_rs_server::auth::testing::TestIssuer`, feature `auth-testing`):
//!
//! * the discovery chain pinned by hand over real HTTP: 401 with the exact challenge → the RFC 9728
//!   document → RFC 8414 authorization-server metadata → a client-credentials token → MCP calls;
//!   a token without the tool's scope → 403 with the exact `insufficient_scope` challenge; a
//!   session used with another principal's token → 404;
//! * the official Python SDK client (`tests/interop/mcp_client.py`) doing the same chain on its
//!   own (client credentials through discovery), including the scope step-up it performs on a
//!   403 `insufficient_scope`;
//! * the official conformance suite (`conformance/run.sh --bearer`) against the conformance
//!   fixture in protected mode (`conformance-server --auth-issuer … --auth-audience …`).
//!
//! The Python client and the conformance suite are installed by `scripts/test-all.sh`
//! (`.cache/venv`, `conformance/node_modules`). Without them those tests are skipped with a
//! message, unless `MCP_REQUIRE_INTEROP=1` (set by `scripts/test-all.sh`), which makes a missing
//! tool a failure. The conformance test builds the fixture with the same command as
//! `conformance/run.sh` (`cargo build --release -p conformance-server`), so in `test-all.sh` the
//! later conformance stage finds it built.

use mcp_rs_core::schema::CallToolResult;
use mcp_rs_server::auth::testing::TestIssuer;
use mcp_rs_server::auth::{
    AuthorizationLayer, JwtValidator, ProtectedResourceMetadata, ResourceMetadataLayer,
};
use mcp_rs_server::scope::ScopeRequirement;
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{
    CorsLayer, HttpConfig, StreamableHttpService, serve_listener,
};
use mcp_rs_server::{RequestContext, Server, ToolError};
use mcp_tests::bearer::{Client, PROTOCOL, post};
use mcp_tests::interop::available as interop_available;
use mcp_tests::reply::Reply;
use mcp_tests::tools::no_args;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const AUDIENCE: &str = "mcp-server";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

// --- the protected server ------------------------------------------------------------------

/// `echo` (no scope), `whoami` (no scope), `read_notes` (`mcp:read`), `write_note` (`mcp:write`).
fn server() -> Server {
    let echo = ToolDef::builder("echo")
        .description("Echoes `text` (any valid token)")
        .input_schema(
            match json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"]
            }) {
                Value::Object(m) => m,
                _ => unreachable!(),
            },
        )
        .handler_fn(
            |_ctx: RequestContext, args: Map<String, Value>| async move {
                let text = args.get("text").and_then(Value::as_str).unwrap_or_default();
                Ok::<_, ToolError>(CallToolResult::text(format!("echo: {text}")))
            },
        );
    let whoami = ToolDef::builder("whoami")
        .description("The verified identity of the caller")
        .input_schema(no_args())
        .handler_fn(
            |ctx: RequestContext, _args: Map<String, Value>| async move {
                let who = ctx
                    .oauth()
                    .ok_or_else(|| ToolError::new("no verified identity"))?;
                let mut scopes: Vec<&str> = who.scopes.iter().collect();
                scopes.sort_unstable();
                let identity = json!({
                    "subject": who.subject,
                    "client_id": who.client_id,
                    "issuer": who.issuer,
                    "scopes": scopes,
                });
                Ok::<_, ToolError>(CallToolResult::text(identity.to_string()))
            },
        );
    let read_notes = ToolDef::builder("read_notes")
        .description("Reads the notes (mcp:read)")
        .input_schema(no_args())
        .scopes(ScopeRequirement::all(["mcp:read"]))
        .handler_fn(|_ctx: RequestContext, _args: Map<String, Value>| async {
            Ok::<_, ToolError>(CallToolResult::text("notes: (none)"))
        });
    let write_note = ToolDef::builder("write_note")
        .description("Writes a note (mcp:write)")
        .input_schema(no_args())
        .scopes(ScopeRequirement::all(["mcp:write"]))
        .handler_fn(|_ctx: RequestContext, _args: Map<String, Value>| async {
            Ok::<_, ToolError>(CallToolResult::text("note written"))
        });
    Server::builder()
        .name("auth-e2e")
        .version("1.0.0")
        .tool(echo)
        .tool(whoami)
        .tool(read_notes)
        .tool(write_note)
        .build()
}

/// The test IdP with three confidential clients, and the protected server on a random port.
struct Protected {
    idp: TestIssuer,
    url: String,
    prm_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Protected {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start() -> Protected {
    let idp = TestIssuer::start().await.expect("test issuer starts");
    idp.add_client("reader", "reader-secret", ["mcp:read"]);
    idp.add_client("writer", "writer-secret", ["mcp:read", "mcp:write"]);
    idp.add_client("other", "other-secret", ["mcp:read"]);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let validator = JwtValidator::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let metadata = ProtectedResourceMetadata::new(url.clone())
        .authorization_server(idp.issuer())
        .scopes_supported(["mcp:read", "mcp:write"])
        .bearer_methods_supported(["header"])
        .resource_name("auth e2e");
    let prm = ResourceMetadataLayer::try_new(metadata).unwrap();
    // The 401 hint asks for what every tool but write_note needs; write_note steps up.
    let auth = AuthorizationLayer::new(validator, &url)
        .unwrap()
        .challenge_scopes(["mcp:read"]);
    let mcp = StreamableHttpService::new(server(), HttpConfig::default());
    let service = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(mcp.config()))
        .layer(prm)
        .layer(auth)
        .service(mcp);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_listener(
        listener,
        service,
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(1),
    ));
    Protected {
        idp,
        prm_url: format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"),
        url,
        stop: Some(tx),
    }
}

fn insufficient_scope(prm_url: &str, scope: &str) -> String {
    format!(
        r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="{prm_url}", scope="{scope}""#
    )
}

// --- a raw MCP client over reqwest ----------------------------------------------------------

/// `initialize` as `auth-e2e` (the server must name itself `auth-e2e` and issue a session
/// id), then `notifications/initialized`.
async fn initialize(session: &mut Client) {
    let r = session
        .request(
            "initialize",
            json!({"protocolVersion": PROTOCOL, "capabilities": {},
                   "clientInfo": {"name": "auth-e2e", "version": "1"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["serverInfo"]["name"], "auth-e2e", "{r:?}");
    session.session = Some(r.session.expect("initialize issues a session id"));
    let r = session
        .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    assert_eq!(r.status, 202, "{r:?}");
}

/// The text of the first content block of a successful `tools/call`.
fn text(r: &Reply) -> &str {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["result"]["isError"], Value::Bool(false), "{r:?}");
    r.body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content: {r:?}"))
}

/// A client-credentials token from `token_endpoint` (HTTP Basic client authentication).
async fn client_credentials(
    http: &reqwest::Client,
    token_endpoint: &str,
    client: (&str, &str),
    scope: Option<&str>,
) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let res = http
        .post(token_endpoint)
        .basic_auth(client.0, Some(client.1))
        .form(&form)
        .send()
        .await
        .expect("token endpoint answers");
    assert_eq!(res.status(), 200, "token request for {}", client.0);
    res.json().await.expect("token response is JSON")
}

// --- (a) the discovery chain by hand --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_chain_by_hand_then_scoped_calls_and_session_binding() {
    let p = start().await;
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                   "clientInfo": {"name": "auth-e2e", "version": "1"}}});

    // 1. No token: 401 pointing at the metadata, with the scope hint; JSON error body.
    let r = post(&http, &p.url, None, None, &init).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.challenge,
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp:read""#,
            p.prm_url
        )
    );
    assert_eq!(
        r.body,
        json!({"error": "unauthorized", "error_description": "A bearer access token is required"})
    );
    assert_eq!(r.session, None);

    // 2. The metadata URL from the challenge: RFC 9728 document, public.
    let prm_url = r
        .challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("resource_metadata in the challenge")
        .to_owned();
    let res = http.get(&prm_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let prm: Value = res.json().await.unwrap();
    assert_eq!(prm["resource"], p.url.as_str());
    assert_eq!(prm["authorization_servers"], json!([p.idp.issuer()]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));
    assert_eq!(prm["bearer_methods_supported"], json!(["header"]));

    // 3. RFC 8414 metadata of the advertised authorization server (issuer without a path).
    let issuer = prm["authorization_servers"][0].as_str().unwrap();
    let res = http
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let asm: Value = res.json().await.unwrap();
    assert_eq!(asm["issuer"], issuer);
    assert_eq!(asm["token_endpoint"], p.idp.token_endpoint().as_str());
    assert!(
        asm["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_credentials")),
        "{asm:#}"
    );

    // 4. Client credentials at the token endpoint, asking for the challenged scope.
    let token_endpoint = asm["token_endpoint"].as_str().unwrap();
    let tok = client_credentials(
        &http,
        token_endpoint,
        ("reader", "reader-secret"),
        Some("mcp:read"),
    )
    .await;
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["scope"], "mcp:read");
    let reader_token = tok["access_token"].as_str().unwrap().to_owned();

    // 5. MCP with the token: handshake, list, unguarded and mcp:read tools.
    let mut reader = Client::new(&p.url, &reader_token);
    initialize(&mut reader).await;
    let r = reader.request("tools/list", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let names: Vec<&str> = r.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["echo", "read_notes", "whoami", "write_note"]);
    assert_eq!(
        text(&reader.call("echo", json!({"text": "hi"})).await),
        "echo: hi"
    );
    assert_eq!(
        text(&reader.call("read_notes", json!({})).await),
        "notes: (none)"
    );
    let who: Value = serde_json::from_str(text(&reader.call("whoami", json!({})).await)).unwrap();
    assert_eq!(
        who,
        json!({"subject": "service-account-reader", "client_id": "reader",
               "issuer": p.idp.issuer(), "scopes": ["mcp:read"]})
    );

    // 6. The mcp:write tool with a read-only token: 403 with the exact step-up challenge.
    let r = reader.call("write_note", json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.challenge, insufficient_scope(&p.prm_url, "mcp:write"));
    assert_eq!(
        r.body,
        json!({"error": "insufficient_scope",
               "error_description": "The access token lacks a required scope"})
    );
    // The session survives the denial.
    assert_eq!(
        text(&reader.call("echo", json!({"text": "still"})).await),
        "echo: still"
    );

    // 7. A token with mcp:write (the step-up) calls it.
    let tok = client_credentials(&http, token_endpoint, ("writer", "writer-secret"), None).await;
    assert_eq!(tok["scope"], "mcp:read mcp:write");
    let mut writer = Client::new(&p.url, tok["access_token"].as_str().unwrap());
    initialize(&mut writer).await;
    assert_eq!(
        text(&writer.call("write_note", json!({})).await),
        "note written"
    );

    // 8. Sessions are bound to the principal: another subject's token with reader's session id
    //    is 404 (no hijack by id); a fresh token of the same principal keeps working.
    let tok = client_credentials(&http, token_endpoint, ("other", "other-secret"), None).await;
    let mut intruder = Client::new(&p.url, tok["access_token"].as_str().unwrap());
    intruder.session = reader.session.clone();
    let r = intruder.call("echo", json!({"text": "hijack"})).await;
    assert_eq!(r.status, 404, "{r:?}");
    let mut intruder_w = Client::new(&p.url, writer.token.as_str());
    intruder_w.session = reader.session.clone();
    let r = intruder_w.call("read_notes", json!({})).await;
    assert_eq!(r.status, 404, "{r:?}");
    let tok = client_credentials(&http, token_endpoint, ("reader", "reader-secret"), None).await;
    let fresh = tok["access_token"].as_str().unwrap();
    assert_ne!(fresh, reader_token);
    let mut same = Client::new(&p.url, fresh);
    same.session = reader.session.clone();
    assert_eq!(
        text(&same.call("echo", json!({"text": "again"})).await),
        "echo: again"
    );

    // 9. A forged token (signed by nobody the server trusts) is 401 invalid_token.
    let mut forged = Client::new(&p.url, &format!("{reader_token}x"));
    forged.session = reader.session.clone();
    let r = forged.call("echo", json!({"text": "x"})).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.challenge
            .starts_with(r#"Bearer error="invalid_token", error_description=""#),
        "{r:?}"
    );
    assert!(
        r.challenge.ends_with(&format!(
            r#"resource_metadata="{}", scope="mcp:read""#,
            p.prm_url
        )),
        "{r:?}"
    );
}

// --- (a) the official Python SDK client -----------------------------------------------------

fn python() -> PathBuf {
    std::env::var_os("MCP_INTEROP_PYTHON")
        .map_or_else(|| root().join(".cache/venv/bin/python"), PathBuf::from)
}

fn python_client_script() -> PathBuf {
    std::env::var_os("MCP_INTEROP_PY_CLIENT")
        .map_or_else(|| root().join("tests/interop/mcp_client.py"), PathBuf::from)
}

/// Runs `mcp_client.py http URL ARGS…` and returns its JSON summary.
async fn python_client(url: &str, args: &[&str]) -> Value {
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(python())
            .arg(python_client_script())
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

/// The `scope` of each request the IdP's token endpoint received.
fn requested_scopes(idp: &TestIssuer) -> Vec<Option<String>> {
    idp.token_requests()
        .into_iter()
        .map(|r| {
            assert_eq!(
                r.form.get("grant_type").map(String::as_str),
                Some("client_credentials")
            );
            r.form.get("scope").cloned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_credentials_through_discovery_read_only_client() {
    if !interop_available("the Python interop venv", &python()) {
        return;
    }
    let p = start().await;
    let s = python_client(
        &p.url,
        &[
            "--client-credentials",
            "reader:reader-secret",
            "--issuer",
            p.idp.issuer(),
            "--call",
            r#"echo={"text":"from python"}"#,
            "--call",
            "read_notes",
            "--call",
            "whoami",
            "--call",
            "write_note",
        ],
    )
    .await;
    // The connection (401 → PRM → AS metadata → token → initialize) worked: the first three
    // calls succeeded.
    assert_eq!(s["serverInfo"]["name"], "auth-e2e", "{s:#}");
    assert_eq!(s["protocolVersion"], PROTOCOL, "{s:#}");
    let calls = s["calls"].as_array().expect("calls");
    assert_eq!(calls[0]["name"], "echo", "{s:#}");
    assert_eq!(
        calls[0]["result"]["content"][0]["text"], "echo: from python",
        "{s:#}"
    );
    assert_eq!(
        calls[1]["result"]["content"][0]["text"], "notes: (none)",
        "{s:#}"
    );
    let who: Value =
        serde_json::from_str(calls[2]["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        who,
        json!({"subject": "service-account-reader", "client_id": "reader",
               "issuer": p.idp.issuer(), "scopes": ["mcp:read"]})
    );
    // write_note: 403 insufficient_scope; the SDK steps up, asking the IdP for mcp:read plus the
    // challenged mcp:write, which this client may not have. The SDK raises the token error
    // (out of the session, so it is reported at the connection level, not per call).
    assert!(
        calls[3..].iter().all(|c| c["result"].is_null()),
        "write_note must not succeed: {s:#}"
    );
    assert_eq!(s["ok"], false, "{s:#}");
    let failure = if s["error"].is_null() {
        calls[3]["error"].clone()
    } else {
        s["error"].clone()
    };
    assert_eq!(failure["exception"], "OAuthTokenError", "{s:#}");
    assert!(
        failure["message"]
            .as_str()
            .is_some_and(|m| m.contains(r#"{"error":"invalid_scope"}"#)),
        "{s:#}"
    );
    // What the IdP saw proves the SDK followed our challenges: first the 401's scope hint, then
    // the 403's `scope="mcp:write"` on top of the granted scope.
    assert_eq!(
        requested_scopes(&p.idp),
        [
            Some("mcp:read".to_owned()),
            Some("mcp:read mcp:write".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_steps_up_on_insufficient_scope() {
    if !interop_available("the Python interop venv", &python()) {
        return;
    }
    let p = start().await;
    let s = python_client(
        &p.url,
        &[
            "--client-credentials",
            "writer:writer-secret",
            "--issuer",
            p.idp.issuer(),
            "--call",
            "read_notes",
            "--call",
            "write_note",
            "--call",
            "whoami",
        ],
    )
    .await;
    assert_eq!(s["error"], Value::Null, "{s:#}");
    assert_eq!(s["ok"], true, "{s:#}");
    let calls = s["calls"].as_array().expect("calls");
    assert_eq!(
        calls[0]["result"]["content"][0]["text"], "notes: (none)",
        "{s:#}"
    );
    // 403 insufficient_scope → new token with mcp:write → the retried call succeeds.
    assert_eq!(
        calls[1]["result"]["content"][0]["text"], "note written",
        "{s:#}"
    );
    let who: Value =
        serde_json::from_str(calls[2]["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(who["subject"], "service-account-writer");
    assert_eq!(who["scopes"], json!(["mcp:read", "mcp:write"]));
    assert_eq!(
        requested_scopes(&p.idp),
        [
            Some("mcp:read".to_owned()),
            Some("mcp:read mcp:write".to_owned())
        ]
    );
}

// --- (b) the conformance suite against the protected fixture --------------------------------

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// `cargo build --release -p conformance-server`, the command `conformance/run.sh` uses.
async fn build_conformance_server() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = tokio::time::timeout(
        Duration::from_secs(1800),
        tokio::process::Command::new(cargo)
            .args(["build", "--release", "-p", "conformance-server"])
            .current_dir(root())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the conformance-server build finished in time")
    .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build --release -p conformance-server failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = target_dir().join("release/conformance-server");
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

/// The fixture in protected mode as a child process (killed on drop), and its URL.
async fn start_protected_fixture(
    bin: &Path,
    issuer: &str,
) -> (
    tokio::process::Child,
    String,
    tokio::task::JoinHandle<String>,
) {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(bin)
        .args([
            "--port",
            "0",
            "--auth-issuer",
            issuer,
            "--auth-audience",
            AUDIENCE,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("conformance-server starts");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) =
                line.strip_prefix("conformance-server listening on http://127.0.0.1:")
            {
                return rest.split('/').next().map(str::to_owned);
            }
            eprintln!("conformance-server: {line}");
        }
        None
    })
    .await
    .expect("conformance-server reported its address in time")
    .expect("conformance-server printed its listening line");
    // Keep draining stderr so the server never blocks on a full pipe; the log is returned.
    let log = tokio::spawn(async move {
        let mut log = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    (child, format!("http://localhost:{port}/mcp"), log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_the_protected_fixture() {
    let suite = root().join("conformance/node_modules/.bin/node");
    if !interop_available("the conformance suite (conformance/node_modules)", &suite) {
        return;
    }
    let bin = build_conformance_server().await;
    let idp = TestIssuer::start().await.expect("test issuer starts");
    let (mut child, url, log) = start_protected_fixture(&bin, idp.issuer()).await;

    // The fixture is protected: no token → 401 pointing at its metadata, which names the IdP.
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                   "clientInfo": {"name": "auth-e2e", "version": "1"}}});
    let r = post(&http, &url, None, None, &init).await;
    assert_eq!(r.status, 401, "{r:?}");
    let prm_url = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        r.challenge,
        format!(r#"Bearer resource_metadata="{prm_url}""#)
    );
    let prm: Value = http
        .get(&prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], url.as_str());
    assert_eq!(prm["authorization_servers"], json!([idp.issuer()]));
    // A token of another issuer is refused.
    let other = TestIssuer::start().await.expect("second issuer starts");
    let foreign = other.keycloak(AUDIENCE).subject("mallory").sign();
    let r = post(&http, &url, Some(&foreign), None, &init).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{r:?}"
    );

    // A valid token (Keycloak-shaped, long enough for the whole run), given to the suite
    // through run.sh's bearer proxy. Passed in the environment, not on a command line.
    let token = idp
        .keycloak(AUDIENCE)
        .subject("conformance-suite")
        .scopes(["mcp:read"])
        .expires_in(3 * 3600)
        .sign();
    let r = post(&http, &url, Some(&token), None, &init).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["result"]["serverInfo"]["name"],
        "mcp-rs-conformance-server"
    );

    let out = tokio::time::timeout(
        Duration::from_secs(2400),
        tokio::process::Command::new(root().join("conformance/run.sh"))
            .args(["--url", &url, "stable", "r2025", "r2026"])
            .env("MCP_BEARER_TOKEN", &token)
            .current_dir(root())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("conformance/run.sh finished in time")
    .expect("conformance/run.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = child.start_kill();
    let _ = child.wait().await;
    let server_log = log.await.unwrap_or_default();
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("conformance: "))
        .collect();
    for line in &summary {
        println!("{line} [protected fixture]");
    }
    let report = || {
        format!(
            "conformance/run.sh exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{server_log}",
            out.status.code()
        )
    };
    assert_eq!(
        summary.len(),
        3,
        "one summary line per profile\n{}",
        report()
    );
    for line in &summary {
        let counts: Vec<u64> = line
            .trim_start_matches("conformance: ")
            .split(',')
            .take(2)
            .map(|part| {
                part.split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("unexpected summary line {line:?}"))
            })
            .collect();
        assert!(counts[0] > 0, "{line}\n{}", report());
        assert_eq!(counts[1], 0, "{line}\n{}", report());
    }
    assert!(out.status.success(), "{}", report());
}
