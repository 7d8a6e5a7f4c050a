//! Shared helpers for the workspace integration tests (`tests/tests/*.rs`):
//!
//! * [`tools`]: JSON-schema and tool-definition shorthands for test servers;
//! * [`reply`]: one HTTP answer of an MCP endpoint, read whole, with its SSE events;
//! * [`bearer`]: a raw MCP client over HTTP that sends one bearer token;
//! * [`interop`]: skip (one visible line) or fail when an interop client or Keycloak is missing.

pub mod bearer;
pub mod interop;
pub mod reply;
pub mod tools;
