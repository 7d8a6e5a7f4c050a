#!/usr/bin/env bash
# Long fuzzing run of the property-based tests (CI runs them with 256 cases each).
#   scripts/fuzz.sh                 # 100,000 cases per property
#   PROPTEST_CASES=2000000 scripts/fuzz.sh
# A failure prints the minimal input and stores it under proptest-regressions/ next to the
# test; commit that file with the fix so the case is replayed on every later run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-100000}"
echo "fuzz: PROPTEST_CASES=$PROPTEST_CASES"
cargo test -p mcp-rs-core --test fuzz_jsonrpc -- --test-threads 2
# In-crate properties (pub(crate) code, test names fuzz_*): event store bounds; HTTP edge
# headers (Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID; transport/http/edge.rs);
# Mcp-Param-* values incl. base64 (protocol/headers.rs); URI templates
# (registry/uri_template.rs); WWW-Authenticate building (transport/http/challenge.rs); JWT
# header and claims pre-checks (auth/jwt.rs).
cargo test -p mcp-rs-server --lib --all-features -- --test-threads 2 counters_and_bounds_hold fuzz_
