//! Sellers' catalog, search and product detail.

use crate::helpers::*;
use contracts::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn sellers_create_products_with_items_in_one_request() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let product = app.product(&seller.token, "Blue Mug", &[("Small", 9000, 5), ("Large", 12000, 0)]).await;
    assert_eq!(product["seller_id"], seller.id);
    assert_eq!(product["name"], "Blue Mug");
    assert_eq!(product["items"].as_array().unwrap().len(), 2);
    assert_eq!(product["items"][0]["price"], 9000);
    assert!(product["created_at"].is_string());
    let fetched = json_of(app.get(&format!("/api/v1/products/{}", product["id"]), None).await, 200).await;
    assert_eq!(fetched, product);
}

#[tokio::test]
async fn only_sellers_manage_products() {
    let app = spawn_app().await;
    let customer = app.user(Role::Customer).await;
    let body = json!({"name": "X", "items": [{"name": "a", "price": 1, "stock": 1}]});
    assert_error(app.post("/api/v1/seller/products", Some(&customer.token), &body).await, 403, "forbidden").await;
    assert_error(app.post("/api/v1/seller/products", None, &body).await, 401, "unauthenticated").await;
    assert_error(app.get("/api/v1/seller/products", Some(&customer.token)).await, 403, "forbidden").await;
}

#[tokio::test]
async fn product_input_is_validated() {
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
        assert_error(app.post("/api/v1/seller/products", Some(&seller.token), &body).await, 400, "validation_failed")
            .await;
    }
}

#[tokio::test]
async fn names_are_unique_per_seller_and_items_per_product() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let other = app.user(Role::Seller).await;
    let product = app.product(&seller.token, "Mug", &[("Blue", 1, 1)]).await;
    let dup = json!({"name": "MUG", "items": [{"name": "a", "price": 1, "stock": 1}]});
    assert_error(app.post("/api/v1/seller/products", Some(&seller.token), &dup).await, 409, "name_taken").await;
    app.product(&other.token, "Mug", &[("Blue", 1, 1)]).await;
    let twice =
        json!({"name": "Cup", "items": [{"name": "a", "price": 1, "stock": 1}, {"name": "A", "price": 2, "stock": 1}]});
    assert_error(app.post("/api/v1/seller/products", Some(&seller.token), &twice).await, 409, "name_taken").await;
    let res = app
        .post(
            &format!("/api/v1/seller/products/{}/items", product["id"]),
            Some(&seller.token),
            &json!({"name": "blue", "price": 5, "stock": 5}),
        )
        .await;
    assert_error(res, 409, "name_taken").await;
    // A deleted product frees its name.
    assert_eq!(
        app.delete(&format!("/api/v1/seller/products/{}", product["id"]), Some(&seller.token)).await.status(),
        204
    );
    app.product(&seller.token, "Mug", &[("Blue", 1, 1)]).await;
}

