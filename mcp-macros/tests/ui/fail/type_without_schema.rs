use mcp_rs_server::prelude::*;

#[derive(serde::Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[mcp_tool]
async fn norm(p: Point) -> i64 {
    p.x * p.x + p.y * p.y
}

fn main() {}
