//! [`ServerBuilder`]: configure a [`Server`] — identity, instructions, items, limits.

use crate::completion::{CompletionProvider, CompletionTarget};
use crate::custom::{CustomMethods, Extension, NotificationDef, RequestDef};
use crate::error::BuildError;
use crate::hooks::{Hooks, ServerHooks};
use crate::prompt::PromptDef;
use crate::protocol::ProtocolOptions;
use crate::registry::Registry;
use crate::registry::pagination::CursorCodec;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::server::{Options, Server, ServerInner};
use crate::tool::ToolDef;
use mcp_rs_core::schema::{Icon, Implementation, LoggingLevel, ServerCapabilities};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Configures a [`Server`]. Start with [`Server::builder`].
///
/// ```
/// use mcp_rs_server::prelude::*;
/// use mcp_rs_server::tool::ToolDef;
///
/// let server = Server::builder()
///     .name("calculator")
///     .version("1.0.0")
///     .instructions("Use `add` to add numbers.")
///     .page_size(20)
///     .tool(ToolDef::builder("ping").handler_fn(|_ctx, _args: serde_json::Map<String, serde_json::Value>| async { "pong" }))
///     .build();
/// assert_eq!(server.info().name, "calculator");
/// assert!(server.capabilities().tools.is_some());
/// ```
#[must_use]
pub struct ServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    capabilities: Option<ServerCapabilities>,
    defs: Definitions,
    completions: Vec<(CompletionTarget, String, Arc<dyn CompletionProvider>)>,
    discover: bool,
    options: Options,
    protocol: ProtocolOptions,
    cursor_key: Option<[u8; 32]>,
    tasks: crate::tasks::TaskConfig,
    custom: Custom,
}

/// Custom methods, extensions and hooks registered on the builder.
#[derive(Default)]
struct Custom {
    requests: Vec<RequestDef>,
    notifications: Vec<NotificationDef>,
    extensions: Vec<Extension>,
    hooks: Vec<Arc<dyn ServerHooks>>,
    hook_timeout: Option<Duration>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("info", &self.info)
            .field("tools", &self.defs.tools.len())
            .field("resources", &self.defs.resources.len())
            .field("templates", &self.defs.templates.len())
            .field("prompts", &self.defs.prompts.len())
            .field("discover", &self.discover)
            .field("custom_requests", &self.custom.requests.len())
            .field("custom_notifications", &self.custom.notifications.len())
            .field("extensions", &self.custom.extensions.len())
            .field("hooks", &self.custom.hooks.len())
            .finish_non_exhaustive()
    }
}

/// A value whose methods are MCP items, registered with [`ServerBuilder::with_handler`].
///
/// `#[mcp_server]` implements it for the type of an annotated `impl` block: each `#[mcp_tool]`,
/// `#[mcp_resource]`, `#[mcp_resource_template]` and `#[mcp_prompt]` method becomes one
/// definition whose handler shares the value. Implement it by hand to register a group of
/// hand-built definitions that share state.
pub trait HandlerSet: Send + Sync + 'static {
    /// The definitions, each handler sharing `self`.
    fn into_defs(self: Arc<Self>) -> Definitions;
}

/// The item definitions of a [`HandlerSet`].
#[derive(Debug, Default)]
pub struct Definitions {
    /// Tools.
    pub tools: Vec<ToolDef>,
    /// Resources.
    pub resources: Vec<ResourceDef>,
    /// Resource templates.
    pub templates: Vec<ResourceTemplateDef>,
    /// Prompts.
    pub prompts: Vec<PromptDef>,
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerBuilder {
    /// A builder named `mcp-server` with this crate's version; set your own with
    /// [`name`](Self::name) and [`version`](Self::version).
    pub fn new() -> Self {
        ServerBuilder {
            info: Implementation::new("mcp-server", env!("CARGO_PKG_VERSION")),
            instructions: None,
            capabilities: None,
            defs: Definitions::default(),
            completions: Vec::new(),
            discover: false,
            options: Options::default(),
            protocol: ProtocolOptions::default(),
            cursor_key: None,
            custom: Custom::default(),
            tasks: crate::tasks::TaskConfig::default(),
        }
    }

    /// The server's programmatic name (`serverInfo.name`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.info.name = name.into();
        self
    }

    /// The server's version (`serverInfo.version`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }

    /// A display name (`serverInfo.title`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }

