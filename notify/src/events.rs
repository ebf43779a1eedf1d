//! What each subscribed event means for whom: a pure mapping from an outbox event (topic +
//! payload, see `contracts::events`) to the notifications it creates, one per recipient,
//! each keyed by the event's dedupe key. Chat messages are the exception (one notification
//! per room, updated in place): see `Notify::chat_message`.

use crate::model::{Kind, NewNotification};
use contracts::events::{
    Actor, ChargeConfirmed, ChargeRefunded, MissionContributed, MissionCreated, MissionSettled, OrderLinesChanged,
    OrderPlaced, PayoutFinished,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn decode<T: DeserializeOwned>(topic: &str, payload: &Value) -> anyhow::Result<T> {
    serde_json::from_value(payload.clone()).map_err(|e| anyhow::anyhow!("{topic} payload does not decode: {e}"))
}

fn points(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out} P") } else { format!("{out} P") }
}

fn note(
    account_id: i64,
    kind: Kind,
    key: &str,
    title: impl Into<String>,
    body: impl Into<String>,
    link: String,
    data: Value,
) -> NewNotification {
    NewNotification {
        account_id,
        kind,
        title: title.into(),
        body: body.into(),
        link,
        data,
        dedupe_key: key.to_string(),
    }
}

fn items_text(items: &[i64]) -> String {
    match items.len() {
        1 => "1 item".to_string(),
        n => format!("{n} items"),
    }
}

