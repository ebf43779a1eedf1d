//! Missions: viewers put points on a challenge for a streamer; the streamer decides; the pool
//! is paid out or refunded exactly once, and everybody who paid is told by email.

mod error;
pub mod http;
mod repo;
mod schema;
mod service;
mod settings;
mod settle;

pub use error::MissionError;
pub use repo::ListFilter;
pub use service::{Contribution, Decision, Mission, Missions, NewMissionRequest, SETTLE_TOPIC, escrow};
pub use settings::MissionSettings;
pub use settle::Settlement;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "mission",
    sqlite: embed_migrations!("../migrations/mission/sqlite"),
    mysql: embed_migrations!("../migrations/mission/mysql"),
};

/// The mission module's outbox table.
pub const OUTBOX_TABLE: &str = "mission_outbox";
