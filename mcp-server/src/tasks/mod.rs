//! The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663): long-running tool calls
//! that a client polls, answers and cancels.
//!
//! A tool declared task-capable ([`ToolDef::with_task`], `#[mcp_tool(task = "optional")]`)
//! called by a client that declared the extension (in its capabilities, or for one call in
//! `_meta["io.modelcontextprotocol/clientCapabilities"]`) is answered at once with a
//! `CreateTaskResult` (`resultType: "task"`), and its handler goes on in the background.
//! The client then uses:
//!
//! | method | answer |
//! |---|---|
//! | `tasks/get {taskId}` | the task: `status` (`working`, `input_required`, `completed`, `failed`, `cancelled`), timestamps, `ttlMs`, `pollIntervalMs`, and `result` (completed), `error` (failed) or `inputRequests` (input_required) |
//! | `tasks/update {taskId, inputResponses}` | `{"resultType": "complete"}`: answers to the task's `inputRequests`; once all are answered the handler runs again with them |
//! | `tasks/cancel {taskId}` | `{"resultType": "complete"}`: the task is `cancelled` and its handler's [`RequestContext::cancellation`] fires (the handler is dropped 2 s later if it has not returned) |
//!
//! `tasks/*` from a client that did not declare the extension answer `-32021`. In the handshake
//! era the owning session also hears `notifications/tasks` on each status change. See
//! `docs/tasks.md`.
//!
//! Tasks are bound to the principal that created them (the verified identity, else the
//! session); another principal gets `-32602`, as for an unknown id. Every task lives for its
//! TTL ([`TaskConfig::ttl`], default 1 hour) from creation, then it is deleted and a handler
//! still running is cancelled. [`TaskConfig`] bounds the tasks per principal (default 100) and
//! in all (default 10 000). Records sit behind [`TaskStore`] ([`InMemoryTaskStore`] by default);
//! the running handler and its pending input stay in the process that runs it.
//!
//! [`ToolDef::with_task`]: crate::tool::ToolDef::with_task
//! [`RequestContext::cancellation`]: crate::context::RequestContext::cancellation

mod methods;
mod runtime;
mod store;
mod wire;

#[cfg(feature = "http")]
pub(crate) use methods::envelope_params;
pub(crate) use methods::{TaskCall, call_tool, handle, is_method};
pub(crate) use runtime::Tasks;
pub use store::{InMemoryTaskStore, TaskLimits, TaskStore, TaskStoreError};

use mcp_rs_core::ErrorObject;
use mcp_rs_core::schema::{InputRequests, ServerCapabilities};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The extension id, the key under `capabilities.extensions`.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// The status of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// The handler is running.
    Working,
    /// The handler waits for answers to its `inputRequests` (`tasks/update`).
    InputRequired,
    /// The handler returned a result (a tool error, `isError: true`, included).
    Completed,
    /// The handler failed with a protocol-level error (or panicked).
    Failed,
    /// The client cancelled the task.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task is over (completed, failed or cancelled).
    #[must_use]
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// The serialisable state of one task: what a [`TaskStore`] keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task id (a random UUID).
    pub task_id: String,
    /// The principal the task belongs to (an opaque key).
    pub owner: String,
    /// Where the task stands.
    pub status: TaskStatus,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Last status change, milliseconds since the Unix epoch.
    pub last_updated_at_ms: u64,
    /// How long the task is kept after its creation, in milliseconds.
    pub ttl_ms: u64,
    /// The polling interval suggested to the client, in milliseconds.
    pub poll_interval_ms: u64,
    /// The tool result, once `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The JSON-RPC error, once `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// What the handler asks the client for, while `input_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<InputRequests>,
}

impl TaskRecord {
    /// When the record expires, milliseconds since the Unix epoch.
    #[must_use]
    pub fn expires_at_ms(&self) -> u64 {
        self.created_at_ms.saturating_add(self.ttl_ms)
    }
}

/// Settings of the tasks extension ([`ServerBuilder::tasks`](crate::ServerBuilder::tasks)).
#[derive(Clone)]
#[must_use]
pub struct TaskConfig {
    pub(crate) ttl: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) limits: TaskLimits,
    pub(crate) store: Arc<dyn TaskStore>,
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig {
            ttl: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(500),
            limits: TaskLimits::default(),
            store: Arc::new(InMemoryTaskStore::new()),
        }
    }
}

impl fmt::Debug for TaskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskConfig")
            .field("ttl", &self.ttl)
            .field("poll_interval", &self.poll_interval)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl TaskConfig {
    /// The defaults: TTL 1 hour, poll interval 500 ms, 100 tasks per principal, 10 000 in all,
    /// in memory.
    pub fn new() -> Self {
        TaskConfig::default()
    }

    /// How long a task is kept after its creation (`ttlMs`; default 1 hour, at least 1 s).
    /// A handler still running then is cancelled.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// The polling interval suggested to clients (`pollIntervalMs`; default 500 ms, at least
    /// 1 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The most tasks one principal may hold at once, finished ones included until their TTL
    /// ends (default 100, at least 1).
    pub fn max_tasks_per_principal(mut self, max: usize) -> Self {
        self.limits.per_owner = max.max(1);
        self
    }

    /// The most tasks the server holds at once (default 10 000, at least 1).
    pub fn max_tasks(mut self, max: usize) -> Self {
        self.limits.total = max.max(1);
        self
    }

    /// Where task records are kept (default [`InMemoryTaskStore`]).
    pub fn store(mut self, store: impl TaskStore) -> Self {
        self.store = Arc::new(store);
        self
    }
}

/// Adds the extension to `caps` when some tool is task-capable.
pub(crate) fn declare(mut caps: ServerCapabilities, any_task_tool: bool) -> ServerCapabilities {
    if any_task_tool {
        caps.extensions
            .get_or_insert_with(Map::new)
            .insert(TASKS_EXTENSION.into(), Value::Object(Map::new()));
    }
    caps
}
