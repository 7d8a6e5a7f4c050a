//! Access policy: which callers may use which tools, resources and prompts.
//!
//! An [`AccessPolicy`] is a list of [`Rule`]s. Each rule names *who* (roles, scopes, subjects,
//! clients, as glob patterns) and *what* (tool, resource-URI and prompt globs), and either
//! allows or denies. For one caller and one item:
//!
//! 1. a matching `deny` rule denies (deny wins over allow);
//! 2. otherwise a matching `allow` rule allows;
//! 3. otherwise the policy's default decides (`allow` unless the policy says `deny`).
//!
//! The server core applies the policy on every transport (stdio too), before the per-item
//! scopes of `#[mcp_tool(scopes = …)]`: an item is usable when both let the caller through.
//! List methods leave out what a caller may not use; see [`docs/access-policy.md`] for the
//! file format, hot reload ([`PolicyHandle`]) and how a denial reaches the client.
//!
//! ```
//! use mcp_rs_server::identity::{OAuthContext, Scopes};
//! use mcp_rs_server::policy::{AccessPolicy, Item, Rule};
//!
//! let policy = AccessPolicy::builder()
//!     .default_deny()
//!     .rule(Rule::allow("readers").scopes(["mcp:read"]).tools(["list_*", "get_*"]))
//!     .rule(Rule::allow("admins").roles(["admin"]).tools(["*"]))
//!     .rule(Rule::deny("no-reset-for-bots").clients(["ci-*"]).tools(["reset_*"]))
//!     .build()?;
//! let reader = OAuthContext::new("alice", Scopes::from_space_separated("mcp:read"));
//! assert!(policy.decide(Some(&reader), Item::Tool("list_notes")).is_allowed());
//! assert!(!policy.decide(Some(&reader), Item::Tool("reset_notes")).is_allowed());
//! assert!(!policy.decide(None, Item::Tool("list_notes")).is_allowed());
//! # Ok::<_, mcp_rs_server::policy::PolicyError>(())
//! ```
//!
//! [`docs/access-policy.md`]: https://github.com/mcp-rs/mcp-rs/blob/main/docs/access-policy.md

mod config;
mod handle;

pub use config::{Effect, PolicyBuilder, Rule};
pub use handle::PolicyHandle;

use crate::identity::OAuthContext;
use glob::Pattern;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A policy could not be built or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A glob pattern does not parse.
    #[error("rule `{rule}`: invalid pattern `{pattern}`: {message}")]
    InvalidPattern {
        /// The rule's name.
        rule: String,
        /// The pattern.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// A rule names no tool, resource or prompt, so it could never apply.
    #[error("rule `{0}` names no tools, resources or prompts")]
    EmptyRule(String),
    /// The policy text does not parse (TOML or JSON).
    #[error("{source_name}: {message}")]
    Parse {
        /// The file, or `"policy"` for a string.
        source_name: String,
        /// The parser's message (line and column included).
        message: String,
    },
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// [`PolicyHandle::reload`] on a handle that was not loaded from a file.
    #[error("this policy was not loaded from a file, so it cannot be reloaded")]
    NoFile,
}

/// The kind and name of the item a caller wants to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item<'a> {
    /// A tool, by name (matched against the rules' `tools`).
    Tool(&'a str),
    /// A resource, by URI (matched against the rules' `resources`); a read through a resource
    /// template is checked with the concrete URI, as sent and percent-decoded.
    Resource(&'a str),
    /// A resource template, by its URI template (matched against the rules' `resources`), in
    /// `resources/templates/list` and `completion/complete`; a `deny` rule naming it also
    /// denies reads through it.
    ResourceTemplate(&'a str),
    /// A prompt, by name (matched against the rules' `prompts`).
    Prompt(&'a str),
}

impl fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Tool(n) => write!(f, "tool {n}"),
            Item::Resource(u) => write!(f, "resource {u}"),
            Item::ResourceTemplate(u) => write!(f, "resource template {u}"),
            Item::Prompt(n) => write!(f, "prompt {n}"),
        }
    }
}

