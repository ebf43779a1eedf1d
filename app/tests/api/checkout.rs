//! Checkout: the saga, refusals that change nothing, idempotency, concurrency, recovery.

use crate::helpers::*;
use async_trait::async_trait;
use chrono::Duration;
use contracts::wallet::{CancelOutcome, TransferReceipt, TransferRequest, WalletError, WalletRef, WalletService};
use contracts::{Role, ServiceError};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

async fn entries(app: &TestApp, token: &str) -> Vec<Value> {
    let page = json_of(app.get("/api/v1/wallet/entries?limit=100", Some(token)).await, 200).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_checkout_pays_each_seller_their_lines_and_empties_the_cart() {
    let app = spawn_app().await;
    let (s1, s2) = (app.user(Role::Seller).await, app.user(Role::Seller).await);
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 50_000).await;
    let mug = app.product(&s1.token, "Mug", &[("Blue", 1000, 5)]).await;
    let plate = app.product(&s2.token, "Plate", &[("White", 2500, 3)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 2).await;
    app.add_to_cart(&buyer.token, &plate, 0, 3).await;
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    let order =
        json_of(app.checkout(&buyer.token, "order-1", &json!({"expected_total": cart["total"]})).await, 201).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"], 2 * 1000 + 3 * 2500);
    assert_eq!(order["buyer_id"], buyer.id);
    let items = order["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0],
        json!({"product_id": mug["id"], "item_id": mug["items"][0]["id"], "seller_id": s1.id,
        "product_name": "Mug", "item_name": "Blue", "price": 1000, "quantity": 2})
    );
    assert_eq!((app.stock(&mug, 0).await, app.stock(&plate, 0).await), (3, 0));
    assert_eq!(app.balance(&buyer).await, 50_000 - 9_500);
    assert_eq!((app.balance(&s1).await, app.balance(&s2).await), (2_000, 7_500));
    let buyer_entries = entries(&app, &buyer.token).await;
    assert_eq!(
        (buyer_entries[0]["kind"].as_str(), buyer_entries[0]["amount"].as_i64()),
        (Some("purchase"), Some(-9_500))
    );
    assert_eq!(buyer_entries[0]["reference"], format!("order:{}", order["id"]));
    assert_eq!(entries(&app, &s2.token).await[0]["kind"], "sale");
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"], json!([]));
    // History: the buyer's order, and each seller's lines only.
    let list = json_of(app.get("/api/v1/orders", Some(&buyer.token)).await, 200).await;
    assert_eq!((list["total"].as_i64(), &list["items"][0]), (Some(1), &order));
    assert_eq!(
        json_of(app.get(&format!("/api/v1/orders/{}", order["id"]), Some(&buyer.token)).await, 200).await,
        order
    );
    let sales = json_of(app.get("/api/v1/seller/orders", Some(&s2.token)).await, 200).await;
    assert_eq!(sales["items"][0]["total"], 7_500);
    assert_eq!(sales["items"][0]["items"].as_array().unwrap().len(), 1);
    // Deleting the product later keeps the order's snapshot.
    app.delete(&format!("/api/v1/seller/products/{}", mug["id"]), Some(&s1.token)).await;
    assert_eq!(
        json_of(app.get(&format!("/api/v1/orders/{}", order["id"]), Some(&buyer.token)).await, 200).await,
        order
    );
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert!(audit.mismatched_wallets.is_empty() && audit.negative_wallets.is_empty() && audit.total_balance == 0);
}

#[tokio::test]
async fn orders_belong_to_their_buyer_and_roles_are_checked() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let (buyer, other) = (app.user(Role::Customer).await, app.user(Role::Customer).await);
    app.charge(&buyer, 1000).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 100, 5)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    let order = json_of(app.checkout(&buyer.token, "k", &json!({})).await, 201).await;
    assert_error(app.get(&format!("/api/v1/orders/{}", order["id"]), Some(&other.token)).await, 404, "not_found").await;
    assert_error(app.checkout(&seller.token, "k", &json!({})).await, 403, "forbidden").await;
    assert_error(app.get("/api/v1/seller/orders", Some(&buyer.token)).await, 403, "forbidden").await;
    assert_error(app.get("/api/v1/orders", Some(&seller.token)).await, 403, "forbidden").await;
    let res = app.post("/api/v1/orders", Some(&buyer.token), &json!({})).await;
    assert_error(res, 400, "idempotency_key_required").await;
    // A database outage is a 503 to retry, never a 404 that says the order does not exist.
    let path = format!("/api/v1/orders/{}", order["id"]);
    let db = app.assembled.database("order").unwrap().clone();
    db.simulate_outage(true);
    assert_error(app.get(&path, Some(&buyer.token)).await, 503, "unavailable").await;
    db.simulate_outage(false);
    assert_eq!(json_of(app.get(&path, Some(&buyer.token)).await, 200).await["id"], order["id"]);
}

