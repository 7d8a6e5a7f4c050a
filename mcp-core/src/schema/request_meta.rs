//! The typed view of a 2026-07-28 request's `_meta` envelope.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::capabilities::ClientCapabilities;
use super::common::{Implementation, Meta, ProgressToken};
use super::logging::LoggingLevel;

/// The well-known members of `params._meta` (the stateless-era envelope plus `progressToken`).
/// Other members are kept in `extra`.
///
/// ```
/// use mcp_rs_core::schema::RequestMeta;
/// use serde_json::json;
///
/// let meta = json!({
///     "io.modelcontextprotocol/protocolVersion": "2026-07-28",
///     "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
///     "progressToken": 5,
///     "traceparent": "00-abc-def-01"
/// });
/// let m = RequestMeta::from_meta(meta.as_object().unwrap()).unwrap();
/// assert_eq!(m.protocol_version.as_deref(), Some("2026-07-28"));
/// assert!(m.client_capabilities.unwrap().elicitation.is_some());
/// assert_eq!(m.extra["traceparent"], "00-abc-def-01");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RequestMeta {
    /// `io.modelcontextprotocol/protocolVersion` (required on 2026-07-28 requests).
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_version: Option<String>,
    /// `io.modelcontextprotocol/clientCapabilities` (required on 2026-07-28 requests).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_capabilities: Option<ClientCapabilities>,
    /// `io.modelcontextprotocol/clientInfo`.
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_info: Option<Implementation>,
    /// `io.modelcontextprotocol/logLevel`: the least severe log level the client wants.
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub log_level: Option<LoggingLevel>,
    /// `progressToken` (both eras).
    #[serde(
        rename = "progressToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_token: Option<ProgressToken>,
    /// Every other member, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RequestMeta {
    /// Reads the well-known members of a `_meta` object.
    ///
    /// # Errors
    /// When a well-known member has the wrong shape (e.g. a numeric protocol version).
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        serde_json::from_value(Value::Object(meta.clone()))
    }

    /// The envelope a 2026-07-28 client sends: protocol version and capabilities.
    pub fn stateless(
        protocol_version: impl Into<String>,
        capabilities: ClientCapabilities,
    ) -> Self {
        RequestMeta {
            protocol_version: Some(protocol_version.into()),
            client_capabilities: Some(capabilities),
            ..Default::default()
        }
    }

    /// This envelope as a `_meta` object.
    pub fn into_meta(self) -> Meta {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Meta::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_rejects_bad_shapes() {
        let mut m = RequestMeta::stateless("2026-07-28", ClientCapabilities::default());
        m.log_level = Some(LoggingLevel::Info);
        m.progress_token = Some(ProgressToken::from("p"));
        let meta = m.clone().into_meta();
        assert_eq!(
            Value::Object(meta.clone()),
            json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/logLevel": "info",
                "progressToken": "p"
            })
        );
        assert_eq!(RequestMeta::from_meta(&meta).unwrap(), m);
        let bad = json!({"io.modelcontextprotocol/protocolVersion": 2026});
        assert!(RequestMeta::from_meta(bad.as_object().unwrap()).is_err());
    }
}
