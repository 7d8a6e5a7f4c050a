//! Tools: the [`ToolHandler`] trait, the [`ToolDef`] registration record, return-value
//! conversions ([`IntoCallToolResult`]) and the [`Params`] / [`Json`] wrappers.
//!
//! Without macros, a tool is built with [`ToolDef::builder`]:
//!
//! ```
//! use mcp_rs_server::prelude::*;
//! use mcp_rs_server::tool::ToolDef;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct AddArgs { a: i64, b: i64 }
//!
//! let add = ToolDef::builder("add")
//!     .description("Add two numbers.")
//!     .handler_fn(|_ctx: RequestContext, args: AddArgs| async move { args.a + args.b });
//! let server = Server::builder().tool(add).build();
//! # let _ = server;
//! ```

use crate::context::RequestContext;
use crate::error::{McpError, ToolError};
use crate::scope::ScopeRequirement;
use async_trait::async_trait;
use mcp_rs_core::schema::{
    CallToolResult, Content, Icon, InputRequiredResult, JsonObject, Meta, Tool, ToolAnnotations,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

/// Runs a tool. Implemented by the code `#[mcp_tool]` generates, by
/// [`ToolBuilder::handler_fn`] closures, or by hand.
#[async_trait]
pub trait ToolHandler: Send + Sync + 'static {
    /// Calls the tool with its (already schema-validated) arguments.
    async fn call(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<CallToolResult, McpError>;
}

/// A tool and how to run it: what the registry stores.
#[derive(Clone)]
pub struct ToolDef {
    /// The tool as listed by `tools/list`.
    pub tool: Tool,
    /// Runs the tool.
    pub handler: Arc<dyn ToolHandler>,
    /// Scopes a caller needs (checked before the call).
    pub scopes: Option<ScopeRequirement>,
    /// Where the tool was defined (`file:line`), for duplicate reports.
    pub location: Option<&'static str>,
    /// Whether calls may run as tasks (the tasks extension); `None`: always synchronous.
    /// Set it with [`ToolDef::with_task`] so that `tools/list` shows it too.
    pub task: Option<TaskSupport>,
    /// When a task-run call becomes a task (see [`TaskStart`]).
    pub task_start: TaskStart,
}

/// Whether a tool's calls run as tasks (the `io.modelcontextprotocol/tasks` extension,
/// SEP-2663), listed as `execution.taskSupport`.
///
/// The server decides: a call of a task-capable tool from a client that declared the
/// extension becomes a task, answered at once with a `CreateTaskResult` that the client
/// polls with `tasks/get`. See `docs/tasks.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// A task for clients that declared the extension; a plain synchronous call for others.
    Optional,
    /// Only as a task: clients without the extension get `-32021`
    /// (missing required client capability).
    Required,
}

impl TaskSupport {
    /// The wire value of `execution.taskSupport`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        }
    }
}

/// When a task-run call becomes a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskStart {
    /// When the call arrives: the handler runs inside the task from its first line
    /// (server-directed creation). The default.
    #[default]
    Call,
    /// When the handler calls [`RequestContext::start_task`]: until then the call is
    /// synchronous (its input rounds go back to the client as `input_required` results), and a
    /// handler that returns without starting a task answers synchronously.
    Handler,
}

impl ToolDef {
    /// A definition from a tool description and a handler.
    pub fn new(tool: Tool, handler: impl ToolHandler) -> Self {
        ToolDef {
            tool,
            handler: Arc::new(handler),
            scopes: None,
            location: None,
            task: None,
            task_start: TaskStart::Call,
        }
    }

    /// Lets calls run as tasks (sets `execution.taskSupport` of the listed tool too).
    #[must_use]
    pub fn with_task(mut self, support: TaskSupport) -> Self {
        set_task_support(&mut self.tool, support);
        self.task = Some(support);
        self
    }

    /// When a task-run call becomes a task (default [`TaskStart::Call`]).
    #[must_use]
    pub fn with_task_start(mut self, start: TaskStart) -> Self {
        self.task_start = start;
        self
    }

