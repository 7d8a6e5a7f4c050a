//! The two hooks of the example: [`RateLimit`] and [`Audit`].

use mcp_rs_server::async_trait;
use mcp_rs_server::hooks::{Failure, RequestInfo, ServerHooks};
use mcp_rs_server::mcp_rs_core::ErrorObject;
use mcp_rs_server::{McpError, Session};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rate-limit window.
const WINDOW: Duration = Duration::from_secs(60);
/// Principals tracked at most; past it, those idle for a whole window are forgotten first.
const MAX_PRINCIPALS: usize = 10_000;
/// The JSON-RPC code of a refusal (implementation-defined server error range).
pub(crate) const RATE_LIMITED: i32 = -32000;

/// The principal a request is counted against: the token's subject, or `anonymous`.
fn principal_of(request: &RequestInfo) -> &str {
    request
        .principal
        .as_ref()
        .map_or("anonymous", |p| p.subject.as_str())
}

/// Refuses requests past `limit` per principal in any sliding minute.
#[derive(Debug)]
pub(crate) struct RateLimit {
    limit: usize,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimit {
    /// At most `limit` requests per principal per minute (at least 1).
    pub(crate) fn per_minute(limit: usize) -> Self {
        RateLimit {
            limit: limit.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records a request of `who` at `now`; `Err(retry after)` when it is over the limit.
    fn admit(&self, who: &str, now: Instant) -> Result<(), Duration> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_PRINCIPALS && !seen.contains_key(who) {
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < WINDOW));
        }
        let times = seen.entry(who.to_owned()).or_default();
        while times.front().is_some_and(|t| now - *t >= WINDOW) {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(WINDOW.saturating_sub(now - oldest));
        }
        times.push_back(now);
        Ok(())
    }
}

#[async_trait]
impl ServerHooks for RateLimit {
    async fn on_request(&self, request: &RequestInfo) -> Result<(), McpError> {
        self.admit(principal_of(request), request.started)
            .map_err(|retry| {
                // Whole seconds, rounded up: a client that waits this long gets through.
                let secs = retry.as_secs() + u64::from(retry.subsec_nanos() > 0);
                McpError::protocol(
                    ErrorObject::new(
                        mcp_rs_server::mcp_rs_core::ErrorCode(RATE_LIMITED),
                        format!("Rate limit exceeded: {} requests per minute", self.limit),
                    )
                    .with_data(json!({ "retryAfterSeconds": secs })),
                )
            })
    }
}

/// One audit line per request, with per-tool metrics fields.
#[derive(Debug, Default)]
pub(crate) struct Audit;

impl Audit {
    fn line(request: &RequestInfo, outcome: &str, code: Option<i32>, elapsed: Duration) {
        let tool = match request.method.as_str() {
            "tools/call" => request.target.as_deref().unwrap_or(""),
            _ => "",
        };
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            target: "audit",
            method = %request.method,
            id = %request.id,
            tool,
            principal = principal_of(request),
            client_id = request.principal.as_ref().and_then(|p| p.client_id.as_deref()).unwrap_or(""),
            session = request.session_id.as_deref().unwrap_or(""),
            outcome,
            code = code.unwrap_or(0),
            monotonic_counter.mcp_tool_calls = u64::from(!tool.is_empty()),
            histogram.mcp_request_duration_ms = ms,
            "request"
        );
    }
}

#[async_trait]
impl ServerHooks for Audit {
    async fn on_response(&self, request: &RequestInfo, result: &Value, elapsed: Duration) {
        let tool_failed = result.get("isError").and_then(Value::as_bool) == Some(true);
        let outcome = if tool_failed { "tool_error" } else { "ok" };
        Self::line(request, outcome, None, elapsed);
    }

    async fn on_error(&self, request: &RequestInfo, failure: &Failure, elapsed: Duration) {
        let outcome = match failure {
            Failure::Error(_) => "error",
            Failure::Forbidden(_) => "forbidden",
            Failure::Cancelled => "cancelled",
            _ => "abandoned",
        };
        Self::line(request, outcome, failure.code(), elapsed);
    }

    async fn on_session_created(&self, session: &Session) {
        tracing::info!(target: "audit", session = session.id(), "session created");
    }

    async fn on_session_ended(&self, session: &Session) {
        tracing::info!(target: "audit", session = session.id(), "session ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides() {
        let limit = RateLimit::per_minute(2);
        let t0 = Instant::now();
        assert_eq!(limit.admit("a", t0), Ok(()));
        assert_eq!(limit.admit("a", t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(
            limit.admit("a", t0 + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        // Another principal has its own budget.
        assert_eq!(limit.admit("b", t0 + Duration::from_secs(20)), Ok(()));
        // The first request leaves the window at t0 + 60 s.
        assert_eq!(limit.admit("a", t0 + Duration::from_secs(60)), Ok(()));
    }
}
