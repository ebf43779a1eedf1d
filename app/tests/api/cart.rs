//! The cart: edits, stock checks, reconciliation messages shown once, the cache. (`Shop`
//! binds its `app` in every test: a field left out of the pattern would be dropped, and the
//! app stopped, at once.)

use crate::helpers::*;
use contracts::Role;
use serde_json::json;

struct Shop {
    app: TestApp,
    seller: User,
    buyer: User,
    mug: Product,
}

async fn shop() -> Shop {
    shop_with(TestOptions::default()).await
}

async fn shop_with(options: TestOptions) -> Shop {
    let app = spawn_app_with(options).await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    let mug = seller.create_product("Mug", &[("Blue", 1000, 5), ("Red", 1500, 2)]).await;
    Shop { app, seller, buyer, mug }
}

#[tokio::test]
async fn adding_accumulates_and_prices_come_from_the_catalog() {
    let Shop { app: _app, buyer, mug, .. } = shop().await;
    let cart: Cart = buyer.add_to_cart(&mug, 0, 2).returns(200).await;
    assert_eq!(cart.items[0].quantity, 2);
    assert_eq!(cart.items[0].price, 1000);
    assert_eq!(cart.items[0].line_total, 2000);
    assert_eq!(cart.items[0].product_name, "Mug");
    assert_eq!(cart.items[0].item_name, "Blue");
    let cart: Cart = buyer.add_to_cart(&mug, 0, 1).returns(200).await;
    assert_eq!(cart.items[0].quantity, 3);
    let cart: Cart = buyer.add_to_cart(&mug, 1, 2).returns(200).await;
    assert_eq!(cart.total, 3 * 1000 + 2 * 1500);
    assert!(cart.messages.is_empty());
    // Prices sent by a client are ignored (and unknown fields too).
    let body = json!({"product_id": mug.id, "item_id": mug.item_id(0), "quantity": 1, "price": 1});
    let cart: Cart = buyer.post("/cart/items", &body).returns(200).await;
    assert_eq!(cart.items[0].price, 1000);
}

#[tokio::test]
async fn adding_beyond_stock_or_unknown_items_is_refused() {
    let Shop { app: _app, buyer, seller, mug } = shop().await;
    buyer.add_to_cart(&mug, 1, 3).fails(409, "out_of_stock").await;
    buyer.add_to_cart(&mug, 1, 2).returns::<Cart>(200).await;
    buyer.add_to_cart(&mug, 1, 1).fails(409, "out_of_stock").await;
    let other = seller.create_product("Plate", &[("White", 100, 5)]).await;
    let crossed = json!({"product_id": other.id, "item_id": mug.item_id(0), "quantity": 1});
    buyer.post("/cart/items", &crossed).fails(404, "not_found").await;
    let unknown = json!({"product_id": 999999, "item_id": 999999, "quantity": 1});
    buyer.post("/cart/items", &unknown).fails(404, "not_found").await;
    for quantity in [0, -1, 1001] {
        let body = json!({"product_id": mug.id, "item_id": mug.item_id(0), "quantity": quantity});
        buyer.post("/cart/items", &body).fails(400, "validation_failed").await;
    }
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!(cart.items.len(), 1, "refusals changed nothing");
}

#[tokio::test]
async fn quantities_can_be_set_and_lines_removed() {
    let Shop { app: _app, buyer, mug, .. } = shop().await;
    buyer.add_to_cart(&mug, 0, 1).await;
    buyer.add_to_cart(&mug, 1, 1).await;
    let blue = format!("/cart/items/{}", mug.item_id(0));
    let red = format!("/cart/items/{}", mug.item_id(1));
    let cart: Cart = buyer.patch(&blue, &json!({"quantity": 4})).returns(200).await;
    assert_eq!(cart.items[0].quantity, 4);
    buyer.patch(&blue, &json!({"quantity": 6})).fails(409, "out_of_stock").await;
    let cart: Cart = buyer.patch(&blue, &json!({"quantity": 0})).returns(200).await;
    assert_eq!(cart.items.len(), 1);
    buyer.patch(&blue, &json!({"quantity": 1})).fails(404, "not_found").await;
    let cart: Cart = buyer.delete(&red).returns(200).await;
    assert_eq!(cart, Cart { items: vec![], total: 0, messages: vec![] });
    buyer.delete(&red).fails(404, "not_found").await;
    buyer.add_to_cart(&mug, 0, 1).await;
    assert_eq!(buyer.delete("/cart").await.status(), 204);
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert!(cart.items.is_empty());
}

