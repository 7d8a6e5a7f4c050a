//! Client ID Metadata Documents (MCP authorization 2025-11-25; OAuth Client ID Metadata
//! Document draft): a client whose `client_id` is an `https` URL publishes its metadata at that
//! URL, and the authorization server fetches it instead of requiring registration.
//!
//! Fetching a URL chosen by an anonymous caller is a server-side request forgery risk, so
//! [`CimdFetcher`] is strict by default:
//!
//! - `https` only; the URL has a path other than `/`, no fragment, no user info, no `.`/`..`
//!   segments, at most [`MAX_CLIENT_ID_LEN`] bytes ([`is_cimd_client_id`]);
//! - the host name is resolved once and **every** resolved address must be public (not
//!   loopback, private, link-local, unique-local, shared/CGNAT, multicast, broadcast,
//!   unspecified, documentation or reserved; IPv4-mapped and NAT64 IPv6 are checked as IPv4);
//!   the connection is pinned to the checked addresses, so a second DNS answer cannot redirect
//!   it; no proxy from the environment is used;
//! - redirects are not followed; only `200` with at most [`CimdConfig::max_document_bytes`]
//!   (default 5 KiB) within [`CimdConfig::timeout`] (default 5 s) is read;
//! - the document must be a JSON object whose `client_id` equals the URL exactly, with 1–10
//!   valid `redirect_uris` (the same rules as dynamic registration), no client secret,
//!   `token_endpoint_auth_method` `none` or absent (a public client with PKCE), grant and
//!   response types within `authorization_code`/`refresh_token` and `code`, `client_name` at
//!   most 200 characters, `client_uri`/`logo_uri` https, `scope` at most 1,000 bytes; every
//!   other field is ignored;
//! - results are cached per URL for the document's `Cache-Control: max-age` clamped to
//!   [`CimdConfig::min_ttl`]..=[`CimdConfig::max_ttl`] (default 1 h without the header),
//!   failures for [`CimdConfig::negative_ttl`]; at most [`CimdConfig::max_entries`] entries
//!   (the entry closest to expiry is evicted first), and at most
//!   [`CimdConfig::max_per_requester`] entries fetched for one client address
//!   ([`CimdFetcher::fetch_for`]; that address's entry closest to expiry is evicted first);
//! - at most [`CimdConfig::max_per_host`] fetches run at once per host and
//!   [`CimdConfig::max_total`] in all; a caller waits at most the timeout for a slot, then gets
//!   [`CimdError::Busy`].
//!
//! Plain `http` and non-public addresses (tests, a private deployment) need
//! [`insecure::InsecureCimdOptions`], which logs a warning when the fetcher is built.

use crate::auth::util::cache_control_max_age;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[cfg(test)]
mod tests;

/// Longest accepted `client_id` URL, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 2048;
const MAX_REDIRECTS: usize = 10;
const MAX_NAME_CHARS: usize = 200;
const MAX_URI: usize = 1024;
const MAX_SCOPE: usize = 1000;
/// Most hosts with a concurrency slot table at once (idle ones are dropped first).
const MAX_HOST_SLOTS: usize = 1024;

/// Options that weaken the fetcher's checks, for tests and closed networks only. Every switch
/// defaults to off; a fetcher built with any switch on logs a warning.
pub mod insecure {
    /// See the [module docs](self).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    #[must_use]
    pub struct InsecureCimdOptions {
        pub(super) allow_http: bool,
        pub(super) allow_private_addresses: bool,
    }

    impl InsecureCimdOptions {
        /// Everything strict (the default).
        pub fn new() -> Self {
            Self::default()
        }

        /// Accepts `http://` client ids (documents can then be read and altered in transit).
        pub fn allow_http(mut self, allow: bool) -> Self {
            self.allow_http = allow;
            self
        }

        /// Fetches from loopback, private, link-local and other non-public addresses (the
        /// server can then be made to call internal services).
        pub fn allow_private_addresses(mut self, allow: bool) -> Self {
            self.allow_private_addresses = allow;
            self
        }

        pub(super) fn any(&self) -> bool {
            self.allow_http || self.allow_private_addresses
        }
    }
}