    /// A description (`serverInfo.description`).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// Icons (`serverInfo.icons`).
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.info.icons = Some(icons);
        self
    }

    /// The website (`serverInfo.websiteUrl`).
    pub fn website_url(mut self, url: impl Into<String>) -> Self {
        self.info.website_url = Some(url.into());
        self
    }

    /// The whole `serverInfo` at once.
    pub fn server_info(mut self, info: Implementation) -> Self {
        self.info = info;
        self
    }

    /// Instructions for the model, returned by `initialize`.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Replaces the capabilities derived from what is registered (tools, resources with
    /// `subscribe` and `listChanged`, prompts, completions, logging).
    pub fn capabilities(mut self, capabilities: ServerCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// Items per page of the list methods (default 50, minimum 1).
    pub fn page_size(mut self, size: usize) -> Self {
        self.options.page_size = size.max(1);
        self
    }

    /// How long a server→client request (sampling, elicitation, roots) may take (default 60 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// Bounds the server→client requests (sampling, elicitation, roots, any
    /// [`send_request`](crate::RequestContext::send_request)) waiting for the client's answer:
    /// at most `per_session` for one session (default 16) and `total` for the whole server
    /// (default 256; requests made outside a session count only here). Past a bound the
    /// handler's request fails at once with [`ErrorKind::TooManyPendingRequests`] and nothing
    /// is sent to the client. Each waiting request holds its handler and its message in
    /// memory until the client answers, the request times out, or the session ends.
    ///
    /// [`ErrorKind::TooManyPendingRequests`]: crate::error::ErrorKind::TooManyPendingRequests
    pub fn max_pending_requests(mut self, per_session: usize, total: usize) -> Self {
        self.options.max_pending_per_session = per_session;
        self.options.max_pending_total = total;
        self
    }

    /// Whether items with scopes are refused when the request has no verified identity
    /// (stdio, no authorization layer). Default `true`: the secure choice. Set `false` for
    /// local servers whose only caller is trusted.
    pub fn enforce_scopes_without_identity(mut self, enforce: bool) -> Self {
        self.options.enforce_scopes_without_identity = enforce;
        self
    }

    /// Whether list methods omit items the caller lacks the scopes for (default `false`):
    /// the items' own scopes, and those an [`access_policy`](Self::access_policy) names for
    /// them. Hiding is least privilege; showing lets a client discover an item and step up
    /// after a `403 insufficient_scope`.
    pub fn hide_unauthorized_items(mut self, hide: bool) -> Self {
        self.options.hide_unauthorized_items = hide;
        self
    }

    /// Applies an access policy to every request, on every transport, before the items' own
    /// scopes (see [`policy`](crate::policy)). Pass a [`PolicyHandle`](crate::policy::PolicyHandle)
    /// and keep a clone of it to replace or reload the policy while the server runs.
    pub fn access_policy(mut self, policy: impl Into<crate::policy::PolicyHandle>) -> Self {
        self.options.policy = Some(policy.into());
        self
    }

    /// The minimum level of `notifications/message` until a client calls `logging/setLevel`
    /// (default `info`).
    pub fn default_log_level(mut self, level: LoggingLevel) -> Self {
        self.options.default_log_level = level;
        self
    }

    /// The key authenticating pagination cursors. Default: random per process; set a shared
    /// secret when several replicas serve one client.
    pub fn cursor_key(mut self, key: [u8; 32]) -> Self {
        self.cursor_key = Some(key);
        self
    }

    /// Era switches and stateless-era settings.
    pub fn protocol(mut self, options: ProtocolOptions) -> Self {
        self.protocol = options;
        self
    }

    /// Settings of the tasks extension: TTL, poll interval, limits, store (see
    /// [`tasks`](crate::tasks)).
    pub fn tasks(mut self, config: crate::tasks::TaskConfig) -> Self {
        self.tasks = config;
        self
    }

    /// Registers a tool.
    pub fn tool(mut self, def: ToolDef) -> Self {
        self.defs.tools.push(def);
        self
    }

    /// Registers several tools.
    pub fn tools(mut self, defs: impl IntoIterator<Item = ToolDef>) -> Self {
        self.defs.tools.extend(defs);
        self
    }

    /// Registers a resource.
    pub fn resource(mut self, def: ResourceDef) -> Self {
        self.defs.resources.push(def);
        self
    }

    /// Registers a resource template.
    pub fn resource_template(mut self, def: ResourceTemplateDef) -> Self {
        self.defs.templates.push(def);
        self
    }

    /// Registers a prompt.
    pub fn prompt(mut self, def: PromptDef) -> Self {
        self.defs.prompts.push(def);
        self
    }

    /// Completes argument `argument` of the prompt named `prompt`.
    pub fn prompt_completion(
        mut self,
        prompt: impl Into<String>,
        argument: impl Into<String>,
        provider: impl CompletionProvider,
    ) -> Self {
        self.completions.push((
            CompletionTarget::Prompt(prompt.into()),
            argument.into(),
            Arc::new(provider),
        ));
        self
    }

    /// Completes variable `variable` of the resource template `uri_template`.
    pub fn template_completion(
        mut self,
        uri_template: impl Into<String>,
        variable: impl Into<String>,
        provider: impl CompletionProvider,
    ) -> Self {
        self.completions.push((
            CompletionTarget::ResourceTemplate(uri_template.into()),
            variable.into(),
            Arc::new(provider),
        ));
        self
    }

    /// Registers every item annotated with `#[mcp_tool]`, `#[mcp_resource]`,
    /// `#[mcp_resource_template]` or `#[mcp_prompt]` on a free function in the program.
    pub fn discover(mut self) -> Self {
        self.discover = true;
        self
    }

    /// Registers the items of an `#[mcp_server]` impl block, sharing `handler`.
    pub fn with_handler<H: HandlerSet>(mut self, handler: H) -> Self {
        let defs = Arc::new(handler).into_defs();
        self.defs.tools.extend(defs.tools);
        self.defs.resources.extend(defs.resources);
        self.defs.templates.extend(defs.templates);
        self.defs.prompts.extend(defs.prompts);
        self
    }

    /// Registers a custom request method (see [`custom`](crate::custom)).
    pub fn request(mut self, def: RequestDef) -> Self {
        self.custom.requests.push(def);
        self
    }

    /// Registers a custom notification handler (see [`custom`](crate::custom)).
    pub fn notification(mut self, def: NotificationDef) -> Self {
        self.custom.notifications.push(def);
        self
    }

    /// Registers an extension: declares its id and settings in `capabilities.extensions`
    /// (also when [`capabilities`](Self::capabilities) replaced the derived ones, unless they
    /// declare the same id) and routes its methods to their handlers.
    pub fn extension(mut self, extension: Extension) -> Self {
        self.custom.extensions.push(extension);
        self
    }

    /// Adds server hooks; several run in the order they were added (see
    /// [`hooks`](crate::hooks)).
    pub fn hook(mut self, hooks: impl ServerHooks) -> Self {
        self.custom.hooks.push(Arc::new(hooks));
        self
    }

    /// How long one hook call may take (default
    /// [`DEFAULT_HOOK_TIMEOUT`](crate::hooks::DEFAULT_HOOK_TIMEOUT), 5 s): past it the call is
    /// abandoned as described in [`hooks`](crate::hooks).
    pub fn hook_timeout(mut self, timeout: Duration) -> Self {
        self.custom.hook_timeout = Some(timeout);
        self
    }

    /// Builds the server.
    ///
    /// # Errors
    /// Duplicate names / URIs / templates (naming both definition sites), invalid tool
    /// names, invalid schemas, invalid URI templates; custom methods named like an MCP method
    /// of any version or like another custom method; invalid or duplicate extension ids.
    pub fn try_build(self) -> Result<Server, BuildError> {
        let Built {
            methods: custom,
            hooks,
            extensions,
        } = self.custom.build()?;
        let registry = Registry::default();
        let mut defs = self.defs;
        if self.discover {
            use crate::macro_support::{PROMPTS, RESOURCE_TEMPLATES, RESOURCES, TOOLS};
            defs.tools.extend(TOOLS.iter().map(|f| f()));
            defs.resources.extend(RESOURCES.iter().map(|f| f()));
            defs.templates
                .extend(RESOURCE_TEMPLATES.iter().map(|f| f()));
            defs.prompts.extend(PROMPTS.iter().map(|f| f()));
        }
        let has_tools = !defs.tools.is_empty();
        let has_task_tools = defs.tools.iter().any(|d| d.task.is_some());
        let has_resources = !defs.resources.is_empty() || !defs.templates.is_empty();
        let has_prompts = !defs.prompts.is_empty();
        let has_completions =
            !defs.templates.is_empty() || has_prompts || !self.completions.is_empty();
        for d in defs.tools {
            registry.add_tool(d)?;
        }
        for d in defs.resources {
            registry.add_resource(d)?;
        }
        for d in defs.templates {
            registry.add_template(d)?;
        }
        for d in defs.prompts {
            registry.add_prompt(d)?;
        }
        {
            let mut map = registry
                .completions
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (target, arg, provider) in self.completions {
                map.insert((target, arg), provider);
            }
        }
        let mut capabilities = self.capabilities.unwrap_or_else(|| {
            let mut caps = ServerCapabilities::default().with_logging();
            if has_tools {
                caps = caps.with_tools(true);
            }
            if has_resources {
                caps = caps.with_resources(true, true);
            }
            if has_prompts {
                caps = caps.with_prompts(true);
            }
            if has_completions {
                caps = caps.with_completions();
            }
            crate::tasks::declare(caps, has_task_tools)
        });
        if !extensions.is_empty() {
            let declared = capabilities.extensions.get_or_insert_with(Default::default);
            for (id, settings) in extensions {
                declared.entry(id).or_insert(settings);
            }
        }
        let cursors = self
            .cursor_key
            .map_or_else(CursorCodec::random, CursorCodec::new);
        let mut inner = ServerInner::new(
            self.info,
            self.instructions,
            capabilities,
            registry,
            self.options,
            self.protocol,
            cursors,
        );
        inner.custom = custom;
        inner.hooks = hooks;
        inner.tasks = Arc::new(crate::tasks::Tasks::new(self.tasks));
        Ok(Server(Arc::new(inner)))
    }

    /// Builds the server.
    ///
    /// # Panics
    /// On any [`try_build`](Self::try_build) error, with its message (e.g.
    /// `duplicate tool "add": registered at src/a.rs:10 and at src/b.rs:20`).
    #[track_caller]
    pub fn build(self) -> Server {
        match self.try_build() {
            Ok(s) => s,
            Err(e) => panic!("invalid MCP server configuration: {e}"),
        }
    }
}

