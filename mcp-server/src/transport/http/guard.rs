//! DNS-rebinding protection: `Host` and `Origin` checked against allow-lists.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, ORIGIN};
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use mcp_rs_core::error::ErrorObject;
use mcp_rs_core::jsonrpc::JsonRpcMessage;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

use super::edge::TRANSPORT_REJECTION;

/// Why a request was refused by the [`HostAllowList`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GuardRejection {
    /// No usable `Host` (nor URI authority).
    MissingHost,
    /// `Host` names a host that is not allowed.
    Host(String),
    /// `Origin` is present and not allowed.
    Origin(String),
}

impl GuardRejection {
    pub(crate) fn message(&self) -> String {
        match self {
            GuardRejection::MissingHost => "Forbidden: missing Host header".to_owned(),
            GuardRejection::Host(h) => format!("Forbidden: Host not allowed: {}", printable(h)),
            GuardRejection::Origin(o) => format!("Forbidden: Origin not allowed: {}", printable(o)),
        }
    }
}

/// Keeps client-supplied text short and printable before it goes into an error message.
fn printable(s: &str) -> String {
    s.chars()
        .take(100)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    /// Lower-cased host name or IP literal (IPv6 with brackets).
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

/// The allow-lists of [`HttpConfig`](super::HttpConfig) for `Host` and `Origin`.
#[derive(Debug, Clone)]
pub(crate) struct HostAllowList {
    enabled: bool,
    hosts: Arc<Vec<HostRule>>,
    origins: Arc<Vec<String>>,
}

const LOCAL_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl HostAllowList {
    /// Localhost names on any port.
    pub(crate) fn localhost() -> Self {
        HostAllowList {
            enabled: true,
            hosts: Arc::new(
                LOCAL_HOSTS
                    .iter()
                    .map(|h| HostRule {
                        host: (*h).to_owned(),
                        port: None,
                    })
                    .collect(),
            ),
            origins: Arc::new(Vec::new()),
        }
    }

    /// No checks at all.
    pub(crate) fn disabled() -> Self {
        HostAllowList {
            enabled: false,
            hosts: Arc::new(Vec::new()),
            origins: Arc::new(Vec::new()),
        }
    }

    pub(crate) fn add_hosts<I, S>(&mut self, hosts: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = Arc::make_mut(&mut self.hosts);
        for h in hosts {
            let h: String = h.into();
            if let Some((host, port)) = split_host_port(h.trim()) {
                list.push(HostRule {
                    host: host.to_ascii_lowercase(),
                    port,
                });
            }
        }
    }

    pub(crate) fn add_origins<I, S>(&mut self, origins: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = Arc::make_mut(&mut self.origins);
        list.extend(
            origins
                .into_iter()
                .map(|o| o.into().trim().trim_end_matches('/').to_ascii_lowercase()),
        );
    }

    /// Whether the guard checks anything.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether `origin` (an `Origin` header value) is allowed; used by the CORS layer too.
    pub(crate) fn origin_allowed(&self, origin: &str) -> bool {
        if !self.enabled {
            return true;
        }
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        // scheme://host[:port]
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        if scheme != "http" && scheme != "https" {
            return false;
        }
        match split_host_port(rest) {
            Some((host, _)) => LOCAL_HOSTS.contains(&host.as_str()),
            None => false,
        }
    }

    fn host_allowed(&self, host: &str, port: Option<u16>) -> bool {
        self.hosts
            .iter()
            .any(|r| r.host == host && (r.port.is_none() || r.port == port))
    }

    /// Checks `Host` (or the URI authority, for HTTP/2) and `Origin`.
    pub(crate) fn check(&self, parts: &Parts) -> Result<(), GuardRejection> {
        if !self.enabled {
            return Ok(());
        }
        let mut hosts = parts.headers.get_all(HOST).iter();
        let host_value = match (hosts.next(), hosts.next()) {
            (Some(v), None) => v
                .to_str()
                .map_err(|_| GuardRejection::Host("<non-ascii>".into()))?
                .to_owned(),
            (Some(_), Some(_)) => {
                return Err(GuardRejection::Host("<repeated Host header>".into()));
            }
            (None, _) => match parts.uri.authority() {
                Some(a) => a.as_str().to_owned(),
                None => return Err(GuardRejection::MissingHost),
            },
        };
        let Some((host, port)) = split_host_port(&host_value) else {
            return Err(GuardRejection::Host(host_value));
        };
        if !self.host_allowed(&host.to_ascii_lowercase(), port) {
            return Err(GuardRejection::Host(host_value));
        }
        // An absolute-form target (`POST http://evil.example/mcp`) names the host hyper and
        // proxies act on: it must be allowed too, whatever `Host` says.
        if let Some(authority) = parts.uri.authority() {
            let allowed = split_host_port(authority.as_str())
                .is_some_and(|(h, p)| self.host_allowed(&h.to_ascii_lowercase(), p));
            if !allowed {
                return Err(GuardRejection::Host(authority.as_str().to_owned()));
            }
        }
        for origin in parts.headers.get_all(ORIGIN) {
            let o = origin.to_str().unwrap_or("<non-ascii>");
            if !self.origin_allowed(o) {
                return Err(GuardRejection::Origin(o.to_owned()));
            }
        }
        Ok(())
    }
}

/// Checks `Host` (and an absolute-form request target's authority) and `Origin` against the
/// allow-lists before any inner service runs; a foreign one gets `403` with a JSON-RPC error
/// (-32600).
///
/// A server bound to a loopback address can be reached by any web page whose DNS name the
/// attacker points at 127.0.0.1. The browser then sends the attacker's name in `Host` (and its
/// page origin in `Origin`); rejecting names that are not ours closes that hole. The defaults
/// accept `localhost`, `127.0.0.1` and `[::1]` on any port.
///
/// [`StreamableHttpService`](super::StreamableHttpService) checks its own requests;
/// [`HostGuardLayer`] puts the same check in front of every route of a server: the MCP
/// endpoint, the protected-resource metadata, OAuth routes, anything mounted beside them.
///
/// ```
/// use mcp_rs_server::transport::http::{HostGuardLayer, HttpConfig, StreamableHttpService};
/// # fn app(server: mcp_rs_server::Server) -> axum::Router {
/// let config = HttpConfig::default().allowed_hosts(["mcp.example.com"]);
/// let mcp = StreamableHttpService::new(server, config.clone());
/// axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .route_service("/mcp", mcp)
///     // Outermost: every route above answers 403 to a foreign Host or Origin.
///     .layer(HostGuardLayer::from_config(&config))
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HostGuardLayer {
    list: HostAllowList,
}

impl Default for HostGuardLayer {
    fn default() -> Self {
        HostGuardLayer {
            list: HostAllowList::localhost(),
        }
    }
}

impl HostGuardLayer {
    /// `localhost`, `127.0.0.1` and `[::1]` on any port, and localhost origins.
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer over an existing allow-list (`HostGuardLayer::from_config` is in `config`).
    pub(crate) fn from_list(list: HostAllowList) -> Self {
        HostGuardLayer { list }
    }

    /// Also accepts these hosts (any port, or the port given: `example.com:8443`).
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.list.add_hosts(hosts);
        self
    }

    /// Also accepts these origins (`https://app.example.com`).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.list.add_origins(origins);
        self
    }
}

