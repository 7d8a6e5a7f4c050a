//! Several instances behind a load balancer, sharing sessions, events and notifications
//! through a real `redis-server` (the Debian package; `.ci/run` installs it). Each test starts
//! its own Redis on a free port and two processes of the `multi-instance` example (A and B),
//! then sends each request of one client to the instance the scenario names.
//!
//! Without `redis-server` on the PATH every test writes one `SKIPPED:` line and passes
//! (`MCP_REQUIRE_REDIS=1` turns that into a failure).

mod http_common;
mod redis_common;

use http_common::{
    LATEST, SseReader, call, client, error_code, initialize_as, initialize_body, post, start_with,
    test_server,
};
use mcp_rs_server::redis::{Redis, RedisConfig};
use mcp_rs_server::transport::http::HttpConfig;
use redis_common::{RedisServer, free_port, wait_for_port};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Builds the example once into this test's target directory.
fn example_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = root.join("target");
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "multi-instance-example",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(&root)
            .status()
            .expect("run cargo build -p multi-instance-example");
        assert!(
            status.success(),
            "cargo build -p multi-instance-example failed"
        );
        target.join("debug").join("multi-instance")
    })
    .clone()
}

/// One process of the example.
struct Instance {
    url: String,
    _child: Child,
}

impl Instance {
    async fn start(name: &str, redis: &RedisServer) -> Instance {
        let port = free_port();
        let child = Command::new(example_bin())
            .env("REDIS_URL", redis.url())
            .env("MCP_LISTEN", format!("127.0.0.1:{port}"))
            .env("INSTANCE_NAME", name)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the multi-instance example");
        wait_for_port(port, name).await;
        Instance {
            url: format!("http://127.0.0.1:{port}/mcp"),
            _child: child,
        }
    }
}

/// Redis and two instances, A and B.
struct Cluster {
    redis: RedisServer,
    a: Instance,
    b: Instance,
    http: reqwest::Client,
}

impl Cluster {
    async fn start() -> Option<Cluster> {
        let redis = RedisServer::start().await?;
        let a = Instance::start("A", &redis).await;
        let b = Instance::start("B", &redis).await;
        Some(Cluster {
            redis,
            a,
            b,
            http: client(),
        })
    }

    /// `initialize` + `notifications/initialized` on `at`; the session id.
    async fn initialize(&self, at: &Instance) -> String {
        let res = post(&self.http, &at.url, None, &initialize_body())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "initialize");
        let sid = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        let res = post(
            &self.http,
            &at.url,
            Some(&sid),
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 202);
        sid
    }

    /// `tools/call` on `at`; the JSON answer.
    async fn call(&self, at: &Instance, sid: &str, id: i64, tool: &str, args: Value) -> Value {
        let res = post(&self.http, &at.url, Some(sid), &call(id, tool, args))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Opens the standalone GET stream on `at`, optionally resuming after `last`.
    async fn get(&self, at: &Instance, sid: &str, last: Option<&str>) -> reqwest::Response {
        let mut b = self
            .http
            .get(&at.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", LATEST);
        if let Some(l) = last {
            b = b.header("last-event-id", l);
        }
        b.send().await.unwrap()
    }
}

fn text_of(v: &Value) -> &str {
    v.pointer("/result/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text result: {v}"))
}

#[tokio::test]
async fn a_session_initialized_on_a_is_served_by_b() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let sid = c.initialize(&c.a).await;
    let on_b = c.call(&c.b, &sid, 1, "instance", json!({})).await;
    assert_eq!(text_of(&on_b), "B");
    let on_a = c.call(&c.a, &sid, 2, "instance", json!({})).await;
    assert_eq!(text_of(&on_a), "A");
    // The record has a TTL (the idle timeout, 30 min by default) and the configured prefix.
    let ttl: i64 = c
        .redis
        .cli(&["PTTL", &format!("mcp:session:{sid}")])
        .parse()
        .unwrap();
    assert!((1..=30 * 60 * 1000).contains(&ttl), "PTTL {ttl}");
    // An unknown id is 404 on both.
    for at in [&c.a, &c.b] {
        let res = post(
            &c.http,
            &at.url,
            Some("0123456789abcdef0123456789abcdef"),
            &call(3, "instance", json!({})),
        )
        .send()
        .await
        .unwrap();
        let (status, body) = error_code(res).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["message"], "Session not found");
    }
}

