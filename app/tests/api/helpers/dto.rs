//! What the API answers, as a client reads it from docs/api.md. Answers a crate already types
//! (catalog products and items, the cart, orders, missions and their contributions,
//! notifications, ad slots, reports) are read into the server's own types, so a test compares
//! a status with the crate's enum (`LineStatus::Paid`) and the OpenAPI snapshot guards the
//! shape. The rest are written here, so a change to the contract shows up as a change to these
//! types: each refuses fields it does not list and tells a `null` from an absent key, so
//! comparing two of them compares everything the server sent. `Value` stays where JSON is
//! free-form by design (feed row data, selectors, templates) and where a test checks the raw
//! shape.

// The structs mirror the contract; not every test reads every field.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

type Time = DateTime<Utc>;

/// `value` as `T` (for tests that check the raw JSON and then read it typed).
pub fn parse<T: DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}: {value}", std::any::type_name::<T>()))
}

/// For fields the server always sends, `null` included: the key must be there (serde would
/// take a missing one for `None`), so comparing DTOs compares what the raw JSON would.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(deserializer)
}

/// For fields the server leaves out instead of sending `null`: `None` means absent, and a
/// `null` is refused, so `is_none()` checks what `get(..).is_none()` does on the raw JSON.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

// Lists.

/// A paged list: `?page=&size=`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub size: u32,
    pub total: i64,
}

/// A cursor list: `?before=&limit=`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor<T> {
    pub items: Vec<T>,
    #[serde(deserialize_with = "nullable")]
    pub next_before: Option<i64>,
}

/// A short unpaged list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Items<T> {
    pub items: Vec<T>,
}

// Errors.

/// `{"error": {"code", "message", "details"}}`, every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorInfo,
    /// Anything beside `error` (`/readyz` adds its `status` and `checks`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub details: ErrorDetails,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorDetails {
    /// `validation_failed`: the problem with each field.
    pub fields: Option<BTreeMap<String, String>>,
    /// `cart_changed`: what changed in the cart.
    pub messages: Option<Vec<String>>,
    /// `payment_refused`: the gateway's own code.
    pub gateway_code: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl ErrorBody {
    pub fn code(&self) -> &str {
        &self.error.code
    }

    /// The problem `validation_failed` names for `field`.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.error.details.fields.as_ref()?.get(field).map(String::as_str)
    }
}

// Operations.

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Readiness {
    pub status: String,
    pub checks: BTreeMap<String, String>,
}

// Accounts and auth.

/// An account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    #[serde(deserialize_with = "nullable")]
    pub phone: Option<String>,
    pub email_verified: bool,
    pub created_at: Time,
}

/// What anyone may see of an account (also a chat member).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: i64,
    pub name: String,
    pub role: String,
}

/// The answer to login and refresh.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub account: Account,
}

// Wallet.

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wallet {
    pub account_id: i64,
    pub balance: i64,
}

/// A ledger entry; `amount` is signed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: i64,
    pub amount: i64,
    pub balance_after: i64,
    pub kind: String,
    pub reference: String,
    pub created_at: Time,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub id: i64,
    pub amount: i64,
    pub status: String,
    pub balance: i64,
    pub gateway: String,
    pub order_id: String,
    pub order_name: String,
    #[serde(deserialize_with = "nullable")]
    pub failure_code: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub failure_message: Option<String>,
    pub created_at: Time,
    #[serde(deserialize_with = "nullable")]
    pub confirmed_at: Option<Time>,
    pub refunded_amount: i64,
    pub refunds: Vec<Refund>,
}

/// One refund of a charge.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    pub id: i64,
    pub amount: i64,
    pub status: String,
    pub source: String,
    pub created_at: Time,
}

/// A charge as operators see it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminCharge {
    pub id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub refunded_amount: i64,
    pub status: String,
    pub gateway: String,
    pub order_id: String,
    #[serde(deserialize_with = "nullable")]
    pub attention: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub failure_code: Option<String>,
    pub created_at: Time,
    #[serde(deserialize_with = "nullable")]
    pub confirmed_at: Option<Time>,
}

/// A payout: never the full account number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payout {
    pub id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub status: String,
    pub bank_code: String,
    pub account_number_masked: String,
    pub account_holder: String,
    pub created_at: Time,
    #[serde(deserialize_with = "nullable")]
    pub completed_at: Option<Time>,
    #[serde(deserialize_with = "nullable")]
    pub failure_reason: Option<String>,
}

// Catalog, cart and orders.

pub use order::catalog::model::Product;

/// For tests that name a product's items by their place in the listing.
pub trait ItemIds {
    /// The id of the item at `index` (in the order the seller listed them).
    fn item_id(&self, index: usize) -> i64;
}

impl ItemIds for Product {
    fn item_id(&self, index: usize) -> i64 {
        self.items[index].id
    }
}

/// Plain data with no optional fields: the order crate's own types read the same JSON.
pub use order::catalog::model::Item;

/// A search result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSummary {
    pub id: i64,
    pub seller_id: i64,
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub min_price: Option<i64>,
    pub in_stock: bool,
}

pub use order::cart::CartView as Cart;

pub use order::checkout::{LineStatus, Order, OrderLine, OrderStatus};

