//! MCP message types, one module per area.
