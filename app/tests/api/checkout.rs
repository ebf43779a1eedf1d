//! Checkout: the saga, refusals that change nothing, idempotency, concurrency, recovery.

use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use contracts::wallet::{WalletRef, WalletService};
use serde_json::json;

#[tokio::test]
async fn a_checkout_moves_the_money_into_escrow_reserves_stock_and_empties_the_cart() {
    let app = spawn_app().await;
    let (s1, s2) = (app.user(Role::Seller).await, app.user(Role::Seller).await);
    let buyer = app.funded_user(Role::Customer, 50_000).await;
    let mug = s1.create_product("Mug", &[("Blue", 1000, 5)]).await;
    let plate = s2.create_product("Plate", &[("White", 2500, 3)]).await;
    buyer.add_to_cart(&mug, 0, 2).await;
    buyer.add_to_cart(&plate, 0, 3).await;
    let cart: Cart = buyer.get("/cart").returns(200).await;
    let order: Order = buyer.checkout("order-1", &json!({"expected_total": cart.total})).returns(201).await;
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.total, 2 * 1000 + 3 * 2500);
    assert_eq!(order.buyer_id, buyer.id);
    assert_eq!(order.items.len(), 2);
    let line = &order.items[0];
    assert_eq!(
        (line.product_id, line.item_id, line.seller_id, line.product_name.as_str(), line.item_name.as_str()),
        (mug.id, mug.item_id(0), s1.id, "Mug", "Blue")
    );
    assert_eq!((line.price, line.quantity, line.line_total, line.status), (1000, 2, 2000, LineStatus::Paid));
    assert_eq!((line.shipment.clone(), line.fee, line.net), (None, None, None));
    // Reserved, not yet taken off the shelf.
    assert_eq!((app.stock_model(&mug, 0).await, app.stock_model(&plate, 0).await), ((5, 2, 3), (3, 3, 0)));
    assert_eq!(buyer.balance().await, 50_000 - 9_500);
    // Sellers are paid on confirmation: until then the money waits in the order's escrow.
    assert_eq!((s1.balance().await, s2.balance().await), (0, 0));
    let escrow = WalletRef::escrow(format!("order:{}", order.id));
    assert_eq!(app.assembled.wallets.balance(&escrow).await.unwrap(), 9_500);
    let buyer_entries = buyer.entries().await;
    assert_eq!((buyer_entries[0].kind.as_str(), buyer_entries[0].amount), ("purchase", -9_500));
    assert_eq!(buyer_entries[0].reference, format!("order:{}", order.id));
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert!(cart.items.is_empty());
    // History: the buyer's order, and each seller's lines only.
    let list: Page<Order> = buyer.get("/orders").returns(200).await;
    assert_eq!((list.total, &list.items[0]), (1, &order));
    assert_eq!(buyer.get(&format!("/orders/{}", order.id)).returns::<Order>(200).await, order);
    let sales: Page<Order> = s2.get("/seller/orders").returns(200).await;
    assert_eq!(sales.items[0].total, 7_500);
    assert_eq!(sales.items[0].items.len(), 1);
    // The seller's view shows the fee (5%) and what they will be paid.
    assert_eq!((sales.items[0].items[0].fee, sales.items[0].items[0].net), (Some(375), Some(7_125)));
    // Deleting the product later keeps the order's snapshot.
    s1.delete(&format!("/seller/products/{}", mug.id)).await;
    assert_eq!(buyer.get(&format!("/orders/{}", order.id)).returns::<Order>(200).await, order);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn orders_belong_to_their_buyer_and_roles_are_checked() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let (buyer, other) = (app.user(Role::Customer).await, app.user(Role::Customer).await);
    buyer.charge(1000).await;
    let mug = seller.create_product("Mug", &[("Blue", 100, 5)]).await;
    buyer.add_to_cart(&mug, 0, 1).await;
    let order: Order = buyer.checkout("k", &json!({})).returns(201).await;
    let path = format!("/orders/{}", order.id);
    other.get(&path).fails(404, "not_found").await;
    seller.checkout("k", &json!({})).fails(403, "forbidden").await;
    buyer.get("/seller/orders").fails(403, "forbidden").await;
    seller.get("/orders").fails(403, "forbidden").await;
    buyer.post("/orders", &json!({})).fails(400, "idempotency_key_required").await;
    // A database outage is a 503 to retry, never a 404 that says the order does not exist.
    let db = app.assembled.database("order").unwrap().clone();
    db.simulate_outage(true);
    buyer.get(&path).fails(503, "unavailable").await;
    db.simulate_outage(false);
    assert_eq!(buyer.get(&path).returns::<Order>(200).await.id, order.id);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_empty_body_is_accepted_as_no_expected_total() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.funded_user(Role::Customer, 1000).await;
    let mug = seller.create_product("Mug", &[("Blue", 100, 5)]).await;
    buyer.add_to_cart(&mug, 0, 1).await;
    buyer.request(reqwest::Method::POST, "/orders").idempotency_key("empty").returns::<Order>(201).await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn refusals_change_nothing() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    buyer.checkout("k1", &json!({})).fails(409, "cart_empty").await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    buyer.add_to_cart(&mug, 0, 3).await;
    buyer.charge(2_999).await;
    buyer.checkout("k1", &json!({})).fails(409, "insufficient_balance").await;
    assert_eq!(app.stock(&mug, 0).await, 5, "stock released");
    assert_eq!(buyer.balance().await, 2_999);
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!(cart.items[0].quantity, 3, "cart kept");
    buyer.checkout("k1", &json!({"expected_total": 2_000})).fails(409, "cart_changed").await;
    // The refused key is free: once the cause is fixed, the same key succeeds.
    buyer.charge(1).await;
    let order: Order = buyer.checkout("k1", &json!({})).returns(201).await;
    assert_eq!(order.total, 3_000);
    assert_eq!(buyer.balance().await, 0);
    let orders: Page<Order> = buyer.get("/orders").returns(200).await;
    assert_eq!(orders.total, 1, "failed checkouts are not orders");
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_price_change_after_the_cart_was_read_is_cart_changed_never_a_silent_charge() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.funded_user(Role::Customer, 10_000).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    buyer.add_to_cart(&mug, 0, 2).await;
    let seen: Cart = buyer.get("/cart").returns(200).await;
    let path = format!("/seller/products/{}/items/{}", mug.id, mug.item_id(0));
    seller.patch(&path, &json!({"price": 1300})).returns::<Item>(200).await;
    // Without and with the expected total: refused, with the reason.
    let body = buyer.checkout("k", &json!({})).fails(409, "cart_changed").await;
    let messages = body.error.details.messages.as_ref().unwrap();
    assert!(messages[0].contains("1000 to 1300"), "{body:?}");
    buyer.checkout("k", &json!({"expected_total": seen.total})).fails(409, "cart_changed").await;
    assert_eq!(buyer.balance().await, 10_000);
    // The buyer reads the cart (messages shown once), then pays the price they saw.
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!((cart.total, cart.messages.len()), (2_600, 1));
    let order: Order = buyer.checkout("k", &json!({"expected_total": 2_600})).returns(201).await;
    assert_eq!(order.total, 2_600);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn replays_return_the_same_order_and_a_different_body_conflicts() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.funded_user(Role::Customer, 10_000).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    buyer.add_to_cart(&mug, 0, 1).await;
    let first: Order = buyer.checkout("same", &json!({"expected_total": 1000})).returns(201).await;
    let again: Order = buyer.checkout("same", &json!({"expected_total": 1000})).returns(201).await;
    assert_eq!(first, again);
    buyer.checkout("same", &json!({"expected_total": 5})).fails(409, "idempotency_conflict").await;
    assert_eq!(buyer.balance().await, 9_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_replays_of_one_key_make_one_order_and_one_debit() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.funded_user(Role::Customer, 10_000).await;
    let mug = seller.create_product("Mug", &[("Blue", 700, 1)]).await;
    buyer.add_to_cart(&mug, 0, 1).await;
    let body = json!({});
    let tries = (0..20).map(|_| buyer.checkout("one-key", &body).send());
    let mut ids = std::collections::HashSet::new();
    for res in futures::future::join_all(tries).await {
        match res.outcome::<Order>().await {
            (201, Ok(order)) => {
                ids.insert(order.id);
            }
            (409, Err(error)) => assert_eq!(error.code(), "request_in_progress", "{error:?}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(buyer.balance().await, 9_300);
    assert_eq!(app.stock(&mug, 0).await, 0);
    let purchases = buyer.entries().await.into_iter().filter(|e| e.kind == "purchase").count();
    assert_eq!(purchases, 1);
    app.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_buyers_racing_for_ten_items_make_exactly_ten_orders() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let mug = seller.create_product("Limited Mug", &[("Gold", 5_000, 10)]).await;
    let buyers: Vec<Client> = (0..100).map(|i| app.client_for(1_000 + i, Role::Customer)).collect();
    for buyer in &buyers {
        let key = format!("fund-{:.20}", buyer.token());
        buyer.post("/wallet/charges", &json!({"amount": 5_000})).idempotency_key(key).returns::<Charge>(201).await;
        buyer.add_to_cart(&mug, 0, 1).returns::<Cart>(200).await;
    }
    let body = json!({});
    let checkouts = buyers.iter().map(|buyer| send_retrying(|| buyer.checkout("buy", &body)));
    let mut paid = 0;
    let mut out_of_stock = 0;
    for res in futures::future::join_all(checkouts).await {
        match res.outcome::<Order>().await {
            (201, Ok(_)) => paid += 1,
            (409, Err(error)) if error.code() == "out_of_stock" => out_of_stock += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((paid, out_of_stock), (10, 90));
    assert_eq!(app.stock(&mug, 0).await, 0);
    let mut debited = 0;
    for buyer in &buyers {
        match buyer.balance().await {
            0 => debited += 1,
            5_000 => {}
            other => panic!("balance {other}"),
        }
    }
    assert_eq!(debited, 10, "only buyers with a paid order paid");
    assert_eq!(seller.balance().await, 0, "paid on confirmation, not at checkout");
    assert_eq!(app.stock_model(&mug, 0).await, (10, 10, 0));
    app.assert_ledger_balanced().await;
}

/// Crashes one checkout at the first transfer whose key contains `pattern`, recovers, and
/// checks the invariants; returns whether the order ended paid.
async fn crash_and_recover(pattern: &str, crash: Crash) -> bool {
    let (app, faults) = crash_once_app().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.funded_user(Role::Customer, 10_000).await;
    let mug = seller.create_product("Mug", &[("Blue", 1_500, 4)]).await;
    buyer.add_to_cart(&mug, 0, 2).await;
    faults.arm(pattern, crash);
    buyer.checkout("crashy", &json!({})).fails(503, "unavailable").await;
    // Not yet stale: recovery leaves the order alone (its request might still be running).
    assert_eq!(app.assembled.orders.recover().await.unwrap(), 0);
    app.clock.advance(Duration::seconds(31));
    assert_eq!(app.assembled.orders.recover().await.unwrap(), 1);
    assert_eq!(app.assembled.orders.recover().await.unwrap(), 0, "resolved once");
    let buyer = app.login_user(&buyer.email, &buyer.password).await;
    let seller = app.login_user(&seller.email, &seller.password).await;
    let orders: Page<Order> = buyer.get("/orders").returns(200).await;
    let paid = orders.total == 1;
    let (stock, buyer_balance, seller_balance) =
        (app.stock(&mug, 0).await, buyer.balance().await, seller.balance().await);
    if paid {
        assert_eq!((stock, buyer_balance, seller_balance), (2, 7_000, 0));
        // The client's retry of the same key gets the order that was completed for it.
        let replay: Order = buyer.checkout("crashy", &json!({})).returns(201).await;
        assert_eq!(replay.id, orders.items[0].id);
    } else {
        assert_eq!((stock, buyer_balance, seller_balance), (4, 10_000, 0));
        // Nothing was stored for the client: the same key now simply works.
        buyer.checkout("crashy", &json!({})).returns::<Order>(201).await;
        assert_eq!((app.stock(&mug, 0).await, buyer.balance().await), (2, 7_000));
    }
    app.assert_ledger_balanced().await;
    // Every order escrow holds exactly its total: nothing is stranded or taken twice.
    for order in buyer.get("/orders").returns::<Page<Order>>(200).await.items {
        let escrow = WalletRef::escrow(format!("order:{}", order.id));
        assert_eq!(app.assembled.wallets.balance(&escrow).await.unwrap(), order.total);
    }
    paid
}

#[tokio::test]
async fn a_crash_after_the_reservation_is_undone_by_recovery() {
    assert!(!crash_and_recover(":debit", Crash::Before).await);
}

#[tokio::test]
async fn a_crash_after_the_debit_is_completed_by_recovery() {
    assert!(crash_and_recover(":debit", Crash::After).await);
}

/// A locking read whose lock wait runs out fails, and the connection's next use of the same
/// statement answers. It would not if the statement were kept prepared: libmariadb's kept
/// statement then waits forever for an answer the server never sends (see
/// `platform::db::Cached`; seen with `.cached()` added to `lock_rows`). MySQL only: SQLite
/// has no row locks.
#[test]
fn a_locking_read_survives_a_lock_wait_that_runs_out() {
    use diesel::connection::SimpleConnection;
    use platform::db::{Backend, DbError, DbTarget, lock_rows};
    use std::sync::mpsc::channel;
    use std::time::Duration;
    if platform::testkit::backend() != Backend::Mysql {
        return;
    }
    let test_db = platform::testkit::TestDatabase::create(&[]);
    let target = DbTarget::parse(test_db.url()).unwrap();
    let mut conn = target.establish().unwrap();
    conn.batch_execute(
        "CREATE TABLE locked (id BIGINT PRIMARY KEY) ENGINE = InnoDB; INSERT INTO locked VALUES (1), (2); \
         SET SESSION innodb_lock_wait_timeout = 1",
    )
    .unwrap();
    // Row 2 held by another session until told.
    let (release, released) = channel::<()>();
    let (held, is_held) = channel::<()>();
    let holder_target = target.clone();
    let holder = std::thread::spawn(move || {
        let mut conn = holder_target.establish().unwrap();
        conn.batch_execute("BEGIN; SELECT id FROM locked WHERE id = 2 FOR UPDATE").unwrap();
        held.send(()).unwrap();
        released.recv().unwrap();
        conn.batch_execute("ROLLBACK").unwrap();
    });
    is_held.recv().unwrap();
    // Each attempt locks row 1, then waits for row 2; on a thread of its own, so that a hang
    // fails this test instead of hanging the suite.
    let (results, answers) = channel::<Result<(), DbError>>();
    let (go, gone) = channel::<()>();
    std::thread::spawn(move || {
        while gone.recv().is_ok() {
            let result = conn.batch_execute("BEGIN").map_err(DbError::from).and_then(|()| {
                let locked = lock_rows(&mut conn, "locked", "id", &[1, 2]);
                conn.batch_execute("ROLLBACK")?;
                locked
            });
            results.send(result).unwrap();
        }
    });
    let wait = Duration::from_secs(30);
    go.send(()).unwrap();
    let timed_out = answers.recv_timeout(wait).expect("the first attempt answers").unwrap_err();
    assert!(timed_out.to_string().contains("Lock wait timeout"), "{timed_out}");
    release.send(()).unwrap();
    holder.join().unwrap();
    go.send(()).unwrap();
    answers.recv_timeout(wait).expect("the same statement answers again on the same connection").unwrap();
}
