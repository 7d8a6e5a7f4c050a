//! Streamable HTTP streams: SSE answers, priming events, resumption with `Last-Event-ID`, the
//! standalone GET stream, server→client requests, keep-alives, token expiry, cancellation.

mod http_common;

use futures::StreamExt;
use http_common::*;
use mcp_rs_server::ServerEvent;
use mcp_rs_server::transport::http::HttpConfig;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn call_with_token(id: i64, name: &str) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
           "params":{"name":name,"arguments":{},"_meta":{"progressToken":"tok"}}})
}

/// `<stream>-<seq>` → (stream, seq).
fn split_id(id: &str) -> (String, u64) {
    let (stream, seq) = id.rsplit_once('-').expect("event id has a sequence number");
    (stream.to_owned(), seq.parse().expect("numeric sequence"))
}

fn get_stream(c: &reqwest::Client, url: &str, sid: &str) -> reqwest::RequestBuilder {
    c.get(url)
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", LATEST)
        .header("mcp-session-id", sid)
}

#[tokio::test]
async fn related_messages_switch_the_answer_to_sse() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = post(&c, &s.url, Some(&sid), &call_with_token(5, "progress"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let mut events = SseReader::new(res);
    let priming = events.next().await.unwrap();
    assert_eq!(priming.data, "");
    assert_eq!(priming.retry, Some(1000));
    let (stream, seq) = split_id(priming.id.as_deref().unwrap());
    assert_eq!(seq, 0);
    let rest = events.until_response(5).await;
    let ids: Vec<String> = rest.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            format!("{stream}-1"),
            format!("{stream}-2"),
            format!("{stream}-3")
        ]
    );
    assert_eq!(rest[0].json()["method"], "notifications/progress");
    let p = rest[0].json()["params"].clone();
    assert_eq!(p["progressToken"], "tok");
    assert_eq!(
        (p["progress"].as_f64(), p["total"].as_f64()),
        (Some(1.0), Some(2.0))
    );
    assert_eq!(rest[1].json()["params"]["progress"].as_f64(), Some(2.0));
    assert_eq!(rest[2].json()["result"]["content"][0]["text"], "progressed");
    // The stream ends after the result.
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_cut_stream_is_resumed_with_last_event_id() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    for wait in [Duration::ZERO, Duration::from_millis(500)] {
        let res = post(&c, &s.url, Some(&sid), &call_with_token(9, "poll"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut events = SseReader::new(res);
        let priming = events.next().await.unwrap();
        let last = priming.id.clone().unwrap();
        // The handler closed the stream: it ends after the priming event.
        assert!(events.next().await.is_none());
        // Reconnect now (handler still running) or later (result already produced).
        tokio::time::sleep(wait).await;
        let res = get_stream(&c, &s.url, &sid)
            .header("last-event-id", last.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut events = SseReader::new(res);
        let got = events.until_response(9).await;
        let (stream, _) = split_id(&last);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].id.as_deref(), Some(format!("{stream}-1").as_str()));
        assert_eq!(got[0].json()["method"], "notifications/progress");
        assert_eq!(got[1].id.as_deref(), Some(format!("{stream}-2").as_str()));
        assert_eq!(
            got[1].json()["result"]["content"][0]["text"],
            "polled (closed: true)"
        );
        assert!(
            events.next().await.is_none(),
            "resumed POST stream ends after its result"
        );
        // Resuming from the middle replays only what came after.
        let res = get_stream(&c, &s.url, &sid)
            .header("last-event-id", format!("{stream}-1"))
            .send()
            .await
            .unwrap();
        let mut events = SseReader::new(res);
        let got = events.until_response(9).await;
        assert_eq!(got.len(), 1);
    }
}