/// What [`Custom::build`] makes of the registrations.
struct Built {
    /// The custom methods, the extensions' included.
    methods: CustomMethods,
    hooks: Hooks,
    /// The entries of `capabilities.extensions`.
    extensions: Vec<(String, Value)>,
}

impl Custom {
    fn build(self) -> Result<Built, BuildError> {
        let Custom {
            mut requests,
            mut notifications,
            extensions,
            hooks,
            hook_timeout,
        } = self;
        let mut declared: Vec<(String, Value, crate::custom::Site)> = Vec::new();
        for ext in extensions {
            if !crate::custom::valid_extension_id(&ext.id) {
                return Err(BuildError::InvalidExtensionId { id: ext.id });
            }
            if let Some((_, _, first)) = declared.iter().find(|(id, _, _)| *id == ext.id) {
                return Err(BuildError::Duplicate {
                    kind: "extension",
                    name: ext.id,
                    first: crate::custom::site(first),
                    second: crate::custom::site(ext.location),
                });
            }
            requests.extend(ext.requests);
            notifications.extend(ext.notifications);
            declared.push((ext.id, Value::Object(ext.settings), ext.location));
        }
        let custom = CustomMethods::new(requests, notifications)?;
        let hooks = Hooks::new(
            hooks,
            hook_timeout.unwrap_or(crate::hooks::DEFAULT_HOOK_TIMEOUT),
        );
        Ok(Built {
            methods: custom,
            hooks,
            extensions: declared
                .into_iter()
                .map(|(id, settings, _)| (id, settings))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::ToolDef;
    use serde_json::{Map, Value};

    fn tool(name: &str, location: &'static str) -> ToolDef {
        let mut d = ToolDef::builder(name).handler_fn(|_ctx, _a: Map<String, Value>| async { "x" });
        d.location = Some(location);
        d
    }

    #[test]
    fn duplicate_tools_name_both_locations() {
        let err = Server::builder()
            .tool(tool("add", "src/a.rs:1"))
            .tool(tool("add", "src/b.rs:2"))
            .try_build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate tool \"add\": registered at src/a.rs:1 and at src/b.rs:2"
        );
    }

    #[test]
    fn invalid_tool_name_is_rejected() {
        let err = Server::builder()
            .tool(tool("bad name", "x"))
            .try_build()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidToolName { .. }));
    }

    #[test]
    fn capabilities_follow_registrations() {
        let s = Server::builder().build();
        let caps = serde_json::to_value(s.capabilities()).unwrap();
        assert_eq!(caps, serde_json::json!({"logging": {}}));
        let s = Server::builder().tool(tool("a", "x")).build();
        let caps = serde_json::to_value(s.capabilities()).unwrap();
        assert_eq!(
            caps,
            serde_json::json!({"logging": {}, "tools": {"listChanged": true}})
        );
        let s = Server::builder()
            .capabilities(ServerCapabilities::default())
            .tool(tool("a", "x"))
            .build();
        assert_eq!(
            serde_json::to_value(s.capabilities()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    #[should_panic(expected = "invalid MCP server configuration: duplicate tool")]
    fn build_panics_on_duplicates() {
        let _ = Server::builder()
            .tool(tool("add", "a"))
            .tool(tool("add", "b"))
            .build();
    }
}
