use platform::config::{FieldErrors, Section, Settings};
use serde::Deserialize;

/// The `[moderation]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct ModerationSettings {
    /// Reports one account may file per hour; 429 beyond.
    pub reports_per_hour: i64,
}

impl Section for ModerationSettings {
    const NAME: &'static str = "moderation";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.reports_per_hour >= 1, "reports_per_hour", "must be at least 1");
    }
}
