//! The transactional outbox. A module that must cause an effect after its own commit
//! (send an email, settle a mission, finish a checkout) inserts a row into its own
//! `<module>_outbox` table in the same transaction; a [`Dispatcher`] claims rows, runs the
//! registered idempotent handler, marks them done, retries failures with exponential
//! backoff and parks a row after `outbox.max_attempts`.
//!
//! Claims are leases: a claimed row becomes available again after `outbox.lease_secs`, so a
//! dispatcher that dies mid-handler loses nothing. While its handlers run, a dispatcher
//! renews the lease of its unfinished rows every third of it, so a long handler (settling a
//! mission) keeps its rows while a crashed instance's rows come back within one lease. On MySQL, claims use
//! `FOR UPDATE SKIP LOCKED` so several instances' dispatchers never block one another.
//!
//! Two kinds of topic share the table:
//! - a *command* (`mail.send`, `mission.settle`) has exactly one handler, registered with
//!   [`Dispatcher::register`]; a row whose topic has no handler is parked;
//! - an *event* ([`Outbox::publish`], e.g. `order.order_shipped`) announces what happened in
//!   the module. Other modules subscribe in `app` with [`Dispatcher::subscribe`]; every
//!   subscriber runs for every event, in registration order, and the row is done when all
//!   of them succeeded (a failure retries the row, so subscribers must be idempotent, e.g.
//!   keyed by the event's dedupe key). An event nobody subscribes to yet is simply done.

use crate::clock::{SharedClock, from_db, to_db};
use crate::config::OutboxSettings;
use crate::db::{Backend, CachedExt, CountRow, Db, DbConn, DbError, bind_ids, placeholders, write_tx};
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use contracts::events::Event;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The statements that create an outbox table named `table` if it is missing. Every module's
/// outbox has this one shape, which the queries below rely on, so it is written here once:
/// [`Db::migrate`] applies it for each [`Migrations::outbox`](crate::db::Migrations::outbox)
/// before that module's own migrations (databases made by the earlier per-module DDL already
/// have the same table, and `IF NOT EXISTS` leaves it alone).
pub fn table_ddl(backend: Backend, table: &str) -> String {
    assert_identifier(table);
    match backend {
        Backend::Mysql => format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                topic VARCHAR(100) NOT NULL,
                payload LONGTEXT NOT NULL,
                dedupe_key VARCHAR(191) NULL,
                status VARCHAR(16) NOT NULL,
                attempts INT NOT NULL DEFAULT 0,
                available_at DATETIME(6) NOT NULL,
                claim_token VARCHAR(64) NULL,
                last_error TEXT NULL,
                created_at DATETIME(6) NOT NULL,
                processed_at DATETIME(6) NULL,
                UNIQUE KEY {table}_dedupe (dedupe_key),
                KEY {table}_ready (status, available_at, id)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        ),
        Backend::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                topic TEXT NOT NULL,
                payload TEXT NOT NULL,
                dedupe_key TEXT NULL UNIQUE,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                available_at TIMESTAMP NOT NULL,
                claim_token TEXT NULL,
                last_error TEXT NULL,
                created_at TIMESTAMP NOT NULL,
                processed_at TIMESTAMP NULL
            );
            CREATE INDEX IF NOT EXISTS {table}_ready ON {table} (status, available_at, id)"
        ),
    }
}

/// A module's outbox table plus a wake-up signal for the local dispatcher.
#[derive(Clone)]
pub struct Outbox {
    table: &'static str,
    wake: Arc<Notify>,
}

