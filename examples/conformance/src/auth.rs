//! Protected mode of the fixture: the same MCP endpoint behind the OAuth resource-server stack,
//! so the conformance suite can be run with a bearer token (`conformance/run.sh --bearer`).
//!
//! ```text
//! conformance-server --port 0 --auth-issuer http://127.0.0.1:9000 --auth-audience mcp-server \
//!     [--auth-jwks http://127.0.0.1:9000/jwks]
//! ```
//!
//! Layers, outermost first: CORS → RFC 9728 protected resource metadata (public) →
//! [`AuthorizationLayer`] with a [`JwtValidator`] → the MCP service. Tokens must be JWTs signed
//! by a key of the issuer (its JWKS: `--auth-jwks`, or discovered from the issuer's metadata),
//! with `iss` = the issuer and `aud` containing the audience. No fixture item needs a scope.
//!
//! In protected mode the server binds before it builds the layers, so `--port 0` works: the
//! line `conformance-server listening on http://127.0.0.1:PORT/mcp` on stderr has the real port.

use mcp_rs_server::Server;
use mcp_rs_server::auth::{
    AuthorizationLayer, DiscoveryPolicy, JwksProvider, JwtValidator, OidcDiscovery,
    ProtectedResourceMetadata, ResourceMetadataLayer,
};
use mcp_rs_server::transport::http::{
    CorsLayer, DEFAULT_GRACE_PERIOD, HttpConfig, StreamableHttpService, serve_listener,
    shutdown_signal,
};

/// The `--auth-*` options as given on the command line (all optional until [`finish`](Self::finish)).
#[derive(Debug, Default)]
pub(crate) struct AuthArgs {
    issuer: Option<String>,
    audience: Option<String>,
    jwks: Option<String>,
}

/// Validated options of the protected mode.
#[derive(Debug, Clone)]
pub(crate) struct AuthOptions {
    /// The accepted `iss`, also advertised as the authorization server.
    pub(crate) issuer: String,
    /// The required `aud`.
    pub(crate) audience: String,
    /// The JWKS URL; `None` discovers it from the issuer (RFC 8414 / OpenID discovery).
    pub(crate) jwks: Option<String>,
}

/// Usage text of the auth flags.
pub(crate) const USAGE: &str = "--auth-issuer ISSUER --auth-audience AUDIENCE [--auth-jwks URL]";

impl AuthArgs {
    /// Takes `arg` (and its value from `rest`) when it is an `--auth-*` flag, as `--flag VALUE`
    /// or `--flag=VALUE`. `Ok(false)`: not an auth flag.
    ///
    /// # Errors
    /// A flag without a value.
    pub(crate) fn accept(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = String>,
    ) -> Result<bool, String> {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg, None),
        };
        let slot = match flag {
            "--auth-issuer" => &mut self.issuer,
            "--auth-audience" => &mut self.audience,
            "--auth-jwks" => &mut self.jwks,
            _ => return Ok(false),
        };
        let value = match inline {
            Some(v) => v,
            None => rest.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        if value.trim().is_empty() {
            return Err(format!("{flag} needs a non-empty value"));
        }
        *slot = Some(value);
        Ok(true)
    }

    /// `None` when no auth flag was given (the fixture runs unprotected).
    ///
    /// # Errors
    /// Some auth flags but not both `--auth-issuer` and `--auth-audience`.
    pub(crate) fn finish(self) -> Result<Option<AuthOptions>, String> {
        match (self.issuer, self.audience, self.jwks) {
            (None, None, None) => Ok(None),
            (Some(issuer), Some(audience), jwks) => Ok(Some(AuthOptions {
                issuer,
                audience,
                jwks,
            })),
            _ => Err(format!(
                "protected mode needs both --auth-issuer and --auth-audience ({USAGE})"
            )),
        }
    }
}

/// Serves `server` on `127.0.0.1:port` behind PRM + authorization until Ctrl-C / SIGTERM.
///
/// # Errors
/// Binding failed or the auth configuration is invalid (e.g. the issuer is not a URL).
pub(crate) async fn serve_protected(
    server: Server,
    config: HttpConfig,
    port: u16,
    opts: &AuthOptions,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    // conformance/run.sh reaches the fixture as `localhost`; the resource URL only shapes the
    // metadata document and the challenges, never which requests are accepted.
    let path = config.endpoint_path().unwrap_or("/mcp").to_owned();
    let resource = format!("http://localhost:{port}{path}");
    let jwks = match &opts.jwks {
        Some(url) => JwksProvider::new(url.clone()),
        None => JwksProvider::discovered(
            opts.issuer.clone(),
            OidcDiscovery::new(DiscoveryPolicy::Strict),
        ),
    };
    let validator = JwtValidator::builder()
        .jwks(jwks)
        .issuer(opts.issuer.clone())
        .audience(opts.audience.clone())
        .build()?;
    let metadata = ProtectedResourceMetadata::new(resource.clone())
        .authorization_server(opts.issuer.clone())
        .bearer_methods_supported(["header"])
        .resource_name("mcp-rs conformance fixture (protected)");
    let prm = ResourceMetadataLayer::try_new(metadata)?;
    let auth = AuthorizationLayer::new(validator, &resource)?;
    let mcp = StreamableHttpService::new(server, config);
    let cors = CorsLayer::from_config(mcp.config());
    let service = tower::ServiceBuilder::new()
        .layer(cors)
        .layer(prm)
        .layer(auth)
        .service(mcp.clone());
    eprintln!(
        "conformance-server listening on http://127.0.0.1:{port}{path} (protected: issuer {}, audience {})",
        opts.issuer, opts.audience
    );
    serve_listener(
        listener,
        service,
        async move {
            shutdown_signal().await;
            mcp.close_all_sessions().await;
        },
        DEFAULT_GRACE_PERIOD,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<AuthOptions>, String> {
        let mut a = AuthArgs::default();
        let mut rest = args.iter().map(|s| (*s).to_owned());
        while let Some(arg) = rest.next() {
            if !a.accept(&arg, &mut rest)? {
                return Err(format!("not an auth flag: {arg}"));
            }
        }
        a.finish()
    }

    #[test]
    fn no_flags_is_unprotected() {
        assert!(parse(&[]).unwrap().is_none());
    }

    #[test]
    fn both_forms_of_each_flag() {
        let o = parse(&[
            "--auth-issuer",
            "http://127.0.0.1:9/realm",
            "--auth-audience=mcp-server",
            "--auth-jwks=http://127.0.0.1:9/jwks",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(o.issuer, "http://127.0.0.1:9/realm");
        assert_eq!(o.audience, "mcp-server");
        assert_eq!(o.jwks.as_deref(), Some("http://127.0.0.1:9/jwks"));
    }

    #[test]
    fn incomplete_or_empty_flags_are_errors() {
        let both = "protected mode needs both --auth-issuer and --auth-audience \
                    (--auth-issuer ISSUER --auth-audience AUDIENCE [--auth-jwks URL])";
        assert_eq!(parse(&["--auth-issuer", "http://x"]).unwrap_err(), both);
        assert_eq!(parse(&["--auth-jwks", "http://x/jwks"]).unwrap_err(), both);
        assert_eq!(
            parse(&["--auth-audience"]).unwrap_err(),
            "--auth-audience needs a value"
        );
        assert_eq!(
            parse(&["--auth-issuer="]).unwrap_err(),
            "--auth-issuer needs a non-empty value"
        );
        assert_eq!(parse(&["--port"]).unwrap_err(), "not an auth flag: --port");
    }
}
