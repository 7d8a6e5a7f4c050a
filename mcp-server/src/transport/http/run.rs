//! One message through the server, under the endpoint's handler timeout
//! ([`HttpConfig::handler_timeout`](super::HttpConfig::handler_timeout)).

use mcp_rs_core::jsonrpc::JsonRpcMessage;
use mcp_rs_core::{ErrorCode, ErrorObject};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::server::{Exchange, Outcome, Server};

/// Runs `msg`; past `timeout` the handler is cancelled (through `cancel`) and the answer is
/// -32603 "Request timed out".
pub(crate) async fn handle_with_timeout(
    server: &Server,
    msg: JsonRpcMessage,
    ex: Exchange,
    timeout: Option<Duration>,
    cancel: &CancellationToken,
) -> Outcome {
    let Some(limit) = timeout else {
        return server.handle(msg, ex).await;
    };
    let id = msg.id().cloned();
    match tokio::time::timeout(limit, server.handle(msg, ex)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            cancel.cancel();
            Outcome::Reply(JsonRpcMessage::error(
                id,
                ErrorObject::new(ErrorCode::INTERNAL_ERROR, "Request timed out"),
            ))
        }
    }
}
