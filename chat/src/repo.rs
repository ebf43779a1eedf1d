//! Chat queries.

use crate::error::ChatError;
use crate::schema::{chat_blocks, chat_members, chat_messages, chat_rooms};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::{Backend, DbConn, DbError, last_insert_id};
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_rooms)]
pub struct RoomRow {
    pub id: i64,
    pub name: Option<String>,
    pub direct_key: Option<String>,
    pub last_message_id: Option<i64>,
    pub last_activity_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_messages)]
pub struct MessageRow {
    pub id: i64,
    pub room_id: i64,
    pub sender_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub hidden: bool,
}

/// The key of the one direct room between two accounts.
pub fn direct_key(a: i64, b: i64) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

/// Creates a room with its members; `Ok(None)` when the direct room already exists.
pub fn create_room(
    conn: &mut DbConn,
    name: Option<&str>,
    direct_key: Option<&str>,
    created_by: i64,
    members: &[i64],
    now: DateTime<Utc>,
) -> Result<Option<i64>, ChatError> {
    let inserted = diesel::insert_into(chat_rooms::table)
        .values((
            chat_rooms::name.eq(name),
            chat_rooms::direct_key.eq(direct_key),
            chat_rooms::created_by.eq(created_by),
            chat_rooms::last_activity_at.eq(to_db(now)),
            chat_rooms::created_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    match inserted {
        Err(e) if e.is_unique_violation() && direct_key.is_some() => return Ok(None),
        other => other?,
    };
    let id = last_insert_id(conn)?;
    add_members(conn, id, members, now)?;
    Ok(Some(id))
}

pub fn find_direct(conn: &mut DbConn, key: &str) -> Result<Option<i64>, DbError> {
    Ok(chat_rooms::table.filter(chat_rooms::direct_key.eq(key)).select(chat_rooms::id).first(conn).optional()?)
}

/// Adds members, ignoring those already in the room.
pub fn add_members(conn: &mut DbConn, room_id: i64, members: &[i64], now: DateTime<Utc>) -> Result<(), DbError> {
    let insert = match conn.backend() {
        Backend::Sqlite => {
            "INSERT OR IGNORE INTO chat_members (room_id, account_id, last_read_message_id, joined_at) VALUES (?, ?, 0, ?)"
        }
        Backend::Mysql => {
            "INSERT IGNORE INTO chat_members (room_id, account_id, last_read_message_id, joined_at) VALUES (?, ?, 0, ?)"
        }
    };
    for account_id in members {
        diesel::sql_query(insert)
            .bind::<diesel::sql_types::BigInt, _>(room_id)
            .bind::<diesel::sql_types::BigInt, _>(*account_id)
            .bind::<diesel::sql_types::Timestamp, _>(to_db(now))
            .execute(conn)?;
    }
    Ok(())
}

pub fn is_member(conn: &mut DbConn, room_id: i64, account_id: i64) -> Result<bool, DbError> {
    let n: i64 = chat_members::table.find((room_id, account_id)).count().get_result(conn)?;
    Ok(n == 1)
}

pub fn room(conn: &mut DbConn, id: i64) -> Result<Option<RoomRow>, DbError> {
    Ok(chat_rooms::table.find(id).select(RoomRow::as_select()).first(conn).optional()?)
}

/// The room, if `account_id` is a member.
pub fn room_of_member(conn: &mut DbConn, id: i64, account_id: i64) -> Result<Option<RoomRow>, DbError> {
    if !is_member(conn, id, account_id)? {
        return Ok(None);
    }
    room(conn, id)
}

pub fn members(conn: &mut DbConn, room_id: i64) -> Result<Vec<i64>, DbError> {
    Ok(chat_members::table
        .filter(chat_members::room_id.eq(room_id))
        .order(chat_members::joined_at.asc())
        .then_order_by(chat_members::account_id.asc())
        .select(chat_members::account_id)
        .load(conn)?)
}

pub fn members_of(conn: &mut DbConn, room_ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>, DbError> {
    let rows: Vec<(i64, i64)> = chat_members::table
        .filter(chat_members::room_id.eq_any(room_ids))
        .order((chat_members::room_id.asc(), chat_members::joined_at.asc(), chat_members::account_id.asc()))
        .select((chat_members::room_id, chat_members::account_id))
        .load(conn)?;
    let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
    for (room, account) in rows {
        map.entry(room).or_default().push(account);
    }
    Ok(map)
}

/// Persists a message, moves the room's activity and the sender's read marker.
pub fn insert_message(
    conn: &mut DbConn,
    room_id: i64,
    sender_id: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<MessageRow, DbError> {
    diesel::insert_into(chat_messages::table)
        .values((
            chat_messages::room_id.eq(room_id),
            chat_messages::sender_id.eq(sender_id),
            chat_messages::body.eq(body),
            chat_messages::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    diesel::update(chat_rooms::table.find(room_id))
        .set((chat_rooms::last_message_id.eq(Some(id)), chat_rooms::last_activity_at.eq(to_db(now))))
        .execute(conn)?;
    mark_read(conn, room_id, sender_id, id)?;
    Ok(MessageRow { id, room_id, sender_id, body: body.to_string(), created_at: to_db(now), hidden: false })
}

pub fn message_in_room(conn: &mut DbConn, room_id: i64, message_id: i64) -> Result<bool, DbError> {
    let n: i64 = chat_messages::table
        .filter(chat_messages::id.eq(message_id))
        .filter(chat_messages::room_id.eq(room_id))
        .count()
        .get_result(conn)?;
    Ok(n == 1)
}

/// Newest first, below `before`; `limit + 1` rows so the caller knows whether more exist.
pub fn messages_before(
    conn: &mut DbConn,
    room_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<MessageRow>, DbError> {
    let mut query = chat_messages::table.filter(chat_messages::room_id.eq(room_id)).into_boxed();
    if let Some(before) = before {
        query = query.filter(chat_messages::id.lt(before));
    }
    Ok(query.order(chat_messages::id.desc()).limit(limit + 1).select(MessageRow::as_select()).load(conn)?)
}

/// Oldest first, above `after`; `limit + 1` rows.
pub fn messages_after(conn: &mut DbConn, room_id: i64, after: i64, limit: i64) -> Result<Vec<MessageRow>, DbError> {
    Ok(chat_messages::table
        .filter(chat_messages::room_id.eq(room_id))
        .filter(chat_messages::id.gt(after))
        .order(chat_messages::id.asc())
        .limit(limit + 1)
        .select(MessageRow::as_select())
        .load(conn)?)
}

/// Moves the read marker forward only.
pub fn mark_read(conn: &mut DbConn, room_id: i64, account_id: i64, message_id: i64) -> Result<(), DbError> {
    diesel::update(
        chat_members::table.find((room_id, account_id)).filter(chat_members::last_read_message_id.lt(message_id)),
    )
    .set(chat_members::last_read_message_id.eq(message_id))
    .execute(conn)?;
    Ok(())
}

/// The account's rooms, most recent activity first.
pub fn rooms_of(conn: &mut DbConn, account_id: i64, limit: i64) -> Result<Vec<RoomRow>, DbError> {
    Ok(chat_rooms::table
        .inner_join(chat_members::table.on(chat_members::room_id.eq(chat_rooms::id)))
        .filter(chat_members::account_id.eq(account_id))
        .order((chat_rooms::last_activity_at.desc(), chat_rooms::id.desc()))
        .limit(limit)
        .select(RoomRow::as_select())
        .load(conn)?)
}

/// Unread messages (not sent by the account) per room.
pub fn unread_counts(conn: &mut DbConn, account_id: i64, room_ids: &[i64]) -> Result<HashMap<i64, i64>, DbError> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Messages of accounts this one blocked are not counted for it: counted per sender,
    // the blocked senders' counts are dropped.
    let blocked = blocked_by(conn, account_id)?;
    let rows: Vec<(i64, i64, i64)> = chat_messages::table
        .inner_join(
            chat_members::table
                .on(chat_members::room_id.eq(chat_messages::room_id).and(chat_members::account_id.eq(account_id))),
        )
        .filter(chat_messages::room_id.eq_any(room_ids))
        .filter(chat_messages::id.gt(chat_members::last_read_message_id))
        .filter(chat_messages::sender_id.ne(account_id))
        .group_by((chat_messages::room_id, chat_messages::sender_id))
        .select((chat_messages::room_id, chat_messages::sender_id, diesel::dsl::count_star()))
        .load(conn)?;
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for (room, sender, n) in rows {
        if !blocked.contains(&sender) {
            *counts.entry(room).or_default() += n;
        }
    }
    Ok(counts)
}

pub fn messages_by_id(conn: &mut DbConn, ids: &[i64]) -> Result<HashMap<i64, MessageRow>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<MessageRow> =
        chat_messages::table.filter(chat_messages::id.eq_any(ids)).select(MessageRow::as_select()).load(conn)?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The accounts `blocker` blocked.
pub fn blocked_by(conn: &mut DbConn, blocker: i64) -> Result<Vec<i64>, DbError> {
    Ok(chat_blocks::table.filter(chat_blocks::blocker_id.eq(blocker)).select(chat_blocks::blocked_id).load(conn)?)
}

/// `(blocked id, since)` for `blocker`, newest first.
pub fn blocks_of(conn: &mut DbConn, blocker: i64) -> Result<Vec<(i64, NaiveDateTime)>, DbError> {
    Ok(chat_blocks::table
        .filter(chat_blocks::blocker_id.eq(blocker))
        .order(chat_blocks::created_at.desc())
        .select((chat_blocks::blocked_id, chat_blocks::created_at))
        .load(conn)?)
}

/// Whether `blocker` blocked `blocked`.
pub fn is_blocked(conn: &mut DbConn, blocker: i64, blocked: i64) -> Result<bool, DbError> {
    let n: i64 = chat_blocks::table.find((blocker, blocked)).count().get_result(conn)?;
    Ok(n == 1)
}

/// Those of `accounts` who blocked `sender`.
pub fn blockers_of(conn: &mut DbConn, sender: i64, accounts: &[i64]) -> Result<Vec<i64>, DbError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(chat_blocks::table
        .filter(chat_blocks::blocked_id.eq(sender))
        .filter(chat_blocks::blocker_id.eq_any(accounts))
        .select(chat_blocks::blocker_id)
        .load(conn)?)
}

/// Blocks (again: the first block's time is kept); returns when the block began.
pub fn block(conn: &mut DbConn, blocker: i64, blocked: i64, now: DateTime<Utc>) -> Result<NaiveDateTime, DbError> {
    let insert = match conn.backend() {
        Backend::Sqlite => "INSERT OR IGNORE INTO chat_blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)",
        Backend::Mysql => "INSERT IGNORE INTO chat_blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)",
    };
    diesel::sql_query(insert)
        .bind::<diesel::sql_types::BigInt, _>(blocker)
        .bind::<diesel::sql_types::BigInt, _>(blocked)
        .bind::<diesel::sql_types::Timestamp, _>(to_db(now))
        .execute(conn)?;
    Ok(chat_blocks::table.find((blocker, blocked)).select(chat_blocks::created_at).first(conn)?)
}

pub fn unblock(conn: &mut DbConn, blocker: i64, blocked: i64) -> Result<(), DbError> {
    diesel::delete(chat_blocks::table.find((blocker, blocked))).execute(conn)?;
    Ok(())
}

pub fn message(conn: &mut DbConn, id: i64) -> Result<Option<MessageRow>, DbError> {
    Ok(chat_messages::table.find(id).select(MessageRow::as_select()).first(conn).optional()?)
}

/// `true` when this call hid it (it was visible).
pub fn hide_message(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    let n = diesel::update(chat_messages::table.find(id).filter(chat_messages::hidden.eq(false)))
        .set(chat_messages::hidden.eq(true))
        .execute(conn)?;
    Ok(n == 1)
}
