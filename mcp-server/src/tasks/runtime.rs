//! The running side of tasks: creation within the limits, the handler's background job,
//! status transitions, input rounds and the TTL timer.

use super::store::now_ms;
use super::{TaskConfig, TaskRecord, TaskStatus, TaskStoreError, wire};
use crate::context::RequestContext;
use crate::error::{ErrorKind, McpError};
use crate::tool::ToolHandler;
use futures::FutureExt as _;
use mcp_rs_core::schema::{
    CallToolResult, InputRequests, InputResponse, InputResponses, JsonObject,
};
use mcp_rs_core::{ErrorCode, ErrorObject};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The tasks of one server: settings, store, and the live part of the tasks run here.
pub(crate) struct Tasks {
    pub(crate) config: TaskConfig,
    live: Mutex<HashMap<String, Arc<Live>>>,
    /// Serialises read-modify-write of records, so a late result cannot undo a cancellation.
    transitions: tokio::sync::Mutex<()>,
}

/// The in-process part of a task: its cancellation and pending input.
pub(crate) struct Live {
    pub(crate) cancel: CancellationToken,
    waiting: Mutex<Option<Waiting>>,
    wake: Notify,
}

/// An input round in progress: what is still unanswered, and the answers so far.
struct Waiting {
    pending: InputRequests,
    answers: InputResponses,
}

/// How a handler's run ended, as the job sees it.
pub(crate) type RunOutcome =
    Result<Result<CallToolResult, McpError>, Box<dyn std::any::Any + Send>>;

impl Live {
    pub(crate) fn new(cancel: CancellationToken) -> Self {
        Live {
            cancel,
            waiting: Mutex::new(None),
            wake: Notify::new(),
        }
    }

    /// Records `answers` for pending keys (others are ignored). Returns the keys still pending,
    /// or `None` when the task is not waiting for input.
    ///
    /// # Errors
    /// `-32602` when an answer to a pending key is not a client result.
    pub(crate) fn answer(
        &self,
        answers: &serde_json::Map<String, Value>,
    ) -> Result<Option<InputRequests>, McpError> {
        let mut guard = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(w) = guard.as_mut() else {
            return Ok(None);
        };
        for (key, value) in answers {
            if !w.pending.contains_key(key) {
                continue;
            }
            let answer: InputResponse = serde_json::from_value(value.clone()).map_err(|_| {
                McpError::invalid_params(format!(
                    "Invalid params: inputResponses[\"{key}\"] is not an ElicitResult, CreateMessageResult or ListRootsResult"
                ))
            })?;
            w.pending.remove(key);
            w.answers.insert(key.clone(), answer);
        }
        let remaining = w.pending.clone();
        if remaining.is_empty() {
            self.wake.notify_one();
        }
        Ok(Some(remaining))
    }

    /// Starts an input round: `requests` await answers from `tasks/update`.
    fn expect(&self, requests: InputRequests) {
        *self.waiting.lock().unwrap_or_else(PoisonError::into_inner) = Some(Waiting {
            pending: requests,
            answers: InputResponses::new(),
        });
    }

    /// Waits until every request of the round is answered; `None` when cancelled first.
    async fn inputs(&self) -> Option<InputResponses> {
        loop {
            let notified = self.wake.notified();
            {
                let mut guard = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                if guard.as_ref().is_some_and(|w| w.pending.is_empty()) {
                    return guard.take().map(|w| w.answers);
                }
            }
            tokio::select! {
                () = notified => {}
                () = self.cancel.cancelled() => return None,
            }
        }
    }
}