impl Outbox {
    /// `table` is a compile-time constant (e.g. `"account_outbox"`), never user input: it is
    /// spliced into SQL.
    pub fn new(table: &'static str) -> Self {
        assert_identifier(table);
        Outbox { table, wake: Arc::new(Notify::new()) }
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Inserts a message; call inside the transaction whose commit must cause it. With a
    /// `dedupe_key`, a second enqueue of the same key is silently ignored.
    pub fn enqueue(
        &self,
        conn: &mut DbConn,
        now: DateTime<Utc>,
        topic: &str,
        payload: &impl Serialize,
        dedupe_key: Option<&str>,
    ) -> Result<(), DbError> {
        self.insert(conn, now, topic, payload, dedupe_key)?;
        Ok(())
    }

    /// The one insert of a pending row; how many rows it added (0 when `dedupe_key` is taken).
    fn insert(
        &self,
        conn: &mut DbConn,
        now: DateTime<Utc>,
        topic: &str,
        payload: &impl Serialize,
        dedupe_key: Option<&str>,
    ) -> Result<usize, DbError> {
        let payload = serde_json::to_string(payload).map_err(|e| DbError::Task(e.to_string()))?;
        let insert = match conn.backend() {
            Backend::Sqlite => "INSERT OR IGNORE INTO",
            Backend::Mysql => "INSERT IGNORE INTO",
        };
        Ok(diesel::sql_query(format!(
            "{insert} {} (topic, payload, dedupe_key, status, attempts, available_at, created_at) \
             VALUES (?, ?, ?, 'pending', 0, ?, ?)",
            self.table
        ))
        .bind::<Text, _>(topic)
        .bind::<Text, _>(payload)
        .bind::<Nullable<Text>, _>(dedupe_key)
        .bind::<Timestamp, _>(to_db(now))
        .bind::<Timestamp, _>(to_db(now))
        .cached()
        .execute(conn)?)
    }

    /// Announces `event`; call inside the transaction that made it true, so subscribers hear
    /// of it exactly when it commits. Publishing the same event twice (same dedupe key)
    /// stores it once.
    pub fn publish(&self, conn: &mut DbConn, now: DateTime<Utc>, event: &impl Event) -> Result<(), DbError> {
        self.enqueue(conn, now, event.topic(), event, Some(&event.dedupe_key()))
    }

    /// Enqueues a command again (a sweep re-driving work that must happen): inserts the row
    /// when none has `dedupe_key`, or puts a parked one whose backoff has passed back to
    /// pending with fresh attempts. A pending or done row is left alone. Returns whether
    /// anything was queued.
    pub fn requeue(
        &self,
        conn: &mut DbConn,
        now: DateTime<Utc>,
        topic: &str,
        payload: &impl Serialize,
        dedupe_key: &str,
    ) -> Result<bool, DbError> {
        let inserted = self.insert(conn, now, topic, payload, Some(dedupe_key))?;
        if inserted > 0 {
            return Ok(true);
        }
        let revived = diesel::sql_query(format!(
            "UPDATE {} SET {REVIVE} WHERE dedupe_key = ? AND status = 'parked' AND available_at <= ?",
            self.table
        ))
        .bind::<Timestamp, _>(to_db(now))
        .bind::<Text, _>(dedupe_key)
        .bind::<Timestamp, _>(to_db(now))
        .cached()
        .execute(conn)?;
        Ok(revived > 0)
    }

    /// Tells the local dispatcher to look now rather than at its next poll; call after commit.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Puts a row back in the queue with fresh attempts (its `last_error` stays until it is
/// handled, so operators still see why it was parked). Binds: `available_at`.
const REVIVE: &str = "status = 'pending', attempts = 0, available_at = ?, claim_token = NULL";

fn assert_identifier(name: &str) {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    assert!(ok, "outbox table name must be a plain identifier: {name}");
}

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: i64,
    pub topic: String,
    pub payload: serde_json::Value,
    /// Including this one.
    pub attempts: i32,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl OutboxMessage {
    /// The payload as the type it was published as.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_value(self.payload.clone())
            .map_err(|e| anyhow::anyhow!("outbox message {} ({}) does not decode: {e}", self.id, self.topic))
    }
}

/// Handles one topic. Must be idempotent: a message can be delivered more than once (a
/// crash after the effect but before the row is marked done).
#[async_trait]
pub trait OutboxHandler: Send + Sync + 'static {
    async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()>;
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    topic: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    dedupe_key: Option<String>,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

/// Numbers for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: i64,
    pub parked: i64,
}