#[tokio::test]
async fn an_empty_body_is_accepted_as_no_expected_total() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 1000).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 100, 5)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    let res = app
        .request(reqwest::Method::POST, "/api/v1/orders")
        .bearer_auth(&buyer.token)
        .header("Idempotency-Key", "empty")
        .send()
        .await
        .unwrap();
    json_of(res, 201).await;
}

#[tokio::test]
async fn refusals_change_nothing() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    assert_error(app.checkout(&buyer.token, "k1", &json!({})).await, 409, "cart_empty").await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 1000, 5)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 3).await;
    app.charge(&buyer, 2_999).await;
    assert_error(app.checkout(&buyer.token, "k1", &json!({})).await, 409, "insufficient_balance").await;
    assert_eq!(app.stock(&mug, 0).await, 5, "stock released");
    assert_eq!(app.balance(&buyer).await, 2_999);
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"][0]["quantity"], 3, "cart kept");
    assert_error(app.checkout(&buyer.token, "k1", &json!({"expected_total": 2_000})).await, 409, "cart_changed").await;
    // The refused key is free: once the cause is fixed, the same key succeeds.
    app.charge(&buyer, 1).await;
    let order = json_of(app.checkout(&buyer.token, "k1", &json!({})).await, 201).await;
    assert_eq!(order["total"], 3_000);
    assert_eq!(app.balance(&buyer).await, 0);
    let orders = json_of(app.get("/api/v1/orders", Some(&buyer.token)).await, 200).await;
    assert_eq!(orders["total"], 1, "failed checkouts are not orders");
}

#[tokio::test]
async fn a_price_change_after_the_cart_was_read_is_cart_changed_never_a_silent_charge() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 10_000).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 1000, 5)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 2).await;
    let seen = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    let path = format!("/api/v1/seller/products/{}/items/{}", mug["id"], mug["items"][0]["id"]);
    json_of(app.patch(&path, Some(&seller.token), &json!({"price": 1300})).await, 200).await;
    // Without and with the expected total: refused, with the reason.
    let body = assert_error(app.checkout(&buyer.token, "k", &json!({})).await, 409, "cart_changed").await;
    let messages = body["error"]["details"]["messages"].as_array().unwrap();
    assert!(messages[0].as_str().unwrap().contains("1000 to 1300"), "{body}");
    assert_error(app.checkout(&buyer.token, "k", &json!({"expected_total": seen["total"]})).await, 409, "cart_changed")
        .await;
    assert_eq!(app.balance(&buyer).await, 10_000);
    // The buyer reads the cart (messages shown once), then pays the price they saw.
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!((cart["total"].as_i64(), cart["messages"].as_array().unwrap().len()), (Some(2_600), 1));
    let order = json_of(app.checkout(&buyer.token, "k", &json!({"expected_total": 2_600})).await, 201).await;
    assert_eq!(order["total"], 2_600);
}

