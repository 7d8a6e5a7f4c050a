use mcp_rs_server::prelude::*;

struct Report;

#[mcp_tool]
async fn report() -> Report {
    Report
}

fn main() {}
