//! Publish/subscribe between instances: Redis pub/sub when configured, an in-process
//! broadcaster otherwise. Delivery is best effort (at most once); whatever must not be lost
//! is persisted before it is published.

use crate::cache::CacheError;
use crate::config::RedisSettings;
use async_trait::async_trait;
use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// Messages a subscriber may lag behind before it starts losing the oldest ones.
const CHANNEL_CAPACITY: usize = 4096;

#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    async fn publish(&self, channel: &str, message: &str) -> Result<(), CacheError>;
    /// Everything published on `channel` from now on, by any instance.
    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Arc<str>>;
    /// Bumped each time the subscription connection is re-established; subscribers that
    /// must not miss anything catch up from the database when it changes.
    fn reconnections(&self) -> watch::Receiver<u64>;
    /// The subscription connection in use: `Some(n)` while subscribed on the `n`th one,
    /// `None` while disconnected (messages published now are lost for this instance). An
    /// in-process broadcaster is always `Some(0)`. Whoever keeps state that only
    /// invalidations keep true stamps it with this and trusts it only while it is unchanged.
    fn session(&self) -> Option<u64>;
    fn kind(&self) -> &'static str;
}

pub type SharedPubSub = Arc<dyn PubSub>;

type Senders = Arc<Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>>;

fn sender_for(senders: &Senders, channel: &str) -> broadcast::Sender<Arc<str>> {
    let mut map = match senders.lock() {
        Ok(map) => map,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry(channel.to_string()).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).clone()
}

/// One process only.
pub struct MemoryPubSub {
    senders: Senders,
    reconnections: watch::Sender<u64>,
}

impl MemoryPubSub {
    pub fn new() -> Arc<Self> {
        Arc::new(MemoryPubSub { senders: Senders::default(), reconnections: watch::channel(0).0 })
    }
}

#[async_trait]
impl PubSub for MemoryPubSub {
    async fn publish(&self, channel: &str, message: &str) -> Result<(), CacheError> {
        // No receivers is not an error: nobody is listening right now.
        let _ = sender_for(&self.senders, channel).send(Arc::from(message));
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Arc<str>> {
        sender_for(&self.senders, channel).subscribe()
    }

    fn reconnections(&self) -> watch::Receiver<u64> {
        self.reconnections.subscribe()
    }

    fn session(&self) -> Option<u64> {
        Some(0)
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

/// Redis pub/sub. One subscription connection per process, owned by a background task that
/// reconnects with backoff and resubscribes every channel; local subscribers keep their
/// receivers across reconnects.
pub struct RedisPubSub {
    publisher: ConnectionManager,
    senders: Senders,
    new_channels: mpsc::UnboundedSender<String>,
    reconnections: watch::Receiver<u64>,
    /// 0 while disconnected, else the number of the connection in use (see [`PubSub::session`]).
    session: Arc<AtomicU64>,
    prefix: String,
}

impl RedisPubSub {
    /// Must be called inside a Tokio runtime (it spawns the subscriber task).
    pub fn new(settings: &RedisSettings, url: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(settings.command_timeout_ms)))
            .set_connection_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
            .set_number_of_retries(1);
        let publisher = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let senders = Senders::default();
        let (new_tx, new_rx) = mpsc::unbounded_channel();
        let (reconnect_tx, reconnect_rx) = watch::channel(0);
        let prefix = settings.key_prefix.clone();
        let session = Arc::new(AtomicU64::new(0));
        tokio::spawn(subscriber_loop(client, senders.clone(), new_rx, reconnect_tx, session.clone(), prefix.clone()));
        Ok(Arc::new(RedisPubSub {
            publisher,
            senders,
            new_channels: new_tx,
            reconnections: reconnect_rx,
            session,
            prefix,
        }))
    }
}

async fn subscriber_loop(
    client: redis::Client,
    senders: Senders,
    mut new_channels: mpsc::UnboundedReceiver<String>,
    reconnections: watch::Sender<u64>,
    session: Arc<AtomicU64>,
    prefix: String,
) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    let mut connections = 0u64;
    loop {
        let connect = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await;
        let mut pubsub = match connect {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis pub/sub connect failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            Err(_) => {
                tracing::warn!("redis pub/sub connect timed out");
                continue;
            }
        };
        // Drain requests that arrived while disconnected; the map already holds them.
        while new_channels.try_recv().is_ok() {}
        let channels: Vec<String> = match senders.lock() {
            Ok(map) => map.keys().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().keys().cloned().collect(),
        };
        let mut failed = false;
        for channel in &channels {
            if let Err(e) = pubsub.subscribe(format!("{prefix}{channel}")).await {
                tracing::warn!(error = %e, "redis subscribe failed");
                failed = true;
                break;
            }
        }
        if failed {
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(100);
        if connected_before {
            tracing::info!("redis pub/sub reconnected");
            reconnections.send_modify(|n| *n += 1);
        }
        connected_before = true;
        connections += 1;
        session.store(connections, Ordering::SeqCst);
        let (mut sink, mut stream) = pubsub.split();
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    let channel = msg.get_channel_name();
                    let Some(channel) = channel.strip_prefix(prefix.as_str()) else { continue };
                    let Ok(payload) = msg.get_payload::<String>() else { continue };
                    let _ = sender_for(&senders, channel).send(Arc::from(payload));
                }
                channel = new_channels.recv() => {
                    let Some(channel) = channel else { return };
                    if let Err(e) = sink.subscribe(format!("{prefix}{channel}")).await {
                        tracing::warn!(error = %e, "redis subscribe failed; reconnecting");
                        break;
                    }
                }
            }
        }
        session.store(0, Ordering::SeqCst);
        tracing::warn!("redis pub/sub connection lost; reconnecting");
        tokio::time::sleep(backoff).await;
    }
}

#[async_trait]
impl PubSub for RedisPubSub {
    async fn publish(&self, channel: &str, message: &str) -> Result<(), CacheError> {
        let _: i64 = self.publisher.clone().publish(format!("{}{channel}", self.prefix), message).await?;
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Arc<str>> {
        let is_new = {
            let map = match self.senders.lock() {
                Ok(map) => map,
                Err(poisoned) => poisoned.into_inner(),
            };
            !map.contains_key(channel)
        };
        let receiver = sender_for(&self.senders, channel).subscribe();
        if is_new {
            let _ = self.new_channels.send(channel.to_string());
        }
        receiver
    }

    fn reconnections(&self) -> watch::Receiver<u64> {
        self.reconnections.clone()
    }

    fn session(&self) -> Option<u64> {
        Some(self.session.load(Ordering::SeqCst)).filter(|n| *n > 0)
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_pubsub_delivers_to_every_subscriber() {
        let ps = MemoryPubSub::new();
        let mut a = ps.subscribe("room");
        let mut b = ps.subscribe("room");
        let mut other = ps.subscribe("other");
        ps.publish("room", "hello").await.unwrap();
        assert_eq!(&*a.recv().await.unwrap(), "hello");
        assert_eq!(&*b.recv().await.unwrap(), "hello");
        assert!(other.try_recv().is_err());
    }
}
