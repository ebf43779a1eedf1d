//! Checkout as a saga across two modules that cannot share a transaction, then the order
//! lifecycle ([`lifecycle`]):
//!
//! 1. one `order` transaction claims the client's key with a `pending` order and the cart
//!    (`carts.checkout_order_id`: a cart is checked out once), reconciles the cart, reserves
//!    stock (`reserved += q`) with conditional updates and snapshots the lines with their fee;
//! 2. the buyer is debited into the order's escrow (`order:{id}:debit`);
//! 3. one `order` transaction marks the order `paid`, empties the bought cart lines, lets go
//!    of the cart and publishes `order.order_placed`.
//!
//! Sellers are paid per line when it is confirmed (see [`lifecycle`]). Every transfer is
//! keyed, so repeating a step moves nothing twice. A crash anywhere leaves a `pending` order
//! that the recovery sweep picks up once stale: it *cancels* the debit key (a fence no late
//! retry can cross); if the debit had already happened the order is completed forward,
//! otherwise it is failed and its reservation released. So every checkout ends `paid` or
//! without any effect.

pub mod http;
pub mod lifecycle;
pub(crate) mod repo;

use crate::cart::{self, Carts, CheckoutCart, Line};
use crate::error::OrderError;
use chrono::{DateTime, Duration, Utc};
use contracts::order::{LineRef, OrderPlaced};
use contracts::wallet::{CancelOutcome, EntryKind, TransferRequest, WalletError, WalletRef, WalletService};
use contracts::{AccountId, OrderId};
use contracts::{Page, PageRequest};
use platform::clock::{SharedClock, from_db, to_db};
use platform::crypto::fingerprint;
use platform::db::{Db, DbConn};
use platform::idempotency::{self, IdempotencyError, Stored};
use platform::outbox::Outbox;
use repo::{LineRow, OrderRow, ShipmentRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// How a line is being delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub product_id: i64,
    pub item_id: i64,
    pub seller_id: i64,
    pub product_name: String,
    pub item_name: String,
    pub price: i64,
    pub quantity: i64,
    pub line_total: i64,
    /// `paid`, `shipped`, `confirmed`, `cancelled`, `return_requested` or `refunded`.
    pub status: LineStatus,
    pub shipment: Option<Shipment>,
    pub updated_at: DateTime<Utc>,
    /// Seller view only: the platform fee taken when the line is confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<i64>,
    /// Seller view only: `line_total − fee`, what the seller is paid on confirmation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: i64,
    pub buyer_id: i64,
    /// Derived from the lines: `paid`, `in_progress`, `completed` or `cancelled`.
    pub status: OrderStatus,
    pub total: i64,
    pub items: Vec<OrderLine>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

contracts::stored_enum! {
    /// An order line's status (`order_lines.status`).
    pub enum LineStatus {
        Paid = "paid",
        Shipped = "shipped",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
        ReturnRequested = "return_requested",
        Refunded = "refunded",
    }

    /// An order's status (`orders.status`): `pending`/`failed` during and after a checkout
    /// that did not complete, then derived from the lines.
    pub enum OrderStatus {
        Pending = "pending",
        Failed = "failed",
        Paid = "paid",
        InProgress = "in_progress",
        Completed = "completed",
        Cancelled = "cancelled",
    }

    /// The money step a line owes after a transition (`order_lines.money_due`).
    pub enum MoneyStep {
        Sale = "sale",
        Refund = "refund",
    }
}

/// The order statuses `?status=` accepts.
pub const ORDER_STATUSES: [OrderStatus; 4] =
    [OrderStatus::Paid, OrderStatus::InProgress, OrderStatus::Completed, OrderStatus::Cancelled];

/// Final line statuses: nothing changes them any more.
pub fn is_final(status: LineStatus) -> bool {
    matches!(status, LineStatus::Confirmed | LineStatus::Cancelled | LineStatus::Refunded)
}

/// The order status derived from its lines' statuses.
pub fn derive_status(lines: impl IntoIterator<Item = LineStatus>) -> OrderStatus {
    let statuses: Vec<LineStatus> = lines.into_iter().collect();
    if statuses.iter().all(|s| matches!(s, LineStatus::Cancelled | LineStatus::Refunded)) {
        OrderStatus::Cancelled
    } else if statuses.iter().all(|s| is_final(*s)) {
        OrderStatus::Completed
    } else if statuses.iter().all(|s| *s == LineStatus::Paid) {
        OrderStatus::Paid
    } else {
        OrderStatus::InProgress
    }
}

/// Whose view of an order: the buyer's and an admin's show every line; a seller's only
/// theirs, totalled, with `fee` and `net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Buyer(i64),
    Seller(i64),
    Admin,
}

