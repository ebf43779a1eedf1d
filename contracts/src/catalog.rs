use crate::ServiceError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A product in lists and search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    pub id: i64,
    pub seller_id: i64,
    pub name: String,
    /// Cheapest live item; `null` for a product without items.
    pub min_price: Option<i64>,
    /// Whether any live item has stock.
    pub in_stock: bool,
}

/// A customer's cart at a glance (for the feed's cart row and quick buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct CartSummary {
    /// Distinct items.
    pub lines: i64,
    /// Sum of quantities.
    pub quantity: i64,
    /// At the prices the customer was last shown.
    pub total: i64,
}

#[async_trait]
pub trait CatalogService: Send + Sync {
    /// Live products, newest first.
    async fn newest_products(&self, limit: u32) -> Result<Vec<ProductSummary>, ServiceError>;
}

#[async_trait]
pub trait CartService: Send + Sync {
    /// Served from the cart cache when it can be; never fails for an empty or unknown cart.
    async fn cart_summary(&self, buyer_id: i64) -> Result<CartSummary, ServiceError>;
}
