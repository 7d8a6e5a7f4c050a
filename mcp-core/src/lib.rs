//! # mcp-rs-core
//!
//! The Model Context Protocol wire model: the JSON-RPC 2.0 envelope ([`jsonrpc`]), protocol
//! versions and eras ([`version`]), error codes ([`error`]), the `_meta` keys of the stateless
//! era ([`meta`]) and every MCP message of protocol revisions 2024-11-05 through 2026-07-28
//! ([`schema`], [`method`]).
//!
//! This crate does no I/O and depends only on `serde` and `serde_json`. Library authors who want to speak MCP
//! without the server framework (clients, proxies, test tools) should depend on `mcp-rs-core`.
//!
//! ```
//! use mcp_rs_core::jsonrpc::{parse, Incoming, JsonRpcMessage};
//!
//! let Incoming::Single(msg) = parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap() else {
//!     unreachable!()
//! };
//! assert_eq!(msg.method(), Some("ping"));
//! ```
//!
//! Typed messages live in [`schema`] and serialise to exactly the spec's JSON:
//!
//! ```
//! use mcp_rs_core::schema::{CallToolRequest, CallToolResult, CallToolResultResponse, CallToolOutcome, Content};
//! use serde_json::json;
//!
//! let req: CallToolRequest = serde_json::from_value(json!({
//!     "jsonrpc": "2.0", "id": 1, "method": "tools/call",
//!     "params": {"name": "add", "arguments": {"a": 1, "b": 2}}
//! })).unwrap();
//! assert_eq!(req.params.name, "add");
//!
//! let result = CallToolResult::success(vec![Content::text("3")]);
//! let resp = CallToolResultResponse::new(req.id, CallToolOutcome::Complete(result));
//! assert_eq!(serde_json::to_value(&resp).unwrap(), json!({
//!     "jsonrpc": "2.0", "id": 1,
//!     "result": {"content": [{"type": "text", "text": "3"}], "isError": false}
//! }));
//! ```

pub mod error;
pub mod jsonrpc;
pub mod meta;
pub mod method;
pub mod schema;
pub mod version;

pub use error::{ErrorCode, ErrorObject};
pub use jsonrpc::{JsonRpcMessage, RequestId};
pub use version::{Era, ProtocolVersion};
