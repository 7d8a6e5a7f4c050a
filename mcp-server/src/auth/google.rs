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
//! **Who may come in is required.** Any Google account can mint an identity token for any
//! audience (a service account in the attacker's own project, `generateIdToken`), so a
//! valid signature and `aud` say nothing about who the caller is. The validator refuses to
//! build until [`hosted_domains`](GoogleConfig::hosted_domains) (the Workspace `hd` claim) or
//! [`allowed_emails`](GoogleConfig::allowed_emails) (`email`, with `email_verified: true`)
//! names them; a token matching neither is 401 `invalid_token`. Accepting every Google
//! account takes [`insecure::accept_any_google_account`](super::insecure::accept_any_google_account).
//!
//! ```
//! use mcp_rs_server::auth::google::GoogleConfig;
//! let validator = GoogleConfig::new("https://mcp.example.com/mcp")
//!     .hosted_domains(["example.com"])
//!     .allowed_emails(["ci@my-project.iam.gserviceaccount.com"])
//!     .validator()?;
//! # drop(validator);
//! // Without either: refused.
//! assert!(GoogleConfig::new("https://mcp.example.com/mcp").validator().is_err());
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
/// The 401 description of a Google token of an account outside the configured domains and
/// emails.
pub const ACCOUNT_NOT_ALLOWED_ERROR: &str = "The token's Google account is not allowed here";

/// Google configuration; [`validator`](Self::validator) builds the [`JwtValidator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GoogleConfig {
    audience: String,
    jwks_url: String,
    hosted_domains: Vec<String>,
    emails: Vec<String>,
    any_account: bool,
}

impl GoogleConfig {
    /// Google-signed tokens whose `aud` is `resource` (the public URL of the MCP endpoint,
    /// as passed to `--audiences`).
    pub fn new(resource: impl Into<String>) -> Self {
        GoogleConfig {
            audience: resource.into(),
            jwks_url: GOOGLE_JWKS_URL.to_owned(),
            hosted_domains: Vec::new(),
            emails: Vec::new(),
            any_account: false,
        }
    }

    /// Accepts the accounts of these Google Workspace domains (the token's `hd` claim).
    pub fn hosted_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hosted_domains
            .extend(domains.into_iter().map(|d| d.into().to_ascii_lowercase()));
        self
    }

    /// Accepts these accounts (the token's `email`, which must have `email_verified: true`;
    /// compared without regard to ASCII case), e.g. service accounts.
    pub fn allowed_emails<I, S>(mut self, emails: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.emails
            .extend(emails.into_iter().map(|e| e.into().to_ascii_lowercase()));
        self
    }

    /// See [`insecure::accept_any_google_account`](super::insecure::accept_any_google_account).
    pub(crate) fn any_account(mut self) -> Self {
        self.any_account = true;
        self
    }

    /// Keys from another URL than [`GOOGLE_JWKS_URL`] (a mirror, or a test issuer).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = url.into();
        self
    }

    /// The validator builder: Google's issuers and keys, audience = the resource, RS256, and
    /// the check of the account (domains or emails).
    ///
    /// # Errors
    /// [`ConfigError::Missing`] (`hosted_domains or allowed_emails`) when neither is set
    /// (and [`insecure::accept_any_google_account`](super::insecure::accept_any_google_account)
    /// was not chosen).
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
        if self.any_account {
            tracing::warn!(
                target: "mcp_rs_server::auth",
                "Google preset: tokens of ANY Google account are accepted \
                 (insecure::accept_any_google_account)"
            );
            return Ok(b);
        }
        if self.hosted_domains.is_empty() && self.emails.is_empty() {
            return Err(ConfigError::Missing("hosted_domains or allowed_emails"));
        }
        let (domains, emails) = (self.hosted_domains.clone(), self.emails.clone());
        Ok(b.claims_check(
            move |claims| {
                let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
                let in_domain =
                    text("hd").is_some_and(|hd| domains.iter().any(|d| d.eq_ignore_ascii_case(hd)));
                let verified = claims.get("email_verified") == Some(&serde_json::Value::Bool(true));
                let listed = verified
                    && text("email")
                        .is_some_and(|e| emails.iter().any(|a| a.eq_ignore_ascii_case(e)));
                in_domain || listed
            },
            ACCOUNT_NOT_ALLOWED_ERROR,
        ))
    }

    /// Builds the validator.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] (`audience`) for an empty resource, or without
    /// [`hosted_domains`](Self::hosted_domains) / [`allowed_emails`](Self::allowed_emails);
    /// [`ConfigError::InvalidUrl`] for a bad JWKS URL.
    pub fn validator(&self) -> Result<JwtValidator, ConfigError> {
        self.builder()?.build()
    }
}
