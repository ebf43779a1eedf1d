//! The SDU feed: admin rows and ad slots, selectors, one call per provider, timeouts, and
//! the database → cache → backup tiers.

use crate::helpers::*;
use async_trait::async_trait;
use chrono::Duration as ChronoDuration;
use contracts::Role;
use feed::model::ProviderType;
use feed::providers::Context;
use feed::{Provider, ProviderData, ProviderWrapper};
use platform::clock::Clock;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: &str = "/admin/feed/rows";
const SLOTS: &str = "/admin/feed/ad-slots";

fn row(kind: &str, position: i64, title: &str) -> Value {
    json!({ "row_provider_type": kind, "position": position, "title": title })
}

async fn add_row(admin: &User, body: Value) -> RowSetting {
    admin.post(ROWS, &body).returns(201).await
}

async fn add_slot(admin: &User, name: &str, country: Option<&str>) -> AdSlot {
    let body = json!({
        "slot_name": name, "title": format!("{name} ad"), "image_url": "https://cdn.example.com/ad.png",
        "link_url": "https://example.com/sale", "country": country,
    });
    admin.post(SLOTS, &body).returns(201).await
}

/// The feed as `caller` sees it (`app.client()` for anonymous callers), from `country`.
async fn feed_as(caller: &Client, country: Option<&str>) -> Feed {
    let mut req = caller.get("/feed");
    if let Some(c) = country {
        req = req.header("X-Country", c);
    }
    req.returns(200).await
}

/// Feed settings reload quickly so admin changes and outages show up fast.
fn fast_refresh() -> TestOptions {
    TestOptions::default().with("feed.settings_refresh_ms", "100")
}

