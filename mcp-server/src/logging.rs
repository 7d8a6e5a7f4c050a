//! One-line logging setup for server binaries (feature `logging`).
//!
//! mcp-rs reports what it does through [`tracing`](https://docs.rs/tracing): nothing is printed
//! until the binary installs a subscriber. [`init`] installs the usual one: human-readable lines
//! on **stderr** (stdout of a stdio server carries the protocol, so logs must never go there),
//! filtered by `RUST_LOG` (e.g. `RUST_LOG=info,mcp_rs_server::auth::audit=info`), else by the
//! default filter given.
//!
//! Targets worth knowing: `mcp_rs_server` (everything), `mcp_rs_server::http` (the HTTP accept loop
//! and connections), `mcp_rs_server::auth` (token validation), `mcp_rs_server::auth::audit` (one
//! line per authorization decision; never a token).
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! mcp_rs_server::logging::init("info");
//! # Ok(()) }
//! ```
//!
//! Need JSON lines, a file, or OpenTelemetry? Install your own `tracing` subscriber instead; this
//! helper is only a shortcut.

use tracing_subscriber::EnvFilter;

/// Installs a `tracing` subscriber that writes to stderr, filtered by `RUST_LOG` or, when it is
/// unset or invalid, by `default_filter` (an `EnvFilter` directive such as `"warn"` or
/// `"info,mcp_rs_server::auth::audit=info"`).
///
/// Does nothing if a global subscriber is already installed (a second call, or your own
/// subscriber), so it never panics.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let _already_set = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}
