//! The built-in authorization server example: an MCP server over Streamable HTTP that is its own
//! OAuth 2.1 authorization server. MCP clients (Claude, `mcp-remote`, the SDKs) discover it,
//! register (RFC 7591), and run the authorization-code flow with PKCE; the user is signed in by
//! the reverse proxy in front of the server (oauth2-proxy, nginx `auth_request`, a corporate
//! SSO gateway), which sets `X-Forwarded-User` / `-Email` / `-Groups`. The server mints its own
//! short-lived ES256 access tokens (key persisted in a private JWK file) and validates them with
//! the same [`AuthorizationLayer`] as any other token.
//!
//! | item | needs |
//! |---|---|
//! | tool `whoami` | any valid token |
//! | tool `list_notes` | `mcp:read` |
//! | tool `add_note` | `mcp:write` |
//!
//! Groups map to scopes by configuration ([`Config::group_scopes`]). Proxy headers are read
//! only from the configured trusted proxy addresses; from anywhere else `/authorize` answers
//! `403`.
//!
//! Layers, outermost first: CORS → Host/Origin guard → RFC 9728 protected resource metadata →
//! [`AuthServerLayer`] (metadata, `/register`, `/authorize`, `/consent`, `/token`,
//! `/jwks.json`) → [`AuthorizationLayer`] → the MCP service.

use mcp_rs_server::auth::server::forwarded::ForwardedAuth;
use mcp_rs_server::auth::server::keys::SigningKeys;
use mcp_rs_server::auth::server::{AuthServerConfig, AuthServerLayer};
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
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// The scopes this server knows: advertised, and the only ones clients may request.
pub const SCOPES: [&str; 2] = ["mcp:read", "mcp:write"];

/// The default group → scopes mapping.
pub const DEFAULT_GROUP_SCOPES: &str = "mcp-users=mcp:read;mcp-admins=mcp:read mcp:write";

/// Configuration, normally from the environment (see [`Config::from_env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `MCP_PUBLIC_URL`: the endpoint's public URL (the RFC 9728 `resource` and the tokens'
    /// `aud`), default `http://localhost:8000/mcp`. Its origin is the authorization server's
    /// issuer; its path is the MCP endpoint.
    pub public_url: String,
    /// `MCP_LISTEN`: default `127.0.0.1:8000`.
    pub listen: String,
    /// `MCP_ALLOWED_HOSTS`: extra `Host` values to accept, comma-separated (the public URL's
    /// host and localhost names are always accepted).
    pub allowed_hosts: Vec<String>,
    /// `OAUTH_TRUSTED_PROXIES` (required): addresses or CIDR networks of the reverse proxy,
    /// comma-separated. Only requests from these peers may carry the identity headers.
    pub trusted_proxies: Vec<String>,
    /// `OAUTH_KEY_FILE`: the private JWK Set file of the signing keys, created (mode 0600) when
    /// missing; default `oauth-server-keys.json`.
    pub key_file: PathBuf,
    /// `OAUTH_GROUP_SCOPES`: `group=scope scope;group=scope`, default
    /// [`DEFAULT_GROUP_SCOPES`]. Scopes must be in [`SCOPES`].
    pub group_scopes: Vec<(String, Vec<String>)>,
    /// `OAUTH_DEFAULT_SCOPES`: scopes every signed-in user gets, space-separated (default none).
    pub default_scopes: Vec<String>,
    /// `OAUTH_USER_HEADER` / `OAUTH_EMAIL_HEADER` / `OAUTH_GROUPS_HEADER`: other header names
    /// (e.g. `X-Auth-Request-User` with nginx `auth_request`); default the `X-Forwarded-*` ones.
    pub headers: [Option<String>; 3],
    /// `OAUTH_ACCESS_TOKEN_TTL`: access-token lifetime in seconds (30–3600, default 300).
    pub access_token_ttl: Option<u64>,
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

fn invalid(msg: String) -> ConfigError {
    ConfigError::Invalid(msg)
}

