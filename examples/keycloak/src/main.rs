//! `keycloak-example`: the Keycloak-protected MCP server. Configuration from the environment
//! (see README.md); `cargo run -p keycloak-example` with `scripts/keycloak.sh start` running
//! needs none.

use keycloak_example::{Config, run};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_env();
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("keycloak-example: cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    let local = listener
        .local_addr()
        .map_or_else(|_| config.listen.clone(), |a| a.to_string());
    println!(
        "keycloak-example listening on {local}, public URL {} (issuer {})",
        config.public_url, config.issuer
    );
    if let Err(e) = run(
        config,
        listener,
        mcp_rs_server::transport::http::shutdown_signal(),
    )
    .await
    {
        eprintln!("keycloak-example: {e}");
        std::process::exit(1);
    }
}
