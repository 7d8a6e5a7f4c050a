//! Typed MCP methods and method names.
