//! Notification kinds and the notification as clients see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every kind API.md lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OrderPlaced,
    OrderCancelled,
    OrderShipped,
    OrderRefunded,
    ReturnRequested,
    ReturnRejected,
    SaleConfirmed,
    ChargeConfirmed,
    ChargeRefunded,
    PayoutPaid,
    PayoutFailed,
    MissionCreated,
    MissionContribution,
    MissionDecided,
    MissionExpired,
    ChatMessage,
    ReportResolved,
    AccountSuspended,
}

impl Kind {
    pub const ALL: [Kind; 18] = [
        Kind::OrderPlaced,
        Kind::OrderCancelled,
        Kind::OrderShipped,
        Kind::OrderRefunded,
        Kind::ReturnRequested,
        Kind::ReturnRejected,
        Kind::SaleConfirmed,
        Kind::ChargeConfirmed,
        Kind::ChargeRefunded,
        Kind::PayoutPaid,
        Kind::PayoutFailed,
        Kind::MissionCreated,
        Kind::MissionContribution,
        Kind::MissionDecided,
        Kind::MissionExpired,
        Kind::ChatMessage,
        Kind::ReportResolved,
        Kind::AccountSuspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrderPlaced => "order_placed",
            Kind::OrderCancelled => "order_cancelled",
            Kind::OrderShipped => "order_shipped",
            Kind::OrderRefunded => "order_refunded",
            Kind::ReturnRequested => "return_requested",
            Kind::ReturnRejected => "return_rejected",
            Kind::SaleConfirmed => "sale_confirmed",
            Kind::ChargeConfirmed => "charge_confirmed",
            Kind::ChargeRefunded => "charge_refunded",
            Kind::PayoutPaid => "payout_paid",
            Kind::PayoutFailed => "payout_failed",
            Kind::MissionCreated => "mission_created",
            Kind::MissionContribution => "mission_contribution",
            Kind::MissionDecided => "mission_decided",
            Kind::MissionExpired => "mission_expired",
            Kind::ChatMessage => "chat_message",
            Kind::ReportResolved => "report_resolved",
            Kind::AccountSuspended => "account_suspended",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// A notification in an inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    /// One of the kinds API.md lists (`order_placed`, `chat_message`, …).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The web app path that shows the subject (`/orders/7`, `/chat/3`).
    pub link: String,
    /// Kind-specific ids and amounts (`order_id`, `refunded`, `room_id`, …).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

/// A notification to store for one recipient: `dedupe_key` names the event (unique per
/// recipient), so storing it twice stores it once.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub account_id: i64,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub link: String,
    pub data: serde_json::Value,
    pub dedupe_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names_and_serde() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert_eq!(Kind::parse("nope"), None);
    }
}
