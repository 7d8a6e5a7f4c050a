//! A calculator MCP server over stdio, written with the builder API (no macros).
//!
//! Run it with `cargo run -p stdio-calculator`, or point an MCP client at the binary:
//!
//! ```text
//! { "command": "target/debug/stdio-calculator" }
//! ```
//!
//! Items:
//! * tools `add`, `subtract`, `multiply`, `divide` (division by zero is a tool error) and
//!   `sum` (reports progress and logs each step);
//! * resource `calc://constants` (JSON) and template `calc://table/{n}` (a multiplication table);
//! * prompt `explain` with completion of its `style` argument.
//!
//! Logs go to stderr (`RUST_LOG=debug` for more); stdout carries only protocol messages.

use mcp_rs_server::completion::StaticCompletions;
use mcp_rs_server::prelude::*;
use mcp_rs_server::prompt::PromptDef;
use mcp_rs_server::resource::{ResourceDef, ResourceTemplateDef};
use mcp_rs_server::tool::ToolDef;
use serde::Deserialize;
use serde_json::json;

/// Two operands.
#[derive(Deserialize, schemars::JsonSchema)]
struct Operands {
    /// The left operand.
    a: f64,
    /// The right operand.
    b: f64,
}

/// Numbers to add up.
#[derive(Deserialize, schemars::JsonSchema)]
struct SumArgs {
    /// The numbers.
    numbers: Vec<f64>,
}

fn binary(
    name: &'static str,
    description: &'static str,
    op: fn(f64, f64) -> Result<f64, ToolError>,
) -> ToolDef {
    ToolDef::builder(name)
        .description(description)
        .read_only()
        .handler_fn(
            move |ctx: RequestContext, Operands { a, b }: Operands| async move {
                let _ = ctx
                    .log(LoggingLevel::Debug, json!(format!("{name}({a}, {b})")))
                    .await;
                op(a, b)
            },
        )
}

fn server() -> Server {
    let sum = ToolDef::builder("sum")
        .description("Add up a list of numbers, reporting progress.")
        .read_only()
        .handler_fn(
            |ctx: RequestContext, SumArgs { numbers }: SumArgs| async move {
                let total = numbers.len() as f64;
                let mut acc = 0.0;
                for (i, n) in numbers.iter().enumerate() {
                    if ctx.is_cancelled() {
                        return Err(ToolError::new("cancelled"));
                    }
                    acc += n;
                    ctx.progress((i + 1) as f64, Some(total), Some(format!("added {n}")))
                        .await;
                    let _ = ctx
                        .log(LoggingLevel::Info, json!({ "step": i + 1, "partial": acc }))
                        .await;
                }
                Ok::<_, ToolError>(Json(json!({ "sum": acc, "count": numbers.len() })))
            },
        );

    let constants = ResourceDef::builder("calc://constants", "constants")
        .description("Mathematical constants.")
        .mime_type("application/json")
        .handler_fn(|_ctx, _uri| async {
            Json(json!({ "pi": std::f64::consts::PI, "e": std::f64::consts::E, "sqrt2": std::f64::consts::SQRT_2 }))
        });

    let table = ResourceTemplateDef::builder("calc://table/{n}", "multiplication-table")
        .description("The multiplication table of n (1 to 10).")
        .mime_type("text/plain")
        .complete("n", StaticCompletions::new((1..=12).map(|n| n.to_string())))
        .handler_fn(|_ctx, uri, vars| async move {
            let n: i64 = vars["n"]
                .parse()
                .map_err(|_| McpError::resource_not_found(&uri))?;
            Ok::<_, McpError>(
                (1..=10)
                    .map(|i| format!("{n} x {i} = {}\n", n * i))
                    .collect::<String>(),
            )
        });

    let explain = PromptDef::builder("explain")
        .description("Explain how to evaluate an expression.")
        .argument("expression", "The expression, e.g. 2 * (3 + 4)", true)
        .argument(
            "style",
            "How to explain: brief, detailed or socratic",
            false,
        )
        .complete(
            "style",
            StaticCompletions::new(["brief", "detailed", "socratic"]),
        )
        .handler_fn(|_ctx, args| async move {
            let expr = args
                .get("expression")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            let style = args
                .get("style")
                .and_then(|v| v.as_str())
                .unwrap_or("brief")
                .to_owned();
            vec![PromptMessage::user(format!(
                "Explain, in a {style} way, how to evaluate: {expr}"
            ))]
        });

    Server::builder()
        .name("stdio-calculator")
        .title("Calculator")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("Arithmetic tools. Use `sum` for long lists; it reports progress.")
        .tool(binary("add", "Add two numbers.", |a, b| Ok(a + b)))
        .tool(binary("subtract", "Subtract b from a.", |a, b| Ok(a - b)))
        .tool(binary(
            "multiply",
            "Multiply two numbers.",
            |a, b| Ok(a * b),
        ))
        .tool(binary("divide", "Divide a by b.", |a, b| {
            if b == 0.0 {
                Err(ToolError::new("division by zero"))
            } else {
                Ok(a / b)
            }
        }))
        .tool(sum)
        .resource(constants)
        .resource_template(table)
        .prompt(explain)
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr (stdout carries the protocol); RUST_LOG overrides the default filter.
    mcp_rs_server::logging::init("warn");
    server().serve_stdio().await?;
    Ok(())
}
