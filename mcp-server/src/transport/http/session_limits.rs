//! Session quotas of the stateful endpoint: whom a new session counts against (the bound
//! principal, else the client's address), the per-principal and per-address quotas, and the
//! size of the whole table (with room made by evicting the least recently used idle session).
//!
//! Every session holds a [`Ticket`] from `initialize` until it ends; the counts are those of
//! the live tickets, so a session still being initialised counts too.

use http::StatusCode;
use http::request::Parts;
use mcp_rs_core::ErrorObject;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use super::config::HttpConfig;
use super::edge::{EdgeError, SERVER_BUSY, principal_of};
use super::serve::RemoteAddr;

/// Whom a session counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    /// An authenticated caller: its principal key.
    Principal(Arc<str>),
    /// An anonymous caller: its IP address (IPv6: its /64 network, which one host usually
    /// holds whole).
    Addr(IpAddr),
    /// An anonymous caller whose address the transport did not record (no [`RemoteAddr`]):
    /// all of them share one quota.
    UnknownAddr,
}

impl Owner {
    /// The owner of a request: the principal of its verified identity, else its address.
    pub(crate) fn of(parts: &Parts) -> Owner {
        if let Some(p) = principal_of(parts) {
            return Owner::Principal(Arc::from(p));
        }
        match parts.extensions.get::<RemoteAddr>() {
            Some(RemoteAddr(peer)) => Owner::Addr(address_key(peer.ip())),
            None => Owner::UnknownAddr,
        }
    }
}

/// The address a quota is kept for: IPv4 as is (also when mapped into IPv6), IPv6 cut to /64.
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Why a session was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The owner holds its quota (`limit`) already.
    Quota { limit: usize, principal: bool },
    /// The table holds `max_sessions` sessions.
    Full,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_owner: HashMap<Owner, usize>,
}

/// The session counts and their bounds.
#[derive(Debug)]
pub(crate) struct SessionLimits {
    counts: Mutex<Counts>,
    max_sessions: usize,
    per_principal: Option<usize>,
    per_addr: Option<usize>,
}

/// One admitted session's place in the counts, given back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket {
    limits: Arc<SessionLimits>,
    owner: Owner,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = lock(&self.limits.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_owner.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                counts.by_owner.remove(&self.owner);
            }
        }
    }
}

impl SessionLimits {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        SessionLimits {
            counts: Mutex::default(),
            max_sessions: config.max_sessions,
            per_principal: config.max_sessions_per_principal,
            per_addr: config.max_sessions_per_addr,
        }
    }

    /// A ticket for a new session of `owner`: refused at the owner's quota (checked first:
    /// making room in the table never helps a client over its quota) or when the table is full.
    pub(crate) fn admit(self: &Arc<Self>, owner: &Owner) -> Result<Ticket, Refusal> {
        let quota = match owner {
            Owner::Principal(_) => self.per_principal,
            Owner::Addr(_) | Owner::UnknownAddr => self.per_addr,
        };
        let mut counts = lock(&self.counts);
        let held = counts.by_owner.get(owner).copied().unwrap_or(0);
        if let Some(limit) = quota.filter(|limit| held >= *limit) {
            return Err(Refusal::Quota {
                limit,
                principal: matches!(owner, Owner::Principal(_)),
            });
        }
        if counts.total >= self.max_sessions {
            return Err(Refusal::Full);
        }
        counts.total += 1;
        *counts.by_owner.entry(owner.clone()).or_insert(0) += 1;
        Ok(Ticket {
            limits: self.clone(),
            owner: owner.clone(),
        })
    }

    /// Sessions of `owner` (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn held_by(&self, owner: &Owner) -> usize {
        lock(&self.counts).by_owner.get(owner).copied().unwrap_or(0)
    }
}

