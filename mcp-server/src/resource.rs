//! Resources and resource templates: handler traits, registration records and
//! return-value conversions ([`IntoReadResourceResult`]).
//!
//! ```
//! use mcp_rs_server::prelude::*;
//! use mcp_rs_server::resource::{ResourceDef, ResourceTemplateDef};
//!
//! let config = ResourceDef::builder("config://app", "config")
//!     .mime_type("application/json")
//!     .handler_fn(|_ctx, _uri| async { "{}" });
//! let profile = ResourceTemplateDef::builder("users://{id}/profile", "profile")
//!     .handler_fn(|_ctx, _uri, vars| async move { format!("profile of {}", vars["id"]) });
//! let server = Server::builder().resource(config).resource_template(profile).build();
//! # let _ = server;
//! ```

use crate::completion::{CompletionProvider, Completions};
use crate::context::RequestContext;
use crate::error::McpError;
use crate::scope::ScopeRequirement;
use crate::tool::Json;
use async_trait::async_trait;
use base64::Engine as _;
use mcp_rs_core::schema::{
    Annotations, Icon, Meta, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Reads one fixed resource.
#[async_trait]
pub trait ResourceHandler: Send + Sync + 'static {
    /// Reads the resource at `uri`.
    async fn read(&self, ctx: RequestContext, uri: String) -> Result<ReadResourceResult, McpError>;
}

/// Reads resources matching a URI template; `vars` holds the template variables.
#[async_trait]
pub trait ResourceTemplateHandler: Send + Sync + 'static {
    /// Reads the resource at `uri`.
    async fn read(
        &self,
        ctx: RequestContext,
        uri: String,
        vars: HashMap<String, String>,
    ) -> Result<ReadResourceResult, McpError>;
}

/// A fixed resource and how to read it.
#[derive(Clone)]
pub struct ResourceDef {
    /// The resource as listed by `resources/list`.
    pub resource: Resource,
    /// Reads it.
    pub handler: Arc<dyn ResourceHandler>,
    /// Scopes a caller needs.
    pub scopes: Option<ScopeRequirement>,
    /// Where it was defined (`file:line`).
    pub location: Option<&'static str>,
}

/// A resource template and how to read matching URIs.
#[derive(Clone)]
pub struct ResourceTemplateDef {
    /// The template as listed by `resources/templates/list`.
    pub template: ResourceTemplate,
    /// Reads matching URIs.
    pub handler: Arc<dyn ResourceTemplateHandler>,
    /// Scopes a caller needs.
    pub scopes: Option<ScopeRequirement>,
    /// Completion providers for template variables.
    pub completions: Completions,
    /// Where it was defined (`file:line`).
    pub location: Option<&'static str>,
}

impl fmt::Debug for ResourceDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceDef")
            .field("resource", &self.resource)
            .field("scopes", &self.scopes)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ResourceTemplateDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplateDef")
            .field("template", &self.template)
            .field("scopes", &self.scopes)
            .field(
                "completions",
                &self.completions.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl ResourceDef {
    /// A definition from a resource description and a handler.
    pub fn new(resource: Resource, handler: impl ResourceHandler) -> Self {
        ResourceDef {
            resource,
            handler: Arc::new(handler),
            scopes: None,
            location: None,
        }
    }

    /// Starts building the resource at `uri` named `name`.
    pub fn builder(uri: impl Into<String>, name: impl Into<String>) -> ResourceBuilder {
        ResourceBuilder {
            resource: Resource::new(uri, name),
            scopes: None,
        }
    }
}

impl ResourceTemplateDef {
    /// A definition from a template description and a handler.
    pub fn new(template: ResourceTemplate, handler: impl ResourceTemplateHandler) -> Self {
        ResourceTemplateDef {
            template,
            handler: Arc::new(handler),
            scopes: None,
            completions: Vec::new(),
            location: None,
        }
    }

    /// Starts building a template (`users://{id}/profile`) named `name`.
    pub fn builder(
        uri_template: impl Into<String>,
        name: impl Into<String>,
    ) -> ResourceTemplateBuilder {
        ResourceTemplateBuilder {
            template: ResourceTemplate::new(uri_template, name),
            scopes: None,
            completions: Vec::new(),
        }
    }
}

/// Builds a [`ResourceDef`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ResourceBuilder {
    resource: Resource,
    scopes: Option<ScopeRequirement>,
}