impl Tasks {
    pub(crate) fn new(config: TaskConfig) -> Self {
        Tasks {
            config,
            live: Mutex::new(HashMap::new()),
            transitions: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn live(&self, task_id: &str) -> Option<Arc<Live>> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(task_id)
            .cloned()
    }

    /// Creates the record of a new `working` task of `owner`, within the limits, and starts
    /// its TTL timer (which deletes it and cancels `live` when the TTL ends).
    pub(crate) async fn create(
        self: &Arc<Self>,
        owner: String,
        live: Arc<Live>,
    ) -> Result<TaskRecord, McpError> {
        let now = now_ms();
        let record = TaskRecord {
            task_id: uuid::Uuid::new_v4().to_string(),
            owner,
            status: TaskStatus::Working,
            created_at_ms: now,
            last_updated_at_ms: now,
            ttl_ms: millis(self.config.ttl),
            poll_interval_ms: millis(self.config.poll_interval),
            result: None,
            error: None,
            input_requests: None,
        };
        self.config
            .store
            .insert(record.clone(), self.config.limits)
            .await
            .map_err(store_error)?;
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.task_id.clone(), live.clone());
        let this = Arc::clone(self);
        let id = record.task_id.clone();
        let ttl = self.config.ttl;
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            live.cancel.cancel();
            this.forget(&id).await;
        });
        Ok(record)
    }

    /// Drops the task: its live part and its record.
    async fn forget(&self, task_id: &str) {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(task_id);
        if let Err(e) = self.config.store.remove(task_id).await {
            tracing::warn!(task = task_id, error = %e, "could not delete an expired task");
        }
    }

    /// Applies `change` to a task that is not over yet; returns the new record (`None` when
    /// the task is gone or already over).
    pub(crate) async fn transition(
        &self,
        task_id: &str,
        change: impl FnOnce(&mut TaskRecord),
    ) -> Result<Option<TaskRecord>, McpError> {
        let _serial = self.transitions.lock().await;
        let store = &self.config.store;
        let Some(mut record) = store.get(task_id).await.map_err(store_error)? else {
            return Ok(None);
        };
        if record.status.is_terminal() {
            return Ok(None);
        }
        change(&mut record);
        record.last_updated_at_ms = now_ms().max(record.last_updated_at_ms);
        let kept = store.update(record.clone()).await.map_err(store_error)?;
        if let Some(status) = kept.then_some(record.status) {
            tracing::info!(task = task_id, status = ?status, "task status");
        }
        Ok(kept.then_some(record))
    }

    /// Runs `handler` for task `task_id` until the task is over: input rounds park it in
    /// `input_required` until `tasks/update` has answered everything, at most `max_rounds`.
    pub(crate) async fn drive(
        self: Arc<Self>,
        task_id: String,
        live: Arc<Live>,
        job: Job,
        first: Option<RunOutcome>,
    ) {
        let Job {
            handler,
            mut ctx,
            args,
            max_rounds,
        } = job;
        let mut next = first;
        for round in 0..=max_rounds {
            let outcome = match next.take() {
                Some(o) => o,
                None => match run_once(&handler, &ctx, &args, &live.cancel).await {
                    Some(o) => o,
                    None => return, // cancelled: tasks/cancel or the TTL settled the record
                },
            };
            let last = round == max_rounds;
            let Some(state) = self.settle(&ctx, &task_id, &live, outcome, last).await else {
                return;
            };
            let Some(answers) = live.inputs().await else {
                return;
            };
            let resumed = self.transition(&task_id, |r| {
                r.status = TaskStatus::Working;
                r.input_requests = None;
            });
            // (tasks/update, which answered the last key, told the client already.)
            if !matches!(resumed.await, Ok(Some(_))) {
                return;
            }
            ctx = ctx.with_input(answers, state);
        }
    }

    /// Records how a run ended. When the handler asked for input (and may have another round)
    /// the round is opened on `live` and `Some(requestState)` returned.
    async fn settle(
        &self,
        ctx: &RequestContext,
        task_id: &str,
        live: &Live,
        outcome: RunOutcome,
        last_round: bool,
    ) -> Option<Option<String>> {
        let (status, result, error, wait) = match outcome {
            Ok(Ok(result)) => (TaskStatus::Completed, to_json(&result), None, None),
            Ok(Err(e)) => match e.into_kind() {
                ErrorKind::InputRequired(ir) if !last_round => {
                    let requests = ir.input_requests.unwrap_or_default();
                    (
                        TaskStatus::InputRequired,
                        None,
                        None,
                        Some((requests, ir.request_state)),
                    )
                }
                ErrorKind::InputRequired(_) => (
                    TaskStatus::Failed,
                    None,
                    Some(ErrorObject::internal_error()),
                    None,
                ),
                kind => (
                    TaskStatus::Failed,
                    None,
                    Some(failure(McpError::new(kind))),
                    None,
                ),
            },
            Err(_) => {
                tracing::error!(task = task_id, "task handler panicked");
                (
                    TaskStatus::Failed,
                    None,
                    Some(ErrorObject::internal_error()),
                    None,
                )
            }
        };
        let shown = wait.as_ref().map(|(r, _): &(InputRequests, _)| r.clone());
        if let Some(requests) = &shown {
            live.expect(requests.clone());
        }
        let changed = self.transition(task_id, |r| {
            r.status = status;
            r.result = result;
            r.error = error;
            r.input_requests = shown;
        });
        match changed.await {
            Ok(Some(record)) => {
                wire::notify_status(ctx, &record).await;
                wait.map(|(_, state)| state)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(task = task_id, error = %e, "could not record a task outcome");
                None
            }
        }
    }
}

/// What a task's job runs.
pub(crate) struct Job {
    pub(crate) handler: Arc<dyn ToolHandler>,
    pub(crate) ctx: RequestContext,
    pub(crate) args: JsonObject,
    pub(crate) max_rounds: usize,
}

/// How long a cancelled handler may go on (to notice its cancellation and clean up) before its
/// future is dropped.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// One run of the handler, panics caught; `None` when `cancel` fired first: the handler sees
/// its [`RequestContext::cancellation`] and gets [`CANCEL_GRACE`] to return, then its future is
/// dropped. Its outcome is ignored either way (the cancellation settled the record).
pub(crate) async fn run_once(
    handler: &Arc<dyn ToolHandler>,
    ctx: &RequestContext,
    args: &JsonObject,
    cancel: &CancellationToken,
) -> Option<RunOutcome> {
    let call = AssertUnwindSafe(handler.call(ctx.clone(), args.clone())).catch_unwind();
    tokio::pin!(call);
    tokio::select! {
        out = &mut call => Some(out),
        () = cancel.cancelled() => {
            let _ = tokio::time::timeout(CANCEL_GRACE, call).await;
            None
        }
    }
}

/// The error object of a failed task (internal causes are logged, not shown).
fn failure(e: McpError) -> ErrorObject {
    if let ErrorKind::Internal(cause) = e.kind() {
        tracing::error!(error = %cause, "task handler failed");
        return ErrorObject::internal_error();
    }
    e.to_error_object()
}

fn to_json(result: &CallToolResult) -> Option<Value> {
    serde_json::to_value(result).ok()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The error a client gets when a task cannot be created or read.
pub(crate) fn store_error(e: TaskStoreError) -> McpError {
    match e {
        TaskStoreError::OwnerLimit { max } | TaskStoreError::TotalLimit { max } => {
            let scope = if matches!(e, TaskStoreError::OwnerLimit { .. }) {
                "principal"
            } else {
                "server"
            };
            McpError::protocol(
                ErrorObject::new(ErrorCode(-32000), format!("Too many tasks: {e}"))
                    .with_data(json!({ "limit": scope, "max": max })),
            )
        }
        TaskStoreError::Backend(cause) => McpError::internal(cause),
    }
}
