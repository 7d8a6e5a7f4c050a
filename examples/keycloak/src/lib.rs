//! The Keycloak example: an MCP server over Streamable HTTP that accepts access tokens issued
//! by a Keycloak realm and guards its tools, resource and prompt by OAuth scope.
//!
//! | item | needs |
//! |---|---|
//! | tool `whoami` | any valid token |
//! | tool `list_notes`, resource `notes://all`, prompt `summarize_notes` | `mcp:read` |
//! | tool `add_note` | `mcp:write` |
//! | tool `reset_notes` | `mcp:admin` |
//!
//! The binary (`src/main.rs`) reads [`Config::from_env`] and calls [`run`]; the integration
//! tests call the same functions with a listener bound to port 0.
//!
//! Layers, outermost first: CORS → RFC 9728 protected resource metadata (public) →
//! [`AuthorizationLayer`] (bearer token → [`OAuthContext`]) → the MCP service, whose dispatcher
//! checks each item's scopes and answers `403 insufficient_scope` when the token lacks one.

use mcp_rs_server::auth::keycloak::KeycloakConfig;
use mcp_rs_server::auth::{
    AuthorizationLayer, ConfigError, ProtectedResourceMetadata, ResourceMetadataLayer,
};
use mcp_rs_server::prelude::*;
use mcp_rs_server::transport::http::{
    CorsLayer, HttpConfig, StreamableHttpService, serve_listener,
};
use schemars::JsonSchema;
use serde::Serialize;
use std::future::Future;
use std::sync::Mutex;

/// The scopes this server knows, advertised in its metadata and in 401 challenges.
pub const SCOPES: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];