use insecure::InsecureCimdOptions;

/// Limits of a [`CimdFetcher`]; the defaults suit a public deployment.
#[derive(Debug, Clone)]
#[must_use]
pub struct CimdConfig {
    max_document_bytes: usize,
    timeout: Duration,
    default_ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    negative_ttl: Duration,
    max_entries: usize,
    max_per_requester: usize,
    max_per_host: usize,
    max_total: usize,
    insecure: InsecureCimdOptions,
}

impl Default for CimdConfig {
    fn default() -> Self {
        CimdConfig {
            max_document_bytes: 5 * 1024,
            timeout: Duration::from_secs(5),
            default_ttl: Duration::from_secs(3600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(86_400),
            negative_ttl: Duration::from_secs(30),
            max_entries: 1_000,
            max_per_requester: 64,
            max_per_host: 2,
            max_total: 32,
            insecure: InsecureCimdOptions::default(),
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl CimdConfig {
    setter!(
        /// Largest document read (default 5 KiB); a larger one is [`CimdError::TooLarge`].
        max_document_bytes: usize
    );
    setter!(
        /// Limit for resolving, connecting and reading one document (default 5 s).
        timeout: Duration
    );
    setter!(
        /// Cache time of a document without `Cache-Control: max-age` (default 1 h).
        default_ttl: Duration
    );
    setter!(
        /// Shortest cache time, also for `no-store` / `no-cache` (default 60 s).
        min_ttl: Duration
    );
    setter!(
        /// Longest cache time (default 24 h).
        max_ttl: Duration
    );
    setter!(
        /// Cache time of a failure (default 30 s).
        negative_ttl: Duration
    );
    setter!(
        /// Most cached results (default 1,000: at most ~7 MiB with 5 KiB documents and 2 KiB
        /// client ids).
        max_entries: usize
    );
    setter!(
        /// Most cached results fetched for one client address with
        /// [`CimdFetcher::fetch_for`] (default 64).
        max_per_requester: usize
    );
    setter!(
        /// Most simultaneous fetches per host (default 2).
        max_per_host: usize
    );
    setter!(
        /// Most simultaneous fetches in all (default 32).
        max_total: usize
    );
    setter!(
        /// Weakened checks (see [`insecure`]).
        insecure: InsecureCimdOptions
    );
}

/// A validated Client ID Metadata Document: a public client (PKCE, no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CimdClient {
    /// The URL, equal to the document's `client_id`.
    pub client_id: String,
    /// `client_name`, when present.
    pub client_name: Option<String>,
    /// `redirect_uris` (exact match at `/authorize`).
    pub redirect_uris: Vec<String>,
    /// `client_uri` (https), when present.
    pub client_uri: Option<String>,
    /// `logo_uri` (https), when present.
    pub logo_uri: Option<String>,
    /// `scope`, when present.
    pub scope: Option<String>,
}

/// Why a client id could not be used. [`description`](Self::description) is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CimdError {
    /// The client id is not an acceptable metadata document URL.
    #[error("the client id is not a valid metadata document URL")]
    InvalidClientId,
    /// The host resolves to a non-public address (or to nothing).
    #[error("the client metadata host is not reachable from this server")]
    Blocked,
    /// Connecting, the status, a redirect or the timeout.
    #[error("the client metadata document could not be fetched ({0})")]
    Fetch(&'static str),
    /// The document is larger than the limit.
    #[error("the client metadata document is too large")]
    TooLarge,
    /// The document is not acceptable.
    #[error("the client metadata document is invalid: {0}")]
    InvalidDocument(String),
    /// Too many fetches for this host (or in all) are running; try again.
    #[error("too many client metadata fetches are in progress")]
    Busy,
}

impl CimdError {
    /// A text for the error page or `error_description`; never contains the document, an
    /// address or an internal detail.
    #[must_use]
    pub fn description(&self) -> String {
        self.to_string()
    }
}

/// Whether `client_id` looks like a metadata document URL: `https`, a host, a path other than
/// `/`, no fragment, no user info, no `.`/`..` segments, at most [`MAX_CLIENT_ID_LEN`] bytes.
#[must_use]
pub fn is_cimd_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://") && check_client_id(client_id, false).is_ok()
}

fn check_client_id(client_id: &str, allow_http: bool) -> Result<url::Url, CimdError> {
    let bad = || CimdError::InvalidClientId;
    if client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(bad());
    }
    let url = url::Url::parse(client_id).map_err(|_| bad())?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    // The raw text: `Url` would silently resolve dot segments.
    let raw_path = client_id
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    let raw_path = raw_path.split(['?', '#']).next().unwrap_or("");
    // `.`/`..` segments, also percent-encoded (`%2e`), which URL parsers resolve.
    let dot_segment = raw_path.split('/').any(|s| {
        let s = s.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    });
    if !scheme_ok
        || url.host().is_none()
        || url.fragment().is_some()
        || client_id.contains('#')
        || !url.username().is_empty()
        || url.password().is_some()
        || url.path() == "/"
        || raw_path.is_empty()
        || dot_segment
    {
        return Err(bad());
    }
    Ok(url)
}

/// Whether `ip` is a public unicast address (see the [module docs](self)).
#[must_use]
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64: the IPv4 address in the last 32 bits decides.
        let [.., hi, lo] = s;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0] == 0x2002 // 6to4 (embeds any IPv4)
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

