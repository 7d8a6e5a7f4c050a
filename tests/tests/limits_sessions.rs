//! Session and pending-request limits (issue 15, phase 2): per-address and per-principal
//! session quotas (429), eviction of the least recently used idle session when the table is
//! full (503 only when every session is busy), the short life of unused sessions, and the
//! per-session and server-wide bounds on server→client requests, released on answer,
//! timeout, handler timeout, client disconnect and session end.

mod http_common;

use http_common::*;
use mcp_rs_core::schema::CallToolResult;
use mcp_rs_server::Server;
use mcp_rs_server::transport::http::HttpConfig;
use mcp_tests::tools::tool;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;

/// A client whose connections come from `local` (any 127.0.0.0/8 address is loopback on
/// Linux, so each stands for another machine).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .local_address(local.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

fn initialize_req(
    c: &reqwest::Client,
    url: &str,
    subject: Option<&str>,
) -> reqwest::RequestBuilder {
    let b = post(c, url, None, &initialize_body());
    match subject {
        Some(s) => b.header("x-test-subject", s),
        None => b,
    }
}

async fn echo(c: &reqwest::Client, url: &str, sid: &str, subject: Option<&str>) -> u16 {
    let mut b = post(c, url, Some(sid), &call(1, "echo", json!({"text": "hi"})));
    if let Some(s) = subject {
        b = b.header("x-test-subject", s);
    }
    b.send().await.expect("echo").status().as_u16()
}

async fn delete(c: &reqwest::Client, url: &str, sid: &str) -> u16 {
    c.delete(url)
        .header("mcp-session-id", sid)
        .header("mcp-protocol-version", LATEST)
        .send()
        .await
        .expect("DELETE")
        .status()
        .as_u16()
}

/// Waits (at most [`PATIENCE`]) until `f` holds.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_address_at_its_quota_gets_429_while_other_addresses_are_served() {
    let s = start_with(
        test_server(),
        HttpConfig::default()
            .max_sessions_per_addr(Some(2))
            .busy_retry_after(Duration::from_secs(7)),
    )
    .await;
    let abusive = client_from("127.0.0.1");
    let legit = client_from("127.0.0.2");
    let a1 = initialize(&abusive, &s.url).await;
    let _a2 = initialize(&abusive, &s.url).await;
    let res = initialize_req(&abusive, &s.url, None).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert!(res.headers().get("mcp-session-id").is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -32000,
            "message": "Too many sessions from this address (limit 2): end one with DELETE or retry later"}})
    );
    assert_eq!(s.service.session_count(), 2);
    // Another address is served while the abusive one holds its quota, and the abusive
    // client's own sessions keep working.
    let b1 = initialize(&legit, &s.url).await;
    assert_eq!(echo(&legit, &s.url, &b1, None).await, 200);
    assert_eq!(echo(&abusive, &s.url, &a1, None).await, 200);
    // Ending a session gives its place back.
    assert_eq!(delete(&abusive, &s.url, &a1).await, 204);
    let res = initialize_req(&abusive, &s.url, None).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_principal_at_its_quota_gets_429_and_others_on_the_same_address_are_served() {
    let s = start_with(
        test_server(),
        HttpConfig::default()
            .max_sessions_per_principal(Some(1))
            .max_sessions_per_addr(Some(1)),
    )
    .await;
    let c = client();
    let alice = initialize_as(&c, &s.url, Some("alice")).await;
    let res = initialize_req(&c, &s.url, Some("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "5");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -32000,
            "message": "Too many sessions for this principal (limit 1): end one with DELETE or retry later"}})
    );
    // Authenticated callers count against their principal, not the shared address.
    let bob = initialize_as(&c, &s.url, Some("bob")).await;
    let anonymous = initialize(&c, &s.url).await;
    assert_eq!(echo(&c, &s.url, &alice, Some("alice")).await, 200);
    assert_eq!(echo(&c, &s.url, &bob, Some("bob")).await, 200);
    assert_eq!(echo(&c, &s.url, &anonymous, None).await, 200);
    let res = initialize_req(&c, &s.url, None).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Too many sessions from this address (limit 1): end one with DELETE or retry later"
    );
    assert_eq!(s.service.session_count(), 3);
}

