use platform::config::{FieldErrors, Section, Settings};

/// The `[feed]` section.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct FeedConfig {
    pub provider_timeout_ms: u64,
    pub settings_refresh_ms: u64,
    /// Consecutive failures or timeouts after which a provider is skipped (0: never).
    pub breaker_failures: u32,
    /// How long a provider is skipped before one request probes it again.
    pub breaker_open_ms: u64,
}

impl Section for FeedConfig {
    const NAME: &'static str = "feed";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.provider_timeout_ms >= 1, "provider_timeout_ms", "must be at least 1");
        errors.check(self.settings_refresh_ms >= 50, "settings_refresh_ms", "must be at least 50");
    }
}
