//! OAuth 2.1 resource-server stack for the Streamable HTTP transport (feature `auth`).
//!
//! The server is a resource server: it validates bearer tokens. They are issued elsewhere, or by
//! the authorization server of [`server`] (a façade in front of an upstream IdP, or a built-in
//! authorization server). The pieces are tower layers and plain types:
//!
//! | Piece | Role |
//! |---|---|
//! | [`AuthorizationLayer`] | reads `Authorization: Bearer`, asks a [`TokenValidator`], answers 400/401/403/503 with RFC 6750 challenges, puts [`OAuthContext`](crate::identity::OAuthContext) and [`ChallengeInfo`] into request extensions |
//! | [`ResourceMetadataLayer`] | serves the RFC 9728 document before auth |
//! | [`JwtValidator`] + [`JwksProvider`] | signed JWT access tokens, keys from a JWKS endpoint |
//! | [`OidcDiscovery`] | RFC 8414 / OpenID discovery of an issuer |
//! | [`IntrospectionValidator`] | RFC 7662 for opaque tokens |
//! | [`ValidatorChain`], [`StaticKeyValidator`] | several token kinds on one endpoint |
//! | [`server::AuthServerLayer`] | an OAuth 2.1 authorization server of our own: a façade for IdPs without DCR / RFC 8414 (Entra) |
//! | [`OAuthRequestMetaLayer`] | opt-in PHP-compatible `_meta.oauth*` (filled from the verified identity only) |
//! | [`MetadataPassthroughLayer`] | serves an external authorization server's RFC 8414 document unchanged on the MCP origin |
//! | [`entra`], [`keycloak`], [`passport`], [`workos`], [`auth0`], [`okta`], [`google`] | presets |
//! | [`insecure`] | validation trade-offs chosen by name (never defaults) |
//! | `testing` (feature `auth-testing`) | a local issuer that signs Keycloak- and Entra-shaped tokens |
//!
//! Order of layers (outermost first): CORS → Host/Origin guard →
//! [`ResourceMetadataLayer`] → [`MetadataPassthroughLayer`] or [`server::AuthServerLayer`] →
//! [`AuthorizationLayer`] → the MCP service. The Host/Origin guard outside them all covers the
//! public metadata routes too.
//!
//! Every allow/deny decision is logged through `tracing` under the target
//! `mcp_rs_server::auth::audit` with the subject, client and reason; tokens never appear in logs.
//!
//! # Example
//! ```
//! use mcp_rs_server::auth::{AuthorizationLayer, ProtectedResourceMetadata,
//!     ResourceMetadataLayer, StaticKeyValidator};
//! use mcp_rs_server::body::Body;
//! use mcp_rs_server::identity::OAuthContext;
//! use std::sync::Arc;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let prm = ProtectedResourceMetadata::new("https://api.example.com/mcp")
//!     .authorization_server("https://idp.example.com")
//!     .scopes_supported(["mcp:read"]);
//! let auth = AuthorizationLayer::new(
//!     StaticKeyValidator::new().key("s3cret", "ci-bot", ["mcp:read"]),
//!     "https://api.example.com/mcp",
//! )?
//! .challenge_scopes(["mcp:read"]);
//! let svc = ServiceBuilder::new()
//!     .layer(ResourceMetadataLayer::new(prm))
//!     .layer(auth)
//!     .service_fn(|req: Request<Body>| async move {
//!         let who = req.extensions().get::<Arc<OAuthContext>>().unwrap().subject.clone();
//!         Ok::<_, std::convert::Infallible>(Response::new(Body::from(who)))
//!     });
//!
//! // No token: 401 pointing at the metadata.
//! let res = svc.clone().oneshot(Request::post("/mcp").body(Body::empty())?).await?;
//! assert_eq!(res.status(), 401);
//! assert_eq!(
//!     res.headers()["www-authenticate"],
//!     r#"Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read""#
//! );
//! // The metadata itself is public.
//! let res = svc.clone()
//!     .oneshot(Request::get("/.well-known/oauth-protected-resource/mcp").body(Body::empty())?)
//!     .await?;
//! assert_eq!(res.status(), 200);
//! // A valid key reaches the service with its identity.
//! let req = Request::post("/mcp").header("authorization", "Bearer s3cret").body(Body::empty())?;
//! assert_eq!(svc.oneshot(req).await?.status(), 200);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

