//! Identity from a trusted reverse proxy (oauth2-proxy, nginx `auth_request`, a corporate SSO
//! gateway): the proxy authenticates the user and sets `X-Forwarded-User`, `X-Forwarded-Email`
//! and `X-Forwarded-Groups`; the built-in authorization server reads them at `/authorize`.
//!
//! The headers are believed only when the TCP peer (the
//! [`RemoteAddr`] request extension that
//! [`serve`](crate::transport::http::serve) inserts) is one of the configured trusted proxy
//! addresses or networks. From any other peer they are never read: the answer is `403`. With no
//! trusted proxy configured (the default) every request is refused.
//!
//! | Situation | [`ForwardedRejection`] | Status |
//! |---|---|---|
//! | peer unknown (no [`RemoteAddr`]) or not a trusted proxy | [`UntrustedPeer`](ForwardedRejection::UntrustedPeer) | 403 |
//! | trusted proxy, no user header (the proxy did not sign the user in) | [`MissingUser`](ForwardedRejection::MissingUser) | 401 |
//! | a header repeated, too long, not UTF-8 or with control characters; too many groups | [`InvalidHeader`](ForwardedRejection::InvalidHeader) | 400 |
//!
//! Limits: user [`MAX_USER_LEN`] bytes, email [`MAX_EMAIL_LEN`], the groups header
//! [`MAX_GROUPS_LEN`] with at most [`MAX_GROUPS`] comma-separated groups. Scopes are the
//! configured default scopes plus those mapped from the user's groups.
//!
//! ```
//! use mcp_rs_server::auth::server::forwarded::ForwardedAuth;
//! use mcp_rs_server::transport::http::RemoteAddr;
//! let auth = ForwardedAuth::new()
//!     .trusted_proxies(["10.0.0.0/8", "127.0.0.1"])?
//!     .group_scopes("mcp-admins", ["mcp:read", "mcp:write"])
//!     .default_scopes(["mcp:read"]);
//! let mut req = http::Request::get("/authorize")
//!     .header("x-forwarded-user", "alice")
//!     .header("x-forwarded-groups", "staff, mcp-admins")
//!     .body(())?;
//! req.extensions_mut().insert(RemoteAddr("10.1.2.3:50000".parse()?));
//! let (parts, ()) = req.into_parts();
//! let user = auth.authenticate(&parts).unwrap();
//! assert_eq!(user.subject, "alice");
//! assert_eq!(user.scopes, ["mcp:read", "mcp:write"]);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use crate::auth::ConfigError;
use crate::transport::http::RemoteAddr;
use http::header::HeaderName;
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

#[cfg(test)]
mod tests;

/// Longest accepted user header value, in bytes.
pub const MAX_USER_LEN: usize = 256;
/// Longest accepted email header value, in bytes (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 320;
/// Longest accepted groups header value, in bytes.
pub const MAX_GROUPS_LEN: usize = 8192;
/// Most groups accepted in the groups header.
pub const MAX_GROUPS: usize = 128;

/// The default user header.
pub const DEFAULT_USER_HEADER: &str = "x-forwarded-user";
/// The default email header.
pub const DEFAULT_EMAIL_HEADER: &str = "x-forwarded-email";
/// The default groups header (comma-separated).
pub const DEFAULT_GROUPS_HEADER: &str = "x-forwarded-groups";

/// Who the trusted proxy says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedUser {
    /// The user header's value: the `sub` of the tokens we mint.
    pub subject: String,
    /// The email header's value, when present.
    pub email: Option<String>,
    /// The groups, in header order, without duplicates.
    pub groups: Vec<String>,
    /// Default scopes plus the scopes mapped from `groups`, sorted.
    pub scopes: Vec<String>,
}

/// Why no identity was taken from the request. [`description`](Self::description) is safe to
/// show to the user: it never repeats a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardedRejection {
    /// The peer is not a trusted proxy (or unknown): 403. Its headers were not read.
    #[error("the request did not come through a trusted proxy")]
    UntrustedPeer,
    /// A trusted proxy sent no user header: 401.
    #[error("the proxy did not identify a signed-in user")]
    MissingUser,
    /// A header is repeated, too long, not UTF-8, has control characters, or lists too many
    /// groups: 400. Names the header (its configured name), never its value.
    #[error("the proxy header {0} is invalid")]
    InvalidHeader(String),
}

impl ForwardedRejection {
    /// The HTTP status to answer with (see the [module docs](self)).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            ForwardedRejection::UntrustedPeer => StatusCode::FORBIDDEN,
            ForwardedRejection::MissingUser => StatusCode::UNAUTHORIZED,
            ForwardedRejection::InvalidHeader(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// A short text for the error page.
    #[must_use]
    pub fn description(&self) -> &'static str {
        match self {
            ForwardedRejection::UntrustedPeer => {
                "This sign-in must go through the organisation's proxy."
            }
            ForwardedRejection::MissingUser => "The proxy did not identify a signed-in user.",
            ForwardedRejection::InvalidHeader(_) => "The proxy sent an invalid identity header.",
        }
    }
}

/// Configuration of trusted-proxy authentication. See the [module docs](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct ForwardedAuth {
    trusted: Vec<IpNet>,
    user_header: HeaderName,
    email_header: HeaderName,
    groups_header: HeaderName,
    group_scopes: BTreeMap<String, Vec<String>>,
    default_scopes: Vec<String>,
}