#[tokio::test]
async fn admins_manage_rows_and_ad_slots_and_bad_settings_are_refused() {
    let app = spawn_app_with(fast_refresh()).await;
    let admin = app.admin().await;
    let customer = app.user(Role::Customer).await;

    // Only admins.
    app.get(ROWS).fails(401, "unauthenticated").await;
    customer.get(ROWS).fails(403, "forbidden").await;
    customer.post(ROWS, &row("NOTICE", 1, "x")).fails(403, "forbidden").await;
    customer.get(SLOTS).fails(403, "forbidden").await;

    let mut body = row("NEW_PRODUCTS", 5, "  New in  ");
    body["selector"] = json!({ "index_match": 0, "country_match": ["kr"] });
    body["template"] = json!({ "component": "carousel" });
    body["ttl_seconds"] = json!(120);
    let created = add_row(&admin, body.clone()).await;
    assert_eq!(created.title, "New in");
    assert!(created.enabled);
    assert_eq!(created.selector, json!({ "index_match": 0, "country_match": ["KR"] }));
    let id = created.id;
    let listed: Items<RowSetting> = admin.get(ROWS).returns(200).await;
    assert_eq!(listed.items, vec![created]);

    body["title"] = json!("Just in");
    body["enabled"] = json!(false);
    let replaced: RowSetting = admin.put(&format!("{ROWS}/{id}"), &body).returns(200).await;
    assert_eq!((replaced.title.as_str(), replaced.enabled), ("Just in", false));
    admin.put(&format!("{ROWS}/999999"), &body).fails(404, "not_found").await;

    // Each invalid setting is refused and changes nothing.
    let now = app.clock.now();
    let mut bad = vec![
        json!({ "row_provider_type": "HOROSCOPE", "position": 1, "title": "x" }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "x", "selector": { "random_modulo_rule": { "modulo": 0, "remainders": [0] } } }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "x", "selector": { "colour_match": "red" } }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "x", "selector": { "country_match": ["Korea"] } }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "x", "selector": { "index_match": "first" } }),
        json!({ "row_provider_type": "MY_WALLET", "position": 1, "title": "x", "selector": { "slot_match": "home" } }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "" }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "x", "template": [1, 2] }),
        json!({ "row_provider_type": "NOTICE", "position": 1, "title": "x", "ttl_seconds": -5 }),
    ];
    bad.push(json!({
        "row_provider_type": "NOTICE", "position": 1, "title": "x",
        "starts_at": (now + ChronoDuration::hours(2)).to_rfc3339(), "ends_at": (now + ChronoDuration::hours(1)).to_rfc3339(),
    }));
    for body in &bad {
        let err = admin.post(ROWS, body).fails(400, "validation_failed").await;
        assert!(err.error.details.fields.is_some(), "{body}: {err:?}");
        admin.put(&format!("{ROWS}/{id}"), body).fails(400, "validation_failed").await;
    }
    let listed: Items<RowSetting> = admin.get(ROWS).returns(200).await;
    assert_eq!(listed.items, vec![replaced]);

    // Ad slots.
    let slot = add_slot(&admin, "home-top", Some("kr")).await;
    assert_eq!(slot.country.as_deref(), Some("KR"));
    for bad in [
        json!({ "slot_name": "", "title": "t", "image_url": "https://x/i.png", "link_url": "https://x" }),
        json!({ "slot_name": "s", "title": "t", "image_url": "javascript:alert(1)", "link_url": "https://x" }),
        json!({ "slot_name": "s", "title": "t", "image_url": "https://x/i.png", "link_url": "https://x", "country": "KOR" }),
    ] {
        admin.post(SLOTS, &bad).fails(400, "validation_failed").await;
    }
    let slots: Items<AdSlot> = admin.get(SLOTS).returns(200).await;
    assert_eq!(slots.items, vec![slot.clone()]);
    let res = admin.delete(&format!("{SLOTS}/{}", slot.id)).await;
    assert_eq!(res.status(), 204);
    admin.delete(&format!("{SLOTS}/{}", slot.id)).fails(404, "not_found").await;

    customer.delete(&format!("{ROWS}/{id}")).fails(403, "forbidden").await;
    assert_eq!(admin.delete(&format!("{ROWS}/{id}")).await.status(), 204);
    admin.delete(&format!("{ROWS}/{id}")).fails(404, "not_found").await;
    let listed: Items<RowSetting> = admin.get(ROWS).returns(200).await;
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn the_feed_assembles_rows_from_every_module_and_anonymous_callers_get_the_public_ones() {
    let app = spawn_app_with(fast_refresh()).await;
    let admin = app.admin().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    let streamer = app.user(Role::Streamer).await;
    buyer.charge(5_000).await;
    let lamp = seller.create_product("Desk lamp", &[("white", 1_200, 5)]).await;
    seller.create_product("Mug", &[("blue", 300, 5)]).await;
    assert_eq!(buyer.add_to_cart(&lamp, 0, 2).await.status(), 200);
    let due = (app.clock.now() + ChronoDuration::hours(3)).to_rfc3339();
    let mission = json!({ "streamer_id": streamer.id, "title": "No-hit run", "description": "All bosses", "stake": 500, "deadline": due });
    buyer.post("/missions", &mission).idempotency_key("feed-mission").returns::<Mission>(201).await;
    let room: Room = seller.post("/chat/rooms/direct", &json!({ "user_id": buyer.id })).returns(201).await;
    let msg = json!({ "body": "Your lamp ships today" });
    seller.post(&format!("/chat/rooms/{}/messages", room.id), &msg).returns::<Message>(201).await;
    add_slot(&admin, "home-top", None).await;

    let mut notice = row("NOTICE", 0, "Notice");
    notice["template"] = json!({ "component": "notice", "text": "Free shipping" });
    notice["ttl_seconds"] = json!(300);
    add_row(&admin, notice).await;
    add_row(&admin, row("MY_WALLET", 10, "Wallet")).await;
    add_row(&admin, row("MY_CART", 20, "Cart")).await;
    add_row(&admin, row("QUICK_BUTTONS", 30, "Buttons")).await;
    add_row(&admin, row("NEW_PRODUCTS", 40, "Products")).await;
    add_row(&admin, row("MY_MISSIONS", 50, "Missions")).await;
    add_row(&admin, row("UNREAD_CHATS", 60, "Chats")).await;
    add_row(&admin, row("BANNER", 70, "Banner")).await;

    let feed = feed_as(&buyer, None).await;
    assert_eq!(feed.source, "database");
    assert_eq!(feed.titles(), ["Notice", "Wallet", "Cart", "Buttons", "Products", "Missions", "Chats", "Banner"]);
    let types: Vec<(&str, &str)> = feed.rows.iter().map(|r| (r.row_type.as_str(), r.render_type.as_str())).collect();
    assert_eq!(
        types,
        [
            ("NOTICE_SDU", "SDU"),
            ("WALLET_UI", "NATIVE"),
            ("CART_UI", "NATIVE"),
            ("QUICK_BUTTON_UI", "SDU"),
            ("PRODUCT_CAROUSEL_UI", "SDU"),
            ("MISSION_UI", "SDU"),
            ("CHAT_UI", "NATIVE"),
            ("BANNER_AD", "AD"),
        ]
    );
    assert_eq!(feed.row("Wallet").data["balance"], 4_500);
    assert_eq!(feed.row("Cart").data["total"], 2_400);
    assert_eq!(feed.row("Cart").data["quantity"], 2);
    assert_eq!(feed.row("Buttons").data["buttons"][2]["badge"], 1);
    let products = feed.row("Products").data["items"].as_array().unwrap().clone();
    assert_eq!(products.iter().map(|p| p["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Mug", "Desk lamp"]);
    assert_eq!(feed.row("Missions").data["items"][0]["title"], "No-hit run");
    assert_eq!(feed.row("Chats").data["unread_messages"], 1);
    assert_eq!(feed.row("Banner").data["slot_name"], "home-top");
    assert_eq!(feed.row("Notice").data["template"]["text"], "Free shipping");
    let expires = feed.row("Notice").meta.expires_at.unwrap();
    assert!(expires > app.clock.now() && expires <= app.clock.now() + ChronoDuration::seconds(301), "{expires}");
    assert!(feed.row("Wallet").meta.expires_at.is_none());
    assert!(feed.rows.iter().all(|r| r.meta.degraded.is_none()), "{feed:?}");

    // Anonymous: only the rows that need no account.
    let anonymous = feed_as(app.client(), None).await;
    assert_eq!(anonymous.titles(), ["Notice", "Products", "Banner"]);

    // A bad token is an error, not an anonymous feed; so is a malformed country.
    app.with_token("not-a-token").get("/feed").fails(401, "unauthenticated").await;
    app.get("/feed").header("X-Country", "Korea").fails(400, "validation_failed").await;
}

#[tokio::test]
async fn selectors_choose_the_documented_rows() {
    let app = spawn_app_with(fast_refresh()).await;
    let admin = app.admin().await;
    let seller = app.user(Role::Seller).await;
    for name in ["First", "Second", "Third"] {
        seller.create_product(name, &[("std", 100, 1)]).await;
    }
    add_slot(&admin, "home-top", None).await;
    add_slot(&admin, "kr-only", Some("KR")).await;

    let with = |kind: &str, position: i64, title: &str, selector: Value| {
        let mut r = row(kind, position, title);
        r["selector"] = selector;
        r
    };
    add_row(&admin, with("NOTICE", 1, "Korea", json!({ "country_match": ["KR"] }))).await;
    add_row(&admin, with("NOTICE", 2, "Asia", json!({ "country_match": ["KR", "JP"] }))).await;
    add_row(&admin, with("NOTICE", 3, "Even", json!({ "random_modulo_rule": { "modulo": 2, "remainders": [0] } })))
        .await;
    add_row(&admin, with("NOTICE", 4, "Odd", json!({ "random_modulo_rule": { "modulo": 2, "remainders": [1] } })))
        .await;
    add_row(&admin, with("NEW_PRODUCTS", 5, "Second newest", json!({ "index_match": 1 }))).await;
    add_row(&admin, with("NEW_PRODUCTS", 6, "Tenth newest", json!({ "index_match": 9 }))).await;
    add_row(&admin, with("BANNER", 7, "Top banner", json!({ "slot_match": "home-top" }))).await;
    add_row(&admin, with("BANNER", 8, "Korean banner", json!({ "slot_match": "kr-only" }))).await;
    add_row(&admin, with("BANNER", 9, "Missing banner", json!({ "slot_match": "nowhere" }))).await;
    let combined = json!({ "country_match": ["JP"], "random_modulo_rule": { "modulo": 2, "remainders": [0] } });
    add_row(&admin, with("NOTICE", 10, "Even in Japan", combined)).await;

    // Same position: ordered by id.
    add_row(&admin, row("NOTICE", 11, "Tie A")).await;
    add_row(&admin, row("NOTICE", 11, "Tie B")).await;

    let anonymous = feed_as(app.client(), None).await;
    assert_eq!(anonymous.titles(), ["Second newest", "Top banner", "Tie A", "Tie B"]);
    assert_eq!(anonymous.row("Second newest").data["items"].as_array().unwrap().len(), 1);
    assert_eq!(anonymous.row("Second newest").data["items"][0]["name"], "Second");

    let korea = feed_as(app.client(), Some("kr")).await;
    assert_eq!(korea.titles(), ["Korea", "Asia", "Second newest", "Top banner", "Korean banner", "Tie A", "Tie B"]);

    // The modulo rule is on the account id; find one user of each parity.
    let mut even = None;
    let mut odd = None;
    while even.is_none() || odd.is_none() {
        let user = app.user(Role::Customer).await;
        if user.id % 2 == 0 {
            even.get_or_insert(user)
        } else {
            odd.get_or_insert(user)
        };
    }
    let (even, odd) = (even.unwrap(), odd.unwrap());
    let feed = feed_as(&even, Some("JP")).await;
    assert_eq!(feed.titles(), ["Asia", "Even", "Second newest", "Top banner", "Even in Japan", "Tie A", "Tie B"]);
    let feed = feed_as(&odd, Some("JP")).await;
    assert_eq!(feed.titles(), ["Asia", "Odd", "Second newest", "Top banner", "Tie A", "Tie B"]);
}

#[tokio::test]
async fn rows_outside_their_window_or_disabled_are_never_served() {
    let app = spawn_app_with(fast_refresh()).await;
    let admin = app.admin().await;
    let now = app.clock.now();
    let at = |d: ChronoDuration| (now + d).to_rfc3339();
    let mut ending = row("NOTICE", 1, "Ending");
    ending["starts_at"] = json!(at(ChronoDuration::hours(-1)));
    ending["ends_at"] = json!(at(ChronoDuration::minutes(30)));
    ending["ttl_seconds"] = json!(3600);
    add_row(&admin, ending).await;
    let mut later = row("NOTICE", 2, "Later");
    later["starts_at"] = json!(at(ChronoDuration::hours(1)));
    add_row(&admin, later).await;
    let mut off = row("NOTICE", 3, "Off");
    off["enabled"] = json!(false);
    add_row(&admin, off).await;
    let mut past = row("NOTICE", 4, "Past");
    past["starts_at"] = json!(at(ChronoDuration::days(-2)));
    past["ends_at"] = json!(at(ChronoDuration::days(-1)));
    add_row(&admin, past).await;
    add_row(&admin, row("NOTICE", 5, "Always")).await;

    let feed = feed_as(app.client(), None).await;
    assert_eq!(feed.titles(), ["Ending", "Always"]);
    // The row ends before its ttl would: clients must not keep it past the end.
    let expires = feed.row("Ending").meta.expires_at.unwrap();
    assert_eq!(expires.timestamp(), (now + ChronoDuration::minutes(30)).timestamp());

    app.clock.advance(ChronoDuration::minutes(45));
    assert_eq!(feed_as(app.client(), None).await.titles(), ["Always"]);
    app.clock.advance(ChronoDuration::minutes(30));
    assert_eq!(feed_as(app.client(), None).await.titles(), ["Later", "Always"]);
}

/// Counts calls per provider; optionally makes some providers hang.
#[derive(Default)]
struct Instrument {
    calls: Mutex<HashMap<ProviderType, usize>>,
    hang: Mutex<Vec<ProviderType>>,
}

struct Instrumented {
    kind: ProviderType,
    inner: Arc<dyn Provider>,
    instrument: Arc<Instrument>,
}

#[async_trait]
impl Provider for Instrumented {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        *self.instrument.calls.lock().unwrap().entry(self.kind).or_default() += 1;
        let hangs = self.instrument.hang.lock().unwrap().contains(&self.kind);
        if hangs {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        self.inner.fetch(ctx).await
    }
}

fn instrumented(instrument: &Arc<Instrument>) -> ProviderWrapper {
    let instrument = instrument.clone();
    Arc::new(move |kind, inner| {
        Arc::new(Instrumented { kind, inner, instrument: instrument.clone() }) as Arc<dyn Provider>
    })
}

#[tokio::test]
async fn one_feed_request_calls_each_needed_provider_once() {
    let instrument = Arc::new(Instrument::default());
    let app =
        spawn_app_with(TestOptions { feed_provider_wrapper: Some(instrumented(&instrument)), ..fast_refresh() }).await;
    let admin = app.admin().await;
    let buyer = app.user(Role::Customer).await;
    // WALLET twice (MY_WALLET, QUICK_BUTTONS), CART three times (MY_CART ×2, QUICK_BUTTONS), CHAT once.
    add_row(&admin, row("MY_WALLET", 1, "Wallet")).await;
    add_row(&admin, row("QUICK_BUTTONS", 2, "Buttons")).await;
    add_row(&admin, row("MY_CART", 3, "Cart")).await;
    add_row(&admin, row("MY_CART", 4, "Cart again")).await;
    add_row(&admin, row("NOTICE", 5, "Notice")).await;
    instrument.calls.lock().unwrap().clear();

    let feed = feed_as(&buyer, None).await;
    assert_eq!(feed.titles(), ["Wallet", "Buttons", "Cart", "Cart again", "Notice"]);
    let calls = instrument.calls.lock().unwrap().clone();
    assert_eq!(calls, HashMap::from([(ProviderType::Wallet, 1), (ProviderType::Cart, 1), (ProviderType::Chat, 1)]));

    // Anonymous: the personal providers are not called at all.
    instrument.calls.lock().unwrap().clear();
    feed_as(app.client(), None).await;
    assert!(instrument.calls.lock().unwrap().is_empty());

    let metrics = app.get_root("/metrics").await.text().await;
    assert!(
        metrics.lines().any(|l| l.starts_with("feed_provider_calls_total{") && l.contains("provider=\"WALLET\"")),
        "{metrics}"
    );
    assert!(metrics.contains("feed_provider_duration_seconds"), "{metrics}");
}

#[tokio::test]
async fn a_hanging_provider_costs_its_rows_not_the_feed() {
    let instrument = Arc::new(Instrument { hang: Mutex::new(vec![ProviderType::Wallet]), ..Default::default() });
    let options = TestOptions { feed_provider_wrapper: Some(instrumented(&instrument)), ..fast_refresh() }
        .with("feed.provider_timeout_ms", "300");
    let app = spawn_app_with(options).await;
    let admin = app.admin().await;
    let seller = app.user(Role::Seller).await;
    let buyer = app.user(Role::Customer).await;
    seller.create_product("Lamp", &[("std", 100, 1)]).await;
    add_row(&admin, row("MY_WALLET", 1, "Wallet")).await;
    add_row(&admin, row("QUICK_BUTTONS", 2, "Buttons")).await;
    add_row(&admin, row("NEW_PRODUCTS", 3, "Products")).await;
    add_row(&admin, row("MY_CART", 4, "Cart")).await;

    let started = Instant::now();
    let feed = feed_as(&buyer, None).await;
    let took = started.elapsed();
    // The wallet provider sleeps 30 s; the feed is cut at the 300 ms timeout (the margin is
    // generous for a shared machine, and still two orders of magnitude below the hang).
    assert!(took < Duration::from_secs(3), "feed took {took:?}");
    assert_eq!(feed.titles(), ["Wallet", "Buttons", "Products", "Cart"]);
    let wallet = feed.row("Wallet");
    assert_eq!(wallet.data["unavailable"], true);
    assert_eq!(wallet.meta.degraded, Some(true));
    let buttons = feed.row("Buttons");
    assert_eq!(buttons.meta.degraded, Some(true));
    assert!(buttons.data["buttons"][0]["badge"].is_null());
    assert_eq!(buttons.data["buttons"][1]["badge"], 0);
    assert!(feed.row("Cart").meta.degraded.is_none());
    assert_eq!(feed.row("Products").data["items"][0]["name"], "Lamp");

    let metrics = app.get_root("/metrics").await.text().await;
    assert!(
        metrics.lines().any(|l| l.starts_with("feed_provider_calls_total{")
            && l.contains("provider=\"WALLET\"")
            && l.contains("outcome=\"timeout\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn storage_outages_fall_back_to_the_cache_then_the_compiled_in_backup() {
    let Some(mut redis) = PrivateRedis::start() else {
        eprintln!("redis-server not installed; skipping");
        return;
    };
    let app = spawn_app_with(TestOptions { redis_url: Some(redis.url()), ..fast_refresh() }).await;
    let admin = app.admin().await;
    add_row(&admin, row("NOTICE", 1, "From the database")).await;
    let feed = feed_as(app.client(), None).await;
    assert_eq!((feed.source.as_str(), feed.titles()), ("database", vec!["From the database".to_string()]));

    let db = app.assembled.database("feed").unwrap().clone();
    db.simulate_outage(true);
    let cached = platform::testkit::eventually(Duration::from_secs(10), || async {
        let feed = feed_as(app.client(), None).await;
        (feed.source == "cache").then_some(feed)
    })
    .await
    .expect("the feed never switched to the cache");
    assert_eq!(cached.titles(), ["From the database"]);
    // Admin changes fail cleanly while the database is away.
    admin.post(ROWS, &row("NOTICE", 2, "x")).fails(503, "unavailable").await;

    redis.stop();
    let backup = platform::testkit::eventually(Duration::from_secs(15), || async {
        let feed = feed_as(app.client(), None).await;
        (feed.source == "backup").then_some(feed)
    })
    .await
    .expect("the feed never switched to the backup");
    assert!(backup.titles().contains(&"Welcome".to_string()), "{backup:?}");

    redis.restart().unwrap();
    db.simulate_outage(false);
    let recovered = platform::testkit::eventually(Duration::from_secs(15), || async {
        let feed = feed_as(app.client(), None).await;
        (feed.source == "database").then_some(feed)
    })
    .await
    .expect("the feed never went back to the database");
    assert_eq!(recovered.titles(), ["From the database"]);
}

#[tokio::test]
async fn an_admin_change_on_one_instance_reaches_the_others_at_once() {
    // Instances talk through Redis (a private one, so this runs in the SQLite suite too).
    let Some(redis) = PrivateRedis::start() else {
        eprintln!("redis-server not installed; skipping");
        return;
    };
    // A refresh interval far beyond the test: only the change announcement can explain it.
    let options =
        TestOptions { redis_url: Some(redis.url()), ..Default::default() }.with("feed.settings_refresh_ms", "600000");
    let first = spawn_app_with(options).await;
    let second = spawn_peer(&first).await;
    let admin = first.admin().await;
    assert!(feed_as(second.client(), None).await.titles().is_empty());
    add_row(&admin, row("NOTICE", 1, "Hello")).await;
    let seen = platform::testkit::eventually(Duration::from_secs(10), || async {
        let feed = feed_as(second.client(), None).await;
        (feed.titles() == ["Hello"]).then_some(())
    })
    .await;
    assert!(seen.is_some(), "the second instance never saw the new row");
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_skipped_then_probed_until_it_recovers() {
    let instrument = Arc::new(Instrument { hang: Mutex::new(vec![ProviderType::Wallet]), ..Default::default() });
    let options = TestOptions { feed_provider_wrapper: Some(instrumented(&instrument)), ..fast_refresh() }
        .with("feed.provider_timeout_ms", "150")
        .with("feed.breaker_failures", "2")
        .with("feed.breaker_open_ms", "800");
    let app = spawn_app_with(options).await;
    let admin = app.admin().await;
    let buyer = app.user(Role::Customer).await;
    add_row(&admin, row("MY_WALLET", 1, "Wallet")).await;
    add_row(&admin, row("MY_CART", 2, "Cart")).await;
    let wallet_calls = || instrument.calls.lock().unwrap().get(&ProviderType::Wallet).copied().unwrap_or(0);

    // Two timeouts in a row open the circuit: the third request does not call the provider.
    for expected in 1..=2 {
        let feed = feed_as(&buyer, None).await;
        assert_eq!(feed.row("Wallet").data["unavailable"], true);
        assert_eq!(wallet_calls(), expected);
    }
    let feed = feed_as(&buyer, None).await;
    assert_eq!(feed.row("Wallet").meta.degraded, Some(true));
    assert!(feed.row("Cart").meta.degraded.is_none(), "other providers are unaffected");
    assert_eq!(wallet_calls(), 2, "an open circuit skips the provider");

    // After the open period one request probes it; still hanging, so it opens again.
    tokio::time::sleep(Duration::from_millis(900)).await;
    feed_as(&buyer, None).await;
    assert_eq!(wallet_calls(), 3);
    feed_as(&buyer, None).await;
    assert_eq!(wallet_calls(), 3);

    // Healed: the next probe succeeds and closes the circuit for good.
    instrument.hang.lock().unwrap().clear();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let feed = feed_as(&buyer, None).await;
    assert_eq!(feed.row("Wallet").data["balance"], 0);
    for _ in 0..3 {
        let feed = feed_as(&buyer, None).await;
        assert!(feed.row("Wallet").meta.degraded.is_none());
    }
    assert_eq!(wallet_calls(), 7);
    let metrics = app.get_root("/metrics").await.text().await;
    assert!(
        metrics.lines().any(|l| l.starts_with("feed_provider_calls_total{")
            && l.contains("provider=\"WALLET\"")
            && l.contains("outcome=\"skipped\"")),
        "{metrics}"
    );
}
