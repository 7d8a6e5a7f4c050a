//! `redis-server` on a free port for the tests that need a real Redis (`multi_instance.rs`,
//! `redis_auth_store.rs`). Without `redis-server` on the PATH, `RedisServer::start` writes one
//! `SKIPPED:` line and returns `None` (`MCP_REQUIRE_REDIS=1` turns that into a failure).

#![allow(dead_code)] // each test binary uses its own part

use mcp_tests::interop::{required, skip_line};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Set to `1` to make a missing `redis-server` a failure instead of a skip.
pub(crate) const REQUIRE_REDIS: &str = "MCP_REQUIRE_REDIS";

/// How long a process may take to accept connections.
pub(crate) const STARTUP: Duration = Duration::from_secs(20);

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub(crate) async fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < STARTUP,
            "{what} did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `redis-server` on a free port, without persistence; stopped (by its pid) when dropped.
pub(crate) struct RedisServer {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// `None` (after one `SKIPPED:` line) when `redis-server` is not installed.
    pub(crate) async fn start() -> Option<RedisServer> {
        let found = std::process::Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                !required(REQUIRE_REDIS),
                "{REQUIRE_REDIS}=1 but redis-server is not installed"
            );
            skip_line(
                "redis-server is not installed (apt-get install redis-server); this test needs it",
            );
            return None;
        }
        let mut r = RedisServer {
            port: free_port(),
            child: None,
        };
        r.run().await;
        Some(r)
    }

    /// Starts (or restarts) the server on its port.
    pub(crate) async fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server").await;
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against this server.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}
