//! The server-driven-UI feed: admin-configured rows, each assembled from providers (the other
//! modules, through their contracts) by consumers, with settings served from memory
//! (database → cache → compiled-in backup) so the feed answers even when storage does not.

mod breaker;
pub mod consumers;
pub mod http;
pub mod model;
pub mod providers;
mod repo;
mod service;
pub mod store;

pub use providers::{Dependencies, Provider, ProviderData, ProviderWrapper};
pub use service::{Feed, FeedConfig, FeedResponse};
pub use store::{SettingsStore, Source};

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "feed",
    sqlite: embed_migrations!("../migrations/feed/sqlite"),
    mysql: embed_migrations!("../migrations/feed/mysql"),
};
