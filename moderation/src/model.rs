//! Report kinds, reasons and actions, and the report as its reporter and the operators see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

contracts::stored_enum! {
    /// What is reported.
    pub enum TargetType {
        Product = "product",
        ChatMessage = "chat_message",
        Account = "account",
        Mission = "mission",
    }

    /// Why.
    pub enum Reason {
        Spam = "spam",
        Fraud = "fraud",
        Abuse = "abuse",
        Inappropriate = "inappropriate",
        Other = "other",
    }

    /// How an operator resolves the reports on a target.
    pub enum Action {
        Dismiss = "dismiss",
        Hide = "hide",
        Suspend = "suspend",
    }
}

pub const MAX_DETAILS_CHARS: usize = 1000;
pub const MAX_NOTE_CHARS: usize = 1000;

/// A report as its reporter sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub target_type: TargetType,
    pub target_id: i64,
    pub reason: Reason,
    pub details: Option<String>,
    /// `open` or `resolved`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The action taken (`dismiss`, `hide`, `suspend`) once resolved.
    pub resolution: Option<Action>,
}

/// A report in the operators' queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminReport {
    #[serde(flatten)]
    pub report: Report,
    pub reporter_id: i64,
    /// The account that owns the target (the one `suspend` suspends).
    pub target_owner_id: i64,
    /// The target as it was when reported.
    #[schema(value_type = Object)]
    pub target_preview: serde_json::Value,
    /// Open reports on the same target, this one included.
    pub open_reports_on_target: i64,
    pub resolution_note: Option<String>,
    pub resolved_by: Option<i64>,
}
