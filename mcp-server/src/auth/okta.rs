//! Okta preset for [`JwtValidator`].
//!
//! Tokens for your own APIs come from an Okta *custom authorization server*; its issuer is
//! `https://<org>.okta.com/oauth2/<server id>` (`.../oauth2/default` for the default one),
//! written **without** a trailing slash (a trailing slash given here is dropped). The org
//! authorization server (`https://<org>.okta.com`) issues tokens for Okta's own APIs only, so
//! an issuer without `/oauth2/` is refused. The audience is the server's *Audience* setting
//! (`api://default` by default). Scopes are the `scp` array (and `scope` if present). Keys:
//! `<issuer>/v1/keys`, RS256.
//!
//! ```
//! use mcp_rs_server::auth::okta::OktaConfig;
//! let okta = OktaConfig::new("https://acme.okta.com/oauth2/default/", "api://mcp");
//! assert_eq!(okta.issuer()?, "https://acme.okta.com/oauth2/default");
//! let validator = okta.validator()?;
//! # drop(validator);
//! # Ok::<_, mcp_rs_server::auth::ConfigError>(())
//! ```

use super::ConfigError;
use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};
use super::presets::{provider_url, without_trailing_slash};
use jsonwebtoken::Algorithm;

/// Okta configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OktaConfig {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    allowed_clients: Option<Vec<String>>,
}

impl OktaConfig {
    /// Tokens of the custom authorization server `issuer` for `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        OktaConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: None,
            allowed_clients: None,
        }
    }

    /// Accepts only tokens issued to these applications (their client ids, from `cid`):
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

    /// Keys from another URL than `<issuer>/v1/keys`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The issuer without a trailing slash.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] (option `issuer`) for an issuer that is not an https URL;
    /// [`ConfigError::Invalid`] for the org authorization server (no `/oauth2/` in the path).
    pub fn issuer(&self) -> Result<String, ConfigError> {
        let url = provider_url("issuer", &self.issuer)?;
        if !url.path().starts_with("/oauth2/") || url.path().trim_end_matches('/') == "/oauth2" {
            return Err(ConfigError::Invalid(
                "Okta issuer: use a custom authorization server \
                 (https://<org>.okta.com/oauth2/<server id>); the org authorization server \
                 issues tokens for Okta's own APIs"
                    .into(),
            ));
        }
        Ok(without_trailing_slash(&url))
    }

    /// The validator builder: issuer without trailing slash, the audience, RS256, scopes
    /// from `scp` and `scope`.
    ///
    /// # Errors
    /// See [`issuer`](Self::issuer).
    pub fn builder(&self) -> Result<JwtValidatorBuilder, ConfigError> {
        let issuer = self.issuer()?;
        let jwks = self
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{issuer}/v1/keys"));
        let mut b = JwtValidator::builder()
            .issuer(issuer)
            .jwks_url(jwks)
            .algorithms([Algorithm::RS256])
            .scope_claims([ScopeClaim::Scp, ScopeClaim::Scope]);
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
    /// See [`issuer`](Self::issuer); [`ConfigError::Missing`] (`audience`) for an empty
    /// audience.
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder()?.build()
    }
}
