//! Money: wallets, the double-entry ledger behind `WalletService` (keyed, exactly-once
//! transfers and their fences), and point charges through a payment gateway (an instant
//! sandbox, or Toss Payments).
//!
//! - Tables (`migrations/payment/`): `wallets` (one per `account:`, `escrow:` or `system:`
//!   key), `transfers` (one row per applied or cancelled idempotency key), `ledger_entries`
//!   (two signed entries per transfer), `charges`.
//! - Endpoints: `/api/v1/wallet`, `/wallet/entries`, `/wallet/charges`,
//!   `/wallet/charges/{id}`, `/wallet/charges/{id}/confirm` ([`http::configure`]).
//! - Workers: [`Charges::reconcile`], run periodically by `app`
//!   (`payment.reconcile_interval_ms`), settles charges whose outcome is unknown.
//! - Never: change a balance except by a keyed transfer (a transfer row plus two entries in
//!   one transaction), let an account or escrow wallet go below zero, or credit a charge
//!   twice. The sum of all balances, system wallets included, is always 0.

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
