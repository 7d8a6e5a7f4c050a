//! Soak client: drives a Streamable HTTP server on loopback with a mix of well-behaved and
//! abusive clients for a bounded time and request count, and watches the server's resident
//! memory and open file descriptors in /proc.
//!
//! ```text
//! soak --url http://127.0.0.1:3001/mcp --pid 1234 [--seconds 60] [--concurrency 64]
//!      [--max-requests 500000] [--rss-margin-mib 64] [--fd-margin 16] [--settle-seconds 30]
//! ```
//!
//! Mix (round robin per worker): full sessions (initialize, list, call, DELETE); standalone
//! GET streams dropped mid-stream; a progress-reporting tool call dropped after its first
//! event; a `sampling/createMessage` the client never answers (256 KiB prompt, the session is
//! abandoned, not deleted); bad requests with exact expected statuses (400 malformed JSON,
//! 415 wrong content type, 404 unknown session, 413 declared oversize body).
//!
//! The abusive client (abandoned sampling) connects from 127.0.0.2 when the server is on a
//! 127.x address, the others from 127.0.0.1: it runs into its per-address session quota
//! (429 on `initialize`, expected and counted) while the well-behaved clients must still get
//! exactly the statuses above.
//!
//! After the load the abandoned sessions are ended (the abusive clients leave), then RSS and
//! fds must come back to within the margins of their values at start within the settle time.
//! Exit status: 0 pass, 1 memory or fds did not come back or a request got an unexpected
//! status, 2 bad arguments or the server is unreachable.

use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const VERSION: &str = "2025-11-25";
const ACCEPT: &str = "application/json, text/event-stream";

#[derive(Debug, Clone)]
struct Args {
    url: String,
    pid: u32,
    seconds: u64,
    concurrency: usize,
    max_requests: u64,
    rss_margin_mib: u64,
    fd_margin: u64,
    settle_seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        pid: 0,
        seconds: 60,
        concurrency: 64,
        max_requests: 500_000,
        rss_margin_mib: 64,
        fd_margin: 16,
        settle_seconds: 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = || v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => a.url = v.clone(),
            "--pid" => a.pid = u32::try_from(num()?).map_err(|e| e.to_string())?,
            "--seconds" => a.seconds = num()?,
            "--concurrency" => a.concurrency = usize::try_from(num()?).unwrap_or(64),
            "--max-requests" => a.max_requests = num()?,
            "--rss-margin-mib" => a.rss_margin_mib = num()?,
            "--fd-margin" => a.fd_margin = num()?,
            "--settle-seconds" => a.settle_seconds = num()?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let host = url_host(&a.url);
    if !(host.starts_with("127.") || host == "localhost" || host == "[::1]") {
        return Err(format!("--url must be a loopback address, got {:?}", a.url));
    }
    if a.pid == 0 {
        return Err("--pid is required".into());
    }
    Ok(a)
}

fn url_host(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let hostport = rest.split('/').next().unwrap_or("");
    match hostport.rsplit_once(':') {
        Some((h, _)) if !h.is_empty() => h,
        _ => hostport,
    }
}

/// RSS (KiB) and open fds of `pid`.
fn sample(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss, fds))
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    quota_refusals: AtomicU64,
    unexpected: AtomicU64,
    transport_errors: AtomicU64,
    scenarios: [AtomicU64; 5],
    peak_rss: AtomicU64,
    peak_fds: AtomicU64,
    first_unexpected: std::sync::Mutex<Option<String>>,
    first_transport_error: std::sync::Mutex<Option<String>>,
}

impl Stats {
    fn transport_error(&self, what: String) {
        self.transport_errors.fetch_add(1, Ordering::Relaxed);
        let mut f = self
            .first_transport_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get_or_insert(what);
    }

    fn unexpected(&self, what: String) {
        self.unexpected.fetch_add(1, Ordering::Relaxed);
        let mut f = self
            .first_unexpected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get_or_insert(what);
    }
}

struct Ctx {
    http: reqwest::Client,
    /// The abusive client's own connections (another loopback address when possible).
    abuser: reqwest::Client,
    url: String,
    stats: Stats,
    abandoned: Mutex<Vec<String>>,
}

impl Ctx {
    fn post(&self, session: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        self.post_as(&self.http, session, body)
    }

