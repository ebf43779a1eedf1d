//! Cart queries.

use super::reconcile::{ItemState, Line};
use crate::schema::{cart_lines, cart_notices, carts, product_items, products};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::{Backend, CachedExt, DbConn, DbError};
use std::collections::HashMap;

pub fn lines(conn: &mut DbConn, buyer_id: i64) -> Result<Vec<Line>, DbError> {
    let rows: Vec<(i64, i64, i64, i64)> = cart_lines::table
        .filter(cart_lines::buyer_id.eq(buyer_id))
        .order(cart_lines::created_at.asc())
        .then_order_by(cart_lines::item_id.asc())
        .select((cart_lines::item_id, cart_lines::product_id, cart_lines::quantity, cart_lines::unit_price))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(item_id, product_id, quantity, unit_price)| Line { item_id, product_id, quantity, unit_price })
        .collect())
}

/// The catalog's view of these items (deleted ones included, flagged).
pub fn item_states(conn: &mut DbConn, item_ids: &[i64]) -> Result<HashMap<i64, ItemState>, DbError> {
    if item_ids.is_empty() {
        return Ok(HashMap::new());
    }
    type Row =
        (i64, i64, i64, String, String, Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>, i64, i64, bool);
    let rows: Vec<Row> = product_items::table
        .inner_join(products::table.on(products::id.eq(product_items::product_id)))
        .filter(product_items::id.eq_any(item_ids))
        .select((
            product_items::id,
            products::id,
            products::seller_id,
            products::name,
            product_items::name,
            products::deleted_at,
            product_items::deleted_at,
            product_items::price,
            // What buyers can buy: on hand minus what checkouts and unshipped lines hold.
            product_items::stock - product_items::reserved,
            products::hidden,
        ))
        .cached_if(item_ids.len() == 1)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                product_id,
                seller_id,
                product_name,
                item_name,
                product_deleted,
                item_deleted,
                price,
                stock,
                hidden,
            )| {
                (
                    id,
                    ItemState {
                        product_id,
                        seller_id,
                        product_name,
                        item_name,
                        // A product hidden by moderation leaves carts like a deleted one.
                        product_live: product_deleted.is_none() && !hidden,
                        item_live: item_deleted.is_none(),
                        price,
                        stock,
                    },
                )
            },
        )
        .collect())
}

pub fn upsert_line(conn: &mut DbConn, buyer_id: i64, line: &Line, now: DateTime<Utc>) -> Result<(), DbError> {
    let updated = diesel::update(cart_lines::table.find((buyer_id, line.item_id)))
        .set((
            cart_lines::quantity.eq(line.quantity),
            cart_lines::unit_price.eq(line.unit_price),
            cart_lines::updated_at.eq(to_db(now)),
        ))
        .cached()
        .execute(conn)?;
    if updated == 0 {
        insert_line(conn, buyer_id, line, now)?;
    }
    Ok(())
}

/// A line the cart does not hold yet.
pub fn insert_line(conn: &mut DbConn, buyer_id: i64, line: &Line, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::insert_into(cart_lines::table)
        .values((
            cart_lines::buyer_id.eq(buyer_id),
            cart_lines::item_id.eq(line.item_id),
            cart_lines::product_id.eq(line.product_id),
            cart_lines::quantity.eq(line.quantity),
            cart_lines::unit_price.eq(line.unit_price),
            cart_lines::created_at.eq(to_db(now)),
            cart_lines::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_line(conn: &mut DbConn, buyer_id: i64, item_id: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(cart_lines::table.find((buyer_id, item_id))).execute(conn)?)
}

pub fn delete_all(conn: &mut DbConn, buyer_id: i64) -> Result<(), DbError> {
    diesel::delete(cart_lines::table.filter(cart_lines::buyer_id.eq(buyer_id))).execute(conn)?;
    diesel::delete(cart_notices::table.filter(cart_notices::buyer_id.eq(buyer_id))).execute(conn)?;
    Ok(())
}

pub fn add_notice(conn: &mut DbConn, buyer_id: i64, message: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::insert_into(cart_notices::table)
        .values((
            cart_notices::buyer_id.eq(buyer_id),
            cart_notices::message.eq(message),
            cart_notices::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn notices(conn: &mut DbConn, buyer_id: i64) -> Result<Vec<(i64, String)>, DbError> {
    Ok(cart_notices::table
        .filter(cart_notices::buyer_id.eq(buyer_id))
        .order(cart_notices::id.asc())
        .select((cart_notices::id, cart_notices::message))
        .load(conn)?)
}

/// Returns the pending notices and forgets them: each is shown once.
pub fn take_notices(conn: &mut DbConn, buyer_id: i64) -> Result<Vec<String>, DbError> {
    let pending = notices(conn, buyer_id)?;
    if let Some((last, _)) = pending.last() {
        diesel::delete(
            cart_notices::table.filter(cart_notices::buyer_id.eq(buyer_id)).filter(cart_notices::id.le(*last)),
        )
        .execute(conn)?;
    }
    Ok(pending.into_iter().map(|(_, m)| m).collect())
}

/// Increments the cart's version (creating the row on first use), which also takes the
/// row's write lock for the caller's transaction. No read: on MySQL a plain read fixes the
/// transaction's snapshot, which a checkout must only do after its locking reads.
pub fn touch_version(conn: &mut DbConn, buyer_id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    let insert = match conn.backend() {
        Backend::Sqlite => "INSERT OR IGNORE INTO carts (buyer_id, version, updated_at) VALUES (?, 0, ?)",
        Backend::Mysql => "INSERT IGNORE INTO carts (buyer_id, version, updated_at) VALUES (?, 0, ?)",
    };
    let bump = |conn: &mut DbConn| {
        diesel::update(carts::table.find(buyer_id))
            .set((carts::version.eq(carts::version + 1), carts::updated_at.eq(to_db(now))))
            .cached()
            .execute(conn)
    };
    // The row exists for every change but a cart's first: update first.
    if bump(conn)? == 0 {
        diesel::sql_query(insert)
            .bind::<diesel::sql_types::BigInt, _>(buyer_id)
            .bind::<diesel::sql_types::Timestamp, _>(to_db(now))
            .cached()
            .execute(conn)?;
        bump(conn)?;
    }
    Ok(())
}

/// Increments and returns the cart's version (creating the row on first use).
pub fn bump_version(conn: &mut DbConn, buyer_id: i64, now: DateTime<Utc>) -> Result<i64, DbError> {
    touch_version(conn, buyer_id, now)?;
    Ok(carts::table.find(buyer_id).select(carts::version).first(conn)?)
}

pub fn version(conn: &mut DbConn, buyer_id: i64) -> Result<i64, DbError> {
    Ok(carts::table.find(buyer_id).select(carts::version).first(conn).optional()?.unwrap_or(0))
}
