//! Connection limits of `serve_listener_with`: header, idle and body timeouts, the global and
//! per-address connection caps. Raw TCP, so the tests see exactly what a hostile client sees.

mod http_common;

use mcp_rs_server::transport::http::{
    ConnectionLimits, HttpConfig, StreamableHttpService, serve_listener_with,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;

struct Limited {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(limits: ConnectionLimits) -> Limited {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = StreamableHttpService::new(http_common::test_server(), HttpConfig::default());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve_listener_with(
        listener,
        svc,
        async move {
            let _ = rx.await;
        },
        Duration::from_millis(100),
        limits,
    ));
    Limited { addr, _stop: tx }
}

/// Short timeouts for the tests; the caps stay at their (large) defaults unless set.
fn quick() -> ConnectionLimits {
    ConnectionLimits::default()
        .header_read_timeout(Some(Duration::from_secs(1)))
        .idle_timeout(Some(Duration::from_secs(1)))
        .body_read_timeout(Some(Duration::from_secs(1)))
        .body_timeout(Some(Duration::from_secs(3)))
}

/// Connects from `local` (any 127.x address works on Linux loopback).
async fn connect_from(local: [u8; 4], to: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from((local, 0))).unwrap();
    sock.connect(to).await.unwrap()
}

/// Reads until the peer closes (or resets); what came, and when it ended.
async fn read_to_close(s: &mut TcpStream, bound: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut buf = Vec::new();
    let res = tokio::time::timeout(bound, async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(res.is_ok(), "connection still open after {bound:?}");
    (String::from_utf8_lossy(&buf).into_owned(), start.elapsed())
}

fn initialize_request(host: SocketAddr) -> String {
    let body = serde_json::to_string(&http_common::initialize_body()).unwrap();
    format!(
        "POST /mcp HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn body_json(response: &str) -> serde_json::Value {
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let srv = start(quick()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let (got, took) = read_to_close(&mut s, Duration::from_secs(10)).await;
    assert_eq!(got, "");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn a_slow_header_is_cut_off() {
    let srv = start(quick()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    // More than the 24 bytes HTTP version detection reads, but no end of the head.
    s.write_all(b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
        .await
        .unwrap();
    let (got, took) = read_to_close(&mut s, Duration::from_secs(10)).await;
    assert_eq!(got, "");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    let srv = start(quick()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let full = initialize_request(srv.addr);
    // Everything but the last 10 bytes of the body.
    s.write_all(&full.as_bytes()[..full.len() - 10])
        .await
        .unwrap();
    let (got, took) = read_to_close(&mut s, Duration::from_secs(10)).await;
    assert_eq!(status_of(&got), 408, "{got}");
    let err = body_json(&got);
    assert_eq!(err["error"]["code"], -32600);
    assert_eq!(
        err["error"]["message"],
        "Request Timeout: no request body data within the body read timeout"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_trickled_body_hits_the_whole_body_deadline() {
    let srv = start(quick()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let full = initialize_request(srv.addr);
    let (head, body) = full.split_once("\r\n\r\n").unwrap();
    s.write_all(format!("{head}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // One byte every 400 ms: never 1 s between reads, but the body takes far over 3 s.
    let start = Instant::now();
    let mut answer = Vec::new();
    for b in body.as_bytes() {
        if s.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut chunk = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut chunk)).await
        {
            answer.extend_from_slice(&chunk[..n]);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no deadline");
    }
    let (rest, _) = read_to_close(&mut s, Duration::from_secs(10)).await;
    let got = format!("{}{rest}", String::from_utf8_lossy(&answer));
    assert_eq!(status_of(&got), 408, "{got}");
    assert_eq!(
        body_json(&got)["error"]["message"],
        "Request Timeout: the request body was not received within the body timeout"
    );
    assert!(start.elapsed() >= Duration::from_millis(2900));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let srv = start(quick().header_read_timeout(Some(Duration::from_secs(30)))).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(initialize_request(srv.addr).as_bytes())
        .await
        .unwrap();
    let (got, took) = read_to_close(&mut s, Duration::from_secs(10)).await;
    assert_eq!(status_of(&got), 200, "{got}");
    assert!(header(&got, "mcp-session-id").is_some());
    // Closed by the 1 s idle timeout, long before the 30 s header timeout.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn at_the_global_cap_new_connections_get_503_with_retry_after() {
    let limits = quick()
        .header_read_timeout(Some(Duration::from_secs(30)))
        .idle_timeout(Some(Duration::from_secs(30)))
        .max_connections(Some(4))
        .max_connections_per_addr(Some(100))
        .retry_after(Duration::from_secs(3));
    let srv = start(limits).await;
    let mut held = Vec::new();
    for i in 0..4u8 {
        held.push(connect_from([127, 0, 0, 10 + i], srv.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut s = connect_from([127, 0, 0, 20], srv.addr).await;
    s.write_all(initialize_request(srv.addr).as_bytes())
        .await
        .unwrap();
    let (got, _) = read_to_close(&mut s, Duration::from_secs(10)).await;
    assert_eq!(status_of(&got), 503, "{got}");
    assert_eq!(header(&got, "retry-after"), Some("3"));
    assert_eq!(body_json(&got)["error"]["code"], -32000);
    // One holder leaves: the next client is served.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut s = connect_from([127, 0, 0, 20], srv.addr).await;
    s.write_all(initialize_request(srv.addr).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 200);
}

#[tokio::test]
async fn one_address_at_its_share_gets_429_while_another_is_served() {
    let limits = quick()
        .header_read_timeout(Some(Duration::from_secs(30)))
        .idle_timeout(Some(Duration::from_secs(30)))
        .max_connections(Some(100))
        .max_connections_per_addr(Some(3));
    let srv = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 30], srv.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut abuser = connect_from([127, 0, 0, 30], srv.addr).await;
    let (got, _) = read_to_close(&mut abuser, Duration::from_secs(10)).await;
    assert_eq!(status_of(&got), 429, "{got}");
    assert_eq!(header(&got, "retry-after"), Some("1"));
    assert_eq!(
        body_json(&got)["error"]["message"],
        "Too many connections from this address, retry later"
    );
    let mut legit = connect_from([127, 0, 0, 31], srv.addr).await;
    legit
        .write_all(initialize_request(srv.addr).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), legit.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 200);
}
