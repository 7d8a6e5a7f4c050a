//! The Entra example: an MCP server over Streamable HTTP that accepts Microsoft Entra ID access
//! tokens (v2, and v1 when enabled; single- or multi-tenant) and guards its items by the
//! delegated scopes (`scp`) or app roles (`roles`) `mcp.read`, `mcp.write`, `mcp.admin`.
//!
//! Entra has neither dynamic client registration nor RFC 8707 resource indicators, and its
//! metadata does not advertise PKCE, so MCP clients cannot use it directly. The server
//! therefore fronts it with the authorization-server façade ([`AuthServerLayer`]): RFC 8414
//! metadata and RFC 7591 registration at this server's origin, a consent page per client,
//! the Entra login with the server's own callback (`/oauth/callback`), `state` and PKCE, the
//! code exchanged server-side with the confidential client secret, and a one-time code of the
//! façade for the MCP client. Access tokens are Entra's (audience: this API); refresh tokens
//! are the façade's, bound to the client.
//!
//! | item | needs (`scp` or `roles`) |
//! |---|---|
//! | tool `whoami` | any valid token |
//! | tool `list_notes`, resource `notes://all`, prompt `summarize_notes` | `mcp.read` |
//! | tool `add_note` | `mcp.write` |
//! | tool `reset_notes` | `mcp.admin` |

use mcp_rs_server::auth::entra::{DEFAULT_AUTHORITY, DEFAULT_V1_ISSUER_BASE, EntraConfig};
use mcp_rs_server::auth::server::{AuthServerConfig, AuthServerLayer, UpstreamConfig};
use mcp_rs_server::auth::{
    AuthorizationLayer, ConfigError, ProtectedResourceMetadata, ResourceMetadataLayer,
};
use mcp_rs_server::prelude::*;
use mcp_rs_server::transport::http::{
    CorsLayer, HostGuardLayer, HttpConfig, StreamableHttpService, serve_listener,
};
use schemars::JsonSchema;
use serde::Serialize;
use std::future::Future;
use std::sync::Mutex;

/// The scope (and app role) values as they appear in tokens.
pub const SCOPES: [&str; 3] = ["mcp.read", "mcp.write", "mcp.admin"];

/// Configuration, normally from the environment (see [`Config::from_env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ENTRA_TENANT_ID`: a tenant id (GUID), or `organizations` / `common` (multi-tenant, then
    /// `allowed_tenants` is required).
    pub tenant: String,
    /// `ENTRA_ALLOWED_TENANTS`: tenant ids accepted in multi-tenant mode, comma-separated.
    pub allowed_tenants: Vec<String>,
    /// `ENTRA_CLIENT_ID`: the application (client) id of the API app registration.
    pub client_id: String,
    /// `ENTRA_CLIENT_SECRET`: a client secret of that app, used by the façade in its own code
    /// exchanges and refreshes with Entra only. Never logged.
    pub client_secret: Option<String>,
    /// `ENTRA_ACCEPT_V1`: also accept v1 tokens (`1`, `true`, `yes`).
    pub accept_v1: bool,
    /// `ENTRA_AUTHORITY`: default `https://login.microsoftonline.com`.
    pub authority: String,
    /// `ENTRA_V1_ISSUER_BASE`: default `https://sts.windows.net`.
    pub v1_issuer_base: String,
    /// `MCP_PUBLIC_URL`: the endpoint's public URL (RFC 9728 `resource`), default
    /// `http://localhost:8000/mcp`; its origin is the façade's issuer.
    pub public_url: String,
    /// `MCP_LISTEN`: default `127.0.0.1:8000`.
    pub listen: String,
    /// `MCP_ALLOWED_HOSTS`: extra `Host` values to accept, comma-separated.
    pub allowed_hosts: Vec<String>,
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// `ENTRA_TENANT_ID` or `ENTRA_CLIENT_ID` is missing.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var`; empty values count as unset.
    ///
    /// # Errors
    /// `ENTRA_TENANT_ID` or `ENTRA_CLIENT_ID` is missing.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        Ok(Config {
            tenant: var("ENTRA_TENANT_ID").ok_or(ConfigError::Missing("ENTRA_TENANT_ID"))?,
            allowed_tenants: list(var("ENTRA_ALLOWED_TENANTS")),
            client_id: var("ENTRA_CLIENT_ID").ok_or(ConfigError::Missing("ENTRA_CLIENT_ID"))?,
            client_secret: var("ENTRA_CLIENT_SECRET"),
            accept_v1: var("ENTRA_ACCEPT_V1").is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
            }),
            authority: var("ENTRA_AUTHORITY").unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned()),
            v1_issuer_base: var("ENTRA_V1_ISSUER_BASE")
                .unwrap_or_else(|| DEFAULT_V1_ISSUER_BASE.to_owned()),
            public_url: var("MCP_PUBLIC_URL")
                .unwrap_or_else(|| "http://localhost:8000/mcp".to_owned()),
            listen: var("MCP_LISTEN").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
            allowed_hosts: list(var("MCP_ALLOWED_HOSTS")),
        })
    }

    /// The Entra preset for this configuration.
    pub fn entra(&self) -> EntraConfig {
        EntraConfig::new(self.tenant.clone(), self.client_id.clone())
            .accept_v1(self.accept_v1)
            .allowed_tenants(self.allowed_tenants.clone())
            .authority(self.authority.clone())
            .v1_issuer_base(self.v1_issuer_base.clone())
    }

    /// The scopes clients ask Entra for: `api://<client id>/mcp.read`, ...
    #[must_use]
    pub fn requested_scopes(&self) -> Vec<String> {
        SCOPES
            .iter()
            .map(|s| format!("api://{}/{s}", self.client_id))
            .collect()
    }

    /// The public URL parsed, and its origin (the façade's issuer).
    fn public(&self) -> Result<(url::Url, String), ConfigError> {
        let url = url::Url::parse(&self.public_url).map_err(|e| ConfigError::InvalidUrl {
            option: "MCP_PUBLIC_URL",
            message: e.to_string(),
        })?;
        let origin = url.origin().ascii_serialization();
        if origin == "null" {
            return Err(ConfigError::InvalidUrl {
                option: "MCP_PUBLIC_URL",
                message: "must be an absolute http(s) URL".to_owned(),
            });
        }
        Ok((url, origin))
    }
}

