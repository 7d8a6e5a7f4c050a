//! Completion providers for `#[complete(...)]`.

use crate::completion::CompletionProvider;
use crate::context::RequestContext;
use crate::error::McpError;

use super::CompletionProviderRef;
use crate::completion::{CompletionContext, StaticCompletions};
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;

/// `#[complete(values = [...])]`: prefix-filtered (case-insensitive) static values.
#[must_use]
pub fn static_completions(values: &[&str]) -> CompletionProviderRef {
    Arc::new(StaticCompletions::new(values.iter().copied()))
}

/// `#[complete(provider = expr)]`: anything [`IntoCompletionProvider`].
pub fn completion_provider<M>(provider: impl IntoCompletionProvider<M>) -> CompletionProviderRef {
    provider.into_completion_provider()
}

/// What `#[complete(provider = ...)]` accepts: a [`CompletionProvider`] value, or an async
/// function `fn(value: String) -> R` or `fn(value: String, context: CompletionContext) -> R`
/// where `R` is `Vec<String>` or `Result<Vec<String>, McpError>`. `M` only tells the impls
/// apart.
pub trait IntoCompletionProvider<M> {
    /// Performs the conversion.
    fn into_completion_provider(self) -> CompletionProviderRef;
}

/// The values a completion function may return.
pub trait IntoCompletionValues {
    /// Performs the conversion.
    ///
    /// # Errors
    /// The function's error.
    fn into_completion_values(self) -> Result<Vec<String>, McpError>;
}

impl IntoCompletionValues for Vec<String> {
    fn into_completion_values(self) -> Result<Vec<String>, McpError> {
        Ok(self)
    }
}

impl IntoCompletionValues for Vec<&'static str> {
    fn into_completion_values(self) -> Result<Vec<String>, McpError> {
        Ok(self.into_iter().map(str::to_owned).collect())
    }
}

impl<T: IntoCompletionValues> IntoCompletionValues for Result<T, McpError> {
    fn into_completion_values(self) -> Result<Vec<String>, McpError> {
        self.and_then(IntoCompletionValues::into_completion_values)
    }
}

#[doc(hidden)]
#[derive(Debug)]
pub enum ProviderMarker {}

#[doc(hidden)]
#[derive(Debug)]
pub enum ValueFnMarker {}

#[doc(hidden)]
#[derive(Debug)]
pub enum ContextFnMarker {}

impl<P: CompletionProvider> IntoCompletionProvider<ProviderMarker> for P {
    fn into_completion_provider(self) -> CompletionProviderRef {
        Arc::new(self)
    }
}

struct ValueFn<F>(F);

#[async_trait]
impl<F, Fut> CompletionProvider for ValueFn<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoCompletionValues,
{
    async fn complete(
        &self,
        _ctx: &RequestContext,
        value: &str,
        _context: &CompletionContext,
    ) -> Result<Vec<String>, McpError> {
        (self.0)(value.to_owned()).await.into_completion_values()
    }
}

impl<F, Fut> IntoCompletionProvider<(ValueFnMarker, Fut)> for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoCompletionValues,
{
    fn into_completion_provider(self) -> CompletionProviderRef {
        Arc::new(ValueFn(self))
    }
}

struct ContextFn<F>(F);

#[async_trait]
impl<F, Fut> CompletionProvider for ContextFn<F>
where
    F: Fn(String, CompletionContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoCompletionValues,
{
    async fn complete(
        &self,
        _ctx: &RequestContext,
        value: &str,
        context: &CompletionContext,
    ) -> Result<Vec<String>, McpError> {
        (self.0)(value.to_owned(), context.clone())
            .await
            .into_completion_values()
    }
}

impl<F, Fut> IntoCompletionProvider<(ContextFnMarker, Fut)> for F
where
    F: Fn(String, CompletionContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoCompletionValues,
{
    fn into_completion_provider(self) -> CompletionProviderRef {
        Arc::new(ContextFn(self))
    }
}
