//! The server-driven-UI feed: admin-configured rows, each assembled from providers (the other
//! modules, through their contracts) by consumers, with settings served from memory
//! (database → cache → compiled-in backup) so the feed answers even when storage does not.
//!
//! - Tables (`migrations/feed/`): `feed_rows` (row settings), `feed_ad_slots`.
//! - Endpoints: `/api/v1/feed` (token optional) and the admin routes `/admin/feed/rows…`,
//!   `/admin/feed/ad-slots…` ([`http::configure`]).
//! - Workers: [`SettingsStore::run`], started by `app`, reloads the settings every
//!   `feed.settings_refresh_ms` and at once when an admin change is announced on pub/sub.
//! - Never: make a feed request wait for the database or for a provider past
//!   `feed.provider_timeout_ms`, or fail the feed because one provider failed.

mod breaker;
pub mod consumers;
pub mod http;
pub mod model;
pub mod providers;
mod repo;
mod service;
mod settings;
pub mod store;

pub use providers::{Dependencies, Provider, ProviderData, ProviderWrapper};
pub use service::{Feed, FeedResponse};
pub use settings::FeedConfig;
pub use store::{SettingsStore, Source};

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "feed",
    sqlite: embed_migrations!("../migrations/feed/sqlite"),
    mysql: embed_migrations!("../migrations/feed/mysql"),
    outbox: None,
};
