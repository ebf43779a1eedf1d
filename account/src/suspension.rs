//! Suspension: an operator suspends an account (optionally until a time) or reinstates it.
//! A suspended account cannot log in, its refresh tokens are revoked, and its access tokens
//! are refused everywhere: every instance keeps the list in memory
//! ([`platform::suspension::Suspensions`]), applies each change announced over pub/sub at
//! once and reloads the whole list every `auth.suspension_reload_ms` in case a message was
//! lost. Each suspension publishes `account.account_suspended` through the outbox.

use crate::error::AccountError;
use crate::repo::{self, AccountRow};
use crate::schema::{account_suspensions, accounts};
use crate::service::Accounts;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::events::{AccountReinstated, AccountSuspended};
use contracts::moderation::{Suspender, SuspensionState};
use contracts::{Page, PageRequest, Role, ServiceError};
use diesel::prelude::*;
use platform::clock::{from_db, to_db};
use platform::db::{DbConn, DbError, LIKE_ESCAPE, like_escape};
use platform::suspension::{SUSPENSIONS_CHANNEL, SuspensionChange};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// Longest reason kept.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_suspensions)]
pub struct SuspensionRow {
    pub account_id: i64,
    pub reason: String,
    pub suspended_until: Option<chrono::NaiveDateTime>,
}

/// `{id, suspended, suspended_until, reason}`: the answer to suspend and reinstate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SuspensionView {
    pub id: i64,
    pub suspended: bool,
    pub suspended_until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// An account as operators see it: with its email and suspension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AdminAccount {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub suspended: bool,
    pub suspended_until: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
}

fn active(row: &SuspensionRow, now: DateTime<Utc>) -> bool {
    row.suspended_until.is_none_or(|until| from_db(until) > now)
}

pub fn find(conn: &mut DbConn, account_id: i64) -> Result<Option<SuspensionRow>, DbError> {
    Ok(account_suspensions::table.find(account_id).select(SuspensionRow::as_select()).first(conn).optional()?)
}

fn all(conn: &mut DbConn) -> Result<Vec<SuspensionRow>, DbError> {
    Ok(account_suspensions::table.select(SuspensionRow::as_select()).load(conn)?)
}

