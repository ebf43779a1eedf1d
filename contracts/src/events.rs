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
