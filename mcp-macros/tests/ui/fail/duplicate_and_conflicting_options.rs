use mcp_rs_server::prelude::*;

#[mcp_tool(name = "a", name = "b")]
async fn a() -> String {
    String::new()
}

#[mcp_tool(read_only, destructive)]
async fn b() -> String {
    String::new()
}

#[mcp_tool(scopes = ["x"], scopes_any = ["y"])]
async fn c() -> String {
    String::new()
}

#[mcp_tool(scopes = ["has space"], icons = [{ src = "https://x/i.png", theme = "blue" }])]
async fn d() -> String {
    String::new()
}

fn main() {}
