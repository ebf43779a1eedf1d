//! Identity: signup, email verification, login, JWT access tokens and rotating refresh
//! tokens, password changes and resets, profiles and profile search.

mod error;
pub mod http;
mod model;
mod password;
mod repo;
mod schema;
mod service;

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
};

/// The account module's outbox table.
pub const OUTBOX_TABLE: &str = "account_outbox";
