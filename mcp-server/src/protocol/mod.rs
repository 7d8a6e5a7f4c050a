//! The two protocol eras on one endpoint, and what the 2026-07-28 (stateless) era adds.
//!
//! * `classify` (internal): which era a POST belongs to;
//! * `stateless` (internal): the per-request `_meta` envelope ([`StatelessEnvelope`]);
//! * `headers` (internal): SEP-2243 `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` headers
//!   ([`ParamHeaders`]);
//! * [`mrtr`]: multi-round-trip requests ([`InputRequired`](mrtr::InputRequired), sealed `requestState`).
//!
//! [`ProtocolOptions`] configures them: which eras are served, the `requestState` key, the cache
//! hints of cacheable results and the bounds of multi-round requests and listen streams.

pub(crate) mod classify;
pub(crate) mod headers;
pub mod mrtr;
pub(crate) mod stateless;
mod trace;

pub use classify::{Rejection, Route};
pub use headers::{InvalidHeaderDeclaration, ParamHeaders};
pub use stateless::StatelessEnvelope;
pub use trace::TraceContext;

use mcp_rs_core::ProtocolVersion;
use mcp_rs_core::schema::CacheScope;
use mrtr::StateSealer;
use std::collections::HashMap;
use std::time::Duration;

/// Methods whose 2026-07-28 results carry cache hints (`ttlMs`, `cacheScope`).
pub const CACHEABLE_METHODS: [&str; 6] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// A cache hint: how long a result may be reused, and by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHint {
    /// `ttlMs`: milliseconds the result stays fresh (0: immediately stale).
    pub ttl_ms: u64,
    /// `cacheScope`: `public` (shareable across users) or `private`.
    pub scope: CacheScope,
}

impl CacheHint {
    /// Not to be reused, and never shared: `ttlMs: 0, cacheScope: "private"` (the default).
    pub const NO_STORE: CacheHint = CacheHint {
        ttl_ms: 0,
        scope: CacheScope::Private,
    };

    /// Fresh for `ttl`, cacheable by the requesting client only.
    #[must_use]
    pub fn private(ttl: Duration) -> Self {
        CacheHint {
            ttl_ms: duration_ms(ttl),
            scope: CacheScope::Private,
        }
    }

    /// Fresh for `ttl`, cacheable by shared caches too. Only for results that do not depend on
    /// who asks (no per-user filtering, no per-user content).
    #[must_use]
    pub fn public(ttl: Duration) -> Self {
        CacheHint {
            ttl_ms: duration_ms(ttl),
            scope: CacheScope::Public,
        }
    }
}

impl Default for CacheHint {
    fn default() -> Self {
        CacheHint::NO_STORE
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Which cache hints the stateless era puts on cacheable results.
///
/// Lookup order for `resources/read`: exact URI, then the longest matching URI prefix, then the
/// `resources/read` method hint, then the default. Other methods: the method hint, then the
/// default. The default default is [`CacheHint::NO_STORE`].
///
/// ```
/// use mcp_rs_server::protocol::{CacheHint, CachePolicy};
/// use std::time::Duration;
///
/// let policy = CachePolicy::new()
///     .method("tools/list", CacheHint::public(Duration::from_secs(300)))
///     .resource_prefix("file:///static/", CacheHint::public(Duration::from_secs(3600)));
/// assert_eq!(policy.hint("tools/list", None).ttl_ms, 300_000);
/// assert_eq!(policy.hint("resources/read", Some("file:///static/logo.png")).ttl_ms, 3_600_000);
/// assert_eq!(policy.hint("resources/read", Some("file:///tmp/x")), CacheHint::NO_STORE);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct CachePolicy {
    default: CacheHint,
    methods: HashMap<String, CacheHint>,
    resources: HashMap<String, CacheHint>,
    prefixes: Vec<(String, CacheHint)>,
}

impl CachePolicy {
    /// Every result `NO_STORE`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hint used when nothing more specific matches.
    pub fn default_hint(mut self, hint: CacheHint) -> Self {
        self.default = hint;
        self
    }

    /// The hint for one method (see [`CACHEABLE_METHODS`]).
    pub fn method(mut self, method: impl Into<String>, hint: CacheHint) -> Self {
        self.methods.insert(method.into(), hint);
        self
    }

    /// The hint for reading one resource URI.
    pub fn resource(mut self, uri: impl Into<String>, hint: CacheHint) -> Self {
        self.resources.insert(uri.into(), hint);
        self
    }

