use mcp_rs_server::prelude::*;

#[mcp_resource(mime_type = "text/plain")]
async fn no_uri() -> String {
    String::new()
}

#[mcp_resource(uri = "config://app")]
async fn with_argument(id: String) -> String {
    id
}

#[mcp_resource(uri = "not a uri", mime_type = "json")]
async fn bad_values() -> String {
    String::new()
}

fn main() {}