#[tokio::test]
async fn only_customers_have_carts() {
    let Shop { app, seller, mug, .. } = shop().await;
    seller.get("/cart").fails(403, "forbidden").await;
    seller.add_to_cart(&mug, 0, 1).fails(403, "forbidden").await;
    app.get("/cart").fails(401, "unauthenticated").await;
}

#[tokio::test]
async fn catalog_changes_are_reconciled_and_reported_once() {
    let Shop { app: _app, seller, buyer, mug } = shop().await;
    let item_path = |index: usize| format!("/seller/products/{}/items/{}", mug.id, mug.item_id(index));
    let plate = seller.create_product("Plate", &[("White", 300, 9)]).await;
    buyer.add_to_cart(&mug, 0, 4).await;
    buyer.add_to_cart(&mug, 1, 2).await;
    buyer.add_to_cart(&plate, 0, 1).await;
    seller.patch(&item_path(0), &json!({"price": 1200, "stock": 3})).await;
    seller.patch(&item_path(1), &json!({"stock": 0})).await;
    seller.delete(&format!("/seller/products/{}", plate.id)).await;
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!(cart.items.len(), 1);
    assert_eq!((cart.items[0].quantity, cart.items[0].price), (3, 1200));
    assert_eq!(cart.total, 3600);
    let messages = &cart.messages;
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("1000 to 1200")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("from 4 to 3")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("sold out")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("no longer sold")), "{messages:?}");
    let again: Cart = buyer.get("/cart").returns(200).await;
    assert!(again.messages.is_empty());
    assert_eq!(again.items, cart.items);
}

#[tokio::test]
async fn the_cart_is_cached_with_versions_and_rewritten_on_every_change() {
    let Shop { app, buyer, seller, mug } = shop().await;
    let key = format!("cart:{}", buyer.id);
    buyer.add_to_cart(&mug, 0, 1).await;
    let (v1, cached) = app.assembled.cache.get_versioned(&key).await.unwrap().expect("cached after an edit");
    assert!(cached.contains("\"quantity\":1"), "{cached}");
    buyer.add_to_cart(&mug, 0, 1).await;
    let (v2, cached) = app.assembled.cache.get_versioned(&key).await.unwrap().unwrap();
    assert!(v2 > v1 && cached.contains("\"quantity\":2"), "{cached}");
    // A stale write (an older version) cannot replace the newer entry.
    assert!(
        !app.assembled
            .cache
            .set_versioned(&key, v1, "{\"lines\":[],\"pending_notices\":false}", std::time::Duration::from_secs(60))
            .await
            .unwrap()
    );
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!(cart.items[0].quantity, 2);
    // Catalog changes are still noticed on a cached cart.
    seller.patch(&format!("/seller/products/{}/items/{}", mug.id, mug.item_id(0)), &json!({"price": 1100})).await;
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!(cart.items[0].price, 1100);
    assert_eq!(cart.messages.len(), 1);
}

#[tokio::test]
async fn the_cart_keeps_working_without_redis() {
    let Shop { app: _app, buyer, mug, .. } =
        shop_with(TestOptions { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() }).await;
    buyer.add_to_cart(&mug, 0, 2).returns::<Cart>(200).await;
    let cart: Cart = buyer.get("/cart").returns(200).await;
    assert_eq!(cart.items[0].quantity, 2);
}
