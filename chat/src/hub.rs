//! This instance's open sockets, and delivery of chat events to them. Every instance
//! receives every event (through pub/sub) and forwards it to its own sockets of the event's
//! members, so no sticky sessions are needed behind a load balancer.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// Frames a socket may have queued before it counts as too slow and is disconnected.
pub const SOCKET_QUEUE: usize = 256;

/// Which socket sent a message (it gets an `ack` instead of the `message` frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub instance: String,
    pub socket: u64,
}

/// What is published for each new message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub message: serde_json::Value,
    /// The room's members when the message was accepted.
    pub members: Vec<i64>,
    pub origin: Option<Origin>,
    /// A frame to deliver as it is instead of the `message` frame (e.g. `message_hidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<serde_json::Value>,
}

type Outbox = mpsc::Sender<Arc<str>>;

#[derive(Default)]
pub struct Hub {
    instance: String,
    next_socket: AtomicU64,
    sockets: RwLock<HashMap<i64, Vec<(u64, Outbox)>>>,
}

impl Hub {
    pub fn new() -> Self {
        Hub { instance: uuid::Uuid::new_v4().simple().to_string(), ..Default::default() }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// A new socket of `account_id`: its id and the queue of frames to write to it. When the
    /// queue's sender is dropped (the socket was too slow), the socket must close.
    pub fn register(&self, account_id: i64) -> (u64, mpsc::Receiver<Arc<str>>) {
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        self.write().entry(account_id).or_default().push((id, tx));
        metrics::gauge!("chat_sockets").increment(1.0);
        (id, rx)
    }

    pub fn unregister(&self, account_id: i64, socket_id: u64) {
        let mut sockets = self.write();
        if let Some(list) = sockets.get_mut(&account_id) {
            let before = list.len();
            list.retain(|(id, _)| *id != socket_id);
            if list.len() < before {
                metrics::gauge!("chat_sockets").decrement(1.0);
            }
            if list.is_empty() {
                sockets.remove(&account_id);
            }
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, Vec<(u64, Outbox)>>> {
        self.sockets.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues the event's `message` frame on this instance's sockets of its members.
    pub fn deliver(&self, event: &Event) {
        let frame: Arc<str> = match &event.frame {
            Some(frame) => Arc::from(frame.to_string()),
            None => Arc::from(serde_json::json!({ "type": "message", "message": event.message }).to_string()),
        };
        let skip = event.origin.as_ref().filter(|o| o.instance == self.instance).map(|o| o.socket);
        let mut too_slow = Vec::new();
        {
            let sockets = self.sockets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            for member in &event.members {
                for (id, tx) in sockets.get(member).into_iter().flatten() {
                    if Some(*id) == skip {
                        continue;
                    }
                    match tx.try_send(frame.clone()) {
                        Ok(()) => metrics::counter!("chat_deliveries_total").increment(1),
                        Err(mpsc::error::TrySendError::Full(_)) => too_slow.push((*member, *id)),
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
            }
        }
        for (account, socket) in too_slow {
            // Dropping its queue makes the socket close: memory stays bounded.
            tracing::warn!(account, socket, "chat socket too slow; disconnecting");
            metrics::counter!("chat_slow_consumers_total").increment(1);
            self.unregister(account, socket);
        }
    }

    /// Queues an already-built frame on this instance's sockets of `account_id` (a
    /// notification, say); a full queue disconnects the socket as for messages.
    pub fn deliver_frame(&self, account_id: i64, frame: &str) {
        let frame: Arc<str> = Arc::from(frame);
        let mut too_slow = Vec::new();
        {
            let sockets = self.sockets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            for (id, tx) in sockets.get(&account_id).into_iter().flatten() {
                if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(frame.clone()) {
                    too_slow.push(*id);
                }
            }
        }
        for socket in too_slow {
            tracing::warn!(account = account_id, socket, "chat socket too slow; disconnecting");
            metrics::counter!("chat_slow_consumers_total").increment(1);
            self.unregister(account_id, socket);
        }
    }

    /// Accounts with at least one socket on this instance.
    pub fn local_accounts(&self) -> Vec<i64> {
        self.sockets.read().map(|s| s.keys().copied().collect()).unwrap_or_default()
    }

    pub fn has_local_socket(&self, account_id: i64) -> bool {
        self.sockets.read().map(|s| s.contains_key(&account_id)).unwrap_or(false)
    }

    /// Tells every local socket that deliveries may have been missed (pub/sub reconnected,
    /// or this instance lagged): clients catch up with `GET …/messages?after=`.
    pub fn resync_all(&self) {
        let frame: Arc<str> = Arc::from(r#"{"type":"resync"}"#);
        let sockets = self.sockets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, tx) in sockets.values().flatten() {
            let _ = tx.try_send(frame.clone());
        }
    }

    pub fn socket_count(&self) -> usize {
        self.sockets.read().map(|s| s.values().map(Vec::len).sum()).unwrap_or(0)
    }
}

/// What is published on [`crate::FRAMES_CHANNEL`]: a frame for every socket of one account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DirectFrame {
    pub account_id: i64,
    pub frame: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_direct_frame_reaches_every_socket_of_that_account_only() {
        let hub = Hub::new();
        let (_a1, mut rx_a1) = hub.register(1);
        let (_a2, mut rx_a2) = hub.register(1);
        let (_b, mut rx_b) = hub.register(2);
        hub.deliver_frame(1, r#"{"type":"notification"}"#);
        assert_eq!(&*rx_a1.try_recv().unwrap(), r#"{"type":"notification"}"#);
        assert!(rx_a2.try_recv().is_ok());
        assert!(rx_b.try_recv().is_err());
        let mut accounts = hub.local_accounts();
        accounts.sort_unstable();
        assert_eq!(accounts, vec![1, 2]);
        assert!(hub.has_local_socket(2) && !hub.has_local_socket(3));
    }

    fn event(members: Vec<i64>, origin: Option<Origin>) -> Event {
        Event { message: serde_json::json!({"id": 1}), members, origin, frame: None }
    }

    #[tokio::test]
    async fn members_sockets_get_the_message_except_the_senders_socket() {
        let hub = Hub::new();
        let (a1, mut rx_a1) = hub.register(1);
        let (_a2, mut rx_a2) = hub.register(1);
        let (_b, mut rx_b) = hub.register(2);
        let (_c, mut rx_c) = hub.register(3);
        hub.deliver(&event(vec![1, 2], Some(Origin { instance: hub.instance().to_string(), socket: a1 })));
        assert!(rx_a1.try_recv().is_err(), "the sending socket gets an ack instead");
        assert!(rx_a2.try_recv().unwrap().contains("\"message\""));
        assert!(rx_b.try_recv().is_ok());
        assert!(rx_c.try_recv().is_err(), "not a member");
    }

    #[tokio::test]
    async fn a_socket_that_stops_reading_is_disconnected() {
        let hub = Hub::new();
        let (_id, mut rx) = hub.register(1);
        for _ in 0..=SOCKET_QUEUE {
            hub.deliver(&event(vec![1], None));
        }
        assert_eq!(hub.socket_count(), 0);
        let mut queued = 0;
        while rx.recv().await.is_some() {
            queued += 1;
        }
        assert_eq!(queued, SOCKET_QUEUE, "bounded, then closed");
    }
}
