//! WorkOS AuthKit preset for [`JwtValidator`], and the metadata pass-through for clients that
//! predate RFC 9728.
//!
//! AuthKit is the authorization server: it registers MCP clients itself (DCR or client ID
//! metadata documents), so the MCP server only validates its tokens. Each AuthKit environment
//! has its own domain (`https://<subdomain>.authkit.app`, or a custom domain); it is the `iss`
//! of the tokens, and the signing keys are at `<domain>/oauth2/jwks`.
//!
//! Audience: when the MCP server's URL is listed as an *MCP resource indicator* in the WorkOS
//! dashboard and the client sends `resource` (RFC 8707, as MCP clients must), AuthKit puts that
//! URL in `aud`; that is what [`AuthKitConfig::new`] checks. Clients that omit `resource` get a
//! token whose `aud` is their WorkOS client id (`client_…`); accepting those takes
//! [`AuthKitConfig::accept_client_audiences`], which names each client id (such a token is not
//! bound to this server). Scopes are read from `scope` and from the `permissions` array.
//!
//! ```
//! use mcp_rs_server::auth::workos::AuthKitConfig;
//! let authkit = AuthKitConfig::new("https://acme.authkit.app", "https://mcp.example.com/mcp");
//! let validator = authkit.validator()?;
//! let passthrough = authkit.metadata_passthrough()?; // GET /.well-known/oauth-authorization-server
//! let prm = authkit.protected_resource_metadata(); // authorization_servers = [the domain]
//! assert_eq!(prm.authorization_servers, ["https://acme.authkit.app"]);
//! # drop((validator, passthrough));
//! # Ok::<_, mcp_rs_server::auth::ConfigError>(())
//! ```

use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};
use super::presets::{provider_url, without_trailing_slash};
use super::{ConfigError, MetadataPassthroughLayer, ProtectedResourceMetadata};
use jsonwebtoken::Algorithm;

/// AuthKit configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthKitConfig {
    domain: String,
    resource: String,
    client_audiences: Vec<String>,
    jwks_url: Option<String>,
}

impl AuthKitConfig {
    /// Tokens of the AuthKit environment at `domain` (`https://<subdomain>.authkit.app`; a
    /// bare host name means `https://`), issued for `resource` (the public URL of the MCP
    /// endpoint, as entered under *MCP resource indicators*).
    pub fn new(domain: impl Into<String>, resource: impl Into<String>) -> Self {
        AuthKitConfig {
            domain: domain.into(),
            resource: resource.into(),
            client_audiences: Vec::new(),
            jwks_url: None,
        }
    }

    /// Also accepts tokens whose `aud` is one of these WorkOS client ids: issued to a client
    /// that did not send `resource`. Such tokens are not bound to this server; prefer clients
    /// that send `resource`.
    pub fn accept_client_audiences<I, S>(mut self, client_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_audiences
            .extend(client_ids.into_iter().map(Into::into));
        self
    }

    /// Keys from another URL than `<domain>/oauth2/jwks`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The issuer: the domain as `https://host` without a trailing `/`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] (option `domain`) for a domain that is not an https URL.
    pub fn issuer(&self) -> Result<String, ConfigError> {
        Ok(without_trailing_slash(&provider_url(
            "domain",
            &self.domain,
        )?))
    }

    /// The validator builder: issuer = the domain, audiences = the resource (and the accepted
    /// client ids), RS256, scopes from `scope` and `permissions`; tokens with `nonce` or
    /// `at_hash` (ID tokens) refused.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad domain.
    pub fn builder(&self) -> Result<JwtValidatorBuilder, ConfigError> {
        let issuer = self.issuer()?;
        let jwks = self
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{issuer}/oauth2/jwks"));
        let mut audiences = vec![self.resource.clone()];
        audiences.extend(self.client_audiences.iter().cloned());
        Ok(JwtValidator::builder()
            .issuer(issuer)
            .audiences(audiences)
            .jwks_url(jwks)
            .algorithms([Algorithm::RS256])
            .scope_claims([ScopeClaim::Scope, ScopeClaim::Claim("permissions".into())])
            // An AuthKit ID token has the client id as `aud`: with `accept_client_audiences`
            // it would pass the audience check. Only ID tokens carry `nonce` / `at_hash`.
            .claims_check(
                |c| !c.contains_key("nonce") && !c.contains_key("at_hash"),
                "The token is not an access token",
            ))
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad domain, [`ConfigError::Missing`] for an empty
    /// resource.
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        if self.resource.is_empty() {
            return Err(ConfigError::Missing("resource"));
        }
        self.builder()?.build()
    }

    /// The layer serving AuthKit's RFC 8414 document unchanged at
    /// `/.well-known/oauth-authorization-server` (see [`MetadataPassthroughLayer`]).
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a bad domain.
    pub fn metadata_passthrough(&self) -> Result<MetadataPassthroughLayer, ConfigError> {
        MetadataPassthroughLayer::for_issuer(&self.issuer()?)
    }

    /// RFC 9728 metadata naming AuthKit as the authorization server. An invalid domain is
    /// left as given; [`validator`](Self::validator) reports it.
    #[must_use]
    pub fn protected_resource_metadata(&self) -> ProtectedResourceMetadata {
        let issuer = self.issuer().unwrap_or_else(|_| self.domain.clone());
        ProtectedResourceMetadata::new(self.resource.clone()).authorization_server(issuer)
    }
}
