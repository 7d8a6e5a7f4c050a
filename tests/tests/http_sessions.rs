//! Streamable HTTP sessions: DELETE, limits, idle expiry, principal binding, shared stores.

mod http_common;

use http_common::*;
use mcp_rs_server::transport::http::{HttpConfig, InMemorySessionStore, SessionStore};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn delete_ends_the_session() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    // Without a session id: 400.
    let (status, body) = error_code(c.delete(&s.url).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32600);
    let res = c
        .delete(&s.url)
        .header("mcp-session-id", sid.as_str())
        .header("mcp-protocol-version", LATEST)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(s.service.session_count(), 0);
    // Then 404 for everything carrying that id.
    let (status, body) = error_code(
        post(
            &c,
            &s.url,
            Some(&sid),
            &call(1, "echo", json!({"text":"x"})),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "Session not found");
    let res = c
        .delete(&s.url)
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = c
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn full_session_table_refuses_new_sessions_only() {
    let s = start_with(
        test_server(),
        HttpConfig::default()
            .max_sessions(1)
            .busy_retry_after(Duration::from_secs(7)),
    )
    .await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    // An open GET stream keeps the session busy: it cannot be evicted to make room.
    let get = c
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    let mut events = SseReader::new(get);
    let _priming = events.next().await.expect("priming event");
    let res = post(&c, &s.url, None, &initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "7");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(body["id"], 0);
    // The existing session is untouched.
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(1, "echo", json!({"text":"still here"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    // Once it is gone, there is room again.
    let res = c
        .delete(&s.url)
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = post(&c, &s.url, None, &initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let s = start_with(
        test_server(),
        HttpConfig::default().session_idle_timeout(Duration::from_millis(200)),
    )
    .await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    // The sweeper runs every 100 ms here; wait (generously) until the session is gone.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.service.session_count() == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session never expired"
        );
    }
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(1, "echo", json!({"text":"x"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_session_with_an_open_stream_is_not_idle() {
    let s = start_with(
        test_server(),
        HttpConfig::default().session_idle_timeout(Duration::from_millis(200)),
    )
    .await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let get = c
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let mut events = SseReader::new(get);
    let _priming = events.next().await.expect("priming event");
    // Several sweeps later the session is still alive.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(s.service.session_count(), 1);
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(1, "echo", json!({"text":"x"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn sessions_are_bound_to_their_principal() {
    let s = start().await;
    let c = client();
    let sid = initialize_as(&c, &s.url, Some("alice")).await;
    let as_user = |user: Option<&'static str>, id: i64| {
        let mut b = post(&c, &s.url, Some(&sid), &call(id, "whoami", json!({})));
        if let Some(u) = user {
            b = b.header("x-test-subject", u);
        }
        b.send()
    };
    let res = as_user(Some("alice"), 1).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "alice");
    // Same id, another principal (or none): indistinguishable from an unknown session.
    for (user, id) in [(Some("mallory"), 2), (None, 3)] {
        let (status, body) = error_code(as_user(user, id).await.unwrap()).await;
        assert_eq!(status, 404, "{user:?}");
        assert_eq!(body["error"]["message"], "Session not found");
    }
    let res = c
        .delete(&s.url)
        .header("mcp-session-id", sid.as_str())
        .header("x-test-subject", "mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(s.service.session_count(), 1);
    // An anonymous session cannot be taken over by an authenticated caller either.
    let anon = initialize(&c, &s.url).await;
    let res = post(&c, &s.url, Some(&anon), &call(4, "whoami", json!({})))
        .header("x-test-subject", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn session_records_go_to_the_shared_store() {
    let store = Arc::new(InMemorySessionStore::new());
    let s = start_with(
        test_server(),
        HttpConfig::default().session_store(store.clone()),
    )
    .await;
    let c = client();
    let sid = initialize_as(&c, &s.url, Some("alice")).await;
    let rec = store
        .get(&sid)
        .await
        .unwrap()
        .expect("record written on initialize");
    assert_eq!(rec.id, sid);
    assert_eq!(rec.protocol_version.as_str(), LATEST);
    assert_eq!(
        rec.client_info.as_ref().map(|i| i.name.as_str()),
        Some("http-test-client")
    );
    assert!(
        rec.principal
            .as_deref()
            .is_some_and(|p| p.contains("alice"))
    );
    // Deleting the record elsewhere (another instance, an operator) ends the session here.
    store.remove(&sid).await.unwrap();
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(1, "echo", json!({"text":"x"})),
    )
    .header("x-test-subject", "alice")
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
    // DELETE removes the record.
    let sid = initialize(&c, &s.url).await;
    assert!(store.get(&sid).await.unwrap().is_some());
    let res = c
        .delete(&s.url)
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(store.get(&sid).await.unwrap().is_none());
}

#[tokio::test]
async fn a_failed_initialize_creates_no_session() {
    let s = start().await;
    let c = client();
    let bad = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":"not an object"}});
    let res = post(&c, &s.url, None, &bad).send().await.unwrap();
    assert!(res.headers().get("mcp-session-id").is_none());
    let body: Value = res.json().await.unwrap();
    assert!(body.get("error").is_some(), "{body}");
    assert_eq!(s.service.session_count(), 0);
    assert_eq!(s.service.server().session_count(), 0);
}
