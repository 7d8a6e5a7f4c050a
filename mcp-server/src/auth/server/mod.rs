//! The OAuth 2.1 authorization server this crate can serve itself (feature `auth`).
//!
//! MCP clients discover the authorization server from the protected-resource metadata,
//! register themselves (RFC 7591) and run the authorization-code flow with PKCE. Many IdPs
//! (Entra, most corporate ones) offer neither dynamic registration nor the metadata MCP
//! clients expect; and handing one upstream client id to every MCP client turns the server
//! into a confused deputy. [`AuthServerLayer`] therefore serves a complete authorization
//! server of its own:
//!
//! | Route | What it does |
//! |---|---|
//! | `GET /.well-known/oauth-authorization-server` (and `openid-configuration`, suffixed forms) | RFC 8414 metadata |
//! | `POST /register` | RFC 7591 registration: exact redirect URIs, public or confidential clients, sizes capped |
//! | `GET /authorize` | checks client, redirect URI, PKCE S256, `resource`, `scope`; shows the consent page |
//! | `POST /consent` | the user's decision (signed single-use CSRF token); remembered per client in a signed cookie |
//! | `GET /oauth/callback` | the upstream's answer: code exchanged server-side; the client gets a one-time code of ours |
//! | `POST /token` | `authorization_code` and `refresh_token` only; client authentication; PKCE; rotation |
//!
//! In façade mode ([`AuthServerConfig::facade`]) the user logs in at the upstream with our own
//! callback, `state` and PKCE pair; the client receives the upstream's access token (for this
//! API) and an opaque refresh token of ours, bound to the client, that maps server-side to the
//! upstream refresh token. The upstream client secret is sent only in our own exchanges.
//!
//! State lives behind [`AuthStore`] ([`InMemoryAuthStore`] by default): every table is
//! bounded per owner and globally, expires, and evicts instead of locking out.

mod authorize;
mod callback;
pub mod cimd;
mod common;
mod config;
mod dcr;
pub mod forwarded;
pub mod keys;
pub(crate) mod page;
mod rate_limit;
mod routes;
pub mod store;
mod token;

pub use config::{
    AuthServerConfig, DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_CODE_TTL, DEFAULT_CONSENT_TTL,
    DEFAULT_MAX_BODY, DEFAULT_REFRESH_TTL, UpstreamConfig,
};
pub use rate_limit::RateLimit;
pub use routes::{AuthServer, AuthServerLayer};
pub use store::{AuthStore, InMemoryAuthStore, StoreLimits};