#[tokio::test]
async fn a_stream_cut_on_a_resumes_on_b_without_losing_events() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let sid = c.initialize(&c.a).await;
    let req = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "ticks", "arguments": {"count": 6, "delay_ms": 150}, "_meta": {"progressToken": "t"}}});
    let res = post(&c.http, &c.a.url, Some(&sid), &req)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut sse = SseReader::new(res);
    let mut last = None;
    let mut seen = Vec::new();
    // Priming event, then two progress notifications; then the connection breaks.
    while seen.len() < 2 {
        let ev = sse.next().await.expect("an event");
        last = ev.id.clone();
        if let Some(p) = ev.json().pointer("/params/progress") {
            seen.push(p.as_f64().unwrap());
        }
    }
    drop(sse);
    // The tool goes on on A; wait until it is done, then resume on B.
    tokio::time::sleep(Duration::from_millis(6 * 150 + 500)).await;
    let res = c.get(&c.b, &sid, last.as_deref()).await;
    assert_eq!(res.status(), 200);
    let mut sse = SseReader::new(res);
    let mut result = None;
    while let Some(ev) = sse.next().await {
        let m = ev.json();
        if let Some(p) = m.pointer("/params/progress") {
            seen.push(p.as_f64().unwrap());
        }
        if m.get("result").is_some() {
            result = Some(m);
        }
    }
    assert_eq!(seen, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let result = result.expect("the tool's result replayed on B");
    assert_eq!(result["id"], 7);
    assert_eq!(text_of(&result), "done");
}

#[tokio::test]
async fn a_tool_added_on_a_is_announced_to_a_listener_on_b() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let listener = c.initialize(&c.b).await;
    let res = c.get(&c.b, &listener, None).await;
    assert_eq!(res.status(), 200);
    let mut sse = SseReader::new(res);
    let caller = c.initialize(&c.a).await;
    // Give B's GET stream a moment to attach before the change.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let added = c
        .call(&c.a, &caller, 1, "add_tool", json!({"name": "fresh"}))
        .await;
    assert_eq!(text_of(&added), "tool fresh added");
    loop {
        let ev = sse.next().await.expect("list_changed on B");
        if ev.json()["method"] == "notifications/tools/list_changed" {
            break;
        }
    }
}

#[tokio::test]
async fn an_elicitation_answered_through_b_reaches_the_tool_on_a() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let sid = c.initialize(&c.a).await;
    let res = post(&c.http, &c.a.url, Some(&sid), &call(5, "ask", json!({})))
        .send()
        .await
        .unwrap();
    let mut sse = SseReader::new(res);
    let request = loop {
        let m = sse.next().await.expect("elicitation request").json();
        if m["method"] == "elicitation/create" {
            break m;
        }
    };
    let answer = json!({"jsonrpc": "2.0", "id": request["id"],
        "result": {"action": "accept", "content": {"answer": "forty-two"}}});
    let res = post(&c.http, &c.b.url, Some(&sid), &answer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let result = sse.until_response(5).await.pop().unwrap().json();
    assert_eq!(text_of(&result), "forty-two");
}

#[tokio::test]
async fn a_cancellation_posted_to_b_cancels_the_request_on_a() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let sid = c.initialize(&c.a).await;
    // Three ticks 5 s apart: nothing is emitted before 5 s, the whole call takes 15 s.
    let req = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "ticks", "arguments": {"count": 3, "delay_ms": 5000}, "_meta": {"progressToken": "t"}}});
    let started = Instant::now();
    let call = tokio::spawn(post(&c.http, &c.a.url, Some(&sid), &req).send());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 9, "reason": "changed my mind"}});
    let ack = post(&c.http, &c.b.url, Some(&sid), &cancel)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 202);
    // A drops the request before its first tick: no result, 202 with an empty body.
    let res = call.await.unwrap().unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(res.text().await.unwrap(), "");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn delete_on_b_ends_the_session_on_a() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let sid = c.initialize(&c.a).await;
    let standalone = c.get(&c.a, &sid, None).await;
    assert_eq!(standalone.status(), 200);
    let res = c
        .http
        .delete(&c.b.url)
        .header("mcp-session-id", sid.as_str())
        .header("mcp-protocol-version", LATEST)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // A's open stream ends, and the id is unknown on both.
    let mut sse = SseReader::new(standalone);
    while sse.next().await.is_some() {}
    for at in [&c.a, &c.b] {
        let res = post(
            &c.http,
            &at.url,
            Some(&sid),
            &call(2, "instance", json!({})),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 404);
    }
    assert_eq!(c.redis.cli(&["KEYS", "mcp:*"]), "");
}

