//! Payouts to sellers and streamers: sandbox, and the Toss payouts adapter against a mock.

use crate::helpers::toss_mock::*;
use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use serde_json::{Value, json};

const ACCOUNT_NUMBER: &str = "110-4455-667788";
const DIGITS: &str = "1104455667788";

fn payout_body(amount: i64) -> Value {
    json!({"amount": amount, "bank_code": "088", "account_number": ACCOUNT_NUMBER, "account_holder": "김판매"})
}

fn request_payout(user: &User, key: &str, body: &Value) -> Call {
    user.post("/wallet/payouts", body).idempotency_key(key)
}

#[tokio::test]
async fn a_sandbox_payout_is_paid_at_once_and_a_replay_pays_nothing_more() {
    let app = spawn_app().await;
    let seller = app.funded_user(Role::Seller, 50_000).await;
    let payout: Payout = request_payout(&seller, "p-1", &payout_body(30_000)).returns(201).await;
    assert_eq!((payout.status.as_str(), payout.amount), ("paid", 30_000));
    assert_eq!(payout.account_number_masked, "*********7788");
    assert!(payout.completed_at.is_some());
    let again: Payout = request_payout(&seller, "p-1", &payout_body(30_000)).returns(201).await;
    assert_eq!(again, payout);
    request_payout(&seller, "p-1", &payout_body(20_000)).fails(409, "idempotency_conflict").await;
    assert_eq!(seller.balance().await, 20_000);
    let kinds: Vec<(String, i64)> = seller.entries().await.into_iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(kinds[0], ("payout".to_string(), -30_000));
    let fetched: Payout = seller.get(&format!("/wallet/payouts/{}", payout.id)).returns(200).await;
    assert_eq!(fetched, payout);
    let list: Page<Payout> = seller.get("/wallet/payouts").returns(200).await;
    assert_eq!((list.total, list.items[0].id), (1, payout.id));
    let other = app.user(Role::Seller).await;
    other.get(&format!("/wallet/payouts/{}", payout.id)).fails(404, "not_found").await;
    let raw = seller.get(&format!("/wallet/payouts/{}", payout.id)).send().await.text().await;
    assert!(!raw.contains(DIGITS) && !raw.contains(ACCOUNT_NUMBER), "{raw}");
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn payouts_check_the_role_the_amount_and_the_balance_and_refusals_store_nothing() {
    let app = spawn_app().await;
    let customer = app.funded_user(Role::Customer, 50_000).await;
    request_payout(&customer, "c", &payout_body(20_000)).fails(403, "forbidden").await;
    // The role comes before the body.
    customer.post("/wallet/payouts", &json!("junk")).idempotency_key("c").fails(403, "forbidden").await;
    let streamer = app.funded_user(Role::Streamer, 15_000).await;
    request_payout(&streamer, "s", &payout_body(9_999)).fails(400, "validation_failed").await;
    let mut bad = payout_body(10_000);
    bad["account_number"] = json!("12ab");
    let body = request_payout(&streamer, "s", &bad).fails(400, "validation_failed").await;
    assert_eq!(body.field("account_number"), Some("must be 6 to 20 digits"));
    request_payout(&streamer, "s", &payout_body(15_001)).fails(409, "insufficient_balance").await;
    streamer.post("/wallet/payouts", &payout_body(10_000)).fails(400, "idempotency_key_required").await;
    let list: Page<Payout> = streamer.get("/wallet/payouts").returns(200).await;
    assert_eq!(list.total, 0, "nothing stored by refused requests");
    let paid: Payout = request_payout(&streamer, "s", &payout_body(15_000)).returns(201).await;
    assert_eq!(paid.status, "paid");
    assert_eq!(streamer.balance().await, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn fifty_concurrent_identical_payout_requests_create_one_payout() {
    let app = spawn_app().await;
    let seller = app.funded_user(Role::Seller, 100_000).await;
    let body = payout_body(60_000);
    let replies =
        futures::future::join_all((0..50).map(|_| request_payout(&seller, "same", &body).send().await_outcome())).await;
    let mut ids = std::collections::BTreeSet::new();
    for (status, outcome) in replies {
        match outcome {
            Ok(payout) => {
                assert_eq!(status, 201);
                ids.insert(payout.id);
            }
            Err(e) => assert_eq!((status, e.error.code.as_str()), (409, "request_in_progress")),
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(seller.balance().await, 40_000);
    let admin = app.admin().await;
    let all: Page<Payout> = admin.get("/admin/payouts").returns(200).await;
    assert_eq!(all.total, 1);
    let paid: Page<Payout> = admin.get("/admin/payouts?status=paid").returns(200).await;
    assert_eq!(paid.total, 1);
    admin.get("/admin/payouts?status=nope").fails(400, "validation_failed").await;
    seller.get("/admin/payouts").fails(403, "forbidden").await;
    app.assert_ledger_balanced().await;
}

trait AwaitOutcome {
    async fn await_outcome(self) -> (u16, Result<Payout, ErrorBody>);
}

impl<F: std::future::Future<Output = Reply>> AwaitOutcome for F {
    async fn await_outcome(self) -> (u16, Result<Payout, ErrorBody>) {
        self.await.outcome().await
    }
}

async fn toss_payout_app(mock: &MockToss) -> TestApp {
    spawn_app_with(
        TestOptions::default()
            .with("payment.payout_gateway", "toss")
            .with("payment.toss.base_url", &mock.url)
            .with("payment.toss.secret_key", TOSS_SECRET)
            .with("payment.toss.security_key", SECURITY_KEY)
            .with("payment.toss.timeout_ms", 500)
            .with("payment.toss.payout_timeout_ms", 500)
            .with("payment.payout_encryption_key", "ab".repeat(32))
            .with("payment.reconcile_interval_ms", 3_600_000),
    )
    .await
}

#[tokio::test]
async fn a_toss_payout_is_sent_encrypted_and_paid_once() {
    let mock = mock_toss();
    let app = toss_payout_app(&mock).await;
    let seller = app.funded_user(Role::Seller, 40_000).await;
    let payout: Payout = request_payout(&seller, "t-1", &payout_body(25_000)).returns(201).await;
    assert_eq!(payout.status, "paid");
    let replay: Payout = request_payout(&seller, "t-1", &payout_body(25_000)).returns(201).await;
    assert_eq!(replay.id, payout.id);
    {
        let state = mock.state.lock().unwrap();
        assert_eq!((state.payouts_applied, state.sellers), (1, 1));
        assert_eq!(state.payout_posts[&format!("payout-{}", payout.id)], 1, "sent once; the replay sent nothing");
        assert_eq!(state.payouts[&format!("payout-{}", payout.id)], "COMPLETED");
        for body in &state.raw_bodies {
            assert!(!body.contains(DIGITS) && !body.contains("김판매"), "plaintext on the wire: {body}");
            assert_eq!(body.split('.').count(), 5, "a compact JWE");
        }
    }
    assert_eq!(seller.balance().await, 15_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_failed_toss_payout_returns_the_points() {
    let mock = mock_toss();
    let app = toss_payout_app(&mock).await;
    let seller = app.funded_user(Role::Seller, 40_000).await;
    mock.set_payout_mode(Mode::Refuse);
    let payout: Payout = request_payout(&seller, "f", &payout_body(25_000)).returns(201).await;
    assert_eq!(payout.status, "failed");
    assert!(payout.failure_reason.is_some());
    assert_eq!(seller.balance().await, 40_000);
    let kinds: Vec<(String, i64)> = seller.entries().await.into_iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(kinds[..2], [("payout_reversal".to_string(), 25_000), ("payout".to_string(), -25_000)]);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_unknown_payout_outcome_is_looked_up_and_never_sent_twice() {
    let mock = mock_toss();
    let app = toss_payout_app(&mock).await;
    let seller = app.funded_user(Role::Seller, 40_000).await;
    mock.set_payout_mode(Mode::Slow);
    let payout: Payout = request_payout(&seller, "slow", &payout_body(30_000)).returns(201).await;
    assert_eq!(payout.status, "processing");
    assert_eq!(seller.balance().await, 10_000, "the points wait in escrow");
    mock.set_payout_mode(Mode::Ok);
    // Too soon: the first send might still be running.
    app.assembled.payouts.reconcile().await.unwrap();
    app.clock.advance(Duration::seconds(30));
    app.assembled.payouts.reconcile().await.unwrap();
    let fetched: Payout = seller.get(&format!("/wallet/payouts/{}", payout.id)).returns(200).await;
    assert_eq!(fetched.status, "paid");
    assert_eq!(mock.state.lock().unwrap().payouts_applied, 1, "looked up, not sent again");
    let posts = mock.state.lock().unwrap().payout_posts.clone();
    assert_eq!(posts[&format!("payout-{}", payout.id)], 1, "one POST, then only lookups: {posts:?}");

    // A payout whose request never arrived is sent again under the same reference.
    mock.set_payout_mode(Mode::ServerError);
    let lost: Payout = request_payout(&seller, "lost", &payout_body(10_000)).returns(201).await;
    assert_eq!(lost.status, "processing");
    mock.set_payout_mode(Mode::Ok);
    app.clock.advance(Duration::seconds(30));
    app.assembled.payouts.reconcile().await.unwrap();
    // The payout webhook is a hint to look it up: harmless when repeated.
    for _ in 0..2 {
        let reply = reqwest::Client::new()
            .post(format!("{}/webhooks/toss", app.address))
            .json(&json!({"eventType": "PAYOUT_STATUS_CHANGED", "data": {"refPayoutId": format!("payout-{}", lost.id), "status": "COMPLETED"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
    let fetched: Payout = seller.get(&format!("/wallet/payouts/{}", lost.id)).returns(200).await;
    assert_eq!(fetched.status, "paid");
    assert_eq!(mock.state.lock().unwrap().payouts_applied, 2);
    // The lost request (answered 500) was sent again once, never more.
    assert_eq!(mock.state.lock().unwrap().payout_posts[&format!("payout-{}", lost.id)], 2);
    assert_eq!(seller.balance().await, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn secrets_and_account_numbers_appear_in_no_log_error_body_or_metric() {
    let mock = mock_toss();
    let app = toss_payout_app(&mock).await;
    let seller = app.funded_user(Role::Seller, 40_000).await;
    mock.set_payout_mode(Mode::Refuse);
    request_payout(&seller, "a", &payout_body(20_000)).returns::<Payout>(201).await;
    mock.set_payout_mode(Mode::ServerError);
    request_payout(&seller, "b", &payout_body(20_000)).returns::<Payout>(201).await;
    let error = request_payout(&seller, "c", &payout_body(90_000)).send().await.text().await;
    let mut invalid = payout_body(20_000);
    invalid["bank_code"] = json!("x");
    let invalid = request_payout(&seller, "d", &invalid).send().await.text().await;
    let metrics = app.get("/metrics").send().await.text().await;
    let logs = logs::captured();
    assert!(logs.contains("payout"), "the capture works: payout lines are logged");
    for (name, text) in [("logs", &logs), ("error body", &error), ("validation body", &invalid), ("metrics", &metrics)]
    {
        for secret in [DIGITS, ACCOUNT_NUMBER, TOSS_SECRET, SECURITY_KEY] {
            assert!(!text.contains(secret), "{secret} appears in the {name}");
        }
    }
}
