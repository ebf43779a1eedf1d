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

use serde::Serialize;

/// A fact one module announces.
pub trait Event: Serialize {
    /// `"{module}.{event}"`.
    fn topic(&self) -> &'static str;
    /// Unique per occurrence; publishing twice under one key stores the event once.
    fn dedupe_key(&self) -> String;
}

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