impl Refusal {
    /// What the client gets: 429 at its quota, 503 when the table is full (both with
    /// `Retry-After` and a JSON-RPC error body).
    pub(crate) fn into_error(self, config: &HttpConfig) -> EdgeError {
        let Refusal::Quota { limit, principal } = self else {
            return EdgeError::busy(config.busy_retry_after);
        };
        let who = if principal {
            "for this principal"
        } else {
            "from this address"
        };
        let mut e = EdgeError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorObject::new(
                SERVER_BUSY,
                format!(
                    "Too many sessions {who} (limit {limit}): end one with DELETE or retry later"
                ),
            ),
        );
        e.retry_after = Some(config.busy_retry_after);
        e
    }
}

/// Locks a mutex, ignoring poisoning (the counts stay consistent: no code panics under it).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn limits(
        max: usize,
        per_principal: Option<usize>,
        per_addr: Option<usize>,
    ) -> Arc<SessionLimits> {
        let config = HttpConfig::default()
            .max_sessions(max)
            .max_sessions_per_principal(per_principal)
            .max_sessions_per_addr(per_addr);
        Arc::new(SessionLimits::new(&config))
    }

    fn parts_from(addr: Option<&str>) -> Parts {
        let mut parts = http::Request::new(()).into_parts().0;
        if let Some(a) = addr {
            let peer: SocketAddr = a.parse().unwrap();
            parts.extensions.insert(RemoteAddr(peer));
        }
        parts
    }

    #[test]
    fn owners_are_principals_then_addresses() {
        assert_eq!(
            Owner::of(&parts_from(Some("10.0.0.1:5000"))),
            Owner::Addr("10.0.0.1".parse().unwrap())
        );
        // The port does not matter; an IPv4-mapped address is its IPv4 address.
        assert_eq!(
            Owner::of(&parts_from(Some("[::ffff:10.0.0.1]:6000"))),
            Owner::Addr("10.0.0.1".parse().unwrap())
        );
        // One IPv6 /64 is one owner.
        assert_eq!(
            Owner::of(&parts_from(Some("[2001:db8:1:2:aaaa::1]:1"))),
            Owner::of(&parts_from(Some("[2001:db8:1:2:bbbb::9]:2")))
        );
        assert_ne!(
            Owner::of(&parts_from(Some("[2001:db8:1:2::1]:1"))),
            Owner::of(&parts_from(Some("[2001:db8:1:3::1]:1")))
        );
        assert_eq!(Owner::of(&parts_from(None)), Owner::UnknownAddr);
        let mut parts = parts_from(Some("10.0.0.1:5000"));
        let identity = crate::identity::OAuthContext::new("alice", Default::default());
        let key = identity.principal_key();
        parts.extensions.insert(identity);
        assert_eq!(Owner::of(&parts), Owner::Principal(Arc::from(key)));
    }

    #[test]
    fn quotas_per_owner_and_table_size() {
        let l = limits(3, Some(1), Some(2));
        let a = Owner::Addr("10.0.0.1".parse().unwrap());
        let b = Owner::Addr("10.0.0.2".parse().unwrap());
        let p = Owner::Principal(Arc::from("alice"));
        let a1 = l.admit(&a).unwrap();
        let _a2 = l.admit(&a).unwrap();
        assert_eq!(
            l.admit(&a).err(),
            Some(Refusal::Quota {
                limit: 2,
                principal: false
            })
        );
        let _p1 = l.admit(&p).unwrap();
        assert_eq!(
            l.admit(&p).err(),
            Some(Refusal::Quota {
                limit: 1,
                principal: true
            })
        );
        // Three sessions: the table is full for everyone under quota.
        assert_eq!(l.admit(&b).err(), Some(Refusal::Full));
        drop(a1);
        assert_eq!(l.held_by(&a), 1);
        let _b1 = l.admit(&b).unwrap();
        assert_eq!(l.held_by(&b), 1);
    }

    #[test]
    fn no_quota_when_turned_off() {
        let l = limits(100, None, None);
        let owner = Owner::UnknownAddr;
        let tickets: Vec<_> = (0..100).map(|_| l.admit(&owner).unwrap()).collect();
        assert_eq!(l.held_by(&owner), 100);
        assert_eq!(l.admit(&owner).err(), Some(Refusal::Full));
        drop(tickets);
        assert_eq!(l.held_by(&owner), 0);
    }
}
