//! Money: wallets, the double-entry ledger behind `WalletService`, and point charges through
//! a payment gateway (an instant sandbox, or Toss Payments).

pub mod charges;
mod error;
pub mod http;
mod ledger;
mod schema;
mod settings;
mod wallets;

pub use charges::{Charges, gateway};
pub use error::PaymentError;
pub use ledger::LedgerAudit;
pub use settings::{PaymentSettings, TossSettings};
pub use wallets::Wallets;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "payment",
    sqlite: embed_migrations!("../migrations/payment/sqlite"),
    mysql: embed_migrations!("../migrations/payment/mysql"),
};
