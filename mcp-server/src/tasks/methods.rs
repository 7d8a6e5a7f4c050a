//! The entry points: task creation on `tools/call`, and `tasks/get`, `tasks/update`,
//! `tasks/cancel`.

use super::runtime::{Job, Live, RunOutcome, Tasks, run_once};
use super::{TASKS_EXTENSION, TaskRecord, TaskStatus, wire};
use crate::context::{RequestContext, TaskLink};
use crate::error::{ErrorKind, McpError};
use crate::protocol::mrtr::missing_capability_error;
use crate::tool::{TaskStart, TaskSupport, ToolDef};
use mcp_rs_core::meta;
use mcp_rs_core::schema::{CallToolResult, JsonObject};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// `tasks/get`.
pub(crate) const TASKS_GET: &str = "tasks/get";
/// `tasks/update`.
pub(crate) const TASKS_UPDATE: &str = "tasks/update";
/// `tasks/cancel`.
pub(crate) const TASKS_CANCEL: &str = "tasks/cancel";

/// Whether `method` is one of the extension's methods.
pub(crate) fn is_method(method: &str) -> bool {
    matches!(method, TASKS_GET | TASKS_UPDATE | TASKS_CANCEL)
}

/// The params the stateless `_meta` envelope is read from: `tasks/update`'s `inputResponses`
/// answer the task, not this request, so they are left out.
#[cfg(feature = "http")]
pub(crate) fn envelope_params(method: &str, params: Option<&Value>) -> Option<Value> {
    let mut p = params.cloned();
    if method == TASKS_UPDATE
        && let Some(Value::Object(m)) = &mut p
    {
        m.remove("inputResponses");
    }
    p
}

/// What `tools/call` of a task-capable tool comes to.
pub(crate) enum TaskCall {
    /// Run the call synchronously, as for any tool (the client did not declare the
    /// extension, and the tool's support is optional).
    Sync(RequestContext, JsonObject),
    /// The answer: a `CreateTaskResult`, a synchronous result of a tool that did not start a
    /// task, or an error.
    Done(Result<Value, McpError>),
}

/// Whether the request's client declared the extension: in its capabilities (handshake or
/// stateless envelope) or in this request's `_meta` capabilities.
fn declares_tasks(ctx: &RequestContext) -> bool {
    let in_caps = ctx
        .client_capabilities()
        .and_then(|c| c.extensions.as_ref())
        .is_some_and(|e| e.contains_key(TASKS_EXTENSION));
    in_caps
        || ctx
            .meta()
            .and_then(|m| m.get(meta::CLIENT_CAPABILITIES))
            .and_then(|c| c.get("extensions"))
            .and_then(|e| e.get(TASKS_EXTENSION))
            .is_some()
}

/// `-32021` naming the extension.
fn missing_extension() -> McpError {
    McpError::protocol(missing_capability_error(
        json!({ "extensions": { TASKS_EXTENSION: {} } }),
    ))
}

/// The principal a task belongs to: the verified identity, else the session, else the
/// anonymous principal (a stateless server without authorization).
fn owner(ctx: &RequestContext) -> String {
    if let Some(id) = ctx.oauth() {
        return format!("principal:{}", id.principal_key());
    }
    match ctx.session() {
        Some(s) => format!("session:{}", s.id()),
        None => "anonymous".to_owned(),
    }
}

/// `tools/call` of a tool with task support.
pub(crate) async fn call_tool(
    tasks: &Arc<Tasks>,
    def: &ToolDef,
    ctx: RequestContext,
    args: JsonObject,
) -> TaskCall {
    if !declares_tasks(&ctx) {
        return match def.task {
            Some(TaskSupport::Required) => TaskCall::Done(Err(missing_extension())),
            _ => TaskCall::Sync(ctx, args),
        };
    }
    let live = Arc::new(Live::new(CancellationToken::new()));
    let max_rounds = ctx.server().protocol_options().input_rounds();
    let job = |ctx: RequestContext| Job {
        handler: def.handler.clone(),
        ctx,
        args,
        max_rounds,
    };
    TaskCall::Done(match def.task_start {
        TaskStart::Call => {
            let record = match tasks.create(owner(&ctx), live.clone()).await {
                Ok(r) => r,
                Err(e) => return TaskCall::Done(Err(e)),
            };
            let link = Arc::new(TaskLink::started(record.task_id.clone()));
            let job = job(ctx.for_task(live.cancel.clone(), link));
            tokio::spawn(Arc::clone(tasks).drive(record.task_id.clone(), live, job, None));
            Ok(wire::create_result(&record))
        }
        TaskStart::Handler => {
            let (link, ask) = TaskLink::deferred();
            let link = Arc::new(link);
            let job = job(ctx.for_task(live.cancel.clone(), link.clone()));
            let (early_tx, early_rx) = oneshot::channel();
            tokio::spawn(first_run(
                Arc::clone(tasks),
                live.clone(),
                link.clone(),
                job,
                early_tx,
            ));
            tokio::select! {
                biased;
                early = early_rx => sync_answer(early.ok()),
                Ok(reply) = ask => escalate(tasks, &ctx, live, &link, reply).await,
                () = ctx.cancellation().cancelled() => {
                    live.cancel.cancel();
                    Err(McpError::new(ErrorKind::Cancelled))
                }
            }
        }
    })
}