/// The policy's answer for one caller and one item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The caller may use the item (the item's own scopes are checked next).
    Allow {
        /// The allowing rule; `None`: the default.
        rule: Option<Arc<str>>,
    },
    /// The caller may not use the item.
    Deny {
        /// The denying rule; `None`: the default (no rule matched).
        rule: Option<Arc<str>>,
        /// Whether lists leave the item out for this caller.
        hide: bool,
        /// Scopes, any one of which would make an `allow` rule match (only for a default
        /// denial). Not empty: the denial is a scope shortfall, answered over HTTP with `403`
        /// and an `insufficient_scope` challenge naming them.
        step_up: Vec<String>,
    },
}

impl Decision {
    /// Whether the caller may use the item.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The name of the deciding rule (`None`: the policy's default).
    #[must_use]
    pub fn rule(&self) -> Option<&str> {
        match self {
            Decision::Allow { rule } | Decision::Deny { rule, .. } => rule.as_deref(),
        }
    }
}

/// A compiled access policy; build one with [`AccessPolicy::builder`] or load one from TOML or
/// JSON ([`AccessPolicy::from_toml`], [`AccessPolicy::from_json`],
/// [`AccessPolicy::from_file`]). Immutable: [`PolicyHandle`] swaps whole policies.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    default: Effect,
    hide_denied: bool,
    role_claims: Vec<String>,
    rules: Vec<Compiled>,
}

/// A rule with its patterns parsed.
#[derive(Debug, Clone)]
struct Compiled {
    name: Arc<str>,
    effect: Effect,
    hide: Option<bool>,
    roles: Vec<Pattern>,
    scopes: Vec<Pattern>,
    subjects: Vec<Pattern>,
    clients: Vec<Pattern>,
    tools: Vec<Pattern>,
    resources: Vec<Pattern>,
    prompts: Vec<Pattern>,
}

/// The caller as the rules see it: identity and roles, read once per request.
#[derive(Debug, Default)]
pub(crate) struct Caller<'a> {
    who: Option<&'a OAuthContext>,
    roles: Vec<&'a str>,
}

impl Caller<'_> {
    /// The caller's subject, for logs.
    pub(crate) fn subject(&self) -> &str {
        self.who.map_or("", |w| w.subject.as_str())
    }

    /// The caller's client id, for logs.
    pub(crate) fn client(&self) -> &str {
        self.who.and_then(|w| w.client_id.as_deref()).unwrap_or("")
    }
}

impl AccessPolicy {
    /// An empty builder (default allow, denied items hidden, roles from the `roles` and
    /// `groups` claims).
    #[must_use]
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// A policy that allows everything (no rules, default allow).
    #[must_use]
    pub fn allow_all() -> Self {
        AccessPolicy {
            default: Effect::Allow,
            hide_denied: true,
            role_claims: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// The number of rules.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the policy has no rules.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The decision for `who` (`None`: no verified identity, as over stdio) using `item`.
    #[must_use]
    pub fn decide(&self, who: Option<&OAuthContext>, item: Item<'_>) -> Decision {
        self.decide_for(&self.caller(who), item)
    }

    /// Reads the caller's roles once, for several decisions.
    pub(crate) fn caller<'a>(&self, who: Option<&'a OAuthContext>) -> Caller<'a> {
        let mut roles = Vec::new();
        if let Some(w) = who {
            for claim in &self.role_claims {
                collect_strings(claim_at(&w.claims, claim), &mut roles);
            }
        }
        Caller { who, roles }
    }

