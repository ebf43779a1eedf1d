//! Commerce: the sellers' catalog, product search, the Redis-cached cart and the checkout
//! saga with order history. Talks to money only through `WalletService`.

pub mod cart;
pub mod catalog;
pub mod checkout;
mod error;
mod schema;
mod settings;

pub use cart::Carts;
pub use catalog::Catalog;
pub use checkout::{Order, Orders};
pub use error::OrderError;
pub use settings::OrderSettings;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "order",
    sqlite: embed_migrations!("../migrations/order/sqlite"),
    mysql: embed_migrations!("../migrations/order/mysql"),
};

/// Mounts catalog, cart and order routes under the caller's scope.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    catalog::http::configure(cfg);
    cart::http::configure(cfg);
    checkout::http::configure(cfg);
}