fn line_view(l: LineRow, shipments: &[ShipmentRow], seller_view: bool) -> OrderLine {
    let line_total = l.line_total();
    let shipment = shipments.iter().find(|s| s.order_id == l.order_id && s.item_id == l.item_id).map(|s| Shipment {
        carrier: s.carrier.clone(),
        tracking_number: s.tracking_number.clone(),
        shipped_at: from_db(s.shipped_at),
    });
    OrderLine {
        product_id: l.product_id,
        item_id: l.item_id,
        seller_id: l.seller_id,
        product_name: l.product_name,
        item_name: l.item_name,
        price: l.price,
        quantity: l.quantity,
        line_total,
        status: l.status,
        shipment,
        updated_at: from_db(l.updated_at),
        fee: seller_view.then_some(l.fee),
        net: seller_view.then_some(line_total - l.fee),
    }
}

/// The order as `viewer` may see it; `None` when it is not theirs to see.
fn view(row: &OrderRow, lines: Vec<LineRow>, shipments: &[ShipmentRow], viewer: Viewer) -> Option<Order> {
    if !row.placed() {
        return None;
    }
    let (lines, status) = match viewer {
        Viewer::Buyer(id) if id != row.buyer_id => return None,
        Viewer::Seller(id) => {
            let mine: Vec<LineRow> = lines.into_iter().filter(|l| l.seller_id == id).collect();
            if mine.is_empty() {
                return None;
            }
            let status = derive_status(mine.iter().map(|l| l.status));
            (mine, status)
        }
        _ => (lines, row.status),
    };
    let seller_view = matches!(viewer, Viewer::Seller(_));
    let total = if seller_view { lines.iter().map(LineRow::line_total).sum() } else { row.total };
    Some(Order {
        id: row.id,
        buyer_id: row.buyer_id,
        status,
        total,
        items: lines.into_iter().map(|l| line_view(l, shipments, seller_view)).collect(),
        created_at: from_db(row.created_at),
        updated_at: from_db(row.updated_at),
    })
}

/// The platform fee of a line: `floor(line_total × bps / 10000)`.
pub fn fee_for(line_total: i64, commission_bps: i64) -> i64 {
    // i128: 100,000,000 × 1,000,000 × 10,000 overflows i64.
    ((i128::from(line_total) * i128::from(commission_bps)) / 10_000) as i64
}

pub(crate) fn line_ref(order: &OrderRow, line: &LineRow) -> LineRef {
    LineRef {
        order_id: order.id,
        item_id: line.item_id,
        product_id: line.product_id,
        buyer_id: order.buyer_id,
        seller_id: line.seller_id,
        product_name: line.product_name.clone(),
        item_name: line.item_name.clone(),
        quantity: line.quantity,
        line_total: line.line_total(),
        version: line.version,
    }
}

fn debit_key(order_id: i64) -> String {
    format!("order:{order_id}:debit")
}

pub(crate) fn escrow(order_id: i64) -> WalletRef {
    WalletRef::escrow(format!("order:{order_id}"))
}

/// What the reservation transaction decided.
enum Reservation {
    Reserved {
        /// The `pending` order and its lines as this transaction wrote them.
        row: OrderRow,
        lines: Vec<LineRow>,
        /// Whose stock was taken.
        products: Vec<i64>,
    },
    /// Refused, with the cart state to cache (reconciliation changes were kept).
    Refused { error: OrderError, version: i64, lines: Vec<Line>, pending: bool },
}

/// How long a `pending` order (or an unconfirmed money step of a line) may take before
/// recovery treats its request as dead.
#[derive(Debug, Clone, Copy)]
pub struct RecoverySettings {
    pub after: Duration,
}

/// The order lifecycle's settings.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleSettings {
    pub commission_bps: i64,
    pub auto_confirm_after: Duration,
}

