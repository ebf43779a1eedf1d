//! Reports (신고) and the operators' review queue. A user reports a product, a chat message,
//! an account or a mission they can see; the report keeps a snapshot of the target as it
//! was. Operators see open reports grouped by target and resolve them with `dismiss`,
//! `hide` (through the owning module's `ModerationTarget`) or `suspend` (through the
//! account module's `Suspender`).
//!
//! - Tables (`migrations/moderation/`): `moderation_reports`, `moderation_outbox` (events
//!   `moderation.report_resolved`, one per report, for notifications).
//! - Endpoints: `/api/v1/reports`, `/api/v1/admin/reports`, `/admin/reports/{id}/resolve`
//!   ([`http::configure`]).
//! - Workers: none of its own; `app` dispatches its outbox.
//! - Never: read another module's tables (targets are looked up and hidden through
//!   contracts), show a report to anyone but its reporter and the operators, or resolve a
//!   target's reports before its action succeeded.

mod error;
pub mod http;
mod model;
mod repo;
mod schema;
mod service;
mod settings;

pub use error::ModerationError;
pub use model::{Action, AdminReport, Reason, Report, TargetType};
pub use service::{Moderation, Targets};
pub use settings::ModerationSettings;

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "moderation",
    sqlite: embed_migrations!("../migrations/moderation/sqlite"),
    mysql: embed_migrations!("../migrations/moderation/mysql"),
    outbox: Some(OUTBOX_TABLE),
};

/// The moderation module's outbox table.
pub const OUTBOX_TABLE: &str = "moderation_outbox";
