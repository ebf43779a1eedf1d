//! Wallet, ledger entries and sandbox charges over HTTP.

use crate::helpers::*;
use contracts::Role;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_new_wallet_is_empty() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let body = json_of(app.get("/api/v1/wallet", Some(&user.token)).await, 200).await;
    assert_eq!(body, json!({"account_id": user.id, "balance": 0}));
    let body = json_of(app.get("/api/v1/wallet/entries", Some(&user.token)).await, 200).await;
    assert_eq!(body, json!({"items": [], "next_before": null}));
}

#[tokio::test]
async fn sandbox_charges_credit_at_once_and_replays_return_the_original() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let first =
        json_of(app.post_keyed("/api/v1/wallet/charges", &user.token, "k-1", &json!({"amount": 5000})).await, 201)
            .await;
    assert_eq!(first["status"], "confirmed");
    assert_eq!(first["amount"], 5000);
    assert_eq!(first["balance"], 5000);
    let again =
        json_of(app.post_keyed("/api/v1/wallet/charges", &user.token, "k-1", &json!({"amount": 5000})).await, 201)
            .await;
    assert_eq!(first, again);
    assert_eq!(app.balance(&user).await, 5000);
    let res = app.post_keyed("/api/v1/wallet/charges", &user.token, "k-1", &json!({"amount": 7000})).await;
    assert_error(res, 409, "idempotency_conflict").await;
    let fetched =
        json_of(app.get(&format!("/api/v1/wallet/charges/{}", first["id"]), Some(&user.token)).await, 200).await;
    assert_eq!(fetched, first);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_account() {
    let app = spawn_app().await;
    let a = app.user(Role::Customer).await;
    let b = app.user(Role::Customer).await;
    let ca =
        json_of(app.post_keyed("/api/v1/wallet/charges", &a.token, "same", &json!({"amount": 100})).await, 201).await;
    let cb =
        json_of(app.post_keyed("/api/v1/wallet/charges", &b.token, "same", &json!({"amount": 200})).await, 201).await;
    assert_ne!(ca["id"], cb["id"]);
    assert_eq!((app.balance(&a).await, app.balance(&b).await), (100, 200));
}

#[tokio::test]
async fn charges_need_a_valid_key_and_amount_and_refusals_store_nothing() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let res = app.post("/api/v1/wallet/charges", Some(&user.token), &json!({"amount": 100})).await;
    assert_error(res, 400, "idempotency_key_required").await;
    let res = app
        .request(Method::POST, "/api/v1/wallet/charges")
        .bearer_auth(&user.token)
        .header("Idempotency-Key", "x".repeat(129))
        .json(&json!({"amount": 100}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "validation_failed").await;
    for amount in [json!(0), json!(-5), json!(10_000_001), json!(1.5), json!("100")] {
        let res = app.post_keyed("/api/v1/wallet/charges", &user.token, "retry-me", &json!({"amount": amount})).await;
        assert_error(res, 400, "validation_failed").await;
    }
    // The refused attempts did not consume the key.
    let body = json_of(
        app.post_keyed("/api/v1/wallet/charges", &user.token, "retry-me", &json!({"amount": 10_000_000})).await,
        201,
    )
    .await;
    assert_eq!(body["balance"], 10_000_000);
}

#[tokio::test]
async fn other_peoples_charges_are_404() {
    let app = spawn_app().await;
    let a = app.user(Role::Customer).await;
    let b = app.user(Role::Customer).await;
    let charge = app.charge(&a, 100).await;
    assert_error(app.get(&format!("/api/v1/wallet/charges/{}", charge["id"]), Some(&b.token)).await, 404, "not_found")
        .await;
    let res = app
        .post(&format!("/api/v1/wallet/charges/{}/confirm", charge["id"]), Some(&b.token), &json!({"payment_key": "x"}))
        .await;
    assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn entries_are_a_newest_first_cursor_list() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    for amount in 1..=5 {
        app.charge(&user, amount).await;
    }
    let page = json_of(app.get("/api/v1/wallet/entries?limit=2", Some(&user.token)).await, 200).await;
    let amounts: Vec<i64> = page["items"].as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![5, 4]);
    assert_eq!(page["items"][0]["balance_after"], 15);
    assert_eq!(page["items"][0]["kind"], "charge");
    assert!(page["items"][0]["reference"].as_str().unwrap().starts_with("charge:"));
    let before = page["next_before"].as_i64().unwrap();
    let page =
        json_of(app.get(&format!("/api/v1/wallet/entries?limit=2&before={before}"), Some(&user.token)).await, 200)
            .await;
    let amounts: Vec<i64> = page["items"].as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![3, 2]);
    let before = page["next_before"].as_i64().unwrap();
    let page =
        json_of(app.get(&format!("/api/v1/wallet/entries?limit=2&before={before}"), Some(&user.token)).await, 200)
            .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_before"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_charges_with_fifty_keys_credit_exactly_fifty_times() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let requests = (0..200).map(|i| {
        let key = format!("key-{}", i % 50);
        let app = &app;
        let token = user.token.clone();
        async move {
            let res = app.post_keyed("/api/v1/wallet/charges", &token, &key, &json!({"amount": 1000})).await;
            (key, res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    });
    let results = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashMap::new();
    for (key, status, body) in &results {
        // A duplicate either waited for the first and got its result, or was told to retry.
        if *status == 409 {
            assert_eq!(body["error"]["code"], "request_in_progress", "{body}");
            continue;
        }
        assert_eq!(*status, 201, "{body}");
        let id = body["id"].as_i64().unwrap();
        assert_eq!(*ids.entry(key.clone()).or_insert(id), id, "one charge per key");
    }
    assert_eq!(app.balance(&user).await, 50 * 1000);
    let entries = json_of(app.get("/api/v1/wallet/entries?limit=100", Some(&user.token)).await, 200).await;
    assert_eq!(entries["items"].as_array().unwrap().len(), 50);
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert_eq!(audit.total_balance, 0);
    assert!(audit.mismatched_wallets.is_empty() && audit.negative_wallets.is_empty(), "{audit:?}");
}

#[tokio::test]
async fn wallet_and_login_keep_working_without_redis() {
    // A Redis URL nobody listens on: the cache is down from the start.
    let app = spawn_app_with(TestOptions { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() }).await;
    let user = app.user(Role::Customer).await;
    app.charge(&user, 700).await;
    assert_eq!(app.balance(&user).await, 700);
    json_of(app.login(&user.email, &user.password).await, 200).await;
    assert_error(app.login(&user.email, "wrong password").await, 401, "invalid_credentials").await;
    let body = json_of(app.get("/readyz", None).await, 200).await;
    assert_eq!(body["checks"]["cache"], "degraded");
    assert_eq!(body["checks"]["database"], "ok");
}