/// Parses `group=scope scope;group=scope`; every scope must be in [`SCOPES`].
fn parse_group_scopes(spec: &str) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    let mut out = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((group, scopes)) = entry.split_once('=') else {
            return Err(invalid(format!(
                "OAUTH_GROUP_SCOPES: `{entry}` is not `group=scope scope`"
            )));
        };
        let scopes = parse_scopes("OAUTH_GROUP_SCOPES", scopes)?;
        let group = group.trim();
        if group.is_empty() {
            return Err(invalid(format!(
                "OAUTH_GROUP_SCOPES: `{entry}` has no group"
            )));
        }
        out.push((group.to_owned(), scopes));
    }
    Ok(out)
}

fn parse_scopes(option: &str, value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split_ascii_whitespace()
        .map(|s| {
            if SCOPES.contains(&s) {
                Ok(s.to_owned())
            } else {
                Err(invalid(format!(
                    "{option}: unknown scope `{s}` (known: {})",
                    SCOPES.join(", ")
                )))
            }
        })
        .collect()
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// See [`from_vars`](Self::from_vars).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var`; empty values count as unset.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] without `OAUTH_TRUSTED_PROXIES`; [`ConfigError::Invalid`] for a
    /// malformed scope mapping, an unknown scope or a non-numeric TTL.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let trusted_proxies = list(var("OAUTH_TRUSTED_PROXIES"));
        if trusted_proxies.is_empty() {
            return Err(ConfigError::Missing("OAUTH_TRUSTED_PROXIES"));
        }
        let access_token_ttl = match var("OAUTH_ACCESS_TOKEN_TTL") {
            None => None,
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                invalid("OAUTH_ACCESS_TOKEN_TTL must be a number of seconds".into())
            })?),
        };
        Ok(Config {
            public_url: var("MCP_PUBLIC_URL")
                .unwrap_or_else(|| "http://localhost:8000/mcp".to_owned()),
            listen: var("MCP_LISTEN").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
            allowed_hosts: list(var("MCP_ALLOWED_HOSTS")),
            trusted_proxies,
            key_file: var("OAUTH_KEY_FILE")
                .map_or_else(|| PathBuf::from("oauth-server-keys.json"), PathBuf::from),
            group_scopes: parse_group_scopes(
                &var("OAUTH_GROUP_SCOPES").unwrap_or_else(|| DEFAULT_GROUP_SCOPES.to_owned()),
            )?,
            default_scopes: parse_scopes(
                "OAUTH_DEFAULT_SCOPES",
                &var("OAUTH_DEFAULT_SCOPES").unwrap_or_default(),
            )?,
            headers: [
                var("OAUTH_USER_HEADER"),
                var("OAUTH_EMAIL_HEADER"),
                var("OAUTH_GROUPS_HEADER"),
            ],
            access_token_ttl,
        })
    }

    /// The public URL parsed, and its origin (the authorization server's issuer).
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

    /// The trusted-proxy authentication for this configuration.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a bad proxy address or header name.
    pub fn forwarded(&self) -> Result<ForwardedAuth, ConfigError> {
        let mut auth = ForwardedAuth::new()
            .trusted_proxies(&self.trusted_proxies)?
            .default_scopes(self.default_scopes.clone());
        for (group, scopes) in &self.group_scopes {
            auth = auth.group_scopes(group.clone(), scopes.clone());
        }
        let name = |v: &str| {
            http::HeaderName::from_bytes(v.trim().as_bytes())
                .map_err(|_| invalid(format!("`{v}` is not a valid header name")))
        };
        if let Some(h) = &self.headers[0] {
            auth = auth.user_header(name(h)?);
        }
        if let Some(h) = &self.headers[1] {
            auth = auth.email_header(name(h)?);
        }
        if let Some(h) = &self.headers[2] {
            auth = auth.groups_header(name(h)?);
        }
        Ok(auth)
    }
}