/// One note.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Note {
    /// Sequence number.
    pub id: u64,
    /// The text.
    pub text: String,
    /// Subject (`sub`) of the token that added it.
    pub author: String,
}

/// The notes, as returned by `list_notes` and the `notes://all` resource.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoteList {
    /// All notes, oldest first.
    pub notes: Vec<Note>,
}

/// What `whoami` returns: the verified identity of the caller.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Identity {
    /// The token's subject (`sub`).
    pub subject: String,
    /// The calling application (`azp` in v2, `appid` in v1).
    pub client_id: Option<String>,
    /// The tenant (`tid`).
    pub tenant: Option<String>,
    /// The issuer (`iss`; v1 and v2 differ).
    pub issuer: Option<String>,
    /// The token version (`ver`: `1.0` or `2.0`).
    pub version: Option<String>,
    /// Scopes from `scp` and roles from `roles`, merged and sorted.
    pub scopes: Vec<String>,
}

/// The server's state: an in-memory notebook shared by every session.
#[derive(Debug, Default)]
pub struct Notebook {
    notes: Mutex<(u64, Vec<Note>)>,
}

impl Notebook {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Note>)> {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn snapshot(&self) -> NoteList {
        NoteList {
            notes: self.lock().1.clone(),
        }
    }
}

fn caller(ctx: &RequestContext) -> Result<&OAuthContext, ToolError> {
    ctx.oauth()
        .ok_or_else(|| ToolError::new("no verified identity on this request"))
}

#[mcp_server]
impl Notebook {
    /// Who am I? Returns the subject, calling app, tenant and scopes of the token.
    #[mcp_tool(read_only)]
    async fn whoami(&self, ctx: RequestContext) -> Result<Json<Identity>, ToolError> {
        let who = caller(&ctx)?;
        Ok(Json(Identity {
            subject: who.subject.clone(),
            client_id: who.client_id.clone(),
            tenant: who.tenant.clone(),
            issuer: who.issuer.clone(),
            version: who.claim("ver").and_then(|v| v.as_str()).map(str::to_owned),
            scopes: who.scopes.iter().map(str::to_owned).collect(),
        }))
    }

    /// List the notes (needs `mcp.read`).
    #[mcp_tool(read_only, scopes = ["mcp.read"])]
    async fn list_notes(&self) -> Json<NoteList> {
        Json(self.snapshot())
    }

    /// Add a note (needs `mcp.write`).
    #[mcp_tool(scopes = ["mcp.write"])]
    async fn add_note(
        &self,
        ctx: RequestContext,
        /// The text of the note.
        text: String,
    ) -> Result<String, ToolError> {
        let author = caller(&ctx)?.subject.clone();
        if text.trim().is_empty() {
            return Err(ToolError::new("the note is empty"));
        }
        let mut guard = self.lock();
        let (next, notes) = &mut *guard;
        *next += 1;
        notes.push(Note {
            id: *next,
            text,
            author,
        });
        Ok(format!("note {next} added"))
    }

    /// Delete every note (needs `mcp.admin`).
    #[mcp_tool(destructive, scopes = ["mcp.admin"])]
    async fn reset_notes(&self) -> String {
        let removed = std::mem::take(&mut self.lock().1).len();
        format!("{removed} notes removed")
    }

    /// All notes as JSON (needs `mcp.read`).
    #[mcp_resource(uri = "notes://all", mime_type = "application/json", scopes = ["mcp.read"])]
    async fn all_notes(&self) -> Json<NoteList> {
        Json(self.snapshot())
    }

