use platform::config::Settings;
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

impl MissionSettings {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let s: MissionSettings = settings.module("mission")?;
        if s.min_contribution < 1 || s.max_pool < s.min_contribution {
            anyhow::bail!("mission.min_contribution must be at least 1 and at most mission.max_pool");
        }
        if s.recovery_after_secs < 5 {
            anyhow::bail!("mission.recovery_after_secs must be at least 5");
        }
        Ok(s)
    }
}