#[tokio::test]
async fn redis_down_is_503_with_retry_after_and_recovers_by_itself() {
    let Some(mut c) = Cluster::start().await else {
        return;
    };
    let sid = c.initialize(&c.a).await;
    c.redis.stop().await;
    // New sessions, and sessions this instance does not hold: 503 + Retry-After.
    let res = post(&c.http, &c.a.url, None, &initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    let res = post(
        &c.http,
        &c.b.url,
        Some(&sid),
        &call(1, "instance", json!({})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    // The session A holds keeps working.
    let on_a = c.call(&c.a, &sid, 2, "instance", json!({})).await;
    assert_eq!(text_of(&on_a), "A");
    // Redis comes back (empty: it keeps nothing on disk): new sessions work again, no restart.
    c.redis.run().await;
    let started = Instant::now();
    let sid = loop {
        let res = post(&c.http, &c.a.url, None, &initialize_body())
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            break res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no recovery: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let on_b = c.call(&c.b, &sid, 3, "instance", json!({})).await;
    assert_eq!(text_of(&on_b), "B");
}

/// In process (two services on one Redis, behind the test identity layer): a session is
/// bound to the principal that created it, on every instance.
#[tokio::test]
async fn another_principal_gets_404_on_either_instance() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let config = || {
        Redis::new(RedisConfig::new(redis.url()).prefix("principal"))
            .unwrap()
            .configure(HttpConfig::default())
    };
    let a = start_with(test_server(), config()).await;
    let b = start_with(test_server(), config()).await;
    let c = client();
    let sid = initialize_as(&c, &a.url, Some("alice")).await;
    let whoami = |url: &str, user: Option<&'static str>, id: i64| {
        let mut req = post(&c, url, Some(&sid), &call(id, "whoami", json!({})));
        if let Some(u) = user {
            req = req.header("x-test-subject", u);
        }
        req.send()
    };
    for url in [&b.url, &a.url] {
        let res = whoami(url, Some("mallory"), 1).await.unwrap();
        let (status, body) = error_code(res).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["message"], "Session not found");
        let res = whoami(url, None, 2).await.unwrap();
        assert_eq!(res.status(), 404);
    }
    let res = c
        .delete(&b.url)
        .header("mcp-session-id", sid.as_str())
        .header("x-test-subject", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Alice is served on both; B restored the session from its record.
    for url in [&b.url, &a.url] {
        let res = whoami(url, Some("alice"), 3).await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(text_of(&body), "alice");
    }
    assert_eq!(
        redis.cli(&["EXISTS", &format!("principal:session:{sid}")]),
        "1"
    );
}

/// In process: `logging/setLevel` on B rewrites the record and reaches the live copy of the
/// session on A through the bus.
#[tokio::test]
async fn a_log_level_set_on_b_applies_on_a() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let config = || {
        Redis::new(RedisConfig::new(redis.url()).prefix("level"))
            .unwrap()
            .configure(HttpConfig::default())
    };
    let a = start_with(test_server(), config()).await;
    let b = start_with(test_server(), config()).await;
    let c = client();
    let sid = initialize_as(&c, &a.url, None).await;
    let set = json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "error"}});
    let res = post(&c, &b.url, Some(&sid), &set).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
    let record: Value =
        serde_json::from_str(&redis.cli(&["GET", &format!("level:session:{sid}")])).unwrap();
    assert_eq!(record["logLevel"], "error");
    let on_a = a
        .service
        .server()
        .session(&sid)
        .expect("A holds the session");
    let started = Instant::now();
    while on_a.log_level() != Some(mcp_rs_core::schema::LoggingLevel::Error) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "A never saw the new level"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// In process: an instance that shuts down ends only its own copies of the sessions; the
/// records stay and the other instances go on serving them (a rolling restart keeps them).
#[tokio::test]
async fn shutting_down_one_instance_keeps_its_sessions_on_the_others() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let config = || {
        Redis::new(RedisConfig::new(redis.url()).prefix("rolling"))
            .unwrap()
            .configure(HttpConfig::default())
    };
    let a = start_with(test_server(), config()).await;
    let b = start_with(test_server(), config()).await;
    let c = client();
    let sid = initialize_as(&c, &a.url, None).await;
    a.service.close_all_sessions().await;
    assert_eq!(a.service.session_count(), 0);
    assert_eq!(
        redis.cli(&["EXISTS", &format!("rolling:session:{sid}")]),
        "1"
    );
    let res = post(
        &c,
        &b.url,
        Some(&sid),
        &call(1, "echo", json!({"text": "still here"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(text_of(&body), "still here");
}