#[tokio::test]
async fn replays_return_the_same_order_and_a_different_body_conflicts() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 10_000).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 1000, 5)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    let first = json_of(app.checkout(&buyer.token, "same", &json!({"expected_total": 1000})).await, 201).await;
    let again = json_of(app.checkout(&buyer.token, "same", &json!({"expected_total": 1000})).await, 201).await;
    assert_eq!(first, again);
    assert_error(app.checkout(&buyer.token, "same", &json!({"expected_total": 5})).await, 409, "idempotency_conflict")
        .await;
    assert_eq!(app.balance(&buyer).await, 9_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_replays_of_one_key_make_one_order_and_one_debit() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 10_000).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 700, 1)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    let body = json!({});
    let tries = (0..20).map(|_| app.checkout(&buyer.token, "one-key", &body));
    let mut ids = std::collections::HashSet::new();
    for res in futures::future::join_all(tries).await {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        match status {
            201 => {
                ids.insert(body["id"].as_i64().unwrap());
            }
            409 => assert_eq!(body["error"]["code"], "request_in_progress", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.balance(&buyer).await, 9_300);
    assert_eq!(app.stock(&mug, 0).await, 0);
    let purchases = entries(&app, &buyer.token).await.into_iter().filter(|e| e["kind"] == "purchase").count();
    assert_eq!(purchases, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_buyers_racing_for_ten_items_make_exactly_ten_orders() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let mug = app.product(&seller.token, "Limited Mug", &[("Gold", 5_000, 10)]).await;
    let buyers: Vec<String> = (0..100).map(|i| app.token_for(1_000 + i, Role::Customer)).collect();
    for token in &buyers {
        let key = format!("fund-{token:.20}");
        json_of(app.post_keyed("/api/v1/wallet/charges", token, &key, &json!({"amount": 5_000})).await, 201).await;
        json_of(app.add_to_cart(token, &mug, 0, 1).await, 200).await;
    }
    let body = json!({});
    let checkouts = buyers.iter().map(|token| app.checkout(token, "buy", &body));
    let mut paid = 0;
    let mut out_of_stock = 0;
    for res in futures::future::join_all(checkouts).await {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        match (status, body["error"]["code"].as_str()) {
            (201, _) => paid += 1,
            (409, Some("out_of_stock")) => out_of_stock += 1,
            other => panic!("unexpected {other:?}: {body}"),
        }
    }
    assert_eq!((paid, out_of_stock), (10, 90));
    assert_eq!(app.stock(&mug, 0).await, 0);
    let mut debited = 0;
    for token in &buyers {
        match app.balance_of(token).await {
            0 => debited += 1,
            5_000 => {}
            other => panic!("balance {other}"),
        }
    }
    assert_eq!(debited, 10, "only buyers with a paid order paid");
    assert_eq!(app.balance(&seller).await, 50_000);
}

/// Fails one matching wallet call: before applying it (the request died before the step)
/// or after applying it (the request died right after the step).
#[derive(Clone, Copy, Debug, PartialEq)]
enum When {
    Before,
    After,
}

#[derive(Default)]
struct Faults {
    rule: Mutex<Option<(String, When)>>,
}

struct FaultyWallet {
    inner: Arc<dyn WalletService>,
    faults: Arc<Faults>,
}

impl FaultyWallet {
    fn trip(&self, key: &str) -> Option<When> {
        let mut rule = self.faults.rule.lock().unwrap();
        match rule.as_ref() {
            Some((pattern, when)) if key.contains(pattern.as_str()) => {
                let when = *when;
                *rule = None;
                Some(when)
            }
            _ => None,
        }
    }
}

fn crash() -> WalletError {
    WalletError::Service(ServiceError::Unavailable("injected crash".into()))
}

#[async_trait]
impl WalletService for FaultyWallet {
    async fn balance(&self, wallet: &WalletRef) -> Result<i64, WalletError> {
        self.inner.balance(wallet).await
    }

    async fn transfer(&self, request: TransferRequest) -> Result<TransferReceipt, WalletError> {
        match self.trip(&request.idempotency_key) {
            Some(When::Before) => Err(crash()),
            Some(When::After) => {
                self.inner.transfer(request).await?;
                Err(crash())
            }
            None => self.inner.transfer(request).await,
        }
    }

    async fn find_transfer(&self, key: &str) -> Result<Option<TransferReceipt>, WalletError> {
        self.inner.find_transfer(key).await
    }

    async fn cancel(&self, key: &str) -> Result<CancelOutcome, WalletError> {
        self.inner.cancel(key).await
    }
}

async fn faulty_app() -> (TestApp, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let shared = faults.clone();
    let options = TestOptions {
        wallet_wrapper: Some(Arc::new(move |inner| Arc::new(FaultyWallet { inner, faults: shared.clone() }))),
        // Recovery is driven by the test, after moving the clock.
        settings: vec![("order.recovery_interval_ms".into(), "3600000".into())],
        ..Default::default()
    };
    (spawn_app_with(options).await, faults)
}

/// Crashes one checkout at `pattern`/`when`, recovers, and checks the invariants; returns
/// whether the order ended paid.
async fn crash_and_recover(pattern: &str, when: When) -> bool {
    let (app, faults) = faulty_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 10_000).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 1_500, 4)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 2).await;
    *faults.rule.lock().unwrap() = Some((pattern.to_string(), when));
    assert_error(app.checkout(&buyer.token, "crashy", &json!({})).await, 503, "unavailable").await;
    // Not yet stale: recovery leaves the order alone (its request might still be running).
    assert_eq!(app.assembled.orders.recover().await.unwrap(), 0);
    app.clock.advance(Duration::seconds(31));
    assert_eq!(app.assembled.orders.recover().await.unwrap(), 1);
    assert_eq!(app.assembled.orders.recover().await.unwrap(), 0, "resolved once");
    let buyer = app.login_user(&buyer.email, &buyer.password).await;
    let seller = app.login_user(&seller.email, &seller.password).await;
    let orders = json_of(app.get("/api/v1/orders", Some(&buyer.token)).await, 200).await;
    let paid = orders["total"] == 1;
    let (stock, buyer_balance, seller_balance) =
        (app.stock(&mug, 0).await, app.balance(&buyer).await, app.balance(&seller).await);
    if paid {
        assert_eq!((stock, buyer_balance, seller_balance), (2, 7_000, 3_000));
        // The client's retry of the same key gets the order that was completed for it.
        let replay = json_of(app.checkout(&buyer.token, "crashy", &json!({})).await, 201).await;
        assert_eq!(replay["id"], orders["items"][0]["id"]);
    } else {
        assert_eq!((stock, buyer_balance, seller_balance), (4, 10_000, 0));
        // Nothing was stored for the client: the same key now simply works.
        json_of(app.checkout(&buyer.token, "crashy", &json!({})).await, 201).await;
        assert_eq!((app.stock(&mug, 0).await, app.balance(&buyer).await), (2, 7_000));
    }
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert!(
        audit.mismatched_wallets.is_empty() && audit.negative_wallets.is_empty() && audit.total_balance == 0,
        "{audit:?}"
    );
    // Every order escrow is back to zero: nothing is stranded.
    for order in json_of(app.get("/api/v1/orders", Some(&buyer.token)).await, 200).await["items"].as_array().unwrap() {
        let escrow = WalletRef::escrow(format!("order:{}", order["id"]));
        assert_eq!(app.assembled.wallets.balance(&escrow).await.unwrap(), 0);
    }
    paid
}

#[tokio::test]
async fn a_crash_after_the_reservation_is_undone_by_recovery() {
    assert!(!crash_and_recover(":debit", When::Before).await);
}

#[tokio::test]
async fn a_crash_after_the_debit_is_completed_by_recovery() {
    assert!(crash_and_recover(":debit", When::After).await);
}

#[tokio::test]
async fn a_crash_before_the_seller_credit_is_completed_by_recovery() {
    assert!(crash_and_recover(":sale:", When::Before).await);
}

#[tokio::test]
async fn a_crash_after_the_seller_credit_is_completed_by_recovery() {
    assert!(crash_and_recover(":sale:", When::After).await);
}
