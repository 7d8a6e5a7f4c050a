//! `entra-example`: the Entra-protected MCP server. Configuration from the environment
//! (see README.md); `cargo run -p entra-example` needs ENTRA_TENANT_ID and
//! ENTRA_CLIENT_ID (and ENTRA_CLIENT_SECRET for the OAuth proxy).

use entra_example::{Config, run};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("entra-example: {e} (see examples/entra/README.md)");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("entra-example: cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    let local = listener
        .local_addr()
        .map_or_else(|_| config.listen.clone(), |a| a.to_string());
    println!(
        "entra-example listening on {local}, public URL {} (tenant {})",
        config.public_url, config.tenant
    );
    if let Err(e) = run(
        config,
        listener,
        mcp_rs_server::transport::http::shutdown_signal(),
    )
    .await
    {
        eprintln!("entra-example: {e}");
        std::process::exit(1);
    }
}
