//! [`RedisAuthStore`]: registrations, transactions, codes and refresh tokens of the
//! authorization server on Redis, so every instance behind a load balancer sees them.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{Redis, is_key_part};
use crate::auth::server::store::{
    AuthStore, Grant, Owner, Redeemed, StoreError, StoreLimits, StoredClient, Transaction,
};
use crate::log_throttle::LogThrottle;

/// Shared Lua helpers: `extend` pushes a key's expiry out to `exp` (never in), `drop` removes
/// an entry and its places in the global and per-owner sorted sets.
macro_rules! lua_prelude {
    () => {
        r"
local function extend(k, exp, now)
  local t = redis.call('PTTL', k)
  if t < 0 or now + t < exp then redis.call('PEXPIREAT', k, exp) end
end
local function drop(m, item_prefix, owner_prefix, global)
  local k = item_prefix .. m
  local o = redis.call('HGET', k, 'o')
  redis.call('DEL', k)
  redis.call('ZREM', global, m)
  if o then redis.call('ZREM', owner_prefix .. o, m) end
end
"
    };
}

/// Stores an entry (a hash), evicting first at the per-owner bound, then at the global bound
/// (the entry closest to expiry goes).
/// KEYS: item, owner set, global set, [family set].
/// ARGV: member, exp ms, now ms, max per owner, max total, item prefix, owner prefix, fields…
const PUT: &str = concat!(
    lua_prelude!(),
    r"
local m, exp, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_owner, max_total = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if not redis.call('ZSCORE', KEYS[3], m) then
  while redis.call('ZCARD', KEYS[2]) >= max_owner do
    local v = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
    drop(v, ARGV[6], ARGV[7], KEYS[3])
    redis.call('ZREM', KEYS[2], v)
  end
  while redis.call('ZCARD', KEYS[3]) >= max_total do
    drop(redis.call('ZRANGE', KEYS[3], 0, 0)[1], ARGV[6], ARGV[7], KEYS[3])
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, m)
extend(KEYS[2], exp, now)
redis.call('ZADD', KEYS[3], exp, m)
extend(KEYS[3], exp, now)
if KEYS[4] then
  redis.call('SADD', KEYS[4], m)
  extend(KEYS[4], exp, now)
end
return 1
"
);

/// Redeems a code or refresh token: `{1, grant}` the first time (the grant is removed, the
/// family stays as the "used" marker until the entry expires), `{0, family}` after that.
const REDEEM: &str = r"
local f = redis.call('HGET', KEYS[1], 'f')
if not f then return false end
local v = redis.call('HGET', KEYS[1], 'v')
if v then
  redis.call('HDEL', KEYS[1], 'v')
  return {1, v}
end
return {0, f}
";

/// Marks a transaction consented once: its JSON the first time, else nil.
const CONSENT: &str = r"
if redis.call('HEXISTS', KEYS[1], 'v') == 0 then return false end
if redis.call('HSETNX', KEYS[1], 'c', '1') == 0 then return false end
return redis.call('HGET', KEYS[1], 'v')
";

/// Removes and returns a transaction: `{json, consented or nil}`.
/// KEYS: item, global set. ARGV: member, item prefix, owner prefix.
const TAKE: &str = concat!(
    lua_prelude!(),
    r"
local r = redis.call('HMGET', KEYS[1], 'v', 'c')
if not r[1] then return false end
drop(ARGV[1], ARGV[2], ARGV[3], KEYS[2])
return r
"
);

/// Marks a registration used: `u` = now, expiry and scores pushed to `exp`.
/// KEYS: item, global set. ARGV: member, now ms, exp ms, owner prefix, now s.
const TOUCH: &str = concat!(
    lua_prelude!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local m, now, exp = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'u', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], 'XX', exp, m)
extend(KEYS[2], exp, now)
local o = redis.call('HGET', KEYS[1], 'o')
if o then
  redis.call('ZADD', ARGV[4] .. o, 'XX', exp, m)
  extend(ARGV[4] .. o, exp, now)
