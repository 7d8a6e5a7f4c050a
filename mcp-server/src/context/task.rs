//! The link between a handler and the task its call runs in (the tasks extension,
//! SEP-2663): the task id once there is one, and for [`TaskStart::Handler`] tools the way to
//! ask the runtime for the task ([`RequestContext::start_task`]).
//!
//! [`TaskStart::Handler`]: crate::tool::TaskStart::Handler

use super::RequestContext;
use crate::error::{ErrorKind, McpError};
use std::sync::{Mutex, OnceLock, PoisonError};
use tokio::sync::oneshot;

/// Where the runtime answers a start request: the new task's id, or why it could not be
/// created (a limit, the store).
pub(crate) type StartReply = oneshot::Sender<Result<String, McpError>>;

/// What a handler's context knows of its task.
pub(crate) struct TaskLink {
    id: OnceLock<String>,
    start: Mutex<Option<oneshot::Sender<StartReply>>>,
}

impl TaskLink {
    /// A call that is a task from the start.
    pub(crate) fn started(id: String) -> Self {
        let link = TaskLink {
            id: OnceLock::new(),
            start: Mutex::new(None),
        };
        link.set_id(id);
        link
    }

    /// A call that becomes a task when its handler asks; the runtime listens on the receiver.
    pub(crate) fn deferred() -> (Self, oneshot::Receiver<StartReply>) {
        let (tx, rx) = oneshot::channel();
        let link = TaskLink {
            id: OnceLock::new(),
            start: Mutex::new(Some(tx)),
        };
        (link, rx)
    }

    /// The task id, once the task exists.
    pub(crate) fn id(&self) -> Option<&str> {
        self.id.get().map(String::as_str)
    }

    /// Records the id of the task just created (by the runtime, before it answers).
    pub(crate) fn set_id(&self, id: String) {
        let _ = self.id.set(id);
    }
}

impl RequestContext {
    /// The id of the task this call runs in, when it runs as one.
    #[must_use]
    pub fn task_id(&self) -> Option<&str> {
        self.0.task.as_ref().and_then(|t| t.id())
    }

    /// Turns this call into a task (tools declared with `task_start = "handler"`): the client
    /// gets its `CreateTaskResult` now and the handler goes on inside the task. Returns whether
    /// the call runs as a task: `false` when it cannot be one (the tool is not task-capable, or
    /// the client did not declare the tasks extension), and the handler goes on synchronously.
    /// Calling it again, or in a call that is a task from the start, is a no-op.
    ///
    /// # Errors
    /// The task could not be created (a task limit was reached, or the store failed); the
    /// client gets that error, so the handler should return it.
    pub async fn start_task(&self) -> Result<bool, McpError> {
        let Some(link) = &self.0.task else {
            return Ok(false);
        };
        if link.id().is_some() {
            return Ok(true);
        }
        let Some(ask) = link
            .start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(link.id().is_some());
        };
        let (tx, rx) = oneshot::channel();
        let gone = || McpError::new(ErrorKind::Cancelled);
        if ask.send(tx).is_err() {
            return Err(gone());
        }
        rx.await.map_err(|_| gone())??;
        Ok(true)
    }
}