/// What a dispatcher does with one topic.
struct Route {
    /// Commands have exactly one handler; events any number of subscribers, even none.
    handlers: Vec<Arc<dyn OutboxHandler>>,
    /// Each handler's time limit.
    timeout: Duration,
}

/// What handling a claimed message comes to: `None` keeps a timestamp as it is; `error` is
/// the row's `last_error` (cleared by `None`).
struct Outcome {
    status: &'static str,
    processed_at: Option<DateTime<Utc>>,
    available_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

/// Runs the handlers of one module's outbox.
pub struct Dispatcher {
    db: Db,
    outbox: Outbox,
    module: String,
    routes: HashMap<String, Route>,
    settings: OutboxSettings,
    clock: SharedClock,
}

/// Messages handled at the same time by one dispatcher.
const CONCURRENCY: usize = 8;

impl Dispatcher {
    pub fn new(module: &str, db: Db, outbox: Outbox, settings: OutboxSettings, clock: SharedClock) -> Self {
        // Claims and their outcomes wait through a frozen database rather than time out and
        // leave rows claimed by nobody.
        let db = db.unbounded();
        Dispatcher { db, outbox, module: module.to_string(), routes: HashMap::new(), settings, clock }
    }

    /// Handlers get half the lease (`outbox.lease_secs / 2`) to finish.
    fn default_timeout(&self) -> Duration {
        Duration::from_secs((self.settings.lease_secs.max(2) / 2) as u64)
    }

    /// The one handler of a command topic (registering again replaces it).
    pub fn register(self, topic: &str, handler: Arc<dyn OutboxHandler>) -> Self {
        let timeout = self.default_timeout();
        self.register_with_timeout(topic, handler, timeout)
    }

    /// For long handlers (settling a mission with thousands of contributors). The lease is
    /// renewed while the handler runs, so the timeout may exceed it.
    pub fn register_with_timeout(mut self, topic: &str, handler: Arc<dyn OutboxHandler>, timeout: Duration) -> Self {
        self.routes.insert(topic.to_string(), Route { handlers: vec![handler], timeout });
        self
    }

    /// Declares the event topics a module publishes, so that its events are marked done
    /// while nobody subscribes to them (rather than parked as unknown topics).
    pub fn declare_events(mut self, topics: &[&str]) -> Self {
        let timeout = self.default_timeout();
        for topic in topics {
            self.routes.entry((*topic).to_string()).or_insert_with(|| Route { handlers: Vec::new(), timeout });
        }
        self
    }

    /// Adds a subscriber to an event topic (declaring it if needed); subscribers run in the
    /// order they were added.
    pub fn subscribe(mut self, topic: &str, handler: Arc<dyn OutboxHandler>) -> Self {
        let timeout = self.default_timeout();
        self.routes
            .entry(topic.to_string())
            .or_insert_with(|| Route { handlers: Vec::new(), timeout })
            .handlers
            .push(handler);
        self
    }

    fn lease_secs(&self) -> i64 {
        self.settings.lease_secs.max(3)
    }

