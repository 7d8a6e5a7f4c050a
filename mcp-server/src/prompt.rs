//! Prompts: the [`PromptHandler`] trait, the [`PromptDef`] registration record and
//! return-value conversions ([`IntoGetPromptResult`]).
//!
//! ```
//! use mcp_rs_server::prelude::*;
//! use mcp_rs_server::prompt::PromptDef;
//! use mcp_rs_server::completion::StaticCompletions;
//!
//! let review = PromptDef::builder("code_review")
//!     .description("Review code.")
//!     .argument("code", "The code", true)
//!     .argument("language", "Its language", false)
//!     .complete("language", StaticCompletions::new(["rust", "php"]))
//!     .handler_fn(|_ctx, args| async move {
//!         let code = args.get("code").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
//!         vec![PromptMessage::user(format!("Review this code:\n{code}"))]
//!     });
//! let server = Server::builder().prompt(review).build();
//! # let _ = server;
//! ```

use crate::completion::{CompletionProvider, Completions};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::scope::ScopeRequirement;
use async_trait::async_trait;
use mcp_rs_core::schema::{GetPromptResult, Icon, Meta, Prompt, PromptArgument, PromptMessage};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Produces a prompt's messages.
#[async_trait]
pub trait PromptHandler: Send + Sync + 'static {
    /// Renders the prompt. `args` holds the client's (string) arguments; required ones were
    /// checked by the server.
    async fn get(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<GetPromptResult, McpError>;
}

/// A prompt and how to render it.
#[derive(Clone)]
pub struct PromptDef {
    /// The prompt as listed by `prompts/list`.
    pub prompt: Prompt,
    /// Renders it.
    pub handler: Arc<dyn PromptHandler>,
    /// Scopes a caller needs.
    pub scopes: Option<ScopeRequirement>,
    /// Completion providers for arguments.
    pub completions: Completions,
    /// Where it was defined (`file:line`).
    pub location: Option<&'static str>,
}

impl fmt::Debug for PromptDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptDef")
            .field("prompt", &self.prompt)
            .field("scopes", &self.scopes)
            .field(
                "completions",
                &self.completions.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PromptDef {
    /// A definition from a prompt description and a handler.
    pub fn new(prompt: Prompt, handler: impl PromptHandler) -> Self {
        PromptDef {
            prompt,
            handler: Arc::new(handler),
            scopes: None,
            completions: Vec::new(),
            location: None,
        }
    }

    /// Starts building a prompt named `name`.
    pub fn builder(name: impl Into<String>) -> PromptBuilder {
        PromptBuilder {
            prompt: Prompt {
                name: name.into(),
                ..Default::default()
            },
            scopes: None,
            completions: Vec::new(),
        }
    }
}

/// Builds a [`PromptDef`].
#[must_use]
pub struct PromptBuilder {
    prompt: Prompt,
    scopes: Option<ScopeRequirement>,
    completions: Completions,
}

impl fmt::Debug for PromptBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptBuilder")
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

impl PromptBuilder {
    /// Display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.prompt.title = Some(title.into());
        self
    }

    /// Description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.prompt.description = Some(description.into());
        self
    }

    /// Declares an argument.
    pub fn argument(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        required: bool,
    ) -> Self {
        self.prompt
            .arguments
            .get_or_insert_with(Vec::new)
            .push(PromptArgument::new(
                name,
                Some(description.into()),
                required,
            ));
        self
    }

    /// Icons.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.prompt.icons = Some(icons);
        self
    }

    /// `_meta`.
    pub fn meta(mut self, meta: Meta) -> Self {
        self.prompt.meta = Some(meta);
        self
    }

    /// Requires `scopes` to get the prompt.
    pub fn scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Completes argument `argument` with `provider`.
    pub fn complete(
        mut self,
        argument: impl Into<String>,
        provider: impl CompletionProvider,
    ) -> Self {
        self.completions.push((argument.into(), Arc::new(provider)));
        self
    }

    /// Finishes with a handler object.
    pub fn handler(self, handler: impl PromptHandler) -> PromptDef {
        PromptDef {
            prompt: self.prompt,
            handler: Arc::new(handler),
            scopes: self.scopes,
            completions: self.completions,
            location: None,
        }
    }

    /// Finishes with an async closure `(ctx, args) -> impl IntoGetPromptResult`.
    pub fn handler_fn<F, Fut, R>(self, f: F) -> PromptDef
    where
        F: Fn(RequestContext, Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoGetPromptResult + Send + 'static,
    {
        self.handler(FnPrompt(f))
    }
}

struct FnPrompt<F>(F);

#[async_trait]
impl<F, Fut, R> PromptHandler for FnPrompt<F>
where
    F: Fn(RequestContext, Map<String, Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoGetPromptResult + Send + 'static,
{
    async fn get(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<GetPromptResult, McpError> {
        (self.0)(ctx, args).await.into_get_prompt_result()
    }
}

/// Converts a prompt handler's return value into a `prompts/get` result.
pub trait IntoGetPromptResult {
    /// Performs the conversion.
    ///
    /// # Errors
    /// A protocol error to answer the request with.
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError>;
}

impl IntoGetPromptResult for GetPromptResult {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        Ok(self)
    }
}

impl IntoGetPromptResult for Vec<PromptMessage> {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        Ok(GetPromptResult::new(None, self))
    }
}

impl IntoGetPromptResult for PromptMessage {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        Ok(GetPromptResult::new(None, vec![self]))
    }
}

impl IntoGetPromptResult for String {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        PromptMessage::user(self).into_get_prompt_result()
    }
}

impl IntoGetPromptResult for &str {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        PromptMessage::user(self).into_get_prompt_result()
    }
}

impl<T: IntoGetPromptResult> IntoGetPromptResult for Result<T, McpError> {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        self.and_then(IntoGetPromptResult::into_get_prompt_result)
    }
}

/// A handler that needs client input returns it as an error result: see
/// [`InputRequired`](crate::protocol::mrtr::InputRequired).
impl IntoGetPromptResult for crate::protocol::mrtr::InputRequired {
    fn into_get_prompt_result(self) -> Result<GetPromptResult, McpError> {
        Err(self.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversions() {
        let r = serde_json::to_value("hello".into_get_prompt_result().unwrap()).unwrap();
        assert_eq!(
            r,
            json!({"messages":[{"role":"user","content":{"type":"text","text":"hello"}}]})
        );
        let r = vec![PromptMessage::assistant("a")]
            .into_get_prompt_result()
            .unwrap();
        assert_eq!(r.messages.len(), 1);
    }
}
