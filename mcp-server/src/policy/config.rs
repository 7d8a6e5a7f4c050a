//! The policy as written: [`PolicyBuilder`] and [`Rule`], built in code or deserialised from
//! TOML or JSON, then compiled into an [`AccessPolicy`].

use super::{AccessPolicy, Compiled, PolicyError};
use glob::Pattern;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Allow.
    #[default]
    Allow,
    /// Deny.
    Deny,
}

/// One rule: who (roles, scopes, subjects, clients) may or may not use what (tools,
/// resources, prompts). Every entry is a glob (`*`, `?`, `[a-z]`; `*` also matches `/`).
///
/// A rule without roles, scopes, subjects and clients applies to every caller, callers
/// without identity included; otherwise one match among them suffices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The name, in logs (default: `rule N`, by position).
    #[serde(default)]
    pub name: String,
    /// Allow or deny.
    pub effect: Effect,
    /// For a deny rule: whether lists leave the denied items out (default: the policy's
    /// `hide_denied`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide: Option<bool>,
    /// Roles (read from the claims named by the policy's `role_claims`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// OAuth scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Subjects (`sub`, or an API key's subject).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// OAuth client ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// Tool names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Resource URIs (and resource templates' URI templates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Prompt names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

macro_rules! rule_lists {
    ($($(#[$doc:meta])* $field:ident),*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $field<I, S>(mut self, patterns: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.$field.extend(strings(patterns));
            self
        }
    )*};
}

impl Rule {
    /// An allow rule named `name`.
    #[must_use]
    pub fn allow(name: impl Into<String>) -> Self {
        Rule {
            name: name.into(),
            effect: Effect::Allow,
            ..Rule::default()
        }
    }

    /// A deny rule named `name`.
    #[must_use]
    pub fn deny(name: impl Into<String>) -> Self {
        Rule {
            name: name.into(),
            effect: Effect::Deny,
            ..Rule::default()
        }
    }

    /// For a deny rule: whether lists leave the denied items out.
    #[must_use]
    pub fn hide(mut self, hide: bool) -> Self {
        self.hide = Some(hide);
        self
    }

    rule_lists!(
        /// Adds role patterns.
        roles,
        /// Adds scope patterns.
        scopes,
        /// Adds subject patterns.
        subjects,
        /// Adds client-id patterns.
        clients,
        /// Adds tool-name patterns.
        tools,
        /// Adds resource-URI patterns.
        resources,
        /// Adds prompt-name patterns.
        prompts
    );

    fn compile(&self, index: usize) -> Result<Compiled, PolicyError> {
        let name = if self.name.is_empty() {
            format!("rule {}", index + 1)
        } else {
            self.name.clone()
        };
        if self.tools.is_empty() && self.resources.is_empty() && self.prompts.is_empty() {
            return Err(PolicyError::EmptyRule(name));
        }
        let compile = |list: &[String]| -> Result<Vec<Pattern>, PolicyError> {
            list.iter()
                .map(|p| {
                    Pattern::new(p).map_err(|e| PolicyError::InvalidPattern {
                        rule: name.clone(),
                        pattern: p.clone(),
                        message: e.msg.to_owned(),
                    })
                })
                .collect()
        };
        Ok(Compiled {
            effect: self.effect,
            hide: self.hide,
            roles: compile(&self.roles)?,
            scopes: compile(&self.scopes)?,
            subjects: compile(&self.subjects)?,
            clients: compile(&self.clients)?,
            tools: compile(&self.tools)?,
            resources: compile(&self.resources)?,
            prompts: compile(&self.prompts)?,
            name: Arc::from(name),
        })
    }
}

/// A policy as written, before its patterns are compiled; the shape of the TOML and JSON
/// files. [`build`](Self::build) checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBuilder {
    /// What happens when no rule matches (default `allow`).
    #[serde(default)]
    pub default: Effect,
    /// Whether lists leave out the items the policy denies (default `true`). A deny rule's
    /// `hide` overrides it. Items denied for lack of scopes follow the server's
    /// `hide_unauthorized_items` instead.
    #[serde(default = "yes")]
    pub hide_denied: bool,
    /// The claims roles are read from (string or array of strings; dotted paths such as
    /// `realm_access.roles` reach nested claims). Default `["roles", "groups"]`.
    #[serde(default = "default_role_claims")]
    pub role_claims: Vec<String>,
    /// The rules.
    #[serde(default, rename = "rule", alias = "rules")]
    pub rules: Vec<Rule>,
}

