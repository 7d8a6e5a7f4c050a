//! Notifications a handler sends about its request: progress, log messages, any notification.

use super::RequestContext;
use crate::error::McpError;
use crate::session::MessageSink;
use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_core::method;
use mcp_rs_core::schema::{
    LoggingLevel, LoggingMessageNotificationParams, ProgressNotificationParams,
};
use serde_json::Value;
use std::sync::Arc;

impl RequestContext {
    pub(super) fn sink(&self) -> Option<Arc<dyn MessageSink>> {
        self.0
            .related
            .clone()
            .or_else(|| self.0.session.as_ref().and_then(|s| s.outbound()))
    }

    /// Sends a notification related to this request. Best effort: when there is no channel to
    /// the client (a plain JSON HTTP response), the notification is dropped.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for transports that can report failures.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), McpError> {
        if let Some(sink) = self.sink() {
            let params = match params {
                Value::Null => None,
                p => Some(p),
            };
            sink.send(JsonRpcMessage::notification(method, params));
        }
        Ok(())
    }

    /// Reports progress (`notifications/progress`) under the request's progress token.
    ///
    /// A no-op when the client sent no progress token, and best effort like
    /// [`notify`](Self::notify): there is nothing to check or ignore. Use
    /// [`progress_token`](Self::progress_token) to learn whether the client asked for progress.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = self.0.progress_token.clone() else {
            return;
        };
        let params = ProgressNotificationParams::new(token, progress, total, message);
        // Serializing the params (a token, numbers, a string) cannot fail.
        if let Ok(params) = serde_json::to_value(params) {
            let _ = self.notify(method::NOTIFICATION_PROGRESS, params).await;
        }
    }

    /// Sends a log message (`notifications/message`) if `level` passes the client's level.
    ///
    /// # Errors
    /// See [`notify`](Self::notify).
    pub async fn log(&self, level: LoggingLevel, data: impl Into<Value>) -> Result<(), McpError> {
        self.log_to(None, level, data).await
    }

    /// Like [`log`](Self::log), naming the logger.
    ///
    /// # Errors
    /// See [`notify`](Self::notify).
    pub async fn log_to(
        &self,
        logger: Option<&str>,
        level: LoggingLevel,
        data: impl Into<Value>,
    ) -> Result<(), McpError> {
        match self.log_level() {
            Some(min) if level >= min => {}
            _ => return Ok(()),
        }
        let params =
            LoggingMessageNotificationParams::new(level, logger.map(str::to_owned), data.into());
        self.notify(
            method::NOTIFICATION_MESSAGE,
            serde_json::to_value(params).map_err(McpError::internal)?,
        )
        .await
    }
}
