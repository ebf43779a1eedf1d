//! What each subscribed event means for whom: a pure mapping from an outbox event (topic +
//! payload, see `contracts::events`) to the notifications it creates, one per recipient,
//! each keyed by the event's dedupe key. Chat messages are the exception (one notification
//! per room, updated in place): see `Notify::chat_message`.

use crate::model::{Kind, NewNotification};
use contracts::common::points;
use contracts::events::payment::{ChargeConfirmed, ChargeRefunded, PayoutFailed, PayoutPaid};
use contracts::events::{
    ACCOUNT_SUSPENDED, AccountSuspended, MissionContributed, MissionCreated, MissionSettled, REPORT_RESOLVED,
    ReportResolved,
};
use contracts::order::{
    LineRef, ORDER_CANCELLED, ORDER_PLACED, ORDER_REFUNDED, ORDER_SHIPPED, OrderActor, OrderCancelled, OrderPlaced,
    OrderRefunded, OrderShipped, RETURN_REJECTED, RETURN_REQUESTED, ReturnRejected, ReturnRequested, SALE_CONFIRMED,
    SaleConfirmed,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn decode<T: DeserializeOwned>(topic: &str, payload: &Value) -> anyhow::Result<T> {
    serde_json::from_value(payload.clone()).map_err(|e| anyhow::anyhow!("{topic} payload does not decode: {e}"))
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
                json!({"mission_id": e.mission_id, "title": e.title, "creator_id": e.creator_id, "stake": e.stake}),
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
                json!({"mission_id": e.mission_id, "title": e.title, "contribution_id": e.contribution_id,
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
                json!({"mission_id": e.mission_id, "title": e.title, "status": e.status, "contributed": e.contributed,
                       "refunded": e.refunded, "payout": if e.status == "succeeded" { e.pool } else { 0 },
                       "pool": e.pool}),
            )]
        }
        ORDER_PLACED => {
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
        ORDER_CANCELLED => {
            let e: OrderCancelled = decode(topic, payload)?;
            let l = &e.line;
            let data = line_data(l, json!({"by": e.by, "reason": e.reason, "refunded": e.refunded}));
            let to_seller = note(
                l.seller_id,
                Kind::OrderCancelled,
                key,
                "Order cancelled",
                format!("The buyer cancelled {} of order #{}.", line_text(l), l.order_id),
                format!("/seller/orders/{}", l.order_id),
                data.clone(),
            );
            let to_buyer = note(
                l.buyer_id,
                Kind::OrderCancelled,
                key,
                "Order cancelled",
                format!("{} of order #{} was cancelled.", line_text(l), l.order_id),
                format!("/orders/{}", l.order_id),
                data,
            );
            match e.by {
                OrderActor::Buyer => vec![to_seller],
                OrderActor::Seller => vec![to_buyer],
                OrderActor::Admin | OrderActor::System => vec![to_buyer, to_seller],
            }
        }
        ORDER_SHIPPED => {
            let e: OrderShipped = decode(topic, payload)?;
            let l = &e.line;
            vec![note(
                l.buyer_id,
                Kind::OrderShipped,
                key,
                "Order shipped",
                format!(
                    "{} of order #{} shipped with {} ({}).",
                    line_text(l),
                    l.order_id,
                    e.carrier,
                    e.tracking_number
                ),
                format!("/orders/{}", l.order_id),
                line_data(l, json!({"carrier": e.carrier, "tracking_number": e.tracking_number})),
            )]
        }
        ORDER_REFUNDED => {
            let e: OrderRefunded = decode(topic, payload)?;
            let l = &e.line;
            vec![note(
                l.buyer_id,
                Kind::OrderRefunded,
                key,
                "Order refunded",
                format!("{} back to your wallet for order #{}.", points(e.refunded), l.order_id),
                format!("/orders/{}", l.order_id),
                line_data(l, json!({"by": e.by, "reason": e.reason, "refunded": e.refunded})),
            )]
        }
        RETURN_REQUESTED => {
            let e: ReturnRequested = decode(topic, payload)?;
            let l = &e.line;
            vec![note(
                l.seller_id,
                Kind::ReturnRequested,
                key,
                "Return requested",
                format!("The buyer wants to return {} of order #{}.", line_text(l), l.order_id),
                format!("/seller/orders/{}", l.order_id),
                line_data(l, json!({"reason": e.reason})),
            )]
        }
        RETURN_REJECTED => {
            let e: ReturnRejected = decode(topic, payload)?;
            let l = &e.line;
            vec![note(
                l.buyer_id,
                Kind::ReturnRejected,
                key,
                "Return rejected",
                format!("The seller rejected the return of {} of order #{}.", line_text(l), l.order_id),
                format!("/orders/{}", l.order_id),
                line_data(l, json!({"reason": e.reason})),
            )]
        }
        SALE_CONFIRMED => {
            let e: SaleConfirmed = decode(topic, payload)?;
            let l = &e.line;
            vec![note(
                l.seller_id,
                Kind::SaleConfirmed,
                key,
                "Sale confirmed",
                format!("{} released to your wallet for order #{}.", points(e.net), l.order_id),
                format!("/seller/orders/{}", l.order_id),
                line_data(l, json!({"by": e.by, "fee": e.fee, "net": e.net, "amount": e.net})),
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
                json!({"charge_id": e.charge_id, "refund_id": e.refund_id, "amount": e.amount, "source": e.source}),
            )]
        }
        "payment.payout_paid" => {
            let e: PayoutPaid = decode(topic, payload)?;
            vec![note(
                e.account_id,
                Kind::PayoutPaid,
                key,
                "Payout sent",
                format!("{} sent to your bank account.", points(e.amount)),
                "/wallet".to_string(),
                json!({"payout_id": e.payout_id, "amount": e.amount, "failure_reason": null}),
            )]
        }
        "payment.payout_failed" => {
            let e: PayoutFailed = decode(topic, payload)?;
            vec![note(
                e.account_id,
                Kind::PayoutFailed,
                key,
                "Payout failed",
                format!("{} could not be sent and are back in your wallet.", points(e.amount)),
                "/wallet".to_string(),
                json!({"payout_id": e.payout_id, "amount": e.amount, "failure_reason": e.reason}),
            )]
        }
        ACCOUNT_SUSPENDED => {
            let e: AccountSuspended = decode(topic, payload)?;
            let body = match e.until {
                Some(until) => format!("Your account is suspended until {}: {}", until.to_rfc3339(), e.reason),
                None => format!("Your account is suspended: {}", e.reason),
            };
            vec![note(
                e.account_id,
                Kind::AccountSuspended,
                key,
                "Account suspended",
                body,
                "/profile".to_string(),
                json!({"reason": e.reason, "until": e.until, "suspended_at": e.suspended_at}),
            )]
        }
        REPORT_RESOLVED => {
            let e: ReportResolved = decode(topic, payload)?;
            let outcome = match e.action.as_str() {
                "dismiss" => "no action was taken",
                "hide" => "the content was hidden",
                _ => "the account was suspended",
            };
            vec![note(
                e.reporter_id,
                Kind::ReportResolved,
                key,
                "Report resolved",
                format!("Thanks for your report: {outcome}."),
                format!("/reports/{}", e.report_id),
                json!({"report_id": e.report_id, "target_type": e.target_type, "target_id": e.target_id,
                       "action": e.action}),
            )]
        }
        _ => Vec::new(),
    })
}