fn yes() -> bool {
    true
}

fn default_role_claims() -> Vec<String> {
    strings(["roles", "groups"])
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        PolicyBuilder {
            default: Effect::Allow,
            hide_denied: true,
            role_claims: default_role_claims(),
            rules: Vec::new(),
        }
    }
}

impl PolicyBuilder {
    /// Denies what no rule allows.
    #[must_use]
    pub fn default_deny(mut self) -> Self {
        self.default = Effect::Deny;
        self
    }

    /// Whether lists leave out the items the policy denies (default `true`).
    #[must_use]
    pub fn hide_denied(mut self, hide: bool) -> Self {
        self.hide_denied = hide;
        self
    }

    /// Replaces the claims roles are read from.
    #[must_use]
    pub fn role_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.role_claims = strings(claims);
        self
    }

    /// Appends a rule.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Compiles the policy.
    ///
    /// # Errors
    /// A pattern that does not parse, or a rule naming no tools, resources or prompts.
    pub fn build(&self) -> Result<AccessPolicy, PolicyError> {
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| r.compile(i))
            .collect::<Result<_, _>>()?;
        Ok(AccessPolicy {
            default: self.default,
            hide_denied: self.hide_denied,
            role_claims: self.role_claims.clone(),
            rules,
        })
    }
}

impl AccessPolicy {
    /// Parses and compiles a JSON policy.
    ///
    /// # Errors
    /// [`PolicyError::Parse`] with the line and column, or for an empty policy (`{}`: no
    /// default, no rules), or a compile error.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        parse_json(text, "policy")?.build()
    }

    /// Parses and compiles a TOML policy (feature `policy-toml`).
    ///
    /// # Errors
    /// [`PolicyError::Parse`] with the line and column, or for an empty policy (no keys, only
    /// comments), or a compile error.
    #[cfg(feature = "policy-toml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "policy-toml")))]
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        parse_toml(text, "policy")?.build()
    }

    /// Reads, parses and compiles a policy file: TOML when its name ends in `.toml` (feature
    /// `policy-toml`), JSON otherwise.
    ///
    /// # Errors
    /// [`PolicyError::Io`], [`PolicyError::Parse`] (an empty file included: see
    /// [`from_toml`](Self::from_toml)) or a compile error.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let name = path.display().to_string();
        let toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let builder = if toml {
            parse_toml(&text, &name)?
        } else {
            parse_json(&text, &name)?
        };
        builder.build()
    }
}

/// The message for a policy text that sets nothing at all.
pub(super) const EMPTY_POLICY: &str = "the policy is empty (no default, no rules); an empty \
     policy is refused so that a file caught while it is being rewritten cannot open the \
     server: write `default = \"allow\"` to allow everything";

fn empty(source_name: &str) -> PolicyError {
    PolicyError::Parse {
        source_name: source_name.to_owned(),
        message: EMPTY_POLICY.to_owned(),
    }
}

fn parse_json(text: &str, source_name: &str) -> Result<PolicyBuilder, PolicyError> {
    let builder = serde_json::from_str(text).map_err(|e| PolicyError::Parse {
        source_name: source_name.to_owned(),
        message: e.to_string(),
    })?;
    // Parsed once more as a map: `{}` deserialises into the default (allow everything).
    if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
        .is_ok_and(|m| m.is_empty())
    {
        return Err(empty(source_name));
    }
    Ok(builder)
}

#[cfg(feature = "policy-toml")]
fn parse_toml(text: &str, source_name: &str) -> Result<PolicyBuilder, PolicyError> {
    let builder = toml::from_str(text).map_err(|e| PolicyError::Parse {
        source_name: source_name.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    // An empty file, or one with comments only (the first lines of a file being rewritten),
    // deserialises into the default (allow everything).
    if toml::from_str::<toml::Table>(text).is_ok_and(|t| t.is_empty()) {
        return Err(empty(source_name));
    }
    Ok(builder)
}

#[cfg(not(feature = "policy-toml"))]
fn parse_toml(_text: &str, source_name: &str) -> Result<PolicyBuilder, PolicyError> {
    Err(PolicyError::Parse {
        source_name: source_name.to_owned(),
        message: "TOML policies need the `policy-toml` feature of mcp-rs-server".to_owned(),
    })
}
