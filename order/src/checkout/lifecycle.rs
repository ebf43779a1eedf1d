//! The order line lifecycle after checkout (API.md "Line status", "Money per line"):
//!
//! - each transition is one `order` transaction on the locked order: conditional updates of
//!   the lines (`… WHERE status IN (from)`), the stock effect (release, ship, restock), the
//!   derived order status, one outbox event per line, and — when money must move — the
//!   line's `money_due` step (`sale` or `refund`) with a retry time;
//! - after commit the money step runs through the wallet contract with keys per line and
//!   step (`order:{id}:line:{item}:sale|fee|refund`), then `money_due` is cleared. A crash in
//!   between leaves `money_due` set: [`Orders::recover`] repeats the keyed transfers, which
//!   move money at most once, and clears it. So each line's money moves exactly once.
//! - the auto-confirmation worker ([`Orders::auto_confirm`]) confirms shipped lines whose
//!   `auto_confirm_at` has passed, re-checking it under the order's lock so several
//!   instances never confirm a line twice.

use super::repo::{self, LineChange, LineRow, OrderRow};
use super::{LineStatus, MoneyStep, Order, Orders, Viewer, derive_status, escrow, line_ref};
use crate::error::OrderError;
use chrono::{DateTime, Utc};
use contracts::order::{
    OrderActor, OrderCancelled, OrderRefunded, OrderShipped, ReturnRejected, ReturnRequested, SaleConfirmed,
};
use contracts::wallet::{EntryKind, TransferRequest, WalletRef};
use contracts::{ItemId, OrderId};
use platform::clock::to_db;
use platform::db::DbConn;
use platform::outbox::Outbox;

/// A transition of order lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Buyer or seller, before shipping.
    Cancel {
        reason: Option<String>,
    },
    /// Buyer, or the auto-confirmation worker.
    Confirm,
    RequestReturn {
        reason: String,
    },
    Ship {
        carrier: String,
        tracking_number: String,
    },
    AcceptReturn {
        restock: bool,
    },
    RejectReturn {
        reason: String,
    },
    /// Admin: any line not final.
    Refund {
        reason: String,
    },
}

impl Action {
    fn from(&self) -> &'static [LineStatus] {
        use LineStatus::*;
        match self {
            Action::Cancel { .. } | Action::Ship { .. } => &[Paid],
            Action::Confirm | Action::RequestReturn { .. } => &[Shipped],
            Action::AcceptReturn { .. } | Action::RejectReturn { .. } => &[ReturnRequested],
            Action::Refund { .. } => &[Paid, Shipped, ReturnRequested],
        }
    }

    fn to(&self) -> LineStatus {
        match self {
            Action::Cancel { .. } => LineStatus::Cancelled,
            Action::Confirm => LineStatus::Confirmed,
            Action::RequestReturn { .. } => LineStatus::ReturnRequested,
            Action::Ship { .. } | Action::RejectReturn { .. } => LineStatus::Shipped,
            Action::AcceptReturn { .. } | Action::Refund { .. } => LineStatus::Refunded,
        }
    }

    /// Who may do it: the buyer's, the seller's or the admin's routes.
    fn allowed(&self, actor: OrderActor) -> bool {
        match self {
            Action::Cancel { .. } => matches!(actor, OrderActor::Buyer | OrderActor::Seller),
            Action::Confirm => matches!(actor, OrderActor::Buyer | OrderActor::System),
            Action::RequestReturn { .. } => actor == OrderActor::Buyer,
            Action::Ship { .. } | Action::AcceptReturn { .. } | Action::RejectReturn { .. } => {
                actor == OrderActor::Seller
            }
            Action::Refund { .. } => actor == OrderActor::Admin,
        }
    }
}

fn actor_of(viewer: Viewer) -> OrderActor {
    match viewer {
        Viewer::Buyer(_) => OrderActor::Buyer,
        Viewer::Seller(_) => OrderActor::Seller,
        Viewer::Admin => OrderActor::Admin,
    }
}

struct Ctx<'a> {
    outbox: &'a Outbox,
    now: DateTime<Utc>,
    retry_at: DateTime<Utc>,
    auto_confirm_at: DateTime<Utc>,
}

