//! Options that weaken token validation. Each one is a documented trade-off that a deployment
//! must choose by name; none is a default, and no preset turns one on.

use super::google::GoogleConfig;
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

/// Accepts Google identity tokens of **any** Google account (for this resource's audience).
/// Anyone can mint such a token (a service account in their own project), so use it only
/// with an access policy that admits callers by subject or `email`, or for a public server.
/// Prefer [`GoogleConfig::hosted_domains`] or [`GoogleConfig::allowed_emails`]. Building the
/// validator logs a warning.
///
/// ```
/// use mcp_rs_server::auth::{google::GoogleConfig, insecure};
/// let validator =
///     insecure::accept_any_google_account(GoogleConfig::new("https://mcp.example.com/mcp"))
///         .validator()?;
/// # drop(validator);
/// # Ok::<_, mcp_rs_server::auth::ConfigError>(())
/// ```
pub fn accept_any_google_account(config: GoogleConfig) -> GoogleConfig {
    config.any_account()
}
