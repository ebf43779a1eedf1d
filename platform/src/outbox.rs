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

use crate::clock::{SharedClock, from_db, to_db};
use crate::config::OutboxSettings;
use crate::db::{Backend, Db, DbConn, DbError, write_tx};
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

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
        let payload = serde_json::to_string(payload).map_err(|e| DbError::Task(e.to_string()))?;
        let insert = match conn.backend() {
            Backend::Sqlite => "INSERT OR IGNORE INTO",
            Backend::Mysql => "INSERT IGNORE INTO",
        };
        diesel::sql_query(format!(
            "{insert} {} (topic, payload, dedupe_key, status, attempts, available_at, created_at) \
             VALUES (?, ?, ?, 'pending', 0, ?, ?)",
            self.table
        ))
        .bind::<Text, _>(topic)
        .bind::<Text, _>(payload)
        .bind::<Nullable<Text>, _>(dedupe_key)
        .bind::<Timestamp, _>(to_db(now))
        .bind::<Timestamp, _>(to_db(now))
        .execute(conn)?;
        Ok(())
    }

    /// Tells the local dispatcher to look now rather than at its next poll; call after commit.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

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

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Numbers for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: i64,
    pub parked: i64,
}

/// Runs the handlers of one module's outbox.
pub struct Dispatcher {
    db: Db,
    outbox: Outbox,
    module: String,
    handlers: HashMap<String, (Arc<dyn OutboxHandler>, Duration)>,
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
        Dispatcher { db, outbox, module: module.to_string(), handlers: HashMap::new(), settings, clock }
    }

    /// Handlers get half the lease (`outbox.lease_secs / 2`) to finish.
    pub fn register(self, topic: &str, handler: Arc<dyn OutboxHandler>) -> Self {
        let timeout = Duration::from_secs((self.settings.lease_secs.max(2) / 2) as u64);
        self.register_with_timeout(topic, handler, timeout)
    }

    /// For long handlers (settling a mission with thousands of contributors). The lease is
    /// renewed while the handler runs, so the timeout may exceed it.
    pub fn register_with_timeout(mut self, topic: &str, handler: Arc<dyn OutboxHandler>, timeout: Duration) -> Self {
        self.handlers.insert(topic.to_string(), (handler, timeout));
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
                if let Err(e) = self.delete_old().await {
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
        let work = futures::stream::iter(claimed).for_each_concurrent(CONCURRENCY, |(token, message)| async move {
            self.dispatch(&token, message).await;
        });
        tokio::select! {
            () = work => {}
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

    async fn dispatch(&self, token: &str, message: OutboxMessage) {
        let outcome = match self.handlers.get(&message.topic) {
            None => Err(anyhow::anyhow!("no handler registered for topic {}", message.topic)),
            Some((handler, limit)) => {
                let limit = *limit;
                match tokio::time::timeout(limit, handler.handle(&message)).await {
                    Ok(result) => result,
                    Err(_) => Err(anyhow::anyhow!("handler timed out after {limit:?}")),
                }
            }
        };
        let labels = [("module", self.module.clone()), ("topic", message.topic.clone())];
        let recorded = match &outcome {
            Ok(()) => {
                metrics::counter!("outbox_handled_total", &labels).increment(1);
                self.mark_done(message.id, token).await
            }
            Err(err) => {
                let parked =
                    message.attempts >= self.settings.max_attempts || !self.handlers.contains_key(&message.topic);
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
                    let ids: Vec<IdRow> = diesel::sql_query(format!(
                        "SELECT id FROM {table} WHERE status = 'pending' AND available_at <= ? ORDER BY id LIMIT ?{lock}"
                    ))
                    .bind::<Timestamp, _>(to_db(now))
                    .bind::<BigInt, _>(batch)
                    .load(conn)?;
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let list = ids.iter().map(|r| r.id.to_string()).collect::<Vec<_>>().join(",");
                    diesel::sql_query(format!(
                        "UPDATE {table} SET claim_token = ?, available_at = ?, attempts = attempts + 1 WHERE id IN ({list})"
                    ))
                    .bind::<Text, _>(&token)
                    .bind::<Timestamp, _>(to_db(lease_until))
                    .execute(conn)?;
                    let rows: Vec<ClaimedRow> = diesel::sql_query(format!(
                        "SELECT id, topic, payload, attempts, dedupe_key, created_at FROM {table} WHERE id IN ({list}) ORDER BY id"
                    ))
                    .load(conn)?;
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

    async fn mark_done(&self, id: i64, token: &str) -> Result<(), DbError> {
        let table = self.outbox.table;
        let now = self.clock.now();
        let token = token.to_string();
        self.db
            .run(move |conn| {
                diesel::sql_query(format!(
                    "UPDATE {table} SET status = 'done', processed_at = ?, claim_token = NULL, last_error = NULL \
                     WHERE id = ? AND claim_token = ?"
                ))
                .bind::<Timestamp, _>(to_db(now))
                .bind::<BigInt, _>(id)
                .bind::<Text, _>(&token)
                .execute(conn)
                .map_err(DbError::from)
            })
            .await
            .map(|_| ())
    }

    async fn mark_failed(&self, id: i64, token: &str, attempts: i32, park: bool, error: &str) -> Result<(), DbError> {
        let table = self.outbox.table;
        let now = self.clock.now();
        // 1 s, 2 s, 4 s … capped at 10 minutes.
        let backoff =
            ChronoDuration::seconds(1i64 << attempts.clamp(1, 10).saturating_sub(1)).min(ChronoDuration::minutes(10));
        let status = if park { "parked" } else { "pending" };
        let token = token.to_string();
        let error: String = error.chars().take(1000).collect();
        self.db
            .run(move |conn| {
                diesel::sql_query(format!(
                    "UPDATE {table} SET status = ?, available_at = ?, last_error = ?, claim_token = NULL \
                     WHERE id = ? AND claim_token = ?"
                ))
                .bind::<Text, _>(status)
                .bind::<Timestamp, _>(to_db(now + backoff))
                .bind::<Text, _>(&error)
                .bind::<BigInt, _>(id)
                .bind::<Text, _>(&token)
                .execute(conn)
                .map_err(DbError::from)
            })
            .await
            .map(|_| ())
    }

    async fn delete_old(&self) -> Result<(), DbError> {
        let table = self.outbox.table;
        let cutoff = self.clock.now() - ChronoDuration::days(self.settings.retention_days.max(1));
        self.db
            .run(move |conn| {
                diesel::sql_query(format!("DELETE FROM {table} WHERE status = 'done' AND processed_at < ?"))
                    .bind::<Timestamp, _>(to_db(cutoff))
                    .execute(conn)
                    .map_err(DbError::from)
            })
            .await
            .map(|_| ())
    }

    pub fn module(&self) -> &str {
        &self.module
    }
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