// Chat.

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    pub id: i64,
    #[serde(deserialize_with = "nullable")]
    pub name: Option<String>,
    pub direct: bool,
    pub members: Vec<Profile>,
    pub created_at: Time,
}

/// A room in the caller's room list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSummary {
    pub id: i64,
    #[serde(deserialize_with = "nullable")]
    pub name: Option<String>,
    pub direct: bool,
    pub members: Vec<Profile>,
    #[serde(deserialize_with = "nullable")]
    pub last_message: Option<Message>,
    pub unread_count: i64,
    pub last_activity_at: Time,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub id: i64,
    pub room_id: i64,
    pub sender_id: i64,
    pub body: String,
    pub created_at: Time,
    /// Hidden by moderation: `body` is `""`.
    pub hidden: bool,
}

/// A room's messages: `next_before` pages back, `next_after` forward (with `?after=`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagePage {
    pub items: Vec<Message>,
    #[serde(deserialize_with = "nullable")]
    pub next_before: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    pub next_after: Option<i64>,
}

/// A frame the server sends on `/chat/ws`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A new message in one of the user's rooms.
    Message {
        message: Message,
    },
    /// The sending socket's answer to its `send`.
    Ack {
        client_id: Value,
        message: Message,
    },
    Error {
        client_id: Value,
        code: String,
        message: String,
    },
    /// The server lost messages it could not deliver live: catch up over HTTP.
    Resync,
    /// A notification for the socket's account, with its unread count.
    Notification {
        notification: Notification,
        unread_count: i64,
    },
    /// Some of the account's notifications were marked read (another tab, say).
    NotificationsRead {
        unread_count: i64,
    },
    /// Moderation hid a message of one of the user's rooms.
    MessageHidden {
        room_id: i64,
        message_id: i64,
    },
}

impl ServerFrame {
    /// The frame's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerFrame::Message { .. } => "message",
            ServerFrame::Ack { .. } => "ack",
            ServerFrame::Error { .. } => "error",
            ServerFrame::Resync => "resync",
            ServerFrame::Notification { .. } => "notification",
            ServerFrame::NotificationsRead { .. } => "notifications_read",
            ServerFrame::MessageHidden { .. } => "message_hidden",
        }
    }

    /// The chat message a `message` or `ack` frame carries.
    pub fn message(&self) -> Option<&Message> {
        match self {
            ServerFrame::Message { message } | ServerFrame::Ack { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The body of the chat message a `message` or `ack` frame carries.
    pub fn body(&self) -> Option<&str> {
        self.message().map(|m| m.body.as_str())
    }

    pub fn client_id(&self) -> Option<&Value> {
        match self {
            ServerFrame::Ack { client_id, .. } | ServerFrame::Error { client_id, .. } => Some(client_id),
            _ => None,
        }
    }

    /// The error code of an `error` frame.
    pub fn code(&self) -> Option<&str> {
        match self {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        }
    }
}

// Notifications.

pub use notify::Notification;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnreadCount {
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub id: i64,
    pub platform: String,
    pub created_at: Time,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub muted_kinds: Vec<String>,
}

// Missions.

pub use mission::{Contribution, Mission, MissionStatus};

// Feed.

/// `GET /feed`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    pub rows: Vec<FeedRow>,
    /// `database`, `cache` or `backup`.
    pub source: String,
    pub generated_at: Time,
}

impl Feed {
    /// The rows' titles, in order.
    pub fn titles(&self) -> Vec<String> {
        self.rows.iter().map(|r| r.meta.title.clone()).collect()
    }

    pub fn row(&self, title: &str) -> &FeedRow {
        self.rows.iter().find(|r| r.meta.title == title).unwrap_or_else(|| panic!("no row {title}: {self:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedRow {
    pub row_id: i64,
    pub row_type: String,
    pub render_type: String,
    /// Each row type's own content.
    pub data: Value,
    pub meta: RowMeta,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowMeta {
    pub title: String,
    pub position: i64,
    #[serde(default, deserialize_with = "present")]
    pub expires_at: Option<Time>,
    /// Set when a provider the row needs failed.
    #[serde(default, deserialize_with = "present")]
    pub degraded: Option<bool>,
}

/// A row setting (admin).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowSetting {
    pub id: i64,
    pub row_provider_type: String,
    pub position: i64,
    pub enabled: bool,
    pub title: String,
    pub selector: Value,
    #[serde(deserialize_with = "nullable")]
    pub template: Option<Value>,
    #[serde(deserialize_with = "nullable")]
    pub ttl_seconds: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    pub starts_at: Option<Time>,
    #[serde(deserialize_with = "nullable")]
    pub ends_at: Option<Time>,
}

pub use feed::model::AdSlot;

pub use moderation::{AdminReport, Report};

/// The answer to suspend and reinstate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    pub id: i64,
    pub suspended: bool,
    #[serde(deserialize_with = "nullable")]
    pub suspended_until: Option<Time>,
    #[serde(deserialize_with = "nullable")]
    pub reason: Option<String>,
}

/// An account as operators see it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAccount {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub email_verified: bool,
    pub created_at: Time,
    pub suspended: bool,
    #[serde(deserialize_with = "nullable")]
    pub suspended_until: Option<Time>,
    #[serde(deserialize_with = "nullable")]
    pub suspension_reason: Option<String>,
}

/// An account the caller blocked in chat.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub created_at: Time,
}
