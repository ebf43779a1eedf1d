//! Carts: stored in the database (the truth) and cached per customer (Redis, or in-process),
//! written through with a version so a slow writer never replaces newer data. A cache that
//! is down costs nothing but speed: every path falls back to the database.

pub mod http;
pub(crate) mod reconcile;
pub(crate) mod repo;

use crate::error::OrderError;
use async_trait::async_trait;
use contracts::AccountId;
use contracts::ServiceError;
use contracts::catalog::{CartService, CartSummary};
use platform::cache::SharedCache;
use platform::clock::SharedClock;
use platform::db::{Db, DbConn};
use platform::hotcache::HotCache;
pub(crate) use reconcile::Line;
use reconcile::{Change, ItemState, Mode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// Most distinct items a cart may hold.
pub const MAX_LINES: usize = 100;
/// Largest quantity of one item.
pub const MAX_QUANTITY: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartItem {
    pub product_id: i64,
    pub item_id: i64,
    pub product_name: String,
    pub item_name: String,
    pub price: i64,
    pub quantity: i64,
    pub line_total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartView {
    pub items: Vec<CartItem>,
    pub total: i64,
    /// What changed since the cart was last shown; each message is returned once.
    pub messages: Vec<String>,
}

/// The cached form of a cart.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    lines: Vec<Line>,
    pending_notices: bool,
}

/// A change a customer asks for.
#[derive(Debug, Clone, Copy)]
pub enum CartEdit {
    None,
    Add { product_id: i64, item_id: i64, quantity: i64 },
    SetQuantity { item_id: i64, quantity: i64 },
    Remove { item_id: i64 },
    Clear,
}

pub struct Carts {
    db: Db,
    cache: SharedCache,
    clock: SharedClock,
    ttl: Duration,
    /// Rendered carts (`c:{buyer}`, tagged with their products' `p:{id}`).
    hot: Arc<HotCache>,
}

fn cache_key(buyer_id: i64) -> String {
    format!("cart:{buyer_id}")
}

/// The in-process cache key of a buyer's rendered cart.
fn hot_key(buyer_id: i64) -> String {
    format!("c:{buyer_id}")
}

/// Applies reconciliation changes to the stored lines and records one notice each.
fn apply_changes(
    conn: &mut DbConn,
    buyer_id: i64,
    lines: &mut Vec<Line>,
    changes: &[Change],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), OrderError> {
    for change in changes {
        match change {
            Change::Remove { item_id, .. } => {
                repo::delete_line(conn, buyer_id, *item_id)?;
                lines.retain(|l| l.item_id != *item_id);
            }
            Change::Reprice { item_id, price, .. } => {
                if let Some(line) = lines.iter_mut().find(|l| l.item_id == *item_id) {
                    line.unit_price = *price;
                    repo::upsert_line(conn, buyer_id, line, now)?;
                }
            }
            Change::Lower { item_id, quantity, .. } => {
                if let Some(line) = lines.iter_mut().find(|l| l.item_id == *item_id) {
                    line.quantity = *quantity;
                    repo::upsert_line(conn, buyer_id, line, now)?;
                }
            }
        }
        repo::add_notice(conn, buyer_id, change.message(), now)?;
    }
    Ok(())
}

/// A cart as checkout sees it, already reconciled with the catalog inside the caller's
/// transaction (every change recorded as a notice).
pub(crate) struct CheckoutCart {
    pub lines: Vec<Line>,
    pub states: HashMap<i64, ItemState>,
    /// Notices the buyer has not seen yet: checkout refuses while there are any.
    pub notices: Vec<String>,
}

/// Takes the buyer's cart row for the caller's transaction (bumping its version, creating
/// it on first use), so a concurrent edit or checkout of the same cart waits. Reads
/// nothing (see [`repo::touch_version`]).
pub(crate) fn lock(conn: &mut DbConn, buyer_id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<(), OrderError> {
    Ok(repo::touch_version(conn, buyer_id, now)?)
}

/// Bumps the cart's version again and returns it (a change to cache once committed).
pub(crate) fn bump(conn: &mut DbConn, buyer_id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<i64, OrderError> {
    Ok(repo::bump_version(conn, buyer_id, now)?)
}

/// Reconciles the cart for checkout: removes and reprices what the catalog no longer sells
/// as shown, but leaves quantities above stock for checkout to refuse as `out_of_stock`.
pub(crate) fn reconcile_for_checkout(
    conn: &mut DbConn,
    buyer_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CheckoutCart, OrderError> {
    let mut lines = repo::lines(conn, buyer_id)?;
    let ids: Vec<i64> = lines.iter().map(|l| l.item_id).collect();
    let states = repo::item_states(conn, &ids)?;
    let changes = reconcile::reconcile(&lines, &states, Mode::Checkout);
    apply_changes(conn, buyer_id, &mut lines, &changes, now)?;
    let notices = repo::notices(conn, buyer_id)?.into_iter().map(|(_, m)| m).collect();
    Ok(CheckoutCart { lines, states, notices })
}

/// Drops the lines an order bought from the buyer's cart.
pub(crate) fn remove_bought(
    conn: &mut DbConn,
    buyer_id: i64,
    item_ids: impl IntoIterator<Item = i64>,
) -> Result<(), OrderError> {
    for item_id in item_ids {
        repo::delete_line(conn, buyer_id, item_id)?;
    }
    Ok(())
}

/// The cart after the caller's change: its new version and lines, to cache once committed.
pub(crate) fn after_change(
    conn: &mut DbConn,
    buyer_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(i64, Vec<Line>), OrderError> {
    let version = repo::bump_version(conn, buyer_id, now)?;
    Ok((version, repo::lines(conn, buyer_id)?))
}

/// Whether the cart has notices the buyer has not seen yet.
pub(crate) fn has_notices(conn: &mut DbConn, buyer_id: i64) -> Result<bool, OrderError> {
    Ok(!repo::notices(conn, buyer_id)?.is_empty())
}

pub(crate) fn build_view(lines: &[Line], states: &HashMap<i64, ItemState>, messages: Vec<String>) -> CartView {
    let items: Vec<CartItem> = lines
        .iter()
        .filter_map(|line| {
            let state = states.get(&line.item_id)?;
            Some(CartItem {
                product_id: line.product_id,
                item_id: line.item_id,
                product_name: state.product_name.clone(),
                item_name: state.item_name.clone(),
                price: line.unit_price,
                quantity: line.quantity,
                line_total: line.unit_price * line.quantity,
            })
        })
        .collect();
    let total = items.iter().map(|i| i.line_total).sum();
    CartView { items, total, messages }
}

fn summarize(lines: &[Line]) -> CartSummary {
    CartSummary {
        lines: lines.len() as i64,
        quantity: lines.iter().map(|l| l.quantity).sum(),
        total: lines.iter().map(|l| l.unit_price * l.quantity).sum(),
    }
}

impl Carts {
    pub fn new(db: Db, cache: SharedCache, clock: SharedClock, ttl: Duration, hot: Arc<HotCache>) -> Self {
        Carts { db, cache, clock, ttl, hot }
    }

    pub(crate) fn hot(&self) -> &HotCache {
        &self.hot
    }

    /// After a committed change of the buyer's cart: caches the new state and drops the
    /// rendered cart on every instance.
    pub(crate) async fn changed(&self, buyer_id: i64, version: i64, lines: Vec<Line>, pending_notices: bool) {
        self.remember(buyer_id, version, lines, pending_notices).await;
        self.hot.invalidate(&[hot_key(buyer_id)]).await;
    }

    /// Writes a cart state to the cache; on failure drops the entry so nothing stale stays.
    pub(crate) async fn remember(&self, buyer_id: i64, version: i64, lines: Vec<Line>, pending_notices: bool) {
        let key = cache_key(buyer_id);
        let value = match serde_json::to_string(&Cached { lines, pending_notices }) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cart not cacheable");
                return;
            }
        };
        if let Err(e) = self.cache.set_versioned(&key, version, &value, self.ttl).await {
            tracing::debug!(error = %e, "cart cache write failed");
            let _ = self.cache.delete(&key).await;
        }
    }

    async fn cached(&self, buyer_id: i64) -> Option<Cached> {
        match self.cache.get_versioned(&cache_key(buyer_id)).await {
            Ok(Some((_, json))) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(error = %e, "cart cache read failed; using the database");
                None
            }
        }
    }

    /// The reconciled cart. Fast path: cached lines plus one catalog lookup when nothing
    /// changed; otherwise the full transaction.
    pub async fn view(&self, buyer_id: AccountId) -> Result<CartView, OrderError> {
        let buyer_id = buyer_id.get();
        if let Some(cached) = self.cached(buyer_id).await.filter(|c| !c.pending_notices) {
            let lines = cached.lines;
            let ids: Vec<i64> = lines.iter().map(|l| l.item_id).collect();
            let states = self.db.run(move |conn| repo::item_states(conn, &ids)).await?;
            if reconcile::reconcile(&lines, &states, Mode::Read).is_empty() {
                metrics::counter!("cart_reads_total", "source" => "cache").increment(1);
                return Ok(build_view(&lines, &states, Vec::new()));
            }
        }
        metrics::counter!("cart_reads_total", "source" => "database").increment(1);
        self.edit(buyer_id.into(), CartEdit::None).await
    }

    /// [`Carts::view`] as the JSON the API answers, from memory when this instance may
    /// trust it (see `platform::hotcache`). Only a cart without messages is kept: messages
    /// are shown once.
    pub async fn view_json(&self, buyer_id: AccountId) -> Result<actix_web::web::Bytes, OrderError> {
        let buyer_id = buyer_id.get();
        let key = hot_key(buyer_id);
        if let Some(hit) = self.hot.get(&key) {
            metrics::counter!("cart_reads_total", "source" => "memory").increment(1);
            return Ok(hit);
        }
        let ticket = self.hot.ticket();
        let view = self.view(buyer_id.into()).await?;
        let body = actix_web::web::Bytes::from(
            serde_json::to_vec(&view).map_err(|e| OrderError::Internal(anyhow::anyhow!("cart json: {e}")))?,
        );
        if view.messages.is_empty() {
            let tags = view.items.iter().map(|i| crate::catalog::product_key(i.product_id)).collect();
            self.hot.put(ticket, &key, tags, body.clone());
        }
        Ok(body)
    }

    /// Reconciles, applies `edit`, and answers the cart with its pending messages.
    pub async fn edit(&self, buyer_id: AccountId, edit: CartEdit) -> Result<CartView, OrderError> {
        let buyer_id = buyer_id.get();
        let now = self.clock.now();
        let (view, version, lines) = self
            .db
            .tx(move |conn| {
                // The cart's row first, as every writer of its lines does (one lock order), and
                // before any read: on MySQL the first plain read fixes the snapshot, which must
                // show what a concurrent writer of this cart committed before us.
                repo::touch_version(conn, buyer_id, now)?;
                let mut lines = repo::lines(conn, buyer_id)?;
                let mut ids: Vec<i64> = lines.iter().map(|l| l.item_id).collect();
                if let CartEdit::Add { item_id, .. } = edit {
                    ids.push(item_id);
                }
                let states = repo::item_states(conn, &ids)?;
                let changes = reconcile::reconcile(&lines, &states, Mode::Read);
                apply_changes(conn, buyer_id, &mut lines, &changes, now)?;
                apply_edit(conn, buyer_id, &lines, &states, edit, now)?;
                let lines = repo::lines(conn, buyer_id)?;
                let messages = repo::take_notices(conn, buyer_id)?;
                let version = repo::version(conn, buyer_id)?;
                Ok::<_, OrderError>((build_view(&lines, &states, messages), version, lines))
            })
            .await?;
        self.changed(buyer_id, version, lines, false).await;
        Ok(view)
    }
}

fn apply_edit(
    conn: &mut DbConn,
    buyer_id: i64,
    lines: &[Line],
    states: &HashMap<i64, ItemState>,
    edit: CartEdit,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), OrderError> {
    let live = |item_id: i64| states.get(&item_id).filter(|s| s.product_live && s.item_live);
    match edit {
        CartEdit::None => {}
        CartEdit::Add { product_id, item_id, quantity } => {
            let state = live(item_id).filter(|s| s.product_id == product_id).ok_or(OrderError::NotFound)?;
            let existing = lines.iter().find(|l| l.item_id == item_id);
            if existing.is_none() && lines.len() >= MAX_LINES {
                return Err(OrderError::Invalid {
                    field: "item_id",
                    message: format!("a cart holds at most {MAX_LINES} items"),
                });
            }
            let wanted = existing.map_or(0, |l| l.quantity) + quantity;
            if wanted > MAX_QUANTITY {
                return Err(OrderError::Invalid {
                    field: "quantity",
                    message: format!("at most {MAX_QUANTITY} of one item"),
                });
            }
            if wanted > state.stock {
                return Err(OrderError::OutOfStock(state.label()));
            }
            let line = Line { item_id, product_id, quantity: wanted, unit_price: state.price };
            match existing {
                Some(_) => repo::upsert_line(conn, buyer_id, &line, now)?,
                // Read under the cart's lock: nobody else adds it meanwhile.
                None => repo::insert_line(conn, buyer_id, &line, now)?,
            }
        }
        CartEdit::SetQuantity { item_id, quantity } => {
            let line = lines.iter().find(|l| l.item_id == item_id).ok_or(OrderError::NotFound)?;
            if quantity == 0 {
                repo::delete_line(conn, buyer_id, item_id)?;
                return Ok(());
            }
            let state = live(item_id).ok_or(OrderError::NotFound)?;
            if quantity > state.stock {
                return Err(OrderError::OutOfStock(state.label()));
            }
            repo::upsert_line(conn, buyer_id, &Line { quantity, ..line.clone() }, now)?;
        }
        CartEdit::Remove { item_id } => {
            if repo::delete_line(conn, buyer_id, item_id)? == 0 {
                return Err(OrderError::NotFound);
            }
        }
        CartEdit::Clear => repo::delete_all(conn, buyer_id)?,
    }
    Ok(())
}

#[async_trait]
impl CartService for Carts {
    /// From `GET /cart`'s entry in memory when there is one (a cart without messages, whose
    /// lines are at the prices shown), else from the cached lines, else the database.
    async fn cart_summary(&self, buyer_id: i64) -> Result<CartSummary, ServiceError> {
        if let Some(hit) = self.hot.get(&hot_key(buyer_id))
            && let Ok(view) = serde_json::from_slice::<CartView>(&hit)
        {
            return Ok(CartSummary {
                lines: view.items.len() as i64,
                quantity: view.items.iter().map(|i| i.quantity).sum(),
                total: view.total,
            });
        }
        if let Some(cached) = self.cached(buyer_id).await {
            return Ok(summarize(&cached.lines));
        }
        let (version, lines, pending) = self
            .db
            .run(move |conn| {
                let version = repo::version(conn, buyer_id)?;
                let lines = repo::lines(conn, buyer_id)?;
                let pending = has_notices(conn, buyer_id)?;
                Ok::<_, OrderError>((version, lines, pending))
            })
            .await
            .map_err(|e| match e {
                OrderError::Db(db) => ServiceError::from(db),
                other => ServiceError::Internal(other.to_string()),
            })?;
        let summary = summarize(&lines);
        self.remember(buyer_id, version, lines, pending).await;
        Ok(summary)
    }
}
