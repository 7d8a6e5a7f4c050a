//! trybuild UI tests: every compile error of the macros is pinned by a `.stderr` snapshot in
//! `tests/ui/fail/`, and `tests/ui/pass/` compiles (and runs) complete servers.
//!
//! Regenerate the snapshots after an intended change with
//! `TRYBUILD=overwrite cargo test -p mcp-rs-macros --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
