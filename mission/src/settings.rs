use platform::config::{FieldErrors, Section, Settings};
use serde::Deserialize;

/// The `[mission]` section: the abuse limits and the background cadence.
#[derive(Debug, Clone, Deserialize)]
pub struct MissionSettings {
    /// Smallest stake or contribution, in points.
    pub min_contribution: i64,
    /// Largest pool a mission may reach.
    pub max_pool: i64,
    /// Missions a creator may have open at once.
    pub max_open_per_creator: i64,
    /// Deadlines may be at most this far ahead.
    pub max_deadline_days: i64,
    /// How often open missions past their deadline are expired.
    pub sweep_interval_ms: u64,
    /// A stake or contribution still moving after this long is resolved by recovery.
    pub recovery_after_secs: i64,
}

impl Section for MissionSettings {
    const NAME: &'static str = "mission";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.min_contribution >= 1, "min_contribution", "must be at least 1");
        errors.check(self.max_pool >= self.min_contribution, "max_pool", "must be at least mission.min_contribution");
        errors.check(self.max_open_per_creator >= 1, "max_open_per_creator", "must be at least 1");
        errors.check(self.max_deadline_days >= 1, "max_deadline_days", "must be at least 1");
        errors.check(self.sweep_interval_ms >= 50, "sweep_interval_ms", "must be at least 50");
        errors.check(self.recovery_after_secs >= 5, "recovery_after_secs", "must be at least 5");
    }
}