impl ResourceBuilder {
    /// Display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.resource.title = Some(title.into());
        self
    }

    /// Description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.resource.description = Some(description.into());
        self
    }

    /// MIME type (also the default MIME type of the contents).
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.resource.mime_type = Some(mime_type.into());
        self
    }

    /// Size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.resource.size = Some(size);
        self
    }

    /// Annotations.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.resource.annotations = Some(annotations);
        self
    }

    /// Icons.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.resource.icons = Some(icons);
        self
    }

    /// `_meta`.
    pub fn meta(mut self, meta: Meta) -> Self {
        self.resource.meta = Some(meta);
        self
    }

    /// Requires `scopes` to read it.
    pub fn scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Finishes with a handler object.
    pub fn handler(self, handler: impl ResourceHandler) -> ResourceDef {
        ResourceDef {
            resource: self.resource,
            handler: Arc::new(handler),
            scopes: self.scopes,
            location: None,
        }
    }

    /// Finishes with an async closure `(ctx, uri) -> impl IntoReadResourceResult`.
    pub fn handler_fn<F, Fut, R>(self, f: F) -> ResourceDef
    where
        F: Fn(RequestContext, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReadResourceResult + Send + 'static,
    {
        let mime = self.resource.mime_type.clone();
        self.handler(FnResource { f, mime })
    }
}

struct FnResource<F> {
    f: F,
    mime: Option<String>,
}

#[async_trait]
impl<F, Fut, R> ResourceHandler for FnResource<F>
where
    F: Fn(RequestContext, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoReadResourceResult + Send + 'static,
{
    async fn read(&self, ctx: RequestContext, uri: String) -> Result<ReadResourceResult, McpError> {
        let out = (self.f)(ctx, uri.clone()).await;
        out.into_read_resource_result(&uri, self.mime.as_deref())
    }
}

/// Builds a [`ResourceTemplateDef`].
#[must_use]
pub struct ResourceTemplateBuilder {
    template: ResourceTemplate,
    scopes: Option<ScopeRequirement>,
    completions: Completions,
}

impl fmt::Debug for ResourceTemplateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplateBuilder")
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl ResourceTemplateBuilder {
    /// Display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.template.title = Some(title.into());
        self
    }

    /// Description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.template.description = Some(description.into());
        self
    }

    /// MIME type of matching resources.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.template.mime_type = Some(mime_type.into());
        self
    }

    /// Annotations.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.template.annotations = Some(annotations);
        self
    }

    /// Icons.
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.template.icons = Some(icons);
        self
    }

    /// `_meta`.
    pub fn meta(mut self, meta: Meta) -> Self {
        self.template.meta = Some(meta);
        self
    }

    /// Requires `scopes` to read matching resources.
    pub fn scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Completes the template variable `variable` with `provider`.
    pub fn complete(
        mut self,
        variable: impl Into<String>,
        provider: impl CompletionProvider,
    ) -> Self {
        self.completions.push((variable.into(), Arc::new(provider)));
        self
    }

    /// Finishes with a handler object.
    pub fn handler(self, handler: impl ResourceTemplateHandler) -> ResourceTemplateDef {
        ResourceTemplateDef {
            template: self.template,
            handler: Arc::new(handler),
            scopes: self.scopes,
            completions: self.completions,
            location: None,
        }
    }

    /// Finishes with an async closure `(ctx, uri, vars) -> impl IntoReadResourceResult`.
    pub fn handler_fn<F, Fut, R>(self, f: F) -> ResourceTemplateDef
    where
        F: Fn(RequestContext, String, HashMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReadResourceResult + Send + 'static,
    {
        let mime = self.template.mime_type.clone();
        self.handler(FnTemplate { f, mime })
    }
}

struct FnTemplate<F> {
    f: F,
    mime: Option<String>,
}

