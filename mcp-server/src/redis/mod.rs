//! Redis backends for running several instances of one server behind a load balancer
//! (feature `redis`): [`RedisSessionStore`], [`RedisEventStore`] and [`RedisBus`], sharing one
//! [`Redis`] connection handle; with the `auth` feature also `RedisAuthStore`, the state of
//! the OAuth authorization server (`Redis::auth_store`).
//!
//! ```no_run
//! use mcp_rs_server::Server;
//! use mcp_rs_server::redis::{Redis, RedisConfig};
//! use mcp_rs_server::transport::http::{HttpConfig, StreamableHttpService};
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let redis = Redis::new(RedisConfig::new("redis://127.0.0.1:6379").prefix("myapp"))?;
//! let config = redis.configure(HttpConfig::default());
//! let server = Server::builder().name("demo").build();
//! StreamableHttpService::new(server, config).serve("127.0.0.1:8000").await?;
//! # Ok(()) }
//! ```
//!
//! # What is kept, and for how long
//! Every key starts with the configured prefix (default `mcp`), so deployments can share one
//! Redis; every key has a TTL:
//!
//! | key | what | TTL |
//! |---|---|---|
//! | `{prefix}:session:{id}` | the session record (JSON) | the session idle timeout, renewed by the session's requests (at most once a second per instance) |
//! | `{prefix}:events:{session}:{stream}` | a Redis stream of SSE events, trimmed to [`RedisConfig::events_per_stream`] | [`RedisConfig::stream_ttl`], renewed on every event; [`RedisConfig::finished_stream_ttl`] once the stream ended |
//! | `{prefix}:streams:{session}` | the ids of the session's streams (so `DELETE` removes them all) | [`RedisConfig::stream_ttl`] |
//! | `{prefix}:oauth:client:{id}`, `…:tx:{id}`, `…:code:{sha256}`, `…:refresh:{sha256}` | the authorization server's registrations, transactions, codes and refresh tokens (`RedisAuthStore`, hashes of JSON and small fields) | the registration's unused or idle TTL (renewed by use), the transaction TTL, the code's or token's expiry |
//! | `{prefix}:oauth:family:{family}`, `{prefix}:oauth:{table}:all`, `…:owner:{owner}` | refresh tokens of a family; sorted sets bounding each table in total and per owner | the latest expiry among their members |
//!
//! Bus messages go over the Pub/Sub channel `{prefix}:bus` and are not stored.
//!
//! # Failures
//! Every command runs under [`RedisConfig::timeout`] (default 2 s). The first command connects;
//! after that the connection reconnects by itself, so a Redis restart needs no restart of the
//! server. While Redis is unreachable, `initialize` and requests for sessions this instance
//! does not hold get `503` with `Retry-After`; sessions held here keep working, and their
//! events are delivered live but cannot be replayed. After a command could not reach Redis,
//! the following ones fail at once for a second (nobody waits for the timeout), then the next
//! one tries again.

#[cfg(feature = "auth")]
mod auth_store;
mod bus;
mod event_store;
mod session_store;

#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use auth_store::RedisAuthStore;
pub use bus::RedisBus;
pub use event_store::RedisEventStore;
pub use session_store::RedisSessionStore;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

use crate::transport::http::{HttpConfig, StoreError};

/// Default [`RedisConfig::timeout`]: 2 s.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// Default [`RedisConfig::events_per_stream`]: 1024.
pub const DEFAULT_EVENTS_PER_STREAM: usize = 1024;
/// Default [`RedisConfig::stream_ttl`]: 10 minutes.
pub const DEFAULT_STREAM_TTL: Duration = Duration::from_secs(600);
/// Default [`RedisConfig::finished_stream_ttl`]: 30 s.
pub const DEFAULT_FINISHED_STREAM_TTL: Duration = Duration::from_secs(30);

/// After a command could not reach Redis, how long the others fail at once.
const FAST_FAIL: Duration = Duration::from_secs(1);

/// The longest pause between two reconnection attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// Where Redis is and how its keys are named and bounded.
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisConfig {
    url: String,
    prefix: String,
    timeout: Duration,
    events_per_stream: usize,
    stream_ttl: Duration,
    finished_stream_ttl: Duration,
}

impl RedisConfig {
    /// Redis at `url` (`redis://host:port/db`, `rediss://` for TLS is not compiled in).
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "mcp".into(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            events_per_stream: DEFAULT_EVENTS_PER_STREAM,
            stream_ttl: DEFAULT_STREAM_TTL,
            finished_stream_ttl: DEFAULT_FINISHED_STREAM_TTL,
        }
    }

    /// The prefix of every key and channel (default `mcp`): one per deployment.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The limit on each command, connecting included (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Events kept per SSE stream; older ones are trimmed (default 1024).
    pub fn events_per_stream(mut self, n: usize) -> Self {
        self.events_per_stream = n.max(1);
        self
    }

    /// How long a stream nobody writes to is kept (default 10 minutes).
    pub fn stream_ttl(mut self, ttl: Duration) -> Self {
        self.stream_ttl = ttl;
        self
    }

    /// How long the events of a finished stream stay for a client to resume (default 30 s).
    pub fn finished_stream_ttl(mut self, ttl: Duration) -> Self {
        self.finished_stream_ttl = ttl;
        self
    }
}

/// A handle on one Redis deployment: the client, its multiplexed connection (created on first
/// use, then reconnecting by itself) and the key prefix. Cheap to clone.
#[derive(Clone)]
pub struct Redis(Arc<RedisInner>);

