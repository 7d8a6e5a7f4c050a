//! Our benchmark server: one `sum` tool written with `#[mcp_tool]`, served over
//! Streamable HTTP on `127.0.0.1:PORT/mcp`.
//!
//! ```text
//! bench-server --port PORT [--stateless] [--sse] [--redis URL]
//!              [--auth-issuer ISS --auth-audience AUD [--auth-jwks URL]]
//! ```
//!
//! * sessions (`Mcp-Session-Id`) unless `--stateless`; requests of the 2026-07-28 era are
//!   served statelessly either way;
//! * `application/json` replies unless `--sse`; with `--sse` a request whose handler emits
//!   messages on the way (here: progress, when the client sends a `progressToken`) is
//!   answered with an SSE stream;
//! * with `--auth-*`, the authorization layer with a JWT validator sits in front: keys from
//!   the JWKS at `--auth-jwks`, else discovered from the issuer's metadata;
//! * with `--redis`, session records, SSE events and the cluster bus on that Redis (key
//!   prefix `mcp-bench`), as an instance of a multi-instance deployment would run.
//!
//! Logs go to stderr at `warn` unless `RUST_LOG` says otherwise.

use std::net::SocketAddr;
use std::process::ExitCode;

use mcp_rs_server::auth::{
    AuthorizationLayer, DiscoveryPolicy, JwksProvider, JwtValidator, OidcDiscovery,
};
use mcp_rs_server::prelude::*;
use mcp_rs_server::redis::{Redis, RedisConfig};
use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService, serve};
use tower_layer::Layer as _;

/// Add two integers.
///
/// Reports one progress step when the request carries a `progressToken` (a no-op
/// otherwise): that is how the `--sse` row gets streamed replies, since the transport
/// answers plain JSON whenever a handler emits nothing on the way.
#[mcp_tool]
async fn sum(ctx: RequestContext, a: i64, b: i64) -> i64 {
    // A client that went away cannot receive progress; the result is still computed.
    ctx.progress(1.0, Some(1.0), None).await;
    a.wrapping_add(b)
}

/// `--auth-*` options.
struct AuthArgs {
    issuer: String,
    audience: String,
    jwks: Option<String>,
}

/// Parsed command line.
struct Args {
    port: u16,
    stateless: bool,
    sse: bool,
    auth: Option<AuthArgs>,
    /// `--redis URL`: sessions, events and the cluster bus on Redis.
    redis: Option<String>,
}

const USAGE: &str = "usage: bench-server --port PORT [--stateless] [--sse] [--redis URL] \
                     [--auth-issuer ISS --auth-audience AUD [--auth-jwks URL]]";

fn parse_args() -> Result<Args, String> {
    let mut port = None;
    let (mut stateless, mut sse) = (false, false);
    let (mut issuer, mut audience, mut jwks) = (None, None, None);
    let mut redis = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                port = Some(
                    v.parse::<u16>()
                        .map_err(|e| format!("bad --port {v:?}: {e}"))?,
                );
            }
            "--stateless" => stateless = true,
            "--sse" => sse = true,
            "--redis" => redis = Some(value("--redis")?),
            "--auth-issuer" => issuer = Some(value("--auth-issuer")?),
            "--auth-audience" => audience = Some(value("--auth-audience")?),
            "--auth-jwks" => jwks = Some(value("--auth-jwks")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let auth = match (issuer, audience, jwks) {
        (None, None, None) => None,
        (Some(issuer), Some(audience), jwks) => Some(AuthArgs {
            issuer,
            audience,
            jwks,
        }),
        _ => return Err("--auth-issuer and --auth-audience go together".into()),
    };
    Ok(Args {
        port: port.ok_or_else(|| format!("--port is required\n{USAGE}"))?,
        stateless,
        sse,
        auth,
        redis,
    })
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .name("mcp-bench")
        .version(env!("CARGO_PKG_VERSION"))
        .discover()
        .try_build()?;
    // Every benchmark client is 127.0.0.1 and the memory row opens 1,000+ sessions: no
    // per-address session quota here.
    let mut config = HttpConfig::default().max_sessions_per_addr(None);
    if args.stateless {
        config = config.stateless();
    }
    if !args.sse {
        config = config.json_response(true);
    }
    if let Some(url) = &args.redis {
        let redis = Redis::new(RedisConfig::new(url.as_str()).prefix("mcp-bench"))
            .map_err(|e| e as Box<dyn std::error::Error>)?;
        config = redis.configure(config);
    }
    let mcp = StreamableHttpService::new(server, config);
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    match args.auth {
        None => serve(addr, mcp).await?,
        Some(auth) => {
            let jwks = match auth.jwks {
                Some(url) => JwksProvider::new(url),
                None => JwksProvider::discovered(
                    auth.issuer.clone(),
                    OidcDiscovery::new(DiscoveryPolicy::Strict),
                ),
            };
            let validator = JwtValidator::builder()
                .jwks(jwks)
                .issuer(auth.issuer)
                .audience(auth.audience)
                .build()?;
            let resource = format!("http://{addr}/mcp");
            let layer = AuthorizationLayer::new(validator, &resource)?;
            serve(addr, layer.layer(mcp)).await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-server: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}
