//! MCP message types, one module per area, re-exported flat: `use mcp_rs_core::schema::*`.
//!
//! Every struct covers protocol versions 2024-11-05 through 2026-07-28: fields that only
//! exist in some versions are `Option`s and are omitted when `None`, so a value parsed from
//! any version re-serialises unchanged.
//!
//! Message envelopes (`CallToolRequest`, `ProgressNotification`, `ListToolsResultResponse`, ...)
//! pin the method name and carry typed params or results; they serialise with `"jsonrpc": "2.0"`.

pub(crate) mod envelope;

mod capabilities;
mod common;
mod completion;
mod content;
mod discover;
mod elicitation;
mod initialize;
mod input_required;
mod logging;
mod notifications;
mod prompts;
mod request_meta;
mod resources;
mod roots;
mod sampling;
mod subscriptions;
mod tools;

pub use capabilities::*;
pub use common::{
    Annotations, CacheScope, Cursor, EmptyResult, Icon, IconTheme, Implementation, JsonObject,
    Meta, NotificationParams, PaginatedRequestParams, ProgressToken, RequestParams, ResultType,
    Role,
};
pub use completion::*;
pub use content::*;
pub use discover::*;
pub use elicitation::*;
pub use initialize::*;
pub use input_required::*;
pub use logging::*;
pub use notifications::*;
pub use prompts::*;
pub use request_meta::*;
pub use resources::*;
pub use roots::*;
pub use sampling::*;
pub use subscriptions::*;
pub use tools::*;
