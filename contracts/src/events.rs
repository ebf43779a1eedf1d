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

/// Payment events (`payment.*`), published by the `payment` module's outbox. Each maps to a
/// notification kind of the same name (API.md, "Notifications").
pub mod payment {
    use super::Event;
    use serde::{Deserialize, Serialize};

    /// Points were credited for a charge (`charge_confirmed`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ChargeConfirmed {
        pub charge_id: i64,
        pub account_id: i64,
        pub amount: i64,
    }

    impl Event for ChargeConfirmed {
        fn topic(&self) -> &'static str {
            "payment.charge_confirmed"
        }
        fn dedupe_key(&self) -> String {
            format!("charge_confirmed:{}", self.charge_id)
        }
    }

    /// Points of a charge went back to the card, or were taken back after the payment was
    /// cancelled at the gateway (`source: "gateway"`) (`charge_refunded`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ChargeRefunded {
        pub charge_id: i64,
        pub refund_id: i64,
        pub account_id: i64,
        pub amount: i64,
        /// `client` or `gateway`.
        pub source: String,
    }

    impl Event for ChargeRefunded {
        fn topic(&self) -> &'static str {
            "payment.charge_refunded"
        }
        fn dedupe_key(&self) -> String {
            format!("charge_refunded:{}", self.refund_id)
        }
    }

    /// A payout reached the bank account (`payout_paid`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PayoutPaid {
        pub payout_id: i64,
        pub account_id: i64,
        pub amount: i64,
    }

    impl Event for PayoutPaid {
        fn topic(&self) -> &'static str {
            "payment.payout_paid"
        }
        fn dedupe_key(&self) -> String {
            format!("payout_paid:{}", self.payout_id)
        }
    }

    /// A payout failed; its points are back in the wallet (`payout_failed`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PayoutFailed {
        pub payout_id: i64,
        pub account_id: i64,
        pub amount: i64,
        pub reason: String,
    }

    impl Event for PayoutFailed {
        fn topic(&self) -> &'static str {
            "payment.payout_failed"
        }
        fn dedupe_key(&self) -> String {
            format!("payout_failed:{}", self.payout_id)
        }
    }

    /// Every topic above, for `Dispatcher::declare_events`.
    pub const TOPICS: [&str; 4] =
        ["payment.charge_confirmed", "payment.charge_refunded", "payment.payout_paid", "payment.payout_failed"];
}

/// `account.account_suspended`: an operator suspended an account (directly, or by resolving
/// a report with `suspend`). Its sessions are already revoked when this is published.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct AccountSuspended {
    pub account_id: i64,
    pub reason: String,
    /// `None`: until reinstated.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub suspended_at: chrono::DateTime<chrono::Utc>,
}

impl Event for AccountSuspended {
    fn topic(&self) -> &'static str {
        ACCOUNT_SUSPENDED
    }
    fn dedupe_key(&self) -> String {
        format!("account_suspended:{}:{}", self.account_id, self.suspended_at.timestamp_micros())
    }
}

pub const ACCOUNT_SUSPENDED: &str = "account.account_suspended";

/// `account.account_reinstated`: an operator lifted an account's suspension.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct AccountReinstated {
    pub account_id: i64,
    pub reinstated_at: chrono::DateTime<chrono::Utc>,
}

impl Event for AccountReinstated {
    fn topic(&self) -> &'static str {
        ACCOUNT_REINSTATED
    }
    fn dedupe_key(&self) -> String {
        format!("account_reinstated:{}:{}", self.account_id, self.reinstated_at.timestamp_micros())
    }
}

pub const ACCOUNT_REINSTATED: &str = "account.account_reinstated";

/// `moderation.report_resolved`: an operator resolved a report; one event per report (each
/// reporter hears of their own).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct ReportResolved {
    pub report_id: i64,
    pub reporter_id: i64,
    pub target_type: String,
    pub target_id: i64,
    /// `dismiss`, `hide` or `suspend`.
    pub action: String,
    pub resolved_at: chrono::DateTime<chrono::Utc>,
}

impl Event for ReportResolved {
    fn topic(&self) -> &'static str {
        REPORT_RESOLVED
    }
    fn dedupe_key(&self) -> String {
        format!("report_resolved:{}", self.report_id)
    }
}

pub const REPORT_RESOLVED: &str = "moderation.report_resolved";

/// Every topic the notification module subscribes to, in one place (the events' own
/// constants: order in `contracts::order`, payment in [`payment`], account and moderation
/// below).
pub const NOTIFIED_TOPICS: [&str; 17] = [
    "mission.mission_created",
    "mission.mission_contribution",
    "mission.mission_settled",
    "chat.message_posted",
    crate::order::ORDER_PLACED,
    crate::order::ORDER_CANCELLED,
    crate::order::ORDER_SHIPPED,
    crate::order::ORDER_REFUNDED,
    crate::order::RETURN_REQUESTED,
    crate::order::RETURN_REJECTED,
    crate::order::SALE_CONFIRMED,
    "payment.charge_confirmed",
    "payment.charge_refunded",
    "payment.payout_paid",
    "payment.payout_failed",
    ACCOUNT_SUSPENDED,
    REPORT_RESOLVED,
];
