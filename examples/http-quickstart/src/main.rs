//! A small MCP server over Streamable HTTP: `cargo run -p http-quickstart`, then connect an
//! MCP client to `http://127.0.0.1:8000/mcp`. See README.md.

use mcp_rs_core::schema::{CallToolResult, PromptMessage, ResourceContents};
use mcp_rs_server::Server;
use mcp_rs_server::ToolError;
use mcp_rs_server::context::RequestContext;
use mcp_rs_server::prompt::PromptDef;
use mcp_rs_server::resource::{ResourceDef, ResourceTemplateDef};
use mcp_rs_server::tool::ToolDef;
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The notes, shared by every session.
#[derive(Default)]
struct Notes(Mutex<BTreeMap<String, String>>);

impl Notes {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Deserialize, JsonSchema)]
struct AddNote {
    /// A short title; a note with the same title is replaced.
    title: String,
    /// The text of the note.
    body: String,
}

#[derive(Deserialize, JsonSchema)]
struct Search {
    /// Text to look for (case-insensitive).
    query: String,
}

#[derive(Deserialize, JsonSchema)]
struct Calculation {
    /// Left operand.
    a: f64,
    /// One of `+`, `-`, `*`, `/`.
    op: String,
    /// Right operand.
    b: f64,
}

#[derive(Deserialize, JsonSchema)]
struct Countdown {
    /// Seconds to count down (1 to 10).
    seconds: u32,
}

fn build_server(notes: Arc<Notes>) -> Server {
    let add_notes = notes.clone();
    let search_notes = notes.clone();
    let all_notes = notes.clone();
    let one_note = notes.clone();
    let prompt_notes = notes;
    Server::builder()
        .name("mcp-rs-http-quickstart")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("A notebook: add notes, search them, read them as resources. Also a calculator.")
        .tool(
            ToolDef::builder("add_note")
                .description("Store a note (replaces a note with the same title)")
                .handler_fn(move |_ctx: RequestContext, args: AddNote| {
                    let notes = add_notes.clone();
                    async move {
                        let replaced = notes.lock().insert(args.title.clone(), args.body).is_some();
                        if replaced {
                            format!("Replaced note {:?}", args.title)
                        } else {
                            format!("Added note {:?}", args.title)
                        }
                    }
                }),
        )
        .tool(
            ToolDef::builder("search_notes")
                .description("Find notes whose title or body contains the query")
                .read_only()
                .handler_fn(move |_ctx: RequestContext, args: Search| {
                    let notes = search_notes.clone();
                    async move {
                        let q = args.query.to_lowercase();
                        let hits: Vec<String> = notes
                            .lock()
                            .iter()
                            .filter(|(t, b)| t.to_lowercase().contains(&q) || b.to_lowercase().contains(&q))
                            .map(|(t, b)| format!("{t}: {b}"))
                            .collect();
                        if hits.is_empty() {
                            "No matching notes.".to_owned()
                        } else {
                            hits.join("\n")
                        }
                    }
                }),
        )
        .tool(
            ToolDef::builder("calculate")
                .description("Compute `a op b` for op in + - * /")
                .read_only()
                .handler_fn(|_ctx: RequestContext, c: Calculation| async move {
                    let value = match c.op.as_str() {
                        "+" => c.a + c.b,
                        "-" => c.a - c.b,
                        "*" => c.a * c.b,
                        "/" if c.b == 0.0 => return Err(ToolError::new("division by zero")),
                        "/" => c.a / c.b,
                        other => return Err(ToolError::new(format!("unknown operator {other:?}"))),
                    };
                    Ok(CallToolResult::text(value.to_string()))
                }),
        )
        .tool(
            ToolDef::builder("countdown")
                .description("Count down, reporting progress every second (shows SSE streaming)")
                .handler_fn(|ctx: RequestContext, c: Countdown| async move {
                    let total = c.seconds.clamp(1, 10);
                    for done in 0..total {
                        ctx.progress(f64::from(done), Some(f64::from(total)), Some(format!("{} s left", total - done)))
                            .await;
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = ctx.cancellation().cancelled() => return Err(ToolError::new("cancelled")),
                        }
                    }
                    Ok(CallToolResult::text("Liftoff!"))
                }),
        )
        .resource(
            ResourceDef::builder("notes://all", "All notes")
                .description("Every note, as a JSON object title → body")
                .mime_type("application/json")
                .handler_fn(move |_ctx: RequestContext, uri: String| {
                    let notes = all_notes.clone();
                    async move {
                        let all: Map<String, Value> =
                            notes.lock().iter().map(|(t, b)| (t.clone(), Value::String(b.clone()))).collect();
                        ResourceContents::text(uri, Some("application/json".to_owned()), Value::Object(all).to_string())
                    }
                }),
        )
        .resource_template(
            ResourceTemplateDef::builder("notes://{title}", "Note")
                .description("One note by title")
                .mime_type("text/plain")
                .handler_fn(move |_ctx: RequestContext, uri: String, vars: HashMap<String, String>| {
                    let notes = one_note.clone();
                    async move {
                        let title = vars.get("title").cloned().unwrap_or_default();
                        match notes.lock().get(&title) {
                            Some(body) => Ok(ResourceContents::text(uri, Some("text/plain".to_owned()), body.clone())),
                            None => Err(mcp_rs_server::error::McpError::resource_not_found(&uri)),
                        }
                    }
                }),
        )
        .prompt(
            PromptDef::builder("summarize_notes")
                .description("Ask the model to summarise the notes")
                .argument("topic", "Only notes about this topic", false)
                .handler_fn(move |_ctx: RequestContext, args: Map<String, Value>| {
                    let notes = prompt_notes.clone();
                    async move {
                        let topic = args.get("topic").and_then(Value::as_str).map(str::to_owned);
                        let listing = serde_json::to_string(&*notes.lock()).unwrap_or_default();
                        let ask = match topic {
                            Some(t) => format!("Summarise these notes, focusing on {t}:\n{listing}"),
                            None => format!("Summarise these notes:\n{listing}"),
                        };
                        PromptMessage::user(ask)
                    }
                }),
        )
        .build()
}

fn parse_addr() -> Result<String, String> {
    let mut addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            other => {
                return Err(format!(
                    "unknown argument {other:?} (usage: http-quickstart [--addr HOST:PORT])"
                ));
            }
        }
    }
    Ok(addr)
}

#[tokio::main]
async fn main() {
    // Logs go to stderr; RUST_LOG overrides the default filter.
    mcp_rs_server::logging::init("info");
    let addr = match parse_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let notes = Arc::new(Notes::default());
    notes.lock().insert(
        "welcome".to_owned(),
        "This note lives in memory; add more with add_note.".to_owned(),
    );
    let service = StreamableHttpService::new(build_server(notes), HttpConfig::default());
    println!("mcp-rs http-quickstart listening on http://{addr}/mcp");
    if let Err(e) = service.serve(addr.as_str()).await {
        eprintln!("http-quickstart: {e}");
        std::process::exit(1);
    }
}
