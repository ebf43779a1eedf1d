//! Sellers' catalog, search and product detail.

use crate::helpers::*;
use contracts::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn sellers_create_products_with_items_in_one_request() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let product = seller.create_product("Blue Mug", &[("Small", 9000, 5), ("Large", 12000, 0)]).await;
    assert_eq!(product.seller_id, seller.id);
    assert_eq!(product.name, "Blue Mug");
    assert_eq!(product.items.len(), 2);
    assert_eq!(product.items[0].price, 9000);
    let fetched: Product = app.get(&format!("/products/{}", product.id)).returns(200).await;
    assert_eq!(fetched, product);
}

#[tokio::test]
async fn only_sellers_manage_products() {
    let app = spawn_app().await;
    let customer = app.user(Role::Customer).await;
    let body = json!({"name": "X", "items": [{"name": "a", "price": 1, "stock": 1}]});
    customer.post("/seller/products", &body).fails(403, "forbidden").await;
    app.post("/seller/products", &body).fails(401, "unauthenticated").await;
    customer.get("/seller/products").fails(403, "forbidden").await;
}

#[tokio::test]
async fn invalid_products_are_refused_with_validation_failed() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let bad = [
        json!({"name": "", "items": [{"name": "a", "price": 1, "stock": 1}]}),
        json!({"name": "x".repeat(101), "items": [{"name": "a", "price": 1, "stock": 1}]}),
        json!({"name": "ok", "items": []}),
        json!({"name": "ok", "items": [{"name": "a", "price": -1, "stock": 1}]}),
        json!({"name": "ok", "items": [{"name": "a", "price": 100_000_001, "stock": 1}]}),
        json!({"name": "ok", "items": [{"name": "a", "price": 1, "stock": 1_000_001}]}),
        json!({"name": "ok", "items": [{"name": "", "price": 1, "stock": 1}]}),
    ];
    for body in bad {
        seller.post("/seller/products", &body).fails(400, "validation_failed").await;
    }
}

#[tokio::test]
async fn names_are_unique_per_seller_and_items_per_product() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let other = app.user(Role::Seller).await;
    let product = seller.create_product("Mug", &[("Blue", 1, 1)]).await;
    let dup = json!({"name": "MUG", "items": [{"name": "a", "price": 1, "stock": 1}]});
    seller.post("/seller/products", &dup).fails(409, "name_taken").await;
    other.create_product("Mug", &[("Blue", 1, 1)]).await;
    let twice =
        json!({"name": "Cup", "items": [{"name": "a", "price": 1, "stock": 1}, {"name": "A", "price": 2, "stock": 1}]});
    seller.post("/seller/products", &twice).fails(409, "name_taken").await;
    seller
        .post(&format!("/seller/products/{}/items", product.id), &json!({"name": "blue", "price": 5, "stock": 5}))
        .fails(409, "name_taken")
        .await;
    // A deleted product frees its name.
    assert_eq!(seller.delete(&format!("/seller/products/{}", product.id)).await.status(), 204);
    seller.create_product("Mug", &[("Blue", 1, 1)]).await;
}

#[tokio::test]
async fn sellers_edit_only_their_own_products() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let other = app.user(Role::Seller).await;
    let product = seller.create_product("Mug", &[("Blue", 1000, 3)]).await;
    let path = format!("/seller/products/{}", product.id);
    let item_path = format!("{path}/items/{}", product.item_id(0));
    other.patch(&path, &json!({"name": "Mine"})).fails(404, "not_found").await;
    other.delete(&path).fails(404, "not_found").await;
    other.patch(&item_path, &json!({"price": 1})).fails(404, "not_found").await;
    let edited: Product = seller.patch(&path, &json!({"description": "Hand made"})).returns(200).await;
    assert_eq!((edited.name.as_str(), edited.description.as_str()), ("Mug", "Hand made"));
    let item: Item = seller.patch(&item_path, &json!({"price": 1500, "stock": 7})).returns(200).await;
    assert_eq!((item.price, item.stock, item.name.as_str()), (1500, 7, "Blue"));
    let added: Item =
        seller.post(&format!("{path}/items"), &json!({"name": "Red", "price": 900, "stock": 1})).returns(201).await;
    assert_eq!(seller.delete(&format!("{path}/items/{}", added.id)).await.status(), 204);
    let fetched: Product = app.get(&format!("/products/{}", product.id)).returns(200).await;
    assert_eq!(fetched.items.len(), 1);
    seller.delete(&format!("{path}/items/{}", added.id)).fails(404, "not_found").await;
}

