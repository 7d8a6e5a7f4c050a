use mcp_rs_server::prelude::*;

/// Add two numbers.
#[mcp_tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
