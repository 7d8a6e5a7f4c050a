//! Auth0 preset for [`JwtValidator`].
//!
//! An Auth0 tenant's issuer is its domain **with** a trailing slash
//! (`https://<tenant>.<region>.auth0.com/`, or a custom domain); the preset writes it that way
//! whatever form the domain is given in. The audience is the *API identifier* of the API
//! registered in Auth0 (the `audience` parameter clients send, e.g.
//! `https://mcp.example.com/mcp`). Scopes come from `scope` (space-separated) and, with RBAC
//! on, from the `permissions` array. Keys: `<issuer>.well-known/jwks.json`, RS256 or PS256.
//!
//! ```
//! use mcp_rs_server::auth::auth0::Auth0Config;
//! let auth0 = Auth0Config::new("acme.us.auth0.com", "https://mcp.example.com/mcp");
//! assert_eq!(auth0.issuer()?, "https://acme.us.auth0.com/");
//! let validator = auth0.validator()?;
//! # drop(validator);
//! # Ok::<_, mcp_rs_server::auth::ConfigError>(())
//! ```

use super::ConfigError;
use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};
use super::presets::{provider_url, without_trailing_slash};
use jsonwebtoken::Algorithm;

/// Auth0 configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Auth0Config {
    domain: String,
    audience: String,
    jwks_url: Option<String>,
    allowed_clients: Option<Vec<String>>,
}

impl Auth0Config {
    /// Tokens of the tenant at `domain` (`acme.us.auth0.com` or `https://acme.us.auth0.com/`)
    /// for the API whose identifier is `api_identifier`.
    pub fn new(domain: impl Into<String>, api_identifier: impl Into<String>) -> Self {
        Auth0Config {
            domain: domain.into(),
            audience: api_identifier.into(),
            jwks_url: None,
            allowed_clients: None,
        }
    }

    /// Accepts only tokens issued to these applications (their client ids, from `azp`):
    /// without it, any application of the tenant that can get a token for the audience is
    /// accepted. See [`JwtValidatorBuilder::allowed_clients`].
    pub fn allowed_clients<I, S>(mut self, clients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_clients = Some(clients.into_iter().map(Into::into).collect());
        self
    }

    /// Keys from another URL than `<issuer>.well-known/jwks.json`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The issuer: `https://<domain>/`, with exactly one trailing slash.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] (option `domain`) for a domain that is not an https URL
    /// or that has a path.
    pub fn issuer(&self) -> Result<String, ConfigError> {
        let url = provider_url("domain", &self.domain)?;
        if !url.path().trim_matches('/').is_empty() {
            return Err(ConfigError::InvalidUrl {
                option: "domain",
                message: "an Auth0 domain has no path".into(),
            });
        }
        Ok(format!("{}/", without_trailing_slash(&url)))
    }

    /// The validator builder: issuer with its trailing slash, audience = the API identifier,
    /// RS256/PS256, scopes from `scope` and `permissions`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad domain.
    pub fn builder(&self) -> Result<JwtValidatorBuilder, ConfigError> {
        let issuer = self.issuer()?;
        let jwks = self
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{issuer}.well-known/jwks.json"));
        let mut b = JwtValidator::builder()
            .issuer(issuer)
            .jwks_url(jwks)
            .algorithms([Algorithm::RS256, Algorithm::PS256])
            .scope_claims([ScopeClaim::Scope, ScopeClaim::Claim("permissions".into())]);
        if !self.audience.is_empty() {
            b = b.audience(self.audience.clone());
        }
        if let Some(clients) = &self.allowed_clients {
            b = b.allowed_clients(clients.iter().cloned());
        }
        Ok(b)
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad domain, [`ConfigError::Missing`] (`audience`)
    /// for an empty API identifier.
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder()?.build()
    }
}
