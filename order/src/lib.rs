//! Commerce: the sellers' catalog, product search, the cached cart and the checkout saga
//! with order history. Implements `CatalogService` and `CartService`; moves money only
//! through `WalletService`.
//!
//! - Tables (`migrations/order/`): `products`, `product_items`, `product_search_terms` (the
//!   word-prefix search index), `carts`, `cart_lines`, `cart_notices`, `orders` (checkout
//!   sagas; the client's key), `order_lines` (snapshots).
//! - Endpoints: `/api/v1/seller/products…`, `/products`, `/products/{id}` ([`catalog`]),
//!   `/cart…` ([`cart`]), `/orders`, `/orders/{id}`, `/seller/orders` ([`checkout`]);
//!   mounted together by [`configure`].
//! - Workers: [`Orders::recover`], run periodically by `app` (`order.recovery_interval_ms`),
//!   finishes or undoes checkouts left `pending` by a crash.
//! - Never: call the wallet inside one of its own transactions, move money without a keyed
//!   transfer, or take stock except with a conditional update (no oversell).

pub mod cart;
pub mod catalog;
pub mod checkout;
mod error;
mod schema;
mod settings;

pub use cart::Carts;
pub use catalog::Catalog;
pub use checkout::lifecycle::Action;
pub use checkout::{LifecycleSettings, Order, Orders, RecoverySettings, Viewer};
pub use error::OrderError;
pub use settings::OrderSettings;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

/// The order module's outbox (its `order.*` events, [`contracts::order`]).
pub const OUTBOX_TABLE: &str = "order_outbox";

pub const MIGRATIONS: Migrations = Migrations {
    module: "order",
    sqlite: embed_migrations!("../migrations/order/sqlite"),
    mysql: embed_migrations!("../migrations/order/mysql"),
    outbox: Some(OUTBOX_TABLE),
};

/// Mounts catalog, cart and order routes under the caller's scope.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    catalog::http::configure(cfg);
    cart::http::configure(cfg);
    checkout::http::configure(cfg);
}
