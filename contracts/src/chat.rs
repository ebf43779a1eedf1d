use crate::ServiceError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A room with messages the account has not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnreadRoom {
    pub room_id: i64,
    pub name: Option<String>,
    pub unread_count: i64,
    /// The newest message's text, shortened.
    pub last_message_preview: Option<String>,
    pub last_activity_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ChatSummary {
    pub unread_rooms: i64,
    pub unread_messages: i64,
    /// The most recently active rooms with unread messages, up to the requested limit.
    pub rooms: Vec<UnreadRoom>,
}

#[async_trait]
pub trait ChatService: Send + Sync {
    async fn unread_summary(&self, account_id: i64, limit: u32) -> Result<ChatSummary, ServiceError>;
}

/// The chat module's sockets, as other modules (notifications) use them.
#[async_trait]
pub trait LiveSockets: Send + Sync {
    /// Those of `account_ids` with at least one open socket on any instance.
    async fn online(&self, account_ids: &[i64]) -> Result<Vec<i64>, ServiceError>;
    /// Queues `frame` (a JSON text frame) on every open socket of the account, on every
    /// instance. Best effort: a socket that misses it catches up through the HTTP API.
    async fn push_frame(&self, account_id: i64, frame: String) -> Result<(), ServiceError>;
}
