use mcp_rs_server::prelude::*;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct SearchArgs {
    query: String,
}

#[mcp_tool]
async fn search(Params(args): Params<SearchArgs>, limit: u32) -> String {
    format!("{} {limit}", args.query)
}

fn main() {}
