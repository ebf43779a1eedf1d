//! Charge refunds to the card and Toss's webhook, on the sandbox and against a mock Toss.

use crate::helpers::toss_mock::*;
use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use serde_json::json;

fn refund(user: &User, charge: &Charge, key: &str, body: serde_json::Value) -> Call {
    user.post(&format!("/wallet/charges/{}/refund", charge.id), &body).idempotency_key(key)
}

#[tokio::test]
async fn sandbox_refunds_take_the_points_back_partially_then_fully_and_replays_move_money_once() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let charge = user.charge(10_000).await;
    let first: Charge = refund(&user, &charge, "r-1", json!({"amount": 3_000})).returns(200).await;
    assert_eq!(first.refunded_amount, 3_000);
    assert_eq!(first.refunds.len(), 1);
    assert_eq!((first.refunds[0].status.as_str(), first.refunds[0].source.as_str()), ("done", "client"));
    let again: Charge = refund(&user, &charge, "r-1", json!({"amount": 3_000})).returns(200).await;
    assert_eq!(again.refunded_amount, 3_000, "a replay refunds nothing more");
    refund(&user, &charge, "r-1", json!({"amount": 2_000})).fails(409, "idempotency_conflict").await;
    assert_eq!(user.balance().await, 7_000);
    refund(&user, &charge, "r-2", json!({"amount": 7_001})).fails(409, "refund_exceeds_charge").await;
    // No amount: what is left.
    let rest: Charge = refund(&user, &charge, "r-3", json!({})).returns(200).await;
    assert_eq!(rest.refunded_amount, 10_000);
    refund(&user, &charge, "r-4", json!({})).fails(409, "refund_exceeds_charge").await;
    assert_eq!(user.balance().await, 0);
    let kinds: Vec<(String, i64)> = user.entries().await.into_iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(kinds[..2], [("charge_refund".to_string(), -7_000), ("charge_refund".to_string(), -3_000)]);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn refunds_check_the_owner_the_key_and_the_amount() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let other = app.user(Role::Customer).await;
    let charge = user.charge(5_000).await;
    refund(&other, &charge, "x", json!({})).fails(404, "not_found").await;
    refund(&user, &charge, "bad", json!({"amount": 0})).fails(400, "validation_failed").await;
    user.post(&format!("/wallet/charges/{}/refund", charge.id), &json!({}))
        .fails(400, "idempotency_key_required")
        .await;
    refund(&user, &charge, "whole", json!({"amount": 5_000})).returns::<Charge>(200).await;
    user.charge(2_000).await;
    // 2,000 in the wallet, but the first charge is used up.
    refund(&user, &charge, "none-left", json!({"amount": 1})).fails(409, "refund_exceeds_charge").await;
    assert_eq!(user.balance().await, 2_000);
    app.assert_ledger_balanced().await;
}

