//! `server/discover` (2026-07-28): what a stateless server supports.

use serde::{Deserialize, Serialize};

use super::capabilities::ServerCapabilities;
use super::common::{CacheScope, Implementation, Meta, RequestParams, ResultType};
use super::envelope::{request, response};
use crate::method;

/// The result of `server/discover`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Every protocol version the server speaks.
    pub supported_versions: Vec<String>,
    /// What the server supports.
    pub capabilities: ServerCapabilities,
    /// How to use the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// `resultType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Cache lifetime in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Cache scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
    /// Metadata (`io.modelcontextprotocol/serverInfo` carries the server's [`Implementation`]).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl DiscoverResult {
    /// The server's implementation info from `_meta`, when present and well-formed.
    pub fn server_info(&self) -> Option<Implementation> {
        let v = self.meta.as_ref()?.get(crate::meta::SERVER_INFO)?;
        serde_json::from_value(v.clone()).ok()
    }

    /// Puts `info` into `_meta` under `io.modelcontextprotocol/serverInfo`.
    #[must_use]
    pub fn with_server_info(mut self, info: &Implementation) -> Self {
        if let Ok(v) = serde_json::to_value(info) {
            self.meta
                .get_or_insert_with(Meta::new)
                .insert(crate::meta::SERVER_INFO.to_owned(), v);
        }
        self
    }
}

request!(
    /// `server/discover` (2026-07-28).
    DiscoverRequest = method::SERVER_DISCOVER, optional RequestParams
);
response!(
    /// A response carrying a [`DiscoverResult`].
    DiscoverResultResponse, DiscoverResult
);