fn names(page: &Page<ProductSummary>) -> Vec<String> {
    page.items.iter().map(|p| p.name.clone()).collect()
}

#[tokio::test]
async fn my_products_lists_only_mine_newest_first_and_paged() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let other = app.user(Role::Seller).await;
    for name in ["A", "B", "C"] {
        seller.create_product(name, &[("x", 1, 1)]).await;
    }
    other.create_product("D", &[("x", 1, 1)]).await;
    let page: Page<Product> = seller.get("/seller/products?size=2").returns(200).await;
    let names: Vec<&str> = page.items.iter().map(|p| p.name.as_str()).collect();
    assert_eq!((names, page.total), (vec!["C", "B"], 3));
    let page: Page<Product> = seller.get("/seller/products?size=2&page=1").returns(200).await;
    assert_eq!(page.items[0].name, "A");
}

#[tokio::test]
async fn search_matches_word_prefixes_newest_first() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    for name in ["Blue Mug", "Blue Plate", "Mugwort Tea", "머그컵 세트", "Red mug"] {
        seller.create_product(name, &[("x", 1000, 1)]).await;
    }
    let search = |q: &str| {
        let app = &app;
        let path = format!("/products?q={}", percent_encode(q));
        async move { app.get(&path).returns::<Value>(200).await }
    };
    let found = |raw: Value| names(&parse(&raw));
    assert_eq!(found(search("blue mu").await), vec!["Blue Mug"]);
    assert_eq!(found(search("MUG").await), vec!["Red mug", "Mugwort Tea", "Blue Mug"]);
    assert_eq!(found(search("머그").await), vec!["머그컵 세트"]);
    assert_eq!(found(search("세트 머").await), vec!["머그컵 세트"]);
    assert!(found(search("ug").await).is_empty());
    let raw = search("").await;
    let all: Page<ProductSummary> = parse(&raw);
    assert_eq!(all.total, 5);
    let first = &all.items[0];
    assert_eq!(first.name, "Red mug");
    assert!(raw["items"][0].get("items").is_none());
    assert_eq!((first.min_price, first.in_stock), (Some(1000), true));
}

#[tokio::test]
async fn search_shows_min_price_and_stock_of_live_items_and_hides_deleted_products() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let kept = seller.create_product("Teapot", &[("Big", 5000, 0), ("Small", 3000, 0)]).await;
    let gone = seller.create_product("Teacup", &[("One", 100, 10)]).await;
    let page: Page<ProductSummary> = app.get("/products?q=tea").returns(200).await;
    assert_eq!(page.total, 2);
    assert_eq!(seller.delete(&format!("/seller/products/{}", gone.id)).await.status(), 204);
    seller.delete(&format!("/seller/products/{}/items/{}", kept.id, kept.item_id(1))).await;
    let page: Page<ProductSummary> = app.get("/products?q=tea").returns(200).await;
    assert_eq!(page.total, 1);
    assert_eq!(
        page.items[0],
        ProductSummary {
            id: kept.id,
            seller_id: seller.id,
            name: "Teapot".into(),
            min_price: Some(5000),
            in_stock: false
        }
    );
    app.get(&format!("/products/{}", gone.id)).fails(404, "not_found").await;
}

#[tokio::test]
async fn public_routes_accept_no_token_but_refuse_a_bad_one() {
    let app = spawn_app().await;
    assert_eq!(app.get("/products").await.status(), 200);
    app.with_token("garbage").get("/products").fails(401, "unauthenticated").await;
    app.with_token("garbage").get("/products/1").fails(401, "unauthenticated").await;
    app.get("/products?page=-1").fails(400, "validation_failed").await;
}
