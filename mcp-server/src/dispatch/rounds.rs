//! The handshake-era input rounds: a handler that returned `input_required` to a client that
//! cannot receive it gets its input requests performed as real server→client requests, and
//! runs again with the answers.

use crate::context::RequestContext;
use crate::error::{ErrorKind, McpError};
use crate::handler;
use crate::protocol::mrtr::{is_multi_round, missing_capabilities, missing_capability_error};
use crate::server::Server;
use mcp_rs_core::schema::{
    ClientCapabilities, InputRequest, InputRequiredResult, InputResponse, InputResponses,
};
use serde_json::{Value, json};

/// Routes a request, serving handshake-era clients whose handler asked for input: the input
/// requests are sent as real server→client requests (`elicitation/create`,
/// `sampling/createMessage`, `roots/list`, one after the other), and the handler runs again
/// with the answers and its state, at most [`ProtocolOptions::max_input_rounds`] more times.
/// Stateless-era requests pass through (their `input_required` result goes to the client).
///
/// [`ProtocolOptions::max_input_rounds`]: crate::protocol::ProtocolOptions::max_input_rounds
pub(crate) async fn route(
    server: &Server,
    name: &str,
    ctx: RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    if ctx.protocol_version().is_stateless() || !is_multi_round(name) {
        return handler::route(server, name, ctx, params).await;
    }
    let rounds = server.protocol_options().input_rounds();
    let mut ctx = ctx;
    let mut round = 0;
    loop {
        let error = match handler::route(server, name, ctx.clone(), params.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !matches!(error.kind(), ErrorKind::InputRequired(_)) {
            return Err(error);
        }
        let ErrorKind::InputRequired(result) = error.into_kind() else {
            return Err(McpError::internal("input_required result vanished"));
        };
        if round == rounds {
            return Err(McpError::internal(format!(
                "{name} still asked for client input after {rounds} rounds"
            )));
        }
        round += 1;
        let answers = perform_inputs(&ctx, &result).await?;
        ctx = ctx.with_input(answers, result.request_state);
    }
}

/// Sends the input requests of `result` to a handshake-era client and collects its answers.
async fn perform_inputs(
    ctx: &RequestContext,
    result: &InputRequiredResult,
) -> Result<InputResponses, McpError> {
    let Some(requests) = &result.input_requests else {
        return Ok(InputResponses::new());
    };
    let no_caps = ClientCapabilities::default();
    if let Some(required) =
        missing_capabilities(requests, ctx.client_capabilities().unwrap_or(&no_caps))
    {
        return Err(McpError::protocol(missing_capability_error(required)));
    }
    let mut answers = InputResponses::new();
    for (key, request) in requests {
        let method = request.method();
        let params = match request {
            InputRequest::CreateMessage(r) => serde_json::to_value(&r.params),
            InputRequest::Elicit(r) => serde_json::to_value(&r.params),
            InputRequest::ListRoots(r) => r
                .params
                .as_ref()
                .map_or(Ok(json!({})), serde_json::to_value),
        }
        .map_err(McpError::internal)?;
        let value = ctx.send_request(method, params).await?;
        let answer: InputResponse = serde_json::from_value(value).map_err(|e| {
            McpError::internal(format!(
                "the client answered {method} with a malformed result: {e}"
            ))
        })?;
        answers.insert(key.clone(), answer);
    }
    Ok(answers)
}