    /// The hint for reading every URI that starts with `prefix`.
    pub fn resource_prefix(mut self, prefix: impl Into<String>, hint: CacheHint) -> Self {
        self.prefixes.push((prefix.into(), hint));
        self
    }

    /// The hint for a result of `method` (and, for `resources/read`, of `uri`).
    #[must_use]
    pub fn hint(&self, method: &str, uri: Option<&str>) -> CacheHint {
        if let Some(uri) = uri {
            if let Some(h) = self.resources.get(uri) {
                return *h;
            }
            if let Some((_, h)) = self
                .prefixes
                .iter()
                .filter(|(p, _)| uri.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
            {
                return *h;
            }
        }
        self.methods.get(method).copied().unwrap_or(self.default)
    }
}

/// Era switches and stateless-era settings of a server.
///
/// ```
/// use mcp_rs_server::protocol::ProtocolOptions;
/// use mcp_rs_server::protocol::mrtr::StateSealer;
///
/// let key = [42u8; 32]; // load a real secret from configuration
/// let options = ProtocolOptions::default()
///     .handshake_era(true)
///     .stateless_era(true)
///     .state_sealer(StateSealer::new(key).unwrap());
/// assert!(options.stateless_enabled());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ProtocolOptions {
    stateless: bool,
    handshake: bool,
    stateless_versions: Vec<ProtocolVersion>,
    sealer: StateSealer,
    cache: CachePolicy,
    max_input_rounds: usize,
    listen_lifetime: Duration,
}

impl Default for ProtocolOptions {
    /// Both eras on, a random `requestState` key, no caching, 8 input rounds, listen streams of
    /// at most one hour.
    fn default() -> Self {
        ProtocolOptions {
            stateless: true,
            handshake: true,
            stateless_versions: ProtocolVersion::of_era(mcp_rs_core::Era::Stateless).collect(),
            sealer: StateSealer::random(),
            cache: CachePolicy::default(),
            max_input_rounds: 8,
            listen_lifetime: Duration::from_secs(3600),
        }
    }
}

impl ProtocolOptions {
    /// Serve (or refuse with `-32022`) 2026-07-28 requests. Default: on.
    pub fn stateless_era(mut self, on: bool) -> Self {
        self.stateless = on;
        self
    }

    /// Serve (or refuse with `-32022`) handshake-era traffic (`initialize`, sessions). Default: on.
    pub fn handshake_era(mut self, on: bool) -> Self {
        self.handshake = on;
        self
    }

    /// The key and lifetime used to seal `requestState`. Default: a random key per process,
    /// which breaks multi-round requests across restarts and across instances.
    pub fn state_sealer(mut self, sealer: StateSealer) -> Self {
        self.sealer = sealer;
        self
    }

    /// Cache hints for cacheable results.
    pub fn cache_policy(mut self, policy: CachePolicy) -> Self {
        self.cache = policy;
        self
    }

    /// How many times a handshake-era call is re-run after answering its input requests before
    /// it fails (default 8).
    pub fn max_input_rounds(mut self, rounds: usize) -> Self {
        self.max_input_rounds = rounds.max(1);
        self
    }

    /// The longest a `subscriptions/listen` stream stays open before the server ends it with a
    /// result (the client then reconnects). Default: one hour.
    pub fn listen_lifetime(mut self, lifetime: Duration) -> Self {
        self.listen_lifetime = lifetime;
        self
    }

    /// Whether 2026-07-28 requests are served.
    #[must_use]
    pub fn stateless_enabled(&self) -> bool {
        self.stateless
    }

    /// Whether handshake-era traffic is served.
    #[must_use]
    pub fn handshake_enabled(&self) -> bool {
        self.handshake
    }

    /// The stateless-era versions served (`server/discover` `supportedVersions`).
    #[must_use]
    pub fn stateless_versions(&self) -> &[ProtocolVersion] {
        if self.stateless {
            &self.stateless_versions
        } else {
            &[]
        }
    }

    /// The `requestState` sealer.
    #[must_use]
    pub fn sealer(&self) -> &StateSealer {
        &self.sealer
    }

    /// The cache policy.
    pub fn cache(&self) -> &CachePolicy {
        &self.cache
    }

    /// The bound on handshake-era input rounds.
    #[must_use]
    pub fn input_rounds(&self) -> usize {
        self.max_input_rounds
    }

    /// The bound on a listen stream's lifetime.
    #[must_use]
    pub fn listen_max_lifetime(&self) -> Duration {
        self.listen_lifetime
    }
}