    /// Ask the model to summarise the notes (needs `mcp.read`).
    #[mcp_prompt(scopes = ["mcp.read"])]
    async fn summarize_notes(
        &self,
        /// Only notes about this topic.
        topic: Option<String>,
    ) -> Vec<PromptMessage> {
        let notes: Vec<String> = self
            .lock()
            .1
            .iter()
            .map(|n| format!("- {}", n.text))
            .collect();
        let ask = match topic {
            Some(t) => format!(
                "Summarise these notes, focusing on {t}:\n{}",
                notes.join("\n")
            ),
            None => format!("Summarise these notes:\n{}", notes.join("\n")),
        };
        vec![PromptMessage::user(ask)]
    }
}

/// The MCP server (tools, resource, prompt) without transport.
#[must_use]
pub fn server() -> Server {
    Server::builder()
        .name("entra-example")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "A shared notebook protected by Microsoft Entra ID: list_notes needs mcp.read, \
             add_note mcp.write, reset_notes mcp.admin (delegated scopes or app roles).",
        )
        // Least privilege: a token sees only the tools it may call (a mcp:read token does not
        // see add_note or reset_notes); calling one anyway is still 403 with a step-up challenge.
        .hide_unauthorized_items(true)
        .with_handler(Notebook::default())
        .build()
}

/// Serves the example on `listener` until `shutdown` resolves.
///
/// # Errors
/// A configuration error (bad URL, multi-tenant without allowed tenants) before serving.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (url, origin) = config.public()?;
    let mut hosts = config.allowed_hosts.clone();
    if let Some(host) = url.host_str() {
        hosts.push(host.to_owned());
    }
    let http = HttpConfig::default().path(url.path()).allowed_hosts(hosts);
    let entra = config.entra();
    let validator = entra.validator()?;
    let requested = config.requested_scopes();

    // Clients see this server as their authorization server (the façade); users sign in at
    // Entra's v2 endpoints of the configured tenant, with `offline_access` for refresh tokens.
    let mut upstream = UpstreamConfig::discover(entra.authorization_server(), &config.client_id)
        .extra_scopes(["offline_access"]);
    if let Some(secret) = &config.client_secret {
        upstream = upstream.client_secret(secret.clone());
    }
    let facade = AuthServerConfig::facade(&origin, &config.public_url, upstream)?
        .scopes_supported(
            requested
                .iter()
                .cloned()
                .chain(["offline_access".to_owned()]),
        )
        .metadata_path_suffix(url.path());
    let metadata = ProtectedResourceMetadata::new(config.public_url.clone())
        .authorization_server(origin.clone())
        .scopes_supported(requested.clone())
        .bearer_methods_supported(["header"])
        .resource_name("mcp-rs Entra example");
    let prm = ResourceMetadataLayer::try_new(metadata)?;
    let auth = AuthorizationLayer::new(validator, &config.public_url)?.challenge_scopes(requested);
    let mcp = StreamableHttpService::new(server(), http.clone());
    let service = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(&http))
        .layer(HostGuardLayer::from_config(&http))
        .layer(prm)
        .layer(AuthServerLayer::new(facade))
        .layer(auth)
        .service(mcp.clone());
    serve_listener(
        listener,
        service,
        async move {
            shutdown.await;
            mcp.close_all_sessions().await;
        },
        mcp_rs_server::transport::http::DEFAULT_GRACE_PERIOD,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn tenant_and_client_id_are_required() {
        assert_eq!(
            Config::from_vars(vars(&[("ENTRA_CLIENT_ID", "app")])),
            Err(ConfigError::Missing("ENTRA_TENANT_ID"))
        );
        assert_eq!(
            Config::from_vars(vars(&[("ENTRA_TENANT_ID", "t")])),
            Err(ConfigError::Missing("ENTRA_CLIENT_ID"))
        );
    }

    #[test]
    fn defaults_and_lists() {
        let c = Config::from_vars(vars(&[
            ("ENTRA_TENANT_ID", "organizations"),
            ("ENTRA_CLIENT_ID", "app"),
            ("ENTRA_ALLOWED_TENANTS", "t1, t2,"),
            ("ENTRA_ACCEPT_V1", "True"),
        ]))
        .unwrap();
        assert_eq!(c.authority, "https://login.microsoftonline.com");
        assert_eq!(c.v1_issuer_base, "https://sts.windows.net");
        assert_eq!(c.public_url, "http://localhost:8000/mcp");
        assert_eq!(c.listen, "127.0.0.1:8000");
        assert_eq!(c.allowed_tenants, ["t1", "t2"]);
        assert!(c.accept_v1);
        assert_eq!(c.client_secret, None);
        assert_eq!(
            c.entra().issuers(),
            [
                "https://login.microsoftonline.com/{tenantid}/v2.0",
                "https://sts.windows.net/{tenantid}/"
            ]
        );
        assert_eq!(
            c.requested_scopes(),
            [
                "api://app/mcp.read",
                "api://app/mcp.write",
                "api://app/mcp.admin"
            ]
        );
    }

    #[test]
    fn multi_tenant_without_allow_list_is_refused() {
        let c = Config::from_vars(vars(&[
            ("ENTRA_TENANT_ID", "common"),
            ("ENTRA_CLIENT_ID", "app"),
        ]))
        .unwrap();
        assert!(c.entra().validator().is_err());
    }
}