end
return 1
"
);

/// Removes every refresh token of a family (used markers included) and the family set.
/// KEYS: family set, global set. ARGV: item prefix, owner prefix.
const REVOKE: &str = concat!(
    lua_prelude!(),
    r"
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  drop(m, ARGV[1], ARGV[2], KEYS[2])
end
redis.call('DEL', KEYS[1])
return 1
"
);

/// One bounded table of the store.
#[derive(Debug, Clone, Copy)]
enum Table {
    Clients,
    Transactions,
    Codes,
    Refresh,
}

impl Table {
    /// Key segment of one entry.
    fn item(self) -> &'static str {
        match self {
            Table::Clients => "client",
            Table::Transactions => "tx",
            Table::Codes => "code",
            Table::Refresh => "refresh",
        }
    }

    /// Key segment of the table's sorted sets.
    fn set(self) -> &'static str {
        match self {
            Table::Clients => "clients",
            Table::Transactions => "txs",
            Table::Codes => "codes",
            Table::Refresh => "refreshes",
        }
    }

    /// (per owner, total).
    fn caps(self, l: &StoreLimits) -> (usize, usize) {
        let (owner, total) = match self {
            Table::Clients => (l.max_clients_per_owner, l.max_clients),
            Table::Transactions => (l.max_transactions_per_owner, l.max_transactions),
            Table::Codes => (l.max_codes_per_client, l.max_codes),
            Table::Refresh => (l.max_refresh_per_client, l.max_refresh),
        };
        (owner.max(1), total.max(1))
    }
}

