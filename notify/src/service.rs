//! Inboxes: storing notifications exactly once per event and recipient, delivering them
//! (a `notification` frame on every socket of the account, then push), reading, marking
//! read, preferences, devices and the retention sweep.
//!
//! Exactly once: a notification's `(account_id, dedupe_key)` is unique, and storing one
//! enqueues its delivery (`notify.deliver`) in the same transaction of notify's own outbox.
//! A handler retried after a crash finds the row and does nothing; a crash after the row
//! committed still delivers it, from the outbox.

use crate::error::NotifyError;
use crate::events::notifications_for;
use crate::model::{Kind, NewNotification, Notification};
use crate::push::{PushMessage, PushOutcome, PushSender};
use crate::repo::{self, DeviceRow, NotificationRow};
use crate::settings::NotifySettings;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::chat::LiveSockets;
use contracts::events::ChatMessagePosted;
use platform::clock::{SharedClock, from_db};
use platform::db::OnDuplicate;
use platform::db::{Db, DbConn, DbError};
use platform::outbox::{Outbox, OutboxHandler, OutboxMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use utoipa::ToSchema;

/// The notify module's outbox table.
pub const OUTBOX_TABLE: &str = "notify_outbox";
/// The command that delivers one stored (or updated) notification: frame, then push.
pub const DELIVER_TOPIC: &str = "notify.deliver";
/// Rows deleted per statement by the retention sweep.
const SWEEP_BATCH: i64 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Delivery {
    notification_id: i64,
    revision: i64,
    /// When the event that caused it was committed (for the latency histogram).
    event_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: i64,
    /// `android`, `ios` or `web`.
    pub platform: String,
    pub created_at: DateTime<Utc>,
}

impl From<DeviceRow> for Device {
    fn from(d: DeviceRow) -> Self {
        Device { id: d.id, platform: d.platform, created_at: from_db(d.created_at) }
    }
}

pub const PLATFORMS: [&str; 3] = ["android", "ios", "web"];
/// Push tokens are opaque; FCM's are about 160 characters.
pub const MAX_TOKEN_CHARS: usize = 255;

impl From<NotificationRow> for Notification {
    fn from(r: NotificationRow) -> Self {
        Notification {
            id: r.id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            link: r.link,
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
            read: r.is_read,
            created_at: from_db(r.created_at),
        }
    }
}

platform::service_struct! {
    pub struct Notify {
        db: Db,
        outbox: Outbox,
        live: Arc<dyn LiveSockets>,
        push: Option<Arc<dyn PushSender>>,
        clock: SharedClock,
        settings: NotifySettings,
    }
}

impl Notify {
    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn push_enabled(&self) -> bool {
        self.push.is_some()
    }

    /// Stores `n` unless its key is already in the recipient's inbox; `Some(id)` when new.
    pub async fn store(&self, n: NewNotification, event_at: DateTime<Utc>) -> Result<Option<i64>, NotifyError> {
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let kind = n.kind;
        let stored = self
            .db
            .tx(move |conn| {
                // Not looked up first: the insert of a key already stored is a duplicate.
                let id = repo::insert(conn, &n, 0, now)?;
                enqueue_delivery(&outbox, conn, id, 0, event_at, now)?;
                Ok::<_, DbError>(id)
            })
            .await;
        // The same event stored before (a redelivery, or a concurrent one): `None`.
        let stored = stored.unless_duplicate()?;
        if stored.is_some() {
            metrics::counter!("notifications_created_total", "kind" => kind.as_str()).increment(1);
            self.outbox.wake();
        }
        Ok(stored)
    }

    /// A room's chat notification for `account_id`: created, or rewritten in place with the
    /// newest message (unread again); an event older than what it shows changes nothing, so
    /// events handled out of order (the dispatcher runs several at once) end on the newest.
    async fn chat_message(
        &self,
        account_id: i64,
        e: &ChatMessagePosted,
        event_at: DateTime<Utc>,
    ) -> Result<(), NotifyError> {
        let now = self.clock.now();
        let key = format!("chat_room:{}", e.room_id);
        let title = match &e.room_name {
            Some(name) => format!("New messages in {name}"),
            None => "New message".to_string(),
        };
        let e = e.clone();
        let outbox = self.outbox.clone();
        let revision = e.message_id;
        for attempt in 0..3 {
            let (key, title, e, outbox) = (key.clone(), title.clone(), e.clone(), outbox.clone());
            let done = self
                .db
                .tx(move |conn| {
                    let existing = repo::find_by_key(conn, account_id, &key)?;
                    if existing.as_ref().is_some_and(|row| row.revision >= revision) {
                        return Ok(None);
                    }
                    let n = NewNotification {
                        account_id,
                        kind: Kind::ChatMessage,
                        title: title.clone(),
                        body: e.preview.clone(),
                        link: format!("/chat/{}", e.room_id),
                        data: json!({"room_id": e.room_id, "room_name": e.room_name, "message_id": e.message_id,
                                "sender_id": e.sender_id}),
                        dedupe_key: key.clone(),
                    };
                    let (id, created) = match existing {
                        None => (repo::insert(conn, &n, revision, now)?, true),
                        Some(row) => {
                            if !repo::update_if_newer(conn, row.id, &n, revision, now)? {
                                return Ok(None);
                            }
                            (row.id, false)
                        }
                    };
                    enqueue_delivery(&outbox, conn, id, revision, event_at, now)?;
                    Ok::<_, DbError>(Some(created))
                })
                .await;
            match done {
                Err(e) if e.is_unique_violation() && attempt < 2 => continue,
                Err(e) => return Err(e.into()),
                Ok(None) => return Ok(()),
                Ok(Some(created)) => {
                    let counter = if created { "notifications_created_total" } else { "notifications_updated_total" };
                    metrics::counter!(counter, "kind" => Kind::ChatMessage.as_str()).increment(1);
                    self.outbox.wake();
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Turns one subscribed outbox event into notifications (see [`crate::events`]).
    pub async fn handle_event(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let event_at = message.created_at;
        if message.topic == "chat.message_posted" {
            let e: ChatMessagePosted = message.decode()?;
            let recipients: Vec<i64> =
                e.members.iter().copied().filter(|m| *m != e.sender_id).collect::<BTreeSet<_>>().into_iter().collect();
            if recipients.is_empty() {
                return Ok(());
            }
            let online: BTreeSet<i64> = self.live.online(&recipients).await?.into_iter().collect();
            for account in recipients.into_iter().filter(|a| !online.contains(a)) {
                self.chat_message(account, &e, event_at).await?;
            }
            return Ok(());
        }
        let key = message.dedupe_key.clone().unwrap_or_else(|| format!("{}:{}", message.topic, message.id));
        for n in notifications_for(&message.topic, &message.payload, &key)? {
            self.store(n, event_at).await?;
        }
        Ok(())
    }

    /// Sends a stored notification to the account's sockets (with the unread count) and,
    /// unless its kind is muted, to its devices. A delivery superseded by a newer revision
    /// (a chat notification updated again) is skipped: the newer one carries it.
    pub async fn deliver(&self, notification_id: i64, revision: i64, event_at: DateTime<Utc>) -> anyhow::Result<()> {
        let found = self
            .db
            .run(move |conn| {
                let Some(row) = repo::find(conn, notification_id)? else { return Ok(None) };
                let muted = repo::muted_kinds(conn, row.account_id)?;
                let unread = repo::unread_count(conn, row.account_id, &muted)?;
                Ok::<_, DbError>(Some((row, muted, unread)))
            })
            .await?;
        let Some((row, muted, unread)) = found else { return Ok(()) }; // swept meanwhile
        if row.revision > revision {
            return Ok(());
        }
        let account_id = row.account_id;
        let notification = Notification::from(row);
        let frame = json!({"type": "notification", "notification": notification, "unread_count": unread});
        self.live.push_frame(account_id, frame.to_string()).await?;
        let latency = (self.clock.now() - event_at).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        metrics::histogram!("notification_delivery_seconds").record(latency);
        metrics::counter!("notifications_delivered_total", "kind" => notification.kind.clone()).increment(1);
        if let Some(push) = &self.push
            && !muted.contains(&notification.kind)
        {
            self.push_to_devices(push, account_id, &notification).await?;
        }
        Ok(())
    }

    async fn push_to_devices(
        &self,
        push: &Arc<dyn PushSender>,
        account_id: i64,
        n: &Notification,
    ) -> Result<(), NotifyError> {
        let devices = self.db.run(move |conn| repo::devices_of(conn, account_id)).await?;
        let mut data = BTreeMap::new();
        data.insert("notification_id".to_string(), n.id.to_string());
        data.insert("kind".to_string(), n.kind.clone());
        data.insert("link".to_string(), n.link.clone());
        for device in devices {
            let message = PushMessage {
                token: device.token.clone(),
                platform: device.platform.clone(),
                title: n.title.clone(),
                body: n.body.clone(),
                link: n.link.clone(),
                collapse_id: format!("n{}", n.id),
                data: data.clone(),
            };
            match push.send(&message).await {
                Ok(PushOutcome::Sent) => {}
                Ok(PushOutcome::Unregistered) => {
                    let token = device.token.clone();
                    self.db.run(move |conn| repo::delete_token(conn, &token)).await?;
                    tracing::info!(account_id, device = device.id, "push token unregistered; device deleted");
                }
                // Retried inside the sender already; the inbox and the socket have it.
                Err(e) => tracing::warn!(account_id, device = device.id, error = %format!("{e:#}"), "push failed"),
            }
        }
        Ok(())
    }

    pub async fn list(
        &self,
        account_id: i64,
        before: Option<i64>,
        limit: i64,
        unread_only: bool,
    ) -> Result<Vec<Notification>, NotifyError> {
        let rows = self.db.run(move |conn| repo::list(conn, account_id, before, limit, unread_only)).await?;
        Ok(rows.into_iter().map(Notification::from).collect())
    }

    /// Unread notifications whose kind is not muted.
    pub async fn unread_count(&self, account_id: i64) -> Result<i64, NotifyError> {
        Ok(self
            .db
            .run(move |conn| {
                let muted = repo::muted_kinds(conn, account_id)?;
                repo::unread_count(conn, account_id, &muted)
            })
            .await?)
    }

    /// Marks some (or all) of the account's notifications read; ids of others' are ignored.
    /// The account's sockets hear the new unread count.
    pub async fn mark_read(&self, account_id: i64, ids: Option<Vec<i64>>) -> Result<(), NotifyError> {
        let changed = self.db.tx(move |conn| repo::mark_read(conn, account_id, ids.as_deref())).await?;
        if changed > 0 {
            let unread = self.unread_count(account_id).await?;
            let frame = json!({"type": "notifications_read", "unread_count": unread});
            if let Err(e) = self.live.push_frame(account_id, frame.to_string()).await {
                tracing::warn!(error = %e, account_id, "could not announce read notifications");
            }
        }
        Ok(())
    }

    pub async fn muted_kinds(&self, account_id: i64) -> Result<Vec<String>, NotifyError> {
        Ok(self.db.run(move |conn| repo::muted_kinds(conn, account_id)).await?)
    }

    /// Replaces the account's muted kinds (validated names, deduplicated, sorted).
    pub async fn set_muted_kinds(&self, account_id: i64, kinds: Vec<String>) -> Result<Vec<String>, NotifyError> {
        let mut parsed = BTreeSet::new();
        for raw in &kinds {
            match Kind::parse(raw) {
                Some(kind) => {
                    parsed.insert(kind.as_str().to_string());
                }
                None => return Err(NotifyError::invalid("muted_kinds", format!("unknown kind {raw:?}"))),
            }
        }
        let kinds: Vec<String> = parsed.into_iter().collect();
        let (stored, now) = (kinds.clone(), self.clock.now());
        self.db.tx(move |conn| repo::set_muted_kinds(conn, account_id, &stored, now)).await?;
        Ok(kinds)
    }

    pub async fn register_device(&self, account_id: i64, platform: &str, token: &str) -> Result<Device, NotifyError> {
        if !PLATFORMS.contains(&platform) {
            return Err(NotifyError::invalid("platform", "must be android, ios or web"));
        }
        let token = token.trim().to_string();
        if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS || !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(NotifyError::invalid("token", "must be 1 to 255 printable ASCII characters"));
        }
        let (platform, now) = (platform.to_string(), self.clock.now());
        let row = self.db.tx(move |conn| repo::upsert_device(conn, account_id, &platform, &token, now)).await;
        // The same token registered concurrently: the winner's row is the device.
        let row = row.on_duplicate(|| NotifyError::invalid("token", "is being registered; retry"))?;
        Ok(row.into())
    }

    pub async fn delete_device(&self, account_id: i64, id: i64) -> Result<(), NotifyError> {
        if self.db.tx(move |conn| repo::delete_device(conn, account_id, id)).await? {
            Ok(())
        } else {
            Err(NotifyError::NotFound)
        }
    }

    /// Deletes notifications untouched for `notify.retention_days`; returns how many.
    pub async fn sweep(&self) -> Result<usize, NotifyError> {
        let cutoff = self.clock.now() - chrono::Duration::days(self.settings.retention_days.max(1));
        let mut total = 0;
        loop {
            let n = self.db.tx(move |conn| repo::delete_older_than(conn, cutoff, SWEEP_BATCH)).await?;
            total += n;
            if (n as i64) < SWEEP_BATCH {
                break;
            }
        }
        if total > 0 {
            metrics::counter!("notifications_swept_total").increment(total as u64);
            tracing::info!(deleted = total, "old notifications deleted");
        }
        Ok(total)
    }
}

fn enqueue_delivery(
    outbox: &Outbox,
    conn: &mut DbConn,
    notification_id: i64,
    revision: i64,
    event_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let delivery = Delivery { notification_id, revision, event_at };
    outbox.enqueue(conn, now, DELIVER_TOPIC, &delivery, Some(&format!("deliver:{notification_id}:{revision}")))
}

/// Subscribed (in `app`) to every topic of `contracts::events::NOTIFIED_TOPICS`.
pub struct EventSubscriber {
    notify: Arc<Notify>,
}

impl EventSubscriber {
    pub fn new(notify: Arc<Notify>) -> Self {
        EventSubscriber { notify }
    }
}

#[async_trait]
impl OutboxHandler for EventSubscriber {
    async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        self.notify.handle_event(message).await
    }
}

/// The handler of [`DELIVER_TOPIC`] on notify's own outbox.
pub struct DeliveryHandler {
    notify: Arc<Notify>,
}

impl DeliveryHandler {
    pub fn new(notify: Arc<Notify>) -> Self {
        DeliveryHandler { notify }
    }
}

#[async_trait]
impl OutboxHandler for DeliveryHandler {
    async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let d: Delivery = message.decode()?;
        self.notify.deliver(d.notification_id, d.revision, d.event_at).await
    }
}
