//! Reconciling a cart with the catalog: pure, so every rule is unit-tested.

use std::collections::HashMap;

/// A cart line as stored: the price is the one the buyer was last shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub item_id: i64,
    pub product_id: i64,
    pub quantity: i64,
    pub unit_price: i64,
}

/// What the catalog says about an item now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    pub product_id: i64,
    pub seller_id: i64,
    pub product_name: String,
    pub item_name: String,
    pub product_live: bool,
    pub item_live: bool,
    pub price: i64,
    /// Available: `stock − reserved`.
    pub stock: i64,
}

impl ItemState {
    pub fn label(&self) -> String {
        format!("“{} – {}”", self.product_name, self.item_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Remove { item_id: i64, message: String },
    Reprice { item_id: i64, price: i64, message: String },
    Lower { item_id: i64, quantity: i64, message: String },
}

impl Change {
    pub fn message(&self) -> &str {
        match self {
            Change::Remove { message, .. } | Change::Reprice { message, .. } | Change::Lower { message, .. } => message,
        }
    }
}

/// Whether quantities above stock are lowered (reading the cart) or left for checkout to
/// refuse as `out_of_stock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Checkout,
}

/// The changes that bring `lines` in line with the catalog, one message each.
pub fn reconcile(lines: &[Line], catalog: &HashMap<i64, ItemState>, mode: Mode) -> Vec<Change> {
    let mut changes = Vec::new();
    for line in lines {
        let Some(state) = catalog.get(&line.item_id).filter(|s| s.product_id == line.product_id) else {
            changes.push(Change::Remove {
                item_id: line.item_id,
                message: "An item in your cart is no longer sold and was removed.".into(),
            });
            continue;
        };
        if !state.product_live || !state.item_live {
            changes.push(Change::Remove {
                item_id: line.item_id,
                message: format!("{} is no longer sold and was removed from your cart.", state.label()),
            });
            continue;
        }
        if mode == Mode::Read && line.quantity > state.stock {
            if state.stock == 0 {
                changes.push(Change::Remove {
                    item_id: line.item_id,
                    message: format!("{} is sold out and was removed from your cart.", state.label()),
                });
                continue;
            }
            changes.push(Change::Lower {
                item_id: line.item_id,
                quantity: state.stock,
                message: format!(
                    "Only {} of {} left: the quantity went from {} to {}.",
                    state.stock,
                    state.label(),
                    line.quantity,
                    state.stock
                ),
            });
        }
        if state.price != line.unit_price {
            changes.push(Change::Reprice {
                item_id: line.item_id,
                price: state.price,
                message: format!(
                    "The price of {} changed from {} to {} points.",
                    state.label(),
                    line.unit_price,
                    state.price
                ),
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(item_id: i64, quantity: i64, unit_price: i64) -> Line {
        Line { item_id, product_id: 1, quantity, unit_price }
    }

    fn state(price: i64, stock: i64) -> ItemState {
        ItemState {
            product_id: 1,
            seller_id: 9,
            product_name: "Mug".into(),
            item_name: "Blue".into(),
            product_live: true,
            item_live: true,
            price,
            stock,
        }
    }

    #[test]
    fn an_unchanged_cart_has_no_changes() {
        let catalog = HashMap::from([(10, state(500, 5))]);
        assert!(reconcile(&[line(10, 2, 500)], &catalog, Mode::Read).is_empty());
    }

    #[test]
    fn deleted_products_and_items_are_removed() {
        let mut gone = state(500, 5);
        gone.product_live = false;
        let mut item_gone = state(500, 5);
        item_gone.item_live = false;
        let catalog = HashMap::from([(10, gone), (11, item_gone)]);
        let changes = reconcile(&[line(10, 1, 500), line(11, 1, 500), line(12, 1, 1)], &catalog, Mode::Read);
        assert!(changes.iter().all(|c| matches!(c, Change::Remove { .. })));
        assert_eq!(changes.len(), 3);
        assert!(changes[0].message().contains("Mug – Blue"));
    }

    #[test]
    fn price_changes_are_reported_with_both_prices() {
        let catalog = HashMap::from([(10, state(700, 5))]);
        let changes = reconcile(&[line(10, 1, 500)], &catalog, Mode::Read);
        assert_eq!(changes.len(), 1);
        assert!(matches!(&changes[0], Change::Reprice { price: 700, message, .. } if message.contains("500 to 700")));
    }

    #[test]
    fn quantities_above_stock_are_lowered_or_removed_when_reading() {
        let catalog = HashMap::from([(10, state(500, 3)), (11, state(500, 0))]);
        let changes = reconcile(&[line(10, 5, 500), line(11, 1, 500)], &catalog, Mode::Read);
        assert!(matches!(changes[0], Change::Lower { quantity: 3, .. }));
        assert!(matches!(changes[1], Change::Remove { item_id: 11, .. }));
    }

    #[test]
    fn checkout_leaves_stock_shortages_to_the_reservation() {
        let catalog = HashMap::from([(10, state(500, 0))]);
        assert!(reconcile(&[line(10, 5, 500)], &catalog, Mode::Checkout).is_empty());
    }
}
