//! DNS-rebinding protection: `Host` and `Origin` checked against allow-lists.
//!
//! A server bound to a loopback address can be reached by any web page whose DNS name the
//! attacker points at 127.0.0.1. The browser then sends the attacker's name in `Host` (and its
//! page origin in `Origin`); rejecting names that are not ours closes that hole. The defaults
//! accept `localhost`, `127.0.0.1` and `[::1]` on any port.

use http::header::{HOST, ORIGIN};
use http::request::Parts;
use std::sync::Arc;

/// Why a request was refused by the [`HostGuard`].
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
pub(crate) struct HostGuard {
    enabled: bool,
    hosts: Arc<Vec<HostRule>>,
    origins: Arc<Vec<String>>,
}

const LOCAL_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl HostGuard {
    /// Localhost names on any port.
    pub(crate) fn localhost() -> Self {
        HostGuard {
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
        HostGuard {
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
        for origin in parts.headers.get_all(ORIGIN) {
            let o = origin.to_str().unwrap_or("<non-ascii>");
            if !self.origin_allowed(o) {
                return Err(GuardRejection::Origin(o.to_owned()));
            }
        }
        Ok(())
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
    fn localhost_any_port() {
        let g = HostGuard::localhost();
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
        let g = HostGuard::localhost();
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
        let g = HostGuard::localhost().tap_origins(["https://app.example.com"]);
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
        let mut g = HostGuard::localhost();
        g.add_hosts(["mcp.example.com", "api.example.com:8443"]);
        assert!(g.check(&parts(Some("mcp.example.com:1234"), None)).is_ok());
        assert!(g.check(&parts(Some("api.example.com:8443"), None)).is_ok());
        assert!(g.check(&parts(Some("api.example.com:443"), None)).is_err());
        assert!(
            HostGuard::disabled()
                .check(&parts(Some("evil"), Some("null")))
                .is_ok()
        );
    }

    impl HostGuard {
        fn tap_origins<const N: usize>(mut self, o: [&str; N]) -> Self {
            self.add_origins(o);
            self
        }
    }
}
