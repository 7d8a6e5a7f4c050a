use mcp_rs_server::prelude::*;

#[mcp_tool(name = "add numbers")]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[mcp_tool]
async fn añadir(a: i64) -> i64 {
    a
}

fn main() {}
