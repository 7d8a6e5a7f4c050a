//! An MCP session over raw HTTP with one bearer token, shared by the example tests
//! (`keycloak_example.rs`, `entra_example.rs`).

use serde_json::{Value, json};
use std::time::Duration;

/// One HTTP answer: status, `WWW-Authenticate`, and the JSON-RPC message (from JSON or SSE).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) challenge: String,
    pub(crate) body: Value,
}

/// An MCP session over raw HTTP with one bearer token.
pub(crate) struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
    pub(crate) session: Option<String>,
    pub(crate) next_id: u64,
}

impl Client {
    pub(crate) fn new(url: &str, token: &str) -> Self {
        Client {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            token: token.to_owned(),
            session: None,
            next_id: 1,
        }
    }

    pub(crate) async fn post(&mut self, msg: Value) -> Reply {
        let mut req = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .timeout(Duration::from_secs(60))
            .json(&msg);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        let res = req.send().await.expect("server answers");
        let status = res.status().as_u16();
        let challenge = res
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if let Some(s) = res.headers().get("mcp-session-id") {
            self.session = Some(s.to_str().unwrap().to_owned());
        }
        let sse = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let text = res.text().await.unwrap();
        let body = if sse {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .rfind(|m| m.get("id").is_some())
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Reply {
            status,
            challenge,
            body,
        }
    }

    pub(crate) async fn request(&mut self, method: &str, params: Value) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        self.post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }

    /// `initialize` as `client_name`, then `notifications/initialized` (which must get 202)
    /// when `initialize` succeeded; returns the answer to `initialize`.
    pub(crate) async fn initialize(&mut self, client_name: &str) -> Reply {
        let r = self
            .request(
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": client_name, "version": "1"}}),
            )
            .await;
        if r.status == 200 {
            let n = self
                .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
            assert_eq!(n.status, 202, "{n:?}");
        }
        r
    }

    pub(crate) async fn call(&mut self, tool: &str, args: Value) -> Reply {
        self.request("tools/call", json!({"name": tool, "arguments": args}))
            .await
    }
}
