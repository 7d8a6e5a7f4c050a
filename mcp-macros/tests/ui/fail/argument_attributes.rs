use mcp_rs_server::prelude::*;

#[mcp_tool]
async fn t(#[complete(values = ["a"])] x: String, #[schema(minimum = 1, colour = "red")] n: u32) -> String {
    format!("{x}{n}")
}

#[mcp_prompt]
async fn p(#[complete(value = ["a"])] x: String, #[schema(minimum = 1)] n: u32) -> String {
    format!("{x}{n}")
}

#[mcp_tool]
async fn r(name: &str, (a, b): (i64, i64)) -> String {
    format!("{name}{a}{b}")
}

fn main() {}
