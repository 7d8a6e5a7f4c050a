//! Options that weaken token validation. Each one is a documented trade-off that a deployment
//! must choose by name; none is a default, and no preset turns one on.

use super::jwt::JwtValidatorBuilder;

/// Accepts JWTs without an `iss` claim (Laravel Passport issues them by default). A token
/// that carries `iss` must still match a configured issuer; signature, audience and expiry are
/// checked as always.
///
/// Without the issuer check, any token signed by the configured keys for the configured
/// audience passes: use it only when the keys belong to this one authorization server (as a
/// Passport installation's `oauth-public.key` does), and prefer adding an `iss` claim there.
///
/// ```
/// use mcp_rs_server::auth::{insecure, passport::PassportConfig};
/// let validator = insecure::accept_missing_issuer(
///     PassportConfig::new(["9c4f-client-id"])
///         .jwks_url("https://app.example.com/oauth/jwks")
///         .builder()?,
/// )
/// .build()?;
/// # drop(validator);
/// # Ok::<_, mcp_rs_server::auth::ConfigError>(())
/// ```
pub fn accept_missing_issuer(builder: JwtValidatorBuilder) -> JwtValidatorBuilder {
    builder.accept_missing_issuer()
}