struct RedisInner {
    client: ::redis::Client,
    config: RedisConfig,
    conn: OnceCell<ConnectionManager>,
    /// Tells this process's bus messages from the others'.
    instance: String,
    /// Set when a command could not reach Redis: until then, commands fail at once.
    down_until: std::sync::Mutex<Option<Instant>>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: only the prefix is shown.
        f.debug_struct("Redis")
            .field("prefix", &self.0.config.prefix)
            .field("timeout", &self.0.config.timeout)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// A handle for `config`. Does not connect: the first command does.
    ///
    /// # Errors
    /// The URL cannot be parsed.
    pub fn new(config: RedisConfig) -> Result<Self, StoreError> {
        let client = ::redis::Client::open(config.url.as_str())?;
        Ok(Redis(Arc::new(RedisInner {
            client,
            config,
            conn: OnceCell::new(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            down_until: std::sync::Mutex::new(None),
        })))
    }

    /// Sets the session store, event store and cluster bus of `config` to this Redis.
    pub fn configure(&self, config: HttpConfig) -> HttpConfig {
        config
            .session_store(Arc::new(RedisSessionStore::new(self.clone())))
            .event_store(Some(Arc::new(RedisEventStore::new(self.clone()))))
            .cluster_bus(Arc::new(RedisBus::new(self.clone())))
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.0.config
    }

    /// `{prefix}:{a}:{b}…`
    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut k = self.0.config.prefix.clone();
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }

    /// The connection, connecting first when there is none yet.
    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        // A failed first connect leaves the cell empty: the next command tries again.
        let c = self
            .0
            .conn
            .get_or_try_init(|| {
                let t = Some(self.0.config.timeout);
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(t)
                    .set_response_timeout(t)
                    .set_max_delay(RECONNECT_MAX_DELAY);
                ConnectionManager::new_with_config(self.0.client.clone(), config)
            })
            .await?;
        Ok(c.clone())
    }

    /// Runs `cmd` under the timeout.
    pub(crate) async fn query<T: ::redis::FromRedisValue>(
        &self,
        cmd: &::redis::Cmd,
    ) -> Result<T, StoreError> {
        self.bounded(async {
            let mut c = self.conn().await.map_err(Failure::Unreachable)?;
            cmd.query_async(&mut c).await.map_err(Failure::from)
        })
        .await
    }

    /// Runs `pipe` under the timeout.
    pub(crate) async fn query_pipe<T: ::redis::FromRedisValue>(
        &self,
        pipe: &::redis::Pipeline,
    ) -> Result<T, StoreError> {
        self.bounded(async {
            let mut c = self.conn().await.map_err(Failure::Unreachable)?;
            pipe.query_async(&mut c).await.map_err(Failure::from)
        })
        .await
    }

    /// Runs `f` under the timeout. While Redis is known to be unreachable (a command failed
    /// to reach it less than [`FAST_FAIL`] ago) fails at once, so requests that need Redis get
    /// their 503 without waiting and those that can do without it are not slowed down.
    async fn bounded<T>(
        &self,
        f: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, StoreError> {
        let down_until = *lock(&self.0.down_until);
        if down_until.is_some_and(|t| Instant::now() < t) {
            return Err("redis: unreachable (failed less than a second ago)".into());
        }
        let failure = match tokio::time::timeout(self.0.config.timeout, f).await {
            Ok(Ok(v)) => {
                if down_until.is_some() {
                    *lock(&self.0.down_until) = None;
                }
                return Ok(v);
            }
            Ok(Err(Failure::Command(e))) => return Err(e.into()),
            Ok(Err(Failure::Unreachable(e))) => e,
            Err(_) => format!("redis: no answer within {:?}", self.0.config.timeout).into(),
        };
        *lock(&self.0.down_until) = Some(Instant::now() + FAST_FAIL);
        Err(failure)
    }
}

/// How a command failed: Redis could not be reached (connection refused, dropped, timed out),
/// or it answered with an error.
enum Failure {
    Unreachable(StoreError),
    Command(::redis::RedisError),
}

impl From<::redis::RedisError> for Failure {
    fn from(e: ::redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_refusal()
            || e.is_connection_dropped()
        {
            Failure::Unreachable(e.into())
        } else {
            Failure::Command(e)
        }
    }
}

/// Locks a mutex, ignoring poisoning (it guards a plain value).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses 0).
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Whether `s` can be part of a key: what this crate generates as session and stream ids
/// (hex), at most 64 characters. Anything else names nothing.
pub(crate) fn is_key_part(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed() {
        let r = Redis::new(RedisConfig::new("redis://127.0.0.1:1").prefix("app")).unwrap();
        assert_eq!(r.key(&["session", "ab"]), "app:session:ab");
        assert_eq!(
            format!("{r:?}"),
            r#"Redis { prefix: "app", timeout: 2s, .. }"#
        );
        assert!(Redis::new(RedisConfig::new("not a url")).is_err());
    }

    #[test]
    fn key_parts_and_ttls() {
        assert!(is_key_part("0123abcdef"));
        assert!(!is_key_part("a:b"));
        assert!(!is_key_part(""));
        assert!(!is_key_part(&"a".repeat(65)));
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_secs(2)), 2000);
    }

    #[tokio::test]
    async fn unreachable_redis_fails_within_the_timeout() {
        // Port 1 on localhost: nothing listens, so connecting is refused at once.
        let r =
            Redis::new(RedisConfig::new("redis://127.0.0.1:1").timeout(Duration::from_millis(300)))
                .unwrap();
        let started = std::time::Instant::now();
        let got: Result<Option<String>, _> = r.query(::redis::cmd("GET").arg("k")).await;
        assert!(got.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        // Within the next second the others fail at once, without trying.
        let got: Result<Option<String>, _> = r.query(::redis::cmd("GET").arg("k")).await;
        assert_eq!(
            got.unwrap_err().to_string(),
            "redis: unreachable (failed less than a second ago)"
        );
        assert!(lock(&r.0.down_until).is_some());
    }
}