#[async_trait]
impl<F, Fut, R> ResourceTemplateHandler for FnTemplate<F>
where
    F: Fn(RequestContext, String, HashMap<String, String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoReadResourceResult + Send + 'static,
{
    async fn read(
        &self,
        ctx: RequestContext,
        uri: String,
        vars: HashMap<String, String>,
    ) -> Result<ReadResourceResult, McpError> {
        let out = (self.f)(ctx, uri.clone(), vars).await;
        out.into_read_resource_result(&uri, self.mime.as_deref())
    }
}

/// Converts a resource handler's return value into a `resources/read` result.
pub trait IntoReadResourceResult {
    /// Performs the conversion; `uri` and `mime_type` fill the contents' fields.
    ///
    /// # Errors
    /// A protocol error to answer the request with.
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError>;
}

impl IntoReadResourceResult for ReadResourceResult {
    fn into_read_resource_result(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        Ok(self)
    }
}

impl IntoReadResourceResult for ResourceContents {
    fn into_read_resource_result(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        Ok(ReadResourceResult::new(vec![self]))
    }
}

impl IntoReadResourceResult for Vec<ResourceContents> {
    fn into_read_resource_result(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        Ok(ReadResourceResult::new(self))
    }
}

impl IntoReadResourceResult for String {
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        let mime = Some(mime_type.unwrap_or("text/plain").to_owned());
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            uri, mime, self,
        )]))
    }
}

impl IntoReadResourceResult for &str {
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        self.to_owned().into_read_resource_result(uri, mime_type)
    }
}

impl IntoReadResourceResult for Vec<u8> {
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        blob(&self, uri, mime_type)
    }
}

impl IntoReadResourceResult for bytes::Bytes {
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        blob(&self, uri, mime_type)
    }
}

fn blob(data: &[u8], uri: &str, mime_type: Option<&str>) -> Result<ReadResourceResult, McpError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mime = Some(mime_type.unwrap_or("application/octet-stream").to_owned());
    Ok(ReadResourceResult::new(vec![ResourceContents::blob(
        uri, mime, encoded,
    )]))
}

impl<T: Serialize> IntoReadResourceResult for Json<T> {
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        let text = serde_json::to_string(&self.0).map_err(McpError::internal)?;
        let mime = Some(mime_type.unwrap_or("application/json").to_owned());
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            uri, mime, text,
        )]))
    }
}

impl<T: IntoReadResourceResult> IntoReadResourceResult for Result<T, McpError> {
    fn into_read_resource_result(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        self.and_then(|v| v.into_read_resource_result(uri, mime_type))
    }
}

/// A handler that needs client input returns it as an error result: see
/// [`InputRequired`](crate::protocol::mrtr::InputRequired).
impl IntoReadResourceResult for crate::protocol::mrtr::InputRequired {
    fn into_read_resource_result(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<ReadResourceResult, McpError> {
        Err(self.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json(r: impl IntoReadResourceResult, mime: Option<&str>) -> serde_json::Value {
        serde_json::to_value(r.into_read_resource_result("a://x", mime).unwrap()).unwrap()
    }

    #[test]
    fn conversions() {
        assert_eq!(
            to_json("hi", None),
            json!({"contents":[{"uri":"a://x","mimeType":"text/plain","text":"hi"}]})
        );
        assert_eq!(
            to_json(String::from("{}"), Some("application/json")),
            json!({"contents":[{"uri":"a://x","mimeType":"application/json","text":"{}"}]})
        );
        assert_eq!(
            to_json(vec![1u8, 2, 3], None),
            json!({"contents":[{"uri":"a://x","mimeType":"application/octet-stream","blob":"AQID"}]})
        );
        assert_eq!(
            to_json(Json(json!({"a":1})), None)["contents"][0]["text"],
            "{\"a\":1}"
        );
        let err: Result<String, McpError> = Err(McpError::resource_not_found("a://x"));
        assert_eq!(
            err.into_read_resource_result("a://x", None)
                .unwrap_err()
                .code(),
            -32002
        );
    }
}