/// The first run of a [`TaskStart::Handler`] tool: its outcome answers the request unless the
/// handler started a task meanwhile, which then goes on as any task.
async fn first_run(
    tasks: Arc<Tasks>,
    live: Arc<Live>,
    link: Arc<TaskLink>,
    job: Job,
    early: oneshot::Sender<RunOutcome>,
) {
    let Some(out) = run_once(&job.handler, &job.ctx, &job.args, &live.cancel).await else {
        return;
    };
    match link.id() {
        None => {
            let _ = early.send(out);
        }
        Some(id) => tasks.drive(id.to_owned(), live, job, Some(out)).await,
    }
}

/// The handler asked for its task: create it and tell the handler (or why not, and stop it).
async fn escalate(
    tasks: &Arc<Tasks>,
    ctx: &RequestContext,
    live: Arc<Live>,
    link: &TaskLink,
    reply: crate::context::StartReply,
) -> Result<Value, McpError> {
    match tasks.create(owner(ctx), live.clone()).await {
        Ok(record) => {
            link.set_id(record.task_id.clone());
            let _ = reply.send(Ok(record.task_id.clone()));
            Ok(wire::create_result(&record))
        }
        Err(e) => {
            live.cancel.cancel();
            let _ = reply.send(Err(McpError::new(ErrorKind::Cancelled)));
            Err(e)
        }
    }
}

/// The synchronous answer of a handler that returned without starting a task.
fn sync_answer(outcome: Option<RunOutcome>) -> Result<Value, McpError> {
    match outcome {
        Some(Ok(Ok(result))) => to_value(&result),
        Some(Ok(Err(e))) => Err(e),
        Some(Err(_)) => Err(McpError::internal("tool handler panicked")),
        None => Err(McpError::new(ErrorKind::Cancelled)),
    }
}

fn to_value(result: &CallToolResult) -> Result<Value, McpError> {
    serde_json::to_value(result).map_err(McpError::internal)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskRef {
    task_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateParams {
    task_id: String,
    input_responses: Map<String, Value>,
}

fn parse<T: for<'de> Deserialize<'de>>(params: Option<Value>) -> Result<T, McpError> {
    let v = params.unwrap_or_else(|| Value::Object(Map::new()));
    serde_json::from_value(v).map_err(|e| McpError::invalid_params(format!("Invalid params: {e}")))
}

/// `tasks/get`, `tasks/update`, `tasks/cancel`; `-32021` unless the client declared the
/// extension.
pub(crate) async fn handle(
    tasks: &Arc<Tasks>,
    method: &str,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    if !declares_tasks(ctx) {
        return Err(missing_extension());
    }
    match method {
        TASKS_GET => {
            let p: TaskRef = parse(params)?;
            Ok(wire::detailed(&owned(tasks, ctx, &p.task_id).await?))
        }
        TASKS_UPDATE => update(tasks, ctx, parse(params)?).await,
        TASKS_CANCEL => {
            let p: TaskRef = parse(params)?;
            cancel(tasks, ctx, &p.task_id).await
        }
        other => Err(McpError::method_not_found(other)),
    }
}

/// The record of `task_id` if it belongs to the caller; `-32602` otherwise (unknown, expired
/// or another principal's: the answers are the same).
async fn owned(tasks: &Tasks, ctx: &RequestContext, task_id: &str) -> Result<TaskRecord, McpError> {
    let record = tasks
        .config
        .store
        .get(task_id)
        .await
        .map_err(super::runtime::store_error)?;
    match record {
        Some(r) if r.owner == owner(ctx) => Ok(r),
        _ => Err(McpError::invalid_params(format!(
            "Unknown task: {}",
            shorten(task_id)
        ))),
    }
}

/// `task_id` as echoed in messages: at most 80 characters.
fn shorten(task_id: &str) -> String {
    match task_id.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &task_id[..i]),
        None => task_id.to_owned(),
    }
}

async fn update(tasks: &Tasks, ctx: &RequestContext, p: UpdateParams) -> Result<Value, McpError> {
    let record = owned(tasks, ctx, &p.task_id).await?;
    let not_waiting = || {
        McpError::invalid_params(format!(
            "Task {} is not waiting for input (status: {})",
            record.task_id,
            status_name(record.status)
        ))
    };
    if record.status != TaskStatus::InputRequired {
        return Err(not_waiting());
    }
    let live = tasks.live(&record.task_id).ok_or_else(not_waiting)?;
    let remaining = live.answer(&p.input_responses)?.ok_or_else(not_waiting)?;
    let changed = tasks
        .transition(&record.task_id, |r| {
            if remaining.is_empty() {
                r.status = TaskStatus::Working;
                r.input_requests = None;
            } else {
                r.input_requests = Some(remaining);
            }
        })
        .await?;
    if let Some(r) = changed {
        wire::notify_status(ctx, &r).await;
    }
    Ok(wire::ack())
}

async fn cancel(tasks: &Tasks, ctx: &RequestContext, task_id: &str) -> Result<Value, McpError> {
    let record = owned(tasks, ctx, task_id).await?;
    if !record.status.is_terminal() {
        let changed = tasks
            .transition(task_id, |r| {
                r.status = TaskStatus::Cancelled;
                r.input_requests = None;
            })
            .await?;
        if let Some(r) = changed {
            wire::notify_status(ctx, &r).await;
        }
        if let Some(live) = tasks.live(task_id) {
            live.cancel.cancel();
        }
    }
    Ok(wire::ack())
}

fn status_name(s: TaskStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
