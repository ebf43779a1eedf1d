use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000;
pub const MAX_ITEMS_PER_PRODUCT: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub price: i64,
    /// On hand, as the seller set it.
    pub stock: i64,
    /// Held by pending checkouts and paid, unshipped order lines.
    pub reserved: i64,
    /// `stock − reserved`: what buyers can buy.
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub seller_id: i64,
    pub name: String,
    pub description: String,
    pub items: Vec<Item>,
    pub created_at: DateTime<Utc>,
    /// Hidden by moderation: only its seller still sees it (and this flag).
    pub hidden: bool,
}

/// Why a catalog input was refused: the problem `validation_failed` shows for its field
/// (the HTTP layer names the field, e.g. `items[0].price`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn length(value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let n = value.chars().count();
    if (min..=max).contains(&n) { Ok(()) } else { Err(Invalid(format!("must be {min} to {max} characters"))) }
}

/// A product or item name: trimmed, 1..=100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        length(name, 1, 100)?;
        if name.chars().any(char::is_control) {
            return Err(Invalid("must not contain control characters".into()));
        }
        Ok(ProductName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product description: trimmed, at most 5000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let description = raw.trim();
        length(description, 0, 5000)?;
        Ok(Description(description.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An item price in points: `0..=MAX_PRICE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn new(points: i64) -> Result<Self, Invalid> {
        if (0..=MAX_PRICE).contains(&points) {
            Ok(Price(points))
        } else {
            Err(Invalid("must be between 0 and 100000000".into()))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Units on hand as the seller sets them: `0..=MAX_STOCK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock(i64);

impl Stock {
    pub fn new(units: i64) -> Result<Self, Invalid> {
        if (0..=MAX_STOCK).contains(&units) {
            Ok(Stock(units))
        } else {
            Err(Invalid("must be between 0 and 1000000".into()))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// An item to create, every part parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub name: ProductName,
    pub price: Price,
    pub stock: Stock,
}

impl NewItem {
    /// For callers without per-field errors to report (the demo seed).
    pub fn parse(name: &str, price: i64, stock: i64) -> Result<Self, Invalid> {
        Ok(NewItem { name: ProductName::parse(name)?, price: Price::new(price)?, stock: Stock::new(stock)? })
    }
}

/// The key that makes names unique (case-insensitive).
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}
