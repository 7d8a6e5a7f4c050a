//! Per-item scope requirements: which OAuth scopes a caller needs to use a tool, prompt or
//! resource.
//!
//! The server core checks them before an item runs (over every transport); the HTTP
//! transport turns a denial into `403` with `WWW-Authenticate: Bearer error="insufficient_scope"`.

use crate::identity::OAuthContext;
use std::fmt;

/// How the scopes of a [`ScopeRequirement`] combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ScopeMode {
    /// Every scope is required.
    #[default]
    AllOf,
    /// At least one of the scopes is required.
    AnyOf,
}

/// The scopes an item requires.
///
/// ```
/// use mcp_rs_server::identity::{OAuthContext, Scopes};
/// use mcp_rs_server::scope::ScopeRequirement;
///
/// let req = ScopeRequirement::all(["mcp:write"]);
/// let writer = OAuthContext::new("alice", Scopes::from_space_separated("mcp:read mcp:write"));
/// assert!(req.is_satisfied_by(Some(&writer)));
/// assert!(!req.is_satisfied_by(None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopeRequirement {
    /// The scopes.
    pub scopes: Vec<String>,
    /// How they combine.
    pub mode: ScopeMode,
}

impl ScopeRequirement {
    /// Requires every scope of `scopes`.
    pub fn all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeRequirement {
            scopes: scopes.into_iter().map(Into::into).collect(),
            mode: ScopeMode::AllOf,
        }
    }

    /// Requires at least one scope of `scopes`.
    pub fn any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeRequirement {
            scopes: scopes.into_iter().map(Into::into).collect(),
            mode: ScopeMode::AnyOf,
        }
    }

    /// Whether `identity` satisfies the requirement. Without an identity, only an empty
    /// requirement is satisfied (a requirement with no scopes demands nothing).
    #[must_use]
    pub fn is_satisfied_by(&self, identity: Option<&OAuthContext>) -> bool {
        if self.scopes.is_empty() {
            return true;
        }
        let Some(identity) = identity else {
            return false;
        };
        let scopes = self.scopes.iter().map(String::as_str);
        match self.mode {
            ScopeMode::AllOf => identity.scopes.contains_all(scopes),
            ScopeMode::AnyOf => identity.scopes.contains_any(scopes),
        }
    }

    /// The scopes joined by single spaces, as in the `scope` parameter of a
    /// `WWW-Authenticate` challenge.
    #[must_use]
    pub fn to_space_separated(&self) -> String {
        self.scopes.join(" ")
    }
}

impl fmt::Display for ScopeRequirement {
    /// `mcp:write`, `mcp:read and mcp:write` or `one of mcp:read, mcp:admin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.mode, self.scopes.len()) {
            (_, 0) => f.write_str("no scopes"),
            (_, 1) => f.write_str(&self.scopes[0]),
            (ScopeMode::AllOf, _) => f.write_str(&self.scopes.join(" and ")),
            (ScopeMode::AnyOf, _) => write!(f, "one of {}", self.scopes.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Scopes;

    fn who(scopes: &str) -> OAuthContext {
        OAuthContext::new("u", Scopes::from_space_separated(scopes))
    }

    #[test]
    fn all_of_and_any_of() {
        let all = ScopeRequirement::all(["a", "b"]);
        assert!(all.is_satisfied_by(Some(&who("a b c"))));
        assert!(!all.is_satisfied_by(Some(&who("a"))));
        let any = ScopeRequirement::any(["a", "b"]);
        assert!(any.is_satisfied_by(Some(&who("b"))));
        assert!(!any.is_satisfied_by(Some(&who("c"))));
        assert!(!any.is_satisfied_by(None));
    }

    #[test]
    fn empty_requirement_is_always_satisfied() {
        assert!(ScopeRequirement::all(Vec::<String>::new()).is_satisfied_by(None));
    }

    #[test]
    fn display() {
        assert_eq!(
            ScopeRequirement::all(["mcp:write"]).to_string(),
            "mcp:write"
        );
        assert_eq!(ScopeRequirement::all(["a", "b"]).to_string(), "a and b");
        assert_eq!(ScopeRequirement::any(["a", "b"]).to_string(), "one of a, b");
        assert_eq!(
            ScopeRequirement::any(["a", "b"]).to_space_separated(),
            "a b"
        );
    }
}
