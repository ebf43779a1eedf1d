//! Money: wallets, the double-entry ledger behind `WalletService` (keyed, exactly-once
//! transfers and their fences), and point charges through a payment gateway (an instant
//! sandbox, or Toss Payments).
//!
//! - Tables (`migrations/payment/`): `wallets` (one per `account:`, `escrow:` or `system:`
//!   key), `transfers` (one row per applied or cancelled idempotency key), `ledger_entries`
//!   (two signed entries per transfer), `charges`, `charge_refunds`, `payouts`, `payment_outbox`, `ledger_audit_sums` and
//!   `ledger_audit_state` (the incremental audit).
//! - Endpoints ([`configure`]): `/api/v1/wallet`, `/wallet/entries`, `/admin/ledger/audit`
//!   ([`http`]); `/wallet/charges`, `/wallet/charges/{id}`, `/wallet/charges/{id}/confirm`,
//!   `/wallet/charges/{id}/refund`, `/admin/charges` ([`charges::http`]); `/wallet/payouts`,
//!   `/wallet/payouts/{id}`, `/admin/payouts` ([`payouts::http`]); and `POST /webhooks/toss`
//!   ([`http::configure_webhooks`]).
//! - Workers: [`Charges::reconcile`], [`Charges::reconcile_refunds`] and
//!   [`Payouts::reconcile`], run periodically by `app` (`payment.reconcile_interval_ms`),
//!   settle charges, refunds and payouts whose outcome is unknown; [`Wallets::audit_pass`]
//!   (`payment.audit_interval_secs`) audits the ledger incrementally ([`audit`]).
//! - Events (outbox `payment_outbox`): `payment.charge_confirmed`, `payment.charge_refunded`,
//!   `payment.payout_paid`, `payment.payout_failed`.
//! - Never: change a balance except by a keyed transfer (a transfer row plus two entries in
//!   one transaction), let an account or escrow wallet go below zero, or credit a charge
//!   twice. The sum of all balances, system wallets included, is always 0.

pub mod audit;
pub mod charges;
mod error;
pub mod http;
mod ledger;
pub mod payouts;
pub mod retention;
mod schema;
mod settings;
mod wallets;

pub use charges::{Charges, gateway};
pub use payouts::Payouts;

/// The payment module's outbox (events `payment.*`, see `contracts::events::payment`).
pub const OUTBOX_TABLE: &str = "payment_outbox";
pub use audit::{AuditReport, LastAudit};
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
    outbox: Some(OUTBOX_TABLE),
};

/// Mounts the module's endpoints under `/api/v1` (the webhook is mounted at the root by
/// [`http::configure_webhooks`]).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    http::configure(cfg);
    charges::http::configure(cfg);
    payouts::http::configure(cfg);
}
