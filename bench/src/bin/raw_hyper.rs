//! The limit of this stack: a bare hyper 1.x HTTP/1.1 server that reads the whole
//! request body and answers every request with the same fixed JSON body.
//!
//! Usage: `raw-hyper --port PORT [--body JSON]`
//!
//! `bench/run.sh` passes the exact bytes of our server's `tools/call` reply, so the
//! response has the same size as the MCP rows. Binds 127.0.0.1 only, sets
//! `TCP_NODELAY` on every accepted socket.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// The default reply: a `tools/call` result for `sum(1, 2)`.
const DEFAULT_BODY: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"3"}]}}"#;

fn parse_args() -> Result<(u16, String), String> {
    let mut port = None;
    let mut body = DEFAULT_BODY.to_owned();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                let v = it.next().ok_or("--port needs a value")?;
                port = Some(
                    v.parse::<u16>()
                        .map_err(|e| format!("bad --port {v:?}: {e}"))?,
                );
            }
            "--body" => body = it.next().ok_or("--body needs a value")?,
            "-h" | "--help" => return Err("usage: raw-hyper --port PORT [--body JSON]".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((port.ok_or("--port is required")?, body))
}

async fn answer(req: Request<Incoming>, body: Bytes) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the request like a real server would; a broken upload gets a 400.
    let status = match req.into_body().collect().await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (port, body) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("raw-hyper: {e}");
            return ExitCode::from(2);
        }
    };
    let body = Bytes::from(body);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("raw-hyper: cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("raw-hyper: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| answer(req, body.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