#[tokio::test]
async fn a_full_table_evicts_the_least_recently_used_idle_session() {
    let s = start_with(
        test_server(),
        HttpConfig::default()
            .max_sessions(2)
            .max_sessions_per_addr(None),
    )
    .await;
    let c = client();
    let older = initialize(&c, &s.url).await;
    let newer = initialize(&c, &s.url).await;
    // `older` is used again: `newer` is now the least recently used.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(echo(&c, &s.url, &older, None).await, 200);
    let third = initialize(&c, &s.url).await;
    assert_eq!(s.service.session_count(), 2);
    let res = post(
        &c,
        &s.url,
        Some(&newer),
        &call(1, "echo", json!({"text": "x"})),
    )
    .send()
    .await
    .unwrap();
    let (status, body) = error_code(res).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "Session not found");
    assert_eq!(echo(&c, &s.url, &older, None).await, 200);
    assert_eq!(echo(&c, &s.url, &third, None).await, 200);
}

#[tokio::test]
async fn a_full_table_of_busy_sessions_is_503_and_a_get_stream_keeps_a_session_busy() {
    let s = start_with(
        test_server(),
        HttpConfig::default()
            .max_sessions(1)
            .busy_retry_after(Duration::from_secs(3)),
    )
    .await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let get = c
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid.as_str())
        .header("mcp-protocol-version", LATEST)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let mut events = SseReader::new(get);
    let _priming = events.next().await.expect("priming event");
    let res = initialize_req(&c, &s.url, None).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "3");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -32000,
            "message": "Server busy: too many sessions, retry later"}})
    );
    assert_eq!(echo(&c, &s.url, &sid, None).await, 200);
    // The stream closes: the session is idle, and the next initialize takes its place.
    drop(events);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let res = initialize_req(&c, &s.url, None).send().await.unwrap();
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session stayed busy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(echo(&c, &s.url, &sid, None).await, 404);
}

#[tokio::test]
async fn a_session_never_used_after_initialize_expires_early() {
    let s = start_with(
        test_server(),
        HttpConfig::default().unused_session_timeout(Duration::from_millis(300)),
    )
    .await;
    let c = client();
    // `initialize` and `notifications/initialized` only.
    let unused = initialize(&c, &s.url).await;
    let used = initialize(&c, &s.url).await;
    assert_eq!(echo(&c, &s.url, &used, None).await, 200);
    let service = s.service.clone();
    eventually("the unused session expires", || {
        service.session_count() == 1
    })
    .await;
    assert_eq!(echo(&c, &s.url, &unused, None).await, 404);
    // The used one lives by the (30 min) idle timeout.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(echo(&c, &s.url, &used, None).await, 200);
}

/// A server whose `ask` tool sends one `sampling/createMessage` and reports what came of it.
fn asking_server(per_session: usize, total: usize, timeout: Duration) -> Server {
    Server::builder()
        .name("limits")
        .version("0.0.0")
        .request_timeout(timeout)
        .max_pending_requests(per_session, total)
        .tool(tool("ask", |ctx| async move {
            let params = json!({"messages": [{"role": "user",
                "content": {"type": "text", "text": "hi"}}], "maxTokens": 5});
            Ok(CallToolResult::text(
                match ctx.send_request("sampling/createMessage", params).await {
                    Ok(v) => format!("sampled: {}", v["content"]["text"]),
                    Err(e) => format!("refused: {e}"),
                },
            ))
        }))
        .build()
}

fn ask(id: i64) -> Value {
    call(id, "ask", json!({}))
}

