//! One HTTP answer of an MCP endpoint, read whole.

use serde_json::Value;

/// Status, the headers the tests look at, and the body: as text, and as the JSON-RPC
/// message it carries (from a JSON body, or the last SSE event with an `id`).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// `Content-Type` (empty when absent).
    pub content_type: String,
    /// `WWW-Authenticate` (empty when absent).
    pub challenge: String,
    /// `Mcp-Session-Id`, when present.
    pub session: Option<String>,
    /// The body text.
    pub text: String,
    /// The JSON-RPC message of the body: the JSON body itself, or for an SSE body the last
    /// event that has an `id` (the response); `null` when there is none.
    pub body: Value,
}

impl Reply {
    /// Reads `res` to the end.
    ///
    /// # Panics
    /// When the body cannot be read.
    pub async fn read(res: reqwest::Response) -> Reply {
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let challenge = header("www-authenticate").unwrap_or_default();
        let session = header("mcp-session-id");
        let text = res.text().await.expect("body");
        let body = if content_type.starts_with("text/event-stream") {
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
            content_type,
            challenge,
            session,
            text,
            body,
        }
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The JSON-RPC messages of an SSE body, in order.
    ///
    /// # Panics
    /// When an event's data is not JSON.
    #[must_use]
    pub fn events(&self) -> Vec<Value> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| !d.is_empty())
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }
}
