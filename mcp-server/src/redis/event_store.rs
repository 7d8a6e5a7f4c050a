//! [`RedisEventStore`]: SSE events in Redis streams, one per SSE stream, trimmed and expiring.

use async_trait::async_trait;
use bytes::Bytes;

use super::{Redis, is_key_part, ttl_ms};
use crate::transport::http::{EventStore, StoreError, StoredEvent};

/// An [`EventStore`] on Redis, so a client can resume on any instance a stream another
/// instance produced. Each SSE stream is a Redis stream `{prefix}:events:{session}:{stream}`
/// whose entry ids are `0-{seq}` (field `d`: the event data), trimmed to
/// [`RedisConfig::events_per_stream`](super::RedisConfig::events_per_stream) entries; a set
/// `{prefix}:streams:{session}` lists the session's streams. See the
/// [module docs](super) for the TTLs.
#[derive(Debug, Clone)]
pub struct RedisEventStore {
    redis: Redis,
}

impl RedisEventStore {
    /// A store on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        RedisEventStore { redis }
    }

    fn stream_key(&self, session: &str, stream: &str) -> String {
        self.redis.key(&["events", session, stream])
    }

    fn index_key(&self, session: &str) -> String {
        self.redis.key(&["streams", session])
    }
}

/// An entry of `XRANGE`: its id and its flat field/value list.
type Entry = (String, Vec<Vec<u8>>);

fn to_event(stream: &str, (id, fields): Entry) -> Option<StoredEvent> {
    let seq = id.strip_prefix("0-")?.parse().ok()?;
    let pos = fields
        .chunks(2)
        .position(|kv| kv.first().is_some_and(|k| k == b"d"))?;
    let data = fields.get(2 * pos + 1)?;
    Some(StoredEvent {
        stream: stream.to_owned(),
        seq,
        data: Bytes::copy_from_slice(data),
    })
}

#[async_trait]
impl EventStore for RedisEventStore {
    async fn append(&self, session: &str, event: StoredEvent) -> Result<(), StoreError> {
        if !is_key_part(session) || !is_key_part(&event.stream) || event.seq == 0 {
            return Err("event store: invalid session, stream or sequence number".into());
        }
        let cfg = self.redis.config();
        let key = self.stream_key(session, &event.stream);
        let index = self.index_key(session);
        let ttl = ttl_ms(cfg.stream_ttl);
        let mut pipe = ::redis::pipe();
        pipe.cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg(cfg.events_per_stream)
            .arg(format!("0-{}", event.seq))
            .arg("d")
            .arg(event.data.as_ref())
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl)
            .ignore()
            .cmd("SADD")
            .arg(&index)
            .arg(&event.stream)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&index)
            .arg(ttl)
            .ignore();
        self.redis.query_pipe::<()>(&pipe).await
    }

    async fn events_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
    ) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        if !is_key_part(session) || !is_key_part(stream) {
            return Ok(None);
        }
        let key = self.stream_key(session, stream);
        let mut pipe = ::redis::pipe();
        pipe.cmd("EXISTS")
            .arg(&key)
            .cmd("XRANGE")
            .arg(&key)
            .arg(format!("0-{}", after.saturating_add(1)))
            .arg("+");
        let (exists, entries): (i64, Vec<Entry>) = self.redis.query_pipe(&pipe).await?;
        if exists == 0 {
            return Ok(None);
        }
        Ok(Some(
            entries
                .into_iter()
                .filter_map(|e| to_event(stream, e))
                .collect(),
        ))
    }

    async fn finish_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        if !is_key_part(session) || !is_key_part(stream) {
            return Ok(());
        }
        let ttl = ttl_ms(self.redis.config().finished_stream_ttl);
        self.redis
            .query::<()>(
                ::redis::cmd("PEXPIRE")
                    .arg(self.stream_key(session, stream))
                    .arg(ttl),
            )
            .await
    }

    async fn remove_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        if !is_key_part(session) || !is_key_part(stream) {
            return Ok(());
        }
        let mut pipe = ::redis::pipe();
        pipe.cmd("DEL")
            .arg(self.stream_key(session, stream))
            .ignore()
            .cmd("SREM")
            .arg(self.index_key(session))
            .arg(stream)
            .ignore();
        self.redis.query_pipe::<()>(&pipe).await
    }

    async fn remove_session(&self, session: &str) -> Result<(), StoreError> {
        if !is_key_part(session) {
            return Ok(());
        }
        let index = self.index_key(session);
        let streams: Vec<String> = self
            .redis
            .query(::redis::cmd("SMEMBERS").arg(&index))
            .await?;
        let mut del = ::redis::cmd("DEL");
        del.arg(&index);
        for s in streams.iter().filter(|s| is_key_part(s)) {
            del.arg(self.stream_key(session, s));
        }
        self.redis.query::<()>(&del).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_become_events() {
        let e = to_event("st", ("0-7".into(), vec![b"d".to_vec(), b"{}".to_vec()])).unwrap();
        assert_eq!(
            e,
            StoredEvent {
                stream: "st".into(),
                seq: 7,
                data: Bytes::from_static(b"{}")
            }
        );
        assert_eq!(to_event("st", ("5-1".into(), vec![])), None);
        assert_eq!(to_event("st", ("0-1".into(), vec![b"x".to_vec()])), None);
    }
}
