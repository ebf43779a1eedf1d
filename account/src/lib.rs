//! Identity: signup, email verification, login with per-account lock-out, JWT access tokens
//! and rotating refresh tokens (reuse revokes the session), password changes and resets,
//! profiles and profile search. Implements `AccountService` for the other modules.
//!
//! - Tables (`migrations/account/`): `accounts`, `account_tokens` (verification and reset
//!   tokens), `refresh_tokens` (one family per login), `account_suspensions`,
//!   `account_outbox` (its emails and events `account.account_suspended|reinstated`).
//! - Endpoints: `/api/v1/auth/*` (rate limited per client IP) and `/api/v1/accounts`,
//!   `/accounts/me`, `/accounts/me/password`, `/accounts/{id}` ([`http::configure`]).
//! - Endpoints (admin): `/api/v1/admin/accounts`, `/admin/accounts/{id}/suspend|reinstate`.
//! - Workers: `Accounts::run_suspension_sync` keeps this instance's suspension list current
//!   (pub/sub + periodic reload); `app` dispatches its outbox (topic `mail.send`, events).
//! - Never: store a token or password in clear (tokens are SHA-256 hashed, passwords
//!   argon2id), reveal whether an email is registered outside signup, or show an email or
//!   phone to anyone but its owner. Other modules verify its access tokens in
//!   `platform::auth` without calling it.

mod error;
pub mod http;
mod model;
mod password;
mod repo;
mod schema;
mod service;
pub mod suspension;

pub use error::AccountError;
pub use model::{Account, DisplayName, EmailAddress, Password};
pub use password::PasswordHasher;
pub use service::{Accounts, LoginResult, NewAccount};

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "account",
    sqlite: embed_migrations!("../migrations/account/sqlite"),
    mysql: embed_migrations!("../migrations/account/mysql"),
    outbox: Some(OUTBOX_TABLE),
};

/// The account module's outbox table.
pub const OUTBOX_TABLE: &str = "account_outbox";