struct Entry {
    result: Result<CimdClient, CimdError>,
    expires: Instant,
    /// The client address the entry was fetched for, if known.
    owner: Option<IpAddr>,
}

struct Inner {
    config: CimdConfig,
    cache: Mutex<HashMap<String, Entry>>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    total: Arc<Semaphore>,
}

/// Fetches, validates and caches Client ID Metadata Documents. Cheap to clone; clones share
/// the cache and the concurrency limits. See the [module docs](self).
#[derive(Clone)]
pub struct CimdFetcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CimdFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CimdFetcher")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for CimdFetcher {
    fn default() -> Self {
        Self::new(CimdConfig::default())
    }
}

impl CimdFetcher {
    /// A fetcher with `config`; logs a warning when insecure options are on.
    #[must_use]
    pub fn new(config: CimdConfig) -> Self {
        if config.insecure.any() {
            tracing::warn!(
                target: "mcp_rs_server::auth",
                allow_http = config.insecure.allow_http,
                allow_private_addresses = config.insecure.allow_private_addresses,
                "client metadata documents: insecure options are on; never use them in production"
            );
        }
        CimdFetcher {
            inner: Arc::new(Inner {
                total: Arc::new(Semaphore::new(config.max_total.max(1))),
                config,
                cache: Mutex::new(HashMap::new()),
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The validated document of `client_id`, from the cache or fetched.
    ///
    /// # Errors
    /// See [`CimdError`]; failures other than [`CimdError::Busy`] are cached briefly.
    pub async fn fetch(&self, client_id: &str) -> Result<CimdClient, CimdError> {
        self.fetch_owned(client_id, None).await
    }

    /// Like [`fetch`](Self::fetch) on behalf of the client at `requester`: a new cache entry
    /// counts against that address's [`CimdConfig::max_per_requester`], so one address cannot
    /// fill the cache.
    ///
    /// # Errors
    /// See [`fetch`](Self::fetch).
    pub async fn fetch_for(
        &self,
        client_id: &str,
        requester: IpAddr,
    ) -> Result<CimdClient, CimdError> {
        self.fetch_owned(client_id, Some(requester.to_canonical()))
            .await
    }

    async fn fetch_owned(
        &self,
        client_id: &str,
        owner: Option<IpAddr>,
    ) -> Result<CimdClient, CimdError> {
        let cfg = &self.inner.config;
        let url = check_client_id(client_id, cfg.insecure.allow_http)?;
        if let Some(hit) = self.cached(client_id) {
            return hit;
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let _permits = self.slots(&host).await?;
        if let Some(hit) = self.cached(client_id) {
            return hit;
        }
        let fetched = tokio::time::timeout(cfg.timeout, self.fetch_uncached(&url, client_id))
            .await
            .unwrap_or(Err(CimdError::Fetch("timed out")));
        let ttl = match &fetched {
            Ok((_, ttl)) => *ttl,
            Err(_) => cfg.negative_ttl,
        };
        let result = fetched.map(|(client, _)| client);
        self.remember(client_id, result.clone(), ttl, owner);
        result
    }

    fn cached(&self, client_id: &str) -> Option<Result<CimdClient, CimdError>> {
        let cache = self.inner.cache.lock().ok()?;
        let e = cache.get(client_id)?;
        (e.expires > Instant::now()).then(|| e.result.clone())
    }

    fn remember(
        &self,
        client_id: &str,
        result: Result<CimdClient, CimdError>,
        ttl: Duration,
        owner: Option<IpAddr>,
    ) {
        let Ok(mut cache) = self.inner.cache.lock() else {
            return;
        };
        let now = Instant::now();
        cache.remove(client_id);
        // Expired entries go at every insert (inserts follow a network fetch, so this O(n)
        // pass is rare), so memory returns when an abuser stops.
        cache.retain(|_, e| e.expires > now);
        let cfg = &self.inner.config;
        evict_soonest(&mut cache, cfg.max_entries.max(1), |_| true);
        if let Some(o) = owner {
            evict_soonest(&mut cache, cfg.max_per_requester.max(1), |e| {
                e.owner == Some(o)
            });
        }
        let entry = Entry {
            result,
            expires: now + ttl,
            owner,
        };
        cache.insert(client_id.to_owned(), entry);
    }

    /// A per-host and a global slot, waiting at most the timeout.
    async fn slots(
        &self,
        host: &str,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), CimdError> {
        let cfg = &self.inner.config;
        let per_host = {
            let mut hosts = self.inner.hosts.lock().map_err(|_| CimdError::Busy)?;
            if hosts.len() >= MAX_HOST_SLOTS && !hosts.contains_key(host) {
                // Drop the tables nobody is using (all permits free, no waiter holds a clone).
                hosts.retain(|_, s| Arc::strong_count(s) > 1);
                if hosts.len() >= MAX_HOST_SLOTS {
                    return Err(CimdError::Busy);
                }
            }
            hosts
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(cfg.max_per_host.max(1))))
                .clone()
        };
        let acquire = async {
            let h = per_host.acquire_owned().await;
            let t = self.inner.total.clone().acquire_owned().await;
            match (h, t) {
                (Ok(h), Ok(t)) => Ok((h, t)),
                _ => Err(CimdError::Busy),
            }
        };
        tokio::time::timeout(cfg.timeout, acquire)
            .await
            .unwrap_or(Err(CimdError::Busy))
    }

    /// Resolves, checks, fetches and validates; returns the client and its cache time.
    async fn fetch_uncached(
        &self,
        url: &url::Url,
        client_id: &str,
    ) -> Result<(CimdClient, Duration), CimdError> {
        let cfg = &self.inner.config;
        let addrs = self.resolve(url).await?;
        let host = url.host_str().unwrap_or_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(cfg.timeout)
            .timeout(cfg.timeout)
            .resolve_to_addrs(host, &addrs)
            .build()
            .map_err(|_| CimdError::Fetch("client setup failed"))?;
        let res = client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                CimdError::Fetch(if e.is_timeout() {
                    "timed out"
                } else {
                    "connection failed"
                })
            })?;
        if res.status().is_redirection() {
            return Err(CimdError::Fetch("redirects are not followed"));
        }
        if res.status() != reqwest::StatusCode::OK {
            return Err(CimdError::Fetch("the server did not answer 200"));
        }
        let ttl = res
            .headers()
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_control_max_age)
            .unwrap_or(cfg.default_ttl)
            .clamp(cfg.min_ttl, cfg.max_ttl.max(cfg.min_ttl));
        let body = read_capped(res, cfg.max_document_bytes).await?;
        Ok((validate_document(client_id, &body)?, ttl))
    }