fn line_text(l: &LineRef) -> String {
    if l.quantity == 1 {
        format!("“{}”", l.product_name)
    } else {
        format!("{} × “{}”", l.quantity, l.product_name)
    }
}

/// The line an order notification is about, and what the event adds.
fn line_data(l: &LineRef, extra: Value) -> Value {
    let mut data = json!({"order_id": l.order_id, "item_id": l.item_id, "item_ids": [l.item_id],
        "product_id": l.product_id, "buyer_id": l.buyer_id, "seller_id": l.seller_id,
        "product_name": l.product_name, "item_name": l.item_name, "quantity": l.quantity,
        "line_total": l.line_total});
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::events::{Event, NOTIFIED_TOPICS};
    use contracts::order::sample_line as line;

    fn map(event: &impl Event) -> Vec<NewNotification> {
        notifications_for(event.topic(), &serde_json::to_value(event).unwrap(), &event.dedupe_key()).unwrap()
    }

    fn to(notes: &[NewNotification]) -> Vec<i64> {
        notes.iter().map(|n| n.account_id).collect()
    }

    #[test]
    fn order_events_reach_the_party_api_md_names_with_a_web_app_link() {
        let placed =
            OrderPlaced { order_id: 7, buyer_id: 1, seller_ids: vec![2, 5, 2], total: 100, lines: vec![line()] };
        let notes = map(&placed);
        assert_eq!(to(&notes), vec![2, 5], "each seller once");
        assert!(notes.iter().all(|n| n.link == "/seller/orders/7" && n.kind == Kind::OrderPlaced));

        let shipped = OrderShipped { line: line(), carrier: "CJ".into(), tracking_number: "123".into() };
        let notes = map(&shipped);
        assert_eq!((notes[0].account_id, notes[0].kind, notes[0].link.as_str()), (1, Kind::OrderShipped, "/orders/7"));
        assert!(notes[0].body.contains("CJ (123)"));

        let cancel = |by| OrderCancelled { line: line(), by, reason: None, refunded: 900 };
        assert_eq!(to(&map(&cancel(OrderActor::Buyer))), vec![2], "the other party");
        assert_eq!(to(&map(&cancel(OrderActor::Seller))), vec![1]);
        assert_eq!(to(&map(&cancel(OrderActor::Admin))), vec![1, 2]);

        let refunded =
            OrderRefunded { line: line(), by: OrderActor::Admin, reason: None, restocked: true, refunded: 900 };
        let notes = map(&refunded);
        assert_eq!((to(&notes), notes[0].kind), (vec![1], Kind::OrderRefunded));
        let notes = map(&ReturnRequested { line: line(), reason: "broken".into() });
        assert_eq!((to(&notes), notes[0].kind), (vec![2], Kind::ReturnRequested));
        let notes = map(&ReturnRejected { line: line(), reason: "no".into() });
        assert_eq!((to(&notes), notes[0].kind), (vec![1], Kind::ReturnRejected));
        let notes = map(&SaleConfirmed { line: line(), by: OrderActor::Buyer, fee: 90, net: 810 });
        assert_eq!((to(&notes), notes[0].kind), (vec![2], Kind::SaleConfirmed));
        assert!(notes[0].body.contains("810 P"), "{}", notes[0].body);
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
    fn payment_account_and_moderation_events_and_every_subscribed_topic_decode() {
        let paid = PayoutPaid { payout_id: 1, account_id: 2, amount: 10_000 };
        assert_eq!(map(&paid)[0].kind, Kind::PayoutPaid);
        let failed = PayoutFailed { payout_id: 1, account_id: 2, amount: 10_000, reason: "bank".into() };
        assert_eq!((failed.topic(), map(&failed)[0].kind), ("payment.payout_failed", Kind::PayoutFailed));
        let now = chrono::Utc::now();
        let suspended = AccountSuspended { account_id: 5, reason: "spam".into(), until: None, suspended_at: now };
        assert_eq!((to(&map(&suspended)), map(&suspended)[0].kind), (vec![5], Kind::AccountSuspended));
        assert_eq!(map(&suspended)[0].link, "/profile");
        let resolved = ReportResolved {
            report_id: 3,
            reporter_id: 6,
            target_type: "product".into(),
            target_id: 8,
            action: "hide".into(),
            resolved_at: now,
        };
        assert_eq!((to(&map(&resolved)), map(&resolved)[0].kind), (vec![6], Kind::ReportResolved));
        assert_eq!(map(&resolved)[0].link, "/reports/3");
        // A payload that does not decode is an error (the row retries, then parks), never silence.
        for topic in NOTIFIED_TOPICS.iter().filter(|t| **t != "chat.message_posted") {
            assert!(notifications_for(topic, &json!({}), "k").is_err(), "{topic}");
        }
    }
}
