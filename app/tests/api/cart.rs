//! The cart: edits, stock checks, reconciliation messages shown once, the cache.

use crate::helpers::*;
use contracts::Role;
use serde_json::{Value, json};

struct Shop {
    app: TestApp,
    seller: User,
    buyer: User,
    mug: Value,
}

async fn shop() -> Shop {
    shop_with(TestOptions::default()).await
}

async fn shop_with(options: TestOptions) -> Shop {
    let app = spawn_app_with(options).await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    let mug = app.product(&seller.token, "Mug", &[("Blue", 1000, 5), ("Red", 1500, 2)]).await;
    Shop { app, seller, buyer, mug }
}

#[tokio::test]
async fn adding_accumulates_and_prices_come_from_the_catalog() {
    let Shop { app, buyer, mug, .. } = shop().await;
    let cart = json_of(app.add_to_cart(&buyer.token, &mug, 0, 2).await, 200).await;
    assert_eq!(cart["items"][0]["quantity"], 2);
    assert_eq!(cart["items"][0]["price"], 1000);
    assert_eq!(cart["items"][0]["line_total"], 2000);
    assert_eq!(cart["items"][0]["product_name"], "Mug");
    assert_eq!(cart["items"][0]["item_name"], "Blue");
    let cart = json_of(app.add_to_cart(&buyer.token, &mug, 0, 1).await, 200).await;
    assert_eq!(cart["items"][0]["quantity"], 3);
    let cart = json_of(app.add_to_cart(&buyer.token, &mug, 1, 2).await, 200).await;
    assert_eq!(cart["total"], 3 * 1000 + 2 * 1500);
    assert_eq!(cart["messages"], json!([]));
    // Prices sent by a client are ignored (and unknown fields too).
    let body = json!({"product_id": mug["id"], "item_id": mug["items"][0]["id"], "quantity": 1, "price": 1});
    let cart = json_of(app.post("/api/v1/cart/items", Some(&buyer.token), &body).await, 200).await;
    assert_eq!(cart["items"][0]["price"], 1000);
}

#[tokio::test]
async fn adding_beyond_stock_or_unknown_items_is_refused() {
    let Shop { app, buyer, seller, mug } = shop().await;
    assert_error(app.add_to_cart(&buyer.token, &mug, 1, 3).await, 409, "out_of_stock").await;
    json_of(app.add_to_cart(&buyer.token, &mug, 1, 2).await, 200).await;
    assert_error(app.add_to_cart(&buyer.token, &mug, 1, 1).await, 409, "out_of_stock").await;
    let other = app.product(&seller.token, "Plate", &[("White", 100, 5)]).await;
    let crossed = json!({"product_id": other["id"], "item_id": mug["items"][0]["id"], "quantity": 1});
    assert_error(app.post("/api/v1/cart/items", Some(&buyer.token), &crossed).await, 404, "not_found").await;
    let unknown = json!({"product_id": 999999, "item_id": 999999, "quantity": 1});
    assert_error(app.post("/api/v1/cart/items", Some(&buyer.token), &unknown).await, 404, "not_found").await;
    for quantity in [0, -1, 1001] {
        let body = json!({"product_id": mug["id"], "item_id": mug["items"][0]["id"], "quantity": quantity});
        assert_error(app.post("/api/v1/cart/items", Some(&buyer.token), &body).await, 400, "validation_failed").await;
    }
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1, "refusals changed nothing");
}