platform::service_struct! {
    pub struct Orders {
        db: Db,
        wallets: Arc<dyn WalletService>,
        carts: Arc<Carts>,
        clock: SharedClock,
        outbox: Outbox,
        recovery: RecoverySettings,
        lifecycle: LifecycleSettings,
    }
}

impl Orders {
    /// Checks out the buyer's whole cart. Replaying `key` with the same body returns the
    /// same order; a different body is `IdempotencyError::Conflict`.
    #[tracing::instrument(skip(self, key))]
    pub async fn checkout(
        &self,
        buyer_id: AccountId,
        key: &str,
        expected_total: Option<i64>,
    ) -> Result<Order, OrderError> {
        let buyer_id = buyer_id.get();
        let hash = fingerprint(&serde_json::json!({ "expected_total": expected_total }));
        let lookup = {
            let key = key.to_string();
            move || {
                let key = key.clone();
                async move {
                    let row = self.db.run(move |conn| repo::find_by_client_key(conn, buyer_id, &key)).await?;
                    let Some(row) = row else { return Ok(None) };
                    // Failed and in-flight checkouts are not orders: the key is still running.
                    let finished = match row.placed() {
                        true => Some(self.order(Viewer::Buyer(buyer_id), row.id.into()).await?),
                        false => None,
                    };
                    Ok(Some(Stored { request_hash: row.request_hash, finished }))
                }
            }
        };
        // The reservation's first write claims the key (`repo::insert_pending`).
        let run = || self.start_checkout(buyer_id, key, &hash, expected_total);
        Ok(idempotency::execute_claiming(&hash, lookup, run).await?.value)
    }

    /// Claims the key with a `pending` order, reserves the cart's stock, takes the money.
    async fn start_checkout(
        &self,
        buyer_id: i64,
        key: &str,
        hash: &str,
        expected_total: Option<i64>,
    ) -> Result<Order, OrderError> {
        match self.reserve(buyer_id, key, hash, expected_total).await? {
            Reservation::Refused { error, version, lines, pending } => {
                self.carts.changed(buyer_id, version, lines, pending).await;
                metrics::counter!("checkout_refusals_total", "reason" => refusal_label(&error)).increment(1);
                Err(error)
            }
            Reservation::Reserved { row, lines, products } => {
                crate::catalog::stock_changed(self.carts.hot(), products).await;
                self.settle(row, lines).await
            }
        }
    }

    /// The placed order the buyer's checkout `key` made, if any (seeding checks before it
    /// fills a cart, so a second run neither buys again nor leaves the cart filled).
    pub async fn placed_by_key(&self, buyer_id: AccountId, key: &str) -> Result<Option<Order>, OrderError> {
        let buyer_id = buyer_id.get();
        let k = key.to_string();
        match self.db.run(move |conn| repo::find_by_client_key(conn, buyer_id, &k)).await? {
            Some(row) if row.placed() => self.order(Viewer::Buyer(buyer_id), row.id.into()).await.map(Some),
            _ => Ok(None),
        }
    }