    /// Polls until `shutdown`; wakes early when the module signals a new message.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let mut last_cleanup = std::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let handled = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(module = %self.module, error = %e, "outbox poll failed");
                    0
                }
            };
            if last_cleanup.elapsed() > Duration::from_secs(3600) {
                last_cleanup = std::time::Instant::now();
                if let Err(e) = self.sweep().await {
                    tracing::warn!(module = %self.module, error = %e, "outbox cleanup failed");
                }
            }
            if handled as i64 >= self.settings.batch_size {
                continue; // more may be waiting
            }
            tokio::select! {
                _ = self.outbox.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        tracing::info!(module = %self.module, "outbox dispatcher stopped");
    }

    /// Claims one batch and handles it; returns how many messages were handled.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let claimed = self.claim().await?;
        let count = claimed.len();
        let Some(token) = claimed.first().map(|(token, _)| token.clone()) else { return Ok(0) };
        // Outcomes are written as handlers finish, those that finish while a write is under
        // way together in the next one: one statement for many rows under load, instead of
        // a transaction each, and still no row waiting for a slow neighbour.
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
        let work = async move {
            futures::stream::iter(claimed)
                .for_each_concurrent(CONCURRENCY, |(token, message)| {
                    let done_tx = done_tx.clone();
                    async move {
                        let id = message.id;
                        if self.dispatch(&token, message).await {
                            let _ = done_tx.send(id);
                        }
                    }
                })
                .await;
        };
        let record = async {
            while let Some(id) = done_rx.recv().await {
                let mut ids = vec![id];
                while let Ok(id) = done_rx.try_recv() {
                    ids.push(id);
                }
                if let Err(e) = self.mark_done(ids, &token).await {
                    // The lease runs out and the messages are handled again: handlers are idempotent.
                    tracing::warn!(module = %self.module, error = %e, "could not record outbox outcomes");
                }
            }
        };
        tokio::select! {
            ((), ()) = futures::future::join(work, record) => {}
            () = self.renew_leases(&token) => {}
        }
        Ok(count)
    }

    /// Runs until dropped: pushes the lease of this claim's unfinished rows forward.
    async fn renew_leases(&self, token: &str) {
        let every = Duration::from_millis((self.lease_secs() as u64 * 1000 / 3).max(1));
        loop {
            tokio::time::sleep(every).await;
            let (table, token) = (self.outbox.table, token.to_string());
            let lease_until = self.clock.now() + ChronoDuration::seconds(self.lease_secs());
            let renewed = self
                .db
                .run(move |conn| {
                    diesel::sql_query(format!(
                        "UPDATE {table} SET available_at = ? WHERE claim_token = ? AND status = 'pending'"
                    ))
                    .bind::<Timestamp, _>(to_db(lease_until))
                    .bind::<Text, _>(&token)
                    .cached()
                    .execute(conn)
                    .map_err(DbError::from)
                })
                .await;
            if let Err(e) = renewed {
                // Should the lease run out, another dispatcher handles the row again: handlers are idempotent.
                tracing::warn!(module = %self.module, error = %e, "could not renew outbox leases");
            }
        }
    }

    /// Runs the message's handlers; `true` when they all succeeded (the caller marks it
    /// done), otherwise records the failure.
    async fn dispatch(&self, token: &str, message: OutboxMessage) -> bool {
        let outcome = match self.routes.get(&message.topic) {
            None => Err(anyhow::anyhow!("no handler registered for topic {}", message.topic)),
            Some(route) => run_route(route, &message).await,
        };
        let labels = [("module", self.module.clone()), ("topic", message.topic.clone())];
        let recorded = match &outcome {
            Ok(()) => {
                metrics::counter!("outbox_handled_total", &labels).increment(1);
                return true;
            }
            Err(err) => {
                let parked =
                    message.attempts >= self.settings.max_attempts || !self.routes.contains_key(&message.topic);
                if parked {
                    metrics::counter!("outbox_parked_total", &labels).increment(1);
                    tracing::error!(module = %self.module, id = message.id, topic = %message.topic, error = %format!("{err:#}"), "outbox message parked");
                } else {
                    metrics::counter!("outbox_failed_total", &labels).increment(1);
                    tracing::warn!(module = %self.module, id = message.id, topic = %message.topic, attempt = message.attempts, error = %format!("{err:#}"), "outbox handler failed; will retry");
                }
                self.mark_failed(message.id, token, message.attempts, parked, &format!("{err:#}")).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the message is handled again: handlers are idempotent.
            tracing::warn!(module = %self.module, id = message.id, error = %e, "could not record outbox outcome");
        }
        false
    }

    async fn claim(&self) -> Result<Vec<(String, OutboxMessage)>, DbError> {
        let table = self.outbox.table;
        let now = self.clock.now();
        let lease_until = now + ChronoDuration::seconds(self.lease_secs());
        let batch = self.settings.batch_size.max(1);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let rows = self
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let lock = match conn.backend() {
                        Backend::Mysql => " FOR UPDATE SKIP LOCKED",
                        Backend::Sqlite => "", // BEGIN IMMEDIATE already serialises writers
                    };
                    // Kept prepared (one text per table): `SKIP LOCKED` never waits for a lock,
                    // so no wait can fail in the middle of its result (see `db::Cached`).
                    let mut rows: Vec<ClaimedRow> = diesel::sql_query(format!(
                        "SELECT id, topic, payload, attempts, dedupe_key, created_at FROM {table} \
                         WHERE status = 'pending' AND available_at <= ? ORDER BY id LIMIT ?{lock}"
                    ))
                    .bind::<Timestamp, _>(to_db(now))
                    .bind::<BigInt, _>(batch)
                    .cached()
                    .load(conn)?;
                    if rows.is_empty() {
                        return Ok(Vec::new());
                    }
                    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                    let claim = diesel::sql_query(format!(
                        "UPDATE {table} SET claim_token = ?, available_at = ?, attempts = attempts + 1 WHERE id IN ({})",
                        placeholders(ids.len())
                    ))
                    .into_boxed()
                    .bind::<Text, _>(&token)
                    .bind::<Timestamp, _>(to_db(lease_until));
                    bind_ids(claim, &ids).cached_if(ids.len() == 1).execute(conn)?;
                    // The rows are locked (or the database is, on SQLite): the count just written.
                    for row in &mut rows {
                        row.attempts += 1;
                    }
                    Ok::<_, DbError>(rows.into_iter().map(|r| (token.clone(), r)).collect::<Vec<_>>())
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(token, r)| {
                let payload = serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::String(r.payload));
                (
                    token,
                    OutboxMessage {
                        id: r.id,
                        topic: r.topic,
                        payload,
                        attempts: r.attempts,
                        dedupe_key: r.dedupe_key,
                        created_at: from_db(r.created_at),
                    },
                )
            })
            .collect())
    }

    async fn mark_done(&self, ids: Vec<i64>, token: &str) -> Result<(), DbError> {
        let outcome = Outcome { status: "done", processed_at: Some(self.clock.now()), available_at: None, error: None };
        self.record(&ids, token, outcome).await
    }

    async fn mark_failed(&self, id: i64, token: &str, attempts: i32, park: bool, error: &str) -> Result<(), DbError> {
        // 1 s, 2 s, 4 s … capped at 10 minutes.
        let backoff =
            ChronoDuration::seconds(1i64 << attempts.clamp(1, 10).saturating_sub(1)).min(ChronoDuration::minutes(10));
        let outcome = Outcome {
            status: if park { "parked" } else { "pending" },
            processed_at: None,
            available_at: Some(self.clock.now() + backoff),
            error: Some(error.chars().take(1000).collect()),
        };
        self.record(&[id], token, outcome).await
    }

    /// Writes the outcome of messages `ids` and lets go of their claim, where it is still
    /// `token`.
    async fn record(&self, ids: &[i64], token: &str, outcome: Outcome) -> Result<(), DbError> {
        if ids.is_empty() {
            return Ok(());
        }
        let table = self.outbox.table;
        let token = token.to_string();
        let ids = ids.to_vec();
        let sql = format!(
            "UPDATE {table} SET status = ?, processed_at = COALESCE(?, processed_at), \
             available_at = COALESCE(?, available_at), last_error = ?, claim_token = NULL \
             WHERE claim_token = ? AND id IN ({})",
            placeholders(ids.len())
        );
        // A write transaction, so a deadlock with another dispatcher's claim is retried:
        // an outcome left unrecorded waits out the whole lease.
        self.db
            .tx(move |conn| {
                let update = diesel::sql_query(sql.clone())
                    .into_boxed()
                    .bind::<Text, _>(outcome.status)
                    .bind::<Nullable<Timestamp>, _>(outcome.processed_at.map(to_db))
                    .bind::<Nullable<Timestamp>, _>(outcome.available_at.map(to_db))
                    .bind::<Nullable<Text>, _>(outcome.error.clone())
                    .bind::<Text, _>(token.clone());
                bind_ids(update, &ids).cached_if(ids.len() == 1).execute(conn).map_err(DbError::from)
            })
            .await
            .map(|_| ())
    }

    /// The outbox's retention (run hourly by [`Dispatcher::run`]): deletes done rows older
    /// than `outbox.retention_days` and parked rows left alone for
    /// `outbox.parked_retention_days` (a parked row's `available_at` is when it was parked,
    /// plus its last backoff; an operator's retry makes it pending again). Returns how many.
    pub async fn sweep(&self) -> Result<usize, DbError> {
        let table = self.outbox.table;
        let now = self.clock.now();
        let done_cutoff = now - ChronoDuration::days(self.settings.retention_days.max(1));
        let parked_cutoff = now - ChronoDuration::days(self.settings.parked_retention_days.max(1));
        let deleted = self
            .db
            .run(move |conn| {
                let done = diesel::sql_query(format!("DELETE FROM {table} WHERE status = 'done' AND processed_at < ?"))
                    .bind::<Timestamp, _>(to_db(done_cutoff))
                    .execute(conn)?;
                let parked =
                    diesel::sql_query(format!("DELETE FROM {table} WHERE status = 'parked' AND available_at < ?"))
                        .bind::<Timestamp, _>(to_db(parked_cutoff))
                        .execute(conn)?;
                Ok::<_, DbError>(done + parked)
            })
            .await?;
        if deleted > 0 {
            metrics::counter!("outbox_swept_total", "module" => self.module.clone()).increment(deleted as u64);
        }
        Ok(deleted)
    }

    pub fn module(&self) -> &str {
        &self.module
    }
}

