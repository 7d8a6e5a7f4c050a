//! `policy-example`: configuration from the environment (see README.md).

use policy_example::{Config, run};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match Config::from_vars(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("policy-example: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("policy-example: cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    println!(
        "policy-example on {}, policy {}",
        config.public_url,
        config.policy_file.display()
    );
    if let Err(e) = run(
        config,
        listener,
        mcp_rs_server::transport::http::shutdown_signal(),
    )
    .await
    {
        eprintln!("policy-example: {e}");
        std::process::exit(1);
    }
}