    pub(crate) fn decide_for(&self, caller: &Caller<'_>, item: Item<'_>) -> Decision {
        let applies = |r: &&Compiled| r.names(item) && r.covers(caller);
        if let Some(r) = self
            .rules
            .iter()
            .filter(|r| r.effect == Effect::Deny)
            .find(applies)
        {
            return Decision::Deny {
                rule: Some(r.name.clone()),
                hide: r.hide.unwrap_or(self.hide_denied),
                step_up: Vec::new(),
            };
        }
        if let Some(r) = self
            .rules
            .iter()
            .filter(|r| r.effect == Effect::Allow)
            .find(applies)
        {
            return Decision::Allow {
                rule: Some(r.name.clone()),
            };
        }
        match self.default {
            Effect::Allow => Decision::Allow { rule: None },
            Effect::Deny => Decision::Deny {
                rule: None,
                hide: self.hide_denied,
                step_up: self.step_up(item),
            },
        }
    }

    /// The literal scopes of the `allow` rules naming `item`: having any of them would allow
    /// it (sorted, without duplicates).
    fn step_up(&self, item: Item<'_>) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.effect == Effect::Allow && r.names(item))
            .flat_map(|r| r.scopes.iter())
            .map(Pattern::as_str)
            .filter(|s| !s.contains(['*', '?', '[']))
            .map(str::to_owned)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

impl Compiled {
    /// Whether the rule names `item`.
    fn names(&self, item: Item<'_>) -> bool {
        let (patterns, name) = match item {
            Item::Tool(n) => (&self.tools, n),
            Item::Resource(u) | Item::ResourceTemplate(u) => (&self.resources, u),
            Item::Prompt(n) => (&self.prompts, n),
        };
        patterns.iter().any(|p| p.matches(name))
    }

    /// Whether the rule applies to `caller`: a rule without roles, scopes, subjects and
    /// clients applies to everyone (callers without identity too); otherwise one match of
    /// any of them suffices.
    fn covers(&self, caller: &Caller<'_>) -> bool {
        let open = self.roles.is_empty()
            && self.scopes.is_empty()
            && self.subjects.is_empty()
            && self.clients.is_empty();
        if open {
            return true;
        }
        let Some(who) = caller.who else { return false };
        let any = |ps: &[Pattern], v: &str| ps.iter().any(|p| p.matches(v));
        any(&self.subjects, &who.subject)
            || who
                .client_id
                .as_deref()
                .is_some_and(|c| any(&self.clients, c))
            || who.scopes.iter().any(|s| any(&self.scopes, s))
            || caller.roles.iter().any(|r| any(&self.roles, r))
    }
}

/// The claim at a dotted path (`realm_access.roles`); a top-level claim whose name contains
/// dots is found first.
fn claim_at<'a>(claims: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// Pushes a string claim, or the strings of an array claim.
fn collect_strings<'a>(v: Option<&'a Value>, out: &mut Vec<&'a str>) {
    match v {
        Some(Value::String(s)) => out.push(s),
        Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str)),
        _ => {}
    }
}

/// Policy decisions in the log (target `mcp_rs_server::policy`). Denials are written at most
/// once per 10 s with the count of those not written, so a client probing items cannot flood
/// the log; allows are `debug`.
pub(crate) mod audit {
    use super::{Caller, Decision, Item};

    static DENIALS: crate::log_throttle::LogThrottle =
        crate::log_throttle::LogThrottle::new(std::time::Duration::from_secs(10));

    /// Logs the decision about a call (not a list) of `item`.
    pub(crate) fn decision(caller: &Caller<'_>, item: Item<'_>, decision: &Decision) {
        let rule = decision.rule().unwrap_or("(default)");
        if decision.is_allowed() {
            tracing::debug!(
                target: "mcp_rs_server::policy",
                decision = "allow",
                subject = caller.subject(),
                client = caller.client(),
                %item,
                rule,
                "access policy allowed"
            );
            return;
        }
        let Some(suppressed) = DENIALS.hit() else {
            return;
        };
        tracing::info!(
            target: "mcp_rs_server::policy",
            decision = "deny",
            subject = caller.subject(),
            client = caller.client(),
            %item,
            rule,
            suppressed,
            "access policy denied (suppressed: denials since the previous line)"
        );
    }
}

#[cfg(test)]
mod tests;
