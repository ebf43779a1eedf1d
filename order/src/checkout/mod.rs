//! Checkout as a saga across two modules that cannot share a transaction:
//!
//! 1. one `order` transaction claims the client's key with a `pending` order, reconciles the
//!    cart, reserves stock with conditional updates and snapshots the lines;
//! 2. the buyer is debited into the order's escrow (`order:{id}:debit`);
//! 3. each seller is credited their lines from the escrow (`order:{id}:sale:{seller}`);
//! 4. one `order` transaction marks the order `paid` and empties the bought cart lines.
//!
//! Every transfer is keyed, so repeating a step moves nothing twice. A crash anywhere leaves a
//! `pending` order that the recovery sweep picks up once stale: it *cancels* the debit key
//! (a fence no late retry can cross); if the debit had already happened the order is
//! completed forward, otherwise it is failed and its stock restored. So every order ends
//! `paid` or without any effect.

pub mod http;
pub(crate) mod repo;

use crate::cart::reconcile::{self, Line, Mode};
use crate::cart::{self, Carts, repo as cart_repo};
use crate::error::OrderError;
use chrono::{DateTime, Duration, Utc};
use contracts::wallet::{CancelOutcome, EntryKind, TransferRequest, WalletError, WalletRef, WalletService};
use contracts::{Page, PageRequest};
use platform::clock::{SharedClock, from_db};
use platform::crypto::fingerprint;
use platform::db::{Db, DbConn};
use repo::{LineRow, OrderRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub product_id: i64,
    pub item_id: i64,
    pub seller_id: i64,
    pub product_name: String,
    pub item_name: String,
    pub price: i64,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: i64,
    pub buyer_id: i64,
    /// Always `paid`: failed and in-flight checkouts are not orders.
    pub status: String,
    pub total: i64,
    pub items: Vec<OrderLine>,
    pub created_at: DateTime<Utc>,
}

fn view(row: &OrderRow, lines: Vec<LineRow>) -> Order {
    Order {
        id: row.id,
        buyer_id: row.buyer_id,
        status: row.status.clone(),
        total: row.total,
        items: lines
            .into_iter()
            .map(|l| OrderLine {
                product_id: l.product_id,
                item_id: l.item_id,
                seller_id: l.seller_id,
                product_name: l.product_name,
                item_name: l.item_name,
                price: l.price,
                quantity: l.quantity,
            })
            .collect(),
        created_at: from_db(row.created_at),
    }
}

fn debit_key(order_id: i64) -> String {
    format!("order:{order_id}:debit")
}

fn escrow(order_id: i64) -> WalletRef {
    WalletRef::escrow(format!("order:{order_id}"))
}

/// What the reservation transaction decided.
enum Reservation {
    Reserved {
        order_id: i64,
        /// Whose stock was taken.
        products: Vec<i64>,
    },
    /// Refused, with the cart state to cache (reconciliation changes were kept).
    Refused { error: OrderError, version: i64, lines: Vec<Line>, pending: bool },
}

/// How long a `pending` order may take before recovery treats its request as dead, and how
/// often recovery looks.
#[derive(Debug, Clone, Copy)]
pub struct RecoverySettings {
    pub after: Duration,
}

pub struct Orders {
    db: Db,
    wallets: Arc<dyn WalletService>,
    carts: Arc<Carts>,
    clock: SharedClock,
    recovery: RecoverySettings,
}

impl Orders {
    pub fn new(
        db: Db,
        wallets: Arc<dyn WalletService>,
        carts: Arc<Carts>,
        clock: SharedClock,
        recovery: RecoverySettings,
    ) -> Self {
        Orders { db, wallets, carts, clock, recovery }
    }

    /// Checks out the buyer's whole cart. Replaying `key` with the same body returns the
    /// same order; a different body is `IdempotencyConflict`.
    #[tracing::instrument(skip(self, key))]
    pub async fn checkout(&self, buyer_id: i64, key: &str, expected_total: Option<i64>) -> Result<Order, OrderError> {
        let hash = fingerprint(&serde_json::json!({ "expected_total": expected_total }));
        if let Some(order) = self.replay(buyer_id, key, &hash).await? {
            return Ok(order);
        }
        let reservation = match self.reserve(buyer_id, key, &hash, expected_total).await {
            // The same key won a race with us: answer with its outcome.
            Err(OrderError::DuplicateKey) => {
                return self.replay(buyer_id, key, &hash).await?.ok_or(OrderError::InProgress);
            }
            other => other?,
        };
        match reservation {
            Reservation::Refused { error, version, lines, pending } => {
                self.carts.changed(buyer_id, version, lines, pending).await;
                metrics::counter!("checkout_refusals_total", "reason" => refusal_label(&error)).increment(1);
                Err(error)
            }
            Reservation::Reserved { order_id, products } => {
                crate::catalog::stock_changed(self.carts.hot(), products).await;
                self.settle(order_id).await
            }
        }
    }

