//! What the authorization server holds, behind the [`AuthStore`] trait, and the in-memory
//! default [`InMemoryAuthStore`].
//!
//! Nothing secret is stored in the clear: client secrets, authorization codes and refresh
//! tokens are keyed or compared by their SHA-256 hash. Every table has a TTL, a global bound and
//! a per-owner bound (the client address for registrations and transactions, the client id for
//! codes and refresh tokens); at a bound the least valuable entry (oldest, and for
//! registrations: oldest never used) is evicted, so nobody is locked out.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::auth::util::now_secs;

/// A registered client (RFC 7591), as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredClient {
    /// The issued client id.
    pub client_id: String,
    /// SHA-256 of the client secret (confidential clients), hex.
    pub secret_hash: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Display name (shown HTML-escaped on the consent page).
    pub client_name: Option<String>,
    /// Registered scope (space-separated), if any.
    pub scope: Option<String>,
    /// `client_uri`, `logo_uri`, `policy_uri`, `tos_uri` (https only).
    pub uris: Vec<(String, String)>,
    /// Registration time (seconds since the epoch).
    pub issued_at: u64,
    /// Last successful token request (seconds since the epoch), `None` while never used.
    pub last_used: Option<u64>,
}

impl std::fmt::Debug for StoredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredClient")
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("client_name", &self.client_name)
            .finish_non_exhaustive()
    }
}

/// An authorization request in progress (between `/authorize` and the code redirect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transaction {
    /// The client.
    pub client_id: String,
    /// The (verified) redirect URI the client asked for.
    pub redirect_uri: String,
    /// The client's `state`, returned unchanged.
    pub state: Option<String>,
    /// The client's S256 code challenge.
    pub code_challenge: String,
    /// Requested scope.
    pub scope: Option<String>,
    /// RFC 8707 resource, when given.
    pub resource: Option<String>,
    /// Our PKCE verifier towards the upstream.
    pub upstream_verifier: String,
    /// Whether the user approved the consent page (set once).
    pub consented: bool,
    /// Subject already authenticated (forwarded-user mode).
    pub subject: Option<String>,
    /// Scopes granted by the login (forwarded-user mode).
    pub granted_scopes: Option<Vec<String>>,
}

/// Tokens obtained from the upstream (façade mode).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpstreamTokens {
    /// The upstream access token.
    pub access_token: String,
    /// Its lifetime in seconds, when the upstream said.
    pub expires_in: Option<u64>,
    /// The upstream refresh token.
    pub refresh_token: Option<String>,
    /// The upstream's granted scope.
    pub scope: Option<String>,
}

impl std::fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTokens")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What an authorization code or a refresh token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Grant {
    /// Family id: shared by a code and every refresh token descended from it.
    pub family: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Redirect URI of the authorization request (codes).
    pub redirect_uri: String,
    /// The client's S256 code challenge (codes).
    pub code_challenge: String,
    /// Granted scope (space-separated), if any.
    pub scope: Option<String>,
    /// RFC 8707 resource of the request.
    pub resource: Option<String>,
    /// Authenticated subject (built-in mode).
    pub subject: Option<String>,
    /// Upstream tokens (façade mode).
    pub upstream: Option<UpstreamTokens>,
    /// Expiry (seconds since the epoch).
    pub expires_at: u64,
}

/// The result of redeeming a single-use artefact (a code or a refresh token).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redeemed {
    /// First use: the grant.
    Fresh(Box<Grant>),
    /// Already used: the family it belonged to (revoke it).
    Replayed(String),
    /// Unknown or expired.
    Missing,
}

/// The store refused to hold an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed.
    #[error("authorization store unavailable: {0}")]
    Unavailable(String),
}

/// Who a stored entry counts against for the per-owner bound.
pub type Owner = String;

