//! Everything a typical server needs: `use mcp_rs_server::prelude::*;`.

pub use crate::context::{ElicitResponse, RequestContext};
pub use crate::error::{McpError, ToolError};
pub use crate::identity::OAuthContext;
pub use crate::server::Server;
pub use crate::tool::{Json, Params};
pub use mcp_rs_core::schema::{CallToolResult, Content, LoggingLevel, PromptMessage};
/// Injected into handlers that take it (fired on `notifications/cancelled` or disconnect).
pub use tokio_util::sync::CancellationToken;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use mcp_rs_macros::{mcp_prompt, mcp_resource, mcp_resource_template, mcp_server, mcp_tool};
