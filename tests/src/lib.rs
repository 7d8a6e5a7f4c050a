//! Shared helpers for the workspace integration tests (`tests/tests/*.rs`):
//!
//! * [`tools`]: JSON-schema and tool-definition shorthands for test servers;
//! * [`reply`]: one HTTP answer of an MCP endpoint, read whole, with its SSE events;
//! * [`bearer`]: a raw MCP client over HTTP that sends one bearer token.

pub mod bearer;
pub mod reply;
pub mod tools;