fn upsert(
    conn: &mut DbConn,
    account_id: i64,
    reason: &str,
    until: Option<DateTime<Utc>>,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::delete(account_suspensions::table.find(account_id)).execute(conn)?;
    diesel::insert_into(account_suspensions::table)
        .values((
            account_suspensions::account_id.eq(account_id),
            account_suspensions::reason.eq(reason),
            account_suspensions::suspended_until.eq(until.map(to_db)),
            account_suspensions::suspended_by.eq(by),
            account_suspensions::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether `account_id` is suspended now (for login and refresh, which read the database).
pub fn is_suspended(conn: &mut DbConn, account_id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    Ok(find(conn, account_id)?.is_some_and(|row| active(&row, now)))
}

impl Accounts {
    fn state_of(&self, account_id: i64, row: Option<SuspensionRow>) -> SuspensionView {
        let now = self.now();
        match row.filter(|r| active(r, now)) {
            Some(r) => SuspensionView {
                id: account_id,
                suspended: true,
                suspended_until: r.suspended_until.map(from_db),
                reason: Some(r.reason),
            },
            None => SuspensionView { id: account_id, suspended: false, suspended_until: None, reason: None },
        }
    }

    /// Suspends the account (replacing an earlier suspension's reason and end): revokes its
    /// refresh tokens and announces the change to every instance. Admins cannot be suspended.
    #[tracing::instrument(skip(self, reason))]
    pub async fn suspend(
        &self,
        account_id: i64,
        reason: &str,
        until: Option<DateTime<Utc>>,
        by: Option<i64>,
    ) -> Result<SuspensionView, AccountError> {
        let now = self.now();
        let reason = reason.trim().chars().take(MAX_REASON_CHARS).collect::<String>();
        let outbox = self.outbox().clone();
        let event_reason = reason.clone();
        let row = self
            .db()
            .tx(move |conn| {
                let account = repo::find_by_id(conn, account_id)?.ok_or(AccountError::NotFound)?;
                if account.role() == Role::Admin {
                    return Err(AccountError::CannotSuspendAdmin);
                }
                upsert(conn, account_id, &reason, until, by, now)?;
                repo::revoke_all_sessions(conn, account_id, now)?;
                outbox.publish(
                    conn,
                    now,
                    &AccountSuspended { account_id, reason: event_reason.clone(), until, suspended_at: now },
                )?;
                Ok(find(conn, account_id)?)
            })
            .await?;
        self.outbox().wake();
        self.announce(SuspensionChange { account_id, suspended: true, until: until.map(|u| u.timestamp()) }).await;
        tracing::info!(account_id, ?until, "account suspended");
        metrics::counter!("account_suspensions_total").increment(1);
        Ok(self.state_of(account_id, row))
    }

    #[tracing::instrument(skip(self))]
    pub async fn reinstate(&self, account_id: i64) -> Result<SuspensionView, AccountError> {
        let now = self.now();
        let outbox = self.outbox().clone();
        self.db()
            .tx(move |conn| {
                repo::find_by_id(conn, account_id)?.ok_or(AccountError::NotFound)?;
                let removed = diesel::delete(account_suspensions::table.find(account_id)).execute(conn)?;
                if removed > 0 {
                    outbox.publish(conn, now, &AccountReinstated { account_id, reinstated_at: now })?;
                }
                Ok::<_, AccountError>(())
            })
            .await?;
        self.outbox().wake();
        self.announce(SuspensionChange { account_id, suspended: false, until: None }).await;
        tracing::info!(account_id, "account reinstated");
        Ok(self.state_of(account_id, None))
    }

    /// Applies the change here at once and tells the other instances.
    async fn announce(&self, change: SuspensionChange) {
        self.suspensions().apply(change);
        match serde_json::to_string(&change) {
            Ok(raw) => {
                if let Err(e) = self.pubsub().publish(SUSPENSIONS_CHANNEL, &raw).await {
                    // The other instances pick it up at their next reload.
                    tracing::warn!(error = %e, "suspension change not published");
                }
            }
            Err(e) => tracing::warn!(error = %e, "suspension change not serialisable"),
        }
    }

    /// Reloads the in-memory list from the table.
    pub async fn reload_suspensions(&self) -> Result<usize, AccountError> {
        let rows = self.db().run(all).await?;
        let map: HashMap<i64, Option<i64>> =
            rows.into_iter().map(|r| (r.account_id, r.suspended_until.map(|u| from_db(u).timestamp()))).collect();
        let n = map.len();
        self.suspensions().replace(map);
        metrics::gauge!("account_suspended").set(self.suspensions().suspended_ids().len() as f64);
        Ok(n)
    }

    /// Keeps this instance's list current until `shutdown`: every announced change at once,
    /// and a full reload every `reload` (and after a pub/sub reconnect).
    pub async fn run_suspension_sync(self: std::sync::Arc<Self>, reload: Duration, shutdown: CancellationToken) {
        let mut changes = self.pubsub().subscribe(SUSPENSIONS_CHANNEL);
        let mut reconnections = self.pubsub().reconnections();
        let mut tick = tokio::time::interval(reload);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(raw) => match serde_json::from_str::<SuspensionChange>(&raw) {
                        Ok(change) => self.suspensions().apply(change),
                        Err(e) => tracing::warn!(error = %e, "unreadable suspension change"),
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if let Err(e) = self.reload_suspensions().await {
                            tracing::warn!(error = %e, "suspension reload failed");
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                changed = reconnections.changed() => {
                    if changed.is_err() { break }
                    if let Err(e) = self.reload_suspensions().await {
                        tracing::warn!(error = %e, "suspension reload failed");
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.reload_suspensions().await {
                        tracing::warn!(error = %e, "suspension reload failed");
                    }
                }
                _ = shutdown.cancelled() => break,
            }
        }
    }

    /// Operators' account search: emails and suspension included.
    pub async fn admin_search(
        &self,
        q: Option<String>,
        role: Option<Role>,
        page: PageRequest,
    ) -> Result<Page<AdminAccount>, AccountError> {
        let now = self.now();
        let (rows, total, suspensions) = self
            .db()
            .run(move |conn| {
                let pattern = q.as_ref().map(|q| format!("%{}%", like_escape(&q.trim().to_lowercase())));
                let filtered = || {
                    let mut query = accounts::table.into_boxed();
                    if let Some(p) = &pattern {
                        // Operators look accounts up by name or email.
                        query = query.filter(
                            accounts::name_lower
                                .like(p.clone())
                                .escape(LIKE_ESCAPE)
                                .or(accounts::email.like(p.clone()).escape(LIKE_ESCAPE)),
                        );
                    }
                    if let Some(role) = role {
                        query = query.filter(accounts::role.eq(role.as_str()));
                    }
                    query
                };
                let total: i64 = filtered().count().get_result(conn)?;
                let rows: Vec<AccountRow> = filtered()
                    .order(accounts::id.desc())
                    .offset(page.offset())
                    .limit(page.limit())
                    .select(AccountRow::as_select())
                    .load(conn)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let suspensions: HashMap<i64, SuspensionRow> = account_suspensions::table
                    .filter(account_suspensions::account_id.eq_any(&ids))
                    .select(SuspensionRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(|r| (r.account_id, r))
                    .collect();
                Ok::<_, DbError>((rows, total, suspensions))
            })
            .await?;
        let items = rows
            .into_iter()
            .map(|row| {
                let s = suspensions.get(&row.id).filter(|s| active(s, now));
                let role = row.role();
                AdminAccount {
                    id: row.id,
                    email: row.email,
                    name: row.name,
                    role,
                    email_verified: row.email_verified,
                    created_at: from_db(row.created_at),
                    suspended: s.is_some(),
                    suspended_until: s.and_then(|s| s.suspended_until).map(from_db),
                    suspension_reason: s.map(|s| s.reason.clone()),
                }
            })
            .collect();
        Ok(Page::new(items, page, total))
    }
}

#[async_trait]
impl Suspender for Accounts {
    async fn suspend(
        &self,
        account_id: i64,
        reason: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<SuspensionState>, ServiceError> {
        match Accounts::suspend(self, account_id, reason, until, None).await {
            Ok(v) => Ok(Some(SuspensionState {
                account_id: v.id,
                suspended: v.suspended,
                suspended_until: v.suspended_until,
                reason: v.reason,
            })),
            Err(AccountError::NotFound) => Ok(None),
            // An admin's content: suspension is refused; the report is resolved without it.
            Err(AccountError::CannotSuspendAdmin) => {
                Ok(Some(SuspensionState { account_id, suspended: false, suspended_until: None, reason: None }))
            }
            Err(AccountError::Db(e)) => Err(e.into()),
            Err(other) => Err(ServiceError::Internal(other.to_string())),
        }
    }
}

/// Accounts as moderation sees them: any account may report another; hiding one is not a
/// thing (it is suspended instead).
#[async_trait]
impl contracts::moderation::ModerationTarget for Accounts {
    async fn snapshot(
        &self,
        _viewer: i64,
        account_id: i64,
    ) -> Result<Option<contracts::moderation::TargetSnapshot>, ServiceError> {
        let row = self.db().run(move |conn| repo::find_by_id(conn, account_id)).await.map_err(ServiceError::from)?;
        Ok(row.map(|r| contracts::moderation::TargetSnapshot {
            owner_id: r.id,
            preview: serde_json::json!({ "name": r.name, "role": r.role }),
        }))
    }

    async fn hide(&self, _account_id: i64) -> Result<contracts::moderation::HideOutcome, ServiceError> {
        Ok(contracts::moderation::HideOutcome::NotSupported)
    }
}
