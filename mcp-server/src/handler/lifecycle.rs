//! `initialize` (version negotiation) and `logging/setLevel`.

use super::parse;
use crate::context::RequestContext;
use crate::error::McpError;
use crate::server::Server;
use crate::session::PeerInfo;
use mcp_rs_core::schema::{InitializeRequestParams, InitializeResult, SetLevelRequestParams};
use mcp_rs_core::{ErrorObject, ProtocolVersion};
use serde_json::Value;

/// The version the server answers `requested` with: the requested one when it is a
/// handshake-era version this crate speaks, otherwise the latest handshake version.
pub(crate) fn negotiate(requested: &str) -> ProtocolVersion {
    match ProtocolVersion::parse(requested) {
        Some(v) if v.is_handshake() => v,
        _ => ProtocolVersion::LATEST_HANDSHAKE,
    }
}

pub(crate) fn initialize(
    server: &Server,
    ctx: &RequestContext,
    params: Option<Value>,
) -> Result<Value, McpError> {
    let p: InitializeRequestParams = parse(params)?;
    let version = negotiate(&p.protocol_version);
    if let Some(session) = ctx.session() {
        let peer = PeerInfo {
            protocol_version: version,
            client_info: Some(p.client_info.clone()),
            client_capabilities: Some(p.capabilities),
        };
        if !session.initialize(peer) {
            return Err(McpError::protocol(ErrorObject::invalid_request(
                "the session is already initialized",
            )));
        }
    }
    tracing::info!(
        client = %p.client_info.name,
        client_version = %p.client_info.version,
        requested = %p.protocol_version,
        negotiated = %version,
        "initialize"
    );
    let mut result = InitializeResult::new(
        version.as_str(),
        server.0.capabilities.clone(),
        server.0.info.clone(),
    );
    result.instructions.clone_from(&server.0.instructions);
    super::to_value(&result)
}

pub(crate) fn set_level(ctx: &RequestContext, params: Option<Value>) -> Result<Value, McpError> {
    let p: SetLevelRequestParams = parse(params)?;
    match ctx.session() {
        Some(s) => s.set_log_level(p.level),
        None => {
            return Err(McpError::protocol(ErrorObject::invalid_request(
                "logging/setLevel needs a session",
            )));
        }
    }
    Ok(Value::Object(serde_json::Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate("2025-06-18"), ProtocolVersion::V2025_06_18);
        assert_eq!(negotiate("2024-11-05"), ProtocolVersion::V2024_11_05);
        assert_eq!(negotiate("2099-01-01"), ProtocolVersion::V2025_11_25);
        assert_eq!(negotiate("2026-07-28"), ProtocolVersion::V2025_11_25);
    }
}
