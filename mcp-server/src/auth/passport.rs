//! Laravel Passport preset for [`JwtValidator`].
//!
//! Passport signs access tokens with its `oauth-private.key` (RS256). Its tokens carry the
//! OAuth client id as `aud`, the granted scopes as an array in `scopes`, the user id as `sub`,
//! and by default **no `iss`**. The issuer is therefore explicit here: set
//! [`issuer`](PassportConfig::issuer) when your Passport adds an `iss` claim (recommended, e.g.
//! through a custom token class), otherwise [`validator`](PassportConfig::validator) refuses
//! to build with `missing required option issuer`, and accepting tokens without one takes
//! [`insecure::accept_missing_issuer`](super::insecure::accept_missing_issuer).
//!
//! ```
//! use mcp_rs_server::auth::passport::PassportConfig;
//! let validator = PassportConfig::new(["9c4f-client-id"])
//!     .issuer("https://app.example.com")
//!     .jwks_url("https://app.example.com/oauth/jwks")
//!     .validator()?;
//! # drop(validator);
//! # Ok::<_, mcp_rs_server::auth::ConfigError>(())
//! ```

use super::ConfigError;
use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Passport configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PassportConfig {
    client_ids: Vec<String>,
    issuer: Option<String>,
    jwks_url: Option<String>,
    public_key_pem: Option<String>,
}

impl PassportConfig {
    /// Tokens issued to one of `client_ids` (their `aud`): the Passport clients your MCP
    /// clients use.
    pub fn new<I, S>(client_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PassportConfig {
            client_ids: client_ids.into_iter().map(Into::into).collect(),
            issuer: None,
            jwks_url: None,
            public_key_pem: None,
        }
    }

    /// The `iss` the tokens carry.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Keys from a JWKS endpoint (when the application publishes one).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The PEM of `storage/oauth-public.key` (RS256).
    pub fn public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.public_key_pem = Some(pem.into());
        self
    }

    /// The validator builder: audiences = the client ids, scopes from `scopes` (and `scope`),
    /// RS256 only, the issuer and keys as configured.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a public key that is not an RSA PEM.
    pub fn builder(&self) -> Result<JwtValidatorBuilder, ConfigError> {
        let mut b = JwtValidator::builder()
            .audiences(self.client_ids.clone())
            .algorithms([Algorithm::RS256])
            .scope_claims([ScopeClaim::Claim("scopes".into()), ScopeClaim::Scope]);
        if let Some(iss) = &self.issuer {
            b = b.issuer(iss.clone());
        }
        if let Some(url) = &self.jwks_url {
            b = b.jwks_url(url.clone());
        }
        if let Some(pem) = &self.public_key_pem {
            let key = DecodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| ConfigError::Invalid(format!("Passport public key: {e}")))?;
            b = b.static_key(None, key, Algorithm::RS256);
        }
        Ok(b)
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] without client ids, issuer or keys; [`ConfigError::Invalid`]
    /// for a public key that is not an RSA PEM.
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder()?.build()
    }
}
