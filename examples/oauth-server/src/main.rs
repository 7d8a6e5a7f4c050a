//! `oauth-server-example`: an MCP server that is its own OAuth authorization server, with users
//! signed in by a trusted reverse proxy. Configuration from the environment (see README.md).

use oauth_server_example::{Config, run};

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
            eprintln!("oauth-server-example: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "oauth-server-example: cannot listen on {}: {e}",
                config.listen
            );
            std::process::exit(1);
        }
    };
    let local = listener
        .local_addr()
        .map_or_else(|_| config.listen.clone(), |a| a.to_string());
    println!(
        "oauth-server-example listening on {local}, public URL {}, trusting proxies {:?}",
        config.public_url, config.trusted_proxies
    );
    if let Err(e) = run(
        config,
        listener,
        mcp_rs_server::transport::http::shutdown_signal(),
    )
    .await
    {
        eprintln!("oauth-server-example: {e}");
        std::process::exit(1);
    }
}
