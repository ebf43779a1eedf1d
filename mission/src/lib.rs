//! Missions: viewers put points on a challenge for a streamer; the streamer decides; the pool
//! is paid out or refunded exactly once, and everybody who paid is told by email.
//!
//! - Tables (`migrations/mission/`): `missions`, `mission_contributions` (the creator's
//!   stake is the first), `mission_hidden` (hidden by moderation: out of lists, money flows
//!   go on), `mission_outbox` (settlements, result emails, and the events
//!   `mission.mission_created`, `mission.mission_contribution`, `mission.mission_settled`).
//!   Implements `ModerationTarget`.
//! - Endpoints: `/api/v1/missions`, `/missions/{id}`, `/missions/{id}/contributions`,
//!   `/missions/{id}/decision` ([`http::configure`]).
//! - Workers, all started by `app`: the expiry sweep (`Missions::sweep`,
//!   `mission.sweep_interval_ms`), recovery of stakes and contributions left in flight
//!   (`Missions::recover`), and [`Settlement`], the outbox handler of [`SETTLE_TOPIC`].
//! - Never: move money without a keyed transfer, accept points into a mission that closed
//!   (in-flight transfers are fenced with `WalletService::cancel` before settling), or settle
//!   a mission twice.

mod error;
pub mod http;
mod repo;
mod schema;
mod service;
mod settings;
mod settle;

pub use error::MissionError;
pub use repo::{ContributionStatus, ListFilter, MissionStatus};
pub use service::{Contribution, Decision, EVENT_TOPICS, Mission, Missions, NewMissionRequest, SETTLE_TOPIC, escrow};
pub use settings::MissionSettings;
pub use settle::Settlement;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "mission",
    sqlite: embed_migrations!("../migrations/mission/sqlite"),
    mysql: embed_migrations!("../migrations/mission/mysql"),
    outbox: Some(OUTBOX_TABLE),
};

/// The mission module's outbox table.
pub const OUTBOX_TABLE: &str = "mission_outbox";
