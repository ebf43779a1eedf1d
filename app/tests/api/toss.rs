//! The Toss Payments adapter against a mock Toss API on loopback.

use crate::helpers::*;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use contracts::Role;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const SECRET: &str = "test_sk_mock";

#[derive(Default)]
struct MockState {
    /// orderId → amount, for payments Toss considers done.
    paid: HashMap<String, i64>,
    confirms: usize,
    /// `pk_hold` confirms wait for this before Toss completes the payment and answers.
    release: Arc<tokio::sync::Notify>,
}

type MockToss = MockServer<MockState>;

fn authorized(req: &HttpRequest) -> bool {
    use base64::Engine;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:")));
    req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn confirm(req: HttpRequest, state: web::Data<Arc<Mutex<MockState>>>, body: web::Json<Value>) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"}));
    }
    let key = body["paymentKey"].as_str().unwrap_or("").to_string();
    let order = body["orderId"].as_str().unwrap_or("").to_string();
    let amount = body["amount"].as_i64().unwrap_or(0);
    state.lock().unwrap().confirms += 1;
    match key.as_str() {
        "pk_ok" => {
            state.lock().unwrap().paid.insert(order.clone(), amount);
            HttpResponse::Ok()
                .json(json!({"paymentKey": key, "orderId": order, "status": "DONE", "totalAmount": amount}))
        }
        "pk_hold" => {
            let release = state.lock().unwrap().release.clone();
            release.notified().await;
            state.lock().unwrap().paid.insert(order.clone(), amount);
            HttpResponse::Ok()
                .json(json!({"paymentKey": key, "orderId": order, "status": "DONE", "totalAmount": amount}))
        }
        "pk_refuse" => {
            HttpResponse::BadRequest().json(json!({"code": "REJECT_CARD_PAYMENT", "message": "card declined"}))
        }
        "pk_slow" => {
            // Toss completes the payment, but answers after our timeout.
            state.lock().unwrap().paid.insert(order.clone(), amount);
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            HttpResponse::Ok()
                .json(json!({"paymentKey": key, "orderId": order, "status": "DONE", "totalAmount": amount}))
        }
        _ => HttpResponse::InternalServerError()
            .json(json!({"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "oops"})),
    }
}

async fn lookup(req: HttpRequest, state: web::Data<Arc<Mutex<MockState>>>, order: web::Path<String>) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"}));
    }
    match state.lock().unwrap().paid.get(order.as_str()) {
        Some(amount) => HttpResponse::Ok().json(json!({"orderId": *order, "status": "DONE", "totalAmount": amount})),
        None => HttpResponse::NotFound().json(json!({"code": "NOT_FOUND_PAYMENT", "message": "no such payment"})),
    }
}

fn mock_toss() -> MockToss {
    mock_server(1, |c| {
        c.route("/v1/payments/confirm", web::post().to(confirm));
        c.route("/v1/payments/orders/{order}", web::get().to(lookup));
    })
}

async fn toss_app(mock: &MockToss) -> TestApp {
    toss_app_timing_out_after(mock, 500).await
}

async fn toss_app_timing_out_after(mock: &MockToss, timeout_ms: u64) -> TestApp {
    spawn_app_with(
        TestOptions::default()
            .with("payment.gateway", "toss")
            .with("payment.toss.base_url", &mock.url)
            .with("payment.toss.secret_key", SECRET)
            .with("payment.toss.timeout_ms", timeout_ms)
            .with("payment.reconcile_interval_ms", 3_600_000),
    )
    .await
}

async fn pending_charge(user: &User, amount: i64) -> Charge {
    pending_charge_keyed(user, amount, &format!("c-{amount}")).await
}

async fn pending_charge_keyed(user: &User, amount: i64, key: &str) -> Charge {
    let charge: Charge =
        user.post("/wallet/charges", &json!({"amount": amount})).idempotency_key(key).returns(201).await;
    assert_eq!(charge.status, "pending");
    assert_eq!(charge.balance, 0);
    assert!(charge.order_id.len() >= 6);
    charge
}

fn confirm_charge(user: &User, charge: &Charge, key: &str) -> Call {
    user.post(&format!("/wallet/charges/{}/confirm", charge.id), &json!({"payment_key": key}))
}