    /// Every address of the host, each checked; the connection is pinned to them.
    async fn resolve(&self, url: &url::Url) -> Result<Vec<SocketAddr>, CimdError> {
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Some(url::Host::Domain(d)) => tokio::net::lookup_host((d, port))
                .await
                .map_err(|_| CimdError::Blocked)?
                .collect(),
            None => return Err(CimdError::InvalidClientId),
        };
        let allow_private = self.inner.config.insecure.allow_private_addresses;
        if addrs.is_empty()
            || !addrs
                .iter()
                .all(|a| allow_private || is_public_address(a.ip()))
        {
            return Err(CimdError::Blocked);
        }
        Ok(addrs)
    }
}

/// Evicts the entries matching `which` that expire soonest until fewer than `limit` match.
fn evict_soonest(cache: &mut HashMap<String, Entry>, limit: usize, which: impl Fn(&Entry) -> bool) {
    while cache.values().filter(|e| which(e)).count() >= limit {
        let Some(k) = cache
            .iter()
            .filter(|(_, e)| which(e))
            .min_by_key(|(_, e)| e.expires)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        cache.remove(&k);
    }
}

/// Reads at most `max` bytes of the body; more is [`CimdError::TooLarge`].
async fn read_capped(mut res: reqwest::Response, max: usize) -> Result<Bytes, CimdError> {
    if res.content_length().is_some_and(|l| l > max as u64) {
        return Err(CimdError::TooLarge);
    }
    let mut buf = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| {
        CimdError::Fetch(if e.is_timeout() {
            "timed out"
        } else {
            "reading the document failed"
        })
    })? {
        if buf.len() + chunk.len() > max {
            return Err(CimdError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

fn invalid(msg: &str) -> CimdError {
    CimdError::InvalidDocument(msg.to_owned())
}

fn opt_string(
    m: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, CimdError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(&format!("{field} is too long"))),
        Some(_) => Err(invalid(&format!("{field} must be a string"))),
    }
}

fn string_list(m: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, CimdError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= MAX_REDIRECTS => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(&format!("{field} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::Array(_)) => Err(invalid(&format!("{field} has too many entries"))),
        Some(_) => Err(invalid(&format!("{field} must be an array of strings"))),
    }
}

fn https_uri(m: &Map<String, Value>, field: &str) -> Result<Option<String>, CimdError> {
    let Some(u) = opt_string(m, field, MAX_URI)? else {
        return Ok(None);
    };
    let ok = url::Url::parse(&u).is_ok_and(|url| url.scheme() == "https" && url.host().is_some());
    if !ok {
        return Err(invalid(&format!("{field} must be an https URL")));
    }
    Ok(Some(u))
}

fn check_auth_and_grants(m: &Map<String, Value>) -> Result<(), CimdError> {
    if m.contains_key("client_secret") || m.contains_key("client_secret_expires_at") {
        return Err(invalid(
            "a metadata document must not contain a client secret",
        ));
    }
    match m.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "none" => {}
        Some(_) => return Err(invalid("token_endpoint_auth_method must be none")),
    }
    let grants = string_list(m, "grant_types")?.unwrap_or_default();
    if grants
        .iter()
        .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return Err(invalid(
            "grant_types may only contain authorization_code and refresh_token",
        ));
    }
    let responses = string_list(m, "response_types")?.unwrap_or_default();
    if responses.iter().any(|r| r != "code") {
        return Err(invalid("response_types may only contain code"));
    }
    Ok(())
}

/// Validates a fetched document for `client_id` (see the [module docs](self)).
pub(crate) fn validate_document(client_id: &str, body: &[u8]) -> Result<CimdClient, CimdError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("not JSON"))?;
    let Value::Object(m) = v else {
        return Err(invalid("not a JSON object"));
    };
    if m.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(invalid("client_id does not equal the document URL"));
    }
    let redirect_uris = string_list(&m, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(invalid("redirect_uris is required"));
    }
    for uri in &redirect_uris {
        super::common::check_redirect_uri(uri).map_err(CimdError::InvalidDocument)?;
    }
    check_auth_and_grants(&m)?;
    let client_name = opt_string(&m, "client_name", MAX_NAME_CHARS * 4)?;
    if client_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
    {
        return Err(invalid("client_name is too long"));
    }
    Ok(CimdClient {
        client_id: client_id.to_owned(),
        client_name,
        redirect_uris,
        client_uri: https_uri(&m, "client_uri")?,
        logo_uri: https_uri(&m, "logo_uri")?,
        scope: opt_string(&m, "scope", MAX_SCOPE)?,
    })
}