/// The notifications an event creates; `Ok(vec![])` for events that notify nobody.
/// `dedupe_key` is the outbox row's (the event's) key.
pub fn notifications_for(topic: &str, payload: &Value, dedupe_key: &str) -> anyhow::Result<Vec<NewNotification>> {
    let key = dedupe_key;
    Ok(match topic {
        "mission.mission_created" => {
            let e: MissionCreated = decode(topic, payload)?;
            vec![note(
                e.streamer_id,
                Kind::MissionCreated,
                key,
                "New mission for you",
                format!("“{}” with {} at stake.", e.title, points(e.stake)),
                format!("/missions/{}", e.mission_id),
                json!({"mission_id": e.mission_id, "creator_id": e.creator_id, "stake": e.stake}),
            )]
        }
        "mission.mission_contribution" => {
            let e: MissionContributed = decode(topic, payload)?;
            vec![note(
                e.streamer_id,
                Kind::MissionContribution,
                key,
                "New contribution",
                format!("{} added to “{}”.", points(e.amount), e.title),
                format!("/missions/{}", e.mission_id),
                json!({"mission_id": e.mission_id, "contribution_id": e.contribution_id,
                       "account_id": e.account_id, "amount": e.amount}),
            )]
        }
        "mission.mission_settled" => {
            let e: MissionSettled = decode(topic, payload)?;
            let (kind, title, body) = match e.status.as_str() {
                "expired" => (
                    Kind::MissionExpired,
                    "Mission expired",
                    format!("“{}” expired before a decision: {} refunded.", e.title, points(e.refunded)),
                ),
                "succeeded" => (
                    Kind::MissionDecided,
                    "Mission succeeded",
                    format!("“{}” succeeded: the {} pool went to the streamer.", e.title, points(e.pool)),
                ),
                "rejected" => (
                    Kind::MissionDecided,
                    "Mission rejected",
                    format!("The streamer rejected “{}”: {} refunded.", e.title, points(e.refunded)),
                ),
                _ => (
                    Kind::MissionDecided,
                    "Mission failed",
                    format!("“{}” failed: {} refunded.", e.title, points(e.refunded)),
                ),
            };
            vec![note(
                e.account_id,
                kind,
                key,
                title,
                body,
                format!("/missions/{}", e.mission_id),
                json!({"mission_id": e.mission_id, "status": e.status, "contributed": e.contributed,
                       "refunded": e.refunded, "payout": if e.status == "succeeded" { e.pool } else { 0 },
                       "pool": e.pool}),
            )]
        }
        "order.order_placed" => {
            let e: OrderPlaced = decode(topic, payload)?;
            let mut sellers = e.seller_ids.clone();
            sellers.sort_unstable();
            sellers.dedup();
            sellers
                .into_iter()
                .map(|seller| {
                    note(
                        seller,
                        Kind::OrderPlaced,
                        key,
                        "New order",
                        format!("Order #{} is waiting to be shipped.", e.order_id),
                        format!("/seller/orders/{}", e.order_id),
                        json!({"order_id": e.order_id, "buyer_id": e.buyer_id}),
                    )
                })
                .collect()
        }
        "order.order_cancelled" => {
            let e: OrderLinesChanged = decode(topic, payload)?;
            let data = order_data(&e);
            let to_seller = note(
                e.seller_id,
                Kind::OrderCancelled,
                key,
                "Order cancelled",
                format!("The buyer cancelled {} of order #{}.", items_text(&e.item_ids), e.order_id),
                format!("/seller/orders/{}", e.order_id),
                data.clone(),
            );
            let to_buyer = note(
                e.buyer_id,
                Kind::OrderCancelled,
                key,
                "Order cancelled",
                format!("{} of order #{} {} cancelled.", items_text(&e.item_ids), e.order_id, was(&e.item_ids)),
                format!("/orders/{}", e.order_id),
                data,
            );
            match e.actor {
                Actor::Buyer => vec![to_seller],
                Actor::Seller => vec![to_buyer],
                Actor::Admin | Actor::System => vec![to_buyer, to_seller],
            }
        }
        "order.order_shipped" => {
            let e: OrderLinesChanged = decode(topic, payload)?;
            let carrier = match (&e.carrier, &e.tracking_number) {
                (Some(c), Some(t)) => format!(" with {c} ({t})"),
                _ => String::new(),
            };
            vec![note(
                e.buyer_id,
                Kind::OrderShipped,
                key,
                "Order shipped",
                format!("{} of order #{} shipped{carrier}.", items_text(&e.item_ids), e.order_id),
                format!("/orders/{}", e.order_id),
                order_data(&e),
            )]
        }
        "order.order_refunded" => {
            let e: OrderLinesChanged = decode(topic, payload)?;
            vec![note(
                e.buyer_id,
                Kind::OrderRefunded,
                key,
                "Order refunded",
                format!("{} back to your wallet for order #{}.", points(e.amount), e.order_id),
                format!("/orders/{}", e.order_id),
                order_data(&e),
            )]
        }
        "order.return_requested" => {
            let e: OrderLinesChanged = decode(topic, payload)?;
            vec![note(
                e.seller_id,
                Kind::ReturnRequested,
                key,
                "Return requested",
                format!("The buyer wants to return {} of order #{}.", items_text(&e.item_ids), e.order_id),
                format!("/seller/orders/{}", e.order_id),
                order_data(&e),
            )]
        }
        "order.return_rejected" => {
            let e: OrderLinesChanged = decode(topic, payload)?;
            vec![note(
                e.buyer_id,
                Kind::ReturnRejected,
                key,
                "Return rejected",
                format!("The seller rejected the return of {} of order #{}.", items_text(&e.item_ids), e.order_id),
                format!("/orders/{}", e.order_id),
                order_data(&e),
            )]
        }
        "order.sale_confirmed" => {
            let e: OrderLinesChanged = decode(topic, payload)?;
            vec![note(
                e.seller_id,
                Kind::SaleConfirmed,
                key,
                "Sale confirmed",
                format!("{} released to your wallet for order #{}.", points(e.amount), e.order_id),
                format!("/seller/orders/{}", e.order_id),
                order_data(&e),
            )]
        }
        "payment.charge_confirmed" => {
            let e: ChargeConfirmed = decode(topic, payload)?;
            vec![note(
                e.account_id,
                Kind::ChargeConfirmed,
                key,
                "Points charged",
                format!("{} added to your wallet.", points(e.amount)),
                "/wallet".to_string(),
                json!({"charge_id": e.charge_id, "amount": e.amount}),
            )]
        }
        "payment.charge_refunded" => {
            let e: ChargeRefunded = decode(topic, payload)?;
            vec![note(
                e.account_id,
                Kind::ChargeRefunded,
                key,
                "Charge refunded",
                format!("{} went back to your card.", points(e.amount)),
                "/wallet".to_string(),
                json!({"charge_id": e.charge_id, "amount": e.amount}),
            )]
        }
        "payment.payout_paid" | "payment.payout_failed" => {
            let e: PayoutFinished = decode(topic, payload)?;
            let (kind, title, body) = if e.paid {
                (Kind::PayoutPaid, "Payout sent", format!("{} sent to your bank account.", points(e.amount)))
            } else {
                (
                    Kind::PayoutFailed,
                    "Payout failed",
                    format!("{} could not be sent and are back in your wallet.", points(e.amount)),
                )
            };
            vec![note(
                e.account_id,
                kind,
                key,
                title,
                body,
                "/wallet".to_string(),
                json!({"payout_id": e.payout_id, "amount": e.amount, "failure_reason": e.failure_reason}),
            )]
        }
        _ => Vec::new(),
    })
}