impl Default for ForwardedAuth {
    fn default() -> Self {
        Self::new()
    }
}

impl ForwardedAuth {
    /// No trusted proxy (every request refused until [`trusted_proxies`](Self::trusted_proxies)),
    /// the default header names, no scopes.
    pub fn new() -> Self {
        ForwardedAuth {
            trusted: Vec::new(),
            user_header: HeaderName::from_static(DEFAULT_USER_HEADER),
            email_header: HeaderName::from_static(DEFAULT_EMAIL_HEADER),
            groups_header: HeaderName::from_static(DEFAULT_GROUPS_HEADER),
            group_scopes: BTreeMap::new(),
            default_scopes: Vec::new(),
        }
    }

    /// Adds trusted proxies: addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`,
    /// `fd00::/8`). IPv4-mapped IPv6 peers match their IPv4 form.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a value that is not an address or network, or a network
    /// with prefix length 0 (it would let anyone choose their identity).
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in proxies {
            let p = p.as_ref().trim();
            let net = p
                .parse::<IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ConfigError::Invalid(format!(
                        "trusted proxy `{p}` is not an IP address or CIDR network"
                    ))
                })?;
            if net.prefix_len() == 0 {
                return Err(ConfigError::Invalid(format!(
                    "trusted proxy `{p}` covers every address: anyone could choose their identity"
                )));
            }
            self.trusted.push(net.trunc());
        }
        Ok(self)
    }

    /// The user header (default `X-Forwarded-User`).
    pub fn user_header(mut self, name: HeaderName) -> Self {
        self.user_header = name;
        self
    }

    /// The email header (default `X-Forwarded-Email`).
    pub fn email_header(mut self, name: HeaderName) -> Self {
        self.email_header = name;
        self
    }

    /// The groups header, comma-separated (default `X-Forwarded-Groups`).
    pub fn groups_header(mut self, name: HeaderName) -> Self {
        self.groups_header = name;
        self
    }

    /// Members of `group` get `scopes` (added to any earlier mapping of the same group).
    pub fn group_scopes<I, S>(mut self, group: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.group_scopes
            .entry(group.into())
            .or_default()
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Scopes every authenticated user gets (default none).
    pub fn default_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Every scope this configuration can grant (for `scopes_supported`), sorted.
    #[must_use]
    pub fn all_scopes(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self
            .default_scopes
            .iter()
            .chain(self.group_scopes.values().flatten())
            .collect();
        all.into_iter().cloned().collect()
    }

    /// Whether `peer` is a trusted proxy.
    #[must_use]
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted.iter().any(|net| net.contains(&peer))
    }

    /// The user the trusted proxy identified, or why not. Headers are read only when the
    /// request's [`RemoteAddr`] is a trusted proxy.
    ///
    /// # Errors
    /// See [`ForwardedRejection`].
    pub fn authenticate(&self, parts: &Parts) -> Result<ForwardedUser, ForwardedRejection> {
        self.authenticate_headers(&parts.headers, &parts.extensions)
    }

    /// [`authenticate`](Self::authenticate) from a request's headers and extensions.
    pub(crate) fn authenticate_headers(
        &self,
        h: &HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<ForwardedUser, ForwardedRejection> {
        let peer = extensions.get::<RemoteAddr>().map(|r| r.0.ip());
        if !peer.is_some_and(|p| self.is_trusted(p)) {
            return Err(ForwardedRejection::UntrustedPeer);
        }
        let subject = single(h, &self.user_header, MAX_USER_LEN)?
            .filter(|s| !s.is_empty())
            .ok_or(ForwardedRejection::MissingUser)?;
        let email = single(h, &self.email_header, MAX_EMAIL_LEN)?.filter(|s| !s.is_empty());
        let groups = match single(h, &self.groups_header, MAX_GROUPS_LEN)? {
            None => Vec::new(),
            Some(raw) => self.split_groups(&raw)?,
        };
        let mut scopes: BTreeSet<String> = self.default_scopes.iter().cloned().collect();
        for g in &groups {
            if let Some(mapped) = self.group_scopes.get(g) {
                scopes.extend(mapped.iter().cloned());
            }
        }
        Ok(ForwardedUser {
            subject,
            email,
            groups,
            scopes: scopes.into_iter().collect(),
        })
    }

    fn split_groups(&self, raw: &str) -> Result<Vec<String>, ForwardedRejection> {
        let mut groups: Vec<String> = Vec::new();
        for g in raw.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            if groups.len() == MAX_GROUPS {
                return Err(ForwardedRejection::InvalidHeader(
                    self.groups_header.as_str().to_owned(),
                ));
            }
            if !groups.iter().any(|known| known == g) {
                groups.push(g.to_owned());
            }
        }
        Ok(groups)
    }
}

/// The one value of header `name`, trimmed: `None` when absent; an error when repeated, longer
/// than `max` bytes, not UTF-8, or containing control characters.
fn single(
    headers: &HeaderMap,
    name: &HeaderName,
    max: usize,
) -> Result<Option<String>, ForwardedRejection> {
    let invalid = || ForwardedRejection::InvalidHeader(name.as_str().to_owned());
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() || value.len() > max {
        return Err(invalid());
    }
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| invalid())?;
    if text.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(Some(text.trim().to_owned()))
}