#[tokio::test]
async fn a_confirmed_toss_payment_is_credited_exactly_once() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 15_000).await;
    let confirmed: Charge = confirm_charge(&user, &charge, "pk_ok").returns(200).await;
    assert_eq!((confirmed.status.as_str(), confirmed.balance), ("confirmed", 15_000));
    let again: Charge = confirm_charge(&user, &charge, "pk_ok").returns(200).await;
    assert_eq!(again.status, "confirmed");
    assert_eq!(user.balance().await, 15_000);
    assert_eq!(mock.state.lock().unwrap().confirms, 1, "a confirmed charge is not confirmed at Toss again");
    app.clock.advance(Duration::minutes(5));
    app.assembled.charges.reconcile().await.unwrap();
    assert_eq!(user.balance().await, 15_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_refused_payment_fails_the_charge_and_credits_nothing() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 8_000).await;
    let body = confirm_charge(&user, &charge, "pk_refuse").fails(402, "payment_refused").await;
    assert_eq!(body.error.details.gateway_code.as_deref(), Some("REJECT_CARD_PAYMENT"));
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!(fetched.status, "failed");
    confirm_charge(&user, &charge, "pk_refuse").fails(402, "payment_refused").await;
    assert_eq!(user.balance().await, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_timed_out_confirm_stays_pending_and_reconciliation_credits_it_once() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 20_000).await;
    let body: Charge = confirm_charge(&user, &charge, "pk_slow").returns(202).await;
    assert_eq!(body.status, "pending");
    assert_eq!(user.balance().await, 0, "nothing credited while the outcome is unknown");
    // Too soon: the confirm might still be in flight.
    app.assembled.charges.reconcile().await.unwrap();
    assert_eq!(user.balance().await, 0);
    app.clock.advance(Duration::seconds(30));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 1);
    assert_eq!(user.balance().await, 20_000);
    app.clock.advance(Duration::seconds(30));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 0);
    let body: Charge = confirm_charge(&user, &charge, "pk_slow").returns(200).await;
    assert_eq!(body.status, "confirmed");
    assert_eq!(user.balance().await, 20_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_unpaid_unknown_outcome_is_failed_after_the_pending_expiry() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 3_000).await;
    confirm_charge(&user, &charge, "pk_5xx").returns::<Charge>(202).await;
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 0, "unknown at Toss yet: keep waiting");
    app.clock.advance(Duration::days(2));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 1);
    let user = app.login_user(&user.email, &user.password).await;
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!(fetched.status, "failed");
    assert_eq!(user.balance().await, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn concurrent_confirms_credit_once() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 9_000).await;
    let tries = (0..6).map(|_| confirm_charge(&user, &charge, "pk_ok").send());
    for res in futures::future::join_all(tries).await {
        assert_eq!(res.status(), 200);
    }
    assert_eq!(user.balance().await, 9_000);
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert!(audit.mismatched_wallets.is_empty(), "{audit:?}");
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_timed_out_paid_charge_is_credited_within_three_passes_however_many_are_older() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    // Older than the paid charge: 150 abandoned widget sessions (no payment key) and 150
    // charges whose outcome stays unknown at Toss (a key, answered 5xx).
    for i in 0..150 {
        pending_charge_keyed(&user, 1_000, &format!("abandoned-{i}")).await;
        let unknown = pending_charge_keyed(&user, 1_000, &format!("unknown-{i}")).await;
        confirm_charge(&user, &unknown, "pk_5xx").returns::<Charge>(202).await;
    }
    let paid = pending_charge(&user, 12_000).await;
    confirm_charge(&user, &paid, "pk_slow").returns::<Charge>(202).await;
    app.clock.advance(Duration::seconds(30));
    let mut passes = 0;
    while user.balance().await == 0 && passes < 3 {
        app.assembled.charges.reconcile().await.unwrap();
        passes += 1;
    }
    assert_eq!(user.balance().await, 12_000, "credited within three reconcile passes");
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", paid.id)).returns(200).await;
    assert_eq!(fetched.status, "confirmed");
}

#[tokio::test]
async fn a_confirm_answered_after_reconcile_gave_up_on_it_is_credited() {
    let mock = mock_toss();
    let app = toss_app_timing_out_after(&mock, 10_000).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 7_000).await;
    let in_flight = confirm_charge(&user, &charge, "pk_hold").send();
    let meanwhile = async {
        while mock.state.lock().unwrap().confirms == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Toss has not completed the payment yet and the charge is past its expiry:
        // reconcile gives up on it while the confirm is still at Toss.
        app.clock.advance(Duration::days(2));
        assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 1);
        mock.state.lock().unwrap().release.notify_one();
    };
    let (res, ()) = futures::future::join(in_flight, meanwhile).await;
    assert_eq!(res.status(), 200, "Toss took the money: the points are credited");
    let user = app.login_user(&user.email, &user.password).await;
    assert_eq!(user.balance().await, 7_000);
    app.clock.advance(Duration::minutes(1));
    app.assembled.charges.reconcile().await.unwrap();
    assert_eq!(user.balance().await, 7_000);
    assert_eq!(mock.state.lock().unwrap().confirms, 1);
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert!(audit.mismatched_wallets.is_empty(), "{audit:?}");
}

#[tokio::test]
async fn a_charge_failed_locally_that_toss_reports_paid_is_credited_by_reconcile() {
    let mock = mock_toss();
    let app = toss_app(&mock).await;
    let user = app.user(Role::Customer).await;
    let charge = pending_charge(&user, 4_000).await;
    confirm_charge(&user, &charge, "pk_5xx").returns::<Charge>(202).await;
    app.clock.advance(Duration::days(2));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 1, "no payment at Toss past the expiry: failed");
    let user = app.login_user(&user.email, &user.password).await;
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!(fetched.status, "failed");
    // The confirm that answered 5xx had been applied at Toss after all.
    mock.state.lock().unwrap().paid.insert(charge.order_id.clone(), 4_000);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 1);
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", charge.id)).returns(200).await;
    assert_eq!((fetched.status.as_str(), fetched.failure_code.as_deref()), ("confirmed", None));
    assert_eq!(user.balance().await, 4_000);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.assembled.charges.reconcile().await.unwrap(), 0);
    assert_eq!(user.balance().await, 4_000);
}
