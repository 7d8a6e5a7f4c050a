use mcp_rs_server::prelude::*;

#[mcp_resource_template(uri_template = "users://{id}/posts/{post}")]
async fn post(id: String) -> String {
    id
}

#[mcp_resource_template(uri_template = "users://{id}")]
async fn user(id: String, extra: String) -> String {
    format!("{id}{extra}")
}

#[mcp_resource_template(uri_template = "users://{id")]
async fn broken(id: String) -> String {
    id
}

fn main() {}
