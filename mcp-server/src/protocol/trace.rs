//! [`TraceContext`]: W3C trace context carried in a request's `_meta`.

use mcp_rs_core::schema::Meta;
use serde_json::Value;

/// W3C trace context propagated in `_meta` (`traceparent`, `tracestate`, `baggage`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// `traceparent`.
    pub traceparent: Option<String>,
    /// `tracestate`.
    pub tracestate: Option<String>,
    /// `baggage`.
    pub baggage: Option<String>,
}

impl TraceContext {
    /// Reads the trace keys of a `_meta` object; `None` when there are none.
    #[must_use]
    pub fn from_meta(meta: &Meta) -> Option<Self> {
        let get = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_owned);
        let t = TraceContext {
            traceparent: get(mcp_rs_core::meta::TRACEPARENT),
            tracestate: get(mcp_rs_core::meta::TRACESTATE),
            baggage: get(mcp_rs_core::meta::BAGGAGE),
        };
        (t != TraceContext::default()).then_some(t)
    }
}