#[tokio::test]
async fn sellers_edit_only_their_own_products() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let other = app.user(Role::Seller).await;
    let product = app.product(&seller.token, "Mug", &[("Blue", 1000, 3)]).await;
    let pid = product["id"].as_i64().unwrap();
    let iid = product["items"][0]["id"].as_i64().unwrap();
    let res = app.patch(&format!("/api/v1/seller/products/{pid}"), Some(&other.token), &json!({"name": "Mine"})).await;
    assert_error(res, 404, "not_found").await;
    assert_error(app.delete(&format!("/api/v1/seller/products/{pid}"), Some(&other.token)).await, 404, "not_found")
        .await;
    let res = app
        .patch(&format!("/api/v1/seller/products/{pid}/items/{iid}"), Some(&other.token), &json!({"price": 1}))
        .await;
    assert_error(res, 404, "not_found").await;
    let body = json_of(
        app.patch(&format!("/api/v1/seller/products/{pid}"), Some(&seller.token), &json!({"description": "Hand made"}))
            .await,
        200,
    )
    .await;
    assert_eq!((body["name"].as_str(), body["description"].as_str()), (Some("Mug"), Some("Hand made")));
    let item = json_of(
        app.patch(
            &format!("/api/v1/seller/products/{pid}/items/{iid}"),
            Some(&seller.token),
            &json!({"price": 1500, "stock": 7}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (item["price"].as_i64(), item["stock"].as_i64(), item["name"].as_str()),
        (Some(1500), Some(7), Some("Blue"))
    );
    let added = json_of(
        app.post(
            &format!("/api/v1/seller/products/{pid}/items"),
            Some(&seller.token),
            &json!({"name": "Red", "price": 900, "stock": 1}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        app.delete(&format!("/api/v1/seller/products/{pid}/items/{}", added["id"]), Some(&seller.token)).await.status(),
        204
    );
    let body = json_of(app.get(&format!("/api/v1/products/{pid}"), None).await, 200).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_error(
        app.delete(&format!("/api/v1/seller/products/{pid}/items/{}", added["id"]), Some(&seller.token)).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn my_products_lists_only_mine_newest_first_and_paged() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let other = app.user(Role::Seller).await;
    for name in ["A", "B", "C"] {
        app.product(&seller.token, name, &[("x", 1, 1)]).await;
    }
    app.product(&other.token, "D", &[("x", 1, 1)]).await;
    let page = json_of(app.get("/api/v1/seller/products?size=2", Some(&seller.token)).await, 200).await;
    let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!((names, page["total"].as_i64()), (vec!["C", "B"], Some(3)));
    let page = json_of(app.get("/api/v1/seller/products?size=2&page=1", Some(&seller.token)).await, 200).await;
    assert_eq!(page["items"][0]["name"], "A");
}

fn names(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn search_matches_word_prefixes_newest_first() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    for name in ["Blue Mug", "Blue Plate", "Mugwort Tea", "머그컵 세트", "Red mug"] {
        app.product(&seller.token, name, &[("x", 1000, 1)]).await;
    }
    let search = |q: &str| {
        let app = &app;
        let q = q.to_string();
        async move {
            let q: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
            json_of(app.get(&format!("/api/v1/products?q={q}"), None).await, 200).await
        }
    };
    assert_eq!(names(&search("blue mu").await), vec!["Blue Mug"]);
    assert_eq!(names(&search("MUG").await), vec!["Red mug", "Mugwort Tea", "Blue Mug"]);
    assert_eq!(names(&search("머그").await), vec!["머그컵 세트"]);
    assert_eq!(names(&search("세트 머").await), vec!["머그컵 세트"]);
    assert!(names(&search("ug").await).is_empty());
    let all = search("").await;
    assert_eq!(all["total"], 5);
    let first = &all["items"][0];
    assert_eq!(first["name"], "Red mug");
    assert!(first.get("items").is_none());
    assert_eq!((first["min_price"].as_i64(), first["in_stock"].as_bool()), (Some(1000), Some(true)));
}

#[tokio::test]
async fn search_shows_min_price_and_stock_of_live_items_and_hides_deleted_products() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let kept = app.product(&seller.token, "Teapot", &[("Big", 5000, 0), ("Small", 3000, 0)]).await;
    let gone = app.product(&seller.token, "Teacup", &[("One", 100, 10)]).await;
    let body = json_of(app.get("/api/v1/products?q=tea", None).await, 200).await;
    assert_eq!(body["total"], 2);
    assert_eq!(app.delete(&format!("/api/v1/seller/products/{}", gone["id"]), Some(&seller.token)).await.status(), 204);
    let small = kept["items"][1]["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/seller/products/{}/items/{small}", kept["id"]), Some(&seller.token)).await;
    let body = json_of(app.get("/api/v1/products?q=tea", None).await, 200).await;
    assert_eq!(body["total"], 1);
    assert_eq!(
        body["items"][0],
        json!({"id": kept["id"], "seller_id": seller.id, "name": "Teapot", "min_price": 5000, "in_stock": false})
    );
    assert_error(app.get(&format!("/api/v1/products/{}", gone["id"]), None).await, 404, "not_found").await;
}

#[tokio::test]
async fn public_routes_accept_no_token_but_refuse_a_bad_one() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/products", None).await.status(), 200);
    assert_error(app.get("/api/v1/products", Some("garbage")).await, 401, "unauthenticated").await;
    assert_error(app.get("/api/v1/products/1", Some("garbage")).await, 401, "unauthenticated").await;
    assert_error(app.get("/api/v1/products?page=-1", None).await, 400, "validation_failed").await;
}