    /// Starts building a tool named `name` (input schema `{"type":"object"}` until set).
    pub fn builder(name: impl Into<String>) -> ToolBuilder {
        ToolBuilder {
            tool: Tool {
                name: name.into(),
                input_schema: Tool::empty_input_schema(),
                ..Default::default()
            },
            input_set: false,
            scopes: None,
            task: None,
            task_start: TaskStart::Call,
        }
    }

    /// Requires `scopes` to call the tool.
    #[must_use]
    pub fn with_scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// The tool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.tool.name
    }
}

impl fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDef")
            .field("tool", &self.tool)
            .field("scopes", &self.scopes)
            .field("location", &self.location)
            .field("task", &self.task)
            .field("task_start", &self.task_start)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ToolDef`]; see [`ToolDef::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ToolBuilder {
    tool: Tool,
    input_set: bool,
    scopes: Option<ScopeRequirement>,
    task: Option<TaskSupport>,
    task_start: TaskStart,
}

/// Writes `execution.taskSupport`, keeping other `execution` members.
fn set_task_support(tool: &mut Tool, support: TaskSupport) {
    let mut execution = match tool.execution.take() {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    execution.insert("taskSupport".into(), Value::from(support.as_str()));
    tool.execution = Some(Value::Object(execution));
}

impl ToolBuilder {
    /// The display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.tool.title = Some(title.into());
        self
    }

    /// What the tool does (shown to the model).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.tool.description = Some(description.into());
        self
    }

    /// The JSON Schema of the arguments (must be an object schema).
    pub fn input_schema(mut self, schema: JsonObject) -> Self {
        self.tool.input_schema = schema;
        self.input_set = true;
        self
    }

    /// The input schema of `T` (JSON Schema 2020-12 from `schemars`).
    pub fn input_schema_from<T: JsonSchema>(self) -> Self {
        self.input_schema(input_schema_for::<T>())
    }

    /// The JSON Schema of `structuredContent`.
    pub fn output_schema(mut self, schema: JsonObject) -> Self {
        self.tool.output_schema = Some(schema);
        self
    }

    /// The output schema of a [`Json<T>`] return value (see [`output_schema_for`]).
    pub fn output_schema_from<T: JsonSchema>(self) -> Self {
        self.output_schema(output_schema_for::<T>())
    }

    /// Behaviour hints.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.tool.annotations = Some(annotations);
        self
    }

    /// Marks the tool read-only (`readOnlyHint`).
    pub fn read_only(mut self) -> Self {
        self.tool
            .annotations
            .get_or_insert_with(Default::default)
            .read_only_hint = Some(true);
        self
    }

    /// Marks the tool destructive (`destructiveHint`).
    pub fn destructive(mut self) -> Self {
        self.tool
            .annotations
            .get_or_insert_with(Default::default)
            .destructive_hint = Some(true);
        self
    }

    /// Icons.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.tool.icons = Some(icons);
        self
    }

    /// `_meta` of the tool description.
    pub fn meta(mut self, meta: Meta) -> Self {
        self.tool.meta = Some(meta);
        self
    }

    /// Requires `scopes` to call the tool.
    pub fn scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Lets calls run as tasks (see [`TaskSupport`]).
    pub fn task(mut self, support: TaskSupport) -> Self {
        self.task = Some(support);
        self
    }

    /// When a task-run call becomes a task (default [`TaskStart::Call`]).
    pub fn task_start(mut self, start: TaskStart) -> Self {
        self.task_start = start;
        self
    }

    /// Finishes with a handler object.
    pub fn handler(self, handler: impl ToolHandler) -> ToolDef {
        let def = ToolDef {
            tool: self.tool,
            handler: Arc::new(handler),
            scopes: self.scopes,
            location: None,
            task: None,
            task_start: self.task_start,
        };
        match self.task {
            Some(support) => def.with_task(support),
            None => def,
        }
    }

    /// Finishes with an async closure taking the context and the arguments deserialised
    /// into `T`. Unless an input schema was set, it is generated from `T` (once, here).
    /// Arguments that do not deserialise give an `isError` result naming the problem.
    pub fn handler_fn<T, F, Fut, R>(mut self, f: F) -> ToolDef
    where
        T: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(RequestContext, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoCallToolResult + Send + 'static,
    {
        if !self.input_set {
            self.tool.input_schema = input_schema_for::<T>();
        }
        self.handler(FnTool {
            f,
            _args: PhantomData,
        })
    }
}

