//! Google preset for [`JwtValidator`]: Google-signed tokens minted for this resource, and
//! ID tokens of OAuth clients refused.
//!
//! Google's OAuth access tokens are opaque and this preset does not take them. The JWTs
//! Google signs are ID tokens. Those minted *for an audience* — `gcloud auth
//! print-identity-token --audiences=<resource>`, the metadata server's `identity?audience=`,
//! a service account's `generateIdToken` — carry the resource as `aud` and are what this
//! preset accepts. The ID token a user gets from Google Sign-In carries the **OAuth client
//! id** (`….apps.googleusercontent.com`) as `aud`; presented as an access token it would let
//! any site using that sign-in reach this server, so it is refused: 401 `invalid_token` with
//! a description that says the token was issued to an OAuth client.
//!
//! Issuer `https://accounts.google.com` (and its scheme-less form `accounts.google.com`),
//! keys from `https://www.googleapis.com/oauth2/v3/certs`, RS256. These tokens carry no
//! scopes; authorize by subject, `email` or `hd` (claims) and an access policy.
//!
//! ```
//! use mcp_rs_server::auth::google::GoogleConfig;
//! let validator = GoogleConfig::new("https://mcp.example.com/mcp").validator()?;
//! # drop(validator);
//! # Ok::<_, mcp_rs_server::auth::ConfigError>(())
//! ```

use super::ConfigError;
use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};
use jsonwebtoken::Algorithm;

/// Google's issuer identifiers (ID tokens carry either form).
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];
/// Google's signing keys.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// The 401 description of a Google token whose `aud` is not the resource.
pub const ID_TOKEN_AUDIENCE_ERROR: &str = "The token's audience is not this resource: \
     a Google ID token issued to an OAuth client is not an access token";

/// Google configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GoogleConfig {
    audience: String,
    jwks_url: String,
}

impl GoogleConfig {
    /// Google-signed tokens whose `aud` is `resource` (the public URL of the MCP endpoint,
    /// as passed to `--audiences`).
    pub fn new(resource: impl Into<String>) -> Self {
        GoogleConfig {
            audience: resource.into(),
            jwks_url: GOOGLE_JWKS_URL.to_owned(),
        }
    }

    /// Keys from another URL than [`GOOGLE_JWKS_URL`] (a mirror, or a test issuer).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = url.into();
        self
    }

    /// The validator builder: Google's issuers and keys, audience = the resource, RS256.
    ///
    /// # Errors
    /// None today; the signature matches the other presets.
    pub fn builder(&self) -> Result<JwtValidatorBuilder, ConfigError> {
        let mut b = JwtValidator::builder()
            .issuers(GOOGLE_ISSUERS)
            .jwks_url(self.jwks_url.clone())
            .algorithms([Algorithm::RS256])
            .scope_claims([ScopeClaim::Scope])
            .audience_error(ID_TOKEN_AUDIENCE_ERROR);
        if !self.audience.is_empty() {
            b = b.audience(self.audience.clone());
        }
        Ok(b)
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] (`audience`) for an empty resource; [`ConfigError::InvalidUrl`]
    /// for a bad JWKS URL.
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder()?.build()
    }
}
