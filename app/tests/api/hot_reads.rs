//! Product detail, the cart, balances and the feed's rows served from memory
//! (`platform::hotcache`): every change is visible at once to the next request on every
//! instance, and a Redis that is down sends every read to the database. Two instances talk
//! through a Redis of the test's own, so these run in the SQLite suite too.

use crate::helpers::*;
use contracts::Role;
use platform::clock::Clock;
use serde_json::{Value, json};
use std::time::Duration;

/// Two instances on the same databases and a private Redis.
struct Pair {
    a: TestApp,
    b: TestApp,
    redis: PrivateRedis,
}

async fn pair() -> Option<Pair> {
    let Some(redis) = PrivateRedis::start() else {
        eprintln!("redis-server not installed; skipping");
        return None;
    };
    let a = spawn_app_with(TestOptions { redis_url: Some(redis.url()), ..Default::default() }).await;
    let b = spawn_peer(&a).await;
    Some(Pair { a, b, redis })
}

/// Reads `path` on `app` until it was answered from memory (the cache warms once the
/// instance's first invalidation heartbeat came back), and returns that answer.
async fn warm<T: serde::de::DeserializeOwned>(app: &TestApp, client: &impl Api, path: &str) -> T {
    let hits = || app.assembled.order_hot.hits();
    let served = platform::testkit::eventually(Duration::from_secs(10), || async {
        let before = hits();
        let body: T = client.get(path).returns(200).await;
        (hits() > before).then_some(body)
    })
    .await;
    served.unwrap_or_else(|| panic!("{path} was never served from memory"))
}

/// What `client` reads at `path` once it satisfies `settled`: another instance applies an
/// invalidation when its pub/sub message arrives (normally well under a millisecond after
/// the writer answered; the heartbeat rule turns its cache off after 2 s without messages),
/// so a read there is polled for up to that bound rather than assumed instant.
async fn seen<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    client: &impl Api,
    path: &str,
    settled: impl Fn(&T) -> bool,
) -> T {
    let mut last = None;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < deadline {
        let body: T = client.get(path).returns(200).await;
        if settled(&body) {
            return body;
        }
        last = Some(body);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{path} still stale after the documented bound: {last:?}")
}

#[tokio::test]
async fn a_sellers_edit_is_visible_at_once_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let seller = a.user(Role::Seller).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    let path = format!("/products/{}", mug.id);
    let warmed: Product = warm(&b, &b, &path).await;
    assert_eq!(warmed, mug);

    seller.patch(&format!("/seller/products/{}", mug.id), &json!({"name": "Big Mug"})).returns::<Product>(200).await;
    seen::<Product>(&b, &path, |p| p.name == "Big Mug").await;

    warm::<Product>(&b, &b, &path).await;
    let item = format!("/seller/products/{}/items/{}", mug.id, mug.item_id(0));
    seller.patch(&item, &json!({"price": 1300, "stock": 2})).returns::<Value>(200).await;
    seen::<Product>(&b, &path, |p| (p.items[0].price, p.items[0].stock) == (1300, 2)).await;

    warm::<Product>(&b, &b, &path).await;
    assert_eq!(seller.delete(&format!("/seller/products/{}", mug.id)).await.status(), 204);
    let gone = platform::testkit::eventually(Duration::from_millis(2500), || async {
        (b.get(&path).send().await.status() == 404).then_some(())
    })
    .await;
    assert!(gone.is_some(), "a deleted product still served on the other instance");
    b.get(&path).fails(404, "not_found").await;
}

#[tokio::test]
async fn cart_and_stock_changes_are_visible_at_once_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let seller = a.user(Role::Seller).await;
    let buyer = a.funded_user(Role::Customer, 100_000).await;
    let other = a.funded_user(Role::Customer, 100_000).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    let on_b = buyer.on(&b);
    buyer.add_to_cart(&mug, 0, 1).returns::<Cart>(200).await;
    let cart: Cart = warm(&b, &on_b, "/cart").await;
    assert_eq!(cart.items[0].quantity, 1);

    // The buyer's own change (made on the other instance).
    buyer.add_to_cart(&mug, 0, 1).returns::<Cart>(200).await;
    seen::<Cart>(&on_b, "/cart", |c| c.items[0].quantity == 2).await;

    // A seller's price change reaches the cached cart, with its message shown once.
    warm::<Cart>(&b, &on_b, "/cart").await;
    let item = format!("/seller/products/{}/items/{}", mug.id, mug.item_id(0));
    seller.patch(&item, &json!({"price": 1100})).returns::<Value>(200).await;
    let cart: Cart = seen(&on_b, "/cart", |c: &Cart| c.items[0].price == 1100).await;
    assert_eq!(cart.messages.len(), 1, "{:?}", cart.messages);
    let cart: Cart = on_b.get("/cart").returns(200).await;
    assert!(cart.messages.is_empty());

    // Stock another buyer takes at checkout shows at once in the detail and the cart.
    let path = format!("/products/{}", mug.id);
    warm::<Product>(&b, &b, &path).await;
    warm::<Cart>(&b, &on_b, "/cart").await;
    other.add_to_cart(&mug, 0, 4).returns::<Cart>(200).await;
    other.checkout("take-4", &json!({})).returns::<Order>(201).await;
    seen::<Product>(&b, &path, |p| p.items[0].available == 1).await;
    seen::<Cart>(&on_b, "/cart", |c| c.items[0].quantity == 1).await;

    // A checkout empties the cart, seen on the other instance at once.
    warm::<Cart>(&b, &on_b, "/cart").await;
    buyer.checkout("mine", &json!({})).returns::<Order>(201).await;
    seen::<Cart>(&on_b, "/cart", |c| c.items.is_empty()).await;
}

