//! Multi-round-trip requests (SEP-2322): `input_required` results, sealed `requestState`.
//!
//! In the 2026-07-28 era a server never sends requests to the client. A `tools/call`,
//! `prompts/get` or `resources/read` handler that needs the user (elicitation), the model
//! (sampling) or the client's roots returns an [`InputRequired`] instead; the client answers
//! every input request and retries the original request with `inputResponses` and the echoed
//! `requestState`. The handler then reads the answers from its
//! [`RequestContext`](crate::RequestContext).
//!
//! `requestState` travels through the client, so the server seals it: [`StateSealer`] signs the
//! state with HMAC-SHA256 under a server key (at least 32 bytes), binds it to the request
//! (method and tool/prompt name or resource URI) and gives it an expiry. A tampered, expired or
//! misdirected state is refused with `-32602`. The state is signed, **not encrypted**: the
//! client can read it, so keep secrets out of it.
//!
//! ```
//! use mcp_rs_server::protocol::mrtr::InputRequired;
//! use mcp_rs_core::schema::{ElicitationSchema, StringSchema};
//! use serde_json::json;
//!
//! let ask = InputRequired::new()
//!     .elicit("user_name", "What is your name?",
//!             ElicitationSchema::new().property("name", StringSchema::default(), true))
//!     .list_roots("roots")
//!     .state(json!({"step": 1}));
//! let result = ask.into_result();
//! assert_eq!(result.input_requests.as_ref().map(|r| r.len()), Some(2));
//! ```

mod caps;
mod input;
mod seal;

pub use caps::{missing_capabilities, missing_capability_error};
pub(crate) use input::Sealed;
pub use input::{InputRequired, InputResponsesExt};
pub use seal::{
    DEFAULT_STATE_TTL, KeyTooShort, MAX_SEALED_LEN, MIN_KEY_LEN, StateBinding, StateError,
    StateSealer,
};

/// Whether requests of `method` may be answered with `input_required` (SEP-2322).
#[must_use]
pub fn is_multi_round(method: &str) -> bool {
    matches!(
        method,
        mcp_rs_core::method::TOOLS_CALL
            | mcp_rs_core::method::PROMPTS_GET
            | mcp_rs_core::method::RESOURCES_READ
    )
}
