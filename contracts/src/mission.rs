use crate::ServiceError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An open mission as the feed shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MissionBrief {
    pub id: i64,
    pub title: String,
    pub streamer_id: i64,
    pub pool: i64,
    pub contributors: i64,
    pub deadline: DateTime<Utc>,
}

#[async_trait]
pub trait MissionService: Send + Sync {
    /// Open missions the account created, contributed to or is the streamer of, soonest
    /// deadline first.
    async fn open_missions_for(&self, account_id: i64, limit: u32) -> Result<Vec<MissionBrief>, ServiceError>;
}