impl<S> Layer<S> for HostGuardLayer {
    type Service = HostGuard<S>;

    fn layer(&self, inner: S) -> HostGuard<S> {
        HostGuard {
            inner,
            list: self.list.clone(),
        }
    }
}

/// The service made by [`HostGuardLayer`].
#[derive(Debug, Clone)]
pub struct HostGuard<S> {
    inner: S,
    list: HostAllowList,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HostGuard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = HostGuardFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        match self.list.check(&parts) {
            Ok(()) => HostGuardFuture {
                inner: Some(self.inner.call(Request::from_parts(parts, body))),
                rejected: None,
            },
            Err(rejection) => HostGuardFuture {
                inner: None,
                rejected: Some(forbidden(&rejection.message())),
            },
        }
    }
}

/// The `403` answer of the guard.
fn forbidden<B: From<Bytes>>(message: &str) -> Response<B> {
    let msg = JsonRpcMessage::error(None, ErrorObject::new(TRANSPORT_REJECTION, message));
    let mut res = Response::new(B::from(Bytes::from(
        serde_json::to_vec(&msg).unwrap_or_default(),
    )));
    *res.status_mut() = StatusCode::FORBIDDEN;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

pin_project! {
    /// The future of [`HostGuard`]: the inner service's, or the `403` answer.
    pub struct HostGuardFuture<F, B> {
        #[pin]
        inner: Option<F>,
        rejected: Option<Response<B>>,
    }
}

impl<F, B, E> Future for HostGuardFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(res) = this.rejected.take() {
            return Poll::Ready(Ok(res));
        }
        match this.inner.as_pin_mut() {
            Some(fut) => fut.poll(cx),
            None => Poll::Pending,
        }
    }
}

