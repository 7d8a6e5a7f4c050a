use mcp_rs_server::prelude::*;

#[derive(serde::Serialize)]
struct Stats {
    count: u64,
}

#[mcp_tool]
async fn stats() -> Json<Stats> {
    Json(Stats { count: 1 })
}

fn main() {}