/// A key segment for `s`: `s` itself when it is short and alphanumeric, else `h` and its
/// SHA-256 in hex (65 characters, so it never equals a plain segment).
fn part(s: &str) -> String {
    if is_key_part(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(65);
    out.push('h');
    for b in Sha256::digest(s.as_bytes()) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn secs_to_ms(s: u64) -> u64 {
    s.saturating_mul(1000)
}

/// The latest expiry written (year 5138): Redis scripts see numbers as doubles printed with
/// 14 digits, so a larger one (a `Duration::MAX` TTL) would not be an integer to Redis.
const MAX_EXP_MS: u64 = 99_999_999_999_999;

/// What [`RedisAuthStore::put`] writes.
struct Entry<'a> {
    table: Table,
    id: &'a str,
    owner: &'a str,
    exp_ms: u64,
    fields: Vec<(&'static str, String)>,
    family: Option<&'a str>,
}

/// Logs a failed command, at most once per 10 s (an outage fails every request).
fn failed(what: &str, e: &dyn std::fmt::Display) {
    static FAILURES: LogThrottle = LogThrottle::new(std::time::Duration::from_secs(10));
    if let Some(suppressed) = FAILURES.hit() {
        tracing::warn!(target: "mcp_rs_server::redis", error = %e, suppressed, "auth store: {what} failed");
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn parse<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_str(s).ok()
}

/// The [`AuthStore`] of the authorization server on Redis (features `redis` and `auth`):
/// registrations, authorization transactions, codes and refresh tokens shared by every
/// instance, so a client may register on one instance, authorize on a second and redeem or
/// refresh on a third.
///
/// Same semantics as [`InMemoryAuthStore`](crate::auth::server::InMemoryAuthStore): codes and
/// refresh tokens are single use across instances (a Lua script redeems them atomically; a
/// second use returns [`Redeemed::Replayed`] with the family, remembered until the artefact
/// would have expired); every entry expires; [`StoreLimits`] bound each table per owner (the
/// registering address, the client) and in total, and at a bound the entry closest to expiry
/// is evicted (for registrations: usually one never used), so nobody is locked out and one
/// address cannot fill Redis. Values are JSON in Redis hashes; codes and refresh tokens are
/// keyed by their SHA-256, as the server hands them over. See the
/// [module docs](super) for the keys.
///
/// While Redis is unreachable, `put_*` fail with [`StoreError::Unavailable`] (`/register`
/// answers 503, `/authorize` and the callback redirect with `temporarily_unavailable`, `/token`
/// issues no refresh token), reads find nothing, and
/// `touch_client`/`revoke_family` are skipped (failures are logged at most once per 10 s,
/// never with a secret); every command is bounded by
/// [`RedisConfig::timeout`](super::RedisConfig::timeout), and for a second after one could not
/// reach Redis the others fail at once.
///
/// The scripts address keys derived from their arguments: one Redis (with replicas), not
/// Redis Cluster. Expiries are absolute, from the instances' clocks.
///
/// ```rust,no_run
/// use mcp_rs_server::auth::server::keys::SigningKeys;
/// use mcp_rs_server::auth::server::{AuthServerConfig, StoreLimits};
/// use mcp_rs_server::redis::{Redis, RedisConfig};
/// # fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let redis = Redis::new(RedisConfig::new("redis://127.0.0.1:6379").prefix("myapp"))?;
/// // The same key file (or secret) and the same CSRF secret on every instance.
/// let keys = SigningKeys::load_or_generate("/run/secrets/as-keys.json")?;
/// # fn secret_from_env() -> [u8; 32] { [7; 32] }
/// let secret: [u8; 32] = secret_from_env();
/// let config = AuthServerConfig::builtin("https://mcp.example.com", "https://mcp.example.com/mcp", keys)?
///     .signing_secret(secret)
///     .store(redis.auth_store().limits(StoreLimits::default()));
/// # let _ = config; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisAuthStore {
    redis: Redis,
    limits: StoreLimits,
}

impl RedisAuthStore {
    /// A store on `redis` with the default [`StoreLimits`].
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        RedisAuthStore {
            redis,
            limits: StoreLimits::default(),
        }
    }

    /// Sets the bounds and lifetimes. Every instance should use the same.
    #[must_use]
    pub fn limits(mut self, limits: StoreLimits) -> Self {
        self.limits = limits;
        self
    }

    fn item_key(&self, t: Table, id: &str) -> String {
        self.redis.key(&["oauth", t.item(), &part(id)])
    }

    fn item_prefix(&self, t: Table) -> String {
        self.redis.key(&["oauth", t.item(), ""])
    }

    fn owner_prefix(&self, t: Table) -> String {
        self.redis.key(&["oauth", t.set(), "owner", ""])
    }

    fn global_key(&self, t: Table) -> String {
        self.redis.key(&["oauth", t.set(), "all"])
    }

    fn family_key(&self, family: &str) -> String {
        self.redis.key(&["oauth", "family", &part(family)])
    }

    /// Runs a Lua script.
    async fn eval<T: ::redis::FromRedisValue>(
        &self,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Result<T, StoreError> {
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(script).arg(keys.len()).arg(keys).arg(args);
        self.redis
            .query(&cmd)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Stores `e` with [`PUT`]. An entry already expired is not stored.
    async fn put(&self, e: Entry<'_>) -> Result<(), StoreError> {
        let now = now_ms();
        let exp_ms = e.exp_ms.min(MAX_EXP_MS);
        if exp_ms <= now {
            return Ok(());
        }
        let (t, member, owner) = (e.table, part(e.id), part(e.owner));
        let (max_owner, max_total) = t.caps(&self.limits);
        let mut keys = vec![
            self.item_key(t, e.id),
            format!("{}{owner}", self.owner_prefix(t)),
            self.global_key(t),
        ];
        keys.extend(e.family.map(|f| self.family_key(f)));
        let mut args = vec![
            member,
            exp_ms.to_string(),
            now.to_string(),
            max_owner.to_string(),
            max_total.to_string(),
            self.item_prefix(t),
            self.owner_prefix(t),
            "o".to_owned(),
            owner,
        ];
        for (k, v) in e.fields {
            args.push(k.to_owned());
            args.push(v);
        }
        self.eval::<i64>(PUT, &keys, &args).await.map(|_| ())
    }

    /// A read whose failure means "nothing there" (logged, throttled, without the entry's id).
    async fn read<T: ::redis::FromRedisValue>(&self, what: &str, cmd: &::redis::Cmd) -> Option<T> {
        match self.redis.query::<Option<T>>(cmd).await {
            Ok(v) => v,
            Err(e) => {
                failed(what, &e);
                None
            }
        }
    }

    /// Like [`read`](Self::read), for a script.
    async fn run<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Option<T> {
        match self.eval::<Option<T>>(script, keys, args).await {
            Ok(v) => v,
            Err(e) => {
                failed(what, &e);
                None
            }
        }
    }

    async fn put_single(&self, t: Table, hash: &str, grant: &Grant) -> Result<(), StoreError> {
        let family = (matches!(t, Table::Refresh)).then_some(grant.family.as_str());
        self.put(Entry {
            table: t,
            id: hash,
            owner: &grant.client_id,
            exp_ms: secs_to_ms(grant.expires_at),
            fields: vec![("v", json(grant)?), ("f", grant.family.clone())],
            family,
        })
        .await
    }

    async fn redeem(&self, t: Table, hash: &str) -> Redeemed {
        let keys = [self.item_key(t, hash)];
        match self
            .run::<(i64, String)>("redeem", REDEEM, &keys, &[])
            .await
        {
            Some((1, v)) => {
                parse::<Grant>(&v).map_or(Redeemed::Missing, |g| Redeemed::Fresh(Box::new(g)))
            }
            Some((_, family)) => Redeemed::Replayed(family),
            None => Redeemed::Missing,
        }
    }

    fn client_expiry_ms(&self, c: &StoredClient) -> u64 {
        let (from, ttl) = match c.last_used {
            None => (c.issued_at, self.limits.unused_client_ttl),
            Some(t) => (t, self.limits.idle_client_ttl),
        };
        secs_to_ms(from).saturating_add(super::ttl_ms(ttl))
    }
}

impl Redis {
    /// A [`RedisAuthStore`] on this Redis (default [`StoreLimits`]), for
    /// [`AuthServerConfig::store`](crate::auth::server::AuthServerConfig::store).
    #[must_use]
    pub fn auth_store(&self) -> RedisAuthStore {
        RedisAuthStore::new(self.clone())
    }
}

#[async_trait]
impl AuthStore for RedisAuthStore {
    async fn put_client(&self, client: StoredClient, owner: Owner) -> Result<(), StoreError> {
        self.put(Entry {
            table: Table::Clients,
            id: &client.client_id,
            owner: &owner,
            exp_ms: self.client_expiry_ms(&client),
            fields: vec![("v", json(&client)?)],
            family: None,
        })
        .await
    }

    async fn client(&self, client_id: &str) -> Option<StoredClient> {
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(self.item_key(Table::Clients, client_id))
            .arg("v")
            .arg("u");
        let (v, used): (Option<String>, Option<u64>) = self.read("client", &cmd).await?;
        let mut client: StoredClient = parse(&v?)?;
        if used.is_some() {
            client.last_used = used;
        }
        Some(client)
    }

    async fn touch_client(&self, client_id: &str) {
        let t = Table::Clients;
        let now = now_ms();
        let exp = now
            .saturating_add(super::ttl_ms(self.limits.idle_client_ttl))
            .min(MAX_EXP_MS);
        let keys = [self.item_key(t, client_id), self.global_key(t)];
        let args = [
            part(client_id),
            now.to_string(),
            exp.to_string(),
            self.owner_prefix(t),
            (now / 1000).to_string(),
        ];
        self.run::<i64>("touch_client", TOUCH, &keys, &args).await;
    }

    async fn put_transaction(
        &self,
        id: &str,
        tx: Transaction,
        owner: Owner,
    ) -> Result<(), StoreError> {
        let exp_ms = now_ms().saturating_add(super::ttl_ms(self.limits.transaction_ttl));
        let mut fields = vec![("v", json(&tx)?)];
        if tx.consented {
            fields.push(("c", "1".to_owned()));
        }
        self.put(Entry {
            table: Table::Transactions,
            id,
            owner: &owner,
            exp_ms,
            fields,
            family: None,
        })
        .await
    }

    async fn transaction(&self, id: &str) -> Option<Transaction> {
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(self.item_key(Table::Transactions, id))
            .arg("v")
            .arg("c");
        let (v, c): (Option<String>, Option<String>) = self.read("transaction", &cmd).await?;
        let mut tx: Transaction = parse(&v?)?;
        tx.consented |= c.is_some();
        Some(tx)
    }

    async fn consent_transaction(&self, id: &str) -> Option<Transaction> {
        let keys = [self.item_key(Table::Transactions, id)];
        let v: String = self.run("consent", CONSENT, &keys, &[]).await?;
        let mut tx: Transaction = parse(&v)?;
        tx.consented = true;
        Some(tx)
    }

    async fn take_transaction(&self, id: &str) -> Option<Transaction> {
        let t = Table::Transactions;
        let keys = [self.item_key(t, id), self.global_key(t)];
        let args = [part(id), self.item_prefix(t), self.owner_prefix(t)];
        let (v, c): (Option<String>, Option<String>) =
            self.run("take_transaction", TAKE, &keys, &args).await?;
        let mut tx: Transaction = parse(&v?)?;
        tx.consented |= c.is_some();
        Some(tx)
    }

    async fn put_code(&self, hash: &str, grant: Grant) -> Result<(), StoreError> {
        self.put_single(Table::Codes, hash, &grant).await
    }

    async fn redeem_code(&self, hash: &str) -> Redeemed {
        self.redeem(Table::Codes, hash).await
    }

    async fn put_refresh(&self, hash: &str, grant: Grant) -> Result<(), StoreError> {
        self.put_single(Table::Refresh, hash, &grant).await
    }

    async fn refresh(&self, hash: &str) -> Option<Grant> {
        let mut cmd = ::redis::cmd("HGET");
        cmd.arg(self.item_key(Table::Refresh, hash)).arg("v");
        let v: String = self.read("refresh token", &cmd).await?;
        parse(&v)
    }

    async fn redeem_refresh(&self, hash: &str) -> Redeemed {
        self.redeem(Table::Refresh, hash).await
    }

    async fn revoke_family(&self, family: &str) {
        let t = Table::Refresh;
        let keys = [self.family_key(family), self.global_key(t)];
        let args = [self.item_prefix(t), self.owner_prefix(t)];
        self.run::<i64>("revoke_family", REVOKE, &keys, &args).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_are_plain_or_hashed() {
        assert_eq!(part("abc123"), "abc123");
        let h = part("https://client.example/doc");
        assert_eq!(h.len(), 65);
        assert!(h.starts_with('h') && !is_key_part(&h));
        assert_ne!(part("a-b"), part("a_b"));
    }

    #[test]
    fn keys_are_namespaced() {
        let r = Redis::new(super::super::RedisConfig::new("redis://127.0.0.1:1").prefix("app"))
            .unwrap();
        let s = r.auth_store();
        assert_eq!(s.item_key(Table::Clients, "c1"), "app:oauth:client:c1");
        assert_eq!(s.item_prefix(Table::Codes), "app:oauth:code:");
        assert_eq!(s.owner_prefix(Table::Refresh), "app:oauth:refreshes:owner:");
        assert_eq!(s.global_key(Table::Transactions), "app:oauth:txs:all");
        assert_eq!(
            s.family_key("fam-1"),
            format!("app:oauth:family:{}", part("fam-1"))
        );
    }
}
