//! `app seed-demo`: a realistic first look at an empty installation. Every step is
//! idempotent (existing accounts, products, rooms and feed rows are kept; money moves only
//! through keyed charges, stakes and contributions), so running it twice changes nothing.

use crate::Modules;
use account::{AccountError, DisplayName, EmailAddress, NewAccount, Password};
use anyhow::{Context, anyhow};
use chrono::Duration;
use contracts::PageRequest;
use contracts::Role;
use feed::model::{AdSlot, RowProviderType, RowSetting, Selector};
use mission::{ListFilter, MissionError, NewMissionRequest};
use moderation::{Reason, TargetType};
use order::OrderError;
use order::catalog::model::{Description, NewItem, ProductName};
use payment::charges::ChargeStatus;
use serde_json::json;
use std::fmt;

/// Every demo account signs in with this password (they are demo data, not real people).
pub const DEMO_PASSWORD: &str = "demo password 1";

#[derive(Debug, Default)]
pub struct SeedReport {
    pub accounts_created: usize,
    pub products_created: usize,
    /// Charges, missions and contributions are keyed: these count what the run made sure of.
    pub charges_ensured: usize,
    pub missions_ensured: usize,
    pub contributions_ensured: usize,
    pub rooms_created: usize,
    pub feed_rows_created: usize,
    pub ad_slots_created: usize,
    pub notifications_created: usize,
    pub reports_created: usize,
    pub blocks_created: usize,
    pub orders_created: usize,
}

impl SeedReport {
    pub fn changed_anything(&self) -> bool {
        self.accounts_created
            + self.products_created
            + self.rooms_created
            + self.feed_rows_created
            + self.ad_slots_created
            + self.notifications_created
            + self.reports_created
            + self.blocks_created
            + self.orders_created
            > 0
    }
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "created: {} accounts, {} products, {} chat rooms, {} feed rows, {} ad slots, {} notifications, \
             {} reports, {} chat blocks, {} orders; ensured (keyed, never twice): {} charges, {} missions, {} contributions",
            self.accounts_created,
            self.products_created,
            self.rooms_created,
            self.feed_rows_created,
            self.ad_slots_created,
            self.notifications_created,
            self.reports_created,
            self.blocks_created,
            self.orders_created,
            self.charges_ensured,
            self.missions_ensured,
            self.contributions_ensured
        )
    }
}

struct Person {
    email: &'static str,
    name: &'static str,
    role: Role,
}

const PEOPLE: &[Person] = &[
    Person { email: "admin@demo.example", name: "Demo Admin", role: Role::Admin },
    Person { email: "mina.seller@demo.example", name: "Mina's Ceramics", role: Role::Seller },
    Person { email: "joon.seller@demo.example", name: "Joon Outdoor", role: Role::Seller },
    Person { email: "ara@demo.example", name: "Ara Kim", role: Role::Customer },
    Person { email: "ben@demo.example", name: "Ben Park", role: Role::Customer },
    Person { email: "chloe@demo.example", name: "Chloe Lee", role: Role::Customer },
    Person { email: "streamer@demo.example", name: "SpeedrunSora", role: Role::Streamer },
];