/// One note.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Note {
    /// Sequence number.
    pub id: u64,
    /// The text.
    pub text: String,
    /// Subject of the user who added it.
    pub author: String,
}

/// The notes, as returned by `list_notes`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoteList {
    /// All notes, oldest first.
    pub notes: Vec<Note>,
}

/// What `whoami` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Identity {
    /// The user (`sub`: the proxy's user header).
    pub subject: String,
    /// The OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// The granted scopes, sorted.
    pub scopes: Vec<String>,
}

/// The server's state: an in-memory notebook shared by every session.
#[derive(Debug, Default)]
pub struct Notebook {
    notes: Mutex<Vec<Note>>,
}

impl Notebook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Note>> {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn caller(ctx: &RequestContext) -> Result<&OAuthContext, ToolError> {
    ctx.oauth()
        .ok_or_else(|| ToolError::new("no verified identity on this request"))
}

#[mcp_server]
impl Notebook {
    /// Who am I? The subject, client and scopes of the access token.
    #[mcp_tool(read_only)]
    async fn whoami(&self, ctx: RequestContext) -> Result<Json<Identity>, ToolError> {
        let who = caller(&ctx)?;
        let mut scopes: Vec<String> = who.scopes.iter().map(str::to_owned).collect();
        scopes.sort();
        Ok(Json(Identity {
            subject: who.subject.clone(),
            client_id: who.client_id.clone(),
            scopes,
        }))
    }

    /// List the notes (needs `mcp:read`).
    #[mcp_tool(read_only, scopes = ["mcp:read"])]
    async fn list_notes(&self) -> Json<NoteList> {
        Json(NoteList {
            notes: self.lock().clone(),
        })
    }

    /// Add a note (needs `mcp:write`).
    #[mcp_tool(scopes = ["mcp:write"])]
    async fn add_note(
        &self,
        ctx: RequestContext,
        /// The text of the note (at most 1,000 characters).
        text: String,
    ) -> Result<String, ToolError> {
        let author = caller(&ctx)?.subject.clone();
        if text.trim().is_empty() || text.chars().count() > 1000 {
            return Err(ToolError::new("the note must have 1 to 1,000 characters"));
        }
        let mut notes = self.lock();
        if notes.len() >= 10_000 {
            return Err(ToolError::new("the notebook is full"));
        }
        let id = notes.last().map_or(1, |n| n.id + 1);
        notes.push(Note { id, text, author });
        Ok(format!("note {id} added"))
    }
}

/// The MCP server (tools) without transport.
#[must_use]
pub fn server() -> Server {
    Server::builder()
        .name("oauth-server-example")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "A shared notebook: list_notes needs mcp:read, add_note mcp:write. \
             Sign in through your organisation's proxy when the browser opens.",
        )
        .with_handler(Notebook::default())
        .build()
}

