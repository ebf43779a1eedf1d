use platform::config::{FieldErrors, Section, Settings};
use serde::Deserialize;

/// The `[order]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSettings {
    /// How long a cart stays cached.
    pub cart_cache_ttl_secs: u64,
    /// A `pending` checkout older than this is finished or undone by recovery.
    pub checkout_recovery_secs: i64,
    /// How often recovery looks for stale checkouts.
    pub recovery_interval_ms: u64,
    /// The platform fee per confirmed line: `floor(line_total × bps / 10000)`.
    pub commission_bps: i64,
    /// A shipped line is confirmed this long after shipping (or after a rejected return).
    pub auto_confirm_secs: i64,
    /// How often the auto-confirmation worker looks for due lines.
    pub auto_confirm_interval_ms: u64,
    /// The longest a rendered product or cart stays in memory (an invalidation lost with a
    /// crashed writer is bounded by it).
    pub hot_cache_ttl_secs: u64,
    /// How many rendered products and carts one instance keeps.
    pub hot_cache_entries: usize,
}

impl Section for OrderSettings {
    const NAME: &'static str = "order";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(
            self.checkout_recovery_secs >= 5,
            "checkout_recovery_secs",
            "must be at least 5 (longer than a checkout request)",
        );
        errors.check((0..=10_000).contains(&self.commission_bps), "commission_bps", "must be between 0 and 10000");
        errors.check(self.auto_confirm_secs >= 1, "auto_confirm_secs", "must be at least 1");
        errors.check(self.recovery_interval_ms >= 100, "recovery_interval_ms", "must be at least 100");
        errors.check(self.auto_confirm_interval_ms >= 100, "auto_confirm_interval_ms", "must be at least 100");
        errors.check(self.hot_cache_entries >= 1, "hot_cache_entries", "must be at least 1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::config::LoadOptions;

    #[test]
    fn a_bad_value_refuses_to_start_naming_its_key() {
        let defaults = Settings::load(LoadOptions::default()).unwrap();
        assert_eq!(defaults.section::<OrderSettings>().unwrap().commission_bps, 500);
        let bad = Settings::load(LoadOptions::default().with("order.commission_bps", "20000")).unwrap();
        let err = bad.section::<OrderSettings>().unwrap_err().to_string();
        assert!(err.contains("order.commission_bps must be between 0 and 10000"), "{err}");
        let unparsable = Settings::load(LoadOptions::default().with("order.auto_confirm_secs", "soon")).unwrap();
        let err = unparsable.section::<OrderSettings>().unwrap_err().to_string();
        // A type error comes from the config crate, which names the section and the value.
        assert!(err.contains("[order]") && err.contains("soon"), "{err}");
    }
}
