//! Microsoft Entra ID preset for [`JwtValidator`].
//!
//! - v2 tokens (`https://login.microsoftonline.com/{tid}/v2.0`) and, when enabled, v1 tokens
//!   (`https://sts.windows.net/{tid}/`) on one endpoint.
//! - Single tenant (a tenant GUID) or multi-tenant (`organizations` / `common`): the issuer is
//!   then a `{tenantid}` template checked against the token's `tid`, and `tid` must be in an
//!   allow-list.
//! - Audiences `api://<client id>` (v1 and v2 with a custom App ID URI) and `<client id>` (v2).
//! - Scopes from `scp` (delegated) and `roles` (app-only), merged.
//! - Tokens with a header `nonce` (Microsoft Graph tokens) are rejected by [`JwtValidator`]:
//!   they cannot be verified and are not for this API.
//! - ID tokens are rejected ([`JwtValidatorBuilder::reject_id_tokens`]): a v2 ID token for the
//!   API's own client id has `aud` = that client id and would pass the audience check, so a
//!   token with a `nonce` claim, or with neither `scp` nor `roles`, is not accepted as an access
//!   token (401 `invalid_token`, "The token is not an access token").
//!
//! ```
//! use mcp_rs_server::auth::entra::EntraConfig;
//! let validator = EntraConfig::new("11111111-2222-3333-4444-555555555555", "api-client-id")
//!     .accept_v1(true)
//!     .validator()
//!     .unwrap();
//! # let _ = validator;
//! ```

use super::ConfigError;
use super::jwks::JwksProvider;
use super::jwt::{JwtValidator, JwtValidatorBuilder, ScopeClaim};

/// The default authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The default v1 issuer base.
pub const DEFAULT_V1_ISSUER_BASE: &str = "https://sts.windows.net";

/// Entra configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EntraConfig {
    tenant: String,
    client_id: String,
    accept_v1: bool,
    allowed_tenants: Vec<String>,
    authority: String,
    v1_issuer_base: String,
    jwks_url: Option<String>,
    extra_audiences: Vec<String>,
}

impl EntraConfig {
    /// `tenant` is a tenant id, or `organizations` / `common` for multi-tenant apps (then
    /// [`allowed_tenants`](Self::allowed_tenants) is required); `client_id` is the API app's
    /// application (client) id.
    pub fn new(tenant: impl Into<String>, client_id: impl Into<String>) -> Self {
        EntraConfig {
            tenant: tenant.into(),
            client_id: client_id.into(),
            accept_v1: false,
            allowed_tenants: Vec::new(),
            authority: DEFAULT_AUTHORITY.to_owned(),
            v1_issuer_base: DEFAULT_V1_ISSUER_BASE.to_owned(),
            jwks_url: None,
            extra_audiences: Vec::new(),
        }
    }

    /// Also accept v1 tokens (`accessTokenAcceptedVersion` null or 1). Defaults to `false`.
    pub fn accept_v1(mut self, accept: bool) -> Self {
        self.accept_v1 = accept;
        self
    }

    /// Tenants whose tokens are accepted (required for multi-tenant).
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// The authority (default `https://login.microsoftonline.com`; sovereign clouds and tests
    /// override it).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into().trim_end_matches('/').to_owned();
        self
    }

    /// The v1 issuer base (default `https://sts.windows.net`).
    pub fn v1_issuer_base(mut self, base: impl Into<String>) -> Self {
        self.v1_issuer_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// The JWKS URL (default `<authority>/<tenant>/discovery/v2.0/keys`).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Another accepted audience (e.g. a custom App ID URI).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.extra_audiences.push(audience.into());
        self
    }

    fn multi_tenant(&self) -> bool {
        matches!(
            self.tenant.as_str(),
            "common" | "organizations" | "consumers"
        )
    }

    /// The accepted issuers (templates with `{tenantid}` when multi-tenant).
    #[must_use]
    pub fn issuers(&self) -> Vec<String> {
        let t = if self.multi_tenant() {
            "{tenantid}"
        } else {
            self.tenant.as_str()
        };
        let mut v = vec![format!("{}/{t}/v2.0", self.authority)];
        if self.accept_v1 {
            v.push(format!("{}/{t}/", self.v1_issuer_base));
        }
        v
    }

    /// The v2 issuer of the configured tenant (for the protected-resource metadata's
    /// `authorization_servers`).
    #[must_use]
    pub fn authorization_server(&self) -> String {
        format!("{}/{}/v2.0", self.authority, self.tenant)
    }

    /// The JWKS URL in use.
    #[must_use]
    pub fn effective_jwks_url(&self) -> String {
        self.jwks_url
            .clone()
            .unwrap_or_else(|| format!("{}/{}/discovery/v2.0/keys", self.authority, self.tenant))
    }

    /// The builder, for further adjustment.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when multi-tenant without allowed tenants.
    pub fn builder(&self) -> Result<JwtValidatorBuilder, ConfigError> {
        if self.multi_tenant() && self.allowed_tenants.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "tenant `{}` accepts tokens from any tenant: set allowed_tenants",
                self.tenant
            )));
        }
        let mut b = JwtValidator::builder()
            .jwks(JwksProvider::new(self.effective_jwks_url()))
            .issuers(self.issuers())
            .audience(format!("api://{}", self.client_id))
            .audience(self.client_id.clone())
            .audiences(self.extra_audiences.clone())
            .algorithms([jsonwebtoken::Algorithm::RS256])
            .scope_claims([ScopeClaim::Scp, ScopeClaim::Roles])
            .reject_id_tokens(true);
        if !self.allowed_tenants.is_empty() {
            b = b.allowed_tenants(self.allowed_tenants.clone());
        } else {
            b = b.allowed_tenants([self.tenant.clone()]);
        }
        Ok(b)
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// See [`builder`](Self::builder).
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder()?.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_single_and_multi() {
        let c = EntraConfig::new("t1", "app").accept_v1(true);
        assert_eq!(
            c.issuers(),
            [
                "https://login.microsoftonline.com/t1/v2.0",
                "https://sts.windows.net/t1/"
            ]
        );
        let m = EntraConfig::new("organizations", "app");
        assert_eq!(
            m.issuers(),
            ["https://login.microsoftonline.com/{tenantid}/v2.0"]
        );
        assert!(m.validator().is_err());
        assert!(m.allowed_tenants(["t1"]).validator().is_ok());
    }
}
