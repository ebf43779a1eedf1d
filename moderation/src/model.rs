//! Report kinds, reasons and actions, and the report as its reporter and the operators see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// `a, b or c`, for error messages.
            pub fn choices() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match all.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => all.join(""),
                }
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or(())
            }
        }
    };
}

string_enum!(
    /// What is reported.
    TargetType { Product => "product", ChatMessage => "chat_message", Account => "account", Mission => "mission" }
);

string_enum!(
    /// Why.
    Reason { Spam => "spam", Fraud => "fraud", Abuse => "abuse", Inappropriate => "inappropriate", Other => "other" }
);

string_enum!(
    /// How an operator resolves the reports on a target.
    Action { Dismiss => "dismiss", Hide => "hide", Suspend => "suspend" }
);

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
