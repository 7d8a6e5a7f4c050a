//! `policy-example`: one MCP endpoint, three kinds of callers, one access-policy file.
//!
//! * API keys (`api-keys.toml`, stored as SHA-256 digests) with roles: `ci-bot` (role `ci`)
//!   and `ops` (role `operator`);
//! * OAuth users with JWT access tokens of the configured issuer (`OAUTH_ISSUER`), by scope;
//! * users a trusted reverse proxy forwards (`X-Forwarded-User`, `X-Forwarded-Groups`), from
//!   the addresses of `TRUSTED_PROXIES` only.
//!
//! What each may do is decided by `policy.toml`, polled every `POLICY_WATCH_MS` and applied
//! without a restart:
//!
//! | tool | `ci-bot` | `ops` | OAuth `mcp:read` | OAuth `mcp:read mcp:write` |
//! |---|---|---|---|---|
//! | `whoami`, `list_notes` | allowed | allowed | allowed | allowed |
//! | `add_note` | listed, 403 (needs `mcp:write`) | allowed | listed, 403 (needs `mcp:write`) | allowed |
//! | `admin_reset` | listed, denied (JSON-RPC error) | allowed | hidden | hidden |

use mcp_rs_server::auth::{
    ApiKey, AuthorizationLayer, ConfigError, JwtValidator, ProtectedResourceMetadata,
    ResourceMetadataLayer, StaticKeyValidator, ValidatorChain, server::forwarded::ForwardedAuth,
};
use mcp_rs_server::policy::PolicyHandle;
use mcp_rs_server::prelude::*;
use mcp_rs_server::transport::http::{
    CorsLayer, HostGuardLayer, HttpConfig, StreamableHttpService, serve_listener,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The scopes OAuth users can hold.
pub const SCOPES: [&str; 2] = ["mcp:read", "mcp:write"];

/// Configuration, normally from the environment (see [`Config::from_vars`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `POLICY_FILE`: the access policy (default: this example's `policy.toml`).
    pub policy_file: PathBuf,
    /// `API_KEYS_FILE`: the API keys (default: this example's `api-keys.toml`).
    pub api_keys_file: PathBuf,
    /// `POLICY_WATCH_MS`: how often the policy file is polled (default 1000; 0: never).
    pub watch_every: Duration,
    /// `OAUTH_ISSUER`: the issuer of accepted JWT access tokens (unset: API keys only).
    pub issuer: Option<String>,
    /// `OAUTH_JWKS_URL`: its signing keys (needed with `OAUTH_ISSUER`).
    pub jwks_url: Option<String>,
    /// `OAUTH_AUDIENCE`: the `aud` tokens must carry (default `mcp-server`).
    pub audience: String,
    /// `TRUSTED_PROXIES`: addresses or networks whose `X-Forwarded-User` is believed,
    /// comma-separated (default none).
    pub trusted_proxies: Vec<String>,
    /// `MCP_PUBLIC_URL`: default `http://localhost:8000/mcp`.
    pub public_url: String,
    /// `MCP_LISTEN`: default `127.0.0.1:8000`.
    pub listen: String,
}

impl Config {
    /// Reads the configuration through `var`; empty values count as unset.
    ///
    /// # Errors
    /// `POLICY_WATCH_MS` is not a number, or `OAUTH_ISSUER` is set without `OAUTH_JWKS_URL`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let watch = match var("POLICY_WATCH_MS") {
            None => 1000,
            Some(ms) => ms.trim().parse().map_err(|_| {
                ConfigError::Invalid(format!("POLICY_WATCH_MS `{ms}` is not a number"))
            })?,
        };
        let issuer = var("OAUTH_ISSUER");
        let jwks_url = var("OAUTH_JWKS_URL");
        if issuer.is_some() && jwks_url.is_none() {
            return Err(ConfigError::Missing("OAUTH_JWKS_URL"));
        }
        Ok(Config {
            policy_file: var("POLICY_FILE").map_or_else(|| here.join("policy.toml"), PathBuf::from),
            api_keys_file: var("API_KEYS_FILE")
                .map_or_else(|| here.join("api-keys.toml"), PathBuf::from),
            watch_every: Duration::from_millis(watch),
            issuer,
            jwks_url,
            audience: var("OAUTH_AUDIENCE").unwrap_or_else(|| "mcp-server".to_owned()),
            trusted_proxies: var("TRUSTED_PROXIES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            public_url: var("MCP_PUBLIC_URL")
                .unwrap_or_else(|| "http://localhost:8000/mcp".to_owned()),
            listen: var("MCP_LISTEN").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
        })
    }
}

/// One entry of the API-key file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    subject: String,
    sha256: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    key: Vec<KeyEntry>,
}

/// Reads the API-key file into a validator.
///
/// # Errors
/// The file cannot be read or parsed, or a digest is not 64 hex digits.
pub fn api_keys(path: &Path) -> Result<StaticKeyValidator, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let file: KeyFile = toml::from_str(&text)
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
    file.key
        .into_iter()
        .try_fold(StaticKeyValidator::new(), |keys, k| {
            let mut who = ApiKey::new(k.subject).roles(k.roles).scopes(k.scopes);
            if let Some(client) = k.client_id {
                who = who.client_id(client);
            }
            keys.hashed_key(&k.sha256, who)
        })
}