/// Runs every handler of the route in order; the first failure (or timeout) stops it.
async fn run_route(route: &Route, message: &OutboxMessage) -> anyhow::Result<()> {
    for handler in &route.handlers {
        match tokio::time::timeout(route.timeout, handler.handle(message)).await {
            Ok(result) => result?,
            Err(_) => anyhow::bail!("handler timed out after {:?}", route.timeout),
        }
    }
    Ok(())
}

/// Pending (including in-flight) and parked message counts of an outbox table.
pub async fn stats(db: &Db, outbox: &Outbox) -> Result<OutboxStats, DbError> {
    let table = outbox.table;
    db.run(move |conn| {
        let count = |conn: &mut DbConn, status: &str| -> Result<i64, DbError> {
            let row: CountRow = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE status = ?"))
                .bind::<Text, _>(status)
                .get_result(conn)?;
            Ok(row.n)
        };
        Ok(OutboxStats { pending: count(conn, "pending")?, parked: count(conn, "parked")? })
    })
    .await
}

/// One module's outbox, as the operators' list and retry see it.
#[derive(Clone, Copy)]
pub struct ModuleOutbox<'a> {
    pub module: &'a str,
    pub db: &'a Db,
    pub outbox: &'a Outbox,
}

/// A row as operators see it (`GET /admin/outbox`, `app outbox list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OutboxRow {
    /// The module whose `<module>_outbox` table holds the row.
    pub module: String,
    pub id: i64,
    pub topic: String,
    /// Attempts since it was enqueued or last retried.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// `pending`, `parked` or `done`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct AdminRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    topic: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