// The modules are private: every public item is re-exported here, so each has one path.
// The presets (`entra`, `keycloak`, `passport`, `workos`, `auth0`, `okta`, `google`) and
// `testing` keep their module path.
pub mod auth0;
mod challenge;
mod discovery;
pub mod entra;
pub mod google;
pub mod insecure;
mod introspection;
mod jwks;
mod jwt;
pub mod keycloak;
mod layer;
mod meta_bridge;
mod metadata;
pub mod okta;
pub mod passport;
mod passthrough;
mod presets;
pub mod server;
#[cfg(feature = "auth-testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth-testing")))]
pub mod testing;
mod util;
mod validator;
pub mod workos;

pub use crate::transport::http::challenge::{
    BearerError, ChallengeInfo, challenge_for, error_response, insufficient_scope_response,
    missing_token_response, unavailable_response,
};
pub use discovery::{
    AuthorizationServerMetadata, DiscoveryError, DiscoveryPolicy, OidcDiscovery, discovery_urls,
};
pub use introspection::{
    DEFAULT_INTROSPECTION_CACHE_ENTRIES, DEFAULT_MAX_CONCURRENT_INTROSPECTIONS,
    DEFAULT_MAX_INTROSPECTIONS_PER_SECOND, DEFAULT_NEGATIVE_CACHE_TTL, IntrospectionValidator,
};
pub use jwks::{JwksProvider, KeyError};
pub use jwt::{DEFAULT_ALGORITHMS, JwtValidator, JwtValidatorBuilder, ScopeClaim};
pub use layer::{Authorization, AuthorizationLayer, ResponseFuture};
pub use meta_bridge::{OAuthRequestMeta, OAuthRequestMetaLayer};
pub use metadata::{
    ProtectedResourceMetadata, ResourceMetadata, ResourceMetadataLayer, WELL_KNOWN_PATH,
    metadata_url_for,
};
pub use passthrough::{
    AUTHORIZATION_SERVER_METADATA_PATH, DEFAULT_PASSTHROUGH_MAX_BYTES,
    DEFAULT_PASSTHROUGH_RETRY_AFTER, DEFAULT_PASSTHROUGH_TIMEOUT, DEFAULT_PASSTHROUGH_TTL,
    MetadataPassthrough, MetadataPassthroughLayer,
};
pub use validator::{
    ApiKey, AuthorizationResult, FnValidator, StaticKeyValidator, TokenValidator, ValidatorChain,
    validator_fn,
};

/// An invalid authorization configuration, reported when a layer or validator is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL option is not usable.
    #[error("invalid URL for `{option}`: {message}")]
    InvalidUrl {
        /// The option.
        option: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A required option is missing.
    #[error("missing required option `{0}`")]
    Missing(&'static str),
    /// Options contradict each other.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Structured allow/deny events (target `mcp_rs_server::auth::audit`). Never logs a token.
pub(crate) mod audit {
    use crate::identity::OAuthContext;

    /// One line per allowed request, so at `debug`: at `info` a token holder would write a
    /// line per request (enable `mcp_rs_server::auth::audit=debug` for a full audit trail).
    pub(crate) fn allowed(ctx: &OAuthContext) {
        tracing::debug!(
            target: "mcp_rs_server::auth::audit",
            decision = "allow",
            subject = %ctx.subject,
            client = ctx.client_id.as_deref().unwrap_or(""),
            issuer = ctx.issuer.as_deref().unwrap_or(""),
            tenant = ctx.tenant.as_deref().unwrap_or(""),
            "authorization allowed"
        );
    }

    /// Denials are written at most once per 10 s: an anonymous client sending bogus tokens
    /// must not be able to flood the log. The line carries the count of denials since the
    /// previous one (`suppressed`).
    static DENIALS: crate::log_throttle::LogThrottle =
        crate::log_throttle::LogThrottle::new(std::time::Duration::from_secs(10));

    pub(crate) fn denied(subject: Option<&str>, client: Option<&str>, reason: &str) {
        let Some(suppressed) = DENIALS.hit() else {
            return;
        };
        tracing::info!(
            target: "mcp_rs_server::auth::audit",
            decision = "deny",
            subject = subject.unwrap_or(""),
            client = client.unwrap_or(""),
            reason,
            suppressed,
            "authorization denied (suppressed: denials since the previous line)"
        );
    }
}
