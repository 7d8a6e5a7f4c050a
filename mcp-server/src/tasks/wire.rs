//! The JSON of the tasks extension: `CreateTaskResult` and the `tasks/get` task.

use super::TaskRecord;
use crate::context::RequestContext;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An RFC 3339 UTC timestamp (millisecond precision) of `ms` since the Unix epoch.
pub(crate) fn timestamp(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// The members every task shape carries.
fn base(r: &TaskRecord, result_type: &str) -> Map<String, Value> {
    let v = json!({
        "resultType": result_type,
        "taskId": r.task_id,
        "status": r.status,
        "createdAt": timestamp(r.created_at_ms),
        "lastUpdatedAt": timestamp(r.last_updated_at_ms),
        "ttlMs": r.ttl_ms,
        "pollIntervalMs": r.poll_interval_ms,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The answer to a `tools/call` that created a task: flat, without result or input requests.
pub(crate) fn create_result(r: &TaskRecord) -> Value {
    Value::Object(base(r, "task"))
}

/// The `tasks/get` answer: the task, with its `result`, `error` or `inputRequests` inline.
pub(crate) fn detailed(r: &TaskRecord) -> Value {
    let mut m = base(r, "complete");
    if let Some(result) = &r.result {
        m.insert("result".into(), result.clone());
    }
    if let Some(error) = &r.error {
        m.insert(
            "error".into(),
            serde_json::to_value(error).unwrap_or(Value::Null),
        );
    }
    if let Some(requests) = &r.input_requests {
        m.insert(
            "inputRequests".into(),
            serde_json::to_value(requests).unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

/// The status notification of the handshake era.
pub(crate) const STATUS_NOTIFICATION: &str = "notifications/tasks";

/// Tells the client of `ctx` that the task is now `r` (`notifications/tasks`: the task as
/// `tasks/get` shows it), on the session's channel. Handshake era only: the stateless era
/// delivers them on `subscriptions/listen` streams, which this server does not do yet.
pub(crate) async fn notify_status(ctx: &RequestContext, r: &TaskRecord) {
    if ctx.protocol_version().is_stateless() {
        return;
    }
    let mut v = detailed(r);
    if let Value::Object(m) = &mut v {
        m.remove("resultType");
    }
    let _ = ctx.notify(STATUS_NOTIFICATION, v).await;
}

/// The empty acknowledgement of `tasks/update` and `tasks/cancel`.
pub(crate) fn ack() -> Value {
    json!({ "resultType": "complete" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_764_921_600_123), "2025-12-05T08:00:00.123Z");
    }
}
