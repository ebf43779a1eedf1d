//! `app seed-demo`: a usable first look, and running it again changes nothing.

use crate::helpers::*;
use serde_json::Value;

async fn snapshot(app: &TestApp, token: &str) -> (Value, Value, Value, i64) {
    let products = json_of(app.get("/api/v1/products?size=100", None).await, 200).await;
    let missions = json_of(app.get("/api/v1/missions?size=100", Some(token)).await, 200).await;
    let rooms = json_of(app.get("/api/v1/chat/rooms", Some(token)).await, 200).await;
    let balance = app.balance_of(token).await;
    (products["total"].clone(), missions, rooms, balance)
}

#[tokio::test]
async fn seed_demo_fills_every_module_and_is_idempotent() {
    let app = spawn_app().await;
    let first = app::seed::seed_demo(&app.assembled).await.unwrap();
    assert!(first.changed_anything());
    assert_eq!((first.accounts_created, first.products_created, first.feed_rows_created), (7, 9, 8), "{first}");

    let ara = app.login_user("ara@demo.example", app::seed::DEMO_PASSWORD).await;
    let streamer = app.login_user("streamer@demo.example", app::seed::DEMO_PASSWORD).await;
    let before = snapshot(&app, &ara.token).await;
    let audit_before = app.assembled.wallets.audit().await.unwrap();

    let second = app::seed::seed_demo(&app.assembled).await.unwrap();
    assert!(!second.changed_anything(), "{second}");
    assert_eq!(snapshot(&app, &ara.token).await, before);
    let audit_after = app.assembled.wallets.audit().await.unwrap();
    assert_eq!(audit_after.wallets, audit_before.wallets);
    assert_eq!(audit_after.total_balance, 0);
    assert!(audit_after.mismatched_wallets.is_empty() && audit_after.negative_wallets.is_empty());

    // What a newcomer sees: products, open missions for the streamer, chats, a full feed.
    let (products, missions, rooms, balance) = before;
    assert_eq!(products, 9);
    assert_eq!(balance, 300_000 - 20_000);
    let open: Vec<&Value> = missions["items"].as_array().unwrap().iter().filter(|m| m["status"] == "open").collect();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|m| m["streamer_id"] == streamer.id && m["contributors"].as_i64().unwrap() >= 2));
    assert_eq!(rooms["items"].as_array().unwrap().len(), 3);
    let feed = json_of(app.get("/api/v1/feed", Some(&ara.token)).await, 200).await;
    let types: Vec<&str> = feed["rows"].as_array().unwrap().iter().map(|r| r["row_type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "NOTICE_SDU",
            "QUICK_BUTTON_UI",
            "WALLET_UI",
            "BANNER_AD",
            "PRODUCT_CAROUSEL_UI",
            "CART_UI",
            "MISSION_UI",
            "CHAT_UI"
        ]
    );
}
