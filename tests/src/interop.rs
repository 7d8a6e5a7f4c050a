//! Skip-or-fail for tests that need a tool installed outside cargo: the interop clients
//! (Python venv with the `mcp` SDK, the Node SDK, `mcp-remote`, the conformance suite) and a
//! running Keycloak.
//!
//! On a fresh clone, plain `cargo test --workspace` must pass: a test whose tool is missing
//! returns early and writes ONE line to the terminal saying how to run it. The line goes
//! straight to the process's stderr (not through `eprintln!`, which libtest captures for
//! passing tests), so it is visible in a normal `cargo test` run.
//!
//! `scripts/test-all.sh` installs every tool and sets [`REQUIRE_INTEROP`]`=1` (and
//! [`REQUIRE_KEYCLOAK`]`=1` when it starts Keycloak): then a missing tool is a failure, never
//! a silent skip.

use std::io::Write as _;
use std::path::Path;

/// Set to `1` to make a missing interop client a test failure instead of a skip.
pub const REQUIRE_INTEROP: &str = "MCP_REQUIRE_INTEROP";

/// Set to `1` to make a missing Keycloak (no `KEYCLOAK_URL`) a test failure instead of a skip.
pub const REQUIRE_KEYCLOAK: &str = "MCP_REQUIRE_KEYCLOAK";

/// Whether the environment variable `var` is set to `1`.
#[must_use]
pub fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

/// Writes one `SKIPPED:` line to the terminal, past libtest's output capture.
pub fn skip_line(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "SKIPPED: {message}");
    let _ = err.flush();
}

/// `true` if `path` exists. Otherwise panics when [`REQUIRE_INTEROP`]`=1`, else writes one
/// `SKIPPED:` line naming `what`, where it was looked for and how to install it, and returns
/// `false` (the caller returns early).
///
/// `what` names the tool, e.g. `"the Python interop venv"`.
#[must_use]
pub fn available(what: &str, path: &Path) -> bool {
    if path.exists() {
        return true;
    }
    assert!(
        !required(REQUIRE_INTEROP),
        "{REQUIRE_INTEROP}=1 but {what} is missing at {} (scripts/test-all.sh installs it)",
        path.display()
    );
    skip_line(&format!(
        "{what} is not installed at {}; run ./scripts/test-all.sh to install it and run this \
         test ({REQUIRE_INTEROP}=1 then makes a missing tool a failure)",
        path.display()
    ));
    false
}

/// The Keycloak base URL from `KEYCLOAK_URL` (trailing `/` removed), or `None` after one
/// `SKIPPED:` line. Panics when it is unset and [`REQUIRE_KEYCLOAK`]`=1`.
#[must_use]
pub fn keycloak_url() -> Option<String> {
    match std::env::var("KEYCLOAK_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_owned()),
        _ => {
            assert!(
                !required(REQUIRE_KEYCLOAK),
                "{REQUIRE_KEYCLOAK}=1 but KEYCLOAK_URL is not set: Keycloak was not started \
                 (scripts/keycloak.sh start), so the Keycloak example cannot be tested"
            );
            skip_line(
                "KEYCLOAK_URL is not set; start Keycloak with `scripts/keycloak.sh start` and run \
                 with KEYCLOAK_URL=http://localhost:8180 (./scripts/test-all.sh does both)",
            );
            None
        }
    }
}