/// Posts `ask` and returns its SSE stream once the sampling request is on it.
async fn ask_and_wait(c: &reqwest::Client, url: &str, sid: &str, id: i64) -> (SseReader, Value) {
    let res = post(c, url, Some(sid), &ask(id)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = SseReader::new(res);
    loop {
        let ev = events.next().await.expect("sampling request");
        let msg = ev.json();
        if msg["method"] == "sampling/createMessage" {
            return (events, msg);
        }
    }
}

/// Posts `ask` and returns the tool's text (for calls answered at once).
async fn ask_text(c: &reqwest::Client, url: &str, sid: &str, id: i64) -> String {
    let res = post(c, url, Some(sid), &ask(id)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    body["result"]["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

#[tokio::test]
async fn pending_requests_are_bounded_per_session_and_per_server_and_released() {
    let server = asking_server(1, 2, Duration::from_secs(60));
    let s = start_with(server.clone(), HttpConfig::default()).await;
    let c = client();
    let (a, b, d) = (
        initialize(&c, &s.url).await,
        initialize(&c, &s.url).await,
        initialize(&c, &s.url).await,
    );
    let (mut a_events, a_req) = ask_and_wait(&c, &s.url, &a, 1).await;
    assert_eq!(server.pending_requests(), 1);
    // The session's bound: the second request is refused before anything is sent.
    assert_eq!(
        ask_text(&c, &s.url, &a, 2).await,
        "refused: too many server-to-client requests waiting for an answer (limit 1 per session)"
    );
    let (_b_events, _) = ask_and_wait(&c, &s.url, &b, 3).await;
    assert_eq!(server.pending_requests(), 2);
    // The server's bound: another session is refused too.
    assert_eq!(
        ask_text(&c, &s.url, &d, 4).await,
        "refused: too many server-to-client requests waiting for an answer (limit 2 per server)"
    );
    // An answer releases its entry.
    let answer = json!({"jsonrpc": "2.0", "id": a_req["id"], "result": {"role": "assistant",
        "content": {"type": "text", "text": "ok"}, "model": "m"}});
    let res = post(&c, &s.url, Some(&a), &answer).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let events = a_events.until_response(1).await;
    let reply = events.last().expect("reply").json();
    assert_eq!(reply["result"]["content"][0]["text"], "sampled: \"ok\"");
    assert_eq!(server.pending_requests(), 1);
    // The end of a session releases its entries (the client left without answering).
    assert_eq!(delete(&c, &s.url, &b).await, 204);
    eventually("B's entry is released", || server.pending_requests() == 0).await;
    let (_d_events, _) = ask_and_wait(&c, &s.url, &d, 5).await;
    assert_eq!(server.pending_requests(), 1);
}

#[tokio::test]
async fn pending_requests_are_released_on_timeout_and_on_handler_timeout() {
    // The request's own timeout.
    let server = asking_server(4, 4, Duration::from_millis(300));
    let s = start_with(server.clone(), HttpConfig::default()).await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let (mut events, _) = ask_and_wait(&c, &s.url, &sid, 1).await;
    assert_eq!(server.pending_requests(), 1);
    let reply = events.until_response(1).await.pop().expect("reply").json();
    assert_eq!(
        reply["result"]["content"][0]["text"],
        "refused: sampling/createMessage request timed out"
    );
    assert_eq!(server.pending_requests(), 0);

    // The handler's timeout drops the handler while it waits: its entry goes with it.
    let server = asking_server(4, 4, Duration::from_secs(60));
    let s = start_with(
        server.clone(),
        HttpConfig::default().handler_timeout(Some(Duration::from_millis(300))),
    )
    .await;
    let sid = initialize(&c, &s.url).await;
    let (mut events, _) = ask_and_wait(&c, &s.url, &sid, 1).await;
    let reply = events.until_response(1).await.pop().expect("reply").json();
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "Request timed out"}})
    );
    assert_eq!(server.pending_requests(), 0);
}

#[tokio::test]
async fn pending_requests_are_released_when_the_client_disconnects() {
    // JSON answers: the sampling request goes to the standalone GET stream, and the POST
    // waits; a client that gives up on the POST cancels the handler.
    let server = asking_server(4, 4, Duration::from_secs(60));
    let s = start_with(server.clone(), HttpConfig::default().json_response(true)).await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let get = c
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid.as_str())
        .header("mcp-protocol-version", LATEST)
        .send()
        .await
        .unwrap();
    let mut events = SseReader::new(get);
    let _priming = events.next().await.expect("priming event");
    let url = s.url.clone();
    let poster = c.clone();
    let sid2 = sid.clone();
    let post_task = tokio::spawn(async move {
        let _ = post(&poster, &url, Some(&sid2), &ask(1)).send().await;
    });
    let req = events.next().await.expect("sampling request").json();
    assert_eq!(req["method"], "sampling/createMessage");
    assert_eq!(server.pending_requests(), 1);
    post_task.abort();
    eventually("the entry is released", || server.pending_requests() == 0).await;
    assert_eq!(ping(&c, &s.url, &sid).await, 200);
}

/// `ping` on session `sid`: 200 while the session lives.
async fn ping(c: &reqwest::Client, url: &str, sid: &str) -> u16 {
    let res = post(
        c,
        url,
        Some(sid),
        &json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}),
    )
    .send()
    .await
    .unwrap();
    res.status().as_u16()
}
