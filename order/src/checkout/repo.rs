//! Order queries.

use crate::error::OrderError;
use crate::schema::{order_lines, orders, product_items};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::PageRequest;
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::{DbConn, DbError, last_insert_id};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub buyer_id: i64,
    pub request_hash: String,
    pub status: String,
    pub total: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_lines)]
pub struct LineRow {
    pub order_id: i64,
    pub product_id: i64,
    pub item_id: i64,
    pub seller_id: i64,
    pub product_name: String,
    pub item_name: String,
    pub price: i64,
    pub quantity: i64,
}

pub fn find_by_client_key(conn: &mut DbConn, buyer_id: i64, key: &str) -> Result<Option<OrderRow>, DbError> {
    Ok(orders::table
        .filter(orders::buyer_id.eq(buyer_id))
        .filter(orders::client_key.eq(key))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<OrderRow>, DbError> {
    Ok(orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()?)
}

/// Claims the buyer's idempotency key with a `pending` order; `DuplicateKey` if taken.
pub fn insert_pending(
    conn: &mut DbConn,
    buyer_id: i64,
    key: &str,
    request_hash: &str,
    recover_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, OrderError> {
    let inserted = diesel::insert_into(orders::table)
        .values((
            orders::buyer_id.eq(buyer_id),
            orders::client_key.eq(Some(key)),
            orders::request_hash.eq(request_hash),
            orders::status.eq("pending"),
            orders::total.eq(0i64),
            orders::recover_after.eq(to_db(recover_after)),
            orders::created_at.eq(to_db(now)),
            orders::updated_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    match inserted {
        Err(e) if e.is_unique_violation() => Err(OrderError::DuplicateKey),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(last_insert_id(conn)?),
    }
}

pub fn delete_order(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::delete(order_lines::table.filter(order_lines::order_id.eq(id))).execute(conn)?;
    diesel::delete(orders::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn set_total(conn: &mut DbConn, id: i64, total: i64) -> Result<(), DbError> {
    diesel::update(orders::table.find(id)).set(orders::total.eq(total)).execute(conn)?;
    Ok(())
}

pub fn insert_line(conn: &mut DbConn, line: &LineRow) -> Result<(), DbError> {
    diesel::insert_into(order_lines::table)
        .values((
            order_lines::order_id.eq(line.order_id),
            order_lines::product_id.eq(line.product_id),
            order_lines::item_id.eq(line.item_id),
            order_lines::seller_id.eq(line.seller_id),
            order_lines::product_name.eq(&line.product_name),
            order_lines::item_name.eq(&line.item_name),
            order_lines::price.eq(line.price),
            order_lines::quantity.eq(line.quantity),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes `quantity` of a live item's stock, or nothing (`false`): never oversells.
pub fn reserve(conn: &mut DbConn, item_id: i64, quantity: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        product_items::table
            .find(item_id)
            .filter(product_items::deleted_at.is_null())
            .filter(product_items::stock.ge(quantity)),
    )
    .set((product_items::stock.eq(product_items::stock - quantity), product_items::updated_at.eq(to_db(now))))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn restore_stock(conn: &mut DbConn, order_id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    for line in lines(conn, &[order_id])? {
        diesel::update(product_items::table.find(line.item_id))
            .set((
                product_items::stock.eq(product_items::stock + line.quantity),
                product_items::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn lines(conn: &mut DbConn, order_ids: &[i64]) -> Result<Vec<LineRow>, DbError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(order_lines::table
        .filter(order_lines::order_id.eq_any(order_ids))
        .order(order_lines::id.asc())
        .select(LineRow::as_select())
        .load(conn)?)
}

/// `pending → paid`; `false` if the order was no longer pending.
pub fn mark_paid(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(orders::table.find(id).filter(orders::status.eq("pending")))
        .set((orders::status.eq("paid"), orders::paid_at.eq(Some(to_db(now))), orders::updated_at.eq(to_db(now))))
        .execute(conn)?;
    Ok(n == 1)
}

/// `pending → failed`, freeing the client's key; `false` if the order was no longer pending.
pub fn mark_failed(conn: &mut DbConn, id: i64, reason: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(orders::table.find(id).filter(orders::status.eq("pending")))
        .set((
            orders::status.eq("failed"),
            orders::client_key.eq(None::<String>),
            orders::failure.eq(Some(reason)),
            orders::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Pending orders whose request should have finished long ago.
pub fn stale_pending(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(orders::table
        .filter(orders::status.eq("pending"))
        .filter(orders::recover_after.lt(to_db(now)))
        .order(orders::recover_after.asc())
        .limit(limit)
        .select(orders::id)
        .load(conn)?)
}

/// Takes a stale order for recovery until `until`; `false` if another instance has it.
pub fn claim(conn: &mut DbConn, id: i64, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        orders::table.find(id).filter(orders::status.eq("pending")).filter(orders::recover_after.lt(to_db(now))),
    )
    .set(orders::recover_after.eq(to_db(until)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn buyer_orders(conn: &mut DbConn, buyer_id: i64, page: PageRequest) -> Result<(Vec<OrderRow>, i64), DbError> {
    let mine = || orders::table.filter(orders::buyer_id.eq(buyer_id)).filter(orders::status.eq("paid"));
    let total = mine().count().get_result(conn)?;
    let rows = mine()
        .order(orders::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(OrderRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn seller_orders(conn: &mut DbConn, seller_id: i64, page: PageRequest) -> Result<(Vec<OrderRow>, i64), DbError> {
    let theirs = || {
        orders::table.filter(orders::status.eq("paid")).filter(
            orders::id
                .eq_any(order_lines::table.filter(order_lines::seller_id.eq(seller_id)).select(order_lines::order_id)),
        )
    };
    let total = theirs().count().get_result(conn)?;
    let rows = theirs()
        .order(orders::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(OrderRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
