//! `app seed-demo`: a usable first look, and running it again changes nothing.

use crate::helpers::*;
use contracts::wallet::{WalletRef, WalletService};

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
    assert_eq!(first.orders_created, 7, "{first}");

    let ara = app.login_user("ara@demo.example", app::seed::DEMO_PASSWORD).await;
    let streamer = app.login_user("streamer@demo.example", app::seed::DEMO_PASSWORD).await;
    let before = snapshot(&app, &ara).await;
    let audit_before = app.assembled.wallets.audit().await.unwrap();

    let orders_before = seeded_orders(&app).await;
    let second = app::seed::seed_demo(&app.assembled).await.unwrap();
    assert!(!second.changed_anything(), "{second}");
    assert_eq!(seeded_orders(&app).await, orders_before);
    assert_eq!(snapshot(&app, &ara).await, before);
    let audit_after = app.assert_ledger_balanced().await;
    assert_eq!(audit_after.wallets, audit_before.wallets);

    // What a newcomer sees: products, open missions for the streamer, chats, a full feed.
    let Snapshot { products, missions, rooms, balance } = before;
    assert_eq!(products, 9);
    assert_eq!(balance, 300_000 - 20_000);
    let open: Vec<&Mission> = missions.items.iter().filter(|m| m.status == MissionStatus::Open).collect();
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
    assert_eq!(
        (queue.items[0].report.target_type, queue.items[0].reporter_id),
        (moderation::TargetType::Product, ara.id)
    );
    let chloe = app.login_user("chloe@demo.example", app::seed::DEMO_PASSWORD).await;
    let blocks: Items<Block> = chloe.get("/chat/blocks").returns(200).await;
    assert_eq!(blocks.items.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["Ben Park"]);
}

/// Ben's and Chloe's orders (oldest first) with each one's escrow balance.
async fn seeded_orders(app: &TestApp) -> Vec<(Order, i64)> {
    let mut all = Vec::new();
    for email in ["ben@demo.example", "chloe@demo.example"] {
        let buyer = app.login_user(email, app::seed::DEMO_PASSWORD).await;
        let page: Page<Order> = buyer.get("/orders?size=100").returns(200).await;
        for order in page.items.into_iter().rev() {
            let escrow = WalletRef::escrow(format!("order:{}", order.id));
            let held = app.assembled.wallets.balance(&escrow).await.unwrap();
            all.push((order, held));
        }
    }
    all
}

#[tokio::test]
async fn seed_demo_has_orders_in_every_line_status_with_money_in_place() {
    let app = spawn_app().await;
    app::seed::seed_demo(&app.assembled).await.unwrap();
    let orders = seeded_orders(&app).await;
    let statuses: Vec<LineStatus> = orders.iter().map(|(o, _)| o.items[0].status).collect();
    // The sixth went shipped → return_requested → shipped (the seller rejected the return).
    assert_eq!(statuses, {
        use LineStatus::*;
        [Paid, Shipped, Confirmed, Cancelled, ReturnRequested, Shipped, Refunded]
    });
    let shipped: Vec<bool> = orders.iter().map(|(o, _)| o.items[0].shipment.is_some()).collect();
    assert_eq!(shipped, [false, true, true, false, true, true, true]);
    // Escrow holds each line until it is final, then nothing.
    for (order, held) in &orders {
        let line = &order.items[0];
        let expected = if order::checkout::is_final(line.status) { 0 } else { line.line_total };
        assert_eq!(*held, expected, "order {} ({})", order.id, line.status);
    }
    // Joon was paid the confirmed headlamp less the 5% fee; Mina sold nothing (README's
    // walk-through starts her at 0), and the platform kept the fee.
    let joon = app.login_user("joon.seller@demo.example", app::seed::DEMO_PASSWORD).await;
    let mina = app.login_user("mina.seller@demo.example", app::seed::DEMO_PASSWORD).await;
    assert_eq!((joon.balance().await, mina.balance().await), (39_000 - 1_950, 0));
    let fees = app.assembled.wallets.balance(&WalletRef::System("fees".into())).await.unwrap();
    assert_eq!(fees, 1_950);
    // Buyers paid for what is not cancelled or refunded (charges less mission money).
    let ben = app.login_user("ben@demo.example", app::seed::DEMO_PASSWORD).await;
    let chloe = app.login_user("chloe@demo.example", app::seed::DEMO_PASSWORD).await;
    assert_eq!(ben.balance().await, 150_000 - 10_000 - 3_000 - 12_000 - 16_000 - 39_000);
    assert_eq!(chloe.balance().await, 80_000 - 2 * 5_000 - 16_000 - 12_000);
    app.assert_ledger_balanced().await;
}