/// Splits `host[:port]`, `[v6]` or `[v6]:port`. `None` when malformed (bad port, userinfo,
/// path characters, empty host).
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if s.is_empty() || s.contains(['/', '@', '?', '#', ' ']) {
        return None;
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &s[..end + 2];
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return None, // bare IPv6 without brackets is not a valid Host
            None => (s, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: Option<&str>, origin: Option<&str>) -> Parts {
        let mut b = http::Request::builder().uri("/mcp");
        if let Some(h) = host {
            b = b.header(HOST, h);
        }
        if let Some(o) = origin {
            b = b.header(ORIGIN, o);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn absolute_form_target_is_checked_too() {
        let g = HostAllowList::localhost();
        let abs = |uri: &str| {
            http::Request::builder()
                .uri(uri)
                .header(HOST, "localhost:8000")
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        assert_eq!(
            g.check(&abs("http://evil.example/mcp")),
            Err(GuardRejection::Host("evil.example".into()))
        );
        assert_eq!(
            g.check(&abs("http://evil.example:8000/mcp")),
            Err(GuardRejection::Host("evil.example:8000".into()))
        );
        assert_eq!(g.check(&abs("http://localhost:8000/mcp")), Ok(()));
        assert_eq!(g.check(&abs("http://127.0.0.1/mcp")), Ok(()));
    }

    #[test]
    fn localhost_any_port() {
        let g = HostAllowList::localhost();
        for h in [
            "localhost",
            "localhost:3001",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "LOCALHOST:1",
        ] {
            assert_eq!(g.check(&parts(Some(h), None)), Ok(()), "{h}");
        }
    }

    #[test]
    fn foreign_hosts_rejected() {
        let g = HostAllowList::localhost();
        for h in [
            "evil.example.com",
            "evil.example.com:3001",
            "localhost.evil.com",
            "127.0.0.2",
            "[::2]:1",
            "localhost:99999",
            "::1",
        ] {
            assert!(g.check(&parts(Some(h), None)).is_err(), "{h}");
        }
        assert_eq!(
            g.check(&parts(None, None)),
            Err(GuardRejection::MissingHost)
        );
    }

    #[test]
    fn origins() {
        let g = HostAllowList::localhost().tap_origins(["https://app.example.com"]);
        assert!(
            g.check(&parts(Some("localhost"), Some("http://localhost:5173")))
                .is_ok()
        );
        assert!(
            g.check(&parts(Some("localhost"), Some("https://app.example.com")))
                .is_ok()
        );
        assert_eq!(
            g.check(&parts(Some("localhost"), Some("http://evil.example.com"))),
            Err(GuardRejection::Origin("http://evil.example.com".into()))
        );
        assert!(g.check(&parts(Some("localhost"), Some("null"))).is_err());
    }

    #[test]
    fn configured_hosts() {
        let mut g = HostAllowList::localhost();
        g.add_hosts(["mcp.example.com", "api.example.com:8443"]);
        assert!(g.check(&parts(Some("mcp.example.com:1234"), None)).is_ok());
        assert!(g.check(&parts(Some("api.example.com:8443"), None)).is_ok());
        assert!(g.check(&parts(Some("api.example.com:443"), None)).is_err());
        assert!(
            HostAllowList::disabled()
                .check(&parts(Some("evil"), Some("null")))
                .is_ok()
        );
    }

    impl HostAllowList {
        fn tap_origins<const N: usize>(mut self, o: [&str; N]) -> Self {
            self.add_origins(o);
            self
        }
    }
}
