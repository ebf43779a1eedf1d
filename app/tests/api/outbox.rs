//! The transactional outbox: retries with backoff, parking, dedupe, leases, and several
//! dispatchers on one table.

use crate::helpers::*;
use async_trait::async_trait;
use chrono::Duration;
use diesel::prelude::*;
use platform::clock::SharedClock;
use platform::config::OutboxSettings;
use platform::db::{Db, DbError, IdRow, write_tx};
use platform::outbox::{Dispatcher, Outbox, OutboxHandler, OutboxMessage};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn settings(max_attempts: i32) -> OutboxSettings {
    OutboxSettings {
        poll_interval_ms: 50,
        batch_size: 10,
        max_attempts,
        lease_secs: 60,
        retention_days: 7,
        parked_retention_days: 30,
    }
}

/// The app's own dispatchers are stopped: these tests drive their own on its table.
async fn quiet_app() -> (TestApp, Db, Outbox, SharedClock) {
    let app = spawn_app().await;
    app.stop_workers();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let db = app.assembled.database("account").unwrap().clone();
    let clock: SharedClock = app.clock.clone();
    (app, db, Outbox::new(account::OUTBOX_TABLE), clock)
}

async fn enqueue(db: &Db, outbox: &Outbox, clock: &SharedClock, topic: &str, n: usize, dedupe: Option<&str>) {
    let outbox = outbox.clone();
    let now = clock.now();
    let topic = topic.to_string();
    let dedupe = dedupe.map(str::to_string);
    db.run(move |conn| {
        write_tx(conn, |conn| {
            for i in 0..n {
                outbox.enqueue(conn, now, &topic, &serde_json::json!({ "i": i }), dedupe.as_deref())?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await
    .unwrap();
}

async fn statuses(db: &Db) -> Vec<(String, i32)> {
    db.run(|conn| {
        diesel::sql_query("SELECT status, attempts FROM account_outbox ORDER BY id")
            .load::<StatusRow>(conn)
            .map(|rows| rows.into_iter().map(|r| (r.status, r.attempts)).collect::<Vec<_>>())
            .map_err(DbError::from)
    })
    .await
    .unwrap()
}

#[derive(QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// Fails its first `failures` calls.
struct Flaky {
    failures: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl OutboxHandler for Flaky {
    async fn handle(&self, _: &OutboxMessage) -> anyhow::Result<()> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.failures { anyhow::bail!("failure {n}") } else { Ok(()) }
    }
}

#[tokio::test]
async fn failures_are_retried_with_backoff_until_done() {
    let (app, db, outbox, clock) = quiet_app().await;
    let handler = Arc::new(Flaky { failures: 2, calls: AtomicUsize::new(0) });
    let dispatcher = Dispatcher::new("account", db.clone(), outbox.clone(), settings(5), clock.clone())
        .register("t.flaky", handler.clone());
    enqueue(&db, &outbox, &clock, "t.flaky", 1, None).await;
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    assert_eq!(statuses(&db).await, vec![("pending".into(), 1)]);
    assert_eq!(dispatcher.run_once().await.unwrap(), 0, "backing off");
    app.clock.advance(Duration::seconds(2));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    app.clock.advance(Duration::seconds(3));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    assert_eq!(statuses(&db).await, vec![("done".into(), 3)]);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn poison_messages_are_parked_after_max_attempts() {
    let (app, db, outbox, clock) = quiet_app().await;
    let handler = Arc::new(Flaky { failures: usize::MAX, calls: AtomicUsize::new(0) });
    let dispatcher = Dispatcher::new("account", db.clone(), outbox.clone(), settings(3), clock.clone())
        .register("t.poison", handler.clone());
    enqueue(&db, &outbox, &clock, "t.poison", 1, None).await;
    enqueue(&db, &outbox, &clock, "t.unknown", 1, None).await;
    for _ in 0..5 {
        dispatcher.run_once().await.unwrap();
        app.clock.advance(Duration::minutes(11));
    }
    assert_eq!(statuses(&db).await, vec![("parked".into(), 3), ("parked".into(), 1)]);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
    let stats = platform::outbox::stats(&db, &outbox).await.unwrap();
    assert_eq!((stats.pending, stats.parked), (0, 2));
}

#[tokio::test]
async fn a_dedupe_key_is_enqueued_once() {
    let (_app, db, outbox, clock) = quiet_app().await;
    enqueue(&db, &outbox, &clock, "t.x", 1, Some("only-once")).await;
    enqueue(&db, &outbox, &clock, "t.x", 1, Some("only-once")).await;
    assert_eq!(statuses(&db).await.len(), 1);
}

struct Counting {
    seen: Mutex<HashMap<i64, usize>>,
}

#[async_trait]
impl OutboxHandler for Counting {
    async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        *self.seen.lock().unwrap().entry(message.id).or_default() += 1;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_dispatchers_handle_each_message_once() {
    let (_app, db, outbox, clock) = quiet_app().await;
    enqueue(&db, &outbox, &clock, "t.count", 120, None).await;
    let handler = Arc::new(Counting { seen: Mutex::new(HashMap::new()) });
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let d = Dispatcher::new("account", db.clone(), outbox.clone(), settings(5), clock.clone())
                .register("t.count", handler.clone());
            tokio::spawn(async move { while d.run_once().await.unwrap() > 0 {} })
        })
        .collect();
    for r in runs {
        r.await.unwrap();
    }
    let seen = handler.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 120);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert!(statuses(&db).await.iter().all(|(s, _)| s == "done"));
}

struct Hangs;

#[async_trait]
impl OutboxHandler for Hangs {
    async fn handle(&self, _: &OutboxMessage) -> anyhow::Result<()> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// A dispatcher whose handler (allowed `timeout`) hangs dies mid-claim; another one must
/// take the message over once one lease (60 s) has passed, not before.
async fn crash_then_take_over(topic: &str, timeout: std::time::Duration) {
    let (app, db, outbox, clock) = quiet_app().await;
    enqueue(&db, &outbox, &clock, topic, 1, None).await;
    let doomed = Dispatcher::new("account", db.clone(), outbox.clone(), settings(5), clock.clone())
        .register_with_timeout(topic, Arc::new(Hangs), timeout);
    let crashed = tokio::spawn(async move { doomed.run_once().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    crashed.abort();
    let handler = Arc::new(Counting { seen: Mutex::new(HashMap::new()) });
    let rescuer = Dispatcher::new("account", db.clone(), outbox.clone(), settings(5), clock.clone())
        .register(topic, handler.clone());
    assert_eq!(rescuer.run_once().await.unwrap(), 0, "still leased");
    app.clock.advance(Duration::seconds(61));
    assert_eq!(rescuer.run_once().await.unwrap(), 1, "taken over after one lease");
    assert_eq!(statuses(&db).await, vec![("done".into(), 2)]);
}

#[tokio::test]
async fn a_crashed_dispatchers_claims_expire_and_are_taken_over() {
    // `register`'s default: half the lease.
    crash_then_take_over("t.job", std::time::Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_long_handlers_claim_comes_back_one_lease_after_a_crash_not_after_its_timeout() {
    // Like mission settlement: a handler allowed ten minutes.
    crash_then_take_over("t.settle", std::time::Duration::from_secs(600)).await;
}

/// Waits until the test lets it finish.
struct Gate(Arc<tokio::sync::Notify>);

#[async_trait]
impl OutboxHandler for Gate {
    async fn handle(&self, _: &OutboxMessage) -> anyhow::Result<()> {
        self.0.notified().await;
        Ok(())
    }
}

#[tokio::test]
async fn a_running_handler_keeps_its_claim_past_the_first_lease() {
    let (app, db, outbox, clock) = quiet_app().await;
    enqueue(&db, &outbox, &clock, "t.slow", 1, None).await;
    let short = OutboxSettings { lease_secs: 3, ..settings(5) };
    let gate = Arc::new(tokio::sync::Notify::new());
    let worker = Dispatcher::new("account", db.clone(), outbox.clone(), short.clone(), clock.clone())
        .register_with_timeout("t.slow", Arc::new(Gate(gate.clone())), std::time::Duration::from_secs(60));
    let running = tokio::spawn(async move { worker.run_once().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let handler = Arc::new(Counting { seen: Mutex::new(HashMap::new()) });
    let other = Dispatcher::new("account", db.clone(), outbox.clone(), short, clock.clone())
        .register("t.slow", handler.clone());
    assert_eq!(other.run_once().await.unwrap(), 0);
    // Past the first lease (3 s) by the clock, with at least one renewal (every 1 s) since.
    app.clock.advance(Duration::seconds(2));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(other.run_once().await.unwrap(), 0, "the running handler's lease was renewed");
    gate.notify_one();
    assert_eq!(running.await.unwrap().unwrap(), 1);
    assert_eq!(statuses(&db).await, vec![("done".into(), 1)]);
    assert!(handler.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_sweep_deletes_old_done_and_parked_rows_and_keeps_recent_and_pending_ones() {
    let (app, db, outbox, clock) = quiet_app().await;
    let handler = Arc::new(Flaky { failures: 0, calls: AtomicUsize::new(0) });
    let dispatcher = Dispatcher::new("account", db.clone(), outbox.clone(), settings(1), clock.clone())
        .register("t.ok", handler.clone());
    // One done and one parked (undeclared topic, one attempt) row, then 31 days pass.
    enqueue(&db, &outbox, &clock, "t.ok", 1, None).await;
    enqueue(&db, &outbox, &clock, "t.unknown", 1, None).await;
    dispatcher.run_once().await.unwrap();
    app.clock.advance(Duration::days(31));
    // Recent rows: done and parked today, and one still pending (not yet due).
    enqueue(&db, &outbox, &clock, "t.ok", 1, None).await;
    enqueue(&db, &outbox, &clock, "t.unknown", 1, None).await;
    dispatcher.run_once().await.unwrap();
    enqueue(&db, &outbox, &clock, "t.ok", 1, None).await;
    assert_eq!(dispatcher.sweep().await.unwrap(), 2);
    assert_eq!(statuses(&db).await, vec![("done".into(), 1), ("parked".into(), 1), ("pending".into(), 0)]);
    // Parked rows last `parked_retention_days` (30), done rows `retention_days` (7).
    app.clock.advance(Duration::days(8));
    assert_eq!(dispatcher.sweep().await.unwrap(), 1);
    assert_eq!(statuses(&db).await, vec![("parked".into(), 1), ("pending".into(), 0)]);
}

async fn parked_ids(db: &Db) -> Vec<i64> {
    db.run(|conn| {
        diesel::sql_query("SELECT id FROM account_outbox WHERE status = 'parked' ORDER BY id")
            .load::<IdRow>(conn)
            .map(|rows| rows.into_iter().map(|r| r.id).collect::<Vec<_>>())
            .map_err(DbError::from)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn operators_list_parked_rows_of_every_module_and_queue_them_again() {
    use platform::outbox::OutboxRow;
    let app = spawn_app().await;
    let db = app.assembled.database("account").unwrap().clone();
    let clock: SharedClock = app.clock.clone();
    // The app's account dispatcher parks a topic it has no handler for at once.
    enqueue(&db, &Outbox::new(account::OUTBOX_TABLE), &clock, "t.unknown", 2, None).await;
    let ids = platform::testkit::eventually(std::time::Duration::from_secs(10), || async {
        let ids = parked_ids(&db).await;
        (ids.len() == 2).then_some(ids)
    })
    .await
    .expect("both rows parked");
    let admin = app.admin().await;
    let page: Page<OutboxRow> = admin.get("/admin/outbox?status=parked&page=0&size=1").returns(200).await;
    assert_eq!((page.total, page.items.len(), page.page, page.size), (2, 1, 0, 1));
    let first = &page.items[0];
    assert_eq!((first.module.as_str(), first.id, first.topic.as_str()), ("account", ids[0], "t.unknown"));
    assert_eq!((first.attempts, first.status.as_str()), (1, "parked"));
    assert!(first.last_error.as_deref().unwrap_or_default().contains("no handler"), "{first:?}");
    let second: Page<OutboxRow> = admin.get("/admin/outbox?page=1&size=1").returns(200).await;
    assert_eq!(second.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[1]], "parked is the default");
    admin.get("/admin/outbox?status=done").fails(400, "validation_failed").await;

    let retried: OutboxRow =
        admin.post(&format!("/admin/outbox/account/{}/retry", ids[0]), &serde_json::json!({})).returns(200).await;
    assert_eq!((retried.id, retried.status.as_str(), retried.attempts), (ids[0], "pending", 0));
    // The dispatcher delivers it again (and, still without a handler, parks it again).
    let again = platform::testkit::eventually(std::time::Duration::from_secs(10), || async {
        statuses(&db).await.first().cloned().filter(|(status, attempts)| status == "parked" && *attempts == 1)
    })
    .await;
    assert!(again.is_some(), "the retried row was delivered again");

    // Not parked: 409; unknown module or id: 404.
    let done = ids[1];
    db.run(move |conn| {
        diesel::sql_query("UPDATE account_outbox SET status = 'done' WHERE id = ?")
            .bind::<diesel::sql_types::BigInt, _>(done)
            .execute(conn)
            .map_err(DbError::from)
    })
    .await
    .unwrap();
    admin
        .post(&format!("/admin/outbox/account/{done}/retry"), &serde_json::json!({}))
        .fails(409, "invalid_outbox_state")
        .await;
    admin.post("/admin/outbox/nope/1/retry", &serde_json::json!({})).fails(404, "not_found").await;
    admin
        .post(&format!("/admin/outbox/mission/{}/retry", i64::MAX), &serde_json::json!({}))
        .fails(404, "not_found")
        .await;
    let customer = app.user(contracts::Role::Customer).await;
    customer.get("/admin/outbox").fails(403, "forbidden").await;
}
