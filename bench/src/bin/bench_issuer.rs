//! A local OAuth issuer for the protected benchmark row.
//!
//! Usage: `bench-issuer [--audience AUD] [--scope SCOPE]`
//!
//! Starts `mcp_rs_server::auth::testing::TestIssuer` (OIDC discovery + JWKS on
//! `127.0.0.1:<random port>`), then prints, one per line, and keeps serving until
//! interrupted:
//!
//! ```text
//! ISSUER http://127.0.0.1:PORT
//! JWKS http://127.0.0.1:PORT/...
//! AUDIENCE AUD
//! TOKEN <RS256 JWT valid for 24 h>
//! ```
//!
//! The token is a benchmark credential for a throw-away local issuer whose keys
//! live only in this process; nothing else accepts it.

use std::io::Write as _;
use std::process::ExitCode;

use mcp_rs_server::auth::testing::{SigningAlg, TestIssuer};

/// Default audience of the token (what `bench-server --auth-audience` expects).
const DEFAULT_AUDIENCE: &str = "mcp-bench";
/// Lifetime of the token: longer than any benchmark run.
const TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

fn parse_args() -> Result<(String, String), String> {
    let mut audience = DEFAULT_AUDIENCE.to_owned();
    let mut scope = "mcp:read".to_owned();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--audience" => audience = it.next().ok_or("--audience needs a value")?,
            "--scope" => scope = it.next().ok_or("--scope needs a value")?,
            "-h" | "--help" => {
                return Err("usage: bench-issuer [--audience AUD] [--scope SCOPE]".into());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((audience, scope))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (audience, scope) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-issuer: {e}");
            return ExitCode::from(2);
        }
    };
    let idp = match TestIssuer::start().await {
        Ok(idp) => idp,
        Err(e) => {
            eprintln!("bench-issuer: cannot start the issuer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let token = idp
        .keycloak(&audience)
        .subject("bench")
        .scopes([scope.as_str()])
        .alg(SigningAlg::Rs256)
        .expires_in(TOKEN_LIFETIME_SECS)
        .sign();
    let mut out = std::io::stdout().lock();
    let printed = writeln!(out, "ISSUER {}", idp.issuer())
        .and_then(|()| writeln!(out, "JWKS {}", idp.jwks_url()))
        .and_then(|()| writeln!(out, "AUDIENCE {audience}"))
        .and_then(|()| writeln!(out, "TOKEN {token}"))
        .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = printed {
        eprintln!("bench-issuer: cannot write to stdout: {e}");
        return ExitCode::FAILURE;
    }
    let _ = tokio::signal::ctrl_c().await;
    drop(idp);
    ExitCode::SUCCESS
}