/// Serves the example on `listener` until `shutdown` resolves.
///
/// # Errors
/// A configuration error (bad URL, proxy address or header name; unusable key file) before
/// serving.
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
    let keys = SigningKeys::load_or_generate(&config.key_file)?;
    let mut auth_server = AuthServerConfig::builtin(&origin, &config.public_url, keys.clone())?
        .forwarded(config.forwarded()?)
        .scopes_supported(SCOPES)
        .metadata_path_suffix(url.path());
    if let Some(ttl) = config.access_token_ttl {
        auth_server = auth_server.access_token_ttl(Duration::from_secs(ttl));
    }
    let metadata = ProtectedResourceMetadata::new(config.public_url.clone())
        .authorization_server(origin.clone())
        .scopes_supported(SCOPES)
        .bearer_methods_supported(["header"])
        .resource_name("mcp-rs built-in authorization server example");
    let prm = ResourceMetadataLayer::try_new(metadata)?;
    let validator = keys.validator(&origin, &config.public_url)?;
    let auth = AuthorizationLayer::new(validator, &config.public_url)?.challenge_scopes(SCOPES);
    let mcp = StreamableHttpService::new(server(), http.clone());
    let service = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(&http))
        .layer(HostGuardLayer::from_config(&http))
        .layer(prm)
        .layer(AuthServerLayer::new(auth_server))
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
    fn trusted_proxies_are_required_and_defaults_apply() {
        assert_eq!(
            Config::from_vars(vars(&[])),
            Err(ConfigError::Missing("OAUTH_TRUSTED_PROXIES"))
        );
        let c = Config::from_vars(vars(&[("OAUTH_TRUSTED_PROXIES", "10.0.0.0/8, ::1")])).unwrap();
        assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "::1"]);
        assert_eq!(c.public_url, "http://localhost:8000/mcp");
        assert_eq!(c.listen, "127.0.0.1:8000");
        assert_eq!(c.key_file, PathBuf::from("oauth-server-keys.json"));
        assert_eq!(
            c.group_scopes,
            [
                ("mcp-users".to_owned(), vec!["mcp:read".to_owned()]),
                (
                    "mcp-admins".to_owned(),
                    vec!["mcp:read".to_owned(), "mcp:write".to_owned()]
                ),
            ]
        );
        assert!(c.default_scopes.is_empty());
        assert_eq!(
            c.forwarded().unwrap().all_scopes(),
            ["mcp:read", "mcp:write"]
        );
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let cases: [(&'static [(&'static str, &'static str)], &str); 5] = [
            (
                &[
                    ("OAUTH_TRUSTED_PROXIES", "1.2.3.4"),
                    ("OAUTH_GROUP_SCOPES", "admins"),
                ],
                "invalid configuration: OAUTH_GROUP_SCOPES: `admins` is not `group=scope scope`",
            ),
            (
                &[
                    ("OAUTH_TRUSTED_PROXIES", "1.2.3.4"),
                    ("OAUTH_GROUP_SCOPES", "a=mcp:admin"),
                ],
                "invalid configuration: OAUTH_GROUP_SCOPES: unknown scope `mcp:admin` (known: mcp:read, mcp:write)",
            ),
            (
                &[
                    ("OAUTH_TRUSTED_PROXIES", "1.2.3.4"),
                    ("OAUTH_GROUP_SCOPES", "=mcp:read"),
                ],
                "invalid configuration: OAUTH_GROUP_SCOPES: `=mcp:read` has no group",
            ),
            (
                &[
                    ("OAUTH_TRUSTED_PROXIES", "1.2.3.4"),
                    ("OAUTH_DEFAULT_SCOPES", "openid"),
                ],
                "invalid configuration: OAUTH_DEFAULT_SCOPES: unknown scope `openid` (known: mcp:read, mcp:write)",
            ),
            (
                &[
                    ("OAUTH_TRUSTED_PROXIES", "1.2.3.4"),
                    ("OAUTH_ACCESS_TOKEN_TTL", "5m"),
                ],
                "invalid configuration: OAUTH_ACCESS_TOKEN_TTL must be a number of seconds",
            ),
        ];
        for (pairs, message) in cases {
            assert_eq!(
                Config::from_vars(vars(pairs)).unwrap_err().to_string(),
                message
            );
        }
        let c = Config::from_vars(vars(&[
            ("OAUTH_TRUSTED_PROXIES", "proxy.internal"),
            ("OAUTH_USER_HEADER", "X-Auth-Request-User"),
        ]))
        .unwrap();
        assert_eq!(
            c.forwarded().unwrap_err().to_string(),
            "invalid configuration: trusted proxy `proxy.internal` is not an IP address or CIDR network"
        );
        let c = Config::from_vars(vars(&[
            ("OAUTH_TRUSTED_PROXIES", "1.2.3.4"),
            ("OAUTH_GROUPS_HEADER", "bad header"),
        ]))
        .unwrap();
        assert_eq!(
            c.forwarded().unwrap_err().to_string(),
            "invalid configuration: `bad header` is not a valid header name"
        );
    }
}
