//! Shared helpers of the spec tests: where the official spec files are.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// Env var that overrides the spec folder.
pub const SPEC_DIR_ENV: &str = "MCP_SPEC_DIR";

/// The folder holding `<version>/schema.json` and `2026-07-28/examples/`: `$MCP_SPEC_DIR`, or
/// `<repo>/../shared/spec` (the repo sits next to `shared/`).
pub fn spec_dir() -> PathBuf {
    let dir = match std::env::var_os(SPEC_DIR_ENV) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec"),
    };
    assert!(
        dir.join("2026-07-28/schema.json").is_file(),
        "MCP spec folder not found: looked for {}/2026-07-28/schema.json. Set {SPEC_DIR_ENV} to the \
         folder that holds <version>/schema.json and 2026-07-28/examples/ (e.g. \
         `{SPEC_DIR_ENV}=/path/to/shared/spec cargo test -p mcp-rs-core`).",
        dir.display()
    );
    dir
}

/// Reads and parses a JSON file, panicking with the path on failure.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