    async fn reserve(
        &self,
        buyer_id: i64,
        key: &str,
        hash: &str,
        expected_total: Option<i64>,
    ) -> Result<Reservation, OrderError> {
        let now = self.clock.now();
        let recover_after = now + self.recovery.after;
        let bps = self.lifecycle.commission_bps;
        let (key, hash) = (key.to_string(), hash.to_string());
        self.db
            .tx(move |conn| {
                // Claim the key first: a concurrent duplicate waits here, then replays.
                let order_id = repo::insert_pending(conn, buyer_id, &key, &hash, recover_after, now)?;
                // Then the cart: another key's checkout of the same cart is refused. Its row is
                // locked by this write; what it holds by the locking reads after it.
                cart::lock(conn, buyer_id, now)?;
                repo::lock_for_checkout(conn, buyer_id)?;
                if !repo::claim_cart(conn, buyer_id, order_id)? {
                    return Err(IdempotencyError::InProgress.into());
                }
                let CheckoutCart { lines, states, notices } = cart::reconcile_for_checkout(conn, buyer_id, now)?;
                let pending = !notices.is_empty();
                let total: i64 = lines.iter().map(|l| l.unit_price * l.quantity).sum();
                let refusal = if !notices.is_empty() {
                    Some(OrderError::CartChanged(notices))
                } else if lines.is_empty() {
                    Some(OrderError::CartEmpty)
                } else {
                    expected_total.filter(|e| *e != total).map(|expected| {
                        OrderError::CartChanged(vec![format!(
                            "The cart total is {total} points, not the {expected} points you expected."
                        )])
                    })
                };
                if let Some(error) = refusal {
                    // Nothing is stored for a refusal: the key and the cart stay free.
                    repo::release_cart(conn, buyer_id, order_id)?;
                    repo::delete_order(conn, order_id)?;
                    let version = cart::bump(conn, buyer_id, now)?;
                    return Ok(Reservation::Refused { error, version, lines, pending });
                }
                let mut sorted = lines.clone();
                sorted.sort_by_key(|l| l.item_id); // one lock order for every checkout: no deadlocks
                for line in &sorted {
                    let state = states.get(&line.item_id).ok_or(OrderError::NotFound)?;
                    if !repo::reserve(conn, line.item_id, line.quantity, line.unit_price, now)? {
                        return Err(OrderError::OutOfStock(state.label()));
                    }
                }
                let mut rows = Vec::with_capacity(lines.len());
                for line in &lines {
                    let state = states.get(&line.item_id).ok_or(OrderError::NotFound)?;
                    let new = LineRow {
                        order_id,
                        product_id: line.product_id,
                        item_id: line.item_id,
                        seller_id: state.seller_id,
                        product_name: state.product_name.clone(),
                        item_name: state.item_name.clone(),
                        price: line.unit_price,
                        quantity: line.quantity,
                        status: LineStatus::Paid,
                        fee: fee_for(line.unit_price * line.quantity, bps),
                        money_due: None,
                        version: 0,
                        updated_at: to_db(now),
                    };
                    repo::insert_line(conn, &new)?;
                    rows.push(new);
                }
                repo::set_total(conn, order_id, total)?;
                let row = OrderRow {
                    id: order_id,
                    buyer_id,
                    request_hash: hash.clone(),
                    status: OrderStatus::Pending,
                    total,
                    created_at: to_db(now),
                    updated_at: to_db(now),
                    paid_at: None,
                };
                let products = lines.iter().map(|l| l.product_id).collect();
                Ok(Reservation::Reserved { row, lines: rows, products })
            })
            .await
    }

    pub(crate) async fn load(&self, order_id: i64) -> Result<(OrderRow, Vec<LineRow>), OrderError> {
        self.db
            .run(move |conn| {
                let row = repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?;
                let lines = repo::lines(conn, &[order_id])?;
                Ok((row, lines))
            })
            .await
    }

    async fn load_view(&self, order_id: i64, viewer: Viewer) -> Result<Option<Order>, OrderError> {
        self.db
            .run(move |conn| {
                let row = repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?;
                let lines = repo::lines(conn, &[order_id])?;
                let shipments = repo::shipments(conn, &[order_id])?;
                Ok(view(&row, lines, &shipments, viewer))
            })
            .await
    }

    /// Moves the buyer's money of a reserved order into its escrow and marks it paid.
    async fn settle(&self, row: OrderRow, lines: Vec<LineRow>) -> Result<Order, OrderError> {
        let (order_id, buyer_id, total) = (row.id, row.buyer_id, row.total);
        if total > 0 {
            let debit = TransferRequest {
                from: WalletRef::Account(buyer_id),
                to: escrow(order_id),
                amount: total,
                kind: EntryKind::Purchase,
                reference: format!("order:{order_id}"),
                idempotency_key: debit_key(order_id),
            };
            match self.wallets.transfer(debit).await {
                Ok(_) => {}
                Err(WalletError::InsufficientBalance) => {
                    self.abandon(order_id, "insufficient_balance").await?;
                    metrics::counter!("checkout_refusals_total", "reason" => "insufficient_balance").increment(1);
                    return Err(OrderError::InsufficientBalance);
                }
                // Recovery gave up on this checkout meanwhile (fenced the debit): nothing was
                // taken; the client may retry (the key is freed once recovery failed it).
                Err(WalletError::Cancelled) => return Err(OrderError::CheckoutInterrupted),
                // Anything else leaves the order pending: recovery finishes or undoes it.
                Err(e) => return Err(e.into()),
            }
        }
        self.complete(order_id, Some((row, lines))).await
    }

