//! Authorization-server discovery: RFC 8414 and OpenID Connect Discovery, cached.

use super::util::{default_client, normalize_issuer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Authorization-server metadata (RFC 8414 §2; OpenID Provider Metadata is a superset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// Authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// JWK set URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Dynamic client registration endpoint (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// Revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Supported scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Supported response types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
    /// Supported grant types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// PKCE methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuthorizationServerMetadata {
    /// Metadata with only `issuer` set.
    #[must_use]
    pub fn new(issuer: impl Into<String>) -> Self {
        AuthorizationServerMetadata {
            issuer: issuer.into(),
            authorization_endpoint: None,
            token_endpoint: None,
            jwks_uri: None,
            registration_endpoint: None,
            introspection_endpoint: None,
            revocation_endpoint: None,
            scopes_supported: Vec::new(),
            response_types_supported: Vec::new(),
            grant_types_supported: Vec::new(),
            token_endpoint_auth_methods_supported: Vec::new(),
            code_challenge_methods_supported: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// How strictly discovered metadata is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DiscoveryPolicy {
    /// Requires `code_challenge_methods_supported` to contain `S256` (the MCP requirement).
    #[default]
    Strict,
    /// Accepts metadata without PKCE advertisement (Entra, FusionAuth), still checking the issuer.
    Lenient,
}

/// Why discovery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer is not an absolute http(s) URL.
    #[error("invalid issuer URL")]
    InvalidIssuer,
    /// No well-known URL answered with usable metadata.
    #[error("no metadata found for the issuer")]
    NotFound,
    /// A document was found but its `issuer` differs from the requested one.
    #[error("issuer mismatch in discovered metadata")]
    IssuerMismatch,
    /// Strict policy and no `S256` in `code_challenge_methods_supported`.
    #[error("authorization server does not advertise PKCE S256")]
    PkceNotSupported,
}

/// The well-known URLs to try for `issuer`, in order.
///
/// # Errors
/// [`DiscoveryError::InvalidIssuer`] for a non-http(s) issuer.
pub fn discovery_urls(issuer: &str) -> Result<Vec<String>, DiscoveryError> {
    let url = url::Url::parse(issuer).map_err(|_| DiscoveryError::InvalidIssuer)?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(DiscoveryError::InvalidIssuer);
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Ok(if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    })
}

/// Discovers and caches authorization-server metadata. Cheap to clone (shared cache).
///
/// For an issuer with a path (`https://idp.example.com/realms/mcp`) the URLs are tried in the
/// order the MCP specification gives:
///
/// 1. `https://idp.example.com/.well-known/oauth-authorization-server/realms/mcp` (RFC 8414 path insertion)
/// 2. `https://idp.example.com/.well-known/openid-configuration/realms/mcp` (OIDC path insertion)
/// 3. `https://idp.example.com/realms/mcp/.well-known/openid-configuration` (OIDC path appending)
///
/// and for an issuer without a path, `/.well-known/oauth-authorization-server` then
/// `/.well-known/openid-configuration`. A document is accepted only if its `issuer` equals the
/// requested issuer (a single trailing `/` is ignored on both sides).
#[derive(Clone)]
pub struct OidcDiscovery {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    policy: DiscoveryPolicy,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Arc<AuthorizationServerMetadata>, Instant)>>,
}

impl fmt::Debug for OidcDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcDiscovery")
            .field("policy", &self.inner.policy)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for OidcDiscovery {
    fn default() -> Self {
        Self::new(DiscoveryPolicy::Strict)
    }
}

impl OidcDiscovery {
    /// Discovery with `policy`, a one-hour cache and a default HTTP client.
    #[must_use]
    pub fn new(policy: DiscoveryPolicy) -> Self {
        Self::with_client(policy, default_client())
    }

    /// Discovery with `policy` and `client`.
    #[must_use]
    pub fn with_client(policy: DiscoveryPolicy, client: reqwest::Client) -> Self {
        OidcDiscovery {
            inner: Arc::new(Inner {
                client,
                policy,
                ttl: Duration::from_secs(3600),
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sets how long discovered metadata is cached (default one hour).
    #[must_use]
    pub fn cache_ttl(self, ttl: Duration) -> Self {
        OidcDiscovery {
            inner: Arc::new(Inner {
                client: self.inner.client.clone(),
                policy: self.inner.policy,
                ttl,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> DiscoveryPolicy {
        self.inner.policy
    }

    /// The metadata of `issuer`, from cache or the network.
    ///
    /// # Errors
    /// See [`DiscoveryError`]. An issuer mismatch or missing PKCE is reported even when a later
    /// URL fails differently.
    pub async fn discover(
        &self,
        issuer: &str,
    ) -> Result<Arc<AuthorizationServerMetadata>, DiscoveryError> {
        let key = normalize_issuer(issuer).to_owned();
        if let Ok(cache) = self.inner.cache.lock() {
            if let Some((m, at)) = cache.get(&key) {
                if at.elapsed() < self.inner.ttl {
                    return Ok(m.clone());
                }
            }
        }
        let mut error = DiscoveryError::NotFound;
        for url in discovery_urls(issuer)? {
            let Some(meta) = self.fetch(&url).await else {
                continue;
            };
            if normalize_issuer(&meta.issuer) != key {
                tracing::warn!(target: "mcp_rs_server::auth", url, "discovered issuer does not match");
                error = DiscoveryError::IssuerMismatch;
                continue;
            }
            if self.inner.policy == DiscoveryPolicy::Strict
                && !meta
                    .code_challenge_methods_supported
                    .iter()
                    .any(|m| m == "S256")
            {
                error = DiscoveryError::PkceNotSupported;
                continue;
            }
            let meta = Arc::new(meta);
            if let Ok(mut cache) = self.inner.cache.lock() {
                cache.insert(key, (meta.clone(), Instant::now()));
            }
            return Ok(meta);
        }
        Err(error)
    }

    async fn fetch(&self, url: &str) -> Option<AuthorizationServerMetadata> {
        let res = self
            .inner
            .client
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .ok()?;
        if !res.status().is_success() {
            return None;
        }
        let bytes = res.bytes().await.ok()?;
        if bytes.len() > 1 << 20 {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_spec_order() {
        assert_eq!(
            discovery_urls("https://idp.example.com/realms/mcp/").unwrap(),
            [
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/mcp",
                "https://idp.example.com/.well-known/openid-configuration/realms/mcp",
                "https://idp.example.com/realms/mcp/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            discovery_urls("https://idp.example.com").unwrap(),
            [
                "https://idp.example.com/.well-known/oauth-authorization-server",
                "https://idp.example.com/.well-known/openid-configuration",
            ]
        );
        assert_eq!(discovery_urls("idp"), Err(DiscoveryError::InvalidIssuer));
    }
}