impl AdminRow {
    fn into_row(self, module: &str) -> OutboxRow {
        OutboxRow {
            module: module.to_string(),
            id: self.id,
            topic: self.topic,
            attempts: self.attempts,
            last_error: self.last_error,
            status: self.status,
            created_at: from_db(self.created_at),
        }
    }
}

const ADMIN_COLUMNS: &str = "id, topic, attempts, last_error, status, created_at";

/// The rows in `status` across `outboxes`, ordered by module (in the order given) then id,
/// one page of them. Each table is counted, and only the tables the page reaches are read.
pub async fn list(
    outboxes: &[ModuleOutbox<'_>],
    status: &'static str,
    page: contracts::PageRequest,
) -> Result<contracts::Page<OutboxRow>, DbError> {
    let mut skip = page.offset();
    let mut want = page.limit();
    let mut total = 0;
    let mut items = Vec::new();
    for source in outboxes {
        let table = source.outbox.table;
        let count: CountRow = source
            .db
            .run(move |conn| {
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE status = ?"))
                    .bind::<Text, _>(status)
                    .get_result(conn)
                    .map_err(DbError::from)
            })
            .await?;
        total += count.n;
        if want == 0 || skip >= count.n {
            skip = (skip - count.n).max(0);
            continue;
        }
        let (offset, limit) = (skip, want);
        let rows: Vec<AdminRow> = source
            .db
            .run(move |conn| {
                diesel::sql_query(format!(
                    "SELECT {ADMIN_COLUMNS} FROM {table} WHERE status = ? ORDER BY id LIMIT ? OFFSET ?"
                ))
                .bind::<Text, _>(status)
                .bind::<BigInt, _>(limit)
                .bind::<BigInt, _>(offset)
                .load(conn)
                .map_err(DbError::from)
            })
            .await?;
        skip = 0;
        want -= rows.len() as i64;
        items.extend(rows.into_iter().map(|r| r.into_row(source.module)));
    }
    Ok(contracts::Page::new(items, page, total))
}

/// What [`retry`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Back to pending with fresh attempts; the dispatcher has been woken.
    Queued(OutboxRow),
    /// The row is not parked (pending rows are already queued; done rows are done).
    NotParked(OutboxRow),
    NotFound,
}