    /// Marks the order paid (the money is in escrow), empties the bought cart lines and
    /// announces the order; idempotent. `known`: the pending order and its lines as the
    /// reservation wrote them, not read again (if it is still pending, they are so still).
    async fn complete(&self, order_id: i64, known: Option<(OrderRow, Vec<LineRow>)>) -> Result<Order, OrderError> {
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let (paid_now, version, cart_lines, buyer_id, pending, paid) = self
            .db
            .tx(move |conn| {
                let (mut row, lines) = match &known {
                    Some((row, lines)) => (row.clone(), lines.clone()),
                    None => (repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?, repo::lines(conn, &[order_id])?),
                };
                let buyer_id = row.buyer_id;
                let paid_now = repo::mark_paid(conn, order_id, now)?;
                // Before the lines: the cart's row, then its lines, as every cart writer does.
                repo::release_cart(conn, buyer_id, order_id)?;
                if paid_now {
                    cart::remove_bought(conn, buyer_id, lines.iter().map(|l| l.item_id))?;
                    let mut seller_ids: Vec<i64> = lines.iter().map(|l| l.seller_id).collect();
                    seller_ids.sort_unstable();
                    seller_ids.dedup();
                    let event = OrderPlaced {
                        order_id,
                        buyer_id,
                        total: row.total,
                        seller_ids,
                        lines: lines.iter().map(|l| line_ref(&row, l)).collect(),
                    };
                    outbox.publish(conn, now, &event)?;
                }
                let (version, cart_lines) = cart::after_change(conn, buyer_id, now)?;
                let pending = cart::has_notices(conn, buyer_id)?;
                // Paid just now, it is what this transaction wrote (lines as inserted, no
                // shipment yet): answered from here, without reading it back.
                let paid = paid_now.then(|| {
                    (row.status, row.paid_at, row.updated_at) = (OrderStatus::Paid, Some(to_db(now)), to_db(now));
                    view(&row, lines, &[], Viewer::Admin)
                });
                Ok::<_, OrderError>((paid_now, version, cart_lines, buyer_id, pending, paid.flatten()))
            })
            .await?;
        self.carts.changed(buyer_id, version, cart_lines, pending).await;
        // Completed by another caller: read it as it is now.
        let order = match paid {
            Some(order) => order,
            None => self.load_view(order_id, Viewer::Admin).await?.ok_or_else(|| {
                OrderError::Internal(anyhow::anyhow!("order {order_id} is not placed after completion"))
            })?,
        };
        if paid_now {
            self.outbox.wake();
            metrics::counter!("orders_paid_total").increment(1);
            tracing::info!(order_id, total = order.total, "order paid");
        }
        Ok(order)
    }

    /// Gives up on an order: fences the debit, then undoes the reservation — unless the
    /// debit turns out to have happened, in which case the order is completed instead.
    async fn abandon(&self, order_id: i64, reason: &str) -> Result<(), OrderError> {
        match self.wallets.cancel(&debit_key(order_id)).await? {
            CancelOutcome::AlreadyApplied(_) => {
                self.complete(order_id, None).await?;
            }
            CancelOutcome::Cancelled => {
                let now = self.clock.now();
                let reason = reason.to_string();
                let failed = self
                    .db
                    .tx(move |conn| {
                        let row = repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?;
                        let failed = repo::mark_failed(conn, order_id, &reason, now)?;
                        if failed {
                            repo::release_order(conn, order_id, now)?;
                            repo::release_cart(conn, row.buyer_id, order_id)?;
                        }
                        Ok::<_, OrderError>(failed)
                    })
                    .await?;
                if failed {
                    let (_, lines) = self.load(order_id).await?;
                    crate::catalog::stock_changed(self.carts.hot(), lines.iter().map(|l| l.product_id)).await;
                    metrics::counter!("orders_failed_total").increment(1);
                    tracing::info!(order_id, "order failed and compensated");
                }
            }
        }
        Ok(())
    }