/// Spends `amount` of the user's points, as a purchase would.
async fn spend(app: &TestApp, user: &User, amount: i64, key: &str) {
    use contracts::wallet::{EntryKind, TransferRequest, WalletRef, WalletService};
    app.assembled
        .wallets
        .transfer(TransferRequest {
            from: WalletRef::Account(user.id),
            to: WalletRef::Escrow(format!("order:{key}")),
            amount,
            kind: EntryKind::Purchase,
            reference: format!("order:{key}"),
            idempotency_key: format!("order:{key}:debit"),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn refunding_spent_points_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let buyer = app.user(Role::Customer).await;
    let charge = buyer.charge(10_000).await;
    spend(&app, &buyer, 6_000, "spent").await;
    refund(&buyer, &charge, "all", json!({})).fails(409, "insufficient_balance").await;
    let fetched: Charge = buyer.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!((fetched.refunded_amount, fetched.refunds.len()), (0, 0), "a refused refund stores nothing");
    assert_eq!(buyer.balance().await, 4_000);
    // The same key works once the request fits.
    let part: Charge = refund(&buyer, &charge, "all", json!({"amount": 4_000})).returns(200).await;
    assert_eq!(part.refunded_amount, 4_000);
    app.assert_ledger_balanced().await;
}

async fn toss_app(mock: &MockToss) -> TestApp {
    spawn_app_with(
        TestOptions::default()
            .with("payment.gateway", "toss")
            .with("payment.toss.base_url", &mock.url)
            .with("payment.toss.secret_key", TOSS_SECRET)
            .with("payment.toss.timeout_ms", 500)
            .with("payment.reconcile_interval_ms", 3_600_000),
    )
    .await
}

/// A confirmed Toss charge of `amount`.
async fn toss_charge(user: &User, amount: i64) -> Charge {
    let charge: Charge = user
        .post("/wallet/charges", &json!({"amount": amount}))
        .idempotency_key(format!("c-{amount}"))
        .returns(201)
        .await;
    let confirmed: Charge = user
        .post(&format!("/wallet/charges/{}/confirm", charge.id), &json!({"payment_key": format!("pk_{}", charge.id)}))
        .returns(200)
        .await;
    assert_eq!(confirmed.status, "confirmed");
    confirmed
}

#[tokio::test]
async fn a_toss_refund_cancels_at_toss_and_a_refusal_gives_the_points_back() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = toss_charge(&user, 20_000).await;
    let done: Charge = refund(&user, &charge, "r1", json!({"amount": 5_000})).returns(200).await;
    assert_eq!(done.refunded_amount, 5_000);
    {
        let state = mock.state.lock().unwrap();
        let p = &state.payments[&charge.order_id];
        assert_eq!((p.balance, p.status.as_str()), (15_000, "PARTIAL_CANCELED"));
    }
    mock.set_cancel_mode(Mode::Refuse);
    let body = refund(&user, &charge, "r2", json!({})).fails(402, "payment_refused").await;
    assert_eq!(body.error.details.gateway_code.as_deref(), Some("NOT_CANCELABLE_PAYMENT"));
    assert_eq!(user.balance().await, 15_000, "the refused refund's points are back");
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!(fetched.refunded_amount, 5_000);
    // A refused request stores nothing: the key works once the cause is gone.
    mock.set_cancel_mode(Mode::Ok);
    let rest: Charge = refund(&user, &charge, "r2", json!({})).returns(200).await;
    assert_eq!(rest.refunded_amount, 20_000);
    assert_eq!(user.balance().await, 0);
    assert_eq!(mock.state.lock().unwrap().cancels_applied, 2);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_unknown_refund_outcome_is_looked_up_and_never_refunds_twice() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = toss_charge(&user, 8_000).await;
    mock.set_cancel_mode(Mode::Slow);
    let pending: Charge = refund(&user, &charge, "slow", json!({})).returns(202).await;
    assert_eq!(pending.refunds[0].status, "pending");
    assert_eq!(user.balance().await, 0, "the points left first");
    // A replay while it may still be in flight.
    refund(&user, &charge, "slow", json!({})).fails(409, "request_in_progress").await;
    mock.set_cancel_mode(Mode::Ok);
    app.clock.advance(Duration::seconds(30));
    assert_eq!(app.assembled.charges.reconcile_refunds().await.unwrap(), 1);
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!(fetched.refunds[0].status, "done");
    app.clock.advance(Duration::seconds(30));
    assert_eq!(app.assembled.charges.reconcile_refunds().await.unwrap(), 0);
    let replay: Charge = refund(&user, &charge, "slow", json!({})).returns(200).await;
    assert_eq!(replay.refunded_amount, 8_000);
    assert_eq!(mock.state.lock().unwrap().cancels_applied, 1, "cancelled once at Toss");
    assert_eq!(mock.state.lock().unwrap().payments[&charge.order_id].balance, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_unknown_refund_that_never_reached_toss_is_sent_again_with_the_same_key() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = toss_charge(&user, 4_000).await;
    mock.set_cancel_mode(Mode::ServerError);
    refund(&user, &charge, "5xx", json!({})).returns::<Charge>(202).await;
    mock.set_cancel_mode(Mode::Ok);
    app.clock.advance(Duration::seconds(30));
    app.assembled.charges.reconcile_refunds().await.unwrap();
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!(fetched.refunds[0].status, "done");
    assert_eq!(mock.state.lock().unwrap().cancels_applied, 1);
    app.assert_ledger_balanced().await;
}

async fn webhook(app: &TestApp, body: serde_json::Value) {
    let reply = reqwest::Client::new().post(format!("{}/webhooks/toss", app.address)).json(&body).send().await.unwrap();
    assert_eq!(reply.status(), 200);
}

fn payment_event(order_id: &str, status: &str) -> serde_json::Value {
    json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-12-02T10:00:00",
        "data": {"orderId": order_id, "paymentKey": "pk_claimed", "status": status}})
}

