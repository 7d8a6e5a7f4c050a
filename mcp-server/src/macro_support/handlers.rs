//! Handlers: the generated closures, adapted to the handler traits.

use crate::context::RequestContext;
use crate::error::McpError;
use mcp_rs_core::schema::JsonObject;

use super::UriVars;
use crate::prompt::PromptHandler;
use crate::resource::{ResourceHandler, ResourceTemplateHandler};
use crate::tool::ToolHandler;
use async_trait::async_trait;
use mcp_rs_core::schema::{CallToolResult, GetPromptResult, ReadResourceResult};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;

/// A tool handler from a closure (see [`tool_handler`]).
pub struct FnToolHandler<F>(F);

/// Wraps the closure the macro generates around a tool function.
pub fn tool_handler<F, Fut>(f: F) -> FnToolHandler<F>
where
    F: Fn(RequestContext, JsonObject) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CallToolResult, McpError>> + Send + 'static,
{
    FnToolHandler(f)
}

#[async_trait]
impl<F, Fut> ToolHandler for FnToolHandler<F>
where
    F: Fn(RequestContext, JsonObject) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CallToolResult, McpError>> + Send + 'static,
{
    async fn call(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<CallToolResult, McpError> {
        (self.0)(ctx, args).await
    }
}

/// A resource handler from a closure (see [`resource_handler`]).
pub struct FnResourceHandler<F>(F);

/// Wraps the closure the macro generates around a resource function.
pub fn resource_handler<F, Fut>(f: F) -> FnResourceHandler<F>
where
    F: Fn(RequestContext, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
{
    FnResourceHandler(f)
}

#[async_trait]
impl<F, Fut> ResourceHandler for FnResourceHandler<F>
where
    F: Fn(RequestContext, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
{
    async fn read(&self, ctx: RequestContext, uri: String) -> Result<ReadResourceResult, McpError> {
        (self.0)(ctx, uri).await
    }
}

/// A resource template handler from a closure (see [`template_handler`]).
pub struct FnTemplateHandler<F>(F);

/// Wraps the closure the macro generates around a resource template function.
pub fn template_handler<F, Fut>(f: F) -> FnTemplateHandler<F>
where
    F: Fn(RequestContext, String, UriVars) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
{
    FnTemplateHandler(f)
}

#[async_trait]
impl<F, Fut> ResourceTemplateHandler for FnTemplateHandler<F>
where
    F: Fn(RequestContext, String, UriVars) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, McpError>> + Send + 'static,
{
    async fn read(
        &self,
        ctx: RequestContext,
        uri: String,
        vars: HashMap<String, String>,
    ) -> Result<ReadResourceResult, McpError> {
        (self.0)(ctx, uri, vars).await
    }
}

/// A prompt handler from a closure (see [`prompt_handler`]).
pub struct FnPromptHandler<F>(F);

/// Wraps the closure the macro generates around a prompt function.
pub fn prompt_handler<F, Fut>(f: F) -> FnPromptHandler<F>
where
    F: Fn(RequestContext, JsonObject) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<GetPromptResult, McpError>> + Send + 'static,
{
    FnPromptHandler(f)
}

#[async_trait]
impl<F, Fut> PromptHandler for FnPromptHandler<F>
where
    F: Fn(RequestContext, JsonObject) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<GetPromptResult, McpError>> + Send + 'static,
{
    async fn get(
        &self,
        ctx: RequestContext,
        args: Map<String, Value>,
    ) -> Result<GetPromptResult, McpError> {
        (self.0)(ctx, args).await
    }
}

macro_rules! debug_fn {
    ($($t:ident),*) => {$(
        impl<F> fmt::Debug for $t<F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "(<fn>)"))
            }
        }
    )*};
}
debug_fn!(
    FnToolHandler,
    FnResourceHandler,
    FnTemplateHandler,
    FnPromptHandler
);
