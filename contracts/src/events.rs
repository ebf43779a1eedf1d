//! Events modules announce about themselves, for other modules to react to (notifications,
//! caches, moderation) without reading each other's tables.
//!
//! A module publishes an event by writing it to its own outbox in the transaction that made
//! it true (`platform::outbox::Outbox::publish`); `app` subscribes other modules' handlers
//! to its topics. The payload types live here, so that a subscriber decodes them without
//! depending on the publishing crate.
//!
//! Conventions:
//! - the topic is `"{module}.{event}"`, e.g. `order.order_shipped`;
//! - the dedupe key names the event uniquely (`order_shipped:7:3` for order 7, line item 3):
//!   a second publish of the same key is ignored, and subscribers key their own effects on
//!   it (one notification per event and recipient), so a redelivered event changes nothing;
//! - payloads carry what subscribers need to act without calling back (ids, the parties,
//!   amounts, names as they were), and only grow: fields are added, never renamed.

use serde::{Deserialize, Serialize};

/// A fact one module announces.
pub trait Event: Serialize {
    /// `"{module}.{event}"`.
    fn topic(&self) -> &'static str;
    /// Unique per occurrence; publishing twice under one key stores the event once.
    fn dedupe_key(&self) -> String;
}

/// Declares an event type's topic and dedupe key in one line each.
macro_rules! event {
    ($ty:ty, $topic:expr, |$s:ident| $key:expr) => {
        impl Event for $ty {
            fn topic(&self) -> &'static str {
                $topic
            }
            fn dedupe_key(&self) -> String {
                let $s = self;
                $key
            }
        }
    };
}

// ---------------------------------------------------------------------------------------
// mission

/// A mission became open (its stake moved). Published by `mission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionCreated {
    pub mission_id: i64,
    pub creator_id: i64,
    pub streamer_id: i64,
    pub title: String,
    pub stake: i64,
}
event!(MissionCreated, "mission.mission_created", |e| format!("mission_created:{}", e.mission_id));

/// A contribution's points reached the mission's escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionContributed {
    pub mission_id: i64,
    pub contribution_id: i64,
    pub account_id: i64,
    pub streamer_id: i64,
    pub title: String,
    pub amount: i64,
}
event!(MissionContributed, "mission.mission_contribution", |e| format!("mission_contribution:{}", e.contribution_id));

/// A mission was settled; one event per contributor, with what came back to them.
/// `status` is `succeeded`, `failed`, `rejected` or `expired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionSettled {
    pub mission_id: i64,
    pub account_id: i64,
    pub streamer_id: i64,
    pub title: String,
    pub status: String,
    /// What this contributor put in.
    pub contributed: i64,
    /// What went back to their wallet (0 when the mission succeeded).
    pub refunded: i64,
    /// The whole pool (paid to the streamer when the mission succeeded).
    pub pool: i64,
}
event!(MissionSettled, "mission.mission_settled", |e| format!("mission_settled:{}:{}", e.mission_id, e.account_id));

// ---------------------------------------------------------------------------------------
// chat

/// A message was stored in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessagePosted {
    pub message_id: i64,
    pub room_id: i64,
    pub sender_id: i64,
    /// The room's name (None for direct rooms).
    pub room_name: Option<String>,
    /// The first characters of the body.
    pub preview: String,
    /// The room's members when the message was stored (the sender included).
    pub members: Vec<i64>,
}
event!(ChatMessagePosted, "chat.message_posted", |e| format!("chat_message:{}", e.message_id));

// ---------------------------------------------------------------------------------------
// order (published by the order lifecycle; the shapes subscribers rely on)

/// Who made an order transition happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Buyer,
    Seller,
    Admin,
    System,
}

/// A checkout succeeded: one event per order, naming every seller with lines in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: i64,
    pub buyer_id: i64,
    pub seller_ids: Vec<i64>,
    pub total: i64,
}
event!(OrderPlaced, "order.order_placed", |e| format!("order_placed:{}", e.order_id));

/// A transition of some lines of one seller in one order (ship, cancel, refund, return
/// requested / rejected, confirm). `transition` tells the dedupe key apart when the same
/// lines move twice (a request of the transition is one event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLinesChanged {
    pub order_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub item_ids: Vec<i64>,
    pub actor: Actor,
    /// Points involved: refunded to the buyer, or (`sale_confirmed`) the seller's net.
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

/// The order topics, `order.{kind}`, each carrying [`OrderLinesChanged`].
pub const ORDER_LINE_TOPICS: [&str; 6] = [
    "order.order_cancelled",
    "order.order_shipped",
    "order.order_refunded",
    "order.return_requested",
    "order.return_rejected",
    "order.sale_confirmed",
];

/// An [`OrderLinesChanged`] under one of [`ORDER_LINE_TOPICS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderEvent {
    #[serde(skip)]
    pub topic: &'static str,
    #[serde(flatten)]
    pub change: OrderLinesChanged,
}

impl Event for OrderEvent {
    fn topic(&self) -> &'static str {
        self.topic
    }
    fn dedupe_key(&self) -> String {
        let mut items = self.change.item_ids.clone();
        items.sort_unstable();
        let items: Vec<String> = items.iter().map(i64::to_string).collect();
        let kind = self.topic.trim_start_matches("order.");
        format!("{kind}:{}:{}:{}", self.change.order_id, self.change.seller_id, items.join(","))
    }
}

// ---------------------------------------------------------------------------------------
// payment (published by the payment module; the shapes subscribers rely on)

/// A charge was credited (`payment.charge_confirmed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeConfirmed {
    pub charge_id: i64,
    pub account_id: i64,
    pub amount: i64,
}
event!(ChargeConfirmed, "payment.charge_confirmed", |e| format!("charge_confirmed:{}", e.charge_id));

/// Points of a charge went back to the card (`payment.charge_refunded`); `refund_key`
/// names this refund (a charge may be refunded in parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRefunded {
    pub charge_id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub refund_key: String,
}
event!(ChargeRefunded, "payment.charge_refunded", |e| format!("charge_refunded:{}:{}", e.charge_id, e.refund_key));

/// A payout ended: `payment.payout_paid` or `payment.payout_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutFinished {
    pub payout_id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub paid: bool,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

impl Event for PayoutFinished {
    fn topic(&self) -> &'static str {
        if self.paid { "payment.payout_paid" } else { "payment.payout_failed" }
    }
    fn dedupe_key(&self) -> String {
        format!("payout_finished:{}", self.payout_id)
    }
}

/// Every topic the notification module subscribes to, in one place.
pub const NOTIFIED_TOPICS: [&str; 15] = [
    "mission.mission_created",
    "mission.mission_contribution",
    "mission.mission_settled",
    "chat.message_posted",
    "order.order_placed",
    "order.order_cancelled",
    "order.order_shipped",
    "order.order_refunded",
    "order.return_requested",
    "order.return_rejected",
    "order.sale_confirmed",
    "payment.charge_confirmed",
    "payment.charge_refunded",
    "payment.payout_paid",
    "payment.payout_failed",
];
