//! Real MCP clients through the authorization-server façade of the Entra example (in front of
//! the in-repo test IdP): the official TypeScript SDK (`tests/interop/oauth_code_client.mjs`)
//! and `mcp-remote --transport http-only` (driven by `tests/interop/mcp_client.mjs`, its browser
//! replaced by `tests/interop/headless-facade-bin`), each through DCR → consent (approved by the
//! headless user agent posting the form) → authorize → callback → token → MCP calls, plus a
//! refresh; a second client cannot use the first one's refresh token.
//!
//! Node and the pinned clients come from `scripts/test-all.sh` (`MCP_INTEROP_NODE`,
//! `MCP_INTEROP_NODE_DIR`, `MCP_REMOTE_BIN`); without them the tests are skipped with a
//! message, unless `MCP_REQUIRE_INTEROP=1`.

mod oauth_common;

use oauth_common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn interop_dir() -> PathBuf {
    std::env::var_os("MCP_INTEROP_NODE_DIR")
        .map_or_else(|| root().join("tests/interop"), PathBuf::from)
}

fn available(what: &str, path: &Path) -> bool {
    if path.exists() {
        return true;
    }
    assert!(
        std::env::var("MCP_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "{what} is missing at {} (run scripts/test-all.sh)",
        path.display()
    );
    eprintln!(
        "SKIPPED: {what} is not installed at {} (scripts/test-all.sh installs it)",
        path.display()
    );
    false
}

fn node() -> std::ffi::OsString {
    std::env::var_os("MCP_INTEROP_NODE").unwrap_or_else(|| "node".into())
}

/// Runs a client that prints one JSON summary; `log` (the headless browser's) is shown when
/// something goes wrong.
async fn run_json(cmd: &mut tokio::process::Command, log: Option<&Path>) -> Value {
    let show = || {
        log.and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default()
    };
    let out = tokio::time::timeout(Duration::from_secs(150), cmd.kill_on_drop(true).output())
        .await
        .unwrap_or_else(|_| panic!("client did not finish in time; browser log:\n{}", show()))
        .expect("node runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client output is not JSON ({e}):\n{}\nstderr:\n{}\nbrowser log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            show()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_client_through_the_facade() {
    let dir = interop_dir();
    if !available(
        "the TypeScript SDK",
        &dir.join("node_modules/@modelcontextprotocol/sdk"),
    ) {
        return;
    }
    let idp = idp().await;
    let ex = start(&idp).await;
    let s = run_json(
        tokio::process::Command::new(node())
            .arg(dir.join("oauth_code_client.mjs"))
            .arg(&ex.url)
            .args([
                "--call",
                "whoami",
                "--call",
                "list_notes",
                "--redirect-port",
                "3334",
            ]),
        None,
    )
    .await;
    assert_eq!(s["error"], Value::Null, "{s:#}");
    assert_eq!(s["ok"], true, "{s:#}");
    assert_eq!(s["consentPages"], 1, "one consent, then the refresh: {s:#}");
    assert_eq!(s["refreshed"], true, "{s:#}");
    let who = &s["calls"][0]["result"]["structuredContent"];
    assert_eq!(who["subject"], "test-user", "{s:#}");
    assert_eq!(who["client_id"], APP, "{s:#}");
    assert_eq!(s["calls"].as_array().map(Vec::len), Some(4), "{s:#}");
    let first = s["tokens"]["first"]["refresh_token"].as_str().unwrap();
    let second = s["tokens"]["second"]["refresh_token"].as_str().unwrap();
    assert_ne!(first, second, "rotated");

    // Another client cannot use the SDK client's live refresh token; the SDK client can.
    let other = ex.public_client("other").await;
    assert_eq!(
        ex.refresh(&other, second).await,
        (
            400,
            err(
                "invalid_grant",
                "The refresh token was issued to another client"
            )
        )
    );
    let sdk_client = s["registeredClient"].as_str().unwrap();
    assert_eq!(ex.refresh(sdk_client, second).await.0, 200);
    // The rotated-out one is dead for its owner too.
    assert_eq!(
        ex.refresh(sdk_client, first).await,
        (
            400,
            err("invalid_grant", "The refresh token is invalid or expired")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_remote_http_only_through_the_facade() {
    let dir = interop_dir();
    let remote = std::env::var_os("MCP_REMOTE_BIN")
        .map_or_else(|| dir.join("node_modules/.bin/mcp-remote"), PathBuf::from);
    if !available("mcp-remote", &remote) {
        return;
    }
    let idp = idp().await;
    let ex = start(&idp).await;
    let config_dir = std::env::temp_dir().join(format!("mcp-remote-facade-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&config_dir);
    std::fs::create_dir_all(&config_dir).unwrap();
    let browser_log = config_dir.join("browser.log");
    let path = format!(
        "{}:{}",
        dir.join("headless-facade-bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let s = run_json(
        tokio::process::Command::new(node())
            .arg(dir.join("mcp_client.mjs"))
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
            .args(["--transport", "http-only"])
            .env("PATH", path)
            .env("MCP_REMOTE_CONFIG_DIR", &config_dir)
            .env("HEADLESS_BROWSER_LOG", &browser_log),
        Some(&browser_log),
    )
    .await;
    let _ = std::fs::remove_dir_all(&config_dir);
    assert_eq!(s["error"], Value::Null, "{s:#}");
    assert_eq!(s["serverInfo"]["name"], "entra-example", "{s:#}");
    let who = &s["calls"][0]["result"]["structuredContent"];
    assert_eq!(who["subject"], "test-user", "{s:#}");
    assert!(
        who["scopes"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("mcp.read"))),
        "{s:#}"
    );
    assert_eq!(s["calls"][1]["result"]["isError"], false, "{s:#}");
}