/// Applies `action` to one line that is in one of its `from` states (checked by the
/// conditional update); returns whether the line now owes a money step.
fn apply(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    order: &OrderRow,
    line: &LineRow,
    action: &Action,
    actor: OrderActor,
) -> Result<bool, OrderError> {
    let now = to_db(ctx.now);
    let mut change = LineChange { status: Some(action.to().as_str()), updated_at: Some(now), ..Default::default() };
    let owes = match action {
        Action::Cancel { .. } => Some(MoneyStep::Refund),
        Action::Confirm => {
            change.auto_confirm_at = Some(None);
            Some(MoneyStep::Sale)
        }
        Action::RequestReturn { .. } => {
            // The auto-confirm clock stops while the seller decides.
            change.auto_confirm_at = Some(None);
            None
        }
        Action::Ship { carrier, tracking_number } => {
            repo::insert_shipment(
                conn,
                &repo::ShipmentRow {
                    order_id: order.id,
                    item_id: line.item_id,
                    carrier: carrier.clone(),
                    tracking_number: tracking_number.clone(),
                    shipped_at: now,
                },
            )?;
            change.auto_confirm_at = Some(Some(to_db(ctx.auto_confirm_at)));
            None
        }
        Action::RejectReturn { .. } => {
            change.auto_confirm_at = Some(Some(to_db(ctx.auto_confirm_at)));
            None
        }
        Action::AcceptReturn { .. } => Some(MoneyStep::Refund),
        Action::Refund { .. } => {
            change.auto_confirm_at = Some(None);
            Some(MoneyStep::Refund)
        }
    };
    if let Some(step) = owes.filter(|_| line.line_total() > 0) {
        change.money_due = Some(Some(step.as_str()));
        change.money_retry_at = Some(Some(to_db(ctx.retry_at)));
    }
    if !repo::transition_line(conn, order.id, line.item_id, action.from(), &change)? {
        // The order is locked: the line was read in this transaction, so this is a bug.
        return Err(OrderError::InvalidState { item_id: line.item_id, status: line.status });
    }
    // Stock follows the line.
    let (item, q, t) = (line.item_id, line.quantity, ctx.now);
    match action {
        Action::Cancel { .. } => repo::release(conn, item, q, t)?,
        Action::Ship { .. } => repo::take_off_shelf(conn, item, q, t)?,
        Action::AcceptReturn { restock: true } => repo::restock(conn, item, q, t)?,
        Action::Refund { .. } if line.status == LineStatus::Paid => repo::release(conn, item, q, t)?,
        _ => {}
    }
    let line_ref = contracts::order::LineRef { version: line.version + 1, ..line_ref(order, line) };
    let total = line.line_total();
    let (outbox, at) = (ctx.outbox, ctx.now);
    match action {
        Action::Cancel { reason } => outbox.publish(
            conn,
            at,
            &OrderCancelled { line: line_ref, by: actor, reason: reason.clone(), refunded: total },
        )?,
        Action::Confirm => outbox.publish(
            conn,
            at,
            &SaleConfirmed { line: line_ref, by: actor, fee: line.fee, net: total - line.fee },
        )?,
        Action::RequestReturn { reason } => {
            outbox.publish(conn, at, &ReturnRequested { line: line_ref, reason: reason.clone() })?
        }
        Action::Ship { carrier, tracking_number } => outbox.publish(
            conn,
            at,
            &OrderShipped { line: line_ref, carrier: carrier.clone(), tracking_number: tracking_number.clone() },
        )?,
        Action::RejectReturn { reason } => {
            outbox.publish(conn, at, &ReturnRejected { line: line_ref, reason: reason.clone() })?
        }
        Action::AcceptReturn { restock } => outbox.publish(
            conn,
            at,
            &OrderRefunded { line: line_ref, by: actor, reason: None, restocked: *restock, refunded: total },
        )?,
        Action::Refund { reason } => outbox.publish(
            conn,
            at,
            &OrderRefunded {
                line: line_ref,
                by: actor,
                reason: Some(reason.clone()),
                restocked: false,
                refunded: total,
            },
        )?,
    }
    Ok(change.money_due.is_some())
}

