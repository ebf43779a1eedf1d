//! Events of the order module (topics `order.*`), published to its outbox in the
//! transaction of each transition. Subscribers (notifications) decode these types.
//!
//! One event per order line and transition, except [`OrderPlaced`] (one per order). A line
//! carries a `version` that grows with every transition, so a line that is returned,
//! rejected and returned again announces each occurrence under its own dedupe key.

use crate::events::Event;
use serde::{Deserialize, Serialize};

pub const ORDER_PLACED: &str = "order.order_placed";
pub const ORDER_CANCELLED: &str = "order.order_cancelled";
pub const ORDER_SHIPPED: &str = "order.order_shipped";
pub const RETURN_REQUESTED: &str = "order.return_requested";
pub const RETURN_REJECTED: &str = "order.return_rejected";
pub const ORDER_REFUNDED: &str = "order.order_refunded";
pub const SALE_CONFIRMED: &str = "order.sale_confirmed";

/// Every topic the order module publishes.
pub const TOPICS: [&str; 7] =
    [ORDER_PLACED, ORDER_CANCELLED, ORDER_SHIPPED, RETURN_REQUESTED, RETURN_REJECTED, ORDER_REFUNDED, SALE_CONFIRMED];

/// Who made a transition happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderActor {
    Buyer,
    Seller,
    Admin,
    /// The auto-confirmation worker.
    System,
}

/// The order line an event is about, as it was at the transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRef {
    pub order_id: i64,
    pub item_id: i64,
    pub product_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub product_name: String,
    pub item_name: String,
    pub quantity: i64,
    pub line_total: i64,
    /// The line's transition count after this transition.
    pub version: i64,
}

impl LineRef {
    fn key(&self, event: &str) -> String {
        format!("{event}:{}:{}:v{}", self.order_id, self.item_id, self.version)
    }
}

/// A line for tests that need one: 1 Blue Mug of product 4, item 3 of order 7 (buyer 1, seller
/// 2), at its first transition.
#[cfg(any(test, feature = "testkit"))]
pub fn sample_line() -> LineRef {
    LineRef {
        order_id: 7,
        item_id: 3,
        product_id: 4,
        buyer_id: 1,
        seller_id: 2,
        product_name: "Mug".into(),
        item_name: "Blue".into(),
        quantity: 1,
        line_total: 900,
        version: 1,
    }
}

/// A checkout completed: the buyer paid into escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: i64,
    pub buyer_id: i64,
    pub total: i64,
    /// The sellers with lines in the order (ascending, no duplicates).
    pub seller_ids: Vec<i64>,
    pub lines: Vec<LineRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub line: LineRef,
    pub by: OrderActor,
    pub reason: Option<String>,
    /// Returned to the buyer (`line_total`).
    pub refunded: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderShipped {
    pub line: LineRef,
    pub carrier: String,
    pub tracking_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequested {
    pub line: LineRef,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRejected {
    pub line: LineRef,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefunded {
    pub line: LineRef,
    /// `seller` (accepted return) or `admin`.
    pub by: OrderActor,
    pub reason: Option<String>,
    pub restocked: bool,
    pub refunded: i64,
}

/// A line was confirmed: the seller is paid `net`, the platform `fee`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleConfirmed {
    pub line: LineRef,
    /// `buyer`, or `system` for auto-confirmation.
    pub by: OrderActor,
    pub fee: i64,
    pub net: i64,
}

impl Event for OrderPlaced {
    fn topic(&self) -> &'static str {
        ORDER_PLACED
    }
    fn dedupe_key(&self) -> String {
        format!("order_placed:{}", self.order_id)
    }
}

macro_rules! line_event {
    ($ty:ty, $topic:expr, $name:literal) => {
        impl Event for $ty {
            fn topic(&self) -> &'static str {
                $topic
            }
            fn dedupe_key(&self) -> String {
                self.line.key($name)
            }
        }
    };
}

line_event!(OrderCancelled, ORDER_CANCELLED, "order_cancelled");
line_event!(OrderShipped, ORDER_SHIPPED, "order_shipped");
line_event!(ReturnRequested, RETURN_REQUESTED, "return_requested");
line_event!(ReturnRejected, RETURN_REJECTED, "return_rejected");
line_event!(OrderRefunded, ORDER_REFUNDED, "order_refunded");
line_event!(SaleConfirmed, SALE_CONFIRMED, "sale_confirmed");

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> LineRef {
        LineRef { version: 2, ..sample_line() }
    }

    #[test]
    fn topics_are_module_dot_event_and_keys_name_the_occurrence() {
        let shipped = OrderShipped { line: line(), carrier: "CJ".into(), tracking_number: "1".into() };
        assert_eq!((shipped.topic(), shipped.dedupe_key().as_str()), ("order.order_shipped", "order_shipped:7:3:v2"));
        let rejected = ReturnRejected { line: LineRef { version: 4, ..line() }, reason: "no".into() };
        assert_eq!(rejected.dedupe_key(), "return_rejected:7:3:v4");
        for topic in TOPICS {
            assert!(topic.starts_with("order.") && topic.len() > 6);
        }
    }
}
