//! Interop: the official Python MCP SDK client drives the `stdio-calculator` example over
//! stdio (initialize, list and call tools, read resources, get a prompt, progress and log
//! notifications). Needs the venv that `scripts/test-all.sh` creates; without it the test is
//! skipped with one line, unless `MCP_REQUIRE_INTEROP=1` (set by `scripts/test-all.sh`).

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    std::env::var_os("MCP_INTEROP_PYTHON")
        .map_or_else(|| root().join(".cache/venv/bin/python"), PathBuf::from)
}

fn client_script() -> PathBuf {
    std::env::var_os("MCP_INTEROP_PY_CLIENT")
        .map_or_else(|| root().join("tests/interop/mcp_client.py"), PathBuf::from)
}

fn calculator_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "stdio-calculator", "--target-dir"])
        .arg(profile_dir.parent().unwrap())
        .current_dir(root())
        .status()
        .expect("run cargo build -p stdio-calculator");
    assert!(status.success(), "cargo build -p stdio-calculator failed");
    profile_dir.join(format!("stdio-calculator{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test]
async fn python_sdk_client_over_stdio() {
    let py = python();
    if !mcp_tests::interop::available("the Python interop venv", &py) {
        return;
    }
    let (script, bin) = (client_script(), calculator_bin());
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(py)
            .arg(script)
            .args([
                "stdio",
                "--progress",
                "--log-level",
                "debug",
                "--timeout",
                "60",
            ])
            .args([
                "--call",
                r#"add={"a":2,"b":3}"#,
                "--call",
                r#"sum={"numbers":[1,2,3]}"#,
                "--call",
                r#"divide={"a":1,"b":0}"#,
            ])
            .args([
                "--read",
                "calc://constants",
                "--read",
                "calc://table/7",
                "--read",
                "calc://missing",
            ])
            .args([
                "--prompt",
                r#"explain={"expression":"2*(3+4)","style":"detailed"}"#,
            ])
            .arg("--")
            .arg(bin)
            .output(),
    )
    .await
    .expect("python client finished")
    .expect("python client ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "client output is not JSON ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // A failed read (calc://missing) makes the client report ok:false by design.
    assert_eq!(summary["error"], Value::Null, "{summary:#}");
    assert_eq!(summary["protocolVersion"], "2025-11-25");
    assert_eq!(summary["serverInfo"]["name"], "stdio-calculator");

    let tools: Vec<_> = summary["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, vec!["add", "divide", "multiply", "subtract", "sum"]);

    let calls = summary["calls"].as_array().unwrap();
    assert_eq!(calls[0]["result"]["content"][0]["text"], "5");
    assert_eq!(
        calls[1]["result"]["structuredContent"],
        json!({"sum": 6.0, "count": 3})
    );
    assert_eq!(calls[2]["result"]["isError"], true);
    assert_eq!(calls[2]["result"]["content"][0]["text"], "division by zero");

    let reads = summary["reads"].as_array().unwrap();
    assert!(
        reads[0]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"pi\":3.14159")
    );
    assert_eq!(
        reads[1]["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .lines()
            .nth(6),
        Some("7 x 7 = 49")
    );
    assert_eq!(reads[2]["error"]["code"], -32002);
    assert_eq!(reads[2]["error"]["data"], json!({"uri": "calc://missing"}));

    assert_eq!(
        summary["prompted"][0]["result"]["messages"][0]["content"]["text"],
        "Explain, in a detailed way, how to evaluate: 2*(3+4)"
    );

    let progress = summary["notifications"]["progress"].as_array().unwrap();
    let sum_progress: Vec<_> = progress
        .iter()
        .filter(|p| p["call"] == "sum")
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(sum_progress, vec![1.0, 2.0, 3.0]);
    let logs = summary["notifications"]["log"].as_array().unwrap();
    assert!(
        logs.iter()
            .any(|l| l["level"] == "debug" && l["data"] == "add(2, 3)"),
        "{logs:?}"
    );
    assert_eq!(
        logs.iter().filter(|l| l["level"] == "info").count(),
        3,
        "{logs:?}"
    );
}