#[tokio::test]
async fn a_webhook_claiming_done_credits_nothing_unless_toss_says_so_and_duplicates_credit_once() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge: Charge =
        user.post("/wallet/charges", &json!({"amount": 9_000})).idempotency_key("w").returns(201).await;
    webhook(&app, payment_event(&charge.order_id, "DONE")).await;
    assert_eq!(user.balance().await, 0, "the body is only a hint: Toss knows no such payment");
    webhook(&app, json!({"garbage": true})).await;
    webhook(&app, payment_event("chg_unknown", "DONE")).await;
    mock.pay(&charge.order_id, "pk_real", 9_000);
    for _ in 0..3 {
        webhook(&app, payment_event(&charge.order_id, "DONE")).await;
    }
    assert_eq!(user.balance().await, 9_000);
    // Out of order: an old WAITING event after DONE changes nothing.
    webhook(&app, payment_event(&charge.order_id, "WAITING_FOR_DEPOSIT")).await;
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!((fetched.status.as_str(), fetched.balance), ("confirmed", 9_000));
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_charge_cancelled_at_toss_takes_the_points_back_once_and_admins_only_see_the_list() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let kept = toss_charge(&user, 3_000).await;
    mock.cancel_at_toss(&kept.order_id, 3_000);
    webhook(&app, payment_event(&kept.order_id, "CANCELED")).await;
    webhook(&app, payment_event(&kept.order_id, "CANCELED")).await;
    assert_eq!(user.balance().await, 0, "taken back once");
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", kept.id)).returns(200).await;
    assert_eq!((fetched.refunded_amount, fetched.refunds[0].source.as_str()), (3_000, "gateway"));

    app.user(Role::Customer).await.get("/admin/charges").fails(403, "forbidden").await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_cancel_at_toss_after_the_points_were_spent_is_listed_for_operators() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let admin = app.admin().await;
    let user = app.user(Role::Customer).await;
    let charge = toss_charge(&user, 6_000).await;
    refund(&user, &charge, "part", json!({"amount": 2_000})).returns::<Charge>(200).await;
    spend(&app, &user, 3_000, "spent").await;
    // Toss cancels the rest (4,000) of the payment, but only 1,000 points are left.
    mock.cancel_at_toss(&charge.order_id, 4_000);
    webhook(&app, payment_event(&charge.order_id, "CANCELED")).await;
    webhook(&app, payment_event(&charge.order_id, "CANCELED")).await;
    let page: Page<AdminCharge> = admin.get("/admin/charges?attention=true").returns(200).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, charge.id);
    assert_eq!(page.items[0].attention.as_deref(), Some("cancelled_at_gateway_after_spending"));
    assert_eq!(user.balance().await, 1_000, "nothing taken while the operators decide");
    let all: Page<AdminCharge> = admin.get("/admin/charges?status=confirmed").returns(200).await;
    assert_eq!(all.total, 1);
    admin.get("/admin/charges?status=nope").fails(400, "validation_failed").await;
    app.assert_ledger_balanced().await;
}
