//! Notifications: every account's inbox (unread counts, read marks, muted kinds), written
//! by handlers subscribed to other modules' outbox events, delivered live as a
//! `notification` frame on the account's chat sockets (any instance, through the chat
//! module's `LiveSockets`) and pushed through FCM when configured.
//!
//! - Tables (`migrations/notify/`): `notifications` (unique per account and dedupe key),
//!   `notification_preferences`, `notification_devices`, `notify_outbox` (deliveries).
//! - Endpoints: `/api/v1/notifications…` ([`http::configure`]).
//! - Workers, started by `app`: [`EventSubscriber`] on every module dispatcher for the
//!   topics of `contracts::events::NOTIFIED_TOPICS`; [`DeliveryHandler`] for
//!   [`DELIVER_TOPIC`] on notify's own dispatcher; the retention sweep ([`Notify::sweep`]).
//! - Never: read another module's tables (events carry what a notification needs), store
//!   an event's notification twice for one recipient, or lose one whose event committed.

mod error;
pub mod events;
pub mod http;
mod model;
pub mod push;
mod repo;
mod schema;
mod service;
mod settings;

pub use error::NotifyError;
pub use model::{Kind, NewNotification, Notification};
pub use push::{FcmSender, FcmSettings, PushMessage, PushOutcome, PushSender};
pub use service::{DELIVER_TOPIC, DeliveryHandler, Device, EventSubscriber, Notify, OUTBOX_TABLE};
pub use settings::NotifySettings;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "notify",
    sqlite: embed_migrations!("../migrations/notify/sqlite"),
    mysql: embed_migrations!("../migrations/notify/mysql"),
    outbox: Some(OUTBOX_TABLE),
};
