//! Roots: the filesystem locations a client exposes.

use serde::{Deserialize, Serialize};

use super::common::{Meta, RequestParams};
use super::envelope::embedded_request;
use crate::method;

/// A root directory or file the client exposes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Root {
    /// A `file://` URI.
    pub uri: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// The result of `roots/list`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ListRootsResult {
    /// The roots.
    pub roots: Vec<Root>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

embedded_request!(
    /// `roots/list`: a standalone server-to-client request up to 2025-11-25 (wrap it in a
    /// [`JsonRpcMessage`](crate::JsonRpcMessage) to send it), an `inputRequests` entry from 2026-07-28.
    ListRootsRequest = method::ROOTS_LIST, RequestParams, optional
);