#[tokio::test]
async fn standalone_get_stream_carries_server_events() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    // Accept must allow SSE.
    let (status, body) = error_code(
        c.get(&s.url)
            .header("accept", "application/json")
            .header("mcp-session-id", sid.as_str())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 406);
    assert_eq!(body["error"]["code"], -32600);
    // A session id is required.
    let (status, _) = error_code(
        c.get(&s.url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    let res = get_stream(&c, &s.url, &sid).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = SseReader::new(res);
    let priming = events.next().await.unwrap();
    assert_eq!(priming.data, "");
    assert_eq!(priming.retry, Some(1000));
    let (stream, seq) = split_id(priming.id.as_deref().unwrap());
    assert_eq!(seq, 0);
    s.service.server().emit(ServerEvent::ToolsListChanged);
    let ev = events.next().await.unwrap();
    assert_eq!(
        ev.json(),
        json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})
    );
    assert_eq!(ev.id, Some(format!("{stream}-1")));

    // A second GET replaces the first, which ends; a reconnect with Last-Event-ID replays.
    s.service.server().emit(ServerEvent::PromptsListChanged);
    let res = get_stream(&c, &s.url, &sid)
        .header("last-event-id", format!("{stream}-1"))
        .send()
        .await
        .unwrap();
    let mut second = SseReader::new(res);
    let replayed = second.next().await.unwrap();
    assert_eq!(
        replayed.json()["method"],
        "notifications/prompts/list_changed"
    );
    assert_eq!(replayed.id, Some(format!("{stream}-2")));
    // The first stream got the same event live, then ended when replaced.
    let live = events.next().await.unwrap();
    assert_eq!(live.id, Some(format!("{stream}-2")));
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn server_to_client_requests_travel_on_the_request_stream() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = post(&c, &s.url, Some(&sid), &call(3, "sample", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = SseReader::new(res);
    let _priming = events.next().await.unwrap();
    let req = events.next().await.unwrap().json();
    assert_eq!(req["method"], "sampling/createMessage");
    assert_eq!(req["params"]["maxTokens"], 5);
    let peer_id = req["id"].clone();
    // The client answers with a POST of its own: 202.
    let answer = json!({"jsonrpc":"2.0","id":peer_id,"result":{
        "role":"assistant","content":{"type":"text","text":"hello"},"model":"test-model"}});
    let res = post(&c, &s.url, Some(&sid), &answer).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let done = events.until_response(3).await;
    assert_eq!(
        done.last().unwrap().json()["result"]["content"][0]["text"],
        "sampled: hello"
    );
}

#[tokio::test]
async fn keep_alive_comments_on_idle_streams() {
    let s = start_with(
        test_server(),
        HttpConfig::default().keep_alive(Some(Duration::from_millis(100))),
    )
    .await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = get_stream(&c, &s.url, &sid).send().await.unwrap();
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(PATIENCE, async {
        while !seen.contains(": keep-alive\n\n") {
            let chunk = body.next().await.expect("stream open").expect("chunk");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("a keep-alive comment");
}

#[tokio::test]
async fn streams_close_when_the_token_expires() {
    let s = start().await;
    let c = client();
    let sid = initialize_as(&c, &s.url, Some("alice")).await;
    let res = get_stream(&c, &s.url, &sid)
        .header("x-test-subject", "alice")
        .header("x-test-expires-in", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut events = SseReader::new(res);
    let _priming = events.next().await.unwrap();
    // No event arrives; the stream ends at the token's expiry (within PATIENCE).
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_its_request() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let before = HANG_CANCELLED.load(Ordering::SeqCst);
    let res = post(&c, &s.url, Some(&sid), &call(1, "hang", json!({})))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(res.is_err(), "the hang tool never answers");
    tokio::time::timeout(PATIENCE, async {
        while HANG_CANCELLED.load(Ordering::SeqCst) == before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the handler saw its cancellation");
}

#[tokio::test]
async fn deleting_the_session_ends_its_streams() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = get_stream(&c, &s.url, &sid).send().await.unwrap();
    let mut events = SseReader::new(res);
    let _priming = events.next().await.unwrap();
    let res = c
        .delete(&s.url)
        .header("mcp-session-id", sid.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(events.next().await.is_none());
}
