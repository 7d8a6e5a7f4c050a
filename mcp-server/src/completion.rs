//! Argument completion (`completion/complete`): the [`CompletionProvider`] trait and
//! ready-made providers.
//!
//! Providers attach to a prompt argument or a resource-template variable. The server caps the
//! answer at 100 values and fills `total` and `hasMore`.

use crate::context::RequestContext;
use crate::error::McpError;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// What is being completed, passed to [`CompletionProvider::complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletionContext {
    /// The prompt or resource template being filled.
    pub reference: CompletionTarget,
    /// The name of the argument being completed.
    pub argument: String,
    /// Values of the other arguments the client already knows (`context.arguments`).
    pub arguments: BTreeMap<String, String>,
}

impl CompletionContext {
    /// A context for `argument` of `reference`.
    pub fn new(
        reference: CompletionTarget,
        argument: impl Into<String>,
        arguments: BTreeMap<String, String>,
    ) -> Self {
        CompletionContext {
            reference,
            argument: argument.into(),
            arguments,
        }
    }
}

/// The item whose argument is completed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompletionTarget {
    /// A prompt, by name.
    Prompt(String),
    /// A resource template, by URI template.
    ResourceTemplate(String),
}

/// Suggests values for an argument.
#[async_trait]
pub trait CompletionProvider: Send + Sync + 'static {
    /// Values for the partial input `value`, best first. The server truncates to 100.
    async fn complete(
        &self,
        ctx: &RequestContext,
        value: &str,
        context: &CompletionContext,
    ) -> Result<Vec<String>, McpError>;
}

/// A fixed list of values, filtered by case-insensitive prefix.
///
/// ```
/// use mcp_rs_server::completion::StaticCompletions;
/// let langs = StaticCompletions::new(["rust", "php", "Ruby"]);
/// assert_eq!(langs.matching("r"), vec!["rust", "Ruby"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticCompletions(pub Vec<String>);

impl StaticCompletions {
    /// A provider offering `values`.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        StaticCompletions(values.into_iter().map(Into::into).collect())
    }

    /// The values starting with `prefix`, ignoring case.
    #[must_use]
    pub fn matching(&self, prefix: &str) -> Vec<String> {
        let prefix = prefix.to_lowercase();
        self.0
            .iter()
            .filter(|v| v.to_lowercase().starts_with(&prefix))
            .cloned()
            .collect()
    }
}

#[async_trait]
impl CompletionProvider for StaticCompletions {
    async fn complete(
        &self,
        _ctx: &RequestContext,
        value: &str,
        _context: &CompletionContext,
    ) -> Result<Vec<String>, McpError> {
        Ok(self.matching(value))
    }
}

/// A provider from a closure: `FnCompletions::new(|value, context| async move { ... })`.
pub struct FnCompletions<F>(F);

impl<F, Fut> FnCompletions<F>
where
    F: Fn(String, CompletionContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<String>, McpError>> + Send + 'static,
{
    /// Wraps `f`; it receives the partial value and the context.
    pub fn new(f: F) -> Self {
        FnCompletions(f)
    }
}

impl<F> fmt::Debug for FnCompletions<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnCompletions(<fn>)")
    }
}

#[async_trait]
impl<F, Fut> CompletionProvider for FnCompletions<F>
where
    F: Fn(String, CompletionContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<String>, McpError>> + Send + 'static,
{
    async fn complete(
        &self,
        _ctx: &RequestContext,
        value: &str,
        context: &CompletionContext,
    ) -> Result<Vec<String>, McpError> {
        (self.0)(value.to_owned(), context.clone()).await
    }
}

/// A list of `(argument name, provider)` pairs, as carried by prompt and template definitions.
pub type Completions = Vec<(String, Arc<dyn CompletionProvider>)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_prefix_is_case_insensitive() {
        let s = StaticCompletions::new(["Alpha", "beta", "alphabet"]);
        assert_eq!(s.matching("AL"), vec!["Alpha", "alphabet"]);
        assert_eq!(s.matching(""), vec!["Alpha", "beta", "alphabet"]);
        assert!(s.matching("z").is_empty());
    }
}