struct FnTool<F, T> {
    f: F,
    _args: PhantomData<fn() -> T>,
}

#[async_trait]
impl<F, T, Fut, R> ToolHandler for FnTool<F, T>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(RequestContext, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoCallToolResult + Send + 'static,
{
    async fn call(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<CallToolResult, McpError> {
        let args = match parse_arguments::<T>(args) {
            Ok(a) => a,
            Err(e) => return Ok(e.into_call_tool_result_error()),
        };
        (self.f)(ctx, args).await.into_call_tool_result()
    }
}

/// Deserialises tool arguments into `T`; the error is a [`ToolError`] naming the problem
/// (`Invalid arguments: missing field `b``).
///
/// # Errors
/// When the arguments do not match `T`.
pub fn parse_arguments<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| ToolError::new(format!("Invalid arguments: {e}")))
}

impl ToolError {
    /// This error as an `isError` tool result.
    #[must_use]
    pub fn into_call_tool_result_error(self) -> CallToolResult {
        CallToolResult::error_text(self.message().to_owned())
    }
}

fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12().into_generator()
}

/// The input schema of `T`: an object schema (JSON Schema 2020-12). Generate it once at
/// registration, never per call.
#[must_use]
pub fn input_schema_for<T: JsonSchema>() -> JsonObject {
    let schema = generator().into_root_schema_for::<T>();
    match schema.to_value() {
        Value::Object(mut m) => {
            if !m.contains_key("type") && !m.contains_key("$ref") {
                m.insert("type".into(), Value::String("object".into()));
            }
            // An empty `properties` is fine; `{"type":"object"}` is the no-argument schema.
            m
        }
        // `true`: any value; tools take objects.
        _ => Tool::empty_input_schema(),
    }
}

/// The output schema of a [`Json<T>`] return value. `structuredContent` must be an object:
/// when `T`'s schema is not exactly `"type": "object"`, the value is wrapped as
/// `{"result": value}` (and [`Json<T>`] wraps non-object values the same way).
#[must_use]
pub fn output_schema_for<T: JsonSchema>() -> JsonObject {
    let schema = generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if value.get("type").and_then(Value::as_str) == Some("object")
        && let Value::Object(m) = value
    {
        return m;
    }
    let defs = value.as_object_mut().and_then(|m| m.remove("$defs"));
    let dialect = value.as_object_mut().and_then(|m| m.remove("$schema"));
    let mut outer = Map::new();
    if let Some(d) = dialect {
        outer.insert("$schema".into(), d);
    }
    outer.insert("type".into(), Value::String("object".into()));
    outer.insert("properties".into(), serde_json::json!({ "result": value }));
    outer.insert("required".into(), serde_json::json!(["result"]));
    if let Some(d) = defs {
        outer.insert("$defs".into(), d);
    }
    outer
}

/// The whole argument object as one typed value: `async fn search(Params(args): Params<SearchArgs>)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<T>(pub T);

impl<T> std::ops::Deref for Params<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Structured output: serialised into `structuredContent` with a JSON text mirror in
/// `content`. Non-object values are wrapped as `{"result": value}` (see [`output_schema_for`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Converts a tool's return value into a `tools/call` result.
///
/// `Err` is a protocol error (a JSON-RPC error response); tool *execution* failures are
/// `Ok` results with `isError: true` (see [`ToolError`]).
pub trait IntoCallToolResult {
    /// Performs the conversion.
    ///
    /// # Errors
    /// A protocol error to answer the request with.
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError>;
}

/// The error half of a `Result` returned by a tool: [`ToolError`] becomes an `isError`
/// result, [`McpError`] a JSON-RPC error.
pub trait IntoToolFailure {
    /// Performs the conversion.
    ///
    /// # Errors
    /// A protocol error to answer the request with.
    fn into_tool_failure(self) -> Result<CallToolResult, McpError>;
}

impl IntoToolFailure for ToolError {
    fn into_tool_failure(self) -> Result<CallToolResult, McpError> {
        Ok(self.into_call_tool_result_error())
    }
}