type Catalogue = &'static [(&'static str, &'static str, &'static [(&'static str, i64, i64)])];

const MINA_PRODUCTS: Catalogue = &[
    ("Celadon tea cup", "Hand-thrown, jade glaze, 180 ml.", &[("single", 18_000, 40), ("pair", 34_000, 15)]),
    ("Moon jar (small)", "White porcelain, about 20 cm tall.", &[("white", 120_000, 3)]),
    ("Speckled mug", "Stoneware, dishwasher safe.", &[("sand", 22_000, 25), ("charcoal", 22_000, 8)]),
    ("Incense holder", "Unglazed clay with a cedar tray.", &[("round", 9_000, 60)]),
];

const JOON_PRODUCTS: Catalogue = &[
    ("Trail running vest", "8 L, two soft flasks included.", &[("S/M", 89_000, 12), ("L/XL", 89_000, 6)]),
    ("Titanium spork", "17 g, with a pouch.", &[("natural", 12_000, 100)]),
    ("Down sleeping bag", "Comfort -5 °C, 900 g.", &[("regular", 310_000, 4), ("long", 329_000, 2)]),
    ("Headlamp 400", "400 lumens, USB-C rechargeable.", &[("black", 39_000, 30), ("orange", 39_000, 0)]),
    ("Camp mug", "Double-walled steel, 350 ml.", &[("olive", 16_000, 45)]),
];

fn wanted<T, E: fmt::Display>(what: &str, result: Result<T, E>) -> anyhow::Result<T> {
    result.map_err(|e| anyhow!("{what}: {e}"))
}

/// Seeds the demo data into an assembled (and migrated) application.
pub async fn seed_demo(app: &Modules) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let mut ids = std::collections::HashMap::new();
    for person in PEOPLE {
        let new = NewAccount {
            email: wanted("email", EmailAddress::parse(person.email))?,
            password: wanted("password", Password::parse(DEMO_PASSWORD))?,
            name: wanted("name", DisplayName::parse(person.name))?,
            role: person.role,
            phone: None,
        };
        let (account, created) = app.accounts.ensure_verified(new).await.map_err(|e: AccountError| anyhow!("{e}"))?;
        if account.role != person.role {
            anyhow::bail!("{} exists with role {}, not {}", person.email, account.role, person.role);
        }
        report.accounts_created += usize::from(created);
        ids.insert(person.email, account.id);
    }
    let id = |email: &str| ids.get(email).copied().ok_or_else(|| anyhow!("no demo account {email}"));

    for (seller, catalogue) in
        [("mina.seller@demo.example", MINA_PRODUCTS), ("joon.seller@demo.example", JOON_PRODUCTS)]
    {
        let seller = id(seller)?;
        for (name, description, items) in catalogue {
            let parsed = || -> Result<_, order::catalog::model::Invalid> {
                let items = items.iter().map(|(n, price, stock)| NewItem::parse(n, *price, *stock));
                Ok((ProductName::parse(name)?, Description::parse(description)?, items.collect::<Result<_, _>>()?))
            };
            let (name_, description, items) = parsed().map_err(|e| anyhow!("product {name}: {e}"))?;
            match app.catalog.create_product(seller.into(), name_, description, items).await {
                Ok(_) => report.products_created += 1,
                Err(OrderError::NameTaken(_)) => {}
                Err(e) => return Err(anyhow!("product {name}: {e}")),
            }
        }
    }

    // Sandbox charges: keyed, so a second run finds them instead of charging again.
    for (email, amount) in
        [("ara@demo.example", 300_000), ("ben@demo.example", 150_000), ("chloe@demo.example", 80_000)]
    {
        let key = format!("seed-demo:charge:{email}");
        let charge = app
            .charges
            .create(contracts::AccountId::from(id(email)?), &key, amount)
            .await
            .map_err(|e| anyhow!("charge for {email}: {e}"))?;
        if charge.status != ChargeStatus::Confirmed {
            anyhow::bail!(
                "the demo charge for {email} is {:?}: seed-demo needs payment.gateway = \"sandbox\"",
                charge.status
            );
        }
        report.charges_ensured += 1;
    }

    let streamer = id("streamer@demo.example")?;
    let deadline = app.clock.now() + Duration::days(7);
    let missions = [
        ("ara@demo.example", "Any% under 40 minutes", "Beat the game in under 40 minutes, no glitches.", 20_000),
        ("ben@demo.example", "No-hit final boss", "Clear the final boss without taking a hit.", 10_000),
    ];
    for (n, (creator, title, description, stake)) in missions.into_iter().enumerate() {
        let key = format!("seed-demo:mission:{n}");
        let request = NewMissionRequest {
            streamer_id: streamer,
            title: title.to_string(),
            description: description.to_string(),
            stake,
            deadline,
        };
        let creator_id = id(creator)?;
        let mission = match app.missions.create(creator_id.into(), &key, request).await {
            Ok(mission) => mission,
            // An earlier run used the key (with its own deadline): that mission is the one.
            Err(MissionError::Idempotency(platform::idempotency::IdempotencyError::Conflict)) => {
                let filter = ListFilter { status: None, streamer_id: Some(streamer), creator_id: Some(creator_id) };
                let page = app.missions.list(filter, PageRequest { page: 0, size: 100 }).await;
                let found = page.map_err(|e| anyhow!("missions: {e}"))?.items.into_iter().find(|m| m.title == title);
                found.ok_or_else(|| anyhow!("mission key {key} is taken but its mission is gone"))?
            }
            Err(e) => return Err(anyhow!("mission {title}: {e}")),
        };
        report.missions_ensured += 1;
        for (backer, amount) in [("chloe@demo.example", 5_000), ("ben@demo.example", 3_000)] {
            if backer == creator {
                continue;
            }
            let key = format!("seed-demo:contribution:{n}:{backer}");
            match app
                .missions
                .contribute(contracts::AccountId::from(id(backer)?), mission.id.into(), &key, amount)
                .await
            {
                Ok(_) => report.contributions_ensured += 1,
                Err(MissionError::Closed) => {}
                Err(e) => return Err(anyhow!("contribution to {title}: {e}")),
            }
        }
    }

    let (ara, mina, joon) = (id("ara@demo.example")?, id("mina.seller@demo.example")?, id("joon.seller@demo.example")?);
    for (buyer, seller, lines) in [
        (ara, mina, ["Hi! Is the moon jar glazed inside?", "Yes, fully glazed, so it holds water."]),
        (ara, joon, ["Does the vest fit a 1.5 L bladder?", "It does, there is a sleeve at the back."]),
    ] {
        let (room, created) = app.chat.open_direct(buyer, seller).await.map_err(|e| anyhow!("chat room: {e}"))?;
        if created {
            report.rooms_created += 1;
            app.chat.post(buyer, room.id, lines[0], None).await.map_err(|e| anyhow!("chat message: {e}"))?;
            app.chat.post(seller, room.id, lines[1], None).await.map_err(|e| anyhow!("chat message: {e}"))?;
        }
    }
    let group = "Sora's speedrun club";
    let rooms = app.chat.rooms(streamer).await.map_err(|e| anyhow!("chat rooms: {e}"))?;
    if !rooms.iter().any(|r| r.name.as_deref() == Some(group)) {
        let members = vec![ara, id("ben@demo.example")?, id("chloe@demo.example")?];
        let room =
            app.chat.create_room(streamer, Some(group.into()), members).await.map_err(|e| anyhow!("{group}: {e}"))?;
        app.chat
            .post(streamer, room.id, "Welcome! Missions for tonight's stream are open.", None)
            .await
            .map_err(|e| anyhow!("chat message: {e}"))?;
        report.rooms_created += 1;
    }

    seed_moderation(app, &mut report, ara, joon, id("ben@demo.example")?, id("chloe@demo.example")?).await?;
    seed_orders(app, &mut report, joon, id("ben@demo.example")?, id("chloe@demo.example")?).await?;
    seed_notifications(app, &id, &mut report).await?;
    seed_feed(app, &mut report).await?;
    Ok(report)
}

/// A report in the operators' queue (Ara on one of Joon's listings) and a blocked pair
/// (Chloe blocked Ben), each only once: a report already filed, even if resolved since, and
/// an existing block are kept.
async fn seed_moderation(
    app: &Modules,
    report: &mut SeedReport,
    ara: i64,
    joon: i64,
    ben: i64,
    chloe: i64,
) -> anyhow::Result<()> {
    let all = PageRequest { page: 0, size: 100 };
    let listings = app.catalog.seller_products(joon.into(), all).await.map_err(|e| anyhow!("products: {e}"))?;
    let headlamp =
        listings.items.iter().find(|p| p.name == "Headlamp 400").ok_or_else(|| anyhow!("no Headlamp 400"))?;
    let filed = app.moderation.my_reports(ara, all).await.map_err(|e| anyhow!("reports: {e}"))?;
    if !filed.items.iter().any(|r| r.target_type == TargetType::Product && r.target_id == headlamp.id) {
        let details = Some("The orange one is listed but never in stock.".to_string());
        let (_, created) = app
            .moderation
            .report(ara, TargetType::Product, headlamp.id, Reason::Other, details)
            .await
            .map_err(|e| anyhow!("report: {e}"))?;
        report.reports_created += usize::from(created);
    }
    let blocks = app.chat.blocks(chloe).await.map_err(|e| anyhow!("chat blocks: {e}"))?;
    if !blocks.iter().any(|b| b.user_id == ben) {
        app.chat.block(chloe, ben).await.map_err(|e| anyhow!("chat block: {e}"))?;
        report.blocks_created += 1;
    }
    Ok(())
}

/// What a seeded order goes through after checkout.
#[derive(Clone, Copy)]
enum Step {
    Ship,
    Confirm,
    Cancel,
    RequestReturn,
    RejectReturn,
    AcceptReturn,
}

/// One order per line status (API.md "Line status"), bought from Joon by Ben and Chloe:
/// (buyer, product, item, steps). Mina sells nothing here, so README's walk-through (her
/// balance after one sale) holds on fresh demo data, and Ara's cart and wallet stay as the
/// walk-through expects.
const ORDERS: &[(&str, &str, &str, &[Step])] = &[
    ("ben", "Titanium spork", "natural", &[]),
    ("ben", "Camp mug", "olive", &[Step::Ship]),
    ("ben", "Headlamp 400", "black", &[Step::Ship, Step::Confirm]),
    ("ben", "Titanium spork", "natural", &[Step::Cancel]),
    ("chloe", "Camp mug", "olive", &[Step::Ship, Step::RequestReturn]),
    // Shipped again after the seller rejected the return.
    ("chloe", "Titanium spork", "natural", &[Step::Ship, Step::RequestReturn, Step::RejectReturn]),
    ("chloe", "Camp mug", "olive", &[Step::Ship, Step::RequestReturn, Step::AcceptReturn]),
];

/// Orders in every state, made and moved through the order service (cart, checkout,
/// transitions), so money goes through escrow, fees and refunds and stock follows. Each
/// has a checkout key: an order already placed is kept as it is (a line status alone does
/// not say which steps it went through, so steps run only for an order this run placed).
async fn seed_orders(app: &Modules, report: &mut SeedReport, joon: i64, ben: i64, chloe: i64) -> anyhow::Result<()> {
    use order::cart::CartEdit;
    use order::{Action, Viewer};
    let listings = app
        .catalog
        .seller_products(joon.into(), PageRequest { page: 0, size: 100 })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    for (n, (buyer, product, item, steps)) in ORDERS.iter().enumerate() {
        let buyer_id = if *buyer == "ben" { ben } else { chloe };
        let key = format!("seed-demo:order:{n}");
        if app.orders.placed_by_key(buyer_id.into(), &key).await.map_err(|e| anyhow!("order {key}: {e}"))?.is_some() {
            continue;
        }
        let p = listings.items.iter().find(|p| p.name == *product).ok_or_else(|| anyhow!("no {product}"))?;
        let i = p.items.iter().find(|i| i.name == *item).ok_or_else(|| anyhow!("no {product} {item}"))?;
        let cart = &app.carts;
        wanted("cart", cart.edit(buyer_id.into(), CartEdit::Clear).await)?;
        wanted(
            "cart",
            cart.edit(buyer_id.into(), CartEdit::Add { product_id: p.id, item_id: i.id, quantity: 1 }).await,
        )?;
        let order = wanted("checkout", app.orders.checkout(buyer_id.into(), &key, None).await)?;
        report.orders_created += 1;
        for step in *steps {
            let reason = |s: &str| s.to_string();
            let (viewer, action) = match step {
                Step::Ship => (
                    Viewer::Seller(joon),
                    Action::Ship { carrier: "CJ Logistics".into(), tracking_number: format!("6301-0000-{n:04}") },
                ),
                Step::Confirm => (Viewer::Buyer(buyer_id), Action::Confirm),
                Step::Cancel => (Viewer::Buyer(buyer_id), Action::Cancel { reason: Some(reason("Ordered twice.")) }),
                Step::RequestReturn => {
                    (Viewer::Buyer(buyer_id), Action::RequestReturn { reason: reason("Not the colour I expected.") })
                }
                Step::RejectReturn => {
                    (Viewer::Seller(joon), Action::RejectReturn { reason: reason("Used; returns must be unused.") })
                }
                Step::AcceptReturn => (Viewer::Seller(joon), Action::AcceptReturn { restock: true }),
            };
            wanted("order transition", app.orders.transition(viewer, order.id.into(), None, action).await)?;
        }
    }
    Ok(())
}

/// The standard home feed, only when no row exists yet (operators' own rows are kept).
/// A few inbox entries for a first look (the missions and chats above add their own once
/// the server's dispatchers run); keyed, so a second run stores nothing.
async fn seed_notifications(
    app: &Modules,
    id: &dyn Fn(&str) -> anyhow::Result<i64>,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    use notify::{Kind, NewNotification};
    let now = platform::clock::Clock::now(&*app.clock);
    let seeded = [
        (
            id("ara@demo.example")?,
            Kind::ChargeConfirmed,
            "Points charged",
            "300,000 P added to your wallet.",
            "/wallet",
        ),
        (
            id("streamer@demo.example")?,
            Kind::MissionContribution,
            "Your fans are backing you",
            "Tonight's missions are open: check the pools.",
            "/streamer",
        ),
    ];
    for (account_id, kind, title, body, link) in seeded {
        let n = NewNotification {
            account_id,
            kind,
            title: title.into(),
            body: body.into(),
            link: link.into(),
            data: serde_json::json!({"demo": true}),
            dedupe_key: format!("seed:{}", kind.as_str()),
        };
        if app.notify.store(n, now).await.map_err(|e| anyhow!("demo notification: {e}"))?.is_some() {
            report.notifications_created += 1;
        }
    }
    Ok(())
}

async fn seed_feed(app: &Modules, report: &mut SeedReport) -> anyhow::Result<()> {
    let feed = &app.feed;
    if feed.ad_slots().await.map_err(|e| anyhow!("ad slots: {e}"))?.is_empty() {
        // Served by the web app itself, so the demo needs no network beyond this server.
        let base = app.settings.server.public_url.trim_end_matches('/');
        for (slot_name, title, country) in [
            ("home-top", "Winter sale: 20% off outdoor gear", None),
            ("home-top-kr", "겨울 세일: 아웃도어 20% 할인", Some("KR")),
        ] {
            let slot = AdSlot {
                id: 0,
                slot_name: slot_name.into(),
                title: title.into(),
                image_url: format!("{base}/demo/winter-sale.svg"),
                link_url: format!("{base}/search?q=camp"),
                country: country.map(Into::into),
            };
            feed.create_ad_slot(slot).await.map_err(|e| anyhow!("ad slot {slot_name}: {e}"))?;
            report.ad_slots_created += 1;
        }
    }
    if !feed.rows().await.map_err(|e| anyhow!("feed rows: {e}"))?.is_empty() {
        return Ok(());
    }
    let rows = [
        (
            RowProviderType::Notice,
            0,
            "Welcome",
            Some(json!({"component": "notice", "text": "Free shipping over 50,000 points this week."})),
        ),
        (RowProviderType::QuickButtons, 10, "Shortcuts", Some(json!({"component": "button_row"}))),
        (RowProviderType::MyWallet, 20, "My points", None),
        (RowProviderType::Banner, 30, "Winter sale", None),
        (RowProviderType::NewProducts, 40, "New arrivals", Some(json!({"component": "carousel", "columns": 2}))),
        (RowProviderType::MyCart, 50, "My cart", None),
        (RowProviderType::MyMissions, 60, "My missions", Some(json!({"component": "mission_list"}))),
        (RowProviderType::UnreadChats, 70, "Unread messages", None),
    ];
    for (kind, position, title, template) in rows {
        let selector = match kind {
            RowProviderType::Banner => Selector { slot_match: Some("home-top".into()), ..Selector::default() },
            _ => Selector::default(),
        };
        let row = RowSetting {
            id: 0,
            row_provider_type: kind,
            position,
            enabled: true,
            title: title.into(),
            selector,
            template,
            ttl_seconds: Some(300),
            starts_at: None,
            ends_at: None,
        };
        feed.create_row(row).await.map_err(|e| anyhow!("feed row {title}: {e}")).context("seeding the feed")?;
        report.feed_rows_created += 1;
    }
    Ok(())
}

pub fn demo_emails() -> Vec<&'static str> {
    PEOPLE.iter().map(|p| p.email).collect()
}
