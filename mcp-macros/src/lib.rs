//! Attribute macros for `mcp-server` (filled by the macros work).