#[tokio::test]
async fn quantities_can_be_set_and_lines_removed() {
    let Shop { app, buyer, mug, .. } = shop().await;
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    app.add_to_cart(&buyer.token, &mug, 1, 1).await;
    let blue = mug["items"][0]["id"].as_i64().unwrap();
    let red = mug["items"][1]["id"].as_i64().unwrap();
    let cart = json_of(
        app.patch(&format!("/api/v1/cart/items/{blue}"), Some(&buyer.token), &json!({"quantity": 4})).await,
        200,
    )
    .await;
    assert_eq!(cart["items"][0]["quantity"], 4);
    assert_error(
        app.patch(&format!("/api/v1/cart/items/{blue}"), Some(&buyer.token), &json!({"quantity": 6})).await,
        409,
        "out_of_stock",
    )
    .await;
    let cart = json_of(
        app.patch(&format!("/api/v1/cart/items/{blue}"), Some(&buyer.token), &json!({"quantity": 0})).await,
        200,
    )
    .await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_error(
        app.patch(&format!("/api/v1/cart/items/{blue}"), Some(&buyer.token), &json!({"quantity": 1})).await,
        404,
        "not_found",
    )
    .await;
    let cart = json_of(app.delete(&format!("/api/v1/cart/items/{red}"), Some(&buyer.token)).await, 200).await;
    assert_eq!(cart, json!({"items": [], "total": 0, "messages": []}));
    assert_error(app.delete(&format!("/api/v1/cart/items/{red}"), Some(&buyer.token)).await, 404, "not_found").await;
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    assert_eq!(app.delete("/api/v1/cart", Some(&buyer.token)).await.status(), 204);
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"], json!([]));
}

#[tokio::test]
async fn only_customers_have_carts() {
    let Shop { app, seller, mug, .. } = shop().await;
    assert_error(app.get("/api/v1/cart", Some(&seller.token)).await, 403, "forbidden").await;
    assert_error(app.add_to_cart(&seller.token, &mug, 0, 1).await, 403, "forbidden").await;
    assert_error(app.get("/api/v1/cart", None).await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn catalog_changes_are_reconciled_and_reported_once() {
    let Shop { app, seller, buyer, mug } = shop().await;
    let pid = mug["id"].as_i64().unwrap();
    let (blue, red) = (mug["items"][0]["id"].as_i64().unwrap(), mug["items"][1]["id"].as_i64().unwrap());
    let plate = app.product(&seller.token, "Plate", &[("White", 300, 9)]).await;
    app.add_to_cart(&buyer.token, &mug, 0, 4).await;
    app.add_to_cart(&buyer.token, &mug, 1, 2).await;
    app.add_to_cart(&buyer.token, &plate, 0, 1).await;
    let s = Some(seller.token.as_str());
    app.patch(&format!("/api/v1/seller/products/{pid}/items/{blue}"), s, &json!({"price": 1200, "stock": 3})).await;
    app.patch(&format!("/api/v1/seller/products/{pid}/items/{red}"), s, &json!({"stock": 0})).await;
    app.delete(&format!("/api/v1/seller/products/{}", plate["id"]), s).await;
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_eq!((cart["items"][0]["quantity"].as_i64(), cart["items"][0]["price"].as_i64()), (Some(3), Some(1200)));
    assert_eq!(cart["total"], 3600);
    let messages: Vec<&str> = cart["messages"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("1000 to 1200")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("from 4 to 3")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("sold out")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("no longer sold")), "{messages:?}");
    let again = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(again["messages"], json!([]));
    assert_eq!(again["items"], cart["items"]);
}

#[tokio::test]
async fn the_cart_is_cached_with_versions_and_rewritten_on_every_change() {
    let Shop { app, buyer, seller, mug } = shop().await;
    let key = format!("cart:{}", buyer.id);
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
    let (v1, cached) = app.assembled.cache.get_versioned(&key).await.unwrap().expect("cached after an edit");
    assert!(cached.contains("\"quantity\":1"), "{cached}");
    app.add_to_cart(&buyer.token, &mug, 0, 1).await;
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
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"][0]["quantity"], 2);
    // Catalog changes are still noticed on a cached cart.
    let (pid, blue) = (mug["id"].as_i64().unwrap(), mug["items"][0]["id"].as_i64().unwrap());
    app.patch(&format!("/api/v1/seller/products/{pid}/items/{blue}"), Some(&seller.token), &json!({"price": 1100}))
        .await;
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"][0]["price"], 1100);
    assert_eq!(cart["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_cart_keeps_working_without_redis() {
    let Shop { app, buyer, mug, .. } =
        shop_with(TestOptions { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() }).await;
    json_of(app.add_to_cart(&buyer.token, &mug, 0, 2).await, 200).await;
    let cart = json_of(app.get("/api/v1/cart", Some(&buyer.token)).await, 200).await;
    assert_eq!(cart["items"][0]["quantity"], 2);
}
