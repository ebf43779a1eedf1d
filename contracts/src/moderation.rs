//! What moderation needs from the modules that own reportable things. Each owning module
//! (catalog products, chat messages, missions, accounts) implements [`ModerationTarget`]
//! for its kind; `app` hands them to the moderation module, which never reads their tables.

use crate::ServiceError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The target as the reporter saw it when reporting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSnapshot {
    /// The account that owns the target (the seller, sender, creator, or the account itself):
    /// the one `suspend` suspends.
    pub owner_id: i64,
    /// The content as it was (name and description, message body, title…), for the queue.
    pub preview: serde_json::Value,
}

/// What hiding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HideOutcome {
    Hidden,
    /// Hidden before (by an earlier resolution): nothing changed.
    AlreadyHidden,
    /// This kind cannot be hidden (an account is suspended instead).
    NotSupported,
    /// The target no longer exists.
    Gone,
}

#[async_trait]
pub trait ModerationTarget: Send + Sync {
    /// What `viewer` can see of the target now; `Ok(None)` when it does not exist or the
    /// viewer may not see it (a chat message of a room they are not in).
    async fn snapshot(&self, viewer: i64, target_id: i64) -> Result<Option<TargetSnapshot>, ServiceError>;
    /// Hides the target from everyone but its owner. Idempotent.
    async fn hide(&self, target_id: i64) -> Result<HideOutcome, ServiceError>;
}

/// A suspension as the account module reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionState {
    pub account_id: i64,
    pub suspended: bool,
    pub suspended_until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// Suspension, owned by the account module.
#[async_trait]
pub trait Suspender: Send + Sync {
    /// `Ok(None)` when no account has this id.
    async fn suspend(
        &self,
        account_id: i64,
        reason: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<SuspensionState>, ServiceError>;
}