impl IntoToolFailure for McpError {
    fn into_tool_failure(self) -> Result<CallToolResult, McpError> {
        Err(self)
    }
}

impl<T: IntoCallToolResult, E: IntoToolFailure> IntoCallToolResult for Result<T, E> {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        match self {
            Ok(v) => v.into_call_tool_result(),
            Err(e) => e.into_tool_failure(),
        }
    }
}

impl IntoCallToolResult for CallToolResult {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(self)
    }
}

impl IntoCallToolResult for String {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::text(self))
    }
}

impl IntoCallToolResult for &str {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::text(self))
    }
}

impl IntoCallToolResult for () {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::success(Vec::new()))
    }
}

impl IntoCallToolResult for Content {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::success(vec![self]))
    }
}

impl IntoCallToolResult for Vec<Content> {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::success(self))
    }
}

impl IntoCallToolResult for InputRequiredResult {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Err(McpError::input_required(self))
    }
}

impl IntoCallToolResult for Value {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Json(self).into_call_tool_result()
    }
}

impl<T: Serialize> IntoCallToolResult for Json<T> {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        let value = serde_json::to_value(&self.0).map_err(McpError::internal)?;
        let structured = match value {
            Value::Object(_) => value,
            other => serde_json::json!({ "result": other }),
        };
        Ok(CallToolResult::structured(structured))
    }
}

macro_rules! display_results {
    ($($t:ty),* $(,)?) => {$(
        impl IntoCallToolResult for $t {
            fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
                Ok(CallToolResult::text(self.to_string()))
            }
        }
    )*};
}

display_results!(
    bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

/// A handler that needs client input returns it as an error result: see
/// [`InputRequired`](crate::protocol::mrtr::InputRequired).
impl IntoCallToolResult for crate::protocol::mrtr::InputRequired {
    fn into_call_tool_result(self) -> Result<CallToolResult, McpError> {
        Err(self.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json(r: impl IntoCallToolResult) -> Value {
        serde_json::to_value(r.into_call_tool_result().unwrap()).unwrap()
    }

    #[test]
    fn primitive_results_are_text() {
        assert_eq!(
            to_json(42i64),
            json!({"content":[{"type":"text","text":"42"}],"isError":false})
        );
        assert_eq!(to_json(true)["content"][0]["text"], "true");
        assert_eq!(to_json(1.5f64)["content"][0]["text"], "1.5");
        assert_eq!(to_json("hi")["content"][0]["text"], "hi");
        assert_eq!(to_json(()), json!({"content":[],"isError":false}));
    }

    #[test]
    fn json_results_are_structured_with_text_mirror() {
        #[derive(Serialize)]
        struct Out {
            sum: i64,
        }
        assert_eq!(
            to_json(Json(Out { sum: 3 })),
            json!({"content":[{"type":"text","text":"{\"sum\":3}"}],"structuredContent":{"sum":3},"isError":false})
        );
        assert_eq!(
            to_json(Json(vec!["a"]))["structuredContent"],
            json!({"result":["a"]})
        );
    }

    #[test]
    fn results_of_results() {
        let ok: Result<String, ToolError> = Ok("fine".into());
        assert_eq!(to_json(ok)["content"][0]["text"], "fine");
        let tool_err: Result<String, ToolError> = Err(ToolError::new("boom"));
        assert_eq!(
            to_json(tool_err),
            json!({"content":[{"type":"text","text":"boom"}],"isError":true})
        );
        let proto_err: Result<String, McpError> = Err(McpError::invalid_params("nope"));
        assert_eq!(
            proto_err.into_call_tool_result().unwrap_err().code(),
            -32602
        );
    }

    #[test]
    fn schemas() {
        #[derive(serde::Deserialize, JsonSchema)]
        #[allow(dead_code)]
        struct Args {
            /// Text.
            query: String,
            limit: Option<u32>,
        }
        let s = input_schema_for::<Args>();
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["query"]));
        assert_eq!(s["properties"]["query"]["description"], "Text.");
        let out = output_schema_for::<Vec<String>>();
        assert_eq!(out["type"], "object");
        assert_eq!(out["required"], json!(["result"]));
        assert_eq!(out["properties"]["result"]["type"], "array");
    }
}