fn was(items: &[i64]) -> &'static str {
    if items.len() == 1 { "was" } else { "were" }
}

fn order_data(e: &OrderLinesChanged) -> Value {
    json!({"order_id": e.order_id, "item_ids": e.item_ids, "buyer_id": e.buyer_id, "seller_id": e.seller_id,
           "amount": e.amount, "reason": e.reason, "carrier": e.carrier, "tracking_number": e.tracking_number})
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::events::{Event, NOTIFIED_TOPICS, OrderEvent};

    fn change(actor: Actor) -> OrderLinesChanged {
        OrderLinesChanged {
            order_id: 7,
            buyer_id: 1,
            seller_id: 2,
            item_ids: vec![3],
            actor,
            amount: 900,
            reason: None,
            carrier: Some("CJ".into()),
            tracking_number: Some("123".into()),
        }
    }

    fn map(event: &impl Event) -> Vec<NewNotification> {
        notifications_for(event.topic(), &serde_json::to_value(event).unwrap(), &event.dedupe_key()).unwrap()
    }

    #[test]
    fn order_events_reach_the_party_api_md_names_with_a_web_app_link() {
        let placed = OrderPlaced { order_id: 7, buyer_id: 1, seller_ids: vec![2, 5, 2], total: 100 };
        let notes = map(&placed);
        assert_eq!(notes.iter().map(|n| n.account_id).collect::<Vec<_>>(), vec![2, 5], "each seller once");
        assert!(notes.iter().all(|n| n.link == "/seller/orders/7" && n.kind == Kind::OrderPlaced));

        let shipped = OrderEvent { topic: "order.order_shipped", change: change(Actor::Seller) };
        let notes = map(&shipped);
        assert_eq!((notes[0].account_id, notes[0].kind, notes[0].link.as_str()), (1, Kind::OrderShipped, "/orders/7"));
        assert!(notes[0].body.contains("CJ (123)"));

        let by_buyer = map(&OrderEvent { topic: "order.order_cancelled", change: change(Actor::Buyer) });
        assert_eq!(by_buyer.iter().map(|n| n.account_id).collect::<Vec<_>>(), vec![2], "the other party");
        let by_seller = map(&OrderEvent { topic: "order.order_cancelled", change: change(Actor::Seller) });
        assert_eq!(by_seller.iter().map(|n| n.account_id).collect::<Vec<_>>(), vec![1]);

        for (topic, to, kind) in [
            ("order.order_refunded", 1, Kind::OrderRefunded),
            ("order.return_requested", 2, Kind::ReturnRequested),
            ("order.return_rejected", 1, Kind::ReturnRejected),
            ("order.sale_confirmed", 2, Kind::SaleConfirmed),
        ] {
            let notes = map(&OrderEvent { topic, change: change(Actor::Buyer) });
            assert_eq!((notes.len(), notes[0].account_id, notes[0].kind), (1, to, kind), "{topic}");
        }
    }

    #[test]
    fn mission_settlement_tells_each_contributor_their_refund() {
        let settled = MissionSettled {
            mission_id: 4,
            account_id: 9,
            streamer_id: 3,
            title: "t".into(),
            status: "failed".into(),
            contributed: 1500,
            refunded: 1500,
            pool: 4000,
        };
        let notes = map(&settled);
        assert_eq!((notes[0].account_id, notes[0].kind), (9, Kind::MissionDecided));
        assert_eq!(notes[0].data["refunded"], 1500);
        assert!(notes[0].body.contains("1,500 P"), "{}", notes[0].body);
        let expired = map(&MissionSettled { status: "expired".into(), ..settled });
        assert_eq!(expired[0].kind, Kind::MissionExpired);
    }

    #[test]
    fn payment_events_and_every_subscribed_topic_decode() {
        let paid = PayoutFinished { payout_id: 1, account_id: 2, amount: 10_000, paid: true, failure_reason: None };
        assert_eq!(map(&paid)[0].kind, Kind::PayoutPaid);
        let failed = PayoutFinished { paid: false, ..paid };
        assert_eq!((failed.topic(), map(&failed)[0].kind), ("payment.payout_failed", Kind::PayoutFailed));
        assert_eq!(points(-1_234_567), "-1,234,567 P");
        // A payload that does not decode is an error (the row retries, then parks), never silence.
        for topic in NOTIFIED_TOPICS.iter().filter(|t| **t != "chat.message_posted") {
            assert!(notifications_for(topic, &json!({}), "k").is_err(), "{topic}");
        }
    }
}