    /// Waits (up to 5 s) for an order already holding `key` to finish.
    async fn replay(&self, buyer_id: i64, key: &str, hash: &str) -> Result<Option<Order>, OrderError> {
        for _ in 0..50 {
            let k = key.to_string();
            let row = self.db.run(move |conn| repo::find_by_client_key(conn, buyer_id, &k)).await?;
            match row {
                None => return Ok(None),
                Some(row) if row.request_hash != hash => return Err(OrderError::IdempotencyConflict),
                Some(row) if row.status == "paid" => return self.order(buyer_id, row.id).await.map(Some),
                Some(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        Err(OrderError::InProgress)
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
        let (key, hash) = (key.to_string(), hash.to_string());
        self.db
            .tx(move |conn| {
                // Claim the key first: a concurrent duplicate waits here, then replays.
                let order_id = repo::insert_pending(conn, buyer_id, &key, &hash, recover_after, now)?;
                let mut lines = cart_repo::lines(conn, buyer_id)?;
                let ids: Vec<i64> = lines.iter().map(|l| l.item_id).collect();
                let states = cart_repo::item_states(conn, &ids)?;
                let changes = reconcile::reconcile(&lines, &states, Mode::Checkout);
                cart::apply_changes(conn, buyer_id, &mut lines, &changes, now)?;
                let notices: Vec<String> = cart_repo::notices(conn, buyer_id)?.into_iter().map(|(_, m)| m).collect();
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
                    // Nothing is stored for a refusal: the key stays free.
                    repo::delete_order(conn, order_id)?;
                    let version = cart_repo::bump_version(conn, buyer_id, now)?;
                    return Ok(Reservation::Refused { error, version, lines, pending });
                }
                let mut sorted = lines.clone();
                sorted.sort_by_key(|l| l.item_id); // one lock order for every checkout: no deadlocks
                for line in &sorted {
                    let state = states.get(&line.item_id).ok_or(OrderError::NotFound)?;
                    if !repo::reserve(conn, line.item_id, line.quantity, now)? {
                        return Err(OrderError::OutOfStock(state.label()));
                    }
                }
                for line in &lines {
                    let state = states.get(&line.item_id).ok_or(OrderError::NotFound)?;
                    repo::insert_line(
                        conn,
                        &LineRow {
                            order_id,
                            product_id: line.product_id,
                            item_id: line.item_id,
                            seller_id: state.seller_id,
                            product_name: state.product_name.clone(),
                            item_name: state.item_name.clone(),
                            price: line.unit_price,
                            quantity: line.quantity,
                        },
                    )?;
                }
                repo::set_total(conn, order_id, total)?;
                Ok(Reservation::Reserved { order_id, products: lines.iter().map(|l| l.product_id).collect() })
            })
            .await
    }

    async fn load(&self, order_id: i64) -> Result<(OrderRow, Vec<LineRow>), OrderError> {
        self.db
            .run(move |conn| {
                let row = repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?;
                let lines = repo::lines(conn, &[order_id])?;
                Ok((row, lines))
            })
            .await
    }

    /// Moves the money of a reserved order and marks it paid.
    async fn settle(&self, order_id: i64) -> Result<Order, OrderError> {
        let (row, _) = self.load(order_id).await?;
        if row.total > 0 {
            let debit = TransferRequest {
                from: WalletRef::Account(row.buyer_id),
                to: escrow(order_id),
                amount: row.total,
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
                // Anything else leaves the order pending: recovery finishes or undoes it.
                Err(e) => return Err(e.into()),
            }
        }
        self.complete(order_id).await
    }

    /// Credits the sellers and marks the order paid (every step idempotent).
    async fn complete(&self, order_id: i64) -> Result<Order, OrderError> {
        let (row, lines) = self.load(order_id).await?;
        let mut per_seller: BTreeMap<i64, i64> = BTreeMap::new();
        for line in &lines {
            *per_seller.entry(line.seller_id).or_default() += line.price * line.quantity;
        }
        for (seller_id, amount) in per_seller.into_iter().filter(|(_, a)| *a > 0) {
            self.wallets
                .transfer(TransferRequest {
                    from: escrow(order_id),
                    to: WalletRef::Account(seller_id),
                    amount,
                    kind: EntryKind::Sale,
                    reference: format!("order:{order_id}"),
                    idempotency_key: format!("order:{order_id}:sale:{seller_id}"),
                })
                .await?;
        }
        let now = self.clock.now();
        let buyer_id = row.buyer_id;
        let bought: Vec<i64> = lines.iter().map(|l| l.item_id).collect();
        let (paid_now, version, cart_lines) = self
            .db
            .tx(move |conn| {
                let paid_now = repo::mark_paid(conn, order_id, now)?;
                if paid_now {
                    for item_id in &bought {
                        cart_repo::delete_line(conn, buyer_id, *item_id)?;
                    }
                }
                let version = cart_repo::bump_version(conn, buyer_id, now)?;
                Ok::<_, OrderError>((paid_now, version, cart_repo::lines(conn, buyer_id)?))
            })
            .await?;
        let pending = self.db.run(move |conn| has_notices(conn, buyer_id)).await?;
        self.carts.changed(buyer_id, version, cart_lines, pending).await;
        if paid_now {
            metrics::counter!("orders_paid_total").increment(1);
            tracing::info!(order_id, total = row.total, "order paid");
        }
        let (row, lines) = self.load(order_id).await?;
        if row.status != "paid" {
            return Err(OrderError::Internal(anyhow::anyhow!("order {order_id} is {} after completion", row.status)));
        }
        Ok(view(&row, lines))
    }

    /// Gives up on an order: fences the debit, then undoes the reservation — unless the
    /// debit turns out to have happened, in which case the order is completed instead.
    async fn abandon(&self, order_id: i64, reason: &str) -> Result<(), OrderError> {
        match self.wallets.cancel(&debit_key(order_id)).await? {
            CancelOutcome::AlreadyApplied(_) => {
                self.complete(order_id).await?;
            }
            CancelOutcome::Cancelled => {
                let now = self.clock.now();
                let reason = reason.to_string();
                let failed = self
                    .db
                    .tx(move |conn| {
                        let failed = repo::mark_failed(conn, order_id, &reason, now)?;
                        if failed {
                            repo::restore_stock(conn, order_id, now)?;
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

    /// Finishes or undoes orders left `pending` by a crash; returns how many it resolved.
    /// Safe to run on several instances at once: each order is claimed first.
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
                self.complete(order_id).await.map(|_| ())
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
        Ok(resolved)
    }

    /// A paid order of this buyer.
    pub async fn order(&self, buyer_id: i64, order_id: i64) -> Result<Order, OrderError> {
        let (row, lines) = self.load(order_id).await?;
        if row.buyer_id != buyer_id || row.status != "paid" {
            return Err(OrderError::NotFound);
        }
        Ok(view(&row, lines))
    }

    pub async fn buyer_orders(&self, buyer_id: i64, page: PageRequest) -> Result<Page<Order>, OrderError> {
        self.page(page, move |conn| repo::buyer_orders(conn, buyer_id, page), None).await
    }

    /// Orders with this seller's lines: only those lines, and their sum as the total.
    pub async fn seller_orders(&self, seller_id: i64, page: PageRequest) -> Result<Page<Order>, OrderError> {
        self.page(page, move |conn| repo::seller_orders(conn, seller_id, page), Some(seller_id)).await
    }

    async fn page<F>(&self, page: PageRequest, query: F, seller: Option<i64>) -> Result<Page<Order>, OrderError>
    where
        F: Fn(&mut DbConn) -> Result<(Vec<OrderRow>, i64), platform::db::DbError> + Send + 'static,
    {
        let (orders, total) = self
            .db
            .run(move |conn| {
                let (rows, total) = query(conn)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let mut by_order: BTreeMap<i64, Vec<LineRow>> = BTreeMap::new();
                for line in repo::lines(conn, &ids)?.into_iter().filter(|l| seller.is_none_or(|s| l.seller_id == s)) {
                    by_order.entry(line.order_id).or_default().push(line);
                }
                let orders = rows
                    .iter()
                    .map(|row| {
                        let lines = by_order.remove(&row.id).unwrap_or_default();
                        let mut order = view(row, lines);
                        if seller.is_some() {
                            order.total = order.items.iter().map(|i| i.price * i.quantity).sum();
                        }
                        order
                    })
                    .collect();
                Ok::<_, OrderError>((orders, total))
            })
            .await?;
        Ok(Page::new(orders, page, total))
    }
}

fn has_notices(conn: &mut DbConn, buyer_id: i64) -> Result<bool, OrderError> {
    Ok(!cart_repo::notices(conn, buyer_id)?.is_empty())
}

fn refusal_label(error: &OrderError) -> &'static str {
    match error {
        OrderError::CartEmpty => "cart_empty",
        OrderError::CartChanged(_) => "cart_changed",
        _ => "other",
    }
}
