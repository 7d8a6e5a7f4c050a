//! `server/discover` (2026-07-28): the versions, capabilities, instructions and identity of
//! the server, answered without any session.

use crate::context::RequestContext;
use crate::error::McpError;
use crate::server::Server;
use mcp_rs_core::method;
use mcp_rs_core::schema::{DiscoverResult, ResultType};
use serde_json::Value;

/// `server/discover` through dispatch.
pub(crate) async fn handle(
    server: &Server,
    _ctx: RequestContext,
    _params: Option<Value>,
) -> Result<Value, McpError> {
    super::to_value(&discover(server))
}

/// The `server/discover` result of `server`.
///
/// `supportedVersions` lists the stateless-era versions the server accepts (the versions a
/// client may put in `_meta`); the server's identity goes to
/// `_meta["io.modelcontextprotocol/serverInfo"]`; `ttlMs`/`cacheScope` come from the cache
/// policy ([`ProtocolOptions::cache_policy`](crate::protocol::ProtocolOptions::cache_policy)).
#[must_use]
pub(crate) fn discover(server: &Server) -> DiscoverResult {
    let options = server.protocol_options();
    let hint = options.cache().hint(method::SERVER_DISCOVER, None);
    DiscoverResult {
        supported_versions: options
            .stateless_versions()
            .iter()
            .map(|v| v.as_str().to_owned())
            .collect(),
        capabilities: server.capabilities().clone(),
        instructions: server.instructions().map(str::to_owned),
        result_type: Some(ResultType::Complete),
        ttl_ms: Some(hint.ttl_ms),
        cache_scope: Some(hint.scope),
        meta: None,
    }
    .with_server_info(server.info())
}