/// Storage of the authorization server. Keys of codes and refresh tokens are SHA-256 hashes.
#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    /// Stores a registration, counted against `owner` (the registering address).
    async fn put_client(&self, client: StoredClient, owner: Owner) -> Result<(), StoreError>;
    /// A registration.
    async fn client(&self, client_id: &str) -> Option<StoredClient>;
    /// Marks a registration used now (unused ones expire sooner).
    async fn touch_client(&self, client_id: &str);
    /// Stores a transaction under `id`, counted against `owner`.
    async fn put_transaction(
        &self,
        id: &str,
        tx: Transaction,
        owner: Owner,
    ) -> Result<(), StoreError>;
    /// A transaction.
    async fn transaction(&self, id: &str) -> Option<Transaction>;
    /// Marks a transaction consented, once: the updated transaction when it existed and was
    /// not consented yet, else `None`.
    async fn consent_transaction(&self, id: &str) -> Option<Transaction>;
    /// Removes and returns a transaction.
    async fn take_transaction(&self, id: &str) -> Option<Transaction>;
    /// Stores an authorization code (by hash).
    async fn put_code(&self, hash: &str, grant: Grant) -> Result<(), StoreError>;
    /// Redeems a code once.
    async fn redeem_code(&self, hash: &str) -> Redeemed;
    /// Stores a refresh token (by hash).
    async fn put_refresh(&self, hash: &str, grant: Grant) -> Result<(), StoreError>;
    /// Looks a refresh token up without using it.
    async fn refresh(&self, hash: &str) -> Option<Grant>;
    /// Redeems a refresh token once (rotation).
    async fn redeem_refresh(&self, hash: &str) -> Redeemed;
    /// Revokes every refresh token of a family.
    async fn revoke_family(&self, family: &str);
}

/// Bounds and lifetimes of the [`InMemoryAuthStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreLimits {
    /// Registrations in total (default 10,000).
    pub max_clients: usize,
    /// Registrations per registering address (default 50).
    pub max_clients_per_owner: usize,
    /// A registration never used expires after this (default 24 h).
    pub unused_client_ttl: Duration,
    /// A used registration expires after this long without use (default 30 days).
    pub idle_client_ttl: Duration,
    /// Transactions in total (default 10,000) and per address (default 20).
    pub max_transactions: usize,
    /// See [`max_transactions`](Self::max_transactions).
    pub max_transactions_per_owner: usize,
    /// Transaction lifetime (default 10 min).
    pub transaction_ttl: Duration,
    /// Codes in total (default 10,000) and per client (default 20).
    pub max_codes: usize,
    /// See [`max_codes`](Self::max_codes).
    pub max_codes_per_client: usize,
    /// Refresh tokens in total (default 100,000) and per client (default 100).
    pub max_refresh: usize,
    /// See [`max_refresh`](Self::max_refresh).
    pub max_refresh_per_client: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_clients: 10_000,
            max_clients_per_owner: 50,
            unused_client_ttl: Duration::from_secs(24 * 3600),
            idle_client_ttl: Duration::from_secs(30 * 24 * 3600),
            max_transactions: 10_000,
            max_transactions_per_owner: 20,
            transaction_ttl: Duration::from_secs(600),
            max_codes: 10_000,
            max_codes_per_client: 20,
            max_refresh: 100_000,
            max_refresh_per_client: 100,
        }
    }
}

/// One bounded table: value, owner, expiry, insertion number; eviction by a caller-given rank
/// (lowest first; among equal ranks the earliest inserted, so eviction is deterministic even
/// within one second).
struct Table<V> {
    map: HashMap<String, (V, String, u64, u64)>,
    max: usize,
    max_per_owner: usize,
    seq: u64,
}

impl<V> Table<V> {
    fn new(max: usize, max_per_owner: usize) -> Self {
        Table {
            map: HashMap::new(),
            max: max.max(1),
            max_per_owner: max_per_owner.max(1),
            seq: 0,
        }
    }

    fn purge(&mut self, now: u64) {
        self.map.retain(|_, (_, _, exp, _)| *exp > now);
    }

    /// Evicts the lowest-ranked entry among those `filter` selects.
    fn evict(&mut self, filter: impl Fn(&V, &str) -> bool, rank: impl Fn(&V, u64) -> (u8, u64)) {
        let victim = self
            .map
            .iter()
            .filter(|(_, (v, o, _, _))| filter(v, o))
            .min_by_key(|(_, (v, _, exp, seq))| (rank(v, *exp), *seq))
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            self.map.remove(&k);
        }
    }

    fn insert(
        &mut self,
        key: &str,
        value: V,
        owner: String,
        exp: u64,
        rank: impl Fn(&V, u64) -> (u8, u64) + Copy,
    ) {
        let now = now_secs();
        if self.map.len() >= self.max {
            self.purge(now);
        }
        let owned = self.map.values().filter(|(_, o, _, _)| *o == owner).count();
        if owned >= self.max_per_owner {
            self.evict(|_, o| o == owner, rank);
        }
        if self.map.len() >= self.max {
            self.evict(|_, _| true, rank);
        }
        self.seq += 1;
        self.map
            .insert(key.to_owned(), (value, owner, exp, self.seq));
    }

    fn get(&self, key: &str) -> Option<&V> {
        self.map
            .get(key)
            .filter(|(_, _, exp, _)| *exp > now_secs())
            .map(|(v, _, _, _)| v)
    }
}

