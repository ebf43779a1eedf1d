//! Order queries.

use super::{LineStatus, MoneyStep, OrderStatus};
use crate::error::OrderError;
use crate::schema::{carts, order_lines, order_shipments, orders, product_items};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::PageRequest;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use platform::clock::to_db;
use platform::db::{Backend, CachedExt, CountRow, DbConn, DbError, last_insert_id, load_ids, lock_rows};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub buyer_id: i64,
    pub request_hash: String,
    #[diesel(deserialize_as = String)]
    pub status: OrderStatus,
    pub total: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
}

impl OrderRow {
    /// A checkout that completed (failed and in-flight checkouts are not orders).
    pub fn placed(&self) -> bool {
        self.paid_at.is_some()
    }
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
    #[diesel(deserialize_as = String)]
    pub status: LineStatus,
    pub fee: i64,
    /// A [`MoneyStep`] string; parsed where it is acted on.
    pub money_due: Option<String>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

impl LineRow {
    pub fn line_total(&self) -> i64 {
        self.price * self.quantity
    }
}

/// What a transition writes on a line (`None` leaves a column as it is).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = order_lines)]
pub struct LineChange {
    pub status: Option<&'static str>,
    pub auto_confirm_at: Option<Option<NaiveDateTime>>,
    pub money_due: Option<Option<&'static str>>,
    pub money_retry_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
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

/// Locks an order (its row) for a transition: transitions of one order run one at a time.
pub fn lock_order(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    lock_rows(conn, "orders", "id", &[id])
}

/// Locks what a checkout reads: the buyer's cart lines and their items for writing (in
/// item-id order, the lines' key: no deadlocks between checkouts), then shares the
/// products they belong to, so a concurrent delete, reprice, hide or cart edit either
/// commits before our reads or waits for our commit. Products are only read, so checkouts
/// of one product's items need not wait for each other. The caller already holds the cart's
/// row (`cart::lock`, a write), and has read nothing yet: on MySQL the first plain read
/// fixes the transaction's snapshot.
///
/// Two counts whatever the cart's size, where a list of ids and a lock per table took three.
/// Neither is kept prepared: a kept locking read hangs after a lock wait that runs out (see
/// `platform::db::Cached`).
pub fn lock_for_checkout(conn: &mut DbConn, buyer_id: i64) -> Result<(), DbError> {
    if conn.backend() != Backend::Mysql {
        return Ok(());
    }
    diesel::sql_query(
        "SELECT STRAIGHT_JOIN COUNT(*) AS n FROM cart_lines l JOIN product_items i ON i.id = l.item_id \
         WHERE l.buyer_id = ? FOR UPDATE",
    )
    .bind::<BigInt, _>(buyer_id)
    .get_result::<CountRow>(conn)?;
    diesel::sql_query(
        // A join, not `id IN (subquery)`: MariaDB materializes that subquery into a temporary
        // table on every execution.
        "SELECT STRAIGHT_JOIN COUNT(*) AS n FROM cart_lines l JOIN products p ON p.id = l.product_id \
         WHERE l.buyer_id = ? LOCK IN SHARE MODE",
    )
    .bind::<BigInt, _>(buyer_id)
    .get_result::<CountRow>(conn)?;
    Ok(())
}

/// Claims the buyer's idempotency key with a `pending` order; `IdempotencyError::Taken` if taken.
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
            orders::status.eq(OrderStatus::Pending.as_str()),
            orders::total.eq(0i64),
            orders::recover_after.eq(to_db(recover_after)),
            orders::created_at.eq(to_db(now)),
            orders::updated_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    platform::idempotency::claim::<_, OrderError>(inserted)?;
    Ok(last_insert_id(conn)?)
}

pub fn delete_order(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::delete(order_lines::table.filter(order_lines::order_id.eq(id))).execute(conn)?;
    diesel::delete(orders::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn set_total(conn: &mut DbConn, id: i64, total: i64) -> Result<(), DbError> {
    diesel::update(orders::table.find(id)).set(orders::total.eq(total)).cached().execute(conn)?;
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
            order_lines::status.eq(line.status.as_str()),
            order_lines::fee.eq(line.fee),
            order_lines::money_due.eq(&line.money_due),
            order_lines::version.eq(line.version),
            order_lines::updated_at.eq(line.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The cart becomes this checkout's: `false` while another live checkout holds it. A holder
/// that is no longer pending (finished, or failed without letting go) is taken over.
pub fn claim_cart(conn: &mut DbConn, buyer_id: i64, order_id: i64) -> Result<bool, DbError> {
    let free = carts::table.find(buyer_id).filter(carts::checkout_order_id.is_null());
    if diesel::update(free).set(carts::checkout_order_id.eq(Some(order_id))).cached().execute(conn)? == 1 {
        return Ok(true);
    }
    let holder: Option<Option<i64>> =
        carts::table.find(buyer_id).select(carts::checkout_order_id).first(conn).optional()?;
    let Some(Some(holder)) = holder else { return Ok(false) };
    let live: i64 =
        orders::table.find(holder).filter(orders::status.eq(OrderStatus::Pending.as_str())).count().get_result(conn)?;
    if live > 0 {
        return Ok(false);
    }
    let taken = carts::table.find(buyer_id).filter(carts::checkout_order_id.eq(Some(holder)));
    Ok(diesel::update(taken).set(carts::checkout_order_id.eq(Some(order_id))).cached().execute(conn)? == 1)
}

/// Lets go of the cart if this checkout holds it.
pub fn release_cart(conn: &mut DbConn, buyer_id: i64, order_id: i64) -> Result<(), DbError> {
    diesel::update(carts::table.find(buyer_id).filter(carts::checkout_order_id.eq(Some(order_id))))
        .set(carts::checkout_order_id.eq(None::<i64>))
        .cached()
        .execute(conn)?;
    Ok(())
}

/// Reserves `quantity` of a live item at `price`, or nothing (`false`): never oversells,
/// and never sells at a price other than the one the buyer saw.
pub fn reserve(
    conn: &mut DbConn,
    item_id: i64,
    quantity: i64,
    price: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        product_items::table
            .find(item_id)
            .filter(product_items::deleted_at.is_null())
            .filter(product_items::price.eq(price))
            .filter((product_items::stock - product_items::reserved).ge(quantity)),
    )
    .set((product_items::reserved.eq(product_items::reserved + quantity), product_items::updated_at.eq(to_db(now))))
    .cached()
    .execute(conn)?;
    Ok(n == 1)
}

fn stock_moved(n: usize, what: &str, item_id: i64) -> Result<(), DbError> {
    if n == 1 { Ok(()) } else { Err(DbError::Task(format!("{what} of item {item_id}: stock does not hold it"))) }
}

/// A reservation ends without a sale (failed checkout, cancelled or refunded unshipped line).
pub fn release(conn: &mut DbConn, item_id: i64, quantity: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    let n = diesel::update(product_items::table.find(item_id).filter(product_items::reserved.ge(quantity)))
        .set((product_items::reserved.eq(product_items::reserved - quantity), product_items::updated_at.eq(to_db(now))))
        .cached()
        .execute(conn)?;
    stock_moved(n, "release", item_id)
}

/// Shipping takes the reserved units off the shelf.
pub fn take_off_shelf(conn: &mut DbConn, item_id: i64, quantity: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    let n = diesel::update(
        product_items::table
            .find(item_id)
            .filter(product_items::reserved.ge(quantity))
            .filter(product_items::stock.ge(quantity)),
    )
    .set((
        product_items::stock.eq(product_items::stock - quantity),
        product_items::reserved.eq(product_items::reserved - quantity),
        product_items::updated_at.eq(to_db(now)),
    ))
    .cached()
    .execute(conn)?;
    stock_moved(n, "shipping", item_id)
}

/// A returned unit goes back on the shelf.
pub fn restock(conn: &mut DbConn, item_id: i64, quantity: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    let n = diesel::update(product_items::table.find(item_id))
        .set((product_items::stock.eq(product_items::stock + quantity), product_items::updated_at.eq(to_db(now))))
        .cached()
        .execute(conn)?;
    stock_moved(n, "restock", item_id)
}

/// Undoes a failed checkout's reservation.
pub fn release_order(conn: &mut DbConn, order_id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    for line in lines(conn, &[order_id])? {
        release(conn, line.item_id, line.quantity, now)?;
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
        .cached_if(order_ids.len() == 1)
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_shipments)]
pub struct ShipmentRow {
    pub order_id: i64,
    pub item_id: i64,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: NaiveDateTime,
}

pub fn insert_shipment(conn: &mut DbConn, shipment: &ShipmentRow) -> Result<(), DbError> {
    diesel::insert_into(order_shipments::table)
        .values((
            order_shipments::order_id.eq(shipment.order_id),
            order_shipments::item_id.eq(shipment.item_id),
            order_shipments::carrier.eq(&shipment.carrier),
            order_shipments::tracking_number.eq(&shipment.tracking_number),
            order_shipments::shipped_at.eq(shipment.shipped_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn shipments(conn: &mut DbConn, order_ids: &[i64]) -> Result<Vec<ShipmentRow>, DbError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(order_shipments::table
        .filter(order_shipments::order_id.eq_any(order_ids))
        .select(ShipmentRow::as_select())
        .load(conn)?)
}

/// The line `(order_id, item_id)`, for reads and conditional updates.
#[diesel::dsl::auto_type(no_type_alias)]
fn the_line(order_id: i64, item_id: i64) -> _ {
    order_lines::table.filter(order_lines::order_id.eq(order_id)).filter(order_lines::item_id.eq(item_id))
}

pub fn line(conn: &mut DbConn, order_id: i64, item_id: i64) -> Result<Option<LineRow>, DbError> {
    Ok(the_line(order_id, item_id).select(LineRow::as_select()).first(conn).optional()?)
}

/// Moves a line from one of `from` to the change's status; `false` if it was in none of them.
pub fn transition_line(
    conn: &mut DbConn,
    order_id: i64,
    item_id: i64,
    from: &[LineStatus],
    change: &LineChange,
) -> Result<bool, DbError> {
    let target = the_line(order_id, item_id).filter(order_lines::status.eq_any(from.iter().map(|s| s.as_str())));
    // Kept: `from` and the change's columns come from the few actions, so few texts.
    let n = diesel::update(target)
        .set((change, order_lines::version.eq(order_lines::version + 1)))
        .cached()
        .execute(conn)?;
    Ok(n == 1)
}

/// Records the derived order status.
pub fn set_status(conn: &mut DbConn, id: i64, status: OrderStatus, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(orders::table.find(id))
        .set((orders::status.eq(status.as_str()), orders::updated_at.eq(to_db(now))))
        .cached()
        .execute(conn)?;
    Ok(())
}

/// Lines whose money step (`sale` or `refund`) has not been confirmed done, due for retry.
pub fn money_due(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, i64)>, DbError> {
    Ok(order_lines::table
        .filter(order_lines::money_due.is_not_null())
        .filter(order_lines::money_retry_at.lt(to_db(now)))
        .order(order_lines::money_retry_at.asc())
        .limit(limit)
        .select((order_lines::order_id, order_lines::item_id))
        .load(conn)?)
}

/// Takes a line's overdue money step until `until`; `false` if another instance has it.
pub fn claim_money(
    conn: &mut DbConn,
    order_id: i64,
    item_id: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        the_line(order_id, item_id)
            .filter(order_lines::money_due.is_not_null())
            .filter(order_lines::money_retry_at.lt(to_db(now))),
    )
    .set(order_lines::money_retry_at.eq(Some(to_db(until))))
    .cached()
    .execute(conn)?;
    Ok(n == 1)
}

/// The money step is done: clears it (only if it is still that step).
pub fn money_done(conn: &mut DbConn, order_id: i64, item_id: i64, step: MoneyStep) -> Result<(), DbError> {
    diesel::update(the_line(order_id, item_id).filter(order_lines::money_due.eq(step.as_str())))
        .set((order_lines::money_due.eq(None::<String>), order_lines::money_retry_at.eq(None::<NaiveDateTime>)))
        .cached()
        .execute(conn)?;
    Ok(())
}

/// Shipped lines whose auto-confirmation time has come, oldest first.
pub fn due_confirmations(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, i64)>, DbError> {
    Ok(order_lines::table
        .filter(order_lines::status.eq(LineStatus::Shipped.as_str()))
        .filter(order_lines::auto_confirm_at.le(to_db(now)))
        .order(order_lines::auto_confirm_at.asc())
        .limit(limit)
        .select((order_lines::order_id, order_lines::item_id))
        .load(conn)?)
}

/// Whether the line is still shipped and due (another instance may have confirmed it).
pub fn still_due(conn: &mut DbConn, order_id: i64, item_id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n: i64 = the_line(order_id, item_id)
        .filter(order_lines::status.eq(LineStatus::Shipped.as_str()))
        .filter(order_lines::auto_confirm_at.le(to_db(now)))
        .count()
        .get_result(conn)?;
    Ok(n == 1)
}

/// `pending → paid` (the order is placed; every line `paid`), letting go of the cart;
/// `false` if the order was no longer pending.
pub fn mark_paid(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(orders::table.find(id).filter(orders::status.eq(OrderStatus::Pending.as_str())))
        .set((
            orders::status.eq(OrderStatus::Paid.as_str()),
            orders::paid_at.eq(Some(to_db(now))),
            orders::updated_at.eq(to_db(now)),
        ))
        .cached()
        .execute(conn)?;
    Ok(n == 1)
}

/// `pending → failed`, freeing the client's key; `false` if the order was no longer pending.
pub fn mark_failed(conn: &mut DbConn, id: i64, reason: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(orders::table.find(id).filter(orders::status.eq(OrderStatus::Pending.as_str())))
        .set((
            orders::status.eq(OrderStatus::Failed.as_str()),
            orders::client_key.eq(None::<String>),
            orders::failure.eq(Some(reason)),
            orders::updated_at.eq(to_db(now)),
        ))
        .cached()
        .execute(conn)?;
    Ok(n == 1)
}

/// Pending orders whose request should have finished long ago.
pub fn stale_pending(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(orders::table
        .filter(orders::status.eq(OrderStatus::Pending.as_str()))
        .filter(orders::recover_after.lt(to_db(now)))
        .order(orders::recover_after.asc())
        .limit(limit)
        .select(orders::id)
        .load(conn)?)
}

/// Takes a stale order for recovery until `until`; `false` if another instance has it.
pub fn claim(conn: &mut DbConn, id: i64, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        orders::table
            .find(id)
            .filter(orders::status.eq(OrderStatus::Pending.as_str()))
            .filter(orders::recover_after.lt(to_db(now))),
    )
    .set(orders::recover_after.eq(to_db(until)))
    .cached()
    .execute(conn)?;
    Ok(n == 1)
}

pub fn buyer_orders(
    conn: &mut DbConn,
    buyer_id: i64,
    status: Option<OrderStatus>,
    page: PageRequest,
) -> Result<(Vec<OrderRow>, i64), DbError> {
    let mine = || {
        let q = orders::table.filter(orders::buyer_id.eq(buyer_id)).filter(orders::paid_at.is_not_null()).into_boxed();
        match status {
            Some(s) => q.filter(orders::status.eq(s.as_str())),
            None => q,
        }
    };
    let total = mine().count().get_result(conn)?;
    let rows = mine()
        .order(orders::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(OrderRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The SQL condition (over one seller's lines of an order, grouped) for a derived status
/// of the seller's view; mirrors [`super::derive_status`].
fn seller_status_having(status: Option<OrderStatus>) -> &'static str {
    const VOID: &str = "SUM(CASE WHEN l.status IN ('cancelled', 'refunded') THEN 1 ELSE 0 END) = COUNT(*)";
    const DONE: &str = "(SUM(CASE WHEN l.status IN ('confirmed', 'cancelled', 'refunded') THEN 1 ELSE 0 END) = COUNT(*) \
                        AND SUM(CASE WHEN l.status = 'confirmed' THEN 1 ELSE 0 END) > 0)";
    const PAID: &str = "SUM(CASE WHEN l.status = 'paid' THEN 1 ELSE 0 END) = COUNT(*)";
    match status {
        None => "1 = 1",
        Some(OrderStatus::Cancelled) => VOID,
        Some(OrderStatus::Completed) => DONE,
        Some(OrderStatus::Paid) => PAID,
        Some(_) => {
            "NOT (SUM(CASE WHEN l.status IN ('cancelled', 'refunded') THEN 1 ELSE 0 END) = COUNT(*)) \
             AND NOT (SUM(CASE WHEN l.status IN ('confirmed', 'cancelled', 'refunded') THEN 1 ELSE 0 END) = COUNT(*) \
             AND SUM(CASE WHEN l.status = 'confirmed' THEN 1 ELSE 0 END) > 0) \
             AND NOT (SUM(CASE WHEN l.status = 'paid' THEN 1 ELSE 0 END) = COUNT(*))"
        }
    }
}

/// Placed orders with this seller's lines, filtered by the derived status of those lines
/// and by one of them being in `line_status`.
pub fn seller_orders(
    conn: &mut DbConn,
    seller_id: i64,
    status: Option<OrderStatus>,
    line_status: Option<LineStatus>,
    page: PageRequest,
) -> Result<(Vec<OrderRow>, i64), DbError> {
    let mut having = seller_status_having(status).to_string();
    if let Some(line) = line_status {
        // A variant's own fixed string, never the caller's text, so it is safe inline.
        having.push_str(&format!(" AND SUM(CASE WHEN l.status = '{}' THEN 1 ELSE 0 END) > 0", line.as_str()));
    }
    let ids_sql = format!(
        "SELECT l.order_id AS id FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE l.seller_id = ? AND o.paid_at IS NOT NULL GROUP BY l.order_id HAVING {having}"
    );
    let total = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM ({ids_sql}) t"))
        .bind::<BigInt, _>(seller_id)
        .get_result::<CountRow>(conn)?
        .n;
    let ids = load_ids(
        conn,
        diesel::sql_query(format!("{ids_sql} ORDER BY l.order_id DESC LIMIT ? OFFSET ?"))
            .bind::<BigInt, _>(seller_id)
            .bind::<BigInt, _>(page.limit())
            .bind::<BigInt, _>(page.offset()),
    )?;
    let mut rows = orders::table.filter(orders::id.eq_any(&ids)).select(OrderRow::as_select()).load(conn)?;
    rows.sort_by_key(|r: &OrderRow| std::cmp::Reverse(r.id));
    Ok((rows, total))
}
