//! [`RedisBus`]: the cluster bus on Redis Pub/Sub.

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

use super::Redis;
use crate::log_throttle::LogThrottle;
use crate::transport::http::{ClusterBus, ClusterMessage};

/// Messages waiting to be published; past it new ones are dropped (and logged).
const OUTBOX: usize = 1024;
/// Messages received and not yet taken by every subscriber.
const INBOX: usize = 1024;
/// Wait between two attempts to subscribe while Redis is unreachable.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

static FAILURES: LogThrottle = LogThrottle::new(Duration::from_secs(10));

fn log_failure(what: &str, e: &dyn std::fmt::Display) {
    if let Some(suppressed) = FAILURES.hit() {
        tracing::warn!(target: "mcp_rs_server::redis", error = %e, suppressed, "redis bus: {what} failed");
    }
}

/// A message on the channel, with the instance that sent it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    from: String,
    msg: ClusterMessage,
}

/// A [`ClusterBus`] on the Redis Pub/Sub channel `{prefix}:bus`. Publishing queues the
/// message for a background task (bounded: past 1024 waiting messages new ones are dropped);
/// a second task holds the subscription and subscribes again after Redis comes back.
/// Both start on first use (inside a Tokio runtime).
#[derive(Debug)]
pub struct RedisBus {
    redis: Redis,
    outbox: OnceLock<mpsc::Sender<ClusterMessage>>,
    inbox: OnceLock<broadcast::Sender<ClusterMessage>>,
}

impl RedisBus {
    /// A bus on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        RedisBus {
            redis,
            outbox: OnceLock::new(),
            inbox: OnceLock::new(),
        }
    }

    fn channel(&self) -> String {
        self.redis.key(&["bus"])
    }

    fn outbox(&self) -> &mpsc::Sender<ClusterMessage> {
        self.outbox.get_or_init(|| {
            let (tx, rx) = mpsc::channel(OUTBOX);
            tokio::spawn(publish_loop(self.redis.clone(), self.channel(), rx));
            tx
        })
    }

    fn inbox(&self) -> &broadcast::Sender<ClusterMessage> {
        self.inbox.get_or_init(|| {
            let tx = broadcast::channel(INBOX).0;
            tokio::spawn(subscribe_loop(
                self.redis.clone(),
                self.channel(),
                tx.downgrade(),
            ));
            tx
        })
    }
}

impl ClusterBus for RedisBus {
    fn publish(&self, msg: ClusterMessage) {
        if let Err(e) = self.outbox().try_send(msg) {
            log_failure("queueing a message", &e);
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<ClusterMessage> {
        self.inbox().subscribe()
    }
}

async fn publish_loop(redis: Redis, channel: String, mut rx: mpsc::Receiver<ClusterMessage>) {
    while let Some(msg) = rx.recv().await {
        let envelope = Envelope {
            from: redis.0.instance.clone(),
            msg,
        };
        let Ok(payload) = serde_json::to_string(&envelope) else {
            continue;
        };
        let cmd = ::redis::cmd("PUBLISH").arg(&channel).arg(payload).clone();
        if let Err(e) = redis.query::<i64>(&cmd).await {
            log_failure("publish", &e);
        }
    }
}

/// Holds the subscription while anyone listens; subscribes again after a failure.
async fn subscribe_loop(redis: Redis, channel: String, tx: broadcast::WeakSender<ClusterMessage>) {
    loop {
        if let Err(e) = listen(&redis, &channel, &tx).await {
            log_failure("subscribe", &e);
        }
        if tx.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}

/// One subscription: forwards the other instances' messages until the connection drops.
async fn listen(
    redis: &Redis,
    channel: &str,
    tx: &broadcast::WeakSender<ClusterMessage>,
) -> Result<(), crate::transport::http::StoreError> {
    let timeout = redis.config().timeout;
    let mut pubsub = tokio::time::timeout(timeout, redis.0.client.get_async_pubsub())
        .await
        .map_err(|_| "redis: no answer to connect")??;
    tokio::time::timeout(timeout, pubsub.subscribe(channel))
        .await
        .map_err(|_| "redis: no answer to SUBSCRIBE")??;
    let mut messages = pubsub.on_message();
    while let Some(m) = messages.next().await {
        let Some(tx) = tx.upgrade() else {
            return Ok(());
        };
        let Ok(payload) = m.get_payload::<String>() else {
            continue;
        };
        match serde_json::from_str::<Envelope>(&payload) {
            Ok(env) if env.from != redis.0.instance => {
                let _ = tx.send(env.msg);
            }
            Ok(_) => {}
            Err(e) => log_failure("decoding a message", &e),
        }
    }
    Err("redis: subscription connection closed".into())
}
