//! `app seed-demo`: a usable first look, and running it again changes nothing.

use crate::helpers::*;

/// What a user of the demo sees.
#[derive(Debug, PartialEq)]
struct Snapshot {
    products: i64,
    missions: Page<Mission>,
    rooms: Items<RoomSummary>,
    balance: i64,
}

async fn snapshot(app: &TestApp, user: &User) -> Snapshot {
    let products: Page<ProductSummary> = app.get("/products?size=100").returns(200).await;
    let missions = user.get("/missions?size=100").returns(200).await;
    let rooms = user.get("/chat/rooms").returns(200).await;
    let balance = user.balance().await;
    Snapshot { products: products.total, missions, rooms, balance }
}

#[tokio::test]
async fn seed_demo_fills_every_module_and_is_idempotent() {
    let app = spawn_app().await;
    let first = app::seed::seed_demo(&app.assembled).await.unwrap();
    assert!(first.changed_anything());
    assert_eq!((first.accounts_created, first.products_created, first.feed_rows_created), (7, 9, 8), "{first}");
    assert_eq!(first.notifications_created, 2, "{first}");
    assert_eq!((first.reports_created, first.blocks_created), (1, 1), "{first}");

    let ara = app.login_user("ara@demo.example", app::seed::DEMO_PASSWORD).await;
    let streamer = app.login_user("streamer@demo.example", app::seed::DEMO_PASSWORD).await;
    let before = snapshot(&app, &ara).await;
    let audit_before = app.assembled.wallets.audit().await.unwrap();

    let second = app::seed::seed_demo(&app.assembled).await.unwrap();
    assert!(!second.changed_anything(), "{second}");
    assert_eq!(snapshot(&app, &ara).await, before);
    let audit_after = app.assert_ledger_balanced().await;
    assert_eq!(audit_after.wallets, audit_before.wallets);

    // What a newcomer sees: products, open missions for the streamer, chats, a full feed.
    let Snapshot { products, missions, rooms, balance } = before;
    assert_eq!(products, 9);
    assert_eq!(balance, 300_000 - 20_000);
    let open: Vec<&Mission> = missions.items.iter().filter(|m| m.status == "open").collect();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|m| m.streamer_id == streamer.id && m.contributors >= 2));
    assert_eq!(rooms.items.len(), 3);
    let feed: Feed = ara.get("/feed").returns(200).await;
    let types: Vec<&str> = feed.rows.iter().map(|r| r.row_type.as_str()).collect();
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
    // Moderation: one report in the operators' queue, and Chloe blocked Ben.
    let admin = app.login_user("admin@demo.example", app::seed::DEMO_PASSWORD).await;
    let queue: Page<AdminReport> = admin.get("/admin/reports?status=open").returns(200).await;
    assert_eq!(queue.total, 1);
    assert_eq!((queue.items[0].target_type.as_str(), queue.items[0].reporter_id), ("product", ara.id));
    let chloe = app.login_user("chloe@demo.example", app::seed::DEMO_PASSWORD).await;
    let blocks: Items<Block> = chloe.get("/chat/blocks").returns(200).await;
    assert_eq!(blocks.items.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["Ben Park"]);
}