/// One note.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Note {
    /// The text.
    pub text: String,
    /// Who added it.
    pub author: String,
}

/// The caller, as `whoami` reports it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Identity {
    /// Subject.
    pub subject: String,
    /// Client id, when any.
    pub client_id: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Roles (`roles` or `groups` claim).
    pub roles: Vec<String>,
}

/// The notebook the tools work on.
#[derive(Debug, Default)]
pub struct Notebook {
    notes: Mutex<Vec<Note>>,
}

fn caller(ctx: &RequestContext) -> Result<&mcp_rs_server::identity::OAuthContext, ToolError> {
    ctx.oauth()
        .ok_or_else(|| ToolError::new("no verified identity"))
}

#[mcp_server]
impl Notebook {
    /// Who am I: subject, client, scopes and roles.
    #[mcp_tool(read_only)]
    async fn whoami(&self, ctx: RequestContext) -> Result<Json<Identity>, ToolError> {
        let who = caller(&ctx)?;
        let roles = ["roles", "groups"]
            .iter()
            .filter_map(|c| who.claim(c)?.as_array())
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        Ok(Json(Identity {
            subject: who.subject.clone(),
            client_id: who.client_id.clone(),
            scopes: who.scopes.iter().map(str::to_owned).collect(),
            roles,
        }))
    }

    /// The notes, oldest first.
    #[mcp_tool(read_only)]
    async fn list_notes(&self) -> Json<Vec<Note>> {
        Json(self.lock().clone())
    }

    /// Add a note.
    #[mcp_tool]
    async fn add_note(
        &self,
        ctx: RequestContext,
        /// The text of the note.
        text: String,
    ) -> Result<String, ToolError> {
        let author = caller(&ctx)?.subject.clone();
        let mut notes = self.lock();
        notes.push(Note { text, author });
        Ok(format!("note {} added", notes.len()))
    }

    /// Delete every note.
    #[mcp_tool(destructive)]
    async fn admin_reset(&self) -> String {
        let removed = std::mem::take(&mut *self.lock()).len();
        format!("{removed} notes removed")
    }
}

impl Notebook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Note>> {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The MCP server with `policy` applied.
#[must_use]
pub fn server(policy: PolicyHandle) -> Server {
    Server::builder()
        .name("policy-example")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("A notebook whose tools are guarded by policy.toml.")
        .access_policy(policy)
        .with_handler(Notebook::default())
        .build()
}

/// The validator chain: API keys first, then JWTs of the issuer (when configured).
fn validators(config: &Config) -> Result<ValidatorChain, ConfigError> {
    let chain = ValidatorChain::new().with(api_keys(&config.api_keys_file)?);
    let (Some(issuer), Some(jwks)) = (&config.issuer, &config.jwks_url) else {
        return Ok(chain);
    };
    let jwt = JwtValidator::builder()
        .issuer(issuer.clone())
        .audience(config.audience.clone())
        .jwks_url(jwks.clone())
        .build()?;
    Ok(chain.with(jwt))
}

/// Serves the example on `listener` until `shutdown` resolves.
///
/// # Errors
/// A configuration error (policy or key file, URL, trusted proxies) before serving.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let policy = PolicyHandle::from_file(&config.policy_file)?;
    let watcher = (!config.watch_every.is_zero()).then(|| policy.watch(config.watch_every));
    let http = HttpConfig::default().allowed_hosts(["localhost", "127.0.0.1"]);
    let mut metadata = ProtectedResourceMetadata::new(config.public_url.clone())
        .scopes_supported(SCOPES)
        .bearer_methods_supported(["header"])
        .resource_name("mcp-rs policy example");
    if let Some(issuer) = &config.issuer {
        metadata = metadata.authorization_server(issuer.clone());
    }
    let mut auth = AuthorizationLayer::new(validators(&config)?, &config.public_url)?
        .challenge_scopes(["mcp:read"]);
    if !config.trusted_proxies.is_empty() {
        auth =
            auth.forwarded_identity(ForwardedAuth::new().trusted_proxies(&config.trusted_proxies)?);
    }
    let mcp = StreamableHttpService::new(server(policy), http.clone());
    let service = tower::ServiceBuilder::new()
        .layer(CorsLayer::from_config(&http))
        .layer(HostGuardLayer::from_config(&http))
        .layer(ResourceMetadataLayer::try_new(metadata)?)
        .layer(auth)
        .service(mcp.clone());
    let served = serve_listener(
        listener,
        service,
        async move {
            shutdown.await;
            mcp.close_all_sessions().await;
        },
        mcp_rs_server::transport::http::DEFAULT_GRACE_PERIOD,
    )
    .await;
    if let Some(w) = watcher {
        w.abort();
    }
    served?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_and_keys_load() {
        let c = Config::from_vars(|_| None).unwrap();
        let p = mcp_rs_server::policy::AccessPolicy::from_file(&c.policy_file).unwrap();
        assert_eq!(p.len(), 4);
        api_keys(&c.api_keys_file).unwrap();
        assert_eq!(c.watch_every, Duration::from_secs(1));
        assert_eq!(
            Config::from_vars(|k| (k == "OAUTH_ISSUER").then(|| "https://idp".to_owned())),
            Err(ConfigError::Missing("OAUTH_JWKS_URL"))
        );
    }
}
