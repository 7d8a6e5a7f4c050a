//! The stdio transport as a real process: the `stdio-calculator` example binary, driven over
//! its stdin/stdout (handshake, concurrent requests, notifications, the 4 MiB line cap, clean
//! shutdown at end of input, nothing but JSON on stdout).

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(60);
const MAX_LINE: usize = 4 * 1024 * 1024;

/// Builds `stdio-calculator` (once per test binary) next to this test executable and returns
/// its path.
fn calculator_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "stdio-calculator", "--target-dir"])
            .arg(&target_dir)
            .current_dir(&root)
            .status()
            .expect("run cargo build -p stdio-calculator");
        assert!(status.success(), "cargo build -p stdio-calculator failed");
        let bin = profile_dir.join(format!("stdio-calculator{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Proc {
    fn spawn(envs: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(calculator_bin());
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn stdio-calculator");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Proc {
            child,
            stdin,
            stdout,
        }
    }

    async fn send_raw(&mut self, line: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    async fn send(&mut self, msg: Value) {
        self.send_raw(msg.to_string().as_bytes()).await;
    }

    /// The next stdout line, parsed (every stdout line must be JSON).
    async fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, self.stdout.read_line(&mut line))
            .await
            .expect("timely output")
            .unwrap();
        if n == 0 {
            return None;
        }
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}")),
        )
    }

    /// Messages up to and including the response with `id`.
    async fn until_response(&mut self, id: i64) -> (Vec<Value>, Value) {
        let mut others = Vec::new();
        loop {
            let m = self.recv().await.expect("response before end of output");
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return (others, m);
            }
            others.push(m);
        }
    }

    async fn initialize(&mut self) {
        self.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "stdio-test", "version": "1"}}}))
            .await;
        let (_, r) = self.until_response(0).await;
        assert_eq!(r["result"]["protocolVersion"], "2025-11-25");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    fn close_stdin(&mut self) {
        self.stdin.take();
    }

    async fn exit_code(&mut self) -> Option<i32> {
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("exit after end of input")
            .unwrap()
            .code()
    }
}

#[tokio::test]
async fn handshake_call_and_notifications() {
    let mut p = Proc::spawn(&[]);
    p.initialize().await;
    p.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "sum", "arguments": {"numbers": [1, 2, 3]}, "_meta": {"progressToken": "p"}}}),
    )
    .await;
    let (notes, reply) = p.until_response(1).await;
    assert_eq!(
        reply["result"]["structuredContent"],
        json!({"sum": 6.0, "count": 3})
    );
    let progress: Vec<_> = notes
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .map(|n| n["params"]["progress"].clone())
        .collect();
    assert_eq!(progress, vec![json!(1), json!(2), json!(3)]);
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["method"] == "notifications/message")
            .count(),
        3
    );
    p.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "divide", "arguments": {"a": 1, "b": 0}}})).await;
    let (_, reply) = p.until_response(2).await;
    assert_eq!(
        reply["result"],
        json!({"content": [{"type": "text", "text": "division by zero"}], "isError": true})
    );
    p.close_stdin();
    assert_eq!(p.exit_code().await, Some(0));
}

#[tokio::test]
async fn parse_errors_and_batches() {
    let mut p = Proc::spawn(&[]);
    p.send_raw(b"{not json").await;
    let e = p.recv().await.unwrap();
    assert_eq!(
        (e["id"].clone(), e["error"]["code"].clone()),
        (Value::Null, json!(-32700))
    );
    p.send_raw(br#"{"id":4,"method":"ping"}"#).await;
    let e = p.recv().await.unwrap();
    assert_eq!(
        (e["id"].clone(), e["error"]["code"].clone()),
        (json!(4), json!(-32600))
    );
    p.initialize().await;
    p.send(json!([
        {"jsonrpc": "2.0", "id": 10, "method": "ping"},
        {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
    ]))
    .await;
    let batch = p.recv().await.unwrap();
    let mut ids: Vec<_> = batch
        .as_array()
        .expect("a batch reply")
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![10, 11]);
}

#[tokio::test]
async fn over_long_lines_are_rejected_and_drained() {
    let mut p = Proc::spawn(&[]);
    p.initialize().await;
    // A well-formed request whose line is exactly at the limit is accepted.
    let skeleton =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"pad": ""}}})
            .to_string();
    let pad = "x".repeat(MAX_LINE - skeleton.len());
    let at_limit =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"pad": pad}}})
            .to_string();
    assert_eq!(at_limit.len(), MAX_LINE);
    p.send_raw(at_limit.as_bytes()).await;
    let (_, r) = p.until_response(1).await;
    assert_eq!(r["result"], json!({}));
    // One byte more is refused with -32600 and the rest of the line is skipped.
    let too_long = json!({"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"_meta": {"pad": format!("{pad}x")}}}).to_string();
    p.send_raw(too_long.as_bytes()).await;
    let e = p.recv().await.unwrap();
    assert_eq!(e["id"], Value::Null);
    assert_eq!(e["error"]["code"], -32600);
    assert!(e["error"]["message"].as_str().unwrap().contains("4194304"));
    p.send(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
        .await;
    let (others, r) = p.until_response(3).await;
    assert!(
        others.is_empty(),
        "nothing of the long line was processed: {others:?}"
    );
    assert_eq!(r["result"], json!({}));
}

#[tokio::test]
async fn requests_pipelined_before_end_of_input_are_answered() {
    let mut p = Proc::spawn(&[("RUST_LOG", "debug")]);
    p.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "pipe", "version": "1"}}}))
        .await;
    p.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    p.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "multiply", "arguments": {"a": 6, "b": 7}}})).await;
    p.send(json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": "calc://table/3"}})).await;
    p.close_stdin();
    let mut replies = std::collections::BTreeMap::new();
    while let Some(m) = p.recv().await {
        if let Some(id) = m.get("id").and_then(Value::as_i64) {
            replies.insert(id, m);
        }
    }
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(replies[&0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(replies[&1]["result"]["content"][0]["text"], "42");
    assert!(
        replies[&2]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("3 x 1 = 3\n")
    );
    assert_eq!(p.exit_code().await, Some(0));
    // Logs went to stderr, not stdout (every stdout line parsed as JSON above).
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(p.child.stderr.as_mut().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("stdio transport started"),
        "stderr: {stderr}"
    );
}
