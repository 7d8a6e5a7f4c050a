use mcp_rs_server::prelude::*;

#[mcp_tool(nmae = "add", read_only)]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[mcp_prompt(name = "p", annotations = "x")]
async fn p() -> String {
    String::new()
}

fn main() {}
