//! Product detail and the cart served from memory (`platform::hotcache`): every change is
//! visible at once to the next request on every instance, and a Redis that is down sends
//! every read to the database. Two instances talk through a Redis of the test's own, so
//! these run in the SQLite suite too.

use crate::helpers::*;
use contracts::Role;
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

#[tokio::test]
async fn a_sellers_edit_is_visible_at_once_on_every_instance() {
    let Some(Pair { a, b, redis: _redis }) = pair().await else { return };
    let seller = a.user(Role::Seller).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5)]).await;
    let path = format!("/products/{}", mug.id);
    let warmed: Product = warm(&b, &b, &path).await;
    assert_eq!(warmed, mug);

    seller.patch(&format!("/seller/products/{}", mug.id), &json!({"name": "Big Mug"})).returns::<Product>(200).await;
    let seen: Product = b.get(&path).returns(200).await;
    assert_eq!(seen.name, "Big Mug");

    warm::<Product>(&b, &b, &path).await;
    let item = format!("/seller/products/{}/items/{}", mug.id, mug.item_id(0));
    seller.patch(&item, &json!({"price": 1300, "stock": 2})).returns::<Value>(200).await;
    let seen: Product = b.get(&path).returns(200).await;
    assert_eq!((seen.items[0].price, seen.items[0].stock), (1300, 2));

    warm::<Product>(&b, &b, &path).await;
    assert_eq!(seller.delete(&format!("/seller/products/{}", mug.id)).await.status(), 204);
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
    let cart: Cart = on_b.get("/cart").returns(200).await;
    assert_eq!(cart.items[0].quantity, 2);

    // A seller's price change reaches the cached cart, with its message shown once.
    warm::<Cart>(&b, &on_b, "/cart").await;
    let item = format!("/seller/products/{}/items/{}", mug.id, mug.item_id(0));
    seller.patch(&item, &json!({"price": 1100})).returns::<Value>(200).await;
    let cart: Cart = on_b.get("/cart").returns(200).await;
    assert_eq!((cart.items[0].price, cart.messages.len()), (1100, 1), "{:?}", cart.messages);
    let cart: Cart = on_b.get("/cart").returns(200).await;
    assert!(cart.messages.is_empty());

    // Stock another buyer takes at checkout shows at once in the detail and the cart.
    let path = format!("/products/{}", mug.id);
    warm::<Product>(&b, &b, &path).await;
    warm::<Cart>(&b, &on_b, "/cart").await;
    other.add_to_cart(&mug, 0, 4).returns::<Cart>(200).await;
    other.checkout("take-4", &json!({})).returns::<Order>(201).await;
    let seen: Product = b.get(&path).returns(200).await;
    assert_eq!(seen.items[0].available, 1);
    let cart: Cart = on_b.get("/cart").returns(200).await;
    assert_eq!(cart.items[0].quantity, 1, "only 1 left: {:?}", cart.messages);

    // A checkout empties the cart, seen on the other instance at once.
    warm::<Cart>(&b, &on_b, "/cart").await;
    buyer.checkout("mine", &json!({})).returns::<Order>(201).await;
    let cart: Cart = on_b.get("/cart").returns(200).await;
    assert!(cart.items.is_empty());
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
    let seen: Product = b.get(&path).returns(200).await;
    assert_eq!(seen.name, "Renamed while Redis was down");
    let hits = b.assembled.order_hot.hits();
    for _ in 0..3 {
        b.get(&path).returns::<Product>(200).await;
    }
    assert_eq!(b.assembled.order_hot.hits(), hits, "nothing is served from memory while Redis is down");

    // Back: the cache warms again, and what it serves is current.
    redis.restart().unwrap();
    let seen: Product = warm(&b, &b, &path).await;
    assert_eq!(seen.name, "Renamed while Redis was down");
    seller.patch(&format!("/seller/products/{}", mug.id), &json!({"name": "Back"})).returns::<Product>(200).await;
    let seen: Product = b.get(&path).returns(200).await;
    assert_eq!(seen.name, "Back");
}