/// Puts a parked row back in the queue with fresh attempts, as if just enqueued.
pub async fn retry(source: ModuleOutbox<'_>, id: i64, now: DateTime<Utc>) -> Result<RetryOutcome, DbError> {
    let table = source.outbox.table;
    let (revived, row) = source
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let revived =
                    diesel::sql_query(format!("UPDATE {table} SET {REVIVE} WHERE id = ? AND status = 'parked'"))
                        .bind::<Timestamp, _>(to_db(now))
                        .bind::<BigInt, _>(id)
                        .execute(conn)?;
                let row: Option<AdminRow> =
                    diesel::sql_query(format!("SELECT {ADMIN_COLUMNS} FROM {table} WHERE id = ?"))
                        .bind::<BigInt, _>(id)
                        .get_result(conn)
                        .optional()?;
                Ok::<_, DbError>((revived > 0, row))
            })
        })
        .await?;
    Ok(match row.map(|r| r.into_row(source.module)) {
        None => RetryOutcome::NotFound,
        Some(row) if revived => {
            source.outbox.wake();
            tracing::info!(module = source.module, id, topic = %row.topic, "parked outbox message queued again");
            RetryOutcome::Queued(row)
        }
        Some(row) => RetryOutcome::NotParked(row),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, OffsetClock};
    use crate::config::{DatabaseSettings, Secret};
    use diesel::connection::SimpleConnection;
    use std::sync::Mutex;

    const TABLE: &str = "test_outbox";

    #[derive(Serialize)]
    struct Shipped {
        order_id: i64,
    }

    impl Event for Shipped {
        fn topic(&self) -> &'static str {
            "order.order_shipped"
        }
        fn dedupe_key(&self) -> String {
            format!("order_shipped:{}", self.order_id)
        }
    }

    /// Records what it saw; fails while `failures` is above zero.
    struct Subscriber {
        name: &'static str,
        seen: Arc<Mutex<Vec<String>>>,
        failures: Mutex<u32>,
    }

    #[async_trait]
    impl OutboxHandler for Subscriber {
        async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()> {
            let order_id = message.payload["order_id"].as_i64().unwrap_or_default();
            self.seen.lock().unwrap().push(format!("{}:{order_id}", self.name));
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                anyhow::bail!("{} failed", self.name);
            }
            Ok(())
        }
    }

    fn subscriber(name: &'static str, seen: &Arc<Mutex<Vec<String>>>, failures: u32) -> Arc<Subscriber> {
        Arc::new(Subscriber { name, seen: seen.clone(), failures: Mutex::new(failures) })
    }

    /// A fresh table holding one event (order 7 shipped), and a dispatcher over it.
    async fn one_event(dir: &tempfile::TempDir) -> (Db, Outbox, Arc<OffsetClock>, Dispatcher) {
        let url = format!("sqlite://{}/o.db", dir.path().display());
        let settings = DatabaseSettings {
            url: Secret::new(url.clone()),
            max_connections: 2,
            min_idle: 0,
            checkout_timeout_ms: 1000,
            operation_timeout_ms: 5000,
        };
        let db = Db::connect("test", &url, &settings).unwrap();
        db.run_blocking(|c| c.batch_execute(&table_ddl(Backend::Sqlite, TABLE)).map_err(DbError::from)).unwrap();
        let outbox_settings = OutboxSettings {
            poll_interval_ms: 10,
            batch_size: 10,
            max_attempts: 3,
            lease_secs: 60,
            retention_days: 7,
            parked_retention_days: 30,
        };
        let (outbox, clock) = (Outbox::new(TABLE), OffsetClock::new());
        publish(&db, &outbox, &clock, 7).await;
        let dispatcher = Dispatcher::new("test", db.clone(), outbox.clone(), outbox_settings, clock.clone());
        (db, outbox, clock, dispatcher)
    }

    async fn publish(db: &Db, outbox: &Outbox, clock: &Arc<OffsetClock>, order_id: i64) {
        let (outbox, now) = (outbox.clone(), Clock::now(&**clock));
        db.run(move |c| write_tx(c, |c| outbox.publish(c, now, &Shipped { order_id }))).await.unwrap();
    }

    async fn statuses(db: &Db) -> Vec<String> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            status: String,
        }
        db.run(|c| {
            diesel::sql_query(format!("SELECT status FROM {TABLE} ORDER BY id"))
                .load::<Row>(c)
                .map(|rows| rows.into_iter().map(|r| r.status).collect())
                .map_err(DbError::from)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_event_nobody_subscribes_to_is_done_not_parked() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _, _, dispatcher) = one_event(&dir).await;
        let dispatcher = dispatcher.declare_events(&["order.order_shipped"]);
        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        assert_eq!(statuses(&db).await, vec!["done"]);
    }

    #[tokio::test]
    async fn an_undeclared_topic_is_parked_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _, _, dispatcher) = one_event(&dir).await;
        dispatcher.run_once().await.unwrap();
        assert_eq!(statuses(&db).await, vec!["parked"]);
    }

    #[tokio::test]
    async fn every_subscriber_hears_each_event_and_a_failure_retries_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let (db, outbox, clock, dispatcher) = one_event(&dir).await;
        // Published again (in the same or another transaction): still one event.
        publish(&db, &outbox, &clock, 7).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let dispatcher = dispatcher
            .subscribe("order.order_shipped", subscriber("notify", &seen, 0))
            .subscribe("order.order_shipped", subscriber("search", &seen, 1));
        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        assert_eq!(statuses(&db).await, vec!["pending"], "the second subscriber failed: the row is retried");
        clock.advance(chrono::Duration::seconds(5));
        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        assert_eq!(statuses(&db).await, vec!["done"]);
        // Subscribers run in order and again on the retry (they are idempotent).
        assert_eq!(*seen.lock().unwrap(), vec!["notify:7", "search:7", "notify:7", "search:7"]);
    }
}
