//! Chat: rooms (named or 1:1), members, persisted messages with cursor paging and read
//! markers, and live WebSocket delivery across instances through pub/sub. Implements
//! `ChatService` (unread summaries for the feed); names members through `AccountService`.
//!
//! - Tables (`migrations/chat/`): `chat_rooms`, `chat_members` (with read markers),
//!   `chat_messages` (with `hidden`, set by moderation), `chat_blocks`, `chat_outbox` (the
//!   `chat.message_posted` event of every message).
//! - Endpoints: `/api/v1/chat/rooms…`, `/chat/users`, and the WebSocket `/chat/ws`
//!   ([`http::configure`], [`ws`]), `/chat/blocks…`. Implements `ModerationTarget` for
//!   chat messages (hiding sends `message_hidden` frames).
//! - Workers: `Chat::run_fanout`, started by `app`, forwards every instance's messages
//!   (pub/sub channel `chat:events`) and frames for one account (`chat:frames`, used for
//!   notifications) to this instance's sockets ([`hub`]), and keeps the presence keys
//!   (`chat:online:{account}` in the cache) of this instance's connected accounts fresh.
//! - Never: publish a message before it is stored, show a room or its messages to a
//!   non-member (404), or let a slow socket hold unbounded memory (it is disconnected).

mod error;
pub mod http;
pub mod hub;
mod repo;
mod schema;
mod service;
pub mod ws;

pub use error::ChatError;
pub use service::{
    Block, Chat, EVENT_TOPICS, EVENTS_CHANNEL, FRAMES_CHANNEL, Message, OUTBOX_TABLE, Room, RoomSummary,
};

use diesel_migrations::embed_migrations;
use platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    module: "chat",
    sqlite: embed_migrations!("../migrations/chat/sqlite"),
    mysql: embed_migrations!("../migrations/chat/mysql"),
    outbox: Some(OUTBOX_TABLE),
};
