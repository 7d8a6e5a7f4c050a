//! A raw MCP client over HTTP (protocol 2025-11-25) with an optional bearer token, for the
//! authorization tests and the Keycloak / Entra example tests.

use serde_json::{Value, json};
use std::time::Duration;

use crate::reply::Reply;

/// The protocol version the client speaks.
pub const PROTOCOL: &str = "2025-11-25";

/// POSTs one JSON-RPC message with the headers a well-behaved client sends, `token` as
/// bearer and `session` as `Mcp-Session-Id`; 60 s timeout.
///
/// # Panics
/// When the server does not answer.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    session: Option<&str>,
    msg: &Value,
) -> Reply {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL)
        .timeout(Duration::from_secs(60))
        .json(msg);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    Reply::read(req.send().await.expect("server answers")).await
}

/// An MCP session over raw HTTP with one bearer token. The session id is taken from the
/// first answer that carries one (the `initialize` answer).
pub struct Client {
    http: reqwest::Client,
    url: String,
    /// The bearer token.
    pub token: String,
    /// The session id, once issued.
    pub session: Option<String>,
    /// The id of the next request.
    pub next_id: u64,
}

impl Client {
    /// A client of the endpoint `url` sending `token`.
    #[must_use]
    pub fn new(url: &str, token: &str) -> Self {
        Client {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            token: token.to_owned(),
            session: None,
            next_id: 1,
        }
    }

    /// Sends one message in the session.
    pub async fn post(&mut self, msg: Value) -> Reply {
        let r = post(
            &self.http,
            &self.url,
            Some(&self.token),
            self.session.as_deref(),
            &msg,
        )
        .await;
        if let Some(s) = &r.session {
            self.session = Some(s.clone());
        }
        r
    }

    /// Sends a request with the next id.
    pub async fn request(&mut self, method: &str, params: Value) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        self.post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }

    /// `initialize` as `client_name`, then `notifications/initialized` (which must get 202)
    /// when `initialize` succeeded; returns the answer to `initialize`.
    ///
    /// # Panics
    /// When `notifications/initialized` is not answered with 202.
    pub async fn initialize(&mut self, client_name: &str) -> Reply {
        let r = self
            .request(
                "initialize",
                json!({"protocolVersion": PROTOCOL, "capabilities": {},
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

    /// `tools/call` of `tool` with `args`.
    pub async fn call(&mut self, tool: &str, args: Value) -> Reply {
        self.request("tools/call", json!({"name": tool, "arguments": args}))
            .await
    }
}