#[tokio::test]
async fn with_redis_down_reads_come_from_the_database_and_stay_true() {
    let Some(Pair { a, b, mut redis }) = pair().await else { return };
    let seller = a.user(Role::Seller).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    let path = format!("/products/{}", mug.id);
    warm::<Product>(&b, &b, &path).await;

    redis.stop();
    // The invalidation cannot be published: the other instance must not trust its memory.
    let renamed = json!({"name": "Renamed while Redis was down"});
    seller.patch(&format!("/seller/products/{}", mug.id), &renamed).returns::<Product>(200).await;
    let read: Product = b.get(&path).returns(200).await;
    assert_eq!(read.name, "Renamed while Redis was down");
    let hits = b.assembled.order_hot.hits();
    for _ in 0..3 {
        b.get(&path).returns::<Product>(200).await;
    }
    assert_eq!(b.assembled.order_hot.hits(), hits, "nothing is served from memory while Redis is down");

    // Back: the cache warms again, and what it serves is current.
    redis.restart().unwrap();
    let read: Product = warm(&b, &b, &path).await;
    assert_eq!(read.name, "Renamed while Redis was down");
    seller.patch(&format!("/seller/products/{}", mug.id), &json!({"name": "Back"})).returns::<Product>(200).await;
    // Made on `a`, read on `b`: applied when b's receiver runs (the documented bound), as above.
    let read: Product = seen(&b, &path, |p: &Product| p.name == "Back").await;
    assert_eq!(read.name, "Back");
}