    /// Finishes or undoes checkouts left `pending` by a crash, then finishes line money
    /// steps (seller payment, refund) a crash interrupted; returns how many it resolved.
    /// Safe to run on several instances at once: each order or line is claimed first.
    pub async fn recover(&self) -> Result<usize, OrderError> {
        let now = self.clock.now();
        let stale = self.db.run(move |conn| repo::stale_pending(conn, now, 50)).await?;
        let mut resolved = 0;
        for order_id in stale {
            let until = now + self.recovery.after;
            if !self.db.tx(move |conn| repo::claim(conn, order_id, now, until)).await? {
                continue;
            }
            let (row, _) = self.load(order_id).await?;
            let outcome = if row.total == 0 {
                self.complete(order_id, None).await.map(|_| ())
            } else {
                self.abandon(order_id, "abandoned").await
            };
            match outcome {
                Ok(()) => {
                    resolved += 1;
                    tracing::warn!(order_id, "recovered a stale checkout");
                }
                Err(e) => tracing::warn!(order_id, error = %e, "checkout recovery failed; will retry"),
            }
        }
        Ok(resolved + self.recover_money().await?)
    }

    /// One order as `viewer` sees it; 404 for someone else's.
    pub async fn order(&self, viewer: Viewer, order_id: OrderId) -> Result<Order, OrderError> {
        let order_id = order_id.get();
        self.load_view(order_id, viewer).await?.ok_or(OrderError::NotFound)
    }

    pub async fn buyer_orders(
        &self,
        buyer_id: AccountId,
        status: Option<OrderStatus>,
        page: PageRequest,
    ) -> Result<Page<Order>, OrderError> {
        let buyer_id = buyer_id.get();
        self.page(page, move |conn| repo::buyer_orders(conn, buyer_id, status, page), Viewer::Buyer(buyer_id)).await
    }

    /// Orders with this seller's lines: only those lines, and their sum as the total; with
    /// `line_status`, only orders where one of those lines is in it.
    pub async fn seller_orders(
        &self,
        seller_id: AccountId,
        status: Option<OrderStatus>,
        line_status: Option<LineStatus>,
        page: PageRequest,
    ) -> Result<Page<Order>, OrderError> {
        let seller_id = seller_id.get();
        self.page(
            page,
            move |conn| repo::seller_orders(conn, seller_id, status, line_status, page),
            Viewer::Seller(seller_id),
        )
        .await
    }

    async fn page<F>(&self, page: PageRequest, query: F, viewer: Viewer) -> Result<Page<Order>, OrderError>
    where
        F: Fn(&mut DbConn) -> Result<(Vec<OrderRow>, i64), platform::db::DbError> + Send + 'static,
    {
        let (orders, total) = self
            .db
            .run(move |conn| {
                let (rows, total) = query(conn)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let mut by_order: BTreeMap<i64, Vec<LineRow>> = BTreeMap::new();
                for line in repo::lines(conn, &ids)? {
                    by_order.entry(line.order_id).or_default().push(line);
                }
                let shipments = repo::shipments(conn, &ids)?;
                let orders = rows
                    .iter()
                    .filter_map(|row| view(row, by_order.remove(&row.id).unwrap_or_default(), &shipments, viewer))
                    .collect();
                Ok::<_, OrderError>((orders, total))
            })
            .await?;
        Ok(Page::new(orders, page, total))
    }
}

fn refusal_label(error: &OrderError) -> &'static str {
    match error {
        OrderError::CartEmpty => "cart_empty",
        OrderError::CartChanged(_) => "cart_changed",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_status_is_derived_from_its_lines() {
        let derive = |lines: [&str; 2]| derive_status(lines.map(|s| s.parse().unwrap_or(LineStatus::Paid))).as_str();
        assert_eq!(derive(["paid", "paid"]), "paid");
        assert_eq!(derive(["paid", "shipped"]), "in_progress");
        assert_eq!(derive(["paid", "cancelled"]), "in_progress");
        assert_eq!(derive(["cancelled", "refunded"]), "cancelled");
        assert_eq!(derive(["confirmed", "refunded"]), "completed");
        assert_eq!(derive(["confirmed", "return_requested"]), "in_progress");
    }

    #[test]
    fn the_fee_is_floored_basis_points_of_the_line_total() {
        assert_eq!(fee_for(1_999, 500), 99);
        assert_eq!(fee_for(19, 500), 0);
        assert_eq!(fee_for(100_000_000 * 1_000_000, 10_000), 100_000_000 * 1_000_000);
        assert_eq!(fee_for(1_000, 0), 0);
    }
}
