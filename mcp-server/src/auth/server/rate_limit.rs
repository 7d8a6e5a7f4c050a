//! Per-address token buckets for the authorization-server routes.
//!
//! Each client address has a bucket of `burst` requests refilled at `per_minute`; a request
//! finding it empty gets `429` with `Retry-After` (seconds until one token is back). The table
//! holds at most `max_addresses` buckets; when full, full (idle) buckets are dropped first,
//! then the bucket that was refilled longest ago, so an abuser spreading over many addresses
//! cannot stop others from being served.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Rate limits of the authorization-server routes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests per minute and address, steady state (default 120).
    pub per_minute: f64,
    /// Requests an address may send at once (default 60).
    pub burst: f64,
    /// Addresses tracked at most (default 10,000).
    pub max_addresses: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_minute: 120.0,
            burst: 60.0,
            max_addresses: 10_000,
        }
    }
}

impl RateLimit {
    /// `per_minute` requests per minute with bursts of `burst`.
    #[must_use]
    pub fn new(per_minute: f64, burst: f64) -> Self {
        RateLimit {
            per_minute: per_minute.max(0.001),
            burst: burst.max(1.0),
            ..Self::default()
        }
    }
}

#[derive(Debug)]
pub(crate) struct Limiter {
    cfg: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub(crate) fn new(cfg: RateLimit) -> Self {
        Limiter {
            cfg,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when `key` may proceed, else the seconds to wait.
    pub(crate) fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let rate = self.cfg.per_minute / 60.0;
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !b.contains_key(key) && b.len() >= self.cfg.max_addresses.max(1) {
            let burst = self.cfg.burst;
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if b.len() >= self.cfg.max_addresses.max(1) {
                let oldest = b
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    b.remove(&k);
                }
            }
        }
        let (tokens, at) = b.entry(key.to_owned()).or_insert((self.cfg.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.cfg.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_hits_the_limit_another_is_served() {
        let l = Limiter::new(RateLimit::new(60.0, 3.0));
        for _ in 0..3 {
            assert_eq!(l.check("10.0.0.1"), Ok(()));
        }
        assert_eq!(l.check("10.0.0.1"), Err(1));
        assert_eq!(l.check("10.0.0.2"), Ok(()));
    }

    #[test]
    fn the_table_is_bounded() {
        let l = Limiter::new(RateLimit {
            max_addresses: 10,
            ..RateLimit::new(60.0, 2.0)
        });
        for i in 0..100 {
            let _ = l.check(&format!("10.0.0.{i}"));
        }
        assert!(l.buckets.lock().unwrap().len() <= 10);
    }
}