/// The names in the feed's newest-products row, as `client` reads it.
fn newest(feed: &Feed) -> Vec<(String, bool)> {
    feed.rows
        .iter()
        .find(|r| r.meta.title == "New")
        .and_then(|r| r.data["items"].as_array())
        .map(|items| {
            items.iter().map(|p| (p["name"].as_str().unwrap_or("").to_string(), p["in_stock"] == true)).collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_feeds_newest_products_follow_every_edit_and_checkout_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let admin = a.admin().await;
    let row = json!({ "row_provider_type": "NEW_PRODUCTS", "position": 1, "title": "New" });
    admin.post("/admin/feed/rows", &row).returns::<Value>(201).await;
    let seller = a.user(Role::Seller).await;
    let buyer = a.funded_user(Role::Customer, 100_000).await;
    let on_b = buyer.on(&b);
    let mug = seller.create_product("Mug", &[("Blue", 1000, 1)]).await;
    seen::<Feed>(&on_b, "/feed", |f| newest(f) == [("Mug".to_string(), true)]).await;

    // A new product.
    warm::<Feed>(&b, &on_b, "/feed").await;
    let lamp = seller.create_product("Lamp", &[("Red", 500, 3)]).await;
    seen::<Feed>(&on_b, "/feed", |f| newest(f).first().is_some_and(|(name, _)| name == "Lamp")).await;

    // The last mug bought (stock, not a seller edit).
    warm::<Feed>(&b, &on_b, "/feed").await;
    buyer.add_to_cart(&mug, 0, 1).returns::<Cart>(200).await;
    buyer.checkout("last-mug", &json!({})).returns::<Order>(201).await;
    seen::<Feed>(&on_b, "/feed", |f| newest(f).contains(&("Mug".to_string(), false))).await;

    // A deleted product.
    warm::<Feed>(&b, &on_b, "/feed").await;
    assert_eq!(seller.delete(&format!("/seller/products/{}", lamp.id)).await.status(), 204);
    seen::<Feed>(&on_b, "/feed", |f| newest(f) == [("Mug".to_string(), false)]).await;
}

/// The feed's unread-chats row as `client` reads it: (unread messages, newest preview), or
/// `None` when the row is omitted (nothing unread).
fn unread(feed: &Feed) -> Option<(i64, String)> {
    feed.rows.iter().find(|r| r.meta.title == "Chats").map(|r| {
        let preview = r.data["rooms"][0]["last_message_preview"].as_str().unwrap_or("").to_string();
        (r.data["unread_messages"].as_i64().unwrap_or(-1), preview)
    })
}

#[tokio::test]
async fn the_feeds_unread_chats_follow_every_message_read_and_block_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let admin = a.admin().await;
    let row = json!({ "row_provider_type": "UNREAD_CHATS", "position": 1, "title": "Chats" });
    admin.post("/admin/feed/rows", &row).returns::<Value>(201).await;
    // Always shown: tells when the other instance has the rows.
    let marker = json!({ "row_provider_type": "NOTICE", "position": 2, "title": "Notice" });
    admin.post("/admin/feed/rows", &marker).returns::<Value>(201).await;
    let seller = a.user(Role::Seller).await;
    let buyer = a.user(Role::Customer).await;
    let friend = a.user(Role::Customer).await;
    let on_b = buyer.on(&b);
    let chats = |m: i64, p: &str| Some((m, p.to_string()));

    // Nothing unread yet, cached as such; then a new room with a message.
    seen::<Feed>(&on_b, "/feed", |f| f.titles().contains(&"Notice".to_string()) && unread(f).is_none()).await;
    warm::<Feed>(&b, &on_b, "/feed").await;
    let room: Room = seller.post("/chat/rooms/direct", &json!({ "user_id": buyer.id })).returns(201).await;
    let messages = format!("/chat/rooms/{}/messages", room.id);
    seller.post(&messages, &json!({ "body": "one" })).returns::<Message>(201).await;
    seen::<Feed>(&on_b, "/feed", |f| unread(f) == chats(1, "one")).await;

    // Another message in the same room.
    warm::<Feed>(&b, &on_b, "/feed").await;
    let two: Message = seller.post(&messages, &json!({ "body": "two" })).returns(201).await;
    seen::<Feed>(&on_b, "/feed", |f| unread(f) == chats(2, "two")).await;

    // Personal: the sender has nothing unread, and reads its own feed on the same instance.
    let seller_feed: Feed = seller.on(&b).get("/feed").returns(200).await;
    assert_eq!(unread(&seller_feed), None);

    // The buyer reads them (on the other instance).
    warm::<Feed>(&b, &on_b, "/feed").await;
    let read = json!({ "message_id": two.id });
    assert_eq!(buyer.post(&format!("/chat/rooms/{}/read", room.id), &read).await.status(), 204);
    seen::<Feed>(&on_b, "/feed", |f| unread(f).is_none()).await;

    // A room the buyer is invited into, with its unread message.
    let group: Room = friend.post("/chat/rooms", &json!({ "name": "Group", "member_ids": [] })).returns(201).await;
    friend
        .post(&format!("/chat/rooms/{}/messages", group.id), &json!({ "body": "hi all" }))
        .returns::<Message>(201)
        .await;
    warm::<Feed>(&b, &on_b, "/feed").await;
    friend
        .post(&format!("/chat/rooms/{}/members", group.id), &json!({ "user_ids": [buyer.id] }))
        .returns::<Room>(200)
        .await;
    seen::<Feed>(&on_b, "/feed", |f| unread(f) == chats(1, "hi all")).await;

    // Blocking the sender drops its messages from the buyer's counts.
    warm::<Feed>(&b, &on_b, "/feed").await;
    buyer.post("/chat/blocks", &json!({ "user_id": friend.id })).returns::<Value>(201).await;
    seen::<Feed>(&on_b, "/feed", |f| unread(f).is_none()).await;
}

/// `(id, pool, contributors)` of the feed's open-missions row.
fn open_missions(feed: &Feed) -> Vec<(i64, i64, i64)> {
    feed.rows
        .iter()
        .find(|r| r.meta.title == "Missions")
        .and_then(|r| r.data["items"].as_array())
        .map(|items| {
            let field = |m: &Value, name: &str| m[name].as_i64().unwrap_or(-1);
            items.iter().map(|m| (field(m, "id"), field(m, "pool"), field(m, "contributors"))).collect()
        })
        .unwrap_or_default()
}

/// The feed's wallet row.
fn feed_balance(feed: &Feed) -> Option<i64> {
    feed.rows.iter().find(|r| r.meta.title == "Wallet").and_then(|r| r.data["balance"].as_i64())
}

#[tokio::test]
async fn balances_follow_every_transfer_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let admin = a.admin().await;
    let row = json!({ "row_provider_type": "MY_WALLET", "position": 1, "title": "Wallet" });
    admin.post("/admin/feed/rows", &row).returns::<Value>(201).await;
    let seller = a.user(Role::Seller).await;
    let buyer = a.funded_user(Role::Customer, 10_000).await;
    let on_b = buyer.on(&b);
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    let wallet: Wallet = warm(&b, &on_b, "/wallet").await;
    assert_eq!(wallet.balance, 10_000);

    // A charge (money in).
    buyer.charge(1_000).await;
    seen::<Wallet>(&on_b, "/wallet", |w| w.balance == 11_000).await;

    // A checkout (into the order's escrow), in the feed's row too.
    warm::<Wallet>(&b, &on_b, "/wallet").await;
    warm::<Feed>(&b, &on_b, "/feed").await;
    buyer.add_to_cart(&mug, 0, 2).returns::<Cart>(200).await;
    let order: Order = buyer.checkout("two-mugs", &json!({})).returns(201).await;
    seen::<Wallet>(&on_b, "/wallet", |w| w.balance == 9_000).await;
    seen::<Feed>(&on_b, "/feed", |f| feed_balance(f) == Some(9_000)).await;

    // A cancellation (a refund out of the escrow).
    warm::<Wallet>(&b, &on_b, "/wallet").await;
    let cancel = json!({ "item_ids": [mug.item_id(0)] });
    buyer.post(&format!("/orders/{}/cancel", order.id), &cancel).returns::<Order>(200).await;
    seen::<Wallet>(&on_b, "/wallet", |w| w.balance == 11_000).await;

    // A refused transfer moves nothing and the cached balance stays true.
    warm::<Wallet>(&b, &on_b, "/wallet").await;
    let piano = seller.create_product("Piano", &[("Black", 20_000, 1)]).await;
    buyer.add_to_cart(&piano, 0, 1).returns::<Cart>(200).await;
    buyer.checkout("too-much", &json!({})).fails(409, "insufficient_balance").await;
    assert_eq!(on_b.get("/wallet").returns::<Wallet>(200).await.balance, 11_000);
    a.assert_ledger_balanced().await;
}

