use mcp_rs_server::prelude::*;

struct Counter;

impl Counter {
    #[mcp_tool]
    async fn without_server(&self) -> u64 {
        1
    }
}

struct Other;

#[mcp_server]
impl Other {
    #[mcp_tool]
    async fn bump(&mut self) -> u64 {
        1
    }

    #[mcp_tool]
    #[mcp_prompt]
    async fn both(&self) -> String {
        String::new()
    }
}

fn main() {}
