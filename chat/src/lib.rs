//! Chat: rooms (named or 1:1), members, persisted messages with cursor paging and read
//! markers, and live WebSocket delivery across instances through pub/sub.

mod error;
pub mod http;
pub mod hub;
mod repo;
mod schema;
mod service;
pub mod ws;

pub use error::ChatError;
pub use service::{Chat, EVENTS_CHANNEL, Message, Room, RoomSummary};

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "chat",
    sqlite: embed_migrations!("../migrations/chat/sqlite"),
    mysql: embed_migrations!("../migrations/chat/mysql"),
};
