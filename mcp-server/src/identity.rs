//! The verified identity of the caller, as tools see it.
//!
//! The authorization layer (feature `auth`) is the only producer: it validates a bearer token
//! and inserts an [`OAuthContext`] into the HTTP request's extensions. The server core reads it
//! from there into [`RequestContext::oauth`](crate::context::RequestContext::oauth). Nothing
//! here is ever read from client-supplied JSON.

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A set of OAuth scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a space-separated `scope` string (RFC 6749 §3.3).
    pub fn from_space_separated(s: &str) -> Self {
        Scopes(s.split_ascii_whitespace().map(str::to_owned).collect())
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether every scope of `required` is in the set.
    pub fn contains_all<'a>(&self, required: impl IntoIterator<Item = &'a str>) -> bool {
        required.into_iter().all(|s| self.contains(s))
    }

    /// Whether at least one scope of `any` is in the set.
    pub fn contains_any<'a>(&self, any: impl IntoIterator<Item = &'a str>) -> bool {
        any.into_iter().any(|s| self.contains(s))
    }

    /// Adds a scope.
    pub fn insert(&mut self, scope: impl Into<String>) {
        self.0.insert(scope.into());
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes joined by single spaces, as in a `scope` claim or header parameter.
    pub fn to_space_separated(&self) -> String {
        self.0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Scopes(iter.into_iter().map(Into::into).collect())
    }
}

impl<S: Into<String>> Extend<S> for Scopes {
    fn extend<I: IntoIterator<Item = S>>(&mut self, iter: I) {
        self.0.extend(iter.into_iter().map(Into::into));
    }
}

/// Who is calling, as established by a validated access token. Its `Debug` output never
/// shows the raw [`token`](Self::token).
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct OAuthContext {
    /// The token's subject (`sub`), or the API key's principal name.
    pub subject: String,
    /// The granted scopes (from `scope`, `scp`, `roles` or a configured claim, merged).
    pub scopes: Scopes,
    /// The OAuth client the token was issued to (`client_id`, `azp` or `appid`).
    pub client_id: Option<String>,
    /// The issuer (`iss`), when the token has one.
    pub issuer: Option<String>,
    /// The tenant (`tid`, Entra), when the token has one.
    pub tenant: Option<String>,
    /// Expiry as seconds since the Unix epoch (`exp`), when known.
    pub expires_at: Option<u64>,
    /// All verified claims of the token (for an API key: its `roles`, when it has any; for a
    /// user a trusted proxy forwarded: `groups` and `email`).
    pub claims: Map<String, Value>,
    /// The raw bearer token; only present when the server opted in to exposing it.
    pub token: Option<Arc<str>>,
}

impl std::fmt::Debug for OAuthContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthContext")
            .field("subject", &self.subject)
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("issuer", &self.issuer)
            .field("tenant", &self.tenant)
            .field("expires_at", &self.expires_at)
            .field("claims", &self.claims)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl OAuthContext {
    /// A context for `subject` with `scopes`.
    pub fn new(subject: impl Into<String>, scopes: Scopes) -> Self {
        OAuthContext {
            subject: subject.into(),
            scopes,
            ..Default::default()
        }
    }

    /// The principal key sessions are bound to: (issuer, subject, client id, tenant).
    pub fn principal_key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.issuer.as_deref().unwrap_or(""),
            self.subject,
            self.client_id.as_deref().unwrap_or(""),
            self.tenant.as_deref().unwrap_or("")
        )
    }

    /// A claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

/// The verified identity in request extensions: the `Arc<OAuthContext>` that
/// `AuthorizationLayer` inserts, or a plain `OAuthContext` that a custom authorization layer
/// inserts. Every reader of the identity goes through here, so both keep sessions bound to the
/// principal.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn from_extensions(ext: &http::Extensions) -> Option<&OAuthContext> {
    ext.get::<Arc<OAuthContext>>()
        .map(|c| &**c)
        .or_else(|| ext.get::<OAuthContext>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_context_debug_redacts_the_token() {
        let mut ctx = OAuthContext::new("alice", Scopes::from_space_separated("mcp:read"));
        ctx.token = Some(Arc::from("eyJhbGciOiJSUzI1NiJ9.secret-token.sig"));
        let debug = format!("{ctx:?}");
        assert!(!debug.contains("secret-token"), "{debug}");
        assert!(debug.contains(r#"token: Some("<redacted>")"#), "{debug}");
        assert!(debug.contains(r#"subject: "alice""#), "{debug}");
        // The same through the validator's result, which tools and hooks may log.
        #[cfg(feature = "auth")]
        assert!(
            !format!("{:?}", crate::auth::AuthorizationResult::allow(ctx)).contains("secret-token")
        );
    }
}
