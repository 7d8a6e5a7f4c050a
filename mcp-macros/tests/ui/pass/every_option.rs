// Every option and parameter form compiles.
use mcp_rs_server::prelude::*;
use mcp_rs_server::completion::CompletionContext;

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Reading {
    value: f64,
    unit: Unit,
}

/// Read a sensor.
#[mcp_tool(
    name = "sensors/read",
    title = "Read sensor",
    description = "Reads one sensor.",
    read_only,
    idempotent = true,
    open_world = false,
    icons = ["https://example.com/a.png", { src = "https://example.com/b.svg", mime_type = "image/svg+xml", sizes = ["any"], theme = "dark" }],
    meta = { "example.com/tier": "gold", "n": 1 },
    scopes_any = ["sensors:read", "admin"],
)]
async fn read_sensor(
    ctx: &RequestContext,
    cancel: CancellationToken,
    /// Sensor id.
    id: u32,
    #[schema(description = "Unit of the reading", default = "celsius")] unit: Option<Unit>,
    #[schema(minimum = 1, maximum = 10, title = "Samples")] samples: Option<u8>,
    #[schema(pattern = "^[a-z]+$", min_length = 1, max_length = 8, examples = ["abc"])] tag: Option<String>,
) -> Result<Json<Reading>, McpError> {
    let _ = (ctx.request_id(), cancel.is_cancelled(), id, samples, tag);
    Ok(Json(Reading { value: 20.5, unit: unit.unwrap_or(Unit::Celsius) }))
}

/// Raw result with an explicit output schema.
#[mcp_tool(output_schema = Reading)]
async fn raw() -> CallToolResult {
    CallToolResult::text("raw")
}

/// No arguments, no return value.
#[mcp_tool]
async fn ping_tool() {}

async fn city_names(prefix: String) -> Vec<String> {
    ["Paris", "Prague"].iter().filter(|c| c.starts_with(&prefix)).map(|c| c.to_string()).collect()
}

async fn with_context(value: String, context: CompletionContext) -> Result<Vec<String>, McpError> {
    Ok(vec![format!("{value}-{}", context.argument)])
}

/// Weather of a city.
#[mcp_resource_template(uri_template = "weather://{city}/{unit}{?days}", mime_type = "text/plain", title = "Weather", scopes = ["weather"])]
async fn weather(
    #[complete(provider = city_names)] city: String,
    unit: Unit,
    days: Option<u32>,
) -> Result<String, McpError> {
    let _ = (unit, days);
    Ok(city)
}

/// A sized resource.
#[mcp_resource(uri = "file:///logo.png", name = "logo", mime_type = "image/png", size = 3, meta = { "k": true })]
async fn logo(_ctx: RequestContext) -> Vec<u8> {
    vec![1, 2, 3]
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Greeting {
    /// Who to greet.
    name: String,
    /// How many times.
    times: Option<u32>,
}

/// Greet someone.
#[mcp_prompt(title = "Greeting", scopes = ["prompts"])]
async fn greet(Params(g): Params<Greeting>) -> String {
    format!("Hello {} x{}", g.name, g.times.unwrap_or(1))
}

/// Translate.
#[mcp_prompt(name = "translate")]
async fn translate_prompt(
    /// Text to translate.
    text: String,
    to: Unit,
    #[complete(provider = with_context)] style: Option<String>,
    #[complete(provider = mcp_rs_server::completion::StaticCompletions::new(["a", "b"]))] other: Option<String>,
) -> Result<Vec<PromptMessage>, McpError> {
    let _ = (to, style, other);
    Ok(vec![PromptMessage::user(text)])
}

fn main() {
    let server = Server::builder().name("all").version("1.0.0").discover().build();
    drop(server);
}
