//! Keycloak preset for [`JwtValidator`].
//!
//! Keycloak puts the host the token was requested through into `iss`, so a server reached as
//! `localhost` by users and as `keycloak` inside a container network may need several issuers
//! ([`extra_issuer`](KeycloakConfig::extra_issuer)). Scopes come from the `scope` claim; the
//! audience is added by an audience mapper on the client scope.
//!
//! ```
//! use mcp_rs_server::auth::keycloak::KeycloakConfig;
//! let validator = KeycloakConfig::new("http://localhost:8180/realms/mcp", "mcp-server")
//!     .extra_issuer("http://keycloak:8080/realms/mcp")
//!     .validator()
//!     .unwrap();
//! # let _ = validator;
//! ```

use super::ConfigError;
use super::discovery::{DiscoveryPolicy, OidcDiscovery};
use super::jwks::JwksProvider;
use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};

/// Keycloak configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct KeycloakConfig {
    issuer: String,
    extra_issuers: Vec<String>,
    audience: String,
    jwks_url: Option<String>,
}

impl KeycloakConfig {
    /// Tokens of realm `issuer` (e.g. `http://localhost:8180/realms/mcp`) for `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        KeycloakConfig {
            issuer: issuer.into(),
            extra_issuers: Vec::new(),
            audience: audience.into(),
            jwks_url: None,
        }
    }

    /// Another accepted `iss` (the same realm reached through another host name).
    pub fn extra_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.extra_issuers.push(issuer.into());
        self
    }

    /// Several extra issuers.
    pub fn extra_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_issuers
            .extend(issuers.into_iter().map(Into::into));
        self
    }

    /// The JWKS URL; without it the `jwks_uri` is discovered from the issuer.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The primary issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The builder, for further adjustment.
    pub fn builder(&self) -> JwtValidatorBuilder {
        let jwks = match &self.jwks_url {
            Some(u) => JwksProvider::new(u.clone()),
            None => JwksProvider::discovered(
                self.issuer.clone(),
                OidcDiscovery::new(DiscoveryPolicy::Strict),
            ),
        };
        JwtValidator::builder()
            .jwks(jwks)
            .issuer(self.issuer.clone())
            .issuers(self.extra_issuers.clone())
            .audience(self.audience.clone())
            .scope_claims([ScopeClaim::Scope])
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// See [`JwtValidatorBuilder::build`].
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder().build()
    }
}
