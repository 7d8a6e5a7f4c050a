//! [`RedisSessionStore`]: session records as JSON strings with a TTL.

use async_trait::async_trait;
use std::time::Duration;

use super::{Redis, is_key_part, ttl_ms};
use crate::transport::http::{SessionRecord, SessionStore, StoreError};

/// A [`SessionStore`] on Redis: one key `{prefix}:session:{id}` per session, holding its
/// [`SessionRecord`] as JSON, expiring after the session idle timeout unless touched.
#[derive(Debug, Clone)]
pub struct RedisSessionStore {
    redis: Redis,
}

impl RedisSessionStore {
    /// A store on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        RedisSessionStore { redis }
    }

    fn key(&self, id: &str) -> String {
        self.redis.key(&["session", id])
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn insert(&self, record: SessionRecord, ttl: Duration) -> Result<(), StoreError> {
        let json = serde_json::to_string(&record)?;
        self.redis
            .query::<()>(
                ::redis::cmd("SET")
                    .arg(self.key(&record.id))
                    .arg(json)
                    .arg("PX")
                    .arg(ttl_ms(ttl)),
            )
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        if !is_key_part(id) {
            return Ok(None);
        }
        let json: Option<String> = self
            .redis
            .query(::redis::cmd("GET").arg(self.key(id)))
            .await?;
        match json {
            Some(j) => Ok(Some(serde_json::from_str(&j)?)),
            None => Ok(None),
        }
    }

    async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        if !is_key_part(id) {
            return Ok(false);
        }
        let n: i64 = self
            .redis
            .query(::redis::cmd("PEXPIRE").arg(self.key(id)).arg(ttl_ms(ttl)))
            .await?;
        Ok(n == 1)
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        if !is_key_part(id) {
            return Ok(false);
        }
        let n: i64 = self
            .redis
            .query(::redis::cmd("DEL").arg(self.key(id)))
            .await?;
        Ok(n > 0)
    }
}
