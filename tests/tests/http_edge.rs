//! Streamable HTTP edge cases: exact statuses, headers and JSON-RPC error codes.

mod http_common;

use http_common::*;
use mcp_rs_server::transport::http::HttpConfig;
use serde_json::{Value, json};

fn err(body: &Value) -> (i64, &str) {
    (
        body["error"]["code"].as_i64().unwrap_or(0),
        body["error"]["message"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn initialize_issues_a_visible_ascii_session_id_and_json() {
    let s = start().await;
    let c = client();
    let res = post(&c, &s.url, None, &initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let id = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    assert!(
        !id.is_empty() && id.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "{id:?}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], 0);
    assert_eq!(body["result"]["protocolVersion"], LATEST);
    // notifications/initialized → 202 with an empty body.
    let res = post(
        &c,
        &s.url,
        Some(&id),
        &json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 202);
    assert!(res.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn plain_request_is_answered_with_json() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(1, "echo", json!({"text": "hi"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}})
    );
}

#[tokio::test]
async fn session_id_rules() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    // Missing on a non-initialize request: 400.
    let (status, body) = error_code(
        post(&c, &s.url, None, &call(1, "echo", json!({"text":"x"})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        err(&body),
        (-32600, "Bad Request: Mcp-Session-Id header is required")
    );
    assert_eq!(body["id"], 1);
    // Unknown: 404.
    let (status, body) = error_code(
        post(
            &c,
            &s.url,
            Some("no-such-session"),
            &call(2, "echo", json!({"text":"x"})),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(err(&body), (-32600, "Session not found"));
    assert_eq!(body["id"], 2);
    // Repeated: 400.
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(3, "echo", json!({"text":"x"})),
    )
    .header("mcp-session-id", sid.as_str())
    .send()
    .await
    .unwrap();
    let (status, body) = error_code(res).await;
    assert_eq!(status, 400);
    assert_eq!(
        err(&body),
        (
            -32600,
            "Bad Request: the mcp-session-id header must appear only once"
        )
    );
}

#[tokio::test]
async fn protocol_version_header() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = c
        .post(&s.url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", sid.as_str())
        .header("mcp-protocol-version", "1999-01-01")
        .body(call(1, "echo", json!({"text":"x"})).to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = error_code(res).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(
        body["error"]["data"],
        json!({"supported": ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"], "requested": "1999-01-01"})
    );
    assert_eq!(body["id"], 1);
    // Absent: assumed 2025-03-26, accepted.
    let res = c
        .post(&s.url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", sid.as_str())
        .body(call(2, "echo", json!({"text":"x"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn malformed_bodies() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let send = |body: &'static str| {
        c.post(&s.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", LATEST)
            .header("mcp-session-id", sid.as_str())
            .body(body)
            .send()
    };
    let (status, body) = error_code(send("{not json").await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(body["id"], Value::Null);
    let (status, body) = error_code(send(r#"{"id":7,"method":"ping"}"#).await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32600);
    assert_eq!(body["id"], 7);
    let (status, body) = error_code(send("[]").await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32600);
}

#[tokio::test]
async fn accept_and_content_type_are_validated_with_json_bodies() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = c
        .post(&s.url)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", LATEST)
        .header("mcp-session-id", sid.as_str())
        .body(call(1, "echo", json!({"text":"x"})).to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = error_code(res).await;
    assert_eq!(status, 406);
    assert_eq!(
        err(&body),
        (
            -32600,
            "Not Acceptable: the client must accept both application/json and text/event-stream"
        )
    );
    let res = c
        .post(&s.url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .header("mcp-protocol-version", LATEST)
        .header("mcp-session-id", sid.as_str())
        .body(call(1, "echo", json!({"text":"x"})).to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = error_code(res).await;
    assert_eq!(status, 415);
    assert_eq!(
        err(&body),
        (
            -32600,
            "Unsupported Media Type: Content-Type must be application/json"
        )
    );
}

#[tokio::test]
async fn body_cap_is_413() {
    let s = start_with(test_server(), HttpConfig::default().max_body_bytes(1024)).await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let big = "x".repeat(2048);
    let (status, body) = error_code(
        post(
            &c,
            &s.url,
            Some(&sid),
            &call(1, "echo", json!({"text": big})),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(
        err(&body),
        (-32600, "Payload Too Large: the body exceeds 1024 bytes")
    );
    // Under the cap is fine.
    let res = post(
        &c,
        &s.url,
        Some(&sid),
        &call(2, "echo", json!({"text": "small"})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn batches() {
    let s = start_with(test_server(), HttpConfig::default().max_batch(2)).await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let batch = |n: i64| {
        Value::Array(
            (1..=n)
                .map(|i| call(i, "echo", json!({"text": i.to_string()})))
                .collect(),
        )
    };
    let send = |body: Value, version: Option<&'static str>| {
        let mut b = c
            .post(&s.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", sid.as_str())
            .body(body.to_string());
        if let Some(v) = version {
            b = b.header("mcp-protocol-version", v);
        }
        b.send()
    };
    // 2025-03-26 (or no header): batches are allowed.
    let res = send(batch(2), Some("2025-03-26")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let mut ids: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2]);
    // Over the cap.
    let (status, body) = error_code(send(batch(3), None).await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(
        err(&body),
        (
            -32600,
            "Bad Request: batch of 3 messages exceeds the limit of 2"
        )
    );
    // Batching was removed in 2025-06-18.
    let (status, body) = error_code(send(batch(2), Some("2025-06-18")).await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(
        err(&body),
        (
            -32600,
            "Invalid Request: JSON-RPC batches are not supported in protocol version 2025-06-18"
        )
    );
}

#[tokio::test]
async fn dns_rebinding_protection() {
    let s = start().await;
    let c = client();
    let port = s.addr.port();
    let send = |host: String, origin: Option<String>| {
        let mut b = post(&c, &s.url, None, &initialize_body()).header("host", host);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.send()
    };
    for (host, origin) in [
        ("evil.example.com".to_owned(), None),
        (
            format!("evil.example.com:{port}"),
            Some("http://evil.example.com".to_owned()),
        ),
        (
            format!("localhost:{port}"),
            Some("http://evil.example.com".to_owned()),
        ),
    ] {
        let (status, body) = error_code(send(host.clone(), origin.clone()).await.unwrap()).await;
        assert_eq!(status, 403, "{host} {origin:?}");
        assert_eq!(body["error"]["code"], -32600);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Forbidden: "),
            "{body}"
        );
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let res = send(host.clone(), Some(format!("http://{host}")))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host}");
    }
    // A public deployment allows its own name.
    let s2 = start_with(
        test_server(),
        HttpConfig::default().allowed_hosts(["mcp.example.com"]),
    )
    .await;
    let res = post(&c, &s2.url, None, &initialize_body())
        .header("host", "mcp.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn methods_and_paths() {
    let s = start().await;
    let c = client();
    let (status, body) = error_code(c.put(&s.url).send().await.unwrap()).await;
    assert_eq!(status, 405);
    assert_eq!(err(&body), (-32600, "Method Not Allowed"));
    let res = c.put(&s.url).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, POST, DELETE");
    let other = s.url.replace("/mcp", "/other");
    let (status, _) = error_code(
        post(&c, &other, None, &initialize_body())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let s = start().await;
    let c = client();
    let res = c
        .request(reqwest::Method::OPTIONS, &s.url)
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, mcp-protocol-version, mcp-param-region",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:6274"
    );
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "authorization, content-type, mcp-protocol-version, mcp-param-region"
    );
    let res = post(&c, &s.url, None, &initialize_body())
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-expose-headers"],
        "Mcp-Session-Id, WWW-Authenticate"
    );
}

#[tokio::test]
async fn http_parts_reach_handlers() {
    let s = start().await;
    let c = client();
    let sid = initialize(&c, &s.url).await;
    let res = post(&c, &s.url, Some(&sid), &call(1, "header", json!({})))
        .header("x-custom", "from-the-request")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "from-the-request");
}

#[tokio::test]
async fn insufficient_scope_is_403_with_a_challenge() {
    let s = start().await;
    let c = client();
    let sid = initialize_as(&c, &s.url, Some("alice")).await;
    let res = post(&c, &s.url, Some(&sid), &call(1, "write", json!({})))
        .header("x-test-subject", "alice")
        .header("x-test-scopes", "mcp:read")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope", scope="mcp:write""#
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    // With the authorization layer's challenge info: resource_metadata too.
    let res = post(&c, &s.url, Some(&sid), &call(2, "write", json!({})))
        .header("x-test-subject", "alice")
        .header("x-test-scopes", "mcp:read")
        .header("x-test-challenge", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:write""#
    );
    // With the scope: 200.
    let res = post(&c, &s.url, Some(&sid), &call(3, "write", json!({})))
        .header("x-test-subject", "alice")
        .header("x-test-scopes", "mcp:write")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "written");
}

#[tokio::test]
async fn stateless_mode_has_no_sessions() {
    let s = start_with(test_server(), HttpConfig::default().stateless()).await;
    let c = client();
    let res = post(&c, &s.url, None, &initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("mcp-session-id").is_none());
    let res = post(&c, &s.url, None, &call(1, "echo", json!({"text":"x"})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = error_code(
        c.get(&s.url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
    let res = c.delete(&s.url).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
}
