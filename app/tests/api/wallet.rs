//! Wallet, ledger entries and sandbox charges over HTTP.

use crate::helpers::*;
use contracts::Role;
use serde_json::{Value, json};

/// `POST /wallet/charges` `{amount}` with this idempotency key.
fn keyed_charge(user: &User, key: &str, amount: impl serde::Serialize) -> Call {
    user.post("/wallet/charges", &json!({ "amount": amount })).idempotency_key(key)
}

#[tokio::test]
async fn a_new_wallet_is_empty() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let wallet: Wallet = user.get("/wallet").returns(200).await;
    assert_eq!(wallet, Wallet { account_id: user.id, balance: 0 });
    // The raw body: `next_before` is sent as null, not left out.
    let entries: Value = user.get("/wallet/entries").returns(200).await;
    assert_eq!(entries, json!({"items": [], "next_before": null}));
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn sandbox_charges_credit_at_once_and_replays_return_the_original() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let first: Charge = keyed_charge(&user, "k-1", 5000).returns(201).await;
    assert_eq!(first.status, "confirmed");
    assert_eq!(first.amount, 5000);
    assert_eq!(first.balance, 5000);
    let again: Charge = keyed_charge(&user, "k-1", 5000).returns(201).await;
    assert_eq!(first, again);
    assert_eq!(user.balance().await, 5000);
    keyed_charge(&user, "k-1", 7000).fails(409, "idempotency_conflict").await;
    let fetched: Charge = user.get(&format!("/wallet/charges/{}", first.id)).returns(200).await;
    assert_eq!(fetched, first);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_account() {
    let app = spawn_app().await;
    let a = app.user(Role::Customer).await;
    let b = app.user(Role::Customer).await;
    let ca: Charge = keyed_charge(&a, "same", 100).returns(201).await;
    let cb: Charge = keyed_charge(&b, "same", 200).returns(201).await;
    assert_ne!(ca.id, cb.id);
    assert_eq!((a.balance().await, b.balance().await), (100, 200));
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn charges_need_a_valid_key_and_amount_and_refusals_store_nothing() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    user.post("/wallet/charges", &json!({"amount": 100})).fails(400, "idempotency_key_required").await;
    keyed_charge(&user, &"x".repeat(129), 100).fails(400, "validation_failed").await;
    for amount in [json!(0), json!(-5), json!(10_000_001), json!(1.5), json!("100")] {
        keyed_charge(&user, "retry-me", amount).fails(400, "validation_failed").await;
    }
    // The refused attempts did not consume the key.
    let body: Charge = keyed_charge(&user, "retry-me", 10_000_000).returns(201).await;
    assert_eq!(body.balance, 10_000_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn other_peoples_charges_are_404() {
    let app = spawn_app().await;
    let a = app.user(Role::Customer).await;
    let b = app.user(Role::Customer).await;
    let charge = a.charge(100).await;
    b.get(&format!("/wallet/charges/{}", charge.id)).fails(404, "not_found").await;
    b.post(&format!("/wallet/charges/{}/confirm", charge.id), &json!({"payment_key": "x"}))
        .fails(404, "not_found")
        .await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn entries_are_a_newest_first_cursor_list() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    for amount in 1..=5 {
        user.charge(amount).await;
    }
    let page: Cursor<Entry> = user.get("/wallet/entries?limit=2").returns(200).await;
    let amounts: Vec<i64> = page.items.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![5, 4]);
    assert_eq!(page.items[0].balance_after, 15);
    assert_eq!(page.items[0].kind, "charge");
    assert!(page.items[0].reference.starts_with("charge:"));
    let before = page.next_before.unwrap();
    let page: Cursor<Entry> = user.get(&format!("/wallet/entries?limit=2&before={before}")).returns(200).await;
    let amounts: Vec<i64> = page.items.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![3, 2]);
    let before = page.next_before.unwrap();
    let page: Cursor<Entry> = user.get(&format!("/wallet/entries?limit=2&before={before}")).returns(200).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_before, None);
    app.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_charges_with_fifty_keys_credit_exactly_fifty_times() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let requests = (0..200).map(|i| {
        let key = format!("key-{}", i % 50);
        let user = &user;
        async move {
            let (status, charge) = send_retrying(|| keyed_charge(user, &key, 1000)).await.outcome::<Charge>().await;
            (key, status, charge)
        }
    });
    let results = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashMap::new();
    for (key, status, charge) in &results {
        // A duplicate either waited for the first and got its result, or was told to retry.
        if *status == 409 {
            let error = charge.as_ref().unwrap_err();
            assert_eq!(error.code(), "request_in_progress", "{error:?}");
            continue;
        }
        assert_eq!(*status, 201, "{charge:?}");
        let id = charge.as_ref().unwrap().id;
        assert_eq!(*ids.entry(key.clone()).or_insert(id), id, "one charge per key");
    }
    assert_eq!(user.balance().await, 50 * 1000);
    assert_eq!(user.entries().await.len(), 50);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn wallet_and_login_keep_working_without_redis() {
    // A Redis URL nobody listens on: the cache is down from the start.
    let app = spawn_app_with(TestOptions { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() }).await;
    let user = app.user(Role::Customer).await;
    user.charge(700).await;
    assert_eq!(user.balance().await, 700);
    app.login(&user.email, &user.password).returns::<Session>(200).await;
    app.login(&user.email, "wrong password").fails(401, "invalid_credentials").await;
    let ready: Readiness = app.get_root("/readyz").returns(200).await;
    assert_eq!(ready.checks["cache"], "degraded");
    assert_eq!(ready.checks["database"], "ok");
    app.assert_ledger_balanced().await;
}

/// MariaDB's lock-wait timeout (1205) on every attempt: the write transaction's retries run
/// out and the request answers docs/api.md's 503 `unavailable` with `Retry-After`, having
/// stored nothing, so the same key succeeds once the database recovers.
#[tokio::test]
async fn lock_wait_timeouts_that_outlast_the_retries_answer_503_and_the_key_is_retried_cleanly() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    // No background pass may take a transaction on the payment database meanwhile.
    app.stop_workers();
    let db = app.assembled.database("payment").unwrap().clone();
    db.simulate_lock_conflicts(true);
    let reply = keyed_charge(&user, "k", 1000).send().await;
    assert_eq!(reply.header("Retry-After"), Some("1"));
    reply.fails(503, "unavailable").await;
    assert_eq!(db.simulate_lock_conflicts(false), u64::from(platform::db::MAX_TX_ATTEMPTS));
    let charge: Charge = keyed_charge(&user, "k", 1000).returns(201).await;
    assert_eq!(charge.amount, 1000);
    assert_eq!(user.balance().await, 1000);
    app.assert_ledger_balanced().await;
}
