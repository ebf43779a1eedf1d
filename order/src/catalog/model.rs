use chrono::{DateTime, Utc};
use platform::http::Validator;
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

/// A validated item to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub name: String,
    pub price: i64,
    pub stock: i64,
}

/// Checks a name (trimmed, 1..=100 characters) and returns it trimmed.
pub fn check_name(v: &mut Validator, field: &str, raw: &str) -> String {
    let name = raw.trim().to_string();
    v.length(&name, field, 1, 100);
    v.check(!name.chars().any(char::is_control), field, "must not contain control characters");
    name
}

pub fn check_price(v: &mut Validator, field: &str, price: i64) {
    v.check((0..=MAX_PRICE).contains(&price), field, "must be between 0 and 100000000");
}

pub fn check_stock(v: &mut Validator, field: &str, stock: i64) {
    v.check((0..=MAX_STOCK).contains(&stock), field, "must be between 0 and 1000000");
}

pub fn check_description(v: &mut Validator, raw: &str) -> String {
    let description = raw.trim().to_string();
    v.length(&description, "description", 0, 5000);
    description
}

/// The key that makes names unique (case-insensitive).
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}
