//! # mcp-rs-server
//!
//! Build [Model Context Protocol](https://modelcontextprotocol.io) servers in Rust: tools,
//! resources and prompts registered with attribute macros or a builder, served over stdio or
//! Streamable HTTP, protected by OAuth 2.1.
//!
//! ```no_run
//! use mcp_rs_server::prelude::*;
//!
//! /// Add two numbers.
//! #[mcp_tool]
//! async fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = Server::builder().name("calculator").version("1.0.0").discover().build();
//!     server.serve_stdio().await?;
//!     Ok(())
//! }
//! ```
//!
//! Without macros, register items with the builders of [`tool::ToolDef`],
//! [`resource::ResourceDef`], [`resource::ResourceTemplateDef`] and [`prompt::PromptDef`].
//!
//! ## How a request flows
//!
//! A transport ([`transport::stdio`], [`transport::memory`], Streamable HTTP) hands each
//! message to [`Server::handle`] with an [`Exchange`] describing where it came from. The
//! server checks the protocol era, builds a [`RequestContext`], runs the handler (requests
//! run concurrently; `notifications/cancelled` fires the request's cancellation token), and
//! maps its result or error to an [`Outcome`]:
//!
//! | handler returns | client sees |
//! |---|---|
//! | a value | the converted result (e.g. [`IntoCallToolResult`](tool::IntoCallToolResult)) |
//! | [`ToolError`] | a tool result with `isError: true` |
//! | [`McpError`] | a JSON-RPC error (internal errors as a generic -32603) |
//! | a panic | -32603, logged; the server keeps running |
//!
//! ## Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `macros` | `#[mcp_tool]`, `#[mcp_resource]`, `#[mcp_resource_template]`, `#[mcp_prompt]`, `#[mcp_server]` (pulls in mcp-rs-macros: syn, quote) | yes |
//! | `http` | Streamable HTTP transport (pulls in hyper, hyper-util, tower, http-body); off by default so that a stdio server compiles neither | no |
//! | `auth` | OAuth 2.1 resource-server middleware: bearer validation, JWT/JWKS, RFC 9728 metadata (pulls in `http`, jsonwebtoken, reqwest with rustls, url, quick_cache) | no |
//! | `auth-testing` | a local OAuth issuer for tests (`auth::testing`; pulls in rsa, p256) | no |
//! | `redis` | [`redis`]: session store, event store and cluster bus on Redis, for several instances behind a load balancer (pulls in `http` and the `redis` crate) | no |
//! | `policy-toml` | [`policy::AccessPolicy::from_toml`] and `.toml` policy files (pulls in toml) | no |
//! | `logging` | [`logging::init`]: a stderr `tracing` subscriber filtered by `RUST_LOG`, in one line (tracing-subscriber) | no |
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub mod auth;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod body;
pub mod builder;
pub mod completion;
pub mod context;
pub mod custom;
mod dispatch;
// The guides serve over HTTP too, so they compile only with the `http` feature (as the
// workspace's `cargo test` builds this crate).
#[cfg(all(doctest, feature = "http"))]
mod docs_tests;
pub mod error;
mod handler;
pub mod hooks;
pub mod identity;
mod log_throttle;
#[cfg(feature = "logging")]
#[cfg_attr(docsrs, doc(cfg(feature = "logging")))]
pub mod logging;
#[doc(hidden)]
pub mod macro_support;
pub mod policy;
pub mod prelude;
pub mod prompt;
pub mod protocol;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod registry;
pub mod resource;
pub mod scope;
pub mod server;
pub mod session;
pub mod tasks;
pub mod tool;
pub mod transport;

#[doc(hidden)]
pub use macro_support as __private;

#[doc(inline)]
pub use builder::ServerBuilder;
#[doc(inline)]
pub use context::RequestContext;
#[doc(inline)]
pub use error::{BuildError, ErrorKind, McpError, ToolError};
#[doc(inline)]
pub use identity::OAuthContext;
#[doc(inline)]
pub use server::{Exchange, Outcome, Server, ServerEvent};
#[doc(inline)]
pub use session::MessageSink;
#[doc(inline)]
pub use session::Session;
#[doc(inline)]
pub use tool::{Json, Params};

/// Implement [`tool::ToolHandler`] and the other handler traits by hand with it.
#[doc(no_inline)]
pub use async_trait::async_trait;
#[doc(no_inline)]
pub use mcp_rs_core;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use mcp_rs_macros::*;