/// A code or refresh token: live, or used (remembered until it would have expired).
#[derive(Clone)]
enum Single {
    Live(Box<Grant>),
    Used(String),
}

fn by_expiry<V>(_: &V, exp: u64) -> (u8, u64) {
    (0, exp)
}

/// The in-memory [`AuthStore`] (lost on restart; one process only).
pub struct InMemoryAuthStore {
    limits: StoreLimits,
    clients: Mutex<Table<StoredClient>>,
    transactions: Mutex<Table<Transaction>>,
    codes: Mutex<Table<Single>>,
    refresh: Mutex<Table<Single>>,
}

impl std::fmt::Debug for InMemoryAuthStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryAuthStore")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryAuthStore {
    fn default() -> Self {
        Self::new(StoreLimits::default())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl InMemoryAuthStore {
    /// A store with `limits`.
    #[must_use]
    pub fn new(limits: StoreLimits) -> Self {
        InMemoryAuthStore {
            limits,
            clients: Mutex::new(Table::new(limits.max_clients, limits.max_clients_per_owner)),
            transactions: Mutex::new(Table::new(
                limits.max_transactions,
                limits.max_transactions_per_owner,
            )),
            codes: Mutex::new(Table::new(limits.max_codes, limits.max_codes_per_client)),
            refresh: Mutex::new(Table::new(
                limits.max_refresh,
                limits.max_refresh_per_client,
            )),
        }
    }

    /// Number of live registrations.
    #[must_use]
    pub fn client_count(&self) -> usize {
        let mut t = lock(&self.clients);
        t.purge(now_secs());
        t.map.len()
    }

    fn client_expiry(&self, c: &StoredClient) -> u64 {
        match c.last_used {
            None => c.issued_at + self.limits.unused_client_ttl.as_secs(),
            Some(t) => t + self.limits.idle_client_ttl.as_secs(),
        }
    }

    fn redeem(table: &Mutex<Table<Single>>, hash: &str) -> Redeemed {
        let mut t = lock(table);
        let Some(entry) = t.get(hash).cloned() else {
            return Redeemed::Missing;
        };
        match entry {
            Single::Used(family) => Redeemed::Replayed(family),
            Single::Live(grant) => {
                if let Some(slot) = t.map.get_mut(hash) {
                    slot.0 = Single::Used(grant.family.clone());
                }
                Redeemed::Fresh(grant)
            }
        }
    }
}

/// Rank of a registration for eviction: never used first, then least recently used.
fn client_rank(c: &StoredClient, _: u64) -> (u8, u64) {
    match c.last_used {
        None => (0, c.issued_at),
        Some(t) => (1, t),
    }
}

/// Used tombstones go first, then the soonest to expire.
fn single_rank(s: &Single, exp: u64) -> (u8, u64) {
    match s {
        Single::Used(_) => (0, exp),
        Single::Live(_) => (1, exp),
    }
}

#[async_trait]
impl AuthStore for InMemoryAuthStore {
    async fn put_client(&self, client: StoredClient, owner: Owner) -> Result<(), StoreError> {
        let exp = self.client_expiry(&client);
        let id = client.client_id.clone();
        lock(&self.clients).insert(&id, client, owner, exp, client_rank);
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Option<StoredClient> {
        lock(&self.clients).get(client_id).cloned()
    }

    async fn touch_client(&self, client_id: &str) {
        let mut t = lock(&self.clients);
        let now = now_secs();
        if let Some((c, _, exp, _)) = t.map.get_mut(client_id) {
            c.last_used = Some(now);
            *exp = now + self.limits.idle_client_ttl.as_secs();
        }
    }

    async fn put_transaction(
        &self,
        id: &str,
        tx: Transaction,
        owner: Owner,
    ) -> Result<(), StoreError> {
        let exp = now_secs() + self.limits.transaction_ttl.as_secs();
        lock(&self.transactions).insert(id, tx, owner, exp, by_expiry);
        Ok(())
    }

    async fn transaction(&self, id: &str) -> Option<Transaction> {
        lock(&self.transactions).get(id).cloned()
    }

    async fn consent_transaction(&self, id: &str) -> Option<Transaction> {
        let mut t = lock(&self.transactions);
        t.get(id)?;
        let (tx, _, _, _) = t.map.get_mut(id)?;
        if tx.consented {
            return None;
        }
        tx.consented = true;
        Some(tx.clone())
    }

    async fn take_transaction(&self, id: &str) -> Option<Transaction> {
        let mut t = lock(&self.transactions);
        t.get(id)?;
        t.map.remove(id).map(|(tx, _, _, _)| tx)
    }

    async fn put_code(&self, hash: &str, grant: Grant) -> Result<(), StoreError> {
        let (owner, exp) = (grant.client_id.clone(), grant.expires_at);
        lock(&self.codes).insert(hash, Single::Live(Box::new(grant)), owner, exp, single_rank);
        Ok(())
    }

    async fn redeem_code(&self, hash: &str) -> Redeemed {
        Self::redeem(&self.codes, hash)
    }

    async fn put_refresh(&self, hash: &str, grant: Grant) -> Result<(), StoreError> {
        let (owner, exp) = (grant.client_id.clone(), grant.expires_at);
        lock(&self.refresh).insert(hash, Single::Live(Box::new(grant)), owner, exp, single_rank);
        Ok(())
    }

    async fn refresh(&self, hash: &str) -> Option<Grant> {
        match lock(&self.refresh).get(hash)? {
            Single::Live(g) => Some((**g).clone()),
            Single::Used(_) => None,
        }
    }

    async fn redeem_refresh(&self, hash: &str) -> Redeemed {
        Self::redeem(&self.refresh, hash)
    }

    async fn revoke_family(&self, family: &str) {
        lock(&self.refresh).map.retain(|_, (s, _, _, _)| match s {
            Single::Live(g) => g.family != family,
            Single::Used(f) => f != family,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, used: Option<u64>) -> StoredClient {
        StoredClient {
            client_id: id.into(),
            secret_hash: None,
            auth_method: "none".into(),
            redirect_uris: vec![],
            client_name: None,
            scope: None,
            uris: vec![],
            issued_at: now_secs(),
            last_used: used,
        }
    }

    fn grant(family: &str, client: &str) -> Grant {
        Grant {
            family: family.into(),
            client_id: client.into(),
            redirect_uri: String::new(),
            code_challenge: String::new(),
            scope: None,
            resource: None,
            subject: None,
            upstream: None,
            expires_at: now_secs() + 60,
        }
    }

    #[tokio::test]
    async fn client_cap_evicts_an_unused_registration_not_a_used_one() {
        let s = InMemoryAuthStore::new(StoreLimits {
            max_clients: 3,
            ..StoreLimits::default()
        });
        s.put_client(client("used", Some(now_secs())), "a".into())
            .await
            .unwrap();
        for i in 0..5 {
            s.put_client(client(&format!("c{i}"), None), "b".into())
                .await
                .unwrap();
        }
        assert_eq!(s.client_count(), 3);
        assert!(s.client("used").await.is_some());
        assert!(s.client("c4").await.is_some());
    }

    #[tokio::test]
    async fn per_owner_bound_leaves_others_alone() {
        let s = InMemoryAuthStore::new(StoreLimits {
            max_clients_per_owner: 2,
            ..StoreLimits::default()
        });
        s.put_client(client("other", None), "good".into())
            .await
            .unwrap();
        for i in 0..10 {
            s.put_client(client(&format!("x{i}"), None), "abuser".into())
                .await
                .unwrap();
        }
        assert_eq!(s.client_count(), 3);
        assert!(s.client("other").await.is_some());
    }

    #[tokio::test]
    async fn codes_are_single_use_and_replay_names_the_family() {
        let s = InMemoryAuthStore::default();
        s.put_code("h", grant("fam", "c")).await.unwrap();
        assert!(matches!(s.redeem_code("h").await, Redeemed::Fresh(_)));
        assert_eq!(s.redeem_code("h").await, Redeemed::Replayed("fam".into()));
        assert_eq!(s.redeem_code("nope").await, Redeemed::Missing);
        s.put_refresh("r1", grant("fam", "c")).await.unwrap();
        s.put_refresh("r2", grant("other", "c")).await.unwrap();
        s.revoke_family("fam").await;
        assert!(s.refresh("r1").await.is_none());
        assert!(s.refresh("r2").await.is_some());
    }
}