/// Configuration, normally from the environment (see [`Config::from_env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `OIDC_ISSUER`: the realm's issuer, default `http://localhost:8180/realms/mcp`.
    pub issuer: String,
    /// `OIDC_EXTRA_ISSUERS`: more accepted `iss` values, comma-separated (Keycloak puts the
    /// host a token was requested through into `iss`).
    pub extra_issuers: Vec<String>,
    /// `OIDC_JWKS_URL`: where the signing keys are; `None` discovers them from the issuer.
    pub jwks_url: Option<String>,
    /// `MCP_AUDIENCE`: the required `aud`, default `mcp-server`.
    pub audience: String,
    /// `MCP_PUBLIC_URL`: the endpoint's public URL (the RFC 9728 `resource`), default
    /// `http://localhost:8000/mcp`. Its path is the path the server answers on.
    pub public_url: String,
    /// `MCP_LISTEN`: the listen address, default `127.0.0.1:8000`.
    pub listen: String,
    /// `MCP_ALLOWED_HOSTS`: extra `Host` header values to accept, comma-separated (localhost
    /// names and the public URL's host are always accepted).
    pub allowed_hosts: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: "http://localhost:8180/realms/mcp".to_owned(),
            extra_issuers: Vec::new(),
            jwks_url: None,
            audience: "mcp-server".to_owned(),
            public_url: "http://localhost:8000/mcp".to_owned(),
            listen: "127.0.0.1:8000".to_owned(),
            allowed_hosts: Vec::new(),
        }
    }
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
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var` (a variable's value, `None` when unset); empty
    /// values count as unset.
    #[must_use]
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let d = Config::default();
        Config {
            issuer: var("OIDC_ISSUER").unwrap_or(d.issuer),
            extra_issuers: list(var("OIDC_EXTRA_ISSUERS")),
            jwks_url: var("OIDC_JWKS_URL"),
            audience: var("MCP_AUDIENCE").unwrap_or(d.audience),
            public_url: var("MCP_PUBLIC_URL").unwrap_or(d.public_url),
            listen: var("MCP_LISTEN").unwrap_or(d.listen),
            allowed_hosts: list(var("MCP_ALLOWED_HOSTS")),
        }
    }

    /// The HTTP configuration: the public URL's path as endpoint, its host accepted.
    fn http_config(&self) -> Result<HttpConfig, ConfigError> {
        let url = url::Url::parse(&self.public_url).map_err(|e| ConfigError::InvalidUrl {
            option: "MCP_PUBLIC_URL",
            message: e.to_string(),
        })?;
        let mut hosts = self.allowed_hosts.clone();
        if let Some(host) = url.host_str() {
            hosts.push(host.to_owned());
        }
        Ok(HttpConfig::default().path(url.path()).allowed_hosts(hosts))
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
    /// Keycloak's `preferred_username`, when present.
    pub username: Option<String>,
    /// The OAuth client the token was issued to (`azp`).
    pub client_id: Option<String>,
    /// The issuer (`iss`).
    pub issuer: Option<String>,
    /// The granted scopes, sorted.
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
    /// Who am I? Returns the subject, client and scopes of the access token (any valid token).
    #[mcp_tool(read_only)]
    async fn whoami(&self, ctx: RequestContext) -> Result<Json<Identity>, ToolError> {
        let who = caller(&ctx)?;
        Ok(Json(Identity {
            subject: who.subject.clone(),
            username: who
                .claim("preferred_username")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            client_id: who.client_id.clone(),
            issuer: who.issuer.clone(),
            scopes: who.scopes.iter().map(str::to_owned).collect(),
        }))
    }

    /// List the notes (needs `mcp:read`).
    #[mcp_tool(read_only, scopes = ["mcp:read"])]
    async fn list_notes(&self) -> Json<NoteList> {
        Json(self.snapshot())
    }

    /// Add a note (needs `mcp:write`).
    #[mcp_tool(scopes = ["mcp:write"])]
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

    /// Delete every note (needs `mcp:admin`).
    #[mcp_tool(destructive, scopes = ["mcp:admin"])]
    async fn reset_notes(&self) -> String {
        let removed = std::mem::take(&mut self.lock().1).len();
        format!("{removed} notes removed")
    }

    /// All notes as JSON (needs `mcp:read`).
    #[mcp_resource(uri = "notes://all", mime_type = "application/json", scopes = ["mcp:read"])]
    async fn all_notes(&self) -> Json<NoteList> {
        Json(self.snapshot())
    }

    /// Ask the model to summarise the notes (needs `mcp:read`).
    #[mcp_prompt(scopes = ["mcp:read"])]
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
        .name("keycloak-example")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "A shared notebook protected by Keycloak: list_notes needs mcp:read, add_note \
             mcp:write, reset_notes mcp:admin; whoami shows your token's identity.",
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
/// A configuration error (bad URL, issuer or audience) before serving.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let http = config.http_config()?;
    let validator = KeycloakConfig::new(config.issuer.clone(), config.audience.clone())
        .extra_issuers(config.extra_issuers.clone());
    let validator = match &config.jwks_url {
        Some(url) => validator.jwks_url(url.clone()),
        None => validator,
    }
    .validator()?;
    let metadata = ProtectedResourceMetadata::new(config.public_url.clone())
        .authorization_server(config.issuer.clone())
        .scopes_supported(SCOPES)
        .bearer_methods_supported(["header"])
        .resource_name("mcp-rs Keycloak example");
    let prm = ResourceMetadataLayer::try_new(metadata)?;
    let auth = AuthorizationLayer::new(validator, &config.public_url)?.challenge_scopes(SCOPES);
    let mcp = StreamableHttpService::new(server(), http.clone());
    let service = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(&http))
        .layer(prm)
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

    #[test]
    fn defaults_match_the_compose_file() {
        let c = Config::from_vars(|_| None);
        assert_eq!(c, Config::default());
        assert_eq!(c.issuer, "http://localhost:8180/realms/mcp");
        assert_eq!(c.public_url, "http://localhost:8000/mcp");
        assert_eq!(c.listen, "127.0.0.1:8000");
        assert_eq!(c.audience, "mcp-server");
    }

    #[test]
    fn lists_are_comma_separated_and_trimmed() {
        let c = Config::from_vars(|k| match k {
            "OIDC_EXTRA_ISSUERS" => {
                Some(" http://keycloak:8180/realms/mcp , ,http://kc/realms/mcp".into())
            }
            "MCP_ALLOWED_HOSTS" => Some("mcp.example.com".into()),
            "OIDC_JWKS_URL" => Some(" ".into()),
            _ => None,
        });
        assert_eq!(
            c.extra_issuers,
            ["http://keycloak:8180/realms/mcp", "http://kc/realms/mcp"]
        );
        assert_eq!(c.allowed_hosts, ["mcp.example.com"]);
        assert_eq!(c.jwks_url, None);
    }

    #[test]
    fn a_bad_public_url_is_a_config_error() {
        let c = Config {
            public_url: "not a url".into(),
            ..Config::default()
        };
        let err = c.http_config().unwrap_err();
        assert!(err.to_string().contains("MCP_PUBLIC_URL"), "{err}");
    }
}