/// Re-derives and stores the order's status from its lines.
fn refresh_status(conn: &mut DbConn, order_id: i64, now: DateTime<Utc>) -> Result<(), OrderError> {
    let lines = repo::lines(conn, &[order_id])?;
    repo::set_status(conn, order_id, derive_status(lines.iter().map(|l| l.status)), now)?;
    Ok(())
}

impl Orders {
    fn ctx(&self) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
        let now = self.clock.now();
        (now, now + self.recovery.after, now + self.lifecycle.auto_confirm_after)
    }

    /// Applies `action` to the caller's lines `item_ids` (all that it applies to when
    /// `None`) of the order, as `viewer`; answers the order as the viewer sees it.
    #[tracing::instrument(skip(self))]
    pub async fn transition(
        &self,
        viewer: Viewer,
        order_id: OrderId,
        item_ids: Option<Vec<ItemId>>,
        action: Action,
    ) -> Result<Order, OrderError> {
        let order_id = order_id.get();
        let item_ids: Option<Vec<i64>> = item_ids.map(|ids| ids.into_iter().map(ItemId::get).collect());
        let actor = actor_of(viewer);
        if !action.allowed(actor) {
            return Err(OrderError::Internal(anyhow::anyhow!("{actor:?} may not {action:?}")));
        }
        let (now, retry_at, auto_confirm_at) = self.ctx();
        let outbox = self.outbox.clone();
        let to = action.to();
        let (owed, touched) = self
            .db
            .tx(move |conn| {
                let ctx = Ctx { outbox: &outbox, now, retry_at, auto_confirm_at };
                repo::lock_order(conn, order_id)?;
                let order = repo::find(conn, order_id)?.filter(OrderRow::placed).ok_or(OrderError::NotFound)?;
                let lines = repo::lines(conn, &[order_id])?;
                let mine: Vec<&LineRow> = match viewer {
                    Viewer::Buyer(id) if id != order.buyer_id => return Err(OrderError::NotFound),
                    Viewer::Seller(id) => lines.iter().filter(|l| l.seller_id == id).collect(),
                    _ => lines.iter().collect(),
                };
                if mine.is_empty() {
                    return Err(OrderError::NotFound);
                }
                let selected: Vec<&LineRow> = match &item_ids {
                    Some(ids) => {
                        let mut picked = Vec::new();
                        for id in ids {
                            let line = mine.iter().find(|l| l.item_id == *id).ok_or(OrderError::NotFound)?;
                            if !picked.iter().any(|l: &&LineRow| l.item_id == *id) {
                                picked.push(*line);
                            }
                        }
                        picked
                    }
                    None => {
                        let applicable: Vec<&LineRow> = mine
                            .iter()
                            .copied()
                            .filter(|l| action.from().contains(&l.status) || l.status == action.to())
                            .collect();
                        if applicable.is_empty() {
                            let first = mine[0];
                            return Err(OrderError::InvalidState { item_id: first.item_id, status: first.status });
                        }
                        applicable
                    }
                };
                let mut owed = Vec::new();
                // Products whose stock or reservation may have moved (their cached details go).
                let touched: Vec<i64> = selected.iter().map(|l| l.product_id).collect();
                for line in selected {
                    if line.status == action.to() {
                        continue; // already happened: idempotent by state
                    }
                    if !action.from().contains(&line.status) {
                        // Rolls back everything this request did.
                        return Err(OrderError::InvalidState { item_id: line.item_id, status: line.status });
                    }
                    if apply(conn, &ctx, &order, line, &action, actor)? {
                        owed.push(line.item_id);
                    }
                }
                refresh_status(conn, order_id, now)?;
                Ok::<_, OrderError>((owed, touched))
            })
            .await?;
        crate::catalog::stock_changed(self.carts.hot(), touched).await;
        self.outbox.wake();
        metrics::counter!("order_transitions_total", "to" => to.as_str()).increment(1);
        for item_id in owed {
            if let Err(e) = self.settle_line(order_id, item_id).await {
                // Committed: recovery finishes the money step.
                tracing::warn!(order_id, item_id, error = %e, "order line money step failed; recovery will finish it");
            }
        }
        self.order(viewer, order_id.into()).await
    }

    /// Runs a line's owed money step with its keyed transfers, then clears it.
    async fn settle_line(&self, order_id: i64, item_id: i64) -> Result<(), OrderError> {
        let (order, line) = self
            .db
            .run(move |conn| {
                let order = repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?;
                let line = repo::line(conn, order_id, item_id)?.ok_or(OrderError::NotFound)?;
                Ok::<_, OrderError>((order, line))
            })
            .await?;
        let Some(step) = line.money_due.as_deref() else { return Ok(()) };
        let step: MoneyStep = step.parse().map_err(|e| OrderError::Internal(anyhow::anyhow!("{e}")))?;
        let key = |leg: &str| format!("order:{order_id}:line:{item_id}:{leg}");
        let reference = format!("order:{order_id}");
        let total = line.line_total();
        let mut legs = Vec::new();
        match step {
            MoneyStep::Sale => {
                legs.push((WalletRef::Account(line.seller_id), total - line.fee, EntryKind::Sale, key("sale")));
                legs.push((WalletRef::System("fees".into()), line.fee, EntryKind::PlatformFee, key("fee")));
            }
            MoneyStep::Refund => {
                legs.push((WalletRef::Account(order.buyer_id), total, EntryKind::PurchaseRefund, key("refund")))
            }
        }
        for (to, amount, kind, idempotency_key) in legs.into_iter().filter(|l| l.1 > 0) {
            self.wallets
                .transfer(TransferRequest {
                    from: escrow(order_id),
                    to,
                    amount,
                    kind,
                    reference: reference.clone(),
                    idempotency_key,
                })
                .await?;
        }
        self.db.run(move |conn| repo::money_done(conn, order_id, item_id, step)).await?;
        Ok(())
    }

    /// Finishes money steps whose request died; returns how many lines it settled.
    pub(crate) async fn recover_money(&self) -> Result<usize, OrderError> {
        let now = self.clock.now();
        let due = self.db.run(move |conn| repo::money_due(conn, now, 200)).await?;
        let mut settled = 0;
        for (order_id, item_id) in due {
            let until = now + self.recovery.after;
            if !self.db.run(move |conn| repo::claim_money(conn, order_id, item_id, now, until)).await? {
                continue;
            }
            match self.settle_line(order_id, item_id).await {
                Ok(()) => {
                    settled += 1;
                    tracing::warn!(order_id, item_id, "finished an interrupted order line money step");
                }
                Err(e) => tracing::warn!(order_id, item_id, error = %e, "order line money step failed; will retry"),
            }
        }
        Ok(settled)
    }

    /// Confirms shipped lines whose `auto_confirm_at` has passed (up to `limit`); returns
    /// how many it confirmed. Several instances may run it at once: each line is re-checked
    /// under its order's lock and moved with a conditional update.
    pub async fn auto_confirm(&self, limit: i64) -> Result<usize, OrderError> {
        let now = self.clock.now();
        let due = self.db.run(move |conn| repo::due_confirmations(conn, now, limit)).await?;
        let mut confirmed = 0;
        for (order_id, item_id) in due {
            let (now, retry_at, auto_confirm_at) = self.ctx();
            let outbox = self.outbox.clone();
            let owed = self
                .db
                .tx(move |conn| {
                    let ctx = Ctx { outbox: &outbox, now, retry_at, auto_confirm_at };
                    repo::lock_order(conn, order_id)?;
                    if !repo::still_due(conn, order_id, item_id, now)? {
                        return Ok(None);
                    }
                    let order = repo::find(conn, order_id)?.ok_or(OrderError::NotFound)?;
                    let line = repo::line(conn, order_id, item_id)?.ok_or(OrderError::NotFound)?;
                    let owes = apply(conn, &ctx, &order, &line, &Action::Confirm, OrderActor::System)?;
                    refresh_status(conn, order_id, now)?;
                    Ok::<_, OrderError>(Some(owes))
                })
                .await?;
            let Some(owes) = owed else { continue };
            confirmed += 1;
            if owes && let Err(e) = self.settle_line(order_id, item_id).await {
                tracing::warn!(order_id, item_id, error = %e, "auto-confirmed line not paid yet; recovery will");
            }
        }
        if confirmed > 0 {
            self.outbox.wake();
            metrics::counter!("order_auto_confirmed_total").increment(confirmed as u64);
        }
        Ok(confirmed)
    }
}
