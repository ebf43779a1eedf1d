//! Notification queries (diesel, synchronous).

use crate::model::NewNotification;
use crate::schema::{notification_devices, notification_preferences, notifications};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::{CachedExt, DbConn, DbError, last_insert_id};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub data: String,
    pub is_read: bool,
    pub dedupe_key: String,
    pub revision: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notification_devices)]
pub struct DeviceRow {
    pub id: i64,
    pub account_id: i64,
    pub platform: String,
    pub token: String,
    pub created_at: NaiveDateTime,
}

pub fn find_by_key(conn: &mut DbConn, account_id: i64, key: &str) -> Result<Option<NotificationRow>, DbError> {
    Ok(notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::dedupe_key.eq(key))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<NotificationRow>, DbError> {
    Ok(notifications::table.find(id).select(NotificationRow::as_select()).first(conn).optional()?)
}

/// Inserts the notification; the caller has checked that its key is new (a concurrent
/// twin fails here with a unique violation).
pub fn insert(conn: &mut DbConn, n: &NewNotification, revision: i64, now: DateTime<Utc>) -> Result<i64, DbError> {
    diesel::insert_into(notifications::table)
        .values((
            notifications::account_id.eq(n.account_id),
            notifications::kind.eq(n.kind.as_str()),
            notifications::title.eq(&n.title),
            notifications::body.eq(&n.body),
            notifications::link.eq(&n.link),
            notifications::data.eq(n.data.to_string()),
            notifications::is_read.eq(false),
            notifications::dedupe_key.eq(&n.dedupe_key),
            notifications::revision.eq(revision),
            notifications::created_at.eq(to_db(now)),
            notifications::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

/// Rewrites a notification in place (a room's chat notification) if `revision` is newer
/// than the stored one; `false` when it is not (a redelivered or older event).
pub fn update_if_newer(
    conn: &mut DbConn,
    id: i64,
    n: &NewNotification,
    revision: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = diesel::update(notifications::table.find(id).filter(notifications::revision.lt(revision)))
        .set((
            notifications::title.eq(&n.title),
            notifications::body.eq(&n.body),
            notifications::link.eq(&n.link),
            notifications::data.eq(n.data.to_string()),
            notifications::is_read.eq(false),
            notifications::revision.eq(revision),
            notifications::created_at.eq(to_db(now)),
            notifications::updated_at.eq(to_db(now)),
        ))
        .cached()
        .execute(conn)?;
    Ok(changed == 1)
}

/// Newest first; `limit + 1` rows so the caller can tell whether more exist.
pub fn list(
    conn: &mut DbConn,
    account_id: i64,
    before: Option<i64>,
    limit: i64,
    unread_only: bool,
) -> Result<Vec<NotificationRow>, DbError> {
    let mut query = notifications::table
        .filter(notifications::account_id.eq(account_id))
        .select(NotificationRow::as_select())
        .order(notifications::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before));
    }
    if unread_only {
        query = query.filter(notifications::is_read.eq(false));
    }
    Ok(query.load(conn)?)
}

pub fn unread_count(conn: &mut DbConn, account_id: i64, muted: &[String]) -> Result<i64, DbError> {
    Ok(notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::is_read.eq(false))
        .filter(notifications::kind.ne_all(muted))
        .count()
        .get_result(conn)?)
}

/// Marks the account's notifications among `ids` (all when `None`) read.
pub fn mark_read(conn: &mut DbConn, account_id: i64, ids: Option<&[i64]>) -> Result<usize, DbError> {
    let mine =
        notifications::table.filter(notifications::account_id.eq(account_id)).filter(notifications::is_read.eq(false));
    Ok(match ids {
        Some(ids) => diesel::update(mine.filter(notifications::id.eq_any(ids)))
            .set(notifications::is_read.eq(true))
            .cached_if(ids.len() == 1)
            .execute(conn)?,
        None => diesel::update(mine).set(notifications::is_read.eq(true)).cached().execute(conn)?,
    })
}

pub fn muted_kinds(conn: &mut DbConn, account_id: i64) -> Result<Vec<String>, DbError> {
    let raw: Option<String> = notification_preferences::table
        .find(account_id)
        .select(notification_preferences::muted_kinds)
        .first(conn)
        .optional()?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default())
}

pub fn set_muted_kinds(
    conn: &mut DbConn,
    account_id: i64,
    kinds: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let raw = serde_json::to_string(kinds).map_err(|e| DbError::Task(e.to_string()))?;
    let updated = diesel::update(notification_preferences::table.find(account_id))
        .set((notification_preferences::muted_kinds.eq(&raw), notification_preferences::updated_at.eq(to_db(now))))
        .cached()
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(notification_preferences::table)
            .values((
                notification_preferences::account_id.eq(account_id),
                notification_preferences::muted_kinds.eq(&raw),
                notification_preferences::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Registers `token` for the account; a token registered before (by anyone) moves here.
pub fn upsert_device(
    conn: &mut DbConn,
    account_id: i64,
    platform: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<DeviceRow, DbError> {
    let existing: Option<DeviceRow> = notification_devices::table
        .filter(notification_devices::token.eq(token))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(device) = existing {
        if device.account_id == account_id && device.platform == platform {
            return Ok(device);
        }
        diesel::delete(notification_devices::table.find(device.id)).execute(conn)?;
    }
    diesel::insert_into(notification_devices::table)
        .values((
            notification_devices::account_id.eq(account_id),
            notification_devices::platform.eq(platform),
            notification_devices::token.eq(token),
            notification_devices::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    Ok(DeviceRow { id, account_id, platform: platform.to_string(), token: token.to_string(), created_at: to_db(now) })
}

pub fn delete_device(conn: &mut DbConn, account_id: i64, id: i64) -> Result<bool, DbError> {
    let n =
        diesel::delete(notification_devices::table.find(id).filter(notification_devices::account_id.eq(account_id)))
            .execute(conn)?;
    Ok(n == 1)
}

pub fn delete_token(conn: &mut DbConn, token: &str) -> Result<bool, DbError> {
    let n = diesel::delete(notification_devices::table.filter(notification_devices::token.eq(token))).execute(conn)?;
    Ok(n == 1)
}

pub fn devices_of(conn: &mut DbConn, account_id: i64) -> Result<Vec<DeviceRow>, DbError> {
    Ok(notification_devices::table
        .filter(notification_devices::account_id.eq(account_id))
        .select(DeviceRow::as_select())
        .order(notification_devices::id)
        .load(conn)?)
}

/// Deletes up to `batch` notifications last touched before `cutoff`; returns how many.
pub fn delete_older_than(conn: &mut DbConn, cutoff: DateTime<Utc>, batch: i64) -> Result<usize, DbError> {
    let ids: Vec<i64> = notifications::table
        .filter(notifications::updated_at.lt(to_db(cutoff)))
        .select(notifications::id)
        .order(notifications::id)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(notifications::table.filter(notifications::id.eq_any(&ids))).execute(conn)?)
}