#[tokio::test]
async fn the_feeds_open_missions_follow_contributions_and_decisions_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let admin = a.admin().await;
    let row = json!({ "row_provider_type": "MY_MISSIONS", "position": 1, "title": "Missions" });
    admin.post("/admin/feed/rows", &row).returns::<Value>(201).await;
    let streamer = a.user(Role::Streamer).await;
    let creator = a.funded_user(Role::Customer, 10_000).await;
    let backer = a.funded_user(Role::Customer, 10_000).await;
    let (creator_b, backer_b) = (creator.on(&b), backer.on(&b));
    let due = (a.clock.now() + chrono::Duration::hours(3)).to_rfc3339();
    let body = json!({ "streamer_id": streamer.id, "title": "No-hit run", "stake": 500, "deadline": due });
    // Cached empty before the mission exists.
    warm::<Feed>(&b, &creator_b, "/feed").await;
    warm::<Feed>(&b, &backer_b, "/feed").await;
    let mission: Mission = creator.post("/missions", &body).idempotency_key("m1").returns(201).await;
    seen::<Feed>(&creator_b, "/feed", |f| open_missions(f) == [(mission.id, 500, 1)]).await;
    assert!(open_missions(&backer_b.get("/feed").returns::<Feed>(200).await).is_empty());

    // Another's contribution: its pool and contributors in the creator's row, and the
    // mission joins the backer's.
    warm::<Feed>(&b, &creator_b, "/feed").await;
    warm::<Feed>(&b, &backer_b, "/feed").await;
    let contribution = json!({ "amount": 300 });
    let path = format!("/missions/{}/contributions", mission.id);
    backer.post(&path, &contribution).idempotency_key("c1").returns::<Value>(201).await;
    seen::<Feed>(&creator_b, "/feed", |f| open_missions(f) == [(mission.id, 800, 2)]).await;
    seen::<Feed>(&backer_b, "/feed", |f| open_missions(f) == [(mission.id, 800, 2)]).await;

    // Decided: no longer open for anyone.
    warm::<Feed>(&b, &creator_b, "/feed").await;
    warm::<Feed>(&b, &backer_b, "/feed").await;
    let decision = json!({ "result": "success" });
    streamer.post(&format!("/missions/{}/decision", mission.id), &decision).returns::<Mission>(200).await;
    seen::<Feed>(&creator_b, "/feed", |f| open_missions(f).is_empty()).await;
    seen::<Feed>(&backer_b, "/feed", |f| open_missions(f).is_empty()).await;
}
