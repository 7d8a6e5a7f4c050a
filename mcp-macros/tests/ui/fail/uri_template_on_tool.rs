use mcp_rs_server::prelude::*;

#[mcp_tool(uri_template = "users://{id}")]
async fn user(id: String) -> String {
    id
}

#[mcp_resource(uri_template = "users://{id}")]
async fn user_resource(id: String) -> String {
    id
}

#[mcp_resource_template(uri = "users://me")]
async fn me() -> String {
    String::new()
}

fn main() {}