    fn post_as(
        &self,
        http: &reqwest::Client,
        session: Option<&str>,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut b = http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", ACCEPT)
            .body(body.to_string());
        if let Some(s) = session {
            b = b
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", VERSION);
        }
        b
    }

    fn expect(
        &self,
        what: &str,
        got: Result<reqwest::Response, reqwest::Error>,
        want: u16,
    ) -> Option<reqwest::Response> {
        match got {
            Ok(r) if r.status().as_u16() == want => Some(r),
            Ok(r) => {
                self.stats
                    .unexpected(format!("{what}: status {} (expected {want})", r.status()));
                None
            }
            Err(e) => {
                self.stats.transport_error(format!("{what}: {e}"));
                None
            }
        }
    }

    async fn initialize(&self) -> Option<String> {
        self.initialize_as(&self.http).await
    }

    async fn initialize_as(&self, http: &reqwest::Client) -> Option<String> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": VERSION,
            "capabilities": {"sampling": {}, "elicitation": {}},
            "clientInfo": {"name": "soak", "version": "1.0.0"}}});
        let r = self.expect(
            "initialize",
            self.post_as(http, None, &body).send().await,
            200,
        )?;
        let id = r.headers().get("mcp-session-id")?.to_str().ok()?.to_owned();
        let _ = r.bytes().await;
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = self.post_as(http, Some(&id), &note).send().await;
        self.expect("initialized", r, 202)?;
        Some(id)
    }

    /// The abusive client's `initialize`: 429 at its quota is the expected answer too.
    async fn initialize_abuser(&self) -> Option<String> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": VERSION,
            "capabilities": {"sampling": {}},
            "clientInfo": {"name": "soak-abuser", "version": "1.0.0"}}});
        let r = self.post_as(&self.abuser, None, &body).send().await;
        if let Ok(r) = &r {
            if r.status().as_u16() == 429 && r.headers().contains_key("retry-after") {
                self.stats.quota_refusals.fetch_add(1, Ordering::Relaxed);
                // Back off a little, as a client honouring Retry-After would (shortened).
                tokio::time::sleep(Duration::from_millis(50)).await;
                return None;
            }
        }
        let r = self.expect("abuser initialize", r, 200)?;
        let id = r.headers().get("mcp-session-id")?.to_str().ok()?.to_owned();
        let _ = r.bytes().await;
        Some(id)
    }

    async fn delete(&self, id: &str) {
        self.delete_as(&self.http, id).await;
    }

    async fn delete_as(&self, http: &reqwest::Client, id: &str) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let r = http
            .delete(&self.url)
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", VERSION)
            .send()
            .await;
        self.expect("DELETE", r, 204);
    }

    fn call(id: i64, tool: &str, args: Value, meta: Option<Value>) -> Value {
        let mut params = json!({"name": tool, "arguments": args});
        if let Some(m) = meta {
            params["_meta"] = m;
        }
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
    }

    /// initialize, tools/list, tools/call, DELETE.
    async fn full_session(&self) {
        let Some(s) = self.initialize().await else {
            return;
        };
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        if let Some(r) = self.expect("tools/list", self.post(Some(&s), &list).send().await, 200) {
            let _ = r.bytes().await;
        }
        let call = Self::call(2, "test_simple_text", json!({}), None);
        if let Some(r) = self.expect("tools/call", self.post(Some(&s), &call).send().await, 200) {
            let _ = r.bytes().await;
        }
        self.delete(&s).await;
    }

    /// Opens the standalone GET stream, reads its first bytes, drops it mid-stream.
    async fn get_stream_dropped(&self) {
        let Some(s) = self.initialize().await else {
            return;
        };
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let r = self
            .http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &s)
            .header("mcp-protocol-version", VERSION)
            .send()
            .await;
        if let Some(r) = self.expect("GET stream", r, 200) {
            let mut body = r.bytes_stream();
            let _ = tokio::time::timeout(Duration::from_millis(200), body.next()).await;
        }
        self.delete(&s).await;
    }

    /// A tool call whose SSE response is dropped after its first event.
    async fn post_stream_dropped(&self) {
        let Some(s) = self.initialize().await else {
            return;
        };
        let call = Self::call(
            3,
            "test_tool_with_progress",
            json!({}),
            Some(json!({"progressToken": 7})),
        );
        if let Some(r) = self.expect(
            "progress call",
            self.post(Some(&s), &call).send().await,
            200,
        ) {
            let mut body = r.bytes_stream();
            let _ = tokio::time::timeout(Duration::from_secs(2), body.next()).await;
        }
        self.delete(&s).await;
    }

    /// A sampling request the client never answers; the session is abandoned.
    async fn abandoned_sampling(&self) {
        let Some(s) = self.initialize_abuser().await else {
            return;
        };
        let prompt = "p".repeat(256 * 1024);
        let call = Self::call(4, "test_sampling", json!({"prompt": prompt}), None);
        let r = self.post_as(&self.abuser, Some(&s), &call).send().await;
        if let Some(r) = self.expect("sampling call", r, 200) {
            let mut body = r.bytes_stream();
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                match tokio::time::timeout(Duration::from_secs(1), body.next()).await {
                    Ok(Some(Ok(chunk))) => {
                        seen.extend_from_slice(&chunk);
                        if seen.windows(22).any(|w| w == b"sampling/createMessage") {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        }
        self.abandoned.lock().await.push(s);
    }

    /// Bad requests, each with its exact expected status.
    async fn bad_requests(&self) {
        let send = |b: reqwest::RequestBuilder| async move {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            b.send().await
        };
        let base = || self.http.post(&self.url).header("accept", ACCEPT);
        let r = send(
            base()
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
        self.expect("malformed JSON", r, 400);
        let r = send(base().header("content-type", "text/plain").body("{}")).await;
        self.expect("wrong content type", r, 415);
        let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}).to_string();
        let r = send(
            base()
                .header("content-type", "application/json")
                .header("mcp-session-id", "no-such-session")
                .header("mcp-protocol-version", VERSION)
                .body(ping),
        )
        .await;
        self.expect("unknown session", r, 404);
        self.oversize().await;
    }

    /// Declares a 64 MiB body (raw TCP: an HTTP client would refuse to send a body shorter
    /// than its `content-length`) and expects 413 before any of it is sent.
    async fn oversize(&self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let hostport = self
            .url
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: {hostport}\r\ncontent-type: application/json\r\naccept: {ACCEPT}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            64u64 << 20
        );
        let io = async {
            let mut s = tokio::net::TcpStream::connect(hostport).await?;
            s.write_all(head.as_bytes()).await?;
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        match tokio::time::timeout(Duration::from_secs(10), io).await {
            Ok(Ok(line)) if line.starts_with("HTTP/1.1 413 ") => {}
            Ok(Ok(line)) => self
                .stats
                .unexpected(format!("oversize: {:?}", line.lines().next().unwrap_or(""))),
            Ok(Err(e)) => self.stats.transport_error(format!("oversize: {e}")),
            Err(_) => self.stats.transport_error("oversize: timed out".into()),
        }
    }
}

async fn worker(ctx: Arc<Ctx>, n: usize, until: Instant, max: u64) {
    let mut i = n;
    while Instant::now() < until && ctx.stats.requests.load(Ordering::Relaxed) < max {
        let kind = i % 5;
        ctx.stats.scenarios[kind].fetch_add(1, Ordering::Relaxed);
        match kind {
            0 => ctx.full_session().await,
            1 => ctx.get_stream_dropped().await,
            2 => ctx.post_stream_dropped().await,
            3 => ctx.abandoned_sampling().await,
            _ => ctx.bad_requests().await,
        }
        i += 1;
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    let Some((rss0, fds0)) = sample(args.pid) else {
        eprintln!("soak: cannot read /proc/{}", args.pid);
        std::process::exit(2);
    };
    let client = |local: Option<std::net::IpAddr>| {
        reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .timeout(Duration::from_secs(30))
            .local_address(local)
            .build()
            .unwrap_or_default()
    };
    let http = client(None);
    // Another address for the abusive client when the server is on 127.x (all loopback).
    let abuser_addr = url_host(&args.url)
        .starts_with("127.")
        .then(|| std::net::IpAddr::from([127, 0, 0, 2]));
    let abuser = client(abuser_addr);
    let ctx = Arc::new(Ctx {
        http,
        abuser,
        url: args.url.clone(),
        stats: Stats::default(),
        abandoned: Mutex::new(Vec::new()),
    });
    ctx.stats.peak_rss.store(rss0, Ordering::Relaxed);
    ctx.stats.peak_fds.store(fds0, Ordering::Relaxed);
    let done = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (ctx, done, pid) = (ctx.clone(), done.clone(), args.pid);
        tokio::spawn(async move {
            while done.load(Ordering::Relaxed) == 0 {
                if let Some((rss, fds)) = sample(pid) {
                    ctx.stats.peak_rss.fetch_max(rss, Ordering::Relaxed);
                    ctx.stats.peak_fds.fetch_max(fds, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|n| tokio::spawn(worker(ctx.clone(), n, until, args.max_requests)))
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let load_secs = started.elapsed().as_secs_f64();
    // The abusive clients leave: their sessions end.
    let abandoned = std::mem::take(&mut *ctx.abandoned.lock().await);
    for chunk in abandoned.chunks(args.concurrency.max(1)) {
        futures::future::join_all(chunk.iter().map(|s| ctx.delete_as(&ctx.abuser, s))).await;
    }
    done.store(1, Ordering::Relaxed);
    let _ = sampler.await;
    // Close this client's pooled keep-alive connections: they are open fds of the server.
    let Ok(ctx) = Arc::try_unwrap(ctx) else {
        eprintln!("soak: a worker still holds the client");
        std::process::exit(2);
    };
    let Ctx {
        http,
        abuser,
        stats,
        ..
    } = ctx;
    drop((http, abuser));
    report(&args, &stats, (rss0, fds0), abandoned.len(), load_secs).await;
}

async fn report(
    args: &Args,
    s: &Stats,
    (rss0, fds0): (u64, u64),
    abandoned: usize,
    load_secs: f64,
) {
    let rss_limit = rss0 + args.rss_margin_mib * 1024;
    let fd_limit = fds0 + args.fd_margin;
    let settle_until = Instant::now() + Duration::from_secs(args.settle_seconds);
    let (mut rss1, mut fds1) = (u64::MAX, u64::MAX);
    while Instant::now() < settle_until {
        if let Some((r, f)) = sample(args.pid) {
            (rss1, fds1) = (r, f);
            if r <= rss_limit && f <= fd_limit {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "soak: {:.1} s at c={}, {} requests ({:.0}/s)",
        load_secs,
        args.concurrency,
        n(&s.requests),
        n(&s.requests) as f64 / load_secs
    );
    println!(
        "soak: scenarios: full {} | GET dropped {} | POST stream dropped {} | sampling abandoned {} | bad requests {}",
        n(&s.scenarios[0]),
        n(&s.scenarios[1]),
        n(&s.scenarios[2]),
        n(&s.scenarios[3]),
        n(&s.scenarios[4])
    );
    println!("soak: abandoned sessions ended after the load: {abandoned}");
    println!(
        "soak: abusive initialize refused at its quota (429): {}",
        n(&s.quota_refusals)
    );
    println!(
        "soak: unexpected statuses {}, transport errors {}",
        n(&s.unexpected),
        n(&s.transport_errors)
    );
    if let Ok(Some(first)) = s.first_unexpected.lock().map(|f| f.clone()) {
        println!("soak: first unexpected: {first}");
    }
    if let Ok(Some(first)) = s.first_transport_error.lock().map(|f| f.clone()) {
        println!("soak: first transport error: {first}");
    }
    println!(
        "soak: RSS start {:.1} MiB, peak {:.1} MiB, end {:.1} MiB (limit {:.1} MiB)",
        mib(rss0),
        mib(n(&s.peak_rss)),
        mib(rss1),
        mib(rss_limit)
    );
    println!(
        "soak: fds  start {fds0}, peak {}, end {fds1} (limit {fd_limit})",
        n(&s.peak_fds)
    );
    let mut failed = false;
    if rss1 > rss_limit {
        println!(
            "soak: FAIL: RSS did not come back within {} MiB of the start",
            args.rss_margin_mib
        );
        failed = true;
    }
    if fds1 > fd_limit {
        println!(
            "soak: FAIL: open fds did not come back within {} of the start",
            args.fd_margin
        );
        failed = true;
    }
    if n(&s.unexpected) > 0 {
        println!("soak: FAIL: unexpected statuses");
        failed = true;
    }
    println!("soak: {}", if failed { "FAILED" } else { "passed" });
    std::process::exit(i32::from(failed));
}
